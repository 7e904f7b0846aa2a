"""Keep the garbage collector off a task graph while it runs.

A graph of a million tasks is a few million long-lived objects.  Python's
cyclic garbage collector re-examines every one of them at each full
collection, which can cost more than running the tasks.  During a run those
objects cannot become garbage anyway, so :func:`graph_frozen` moves all
objects that exist when the run starts into the collector's permanent
generation (``gc.freeze``) and back at the end (``gc.unfreeze``).  Objects
created during the run (task results, temporaries) are collected as usual.
If the program froze objects itself, it is left alone.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

__all__ = ["graph_frozen", "raise_young_threshold", "tune_for_server"]

_lock = threading.Lock()
_depth = 0
_owner = False  # whether teem did the freeze (and so must undo it)


@contextmanager
def graph_frozen():
    global _depth, _owner
    with _lock:
        if _depth == 0:
            _owner = gc.get_freeze_count() == 0
            if _owner:
                gc.freeze()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _owner:
                gc.unfreeze()
                _owner = False


# --- the collector's pace in processes that hold many objects -----------------------------
#
# Python starts a collection of the youngest generation every 700 net allocations, and every
# tenth of those collects the next generation, and so on; a full collection scans every
# tracked object in the process. A scheduler or client holding 100,000 tasks or futures
# spends more time in those scans than in its own work (measured: 2.6 s of a 10 s map of
# 100,000 tasks in the client, 25 us per task in the scheduler). Collecting the youngest
# generation every few tens of thousands of allocations keeps that cost small while cyclic
# garbage is still found within milliseconds.

DEFAULT_YOUNG_THRESHOLD = 700  # CPython's default for generation 0
_raised = 0
_saved: tuple | None = None


def tune_for_server(young: int = 50_000) -> None:
    """For a process teem runs (scheduler, worker): freeze what start-up made, collect less often."""
    gc.freeze()  # modules, classes, functions: scanned never again
    gc.set_threshold(young, 20, 20)


def raise_young_threshold(young: int = 20_000):
    """Collect generation 0 every ``young`` allocations while the returned undo is not called.

    Only if the program kept CPython's default (a program that tuned its collector keeps its
    own settings). Calls nest: the default comes back when every undo has been called.
    """
    global _raised, _saved
    with _lock:
        if _raised == 0:
            current = gc.get_threshold()
            if current[0] != DEFAULT_YOUNG_THRESHOLD:
                return _nothing
            _saved = current
            gc.set_threshold(young, *current[1:])
        _raised += 1
    done = []

    def undo() -> None:
        global _raised, _saved
        if done:
            return
        done.append(True)
        with _lock:
            _raised -= 1
            if _raised == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                _saved = None
    return undo


def _nothing() -> None:
    pass
