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

__all__ = ["graph_frozen"]

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
