"""A cluster's scheduler, seen through requests: in a process of its own, or in this one.

``LocalCluster`` (and later the SSH and batch-system clusters) manage their scheduler
only through :class:`SchedulerHandle`: ``workers`` (for ``len(cluster.scheduler.workers)``,
as seed 003 writes), ``info()``, ``retire_workers()`` and ``shutdown()``, all answered by the
scheduler over an authenticated connection. So a cluster does not care where its scheduler
runs, and :class:`SchedulerProcess` can put it in a process of its own: there it no longer
shares this process's interpreter lock with the client submitting work, which on a
2-core machine is most of the difference between a scheduler that keeps up and one
that does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from teem.distributed.cluster.subprocesses import wait_or_kill
from teem.distributed.comm import connect
from teem.distributed.loop import LoopThread
from teem.distributed.security import Security, new_secret, read_scheduler_file

__all__ = ["SchedulerHandle", "SchedulerProcess"]

# Scheduler(...) options a cluster may pass, and the `teem scheduler` flags that carry them.
_PROCESS_OPTIONS = {"heartbeat_timeout": "--heartbeat-timeout", "allowed_failures": "--allowed-failures",
                    "tick_interval": "--tick-interval", "validate": "--validate"}


class SchedulerHandle:
    """Requests to a running scheduler, from a cluster's event-loop thread.

    Parameters
    ----------
    loop:
        The cluster's :class:`LoopThread`; the connection lives on it.
    address, security:
        Where the scheduler listens and the cluster's credentials.
    """

    def __init__(self, loop: LoopThread, address: str, security: Security, timeout: float = 30.0):
        self.address = address
        self.security = security
        self._loop = loop
        contexts = security.get_ssl_context("client")
        self._comm = loop.run(connect(address, security.secret_bytes(),
                                      ssl_context=contexts[1] if contexts else None,
                                      timeout=timeout), timeout + 5)

    def request(self, op: str, timeout: float = 30.0, **msg: Any) -> Any:
        """Send request ``op`` and return the scheduler's answer."""
        return self._loop.run(self._comm.request({"op": op, **msg}, timeout), timeout + 5)

    def info(self) -> dict:
        """The scheduler's ``scheduler_info()``: ``{'workers': {address: {...}}, ...}``."""
        return self.request("scheduler-info")

    @property
    def workers(self) -> dict:
        """``{address: worker info}`` of the workers connected now."""
        return self.info()["workers"]

    worker_info = workers

    def retire_workers(self, workers: list) -> list:
        """Retire workers by address or name; return the addresses retired."""
        return self.request("retire-workers", workers=list(workers))

    def shutdown(self, timeout: float = 10.0) -> None:
        """Tell the scheduler to stop its workers and itself."""
        self.request("shutdown", timeout=timeout)

    def close(self) -> None:
        """Drop the connection (the scheduler keeps running)."""
        if self._loop.running:
            self._loop.call_soon(self._comm.close)


class SchedulerProcess:
    """``teem scheduler`` in a child process, for a cluster on this machine.

    The cluster's secret and TLS settings reach it through its environment; it listens on
    ``host:port``, writes its address to a private scheduler file this class reads, and
    stops by itself if this process goes away (it watches its parent).

    Raises
    ------
    RuntimeError
        If the process exits or does not report its address within ``timeout`` seconds;
        the message holds the end of its error output.
    """

    def __init__(self, security: Security, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "WARNING", timeout: float = 60.0, dashboard_address: Any = None,
                 **options: Any):
        unknown = sorted(set(options) - set(_PROCESS_OPTIONS))
        if unknown:
            raise TypeError(f"scheduler_kwargs {unknown} are not scheduler options; known: "
                            f"{sorted(_PROCESS_OPTIONS)}")
        if not security.secret:
            security.secret = new_secret()
        self.security = security
        self._directory = tempfile.mkdtemp(prefix="teem-scheduler-")  # mode 0700
        self.scheduler_file = os.path.join(self._directory, "scheduler.json")
        command = [sys.executable, "-m", "teem", "scheduler", "--host", host, "--port", str(port),
                   "--scheduler-file", self.scheduler_file, "--no-remember",
                   "--parent-pid", str(os.getpid())]
        command += (["--dashboard-address", str(dashboard_address)] if dashboard_address not in (None, False, "")
                    else ["--no-dashboard"])
        for option, value in options.items():
            flag = _PROCESS_OPTIONS[option]
            if isinstance(value, bool):
                command += [flag] if value else []
            else:
                command += [flag, str(value)]
        path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        env = dict(os.environ, PYTHONPATH=path, **security.to_environment())
        env.setdefault("TEEM_LOG_LEVEL", log_level)
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self._stderr,
                                        start_new_session=True)
        self.dashboard_link: str | None = None
        self.address = self._wait_for_address(timeout)

    def _wait_for_address(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the scheduler process exited with status {self.process.returncode} "
                                   f"before listening:\n{self.error_output()}")
            try:
                info = read_scheduler_file(self.scheduler_file, timeout=0)
                self.dashboard_link = info.get("dashboard")
                return info["address"]
            except TimeoutError:
                time.sleep(0.01)
        self.stop(1)
        raise RuntimeError(f"the scheduler process did not start within {timeout:g} s:\n"
                           f"{self.error_output()}")

    def error_output(self, limit: int = 4000) -> str:
        """The end of what the scheduler process wrote to its standard error."""
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-limit:]

    def stop(self, timeout: float = 10.0) -> None:
        """Wait up to ``timeout`` s for the process to exit (after a shutdown), then end it."""
        wait_or_kill(self.process, timeout)
        self._stderr.close()
        try:
            os.unlink(self.scheduler_file)
        except OSError:
            pass
        try:
            os.rmdir(self._directory)
        except OSError:
            pass
