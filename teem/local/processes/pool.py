"""A persistent pool of worker processes, kept across ``compute`` calls.

Workers start with :mod:`subprocess` (``python -m teem.local.processes.worker``)
and talk over a Unix socket pair.  Starting a Python with numpy costs a few
hundred milliseconds, so pools live until the interpreter exits; a worker that
died is replaced when the next run starts.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import OrderedDict

from teem.local.processes.wire import send_obj
from teem.local.threads import default_num_workers

__all__ = ["WorkerProcess", "ProcessPool", "get_process_pool", "shutdown_pools"]


class WorkerProcess:
    """One worker process and the engine's end of its socket."""

    def __init__(self, index: int):
        self.index = index
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock = ours
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "teem.local.processes.worker", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        # The worker must import what the caller can: its sys.path, with '' made absolute.
        cwd = os.getcwd()
        paths = [p or cwd for p in sys.path]
        send_obj(self.sock, {"sys_path": paths, "cwd": cwd})

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exit_description(self) -> str:
        code = self.proc.poll()
        if code is None:
            try:
                code = self.proc.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                return "stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"was killed by {name}"
        return f"exited with code {code}"

    def stop(self, timeout: float = 2.0) -> None:
        try:
            send_obj(self.sock, ("exit",))
        except OSError:
            pass
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.sock.close()


PLACED_KEPT = 65_536  # placements of input-free tasks remembered across runs (see ProcessPool)


class ProcessPool:
    """``size`` worker processes; dead ones are replaced by :meth:`revive`.

    ``placed`` remembers, across runs, which worker ran each task that had no inputs
    (most recent ``PLACED_KEPT``): a later run of the same task goes back there, where
    whatever it left in the process (a parsed-partition cache) is still warm.
    """

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"a process pool needs at least 1 worker, not {size}")
        self.size = size
        self.workers = [WorkerProcess(i) for i in range(size)]
        self.lock = threading.Lock()  # one run at a time per pool
        self.placed: OrderedDict = OrderedDict()  # key of a task without inputs -> worker index

    def remember_placement(self, keys, worker: int) -> None:
        placed = self.placed
        for key in keys:
            placed[key] = worker
            placed.move_to_end(key)
        while len(placed) > PLACED_KEPT:
            placed.popitem(last=False)

    def revive(self) -> None:
        """Replace workers that have exited."""
        for i, w in enumerate(self.workers):
            if not w.alive():
                w.sock.close()
                self.workers[i] = WorkerProcess(i)

    def replace(self, index: int) -> None:
        """Stop worker ``index`` (even if busy) and start a fresh one."""
        w = self.workers[index]
        if w.alive():
            w.proc.kill()
            w.proc.wait()
        w.sock.close()
        self.workers[index] = WorkerProcess(index)

    def shutdown(self) -> None:
        for w in self.workers:
            w.stop()


_pools: dict = {}
_pools_lock = threading.Lock()


def get_process_pool(num_workers: int | None) -> ProcessPool:
    """The shared pool of ``num_workers`` processes (default: one per core)."""
    n = num_workers or default_num_workers()
    with _pools_lock:
        pool = _pools.get(n)
        if pool is None:
            pool = _pools[n] = ProcessPool(n)
        return pool


@atexit.register
def shutdown_pools() -> None:
    """Stop every pool's workers (also run at interpreter exit)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown()
