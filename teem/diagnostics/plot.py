"""``visualize(profilers, filename)``: profilers' charts on one time axis, as HTML or PNG.

Each profiler describes its charts as plain data (:class:`TaskStream`,
:class:`Lines`) with times on the ``perf_counter`` clock; this module shifts
them to one origin (the earliest time of all), and draws them either as
inline SVG in one self-contained HTML page (:mod:`teem.diagnostics.svgplot`)
or, for a ``.png`` file name, with matplotlib.
"""

from __future__ import annotations

import os
import webbrowser
from collections import namedtuple
from html import escape

from teem.diagnostics import svgplot

__all__ = ["visualize", "TaskStream", "Lines", "write_png"]

#: A task-stream chart: ``rows`` are ``(prefix, worker_label, start, stop, tooltip)``.
TaskStream = namedtuple("TaskStream", ["title", "rows"])
#: A line chart: ``series`` are ``(label, [(time, value), ...])``.
Lines = namedtuple("Lines", ["title", "unit", "series"])


def visualize(profilers, filename: str = "profile.html", show: bool = False,
              title: str = "teem profile", width: int = 900) -> str:
    """Draw the charts of one or several profilers, stacked on one time axis.

    Like ``dask.diagnostics.visualize``, but writes a file instead of a Bokeh
    figure: an HTML page with inline SVG (opens offline, no JavaScript
    needed), or a PNG image when ``filename`` ends in ``.png``.

    Parameters
    ----------
    profilers:
        A :class:`~teem.diagnostics.Profiler`, a
        :class:`~teem.diagnostics.ResourceProfiler`, or a list of them.
    filename:
        Where to write; ``.png`` selects the image format.
    show:
        Open the file in a web browser afterwards.
    title:
        Page heading (HTML) or figure title (PNG).
    width:
        Width in pixels of the charts.

    Returns
    -------
    str
        ``filename``.

    Raises
    ------
    ImportError
        For a ``.png`` file when matplotlib is not installed.
    TypeError
        For an object that is not a teem profiler.

    Example
    -------
    >>> from teem.diagnostics import Profiler, ResourceProfiler, visualize
    >>> with Profiler() as prof, ResourceProfiler(dt=0.25) as rprof:
    ...     total.compute()
    >>> visualize([prof, rprof], filename="profile.html")
    'profile.html'
    """
    if not isinstance(profilers, (list, tuple)):
        profilers = [profilers]
    charts = []
    for p in profilers:
        method = getattr(p, "_charts", None)
        if method is None:
            raise TypeError(f"visualize() draws teem profilers (Profiler, ResourceProfiler), "
                            f"not {type(p).__name__!r} objects")
        charts.extend(method())
    charts, t1 = _shift_to_zero(charts)
    if str(filename).lower().endswith(".png"):
        write_png(filename, charts, t1, title=title, width=width)
    else:
        with open(filename, "w", encoding="utf-8") as f:
            f.write(render_html(charts, t1, title=title, width=width))
    if show:
        webbrowser.open(f"file://{os.path.abspath(filename)}")
    return filename


def _shift_to_zero(charts: list) -> tuple:
    """The charts with times counted from the earliest one; and the latest time."""
    times = []
    for c in charts:
        if isinstance(c, TaskStream):
            times += [r[2] for r in c.rows] + [r[3] for r in c.rows]
        else:
            times += [t for _, pts in c.series for t, _ in pts]
    origin = min(times, default=0.0)
    out = []
    for c in charts:
        if isinstance(c, TaskStream):
            rows = [(r[0], r[1], r[2] - origin, r[3] - origin, *r[4:]) for r in c.rows]
            out.append(TaskStream(c.title, rows))
        else:
            series = [(label, [(t - origin, v) for t, v in pts]) for label, pts in c.series]
            out.append(Lines(c.title, c.unit, series))
    return out, max(max(times, default=0.0) - origin, 1e-6)


def render_html(charts: list, t1: float, title: str = "teem profile", width: int = 900) -> str:
    """The HTML page for ``charts`` (times already counted from 0), up to time ``t1``."""
    parts = []
    for c in charts:
        if not (c.rows if isinstance(c, TaskStream) else any(pts for _, pts in c.series)):
            parts.append(f"<h3>{escape(c.title)}</h3><p>Nothing was recorded: run a compute inside the "
                         "profiler's <code>with</code> block first.</p>")
        elif isinstance(c, TaskStream):
            nworkers = len({r[1] for r in c.rows})
            parts.append(f"<p>{len(c.rows)} tasks on {nworkers} worker(s) in {t1:.3f} s; "
                         "hover over a task for its name and duration.</p>")
            parts.append(svgplot.task_stream_svg(c.rows, t0=0.0, t1=t1, width=width, title=c.title))
        else:
            parts.append(svgplot.lines_svg(c.series, t0=0.0, t1=t1, width=width, title=c.title,
                                           unit=c.unit))
    return svgplot.html_page(title, parts)


def write_png(filename: str, charts: list, t1: float, title: str = "teem profile",
              width: int = 900) -> None:
    """Draw ``charts`` (times from 0 to ``t1``) into a PNG file with matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.patches import Patch
    except ImportError as exc:
        raise ImportError(f"writing {filename!r} as a PNG image needs matplotlib: "
                          "`pip install matplotlib` (or `pip install teem[diagnostics]`), "
                          "or give a .html file name for the same charts as SVG") from exc
    heights = []
    for c in charts:
        heights.append(1.0 + 0.3 * len({r[1] for r in c.rows}) if isinstance(c, TaskStream) else 2.0)
    dpi = 100
    # No pyplot: a Figure of its own leaves the user's matplotlib state alone.
    fig = Figure(figsize=(width / dpi, 1.0 + sum(heights) + 0.6 * len(charts)), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(max(len(charts), 1), 1, sharex=True, squeeze=False,
                        gridspec_kw={"height_ratios": heights or [1]})[:, 0]
    fig.suptitle(title)
    for ax, c in zip(axes, charts):
        ax.set_title(c.title, loc="left", fontsize=10)
        if isinstance(c, TaskStream):
            _png_task_stream(ax, c.rows, Patch)
        else:
            for i, (label, pts) in enumerate(c.series):
                ax.plot([t for t, _ in pts], [v for _, v in pts], label=label,
                        color=svgplot.PALETTE[i % len(svgplot.PALETTE)])
            ax.set_ylabel(c.unit)
            ax.set_ylim(0, max((v for _, pts in c.series for _, v in pts), default=0.0) * 1.1 or 1.0)
            if len(c.series) > 1:
                ax.legend(fontsize=8)
    axes[-1].set_xlim(0, t1)
    axes[-1].set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(filename, format="png")


def _png_task_stream(ax, rows: list, Patch) -> None:
    workers: dict = {}
    for r in rows:
        workers.setdefault(r[1], len(workers))
    colors = svgplot.prefix_colors(r[0] for r in rows)
    bars: dict = {}  # (worker row, prefix) -> [(start, duration)]: one call per group, not per task
    for r in rows:
        bars.setdefault((workers[r[1]], r[0]), []).append((r[2], r[3] - r[2]))
    for (i, prefix), spans in bars.items():
        ax.broken_barh(spans, (i - 0.4, 0.8), facecolors=colors[prefix])
    ax.set_yticks(range(len(workers)), [str(w) for w in workers])
    ax.set_ylim(len(workers) - 0.5, -0.5)
    ax.legend(handles=[Patch(color=c, label=p) for p, c in colors.items()], fontsize=8,
              loc="upper left", bbox_to_anchor=(1.0, 1.0))
