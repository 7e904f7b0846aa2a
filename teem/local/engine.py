"""The one local execution engine: runs any graph on any backend.

Theory of operation
-------------------
1. :func:`teem.core.order.order` lists the needed tasks depth-first (this also
   culls and finds cycles). A task's *priority* is its place in that list.
2. Each task counts its unfinished dependencies; tasks at zero are *ready* and
   wait in a heap by priority, so the earliest-listed ready task goes first and
   chains are finished before new ones start.
3. Ready tasks go to the backend in batches. The batch size adapts to the
   measured task duration (about 2 ms of work per batch), so a million tiny
   tasks cost a few thousand hand-offs while long tasks still go one by one
   and balance across workers.  Tasks shorter than a hand-off (pure-Python
   bookkeeping that holds the GIL anyway) run on the engine's own thread, if
   the backend allows it, one after another without any hand-off: a chain of
   such tasks then costs about what the synchronous scheduler costs.
4. When a task finishes, its dependents' counters drop, and each dependency
   whose last dependent has now run is released (unless it is an output), so
   intermediate results are freed the moment nothing needs them.
5. On the first task error, nothing more is submitted and the error is
   re-raised with its own type and traceback; results of batches still
   running are discarded with the run.

6. Timing: when an active callback overrides ``task_timing`` (a profiler), the
   engine sets ``backend.record_times``; the backend then reads the clock
   around each task where it runs and returns ``(key, start, stop, worker_id)``
   with each batch, and the engine hands them to the callbacks.  Without such
   a callback no clock is read per task.

Backends own the data (a dict for threads, worker memory for processes); the
engine only moves keys.  The synchronous backend skips the heap entirely and
runs the list in order.
"""

from __future__ import annotations

import heapq
import threading
from time import perf_counter
from typing import Mapping, Protocol, Sequence

from teem.core.order import prioritize
from teem.local.callbacks import RunState, active_callbacks, notify, wants_timings

__all__ = ["Backend", "execute"]

TARGET_BATCH_SECONDS = 0.002
MAX_BATCH = 2000


class Backend(Protocol):
    """What the engine needs from an executor. One instance serves one run."""

    nworkers: int
    #: Tasks measured shorter than this run on the engine's thread through
    #: ``run_here`` (0: never; results must then live in this process).
    inline_seconds: float
    #: Set True by the engine, before the first ``submit``, when a callback
    #: wants each task's start and stop times (see ``wait``).  Default False.
    record_times: bool

    def run_here(self, task) -> None:
        """Run ``task`` on the calling thread and keep its result; raise its error."""

    def submit(self, tasks: list, seconds_per_task: float | None) -> None:
        """Start running ``tasks`` (all ready) somewhere; must not block for long.

        ``seconds_per_task`` is the measured mean task duration so far (None
        before anything was measured).
        """

    def capacity(self) -> int:
        """How many more batches may be submitted now."""

    def wait(self) -> tuple[list, tuple | None, float, int, list | None]:
        """Block until a batch ends: ``(finished_keys, error, seconds, ntasks_run, times)``.

        ``error`` is ``(key, exception)`` for the task that failed, or None.
        ``times`` is None unless ``record_times`` is set; then it lists
        ``(key, start, stop, worker_id)`` for the tasks of the batch that ran
        and finished (``perf_counter`` readings taken where they ran).
        """

    def release(self, key) -> None:
        """The result of ``key`` is no longer needed."""

    def value_here(self, key):
        """The value of ``key`` if this process holds it, else None (for callbacks)."""

    def results(self, keys: Sequence) -> list:
        """Values of ``keys`` (outputs), in the caller's process."""

    def close(self, errored: bool) -> None:
        """The run is over: drop what it holds."""


def execute(graph: Mapping, keys: Sequence, backend: Backend | None) -> list:
    """Run what ``keys`` need of ``graph`` and return their values in order.

    ``backend=None`` runs everything here, in order, on the calling thread.
    """
    callbacks = active_callbacks()
    timed = False
    if callbacks:
        notify(callbacks, "start", graph)
        timed = wants_timings(callbacks)
    ordered, priority = prioritize(graph, keys)
    state = RunState(ntasks=len(ordered))
    if callbacks:
        notify(callbacks, "start_state", graph, state)
    errored = True
    try:
        if backend is None:
            out = _run_in_order(graph, ordered, keys, callbacks, state, timed)
        else:
            if timed:
                backend.record_times = True
            out = _run_parallel(graph, ordered, priority, keys, backend, callbacks, state, timed)
        errored = False
        return out
    finally:
        if callbacks:
            notify(callbacks, "finish", graph, state, errored)


def _refcounts(graph: Mapping, ordered: list, keys: Sequence) -> dict:
    """How many consumers each result has; outputs get one extra, so they stay."""
    refs: dict = {}
    get = refs.get
    for key in ordered:
        for dep in graph[key].dependencies:
            refs[dep] = get(dep, 0) + 1
    for key in keys:
        refs[key] = get(key, 0) + 1
    return refs


