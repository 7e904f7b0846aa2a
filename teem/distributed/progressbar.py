"""``progress()``: a progress bar for futures and persisted collections, in the terminal.

``progress(futures)`` draws the same line as :class:`teem.diagnostics.ProgressBar` (which follows
local runs) while the futures finish, and returns when all have: a finished, failed or cancelled
future counts as done. Collections given after ``client.persist`` are followed through the
futures in their graphs.
"""

from __future__ import annotations

import sys
from time import perf_counter
from typing import Any

from teem.core import base
from teem.core.graph import flatten
from teem.core.task import DataNode
from teem.diagnostics.progress import format_time
from teem.distributed.client.future import ALL_COMPLETED, Future, wait

__all__ = ["progress", "futures_of"]


def futures_of(obj: Any) -> list:
    """The futures in ``obj``: a Future, a persisted collection, or lists/tuples/sets/dicts of them."""
    found: dict = {}
    _collect(obj, found)
    return list(found.values())


def _collect(obj: Any, found: dict) -> None:
    if isinstance(obj, Future):
        found.setdefault(obj.key, obj)
    elif base.is_teem_collection(obj):
        for node in flatten([obj.__teem_graph__()]).values():
            if type(node) is DataNode and isinstance(node.value, Future):
                found.setdefault(node.value.key, node.value)
    elif isinstance(obj, dict):
        for value in obj.values():
            _collect(value, found)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for item in obj:
            _collect(item, found)


def progress(*futures: Any, notebook: bool | None = None, multi: bool = True, complete: bool = True,
             interval: float = 0.1, width: int = 40, out=None) -> None:
    """Draw a progress bar until every future in ``futures`` is done.

    Parameters
    ----------
    futures:
        Futures, persisted collections (``client.persist(x)``), or containers of them.
    notebook, multi, complete:
        Accepted for Dask compatibility; the bar is always one text line.
    interval:
        Seconds between redraws.
    out:
        Where to draw (default: ``sys.stdout``).

    Raises
    ------
    TypeError
        If nothing given holds a future (an unpersisted collection, say: persist it first).
    """
    found = futures_of(futures)
    if not found:
        raise TypeError("progress() needs futures or persisted collections (call client.persist(x) "
                        "or client.compute(x) first)")
    out = sys.stdout if out is None else out
    start = perf_counter()
    while True:
        ndone = sum(1 for f in found if f.done())
        _draw(out, ndone / len(found), perf_counter() - start, width)
        if ndone == len(found):
            break
        try:
            wait(found, timeout=interval, return_when=ALL_COMPLETED)
        except TimeoutError:  # not all done yet: redraw
            pass
    out.write("\n")
    out.flush()


def _draw(out, fraction: float, elapsed: float, width: int) -> None:
    bar = "#" * int(width * fraction)
    out.write(f"\r[{bar:<{width}}] | {int(100 * fraction)}% Completed | {format_time(elapsed)}")
    out.flush()
