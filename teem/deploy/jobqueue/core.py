"""``JobQueueCluster``: workers started as batch jobs, a scheduler on this machine.

Theory of operation
-------------------
1. The constructor checks the request (``memory`` given, ``processes`` divides ``cores``,
   and for SLURM that a node of the partition has ``cores`` CPUs) before anything else, so
   an impossible request fails at once with what to change.
2. The scheduler runs as a ``teem scheduler`` child process (``SchedulerProcess``) listening
   on ``host``, or on the address of network interface ``interface``, or on the address of
   this machine's host name.  Its address and the cluster's secret go into a scheduler file
   (mode 0600) in a private directory (mode 0700) under ``local_directory`` or ``~/.teem``,
   which compute nodes are expected to share.  The job script names that file; it never
   holds the secret.
3. One job starts ``processes`` workers (``teem worker --nworkers``) named
   ``<name>-<job id>-<i>``: a job's workers are found by their name, so they retire together.
4. ``scale`` works in whole jobs: ``scale(n)`` rounds workers up to jobs.  Scaling down
   drops jobs that have not started first, then retires the newest running jobs' workers
   and cancels those jobs.  ``close`` cancels every job submitted and waits until the
   batch system no longer lists them.

Subclasses give the batch system's commands and directives (see ``slurm.py``, ``pbs.py``,
``sge.py``, ``lsf.py``).
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from teem.core.sizes import format_bytes, parse_bytes
from teem.distributed.cluster.base import Cluster
from teem.distributed.cluster.scheduler_handle import SchedulerHandle, SchedulerProcess
from teem.distributed.loop import LoopThread
from teem.distributed.security import (Security, new_secret, read_scheduler_file,
                                       write_scheduler_file)

__all__ = ["JobQueueCluster", "BatchSystemError", "default_processes"]


class BatchSystemError(RuntimeError):
    """A batch-system command (sbatch, scancel, ...) failed or is missing."""


def default_processes(cores: int) -> int:
    """Worker processes per job when not given: one per core up to 4, else about sqrt(cores)."""
    if cores <= 4:
        return cores
    return next(p for p in range(int(math.isqrt(cores)), 0, -1) if cores % p == 0)


def interface_address(interface: str) -> str:
    """The IPv4 address of network interface ``interface`` (e.g. ``'eth0'``, ``'ib0'``)."""
    import psutil

    addresses = psutil.net_if_addrs()
    if interface not in addresses:
        raise ValueError(f"network interface {interface!r} not found on {socket.gethostname()}; "
                         f"this machine has {sorted(addresses)}")
    for address in addresses[interface]:
        if address.family == socket.AF_INET:
            return address.address
    raise ValueError(f"network interface {interface!r} has no IPv4 address")


def _this_host_address() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def run_command(command: list[str], timeout: float = 60.0) -> str:
    """Run a batch-system command and return its standard output.

    Raises
    ------
    BatchSystemError
        If the command is not installed or exits with an error (the message holds its output).
    """
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise BatchSystemError(f"{command[0]!r} was not found: run this on a machine where the "
                               "batch system's commands are installed and on PATH") from None
    if done.returncode != 0:
        raise BatchSystemError(f"{shlex.join(command)} failed with status {done.returncode}: "
                               f"{(done.stderr or done.stdout).strip()}")
    return done.stdout


class JobQueueCluster(Cluster):
    """Base class: a scheduler here, workers in batch jobs.  Use a subclass (``SLURMCluster``, ...).

    Parameters
    ----------
    cores:
        CPU cores per job, shared by its ``processes`` workers.
    memory:
        Memory per job (``'16GB'``, bytes), shared by its workers.  Required.
    processes:
        Workers per job (default: one per core up to 4 cores, else about sqrt(cores));
        must divide ``cores``.
    queue, project (or account), walltime:
        Where the jobs go, whom they are charged to, how long they may run (``'HH:MM:SS'``).
    job_extra_directives (old name ``job_extra``):
        More lines for the script's header, without the directive prefix (``'--exclusive'``).
    job_script_prologue (old name ``env_extra``):
        Shell lines run before the workers start (``'module load python'``).
    local_directory:
        Where workers spill; the cluster's private directory (scheduler file, job scripts) is
        made under it too (default ``~/.teem``).  Must be visible from the compute nodes.
    log_directory:
        Where the jobs' output and error files go (default: the batch system's default).
    python:
        The command that runs Python on the compute nodes (default: this interpreter).
    interface, host:
        Where the scheduler listens: a network interface's address, or a host/address
        (default: this machine's host name's address).
    death_timeout:
        Seconds workers keep trying to reach a vanished scheduler before exiting.
    name, job_name:
        The workers' name prefix (default: the class name) and the jobs' name (``teem-worker``).
    worker_extra_args:
        More ``teem worker`` arguments.
    n_workers:
        Workers to start at once (rounded up to jobs); default none (call ``scale``).
    """

    # Set by subclasses.
    directive_prefix = ""
    submit_command: list[str] = []
    cancel_command: list[str] = []
    job_id_pattern = r"(\d+)"
    job_id_variable = ""  # the job's id inside the job, as a shell variable

    def __init__(self, cores: int | None = None, memory: Any = None, processes: int | None = None,
                 queue: str | None = None, project: str | None = None, account: str | None = None,
                 walltime: str | None = "00:30:00", job_extra_directives: list | None = None,
                 job_extra: list | None = None, job_script_prologue: list | None = None,
                 env_extra: list | None = None, local_directory: str | None = None,
                 log_directory: str | None = None, python: str | None = None,
                 interface: str | None = None, host: str | None = None,
                 death_timeout: float | None = 60.0, name: str | None = None,
                 job_name: str = "teem-worker", worker_extra_args: list | None = None,
                 shebang: str = "#!/usr/bin/env bash", security: Security | None = None,
                 n_workers: int = 0, scheduler_options: dict | None = None, timeout: float = 60.0):
        cls = type(self).__name__
        if cores is None:
            raise ValueError(f"{cls} needs cores= (CPU cores per job), e.g. {cls}(cores=8, memory='16GB')")
        if memory is None:
            raise ValueError(f"{cls} needs memory= (memory per job, shared by its workers), e.g. "
                             f"{cls}(cores={cores}, memory='16GB')")
        self.cores = int(cores)
        self.processes = int(processes) if processes is not None else default_processes(self.cores)
        if self.cores < 1 or self.processes < 1 or self.cores % self.processes:
            raise ValueError(f"{cls}: processes={self.processes} must divide cores={self.cores} (each "
                             "worker gets cores/processes threads); choose processes among "
                             f"{[p for p in range(1, self.cores + 1) if self.cores % p == 0]}")
        self.memory = parse_bytes(memory)
        self.queue = queue
        self.project = project if project is not None else account
        self.walltime = walltime
        self.job_extra_directives = list(job_extra_directives if job_extra_directives is not None
                                         else job_extra or [])
        self.job_script_prologue = list(job_script_prologue if job_script_prologue is not None
                                        else env_extra or [])
        self.python = python or sys.executable
        self.death_timeout = death_timeout
        self.name = name or cls
        self.job_name = job_name
        self.worker_extra_args = list(worker_extra_args or [])
        self.shebang = shebang
        self.log_directory = log_directory
        self.local_directory = local_directory
        self.dashboard_link = None
        self.check_request()  # before anything is started or submitted

        self.host = host or (interface_address(interface) if interface else _this_host_address())
        self.security = security or Security()
        if not self.security.secret:
            self.security.secret = new_secret()
        parent = local_directory or os.path.join(os.path.expanduser("~"), ".teem")
        os.makedirs(parent, exist_ok=True)
        self._directory = tempfile.mkdtemp(prefix=f"{self.name}-", dir=parent)  # mode 0700
        self.scheduler_file = os.path.join(self._directory, "scheduler.json")
        if log_directory:
            os.makedirs(log_directory, exist_ok=True)
        self._jobs: dict[str, float] = {}  # job id -> submission time (monotonic), in order
        self._running: set[str] = set()  # jobs whose workers have been seen
        self.adaptive = None
        self._lock = threading.RLock()  # scale() from the user and from the adaptive thread
        self.status = "starting"
        self._loop = LoopThread(f"teem-{cls}")
        self._scheduler_process: SchedulerProcess | None = None
        self.scheduler: SchedulerHandle | None = None
        try:
            options = dict(scheduler_options or {})
            self._scheduler_process = SchedulerProcess(
                self.security, self.host, 0, timeout=timeout,
                dashboard_address=options.pop("dashboard_address", ":8787"), **options)
            address = self._scheduler_process.address
            self.dashboard_link = self._scheduler_process.dashboard_link
            # The scheduler's own file (address, secret, TLS) copied where the nodes can read it.
            write_scheduler_file(self.scheduler_file,
                                 read_scheduler_file(self._scheduler_process.scheduler_file, timeout=10))
            self.scheduler = SchedulerHandle(self._loop, address, self.security, timeout)
            self.status = "running"
            if n_workers:
                self.scale(n_workers)
        except BaseException:
            self.close()
            raise
        self._close_at_exit()

    # ------------------------------------------------------------------ sizes and checks

    @property
    def worker_threads(self) -> int:
        return self.cores // self.processes

    @property
    def worker_memory(self) -> int:
        return self.memory // self.processes

    def check_request(self) -> None:
        """Raise ValueError if the batch system cannot run a job of this size (subclasses)."""

    # ------------------------------------------------------------------ the job script

    def header_lines(self) -> list[str]:
        """The batch system's directives, without the prefix (subclasses)."""
        raise NotImplementedError

    def worker_command(self) -> str:
        """The shell command a job runs: ``processes`` workers reading the scheduler file."""
        worker_name = f"{self.name}-${{{self.job_id_variable}}}" if self.job_id_variable else self.name
        # Workers listen on every interface unless the scheduler is on loopback (one machine).
        host = "127.0.0.1" if self.host.startswith("127.") or self.host == "localhost" else "0.0.0.0"
        words = ["-m", "teem", "worker", "--scheduler-file", self.scheduler_file,
                 "--nthreads", str(self.worker_threads), "--nworkers", str(self.processes),
                 "--memory-limit", str(self.worker_memory), "--name", worker_name, "--host", host]
        if self.local_directory:
            words += ["--local-directory", self.local_directory]
        if self.death_timeout is not None:
            words += ["--death-timeout", f"{self.death_timeout:g}"]
        words += [str(a) for a in self.worker_extra_args]
        # `python` may be several words (a container runtime) and the name keeps its $VARIABLE:
        # both go in as written; everything else is quoted for the shell.
        return " ".join([self.python] + [w if w == worker_name else shlex.quote(w) for w in words])

    def job_script(self) -> str:
        """The job script ``scale`` submits, as text."""
        lines = [self.shebang, ""]
        lines += [f"{self.directive_prefix} {line}" for line in self.header_lines()]
        lines += [f"{self.directive_prefix} {line}" for line in self.job_extra_directives]
        lines += [""] + self.job_script_prologue + [self.worker_command()]
        return "\n".join(lines) + "\n"

    # ------------------------------------------------------------------ jobs

    def _submit_job(self) -> str:
        path = os.path.join(self._directory, "job.sh")
        with open(path, "w") as f:
            f.write(self.job_script())
        out = run_command(self.submit_command + [path])
        match = re.search(self.job_id_pattern, out)
        if not match:
            raise BatchSystemError(f"no job id in the output of {shlex.join(self.submit_command)}: {out!r}")
        job = match.group(1)
        self._jobs[job] = time.monotonic()
        return job

    def _cancel_jobs(self, jobs: list[str]) -> None:
        if jobs:
            run_command(self.cancel_command + list(jobs))

    def queued_jobs(self) -> set[str]:
        """Ids of jobs the batch system still lists (pending, running or completing) (subclasses)."""
        raise NotImplementedError

    def job_workers(self, workers: dict | None = None) -> dict[str, list[str]]:
        """``{job id: [worker addresses]}`` of this cluster's jobs, from the workers' names."""
        workers = self.scheduler.workers if workers is None else workers
        out: dict[str, list[str]] = {job: [] for job in self._jobs}
        for address, info in workers.items():
            job = self._job_of(str(info.get("name", "")))
            if job in out:
                out[job].append(address)
        self._running.update(job for job, addresses in out.items() if addresses)
        return out

    def _job_of(self, worker_name: str) -> str | None:
        prefix = self.name + "-"
        if not worker_name.startswith(prefix):
            return None
        rest = worker_name[len(prefix):]
        if self.processes > 1:
            rest = rest.rpartition("-")[0]
        return rest

    @property
    def jobs(self) -> list[str]:
        """Ids of the jobs this cluster submitted and has not cancelled, oldest first."""
        return list(self._jobs)

    def pending_jobs(self, workers: dict | None = None) -> list[str]:
        """Submitted jobs none of whose workers has connected yet."""
        self.job_workers(workers)
        return [job for job in self._jobs if job not in self._running]

    # ------------------------------------------------------------------ scaling

    def _jobs_for(self, n: int | None, jobs: int | None, cores: int | None, memory: Any) -> int:
        if jobs is not None:
            return max(0, int(jobs))
        if n is not None:
            return -(-max(0, int(n)) // self.processes)
        if cores is not None:
            return -(-max(0, int(cores)) // self.cores)
        if memory is not None:
            return -(-parse_bytes(memory) // self.memory)
        raise TypeError("scale() needs a number of workers, jobs=, cores= or memory=")

    def scale(self, n: int | None = None, jobs: int | None = None, cores: int | None = None,
              memory: Any = None) -> None:
        """Run enough whole jobs for ``n`` workers (or ``jobs`` jobs, ``cores`` cores, ``memory``).

        Scaling down drops jobs that have not started first, then the newest running jobs
        (their workers retire together, then the job is cancelled). A manual scale ends
        adaptive scaling started by :meth:`adapt`, as in Dask.
        """
        target = self._jobs_for(n, jobs, cores, memory)
        if self.adaptive is not None:
            self.adaptive.stop()
            self.adaptive = None
        self.scale_jobs(target)

    def scale_jobs(self, target: int) -> None:
        """Submit or cancel jobs until ``target`` jobs are submitted or running."""
        if self.status != "running":
            raise RuntimeError(f"{self.name} is {self.status}: create a new cluster to scale")
        with self._lock:
            while len(self._jobs) < target:
                self._submit_job()
            if len(self._jobs) > target:
                by_job = self.job_workers()
                pending = [j for j in self._jobs if not by_job[j] and j not in self._running]
                running = [j for j in self._jobs if j not in pending]
                drop = (pending[::-1] + running[::-1])[:len(self._jobs) - target]
                self.retire_jobs(drop, by_job)

    def forget_finished_jobs(self) -> list[str]:
        """Drop (and return) jobs the batch system no longer lists: they ended (walltime, failure)."""
        with self._lock:
            listed = self.queued_jobs()
            gone = [job for job in self._jobs if job not in listed]
            for job in gone:
                self._jobs.pop(job, None)
                self._running.discard(job)
            return gone

    def retire_jobs(self, jobs: list[str], by_job: dict | None = None) -> None:
        """Retire all the workers of ``jobs`` (their data moves to other workers), then cancel them."""
        with self._lock:
            by_job = by_job or self.job_workers()
            addresses = [a for job in jobs for a in by_job.get(job, [])]
            if addresses:
                self.scheduler.retire_workers(addresses)
            self._cancel_jobs(jobs)
            for job in jobs:
                self._jobs.pop(job, None)
                self._running.discard(job)

    def wait_for_workers(self, n_workers: int, timeout: float | None = None) -> None:
        """Wait until ``n_workers`` workers have connected."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(self.scheduler.workers) < n_workers:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.scheduler.workers)} of {n_workers} workers joined "
                                   f"{self.scheduler_address} within {timeout} s; jobs {self.jobs} "
                                   f"(batch system lists {sorted(self.queued_jobs())}); see the job logs"
                                   + (f" in {self.log_directory}" if self.log_directory else ""))
            time.sleep(0.1)

    def adapt(self, minimum: int | None = None, maximum: int | None = None,
              minimum_jobs: int | None = None, maximum_jobs: int | None = None,
              interval: float = 1.0, wait_count: int = 3, **kwargs: Any):
        """Scale with the load, in whole jobs (see :mod:`teem.deploy.adaptive`); returns the Adaptive."""
        from teem.deploy.adaptive import Adaptive

        if self.adaptive is not None:
            self.adaptive.stop()
        self.adaptive = Adaptive(self, minimum=minimum, maximum=maximum, minimum_jobs=minimum_jobs,
                                 maximum_jobs=maximum_jobs, interval=interval, wait_count=wait_count,
                                 **kwargs)
        return self.adaptive

    # ------------------------------------------------------------------ closing

    def close(self, timeout: float = 30.0) -> None:
        """Stop the workers and scheduler, cancel every submitted job and wait until they are gone."""
        if self.status == "closed":
            return
        self.status = "closing"
        if self.adaptive is not None:
            self.adaptive.stop()
        told = False
        if self.scheduler is not None and self._loop.running:
            try:
                self.scheduler.shutdown(10)
                told = True
            except Exception:  # already gone
                pass
        submitted = list(self._jobs)
        try:
            self._cancel_jobs(submitted)
        finally:
            self._jobs.clear()
            deadline = time.monotonic() + timeout
            while submitted and time.monotonic() < deadline and self.queued_jobs() & set(submitted):
                time.sleep(0.1)
            if self._scheduler_process is not None:
                self._scheduler_process.stop(10 if told else 0)
            if self._loop.running:
                if self.scheduler is not None:
                    self.scheduler.close()
                self._loop.stop()
            shutil.rmtree(self._directory, ignore_errors=True)
            self.status = "closed"

    # ------------------------------------------------------------------ display

    def __repr__(self) -> str:
        n, cores, memory = self._summary()
        address = self.scheduler.address if self.scheduler else None
        return (f"{type(self).__name__}({address!r}, workers={n}, threads={cores}, "
                f"memory={format_bytes(memory)}, jobs={len(self._jobs)})")

    def _html_lines(self) -> list:
        return [f"Jobs: {len(self._jobs)}"]