def _run_in_order(graph, ordered, keys, callbacks, state, timed=False) -> list:
    refs = _refcounts(graph, ordered, keys)
    data: dict = {}
    me = threading.get_ident()
    for key in ordered:
        task = graph[key]
        if callbacks:
            notify(callbacks, "pretask", key, graph, state)
        try:
            if timed:
                start = perf_counter()
                data[key] = task(data)
                notify(callbacks, "task_timing", key, graph, start, perf_counter(), me)
            else:
                data[key] = task(data)
        except BaseException as exc:
            _label(exc, key)
            raise
        for dep in task.dependencies:
            n = refs[dep] - 1
            if n:
                refs[dep] = n
            else:
                del data[dep]
        if callbacks:
            state.nfinished += 1
            notify(callbacks, "posttask", key, data[key], graph, state, 0)
    return [data[k] for k in keys]


def _run_parallel(graph, ordered, priority, keys, backend: Backend, callbacks, state,
                  timed=False) -> list:
    # Everything is indexed by priority (the task's place in ``ordered``).
    tasks = [graph[k] for k in ordered]
    waiting = [0] * len(tasks)      # unfinished dependencies
    dependents: list = [None] * len(tasks)  # None, one index, or a list of indexes
    refs = [0] * len(tasks)         # consumers not finished yet (+1 for outputs)
    leaves = []                     # ready from the start, in priority order
    for i, task in enumerate(tasks):
        deps = task.dependencies
        if deps:
            waiting[i] = len(deps)
            for dep in deps:
                d = priority[dep]
                refs[d] += 1
                x = dependents[d]
                if x is None:
                    dependents[d] = i  # most results have one consumer: no list for them
                elif type(x) is int:
                    dependents[d] = [x, i]
                else:
                    x.append(i)
        else:
            leaves.append(i)
    for key in keys:
        refs[priority[key]] += 1
    ready = _ReadyQueue(leaves)
    run = _Bookkeeping(tasks, priority, waiting, dependents, refs, ready, backend)

    inline_seconds = getattr(backend, "inline_seconds", 0.0)
    seconds_per_task = None
    remaining = len(tasks)
    inflight = 0
    errored = True
    try:
        while remaining:
            if seconds_per_task is not None and seconds_per_task < inline_seconds and len(ready):
                ndone, recent_per_task = _run_here(run, remaining, inflight, graph, callbacks, state,
                                                   timed)
                remaining -= ndone
                if ndone:
                    seconds_per_task = recent_per_task
                if not inflight:
                    continue
            capacity = backend.capacity()
            nready = len(ready)
            while nready and capacity > 0:
                if seconds_per_task is None or nready == 1:
                    size = 1
                else:
                    size = _batch_size(nready, backend.nworkers, seconds_per_task)
                batch = [tasks[i] for i in ready.take(size)]
                nready -= len(batch)
                if callbacks:
                    for task in batch:
                        notify(callbacks, "pretask", task.key, graph, state)
                backend.submit(batch, seconds_per_task)
                inflight += 1
                capacity -= 1
            if not inflight:
                raise RuntimeError("teem engine: nothing is running and nothing is ready; "
                                   "the graph's dependency counts are inconsistent (a bug)")
            finished, error, seconds, nrun, times = backend.wait()
            inflight -= 1
            if times:
                for key, start, stop, worker_id in times:
                    notify(callbacks, "task_timing", key, graph, start, stop, worker_id)
            if nrun:
                per_task = seconds / nrun
                seconds_per_task = per_task if seconds_per_task is None else (
                    0.7 * seconds_per_task + 0.3 * per_task)
            if error is not None:
                key, exc = error
                _label(exc, key)
                raise exc
            remaining -= len(finished)
            if callbacks:
                for key in finished:
                    state.nfinished += 1
                    notify(callbacks, "posttask", key, backend.value_here(key), graph, state, 0)
            if remaining:  # else the run is over: nothing to ready, and close() frees it all
                for key in finished:
                    run.finished(priority[key])
        out = backend.results(keys)
        errored = False
        return out
    finally:
        backend.close(errored)


