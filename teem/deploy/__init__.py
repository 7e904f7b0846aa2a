"""teem.deploy: clusters beyond one machine, built only on teem.distributed's public API.

``jobqueue`` (SLURM, PBS, SGE, LSF; public as ``teem.jobqueue``), ``adaptive`` (scaling
policy as a pure function of observed load), ``ssh`` (SSHCluster, ``teem ssh``) and ``mpi``
(public as ``teem.mpi``). Nothing here is imported by ``import teem``.
"""
