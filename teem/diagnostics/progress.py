"""A text progress bar for local runs, like ``dask.diagnostics.ProgressBar``.

The engine hands every callback the same :class:`teem.local.callbacks.RunState`
object and updates its counts in place, so the bar only keeps a reference to it
(taken in ``start_state``) and a background thread redraws the line every
``dt`` seconds from ``state.nfinished / state.ntasks``.  Not overriding
``pretask``/``posttask`` keeps the per-task cost of an active bar at zero.

A bar follows one run at a time: the first run that reaches ``start_state``
while the bar is idle.  A compute started from inside a task (or concurrently
from another thread) while that run is going on is not drawn, so nested
computes do not garble or reset the line.
"""

from __future__ import annotations

import logging
import sys
import threading
from time import perf_counter

from teem.local.callbacks import Callback, RunState

__all__ = ["ProgressBar", "format_time"]

log = logging.getLogger("teem.diagnostics")


def format_time(seconds: float) -> str:
    """Seconds as ``' 1.2s'``, ``' 2min  5.0s'`` or ``' 1hr  2min  5.0s'``.

    Example
    -------
    >>> format_time(10.44)
    '10.4s'
    >>> format_time(1000.4)
    '16min 40.4s'
    """
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    if h:
        return f"{h:2.0f}hr {m:2.0f}min {s:4.1f}s"
    if m:
        return f"{m:2.0f}min {s:4.1f}s"
    return f"{s:4.1f}s"


class ProgressBar(Callback):
    """Draw ``[####      ] | 45% Completed |  1.2s`` while a local compute runs.

    Parameters
    ----------
    minimum:
        Seconds a run must last before anything is drawn; a run shorter than
        this prints nothing at all. Default 0 (always draw).
    width:
        Number of characters between the brackets.
    dt:
        Seconds between redraws.
    out:
        Where to write (anything with ``write`` and ``flush``); default
        ``sys.stdout`` as it is when the bar is created.

    Attributes
    ----------
    last_duration:
        Seconds the last run followed by this bar took (0 before any run).

    Notes
    -----
    Errors while drawing (a closed or broken ``out``) are logged to the
    ``teem.diagnostics`` logger and never reach the computation.

    Example
    -------
    >>> from teem.diagnostics import ProgressBar
    >>> with ProgressBar():
    ...     total.compute()
    [########################################] | 100% Completed |  1.2s

    or, for every compute until ``unregister()``:

    >>> pbar = ProgressBar(minimum=1.0)
    >>> pbar.register()
    """

    def __init__(self, minimum: float = 0, width: int = 40, dt: float = 0.1, out=None):
        super().__init__()
        if out is None:
            out = sys.stdout
        self._minimum = minimum
        self._width = width
        self._dt = dt
        self._file = out
        self.last_duration = 0.0
        self._lock = threading.Lock()
        self._state: RunState | None = None   # the run being drawn; None when idle
        self._started: tuple | None = None    # (thread id, time) of the latest start()
        self._start_time = 0.0
        self._stop: threading.Event | None = None
        self._timer: threading.Thread | None = None

    # --- Callback hooks ---------------------------------------------------------------------

    def start(self, graph) -> None:
        # The time is taken here so that ordering the graph counts, as in Dask.
        self._started = (threading.get_ident(), perf_counter())

    def start_state(self, graph, state: RunState) -> None:
        with self._lock:
            if self._state is not None:
                return  # already drawing another run (a nested or concurrent compute)
            started = self._started
            if started is not None and started[0] == threading.get_ident():
                self._start_time = started[1]
            else:
                self._start_time = perf_counter()
            self._state = state
            self._stop = threading.Event()
            self._timer = timer = threading.Thread(
                target=self._redraw_until_stopped, args=(state, self._start_time, self._stop),
                name="teem-progressbar", daemon=True)
        timer.start()

    def finish(self, graph, state: RunState, errored: bool) -> None:
        with self._lock:
            if state is not self._state:
                return
            stop, timer, start_time = self._stop, self._timer, self._start_time
            self._state = self._stop = self._timer = None
        stop.set()
        timer.join()
        elapsed = perf_counter() - start_time
        self.last_duration = elapsed
        if elapsed < self._minimum:
            return
        if errored:
            self._draw(_fraction(state), elapsed)
        else:
            self._draw(1.0, elapsed)
        self._write("\n")

    # --- drawing ----------------------------------------------------------------------------

    def _redraw_until_stopped(self, state: RunState, start_time: float,
                              stop: threading.Event) -> None:
        while not stop.wait(self._dt):
            elapsed = perf_counter() - start_time
            if elapsed >= self._minimum:
                self._draw(_fraction(state), elapsed)

    def _draw(self, fraction: float, elapsed: float) -> None:
        bar = "#" * int(self._width * fraction)
        percent = int(100 * fraction)
        self._write(f"\r[{bar:<{self._width}}] | {percent}% Completed | {format_time(elapsed)}")

    def _write(self, text: str) -> None:
        try:
            self._file.write(text)
            self._file.flush()
        except Exception:  # a closed or broken stream must not break the run
            log.debug("teem ProgressBar could not write to %r", self._file, exc_info=True)


def _fraction(state: RunState) -> float:
    if state.ntasks <= 0:
        return 1.0
    return min(1.0, state.nfinished / state.ntasks)