class _Bookkeeping:
    """What finishing a task changes: dependents become ready, inputs get released."""

    __slots__ = ("tasks", "priority", "waiting", "dependents", "refs", "ready", "backend")

    def __init__(self, tasks, priority, waiting, dependents, refs, ready, backend):
        self.tasks = tasks
        self.priority = priority
        self.waiting = waiting
        self.dependents = dependents
        self.refs = refs
        self.ready = ready
        self.backend = backend

    def finished(self, i: int) -> None:
        waiting = self.waiting
        x = self.dependents[i]
        if x is not None:
            if type(x) is int:
                n = waiting[x] - 1
                waiting[x] = n
                if not n:
                    heapq.heappush(self.ready.heap, x)
            else:
                heap = self.ready.heap
                for j in x:
                    n = waiting[j] - 1
                    waiting[j] = n
                    if not n:
                        heapq.heappush(heap, j)
        deps = self.tasks[i].dependencies
        if deps:
            refs, priority = self.refs, self.priority
            for dep in deps:
                d = priority[dep]
                n = refs[d] - 1
                refs[d] = n
                if not n:
                    self.backend.release(dep)


# While other tasks run on workers, the engine thread returns from running tiny
# tasks itself this often, to hand the workers' finished results their dependents.
INLINE_SLICE_SECONDS = 0.01
# A task run here that takes longer than this sends the run back to the workers
# at once: it is real work, and what is ready after it may run in parallel.
INLINE_LONG_TASK_SECONDS = 0.001


def _run_here(run: _Bookkeeping, remaining: int, inflight: int, graph, callbacks, state,
              timed=False):
    """Run ready tasks on this thread while they stay short.

    Returns the number of tasks run and their recent mean duration.
    """
    backend, tasks, ready = run.backend, run.tasks, run.ready
    run_here, finished, pop = backend.run_here, run.finished, ready.pop
    window = 32 * backend.inline_seconds  # the mean over 32 tasks must stay below the limit
    ndone = 0
    checked = 0
    start = window_start = last = perf_counter()
    while True:
        i = pop()
        if i < 0:
            break
        task = tasks[i]
        if callbacks:
            notify(callbacks, "pretask", task.key, graph, state)
        try:
            if timed:
                t0 = perf_counter()
                run_here(task)
                notify(callbacks, "task_timing", task.key, graph, t0, perf_counter(),
                       threading.get_ident())
            else:
                run_here(task)
        except BaseException as exc:
            _label(exc, task.key)
            raise
        ndone += 1
        if callbacks:
            state.nfinished += 1
            notify(callbacks, "posttask", task.key, backend.value_here(task.key), graph, state, 0)
        if ndone == remaining:
            break  # the run is over: close() frees it all
        finished(i)
        now = perf_counter()
        if now - last > INLINE_LONG_TASK_SECONDS:
            return ndone, now - last  # real work: back to the workers
        last = now
        if ndone - checked == 32:
            if now - window_start > window:
                return ndone, (now - window_start) / 32  # tasks got longer: back to the workers
            if inflight and now - start > INLINE_SLICE_SECONDS:
                break
            checked, window_start = ndone, now
    return ndone, (perf_counter() - start) / max(ndone, 1)


class _ReadyQueue:
    """Ready tasks by priority: the initial leaves (already sorted) plus a heap.

    Most graphs start with many leaves; taking them from a sorted list by
    slicing avoids a heap operation per task.
    """

    __slots__ = ("leaves", "next_leaf", "heap")

    def __init__(self, leaves: list):
        self.leaves = leaves
        self.next_leaf = 0
        self.heap: list = []

    def __len__(self) -> int:
        return len(self.leaves) - self.next_leaf + len(self.heap)

    def pop(self) -> int:
        """The first ready task, or -1 if none is."""
        heap, leaves, i = self.heap, self.leaves, self.next_leaf
        if i < len(leaves) and (not heap or leaves[i] < heap[0]):
            self.next_leaf = i + 1
            return leaves[i]
        if heap:
            return heapq.heappop(heap)
        return -1

    def take(self, n: int) -> list:
        heap, leaves = self.heap, self.leaves
        if not heap:
            start = self.next_leaf
            self.next_leaf = start + n
            return leaves[start:start + n]
        out = []
        pop = heapq.heappop
        while len(out) < n:
            if self.next_leaf < len(leaves) and (not heap or leaves[self.next_leaf] < heap[0]):
                out.append(leaves[self.next_leaf])
                self.next_leaf += 1
            elif heap:
                out.append(pop(heap))
            else:
                break
        return out


def _batch_size(nready: int, nworkers: int, seconds_per_task: float | None) -> int:
    """Tasks per hand-off: ~2 ms of work, but spread over all workers."""
    if seconds_per_task is None:
        return 1  # nothing measured yet: long tasks must not pile onto one worker
    by_time = int(TARGET_BATCH_SECONDS / max(seconds_per_task, 1e-7))
    fair_share = max(1, nready // (2 * nworkers))
    return max(1, min(by_time, fair_share, MAX_BATCH))


def _label(exc: BaseException, key) -> None:
    """Note, on a task's exception, which task raised it (PEP 678 note)."""
    note = f"teem: raised by task {key!r}"
    notes = getattr(exc, "__notes__", None)
    if notes is None or note not in notes:
        try:
            exc.add_note(note)
        except Exception:
            pass
