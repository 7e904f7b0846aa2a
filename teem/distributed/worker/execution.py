"""Running one task on a worker: its function, its exception, and where it should run.

* :class:`Functions` maps function ids to functions, unpickling each one the
  first time a task needs it (pickles arrive once per worker, in the
  ``execute`` message's ``functions`` map).
* :func:`exception_payload` turns a task's exception into what ``task-erred``
  carries: ``dumps()`` frames and the traceback text, starting at the user's
  code.  An exception that does not survive pickling becomes a RuntimeError
  that names its type and carries its message and traceback.
* :class:`InlinePolicy` decides whether a task runs on the event loop's own
  thread: tasks of a function measured (first on a thread) to take less than
  a thread hand-off cost are not worth handing off.
"""

from __future__ import annotations

import os
import traceback
from typing import Any, Callable

from teem.core import task as _task_module
from teem.distributed.protocol.messages import dumps, loads

__all__ = ["Functions", "exception_payload", "InlinePolicy"]

LONG_TASK_SECONDS = 0.001  # a task this long is real work: not for the event loop's thread

# Frames of these files come before the user's code in a task's traceback: left out.
_INTERNAL_FILES = frozenset({os.path.abspath(__file__), os.path.abspath(_task_module.__file__)})


class Functions(dict):
    """``{fid: function}``, filled on first use from the pickles given to :meth:`add`.

    Reading a missing id unpickles it (a KeyError names an id never received).
    Safe to read from task threads: two threads may unpickle the same function
    once each, and one of the results is kept.
    """

    def __init__(self):
        super().__init__()
        self._frames: dict[str, Any] = {}

    def add(self, functions: dict) -> None:
        """Keep the pickles of ``functions`` (``{fid: frames}``) until first used."""
        for fid, frames in functions.items():
            if fid not in self:
                self._frames[fid] = frames

    def __missing__(self, fid: str) -> Callable:
        frames = self._frames.get(fid)
        if frames is None:
            raise KeyError(f"function {fid!r} was never sent to this worker (a scheduler bug, "
                           "or the worker restarted and lost it)")
        func = loads(list(frames))
        self[fid] = func
        self._frames.pop(fid, None)
        return func


def exception_payload(exc: BaseException, *, internal_files=()) -> tuple[list, str]:
    """``(frames, traceback_text)`` of a task's exception, as ``task-erred`` sends them.

    The exception is pickled with :func:`~teem.distributed.protocol.messages.dumps`
    and must also unpickle (exceptions whose ``__init__`` needs other arguments
    than ``args`` do not); if either fails, a RuntimeError naming the original
    type, with its message and traceback, is sent instead.
    """
    tb = exc.__traceback__
    skip = _INTERNAL_FILES | frozenset(os.path.abspath(f) for f in internal_files)
    while tb is not None and tb.tb_next is not None and \
            os.path.abspath(tb.tb_frame.f_code.co_filename) in skip:
        tb = tb.tb_next
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    try:
        frames = dumps(exc)
        loads(frames)
    except Exception as problem:
        kind = f"{type(exc).__module__}.{type(exc).__qualname__}"
        replacement = RuntimeError(
            f"{kind}: {exc} (the original exception could not be sent: {type(problem).__name__}: "
            f"{problem})\n\nTraceback on the worker:\n{text}")
        frames = dumps(replacement)
    return frames, text


class InlinePolicy:
    """Which tasks are cheaper to run on the event loop's thread than to hand to a thread.

    Durations are kept per function id: the plain mean of the first
    :data:`SETTLE` runs, then a slow moving mean, so one hiccup (a GC pass, a
    busy machine) does not send a function back to threads, while a run of a
    millisecond or more (real work) does at once.  A function's first task
    always runs on a thread (it may block); afterwards its tasks run inline
    while the mean stays under ``inline_seconds``.  A data task (function id
    None) only unpickles a value: always inline.
    """

    __slots__ = ("inline_seconds", "_means")

    SETTLE = 8

    def __init__(self, inline_seconds: float = 20e-6):
        self.inline_seconds = inline_seconds
        self._means: dict = {}  # fid -> [mean seconds, runs measured]

    def inline(self, fid) -> bool:
        if fid is None:
            return True
        entry = self._means.get(fid)
        return entry is not None and entry[0] < self.inline_seconds

    def measured(self, fid, seconds: float) -> None:
        """Note one run of a task of ``fid`` that took ``seconds``."""
        entry = self._means.get(fid)
        if entry is None:
            self._means[fid] = [seconds, 1]
        elif seconds >= LONG_TASK_SECONDS:
            entry[0] = seconds
        else:
            n = entry[1]
            if n < self.SETTLE:
                entry[0] = (entry[0] * n + seconds) / (n + 1)
                entry[1] = n + 1
            else:
                entry[0] = 0.9 * entry[0] + 0.1 * seconds

    def mean(self, fid) -> float | None:
        entry = self._means.get(fid)
        return None if entry is None else entry[0]
