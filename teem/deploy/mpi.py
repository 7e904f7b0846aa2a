"""``teem.mpi.initialize()``: a whole cluster inside one MPI job (Dask-MPI's ``initialize``).

Every rank calls :func:`initialize` at the top of the same script:

* rank 0 runs the scheduler in this process, then leaves the process (``exit=True``) once
  the scheduler has shut down, so the rest of the script never runs there;
* rank 1 returns from :func:`initialize` and runs the rest of the script as the client:
  ``Client()`` with no argument connects to this job's scheduler (through the config key
  ``scheduler-address`` and ``$TEEM_SECRET`` in this process only);
* ranks 2 and above run a worker each, and leave when the scheduler shuts down.

The scheduler's address and the cluster's secret reach every rank by MPI broadcast from
rank 0: the secret is written nowhere unless ``scheduler_file`` is given.  When the client's
script ends (an ``atexit`` hook on rank 1) it tells the scheduler to shut down; the
scheduler stops the workers, every rank leaves, and ``mpirun``/``srun`` returns 0.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import socket
import sys
from typing import Any

__all__ = ["initialize"]


def _interface_address(interface: str) -> str:
    """The IPv4 address of network interface ``interface`` (``'ib0'``, ``'eth0'``).

    Raises
    ------
    ValueError
        If there is no such interface, naming the ones there are.
    """
    import psutil
    addresses = psutil.net_if_addrs()
    for address in addresses.get(interface, ()):
        if address.family == socket.AF_INET:
            return address.address
    raise ValueError(f"initialize(interface={interface!r}): no such interface with an IPv4 address "
                     f"here; this machine has {sorted(addresses)}")


def _listen_host(interface: str | None) -> str:
    if interface:
        return _interface_address(interface)
    try:  # the address other nodes reach this one at
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def initialize(interface: str | None = None, nthreads: int = 1, local_directory: str = "",
               memory_limit: Any = "auto", nanny: bool = False, dashboard: bool = True,
               dashboard_address: str = ":8787", protocol: str | None = None, exit: bool = True,
               scheduler_file: str | None = None, comm: Any = None) -> bool:
    """Turn this MPI job into a teem cluster: scheduler on rank 0, client on 1, workers on 2+.

    Parameters
    ----------
    interface:
        Network interface to listen on (``'ib0'``); default: this host name's address.
    nthreads, memory_limit, local_directory:
        Each worker's threads, memory limit (``'auto'``, ``'4GB'``, bytes) and spill
        directory ('' : the system's temporary directory).
    nanny:
        Run each worker under a nanny process that restarts it if it dies.
    dashboard, dashboard_address:
        Whether rank 0's scheduler serves the web dashboard, and where (``':8787'``: that port,
        or the next free one, on the scheduler's interface).
    protocol:
        ``None`` or ``'tcp'`` (the only transport).
    exit:
        Leave the process on ranks 0 and 2+ once the cluster shuts down (default); with
        False, :func:`initialize` returns False there instead.
    scheduler_file:
        Also write the scheduler's address and secret there (mode 0600), for clients
        outside the job.
    comm:
        The MPI communicator (default ``MPI.COMM_WORLD``).

    Returns
    -------
    bool
        True on rank 1 (carry on as the client); False on the others when ``exit=False``.

    Raises
    ------
    ImportError
        Without mpi4py.
    ValueError
        For an unknown ``interface`` or ``protocol``, or fewer than 3 ranks.
    """
    if protocol not in (None, "tcp", "tcp://"):
        raise ValueError(f"initialize(protocol={protocol!r}): only 'tcp' is supported")
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError("teem.mpi.initialize() needs mpi4py: pip install mpi4py "
                          "(against the MPI that mpirun/srun use)") from exc
    comm = comm if comm is not None else MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    if size < 3:
        raise ValueError(f"teem.mpi.initialize() needs at least 3 MPI ranks (scheduler, client, a "
                         f"worker), this job has {size}: run e.g. mpirun -n 4 python script.py")
    host = _listen_host(interface)
    if rank == 0:
        asyncio.run(_run_scheduler(comm, host, scheduler_file, dashboard_address if dashboard else None))
        return _leave(exit)
    info = comm.bcast(None, root=0)
    if rank == 1:
        from teem.core import config
        os.environ["TEEM_SECRET"] = info["secret"]  # this process only: Client() reads it
        config.set({"scheduler-address": info["address"]})
        atexit.register(_shutdown_cluster, info["address"], info["secret"])
        return True
    _run_worker(info, host, rank, nthreads, memory_limit, local_directory, nanny)
    return _leave(exit)


def _leave(exit: bool) -> bool:
    if exit:
        sys.exit(0)
    return False


async def _run_scheduler(comm, host: str, scheduler_file: str | None, dashboard_address) -> None:
    from teem.distributed.scheduler.server import Scheduler
    from teem.distributed.security import Security, new_secret
    security = Security(secret=new_secret())
    scheduler = Scheduler(security=security, host=host, port=0, scheduler_file=scheduler_file,
                          remember=False, dashboard_address=dashboard_address)
    await scheduler.start()
    # Blocking the loop here is fine: nobody can connect before they get the address.
    comm.bcast({"address": scheduler.address, "secret": security.secret}, root=0)
    await scheduler.finished()


def _run_worker(info: dict, host: str, rank: int, nthreads: int, memory_limit: Any,
                local_directory: str, nanny: bool) -> None:
    from teem.core.sizes import parse_memory_limit
    from teem.distributed.security import Security
    limit = parse_memory_limit(memory_limit, nthreads, total_threads=nthreads) \
        if memory_limit not in (None, 0, "0") else None
    if nanny:  # `teem worker` with its nanny, the secret in its environment
        import subprocess
        command = [sys.executable, "-m", "teem", "worker", info["address"], "--nthreads", str(nthreads),
                   "--memory-limit", str(limit or 0), "--host", host, "--name", f"mpi-rank-{rank}",
                   "--death-timeout", "60"]
        if local_directory:
            command += ["--local-directory", local_directory]
        subprocess.run(command, env=dict(os.environ, TEEM_SECRET=info["secret"]), stdin=subprocess.DEVNULL)
        return
    from teem.distributed.worker.server import Worker

    async def serve() -> None:
        worker = Worker(info["address"], security=Security(secret=info["secret"]), nthreads=nthreads,
                        memory_limit=limit, name=f"mpi-rank-{rank}", host=host,
                        local_directory=local_directory or None, death_timeout=60)
        await worker.start()
        await worker.finished()

    asyncio.run(serve())


def _shutdown_cluster(address: str, secret: str) -> None:
    """At the end of the client's script: tell the scheduler to stop everything."""
    from teem.distributed.client.client import Client
    from teem.distributed.security import Security
    try:
        with Client(address, security=Security(secret=secret), timeout=10) as client:
            client.shutdown()
    except Exception as exc:  # the scheduler is already gone: nothing to stop
        print(f"teem.mpi: could not shut the scheduler at {address} down: {exc}", file=sys.stderr)
