"""``LocalCluster``: a scheduler and workers on this machine.

With ``processes=True`` (the default) the scheduler is a ``teem scheduler``
child process and each worker a ``teem worker`` process with its nanny: the
client's thread, the scheduler and every worker run on cores of their own
instead of taking turns at one interpreter lock.  With ``processes=False``
the scheduler and the workers run on an event loop in a thread of this
process (for data that should not be pickled between processes).  The
cluster talks to its scheduler only through requests
(:class:`~teem.distributed.cluster.scheduler_handle.SchedulerHandle`), wherever
it runs.  Everything listens on loopback unless ``host`` says otherwise; the
cluster's secret is new for each cluster and reaches child processes through
their environment, not their command line.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from typing import Any

from teem.core.sizes import cpu_count, parse_memory_limit
from teem.distributed.cluster.base import Cluster
from teem.distributed.cluster.scheduler_handle import SchedulerHandle, SchedulerProcess
from teem.distributed.cluster.subprocesses import wait_or_kill
from teem.distributed.loop import LoopThread
from teem.distributed.security import Security, new_secret

__all__ = ["LocalCluster"]


def _default_shape(processes: bool, n_workers: int | None, threads_per_worker: int | None,
                   cores: int) -> tuple[int, int]:
    """(workers, threads each): all cores used, a few processes of a few threads each."""
    if not processes:
        return (n_workers or 1), (threads_per_worker or max(1, cores // (n_workers or 1)))
    if n_workers is None and threads_per_worker is None:
        if cores <= 4:
            return cores, 1
        threads = next(t for t in range(int(cores ** 0.5), 0, -1) if cores % t == 0)
        return cores // threads, threads
    if n_workers is None:
        return max(1, cores // threads_per_worker), threads_per_worker
    if threads_per_worker is None:
        return n_workers, max(1, cores // max(n_workers, 1))
    return n_workers, threads_per_worker


class LocalCluster(Cluster):
    """A scheduler and ``n_workers`` workers on this machine.

    Parameters
    ----------
    n_workers, threads_per_worker:
        Default: every core used (on 2 cores: 2 workers of 1 thread).
    processes:
        Workers as separate processes (default) or on a thread of this process.
    memory_limit:
        Per worker: ``'auto'`` (this machine's memory shared by thread), bytes, a string
        like ``'4GB'``, a fraction like ``0.5``, or 0/None for no limit.
    host:
        Interface to listen on (default ``127.0.0.1``: this machine only).
    scheduler_port:
        0 (default) picks a free port.
    dashboard_address, diagnostics_port:
        Where the scheduler serves the web dashboard (``diagnostics_port`` is the old name):
        ``':8787'`` (default; the next free port if taken) on ``host``, ``'HOST:PORT'``, or None
        for no dashboard. Its URL is ``cluster.dashboard_link``.
    local_directory:
        Where workers spill (default: a temporary directory removed on close).
    scheduler_kwargs, worker_kwargs:
        More options for the scheduler (``heartbeat_timeout``, ``allowed_failures``) and the
        workers (``no_nanny``, ``heartbeat_interval``; for ``processes=False``, any ``Worker``
        argument).

    Example
    -------
    >>> cluster = LocalCluster(n_workers=2, threads_per_worker=1)  # doctest: +SKIP
    >>> client = Client(cluster)
    """

    def __init__(self, n_workers: int | None = None, threads_per_worker: int | None = None,
                 processes: bool = True, memory_limit: Any = "auto", host: str = "127.0.0.1",
                 scheduler_port: int = 0, dashboard_address: Any = ":8787", diagnostics_port: Any = None,
                 local_directory: str | None = None, security: Security | None = None,
                 silence_logs: Any = None, nthreads: int | None = None, name: str | None = None,
                 death_timeout: float | None = 10.0, timeout: float = 60.0,
                 scheduler_kwargs: dict | None = None, worker_kwargs: dict | None = None, **unused: Any):
        if unused:
            raise TypeError(f"LocalCluster() got unexpected keyword argument(s) {sorted(unused)}")
        if nthreads is not None and threads_per_worker is None:
            threads_per_worker = nthreads
        self.processes = processes
        self.n_workers, self.threads_per_worker = _default_shape(processes, n_workers, threads_per_worker,
                                                                 cpu_count())
        self.memory_limit = parse_memory_limit(memory_limit, self.threads_per_worker,
                                               total_threads=self.n_workers * self.threads_per_worker) \
            if memory_limit not in (None, 0, "0") else None
        self.host = host
        self.name = name or "LocalCluster"
        self.dashboard_address = diagnostics_port if diagnostics_port is not None else dashboard_address
        self.dashboard_link = None
        self.death_timeout = death_timeout
        self._tmp = None
        if local_directory is None:
            self._tmp = local_directory = tempfile.mkdtemp(prefix="teem-cluster-")
        self.local_directory = local_directory
        self.status = "starting"
        self._loop = LoopThread("teem-cluster")
        self.worker_kwargs = dict(worker_kwargs or {})
        # Workers' own logs: warnings and errors only, unless asked (as Dask's silence_logs).
        self.log_level = _log_level(silence_logs)
        self.security = security = security or Security()
        if not security.secret:  # a new cluster gets a new secret
            security.secret = new_secret()
        self._workers: dict[str, Any] = {}  # name -> Popen, or an in-process Worker
        self._counter = 0
        self._scheduler_process: SchedulerProcess | None = None
        self._scheduler_server = None  # the in-process Scheduler (processes=False)
        self.scheduler: SchedulerHandle | None = None
        try:
            self._start_scheduler(scheduler_port, dict(scheduler_kwargs or {}), timeout)
            self.scale(self.n_workers)
            self.wait_for_workers(self.n_workers, timeout)
        except BaseException:
            self.close()
            raise
        self.status = "running"
        self._close_at_exit()  # a script that ends without close() leaves no process behind

    def _start_scheduler(self, port: int, options: dict, timeout: float) -> None:
        if self.processes:
            self._scheduler_process = SchedulerProcess(self.security, self.host, port,
                                                       log_level=self.log_level, timeout=timeout,
                                                       dashboard_address=self.dashboard_address, **options)
            address = self._scheduler_process.address
            self.dashboard_link = self._scheduler_process.dashboard_link
        else:
            from teem.distributed.scheduler.server import Scheduler
            self._scheduler_server = Scheduler(security=self.security, host=self.host, port=port,
                                               dashboard_address=self.dashboard_address, **options)
            self._loop.run(self._scheduler_server.start(), timeout)
            address = self._scheduler_server.address
            self.dashboard_link = self._scheduler_server.dashboard_link
        self.scheduler = SchedulerHandle(self._loop, address, self.security, timeout)
        self._say_where_the_dashboard_went()

    def _say_where_the_dashboard_went(self) -> None:
        """Warn here (the scheduler's own log is not on this terminal) if the port asked for was taken."""
        from teem.distributed.dashboard.service import parse_dashboard_address
        asked = parse_dashboard_address(self.dashboard_address, self.host)
        if asked is None or not asked[1]:
            return
        if self.dashboard_link is None:
            warnings.warn(f"no dashboard: {asked[0]}:{asked[1]} and the ports after it could not be used",
                          stacklevel=4)
        elif f":{asked[1]}/" not in self.dashboard_link:
            warnings.warn(f"port {asked[1]} is in use (another cluster?): the dashboard is at "
                          f"{self.dashboard_link}", stacklevel=4)

    # ------------------------------------------------------------------ workers

    def _start_worker(self, name: str) -> Any:
        if not self.processes:
            from teem.distributed.worker.server import Worker
            worker = Worker(self.scheduler_address, security=self.security, nthreads=self.threads_per_worker,
                            memory_limit=self.memory_limit, name=name, host=self.host,
                            local_directory=os.path.join(self.local_directory, name),
                            **self.worker_kwargs)
            self._loop.run(worker.start(), 60)
            return worker
        command = [sys.executable, "-m", "teem", "worker", self.scheduler_address,
                   "--nthreads", str(self.threads_per_worker), "--name", name,
                   "--memory-limit", str(self.memory_limit or 0), "--host", self.host,
                   "--local-directory", os.path.join(self.local_directory, name)]
        if self.death_timeout is not None:
            command += ["--death-timeout", str(self.death_timeout)]
        for option, value in self.worker_kwargs.items():
            flag = "--" + option.replace("_", "-")
            if value is True:
                command.append(flag)
            elif value not in (False, None):
                command += [flag, str(value)]
        # Like Dask's spawned workers, ours import what this process can: same sys.path.
        path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        env = dict(os.environ, PYTHONPATH=path, **self.security.to_environment())
        env.setdefault("TEEM_LOG_LEVEL", self.log_level)
        return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                start_new_session=True)

    def scale(self, n: int | None = None, *, memory: Any = None, cores: int | None = None) -> None:
        """Run ``n`` workers (or enough for ``cores`` threads / ``memory`` bytes)."""
        if n is None:
            if cores is not None:
                n = -(-int(cores) // self.threads_per_worker)
            elif memory is not None and self.memory_limit:
                from teem.core.sizes import parse_bytes
                n = -(-parse_bytes(memory) // self.memory_limit)
            else:
                raise TypeError("scale() needs a number of workers, cores= or memory=")
        n = max(0, int(n))
        while len(self._workers) < n:
            name = f"{self._counter}"
            self._counter += 1
            self._workers[name] = self._start_worker(name)
        if len(self._workers) > n:
            names = list(self._workers)[n:]
            self._stop_workers(names)
        self.n_workers = n

    def _stop_workers(self, names: list) -> None:
        by_name = {w["name"]: a for a, w in self.scheduler.workers.items()}
        addresses = [by_name[n] for n in names if n in by_name]
        if addresses:
            self.scheduler.retire_workers(addresses)
        for name in names:
            worker = self._workers.pop(name)
            if self.processes:
                wait_or_kill(worker, 10)
            else:
                self._loop.run(worker.close("retired"), 10)

    def _check_start(self) -> None:
        dead = [n for n, p in self._workers.items() if self.processes and p.poll() is not None]
        if dead:
            raise RuntimeError(f"worker process(es) {dead} of {self.name} exited during start-up "
                               "(see their output above)")

    # ------------------------------------------------------------------ closing

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers and the scheduler. Safe to call twice."""
        if self.status == "closed":
            return
        self.status = "closing"
        told = False  # whether the scheduler took the shutdown (then its process ends by itself)
        if self._loop.running and self.scheduler is not None:
            try:
                self.scheduler.shutdown(timeout)
                told = True
            except Exception:  # already gone, or never answered
                pass
        for name, worker in list(self._workers.items()):
            if self.processes:
                wait_or_kill(worker, timeout)
            elif self._loop.running:
                try:
                    self._loop.run(worker.close("cluster closed"), timeout)
                except Exception:
                    pass
        self._workers.clear()
        if self._scheduler_process is not None:
            self._scheduler_process.stop(timeout if told else 0)
        if self._loop.running:
            if self.scheduler is not None:
                self.scheduler.close()
            if self._scheduler_server is not None:
                try:
                    self._loop.run(self._scheduler_server.close(), timeout)
                except Exception:
                    pass
            self._loop.stop()
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
        self.status = "closed"


def _log_level(silence_logs: Any) -> str:
    """The workers' log level for Dask's ``silence_logs`` (False: everything; default: warnings)."""
    if silence_logs is False:
        return "INFO"
    if isinstance(silence_logs, str):
        return silence_logs.upper()
    if isinstance(silence_logs, int) and not isinstance(silence_logs, bool):
        return logging.getLevelName(silence_logs)
    return "WARNING"


