"""``Profiler``: when each task of a local run started and stopped, and where.

Like ``dask.diagnostics.Profiler``: inside its ``with`` block (or after
``register()``) every task that runs appends ``TaskData(key, task,
start_time, end_time, worker_id)`` to ``results``.  The times are measured
where the task ran (on the worker thread or in the worker process) with
``time.perf_counter``, not when the engine handed the task over, so they show
real run time and real overlap.  ``worker_id`` is the thread's ident (sync and
threads schedulers) or the worker process's pid (processes scheduler; tasks
that the engine runs itself report its thread).  A fused task is one task: it
reports its outer key.

Values known in advance (``delayed(x)`` literals) are not tasks and are not
recorded, on any scheduler.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from time import perf_counter

from teem.core.task import DataNode, key_prefix
from teem.local.callbacks import Callback

__all__ = ["Profiler", "TaskData", "task_prefix"]

TaskData = namedtuple("TaskData", ["key", "task", "start_time", "end_time", "worker_id"])


task_prefix = key_prefix  # ``'inc'`` for ``'inc-3f2a'`` or ``('inc-3f2a', 0)``


class Profiler(Callback):
    """Record the start and end time of every task of local runs; see the module docstring.

    Attributes
    ----------
    results:
        ``TaskData`` tuples, in the order tasks finished. Several runs in one
        ``with`` block (or while registered) append to it.
    start_time, end_time:
        ``perf_counter`` times at which the ``with`` block was entered and left.

    Example
    -------
    >>> from teem.diagnostics import Profiler
    >>> with Profiler() as prof:
    ...     total.compute(scheduler="threads")
    >>> prof.results[0]
    TaskData(key=('sum-7c1f', 0), task=<Task ...>, start_time=..., end_time=..., worker_id=...)
    >>> prof.visualize("profile.html")
    'profile.html'
    """

    def __init__(self):
        super().__init__()
        self.results: list = []
        self.start_time: float | None = None
        self.end_time: float | None = None
        self._lock = threading.Lock()

    def __enter__(self):
        # As in Dask: entering a Profiler starts a fresh recording.
        self.clear()
        self.start_time = perf_counter()
        return super().__enter__()

    def __exit__(self, *exc) -> None:
        self.end_time = perf_counter()
        super().__exit__(*exc)

    def task_timing(self, key, graph, start: float, stop: float, worker_id) -> None:
        task = graph[key]
        if type(task) is DataNode:
            return
        with self._lock:  # runs on several threads at once may share one profiler
            self.results.append(TaskData(key, task, start, stop, worker_id))

    def clear(self) -> None:
        """Forget the tasks recorded so far."""
        with self._lock:
            self.results = []

    def _charts(self) -> list:
        from teem.diagnostics.plot import TaskStream
        results = sorted(self.results, key=lambda r: r.start_time)
        labels: dict = {}
        for r in results:  # workers numbered in the order they started their first task
            labels.setdefault(r.worker_id, f"worker {len(labels)}")
        rows = [(task_prefix(r.key), labels[r.worker_id], r.start_time, r.end_time,
                 f"{r.key!r} on {labels[r.worker_id]} (id {r.worker_id})") for r in results]
        return [TaskStream("Tasks", rows)]

    def visualize(self, filename: str = "profile.html", show: bool = False, **kwargs) -> str:
        """Write the task stream (one row per worker, colours by task prefix) to ``filename``.

        An HTML page with an inline SVG chart, or a PNG image if ``filename``
        ends in ``.png`` (needs matplotlib). See :func:`teem.diagnostics.visualize`
        to draw this together with a :class:`ResourceProfiler` on one time axis.
        Returns ``filename``.
        """
        from teem.diagnostics.plot import visualize
        return visualize([self], filename=filename, show=show, **kwargs)
