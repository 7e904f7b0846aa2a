"""teem.mpi: run a teem cluster inside an MPI job (``mpirun``/``srun``), as Dask-MPI does.

    from teem.mpi import initialize
    initialize(nthreads=1, memory_limit="2GB")   # rank 0: scheduler, 2+: workers
    client = Client()                            # rank 1 only gets here
"""

from teem.deploy.mpi import initialize

__all__ = ["initialize"]
