"""The nanny: a small parent process that keeps worker processes running.

``teem worker`` (without ``--no-nanny``) runs a :class:`Nanny`: it starts each
worker as a child process (``python -m teem.distributed.worker.process``) and
starts a new one when a child dies, so a crash, a memory kill or a
``restart`` costs time, not the worker slot.  How a child ends decides what
happens next (its exit status):

* ``0`` (:data:`EXIT_CLOSED`): told to close (shutdown, retired) -- not restarted;
* ``69`` (:data:`EXIT_NO_SCHEDULER`): the scheduler is gone for good (death
  timeout) or refused the worker (wrong secret) -- not restarted;
* ``75`` (:data:`EXIT_RESTART`): asked to restart -- restarted at once;
* anything else (a crash, a signal, memory over the terminate threshold) --
  restarted, after a growing pause if it keeps dying within seconds.

SIGTERM or SIGINT stops the children (SIGTERM, then SIGKILL after
``stop_timeout`` seconds) and ends the nanny.  This module imports only the
standard library: the nanny stays small.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time

__all__ = ["Nanny", "EXIT_CLOSED", "EXIT_RESTART", "EXIT_NO_SCHEDULER", "EXIT_ERROR",
           "describe_status"]

logger = logging.getLogger("teem.distributed.nanny")

EXIT_CLOSED = 0         # closed on purpose: the nanny stops too
EXIT_ERROR = 1          # crashed, or over the memory terminate threshold: restart
EXIT_NO_SCHEDULER = 69  # EX_UNAVAILABLE: scheduler gone (death timeout) or refused us: stop
EXIT_RESTART = 75       # EX_TEMPFAIL: the scheduler asked for a fresh worker: restart now

FINAL_STATUSES = frozenset({EXIT_CLOSED, EXIT_NO_SCHEDULER})
QUICK_DEATH_SECONDS = 10.0  # a child that dies sooner than this counts as dying repeatedly
MAX_BACKOFF_SECONDS = 30.0
POLL_SECONDS = 0.05


def describe_status(status: int) -> str:
    """``'status 1'``, ``'signal SIGKILL'``: how a child process ended, for logs."""
    if status < 0:
        try:
            return f"signal {signal.Signals(-status).name}"
        except ValueError:
            return f"signal {-status}"
    return f"status {status}"


class _Child:
    __slots__ = ("index", "command", "process", "started", "quick_deaths", "restart_at", "status")

    def __init__(self, index: int, command: list[str]):
        self.index = index
        self.command = command
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self.quick_deaths = 0
        self.restart_at: float | None = None
        self.status: int | None = None  # final status once done


class Nanny:
    """Start worker processes and keep them running (see the module docstring).

    Parameters
    ----------
    commands:
        One command line per worker process.
    env:
        Their environment (default: this process's); carries the cluster secret
        (``TEEM_SECRET``), which must not appear on command lines.
    restart:
        Start a new child when one dies with a status other than 0 or 69.
        False: only supervise (start them, forward SIGTERM, wait).
    stop_timeout:
        Seconds a child gets to close after SIGTERM before it is killed.

    Example
    -------
    >>> Nanny([[sys.executable, "-m", "teem.distributed.worker.process", "tcp://..."]]).run()
    """

    def __init__(self, commands: list[list[str]], env: dict | None = None, restart: bool = True,
                 stop_timeout: float = 10.0):
        if not commands:
            raise ValueError("Nanny needs at least one command to run")
        self.children = [_Child(i, list(c)) for i, c in enumerate(commands)]
        self.env = dict(os.environ if env is None else env)
        self.env["TEEM_NANNY_PID"] = str(os.getpid())
        self.restart = restart
        self.stop_timeout = stop_timeout
        self.stopping = False

    # ------------------------------------------------------------------ running

    def run(self) -> int:
        """Run until every child has ended for good, or a signal stops them; return the status.

        The status is 0 when stopped by a signal or when every child closed on
        purpose, else the last final status a child ended with (69: the
        scheduler is gone).
        """
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            for child in self.children:
                self._start(child)
            while True:
                if self.stopping:
                    self._stop_all()
                    return EXIT_CLOSED
                alive = False
                now = time.monotonic()
                for child in self.children:
                    if child.status is not None:
                        continue
                    alive = True
                    if child.process is not None:
                        status = child.process.poll()
                        if status is not None:
                            self._ended(child, status, now)
                    elif child.restart_at is not None and now >= child.restart_at and not self.stopping:
                        self._start(child)
                if not alive:
                    statuses = [c.status for c in self.children]
                    return next((s for s in statuses if s), EXIT_CLOSED)
                time.sleep(POLL_SECONDS)
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum, frame) -> None:
        if not self.stopping:
            logger.info("nanny %d: %s received: stopping the worker(s)", os.getpid(),
                        signal.Signals(signum).name)
        self.stopping = True

    def _start(self, child: _Child) -> None:
        child.restart_at = None
        child.started = time.monotonic()
        child.process = subprocess.Popen(child.command, env=self.env)
        logger.info("nanny %d: started worker process %d", os.getpid(), child.process.pid)

    def _ended(self, child: _Child, status: int, now: float) -> None:
        pid = child.process.pid
        child.process = None
        if status in FINAL_STATUSES or not self.restart:
            child.status = status
            logger.info("nanny %d: worker process %d ended with %s", os.getpid(), pid,
                        describe_status(status))
            return
        if status == EXIT_RESTART:
            child.quick_deaths = 0
            delay = 0.0
        else:
            if now - child.started < QUICK_DEATH_SECONDS:
                child.quick_deaths += 1
            else:
                child.quick_deaths = 1
            # the first death restarts at once; repeated quick deaths wait 0.5, 1, 2, ... s
            delay = 0.0 if child.quick_deaths <= 1 else \
                min(0.5 * 2 ** (child.quick_deaths - 2), MAX_BACKOFF_SECONDS)
        logger.warning("nanny %d: worker process %d ended with %s; starting a new one%s",
                       os.getpid(), pid, describe_status(status),
                       f" in {delay:g} s (it keeps dying within seconds)" if delay else "")
        child.restart_at = now + delay

    def _stop_all(self) -> None:
        """SIGTERM every child, wait for them, SIGKILL the ones that do not end in time."""
        running = [c for c in self.children if c.process is not None]
        for child in running:
            try:
                child.process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + self.stop_timeout
        for child in running:
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("nanny %d: worker process %d did not stop within %g s: killing it",
                               os.getpid(), child.process.pid, self.stop_timeout)
                child.process.kill()
                child.process.wait()
            child.status = child.process.returncode
            child.process = None
