"""Threads backend: a persistent pool of threads sharing one dict of results.

Worker threads take whole batches of ready tasks, read their inputs from the
run's dict and write results into it; the engine thread is the only one that
deletes from it, and only keys no pending task needs, so no lock is needed
beyond the GIL's atomic dict operations.
"""

from __future__ import annotations

import os
import threading
from queue import SimpleQueue
from time import perf_counter

__all__ = ["ThreadPool", "ThreadBackend", "get_pool", "in_worker_thread", "default_num_workers"]

# Tasks shorter than this are pure-Python bookkeeping that holds the GIL: worker
# threads cannot run them in parallel, and handing them over costs more than
# running them, so they run on the engine's own thread.
INLINE_SECONDS_PER_TASK = 20e-6

_local = threading.local()


def default_num_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def in_worker_thread() -> bool:
    """Whether the calling thread belongs to a teem thread pool (nested compute)."""
    return getattr(_local, "is_worker", False)


class ThreadPool:
    """A fixed set of daemon threads running callables from one queue."""

    def __init__(self, size: int):
        if size < 1:
            raise ValueError(f"a thread pool needs at least 1 thread, not {size}")
        self.size = size
        self._work: SimpleQueue = SimpleQueue()
        self._threads = [threading.Thread(target=self._loop, name=f"teem-thread-{i}", daemon=True)
                         for i in range(size)]
        for t in self._threads:
            t.start()

    def _loop(self) -> None:
        _local.is_worker = True
        get = self._work.get
        while True:
            job = get()
            if job is None:
                return
            job()
            job = None  # drop the finished run's data now, not when the next job arrives

    def put(self, job) -> None:
        self._work.put(job)

    def shutdown(self) -> None:
        for _ in self._threads:
            self._work.put(None)
        for t in self._threads:
            t.join()


_pools: dict = {}
_pools_lock = threading.Lock()


def get_pool(num_workers: int | None) -> ThreadPool:
    """The shared pool with ``num_workers`` threads, created on first use."""
    n = num_workers or default_num_workers()
    with _pools_lock:
        pool = _pools.get(n)
        if pool is None:
            pool = _pools[n] = ThreadPool(n)
        return pool


def run_batch(tasks: list, data: dict, done: SimpleQueue) -> None:
    """Run ``tasks`` in order into ``data``; report to ``done``. Stops at the first error."""
    start = perf_counter()
    finished = []
    for task in tasks:
        try:
            data[task.key] = task(data)
        except BaseException as exc:  # reported to the engine, which re-raises it
            done.put((finished, (task.key, exc), perf_counter() - start, len(finished) + 1, None))
            return
        finished.append(task.key)
    done.put((finished, None, perf_counter() - start, len(finished), None))


def run_batch_timed(tasks: list, data: dict, done: SimpleQueue) -> None:
    """:func:`run_batch` that also reports each task's ``(key, start, stop, thread ident)``."""
    me = threading.get_ident()
    start = perf_counter()
    finished = []
    times = []
    for task in tasks:
        t0 = perf_counter()
        try:
            data[task.key] = task(data)
        except BaseException as exc:
            done.put((finished, (task.key, exc), perf_counter() - start, len(finished) + 1, times))
            return
        times.append((task.key, t0, perf_counter(), me))
        finished.append(task.key)
    done.put((finished, None, perf_counter() - start, len(finished), times))


class ThreadBackend:
    """One run on a :class:`ThreadPool` (see :class:`teem.local.engine.Backend`)."""

    def __init__(self, pool: ThreadPool):
        self.pool = pool
        self.nworkers = pool.size
        self.data: dict = {}
        self._done: SimpleQueue = SimpleQueue()
        self._inflight = 0

    inline_seconds = INLINE_SECONDS_PER_TASK
    record_times = False

    def run_here(self, task) -> None:
        data = self.data
        data[task.key] = task(data)

    def capacity(self) -> int:
        return self.nworkers + 1 - self._inflight

    def submit(self, tasks: list, seconds_per_task: float | None) -> None:
        self._inflight += 1
        data, done = self.data, self._done
        run = run_batch_timed if self.record_times else run_batch
        self.pool.put(lambda: run(tasks, data, done))

    def wait(self):
        out = self._done.get()
        self._inflight -= 1
        return out

    def release(self, key) -> None:
        self.data.pop(key, None)

    def value_here(self, key):
        return self.data.get(key)

    def results(self, keys) -> list:
        data = self.data
        return [data[k] for k in keys]

    def close(self, errored: bool) -> None:
        self.data = {}
