"""Hooks into local runs: what progress bars and profilers build on.

A :class:`Callback` is active inside a ``with`` block, or globally after
``.register()``.  The engine calls, on the thread that called ``compute``:

- ``start(graph)`` before anything runs,
- ``start_state(graph, state)`` once the run order is known,
- ``pretask(key, graph, state)`` when a task is handed to a worker,
- ``task_timing(key, graph, start, stop, worker_id)`` when it has finished,
  just before ``posttask``: ``start`` and ``stop`` are ``time.perf_counter()``
  readings taken where the task ran (the clock is shared by the processes of
  one machine) and ``worker_id`` identifies the thread (its ident) or worker
  process (its pid) that ran it.  Measuring costs a clock reading per task,
  so it is switched on only while some active callback overrides this hook,
- ``posttask(key, result, graph, state, worker_id)`` when it has finished
  (``result`` is None when the value lives in another process),
- ``finish(graph, state, errored)`` at the end, also after an error.

``state`` is a :class:`RunState`: counts, not the engine's internals.
A callback that raises is reported through ``logging`` and never breaks the run.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

__all__ = ["Callback", "RunState", "active_callbacks", "wants_timings"]

log = logging.getLogger("teem.callbacks")

_lock = threading.Lock()
_active: list = []


@dataclass
class RunState:
    """What a callback may read about the run in progress."""

    ntasks: int = 0
    nfinished: int = 0


class Callback:
    """Base class of local-run hooks; pass functions or override the methods.

    Example
    -------
    >>> with Callback(posttask=lambda key, *_: print("done", key)):
    ...     total.compute()
    """

    def __init__(self, start=None, start_state=None, pretask=None, posttask=None, finish=None,
                 task_timing=None):
        for name, fn in (("start", start), ("start_state", start_state), ("pretask", pretask),
                         ("posttask", posttask), ("finish", finish), ("task_timing", task_timing)):
            if fn is not None:
                setattr(self, name, fn)

    def start(self, graph) -> None: ...
    def start_state(self, graph, state: RunState) -> None: ...
    def pretask(self, key, graph, state: RunState) -> None: ...
    def posttask(self, key, result, graph, state: RunState, worker_id) -> None: ...
    def task_timing(self, key, graph, start: float, stop: float, worker_id) -> None: ...
    def finish(self, graph, state: RunState, errored: bool) -> None: ...

    def register(self) -> None:
        """Make this callback active for every local run until :meth:`unregister`."""
        with _lock:
            if self not in _active:
                _active.append(self)

    def unregister(self) -> None:
        with _lock:
            if self in _active:
                _active.remove(self)

    def __enter__(self):
        self.register()
        return self

    def __exit__(self, *exc) -> None:
        self.unregister()


def active_callbacks() -> tuple:
    with _lock:
        return tuple(_active)


def _overrides(cb, hook: str) -> bool:
    return getattr(getattr(cb, hook), "__func__", None) is not getattr(Callback, hook)


def wants_timings(callbacks) -> bool:
    """Whether any of ``callbacks`` overrides ``task_timing`` (so tasks must be timed)."""
    return any(_overrides(cb, "task_timing") for cb in callbacks)


def notify(callbacks, hook: str, *args) -> None:
    """Call ``hook`` on every callback that overrides it; log, never raise."""
    for cb in callbacks:
        fn = getattr(cb, hook)
        if getattr(fn, "__func__", None) is getattr(Callback, hook):
            continue  # not overridden: skip the call entirely
        try:
            fn(*args)
        except Exception:
            log.exception("teem callback %r raised in %s()", cb, hook)
