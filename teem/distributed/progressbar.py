"""``progress()``: progress bars for futures and persisted collections, in a terminal or Jupyter.

In a terminal, ``progress(futures)`` draws the same line as :class:`teem.diagnostics.ProgressBar`
(which follows local runs) while the futures finish, and returns when all have: a finished,
failed or cancelled future counts as done. Inside a Jupyter kernel with ipywidgets installed it
shows a :class:`ProgressWidget` instead (one bar per task prefix, plus the total), updated from
a background thread, and returns at once, as Dask's does. Collections given after
``client.persist`` are followed through the futures in their graphs.
"""

from __future__ import annotations

import sys
import threading
from time import perf_counter
from typing import Any

from teem.core import base
from teem.core.graph import flatten
from teem.core.task import DataNode
from teem.diagnostics.profile import task_prefix
from teem.diagnostics.progress import format_time
from teem.distributed.client.future import ALL_COMPLETED, Future, wait

__all__ = ["progress", "futures_of", "ProgressWidget"]


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
             interval: float = 0.1, width: int = 40, out=None) -> "ProgressWidget | None":
    """Show the progress of ``futures`` until every one is done.

    Parameters
    ----------
    futures:
        Futures, persisted collections (``client.persist(x)``), or containers of them.
    notebook:
        True: show Jupyter widgets; False: draw a text bar; None (default): widgets when
        running inside a Jupyter kernel and ipywidgets is installed, else the text bar.
    multi:
        Widgets only: one bar per task prefix (``'inc'`` for ``'inc-3f2a'``) besides the total.
    complete:
        Widgets only: keep the bars of prefixes that have finished (False hides them).
    interval:
        Seconds between redraws.
    width:
        Characters of the text bar.
    out:
        Where to draw the text bar (default: ``sys.stdout``).

    Returns
    -------
    ProgressWidget or None
        The widget, which a background thread keeps updating (``progress`` returns at
        once); None for the text bar, which returns when all futures are done.

    Raises
    ------
    TypeError
        If nothing given holds a future (an unpersisted collection, say: persist it first).
    ImportError
        With ``notebook=True`` when ipywidgets is not installed.
    """
    found = futures_of(futures)
    if not found:
        raise TypeError("progress() needs futures or persisted collections (call client.persist(x) "
                        "or client.compute(x) first)")
    if notebook is None:
        notebook = _in_jupyter_kernel() and _have_ipywidgets()
    if notebook:
        widget = ProgressWidget(found, multi=multi, complete=complete)
        from IPython.display import display
        display(widget)
        widget.follow(interval)
        return widget
    _text_bar(found, interval, width, sys.stdout if out is None else out)
    return None


def _text_bar(found: list, interval: float, width: int, out) -> None:
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


# --- Jupyter -----------------------------------------------------------------------------------

def _in_jupyter_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (not a terminal IPython, not plain Python)."""
    ipython = sys.modules.get("IPython")  # never imported here: a kernel has it already
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and getattr(shell, "kernel", None) is not None


def _have_ipywidgets() -> bool:
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


class ProgressWidget:
    """Jupyter progress bars for futures: one per task prefix (with ``multi``) and the total.

    Each bar counts finished futures against the number given; a failed or lost future
    turns its bar and the total red (``bar_style='danger'``) and its label says how many
    erred; a cancelled one counts as done. When everything has finished without error,
    the bars turn green.

    Parameters
    ----------
    futures:
        The futures to follow (see :func:`futures_of` for collections).
    multi:
        Show one bar per task prefix as well as the total.
    complete:
        Keep showing a prefix's bar once all its futures are done.

    Raises
    ------
    ImportError
        If ipywidgets is not installed.

    Example
    -------
    >>> w = ProgressWidget(client.map(inc, range(10)))
    >>> w.follow()          # update from a background thread
    >>> w                   # the last expression of a cell shows the bars
    """

    def __init__(self, futures, multi: bool = True, complete: bool = True):
        try:
            import ipywidgets
        except ImportError as exc:
            raise ImportError("progress bars in Jupyter need ipywidgets: `pip install ipywidgets` "
                              "(or call progress(..., notebook=False) for the text bar)") from exc
        self.futures = list(futures)
        self.complete = complete
        self.groups: dict = {}  # prefix -> futures, in order of first appearance
        for f in self.futures:
            self.groups.setdefault(task_prefix(f.key), []).append(f)
        self.bars: dict = {}
        self.labels: dict = {}
        self.rows: dict = {}
        names = (list(self.groups) if multi else []) + [None]  # None: the total
        for name in names:
            n = len(self.futures) if name is None else len(self.groups[name])
            bar = ipywidgets.IntProgress(value=0, min=0, max=n, bar_style="info",
                                         layout=ipywidgets.Layout(width="50%"))
            label = ipywidgets.HTML(value="")
            self.bars[name], self.labels[name] = bar, label
            self.rows[name] = ipywidgets.HBox([ipywidgets.HTML(
                value=f"<b>{'Total' if name is None else name}</b>",
                layout=ipywidgets.Layout(width="15em")), bar, label])
        self.widget = ipywidgets.VBox(list(self.rows.values()))
        self._start = perf_counter()
        self.thread: threading.Thread | None = None
        self.update()

    def update(self) -> bool:
        """Redraw from the futures' states now; return whether all are done."""
        elapsed = format_time(perf_counter() - self._start).strip()
        all_done = True
        for name, bar in self.bars.items():
            futures = self.futures if name is None else self.groups[name]
            done = erred = 0
            for f in futures:
                if f.done():
                    done += 1
                    if f.status in ("error", "lost"):
                        erred += 1
            bar.value = done
            finished = done == len(futures)
            all_done = all_done and finished
            text = f"{done} / {len(futures)}"
            if erred:
                bar.bar_style = "danger"
                text += f", <span style='color: #d62728'>{erred} erred</span>"
            elif finished:
                bar.bar_style = "success"
            if name is None:
                text += f" in {elapsed}"
            self.labels[name].value = text
            if finished and not self.complete and name is not None:
                self.rows[name].layout.display = "none"
        return all_done

    def follow(self, interval: float = 0.1) -> None:
        """Keep updating from a daemon thread until all futures are done."""
        def loop():
            while not self.update():
                try:
                    wait(self.futures, timeout=interval, return_when=ALL_COMPLETED)
                except TimeoutError:
                    pass
        self.thread = threading.Thread(target=loop, name="teem-progress-widget", daemon=True)
        self.thread.start()

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)
