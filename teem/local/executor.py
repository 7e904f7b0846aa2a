"""Backend over any ``concurrent.futures.Executor`` passed as ``pool=``.

Results come back to the calling process: each batch carries the values its
tasks need, resolved here.  For executors other than thread pools the batch
travels as cloudpickle bytes, so lambdas and ``__main__`` functions work with
a plain ``ProcessPoolExecutor`` too.
"""

from __future__ import annotations

import os
import threading
import traceback
from concurrent.futures import Executor, ThreadPoolExecutor
from queue import SimpleQueue
from time import perf_counter

from teem.core.errors import RemoteTraceback
from teem.local.threads import default_num_workers

__all__ = ["ExecutorBackend"]


def _run_calls(calls, pickled: bool, timed: bool = False):
    """Run ``[(func, args, kwargs)]``; stop at the first error.

    With ``timed``, also return each call's ``(start, stop, worker_id)``
    (worker_id: the thread's ident in this process, or the pid of another process).
    """
    if pickled:
        import cloudpickle
        calls = cloudpickle.loads(calls)
    times = None
    if timed:
        times = []
        me = os.getpid() if pickled else threading.get_ident()
    start = perf_counter()
    values = []
    for func, args, kwargs in calls:
        try:
            if timed:
                t0 = perf_counter()
                values.append(func(*args, **kwargs))
                times.append((t0, perf_counter(), me))
            else:
                values.append(func(*args, **kwargs))
        except BaseException as exc:
            tb = "".join(traceback.format_exception(exc))
            out = (values, (len(values), exc, tb), perf_counter() - start, times)
            return _dumps_result(out) if pickled else out
    out = (values, None, perf_counter() - start, times)
    if pickled:
        import cloudpickle
        return cloudpickle.dumps(out, protocol=5)
    return out


def _dumps_result(out):
    import cloudpickle
    try:
        return cloudpickle.dumps(out, protocol=5)
    except Exception:  # the exception itself cannot travel: send its text
        values, (i, exc, tb), seconds, times = out
        return cloudpickle.dumps((values, (i, RuntimeError(f"{type(exc).__name__}: {exc}"), tb),
                                  seconds, times), protocol=5)


class ExecutorBackend:
    """One run on a user-supplied executor (see :class:`teem.local.engine.Backend`)."""

    def __init__(self, executor: Executor, num_workers: int | None = None):
        self.executor = executor
        self.nworkers = num_workers or getattr(executor, "_max_workers", None) or default_num_workers()
        self.pickled = not isinstance(executor, ThreadPoolExecutor)
        self.data: dict = {}
        self._done: SimpleQueue = SimpleQueue()
        self._inflight = 0

    record_times = False

    def capacity(self) -> int:
        return self.nworkers + 1 - self._inflight

    def submit(self, tasks: list, seconds_per_task) -> None:
        data = self.data
        calls = []
        for task in tasks:
            if task.func is None:  # a DataNode: its value is already here
                calls.append((_value, (task.value,), {}))
                continue
            # Resolve arguments here: bind them into a call of the task on its inputs.
            inputs = {dep: data[dep] for dep in task.dependencies}
            calls.append((task, (inputs,), {}))
        if self.pickled:  # only executors in other processes need cloudpickle: import it late
            import cloudpickle
            payload = cloudpickle.dumps(calls, protocol=5)
        else:
            payload = calls
        keys = [t.key for t in tasks]
        future = self.executor.submit(_run_calls, payload, self.pickled, self.record_times)
        self._inflight += 1
        future.add_done_callback(lambda f: self._done.put((keys, f)))

    def wait(self):
        keys, future = self._done.get()
        self._inflight -= 1
        try:
            out = future.result()
        except BaseException as exc:  # the executor itself failed (e.g. a broken process pool)
            return [], (keys[0], exc), 0.0, 0, None
        if self.pickled:
            import cloudpickle
            out = cloudpickle.loads(out)
        values, error, seconds, times = out
        finished = keys[: len(values)]
        self.data.update(zip(finished, values))
        if times is not None:
            times = [(key, *t) for key, t in zip(finished, times)]
        if error is not None:
            i, exc, tb = error
            if self.pickled and exc.__cause__ is None:
                exc.__cause__ = RemoteTraceback(tb)
            return finished, (keys[i], exc), seconds, len(values) + 1, times
        return finished, None, seconds, len(values), times

    def release(self, key) -> None:
        self.data.pop(key, None)

    def value_here(self, key):
        return self.data.get(key)

    def results(self, keys) -> list:
        return [self.data[k] for k in keys]

    def close(self, errored: bool) -> None:
        self.data = {}


def _value(x):
    return x
