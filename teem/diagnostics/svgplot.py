"""Charts as inline SVG text: a task stream and line charts, on a shared time axis.

Pure functions from plain tuples to strings: nothing here knows about local
runs, profilers or the distributed scheduler, so any report can draw with them.
The SVG has no namespace declaration, no script and no external reference: it
is meant to be pasted into an HTML page (see :func:`html_page`) that opens
without network access; tooltips are SVG ``<title>`` elements, shown by
browsers on hover without JavaScript.

Charts drawn with the same ``width``, ``t0`` and ``t1`` have the same x axis,
so stacked in one page they line up in time.

Example
-------
>>> rows = [("inc", "worker 0", 0.0, 0.5), ("add", "worker 1", 0.2, 0.9)]
>>> page = html_page("run", [task_stream_svg(rows, t0=0.0, t1=1.0),
...                          lines_svg([("cpu", [(0.0, 10.0), (1.0, 90.0)])], t0=0.0, t1=1.0)])
"""

from __future__ import annotations

import math
from html import escape
from typing import Iterable, Sequence

__all__ = ["PALETTE", "prefix_colors", "time_ticks", "format_seconds", "task_stream_svg",
           "lines_svg", "html_page", "LEFT", "RIGHT"]

# Categorical colours (the usual 10 strong ones, then their light variants).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
           "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")

LEFT = 110   # pixels left of the plot area (row labels, y axis)
RIGHT = 20   # pixels right of it
TOP = 28     # room for the title
AXIS = 34    # room under the plot for the time axis
FONT = "font-family='sans-serif' font-size='11'"


def prefix_colors(prefixes: Iterable[str]) -> dict:
    """A colour per distinct prefix, in order of first appearance (the palette repeats)."""
    colors: dict = {}
    for p in prefixes:
        if p not in colors:
            colors[p] = PALETTE[len(colors) % len(PALETTE)]
    return colors


def time_ticks(t0: float, t1: float, n: int = 6) -> list:
    """About ``n`` round tick values (1, 2 or 5 times a power of ten) from ``t0`` to ``t1``."""
    span = t1 - t0
    if not span > 0:
        return [t0]
    raw = span / max(n, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(t0 / step - 1e-9) * step
    count = int(math.floor((t1 - first) / step + 1e-9)) + 1
    return [round(first + i * step, 12) for i in range(count)]


def format_seconds(seconds: float) -> str:
    """A duration for a tooltip: ``'850 µs'``, ``'12.3 ms'``, ``'4.56 s'``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _fmt(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _time_axis(t0: float, t1: float, plot_width: float, y: float) -> list:
    """SVG parts: the time axis line at ``y``, with ticks labelled in seconds since ``t0``."""
    parts = [f"<line x1='{LEFT}' y1='{y}' x2='{LEFT + plot_width}' y2='{y}' stroke='#888'/>"]
    span = (t1 - t0) or 1.0
    ticks = time_ticks(0.0, t1 - t0)
    for t in ticks:
        x = LEFT + plot_width * t / span
        parts.append(f"<line x1='{x:.1f}' y1='{y}' x2='{x:.1f}' y2='{y + 4}' stroke='#888'/>")
        parts.append(f"<text x='{x:.1f}' y='{y + 16}' text-anchor='middle' {FONT}>{_fmt(t)}</text>")
    parts.append(f"<text x='{LEFT + plot_width}' y='{y + 30}' text-anchor='end' {FONT}>"
                 "seconds</text>")
    return parts


def _legend(items: Sequence, x0: float, y0: float, width: float) -> tuple:
    """SVG parts for ``(label, colour)`` items laid out in rows; returns (parts, height)."""
    parts, x, y = [], x0, y0
    for label, color in items:
        w = 22 + 7 * len(label)
        if x > x0 and x + w > x0 + width:
            x, y = x0, y + 18
        parts.append(f"<rect class='legend' x='{x:.1f}' y='{y}' width='12' height='12' fill='{color}'/>")
        parts.append(f"<text x='{x + 16:.1f}' y='{y + 10}' {FONT}>{escape(label)}</text>")
        x += w
    return parts, (y - y0 + 18 if items else 0)


def task_stream_svg(rows: Iterable[Sequence], *, t0: float | None = None, t1: float | None = None,
                    width: int = 900, row_height: int = 20, title: str = "Task stream",
                    colors: dict | None = None, max_rects: int = 20_000) -> str:
    """Draw tasks as rectangles, one row per worker, coloured by prefix, with a legend.

    Parameters
    ----------
    rows:
        ``(prefix, worker_label, start, stop)`` tuples, or with a fifth item:
        the tooltip text (default: the prefix). Times in seconds, any origin.
    t0, t1:
        The time range shown (default: the rows' earliest start and latest
        stop). The axis is labelled in seconds since ``t0``.
    width:
        Total width in pixels (the plot area is ``width - LEFT - RIGHT``).
    row_height:
        Pixels per worker row.
    title:
        Shown above the chart, and its accessible name.
    colors:
        ``{prefix: colour}``; missing prefixes get :func:`prefix_colors` colours.
    max_rects:
        Above this many rows, tasks of one prefix that follow each other on a
        worker less than a pixel apart are drawn as one rectangle (its tooltip
        counts them), so a million-task run stays a page a browser can open.

    Returns
    -------
    str
        One ``<svg>`` element. Each task (or merged run of tasks) is a
        ``<rect class='task'>`` holding a ``<title>`` tooltip (the tooltip text
        and the duration).
    """
    rows = list(rows)
    workers: dict = {}
    for r in rows:
        workers.setdefault(r[1], len(workers))
    palette = prefix_colors(r[0] for r in rows)
    if colors:
        palette.update({p: c for p, c in colors.items() if p in palette})
    if t0 is None:
        t0 = min((r[2] for r in rows), default=0.0)
    if t1 is None:
        t1 = max((r[3] for r in rows), default=t0 + 1.0)
    span = (t1 - t0) or 1.0
    plot_width = width - LEFT - RIGHT
    if len(rows) > max_rects:
        rows = _merge_close(rows, pixel=span / plot_width)
    plot_height = max(len(workers), 1) * row_height
    axis_y = TOP + plot_height
    legend, legend_height = _legend(list(palette.items()), LEFT, axis_y + AXIS + 6, plot_width)
    height = axis_y + AXIS + 10 + legend_height
    parts = [f"<svg width='{width}' height='{height}' role='img' aria-label='{escape(title)}'>",
             f"<text x='{LEFT}' y='16' font-family='sans-serif' font-size='14' "
             f"font-weight='bold'>{escape(title)}</text>"]
    for label, i in workers.items():
        y = TOP + i * row_height + row_height / 2 + 4
        parts.append(f"<text x='{LEFT - 6}' y='{y:.1f}' text-anchor='end' {FONT}>"
                     f"{escape(str(label))}</text>")
    parts.append(f"<rect x='{LEFT}' y='{TOP}' width='{plot_width}' height='{plot_height}' "
                 "fill='#f7f7f7'/>")
    for r in rows:
        prefix, worker, start, stop = r[0], r[1], r[2], r[3]
        tip = r[4] if len(r) > 4 else prefix
        x = LEFT + plot_width * (start - t0) / span
        w = max(plot_width * (stop - start) / span, 0.5)  # the shortest task stays visible
        y = TOP + workers[worker] * row_height + 1
        parts.append(f"<rect class='task' x='{x:.2f}' y='{y}' width='{w:.2f}' "
                     f"height='{row_height - 2}' fill='{palette[prefix]}'><title>"
                     f"{escape(str(tip))} ({format_seconds(stop - start)})</title></rect>")
    parts += _time_axis(t0, t1, plot_width, axis_y)
    parts += legend
    parts.append("</svg>")
    return "\n".join(parts)


def _merge_close(rows: list, pixel: float) -> list:
    """Rows with same-prefix neighbours on a worker, less than ``pixel`` apart, merged."""
    out = []
    current = None  # [prefix, worker, start, stop, count]
    for r in sorted(rows, key=lambda r: (str(r[1]), r[2])):
        if (current is not None and r[0] == current[0] and r[1] == current[1]
                and r[2] - current[3] < pixel):
            current[3] = max(current[3], r[3])
            current[4] += 1
            continue
        if current is not None:
            out.append(_merged_row(current))
        current = [r[0], r[1], r[2], r[3], 1, r[4] if len(r) > 4 else r[0]]
    if current is not None:
        out.append(_merged_row(current))
    return out


def _merged_row(m: list) -> tuple:
    prefix, worker, start, stop, count, tip = m
    return (prefix, worker, start, stop, tip if count == 1 else f"{count} {prefix} tasks")


def lines_svg(series: Iterable[Sequence], *, t0: float | None = None, t1: float | None = None,
              width: int = 900, height: int = 160, title: str = "", unit: str = "",
              ymax: float | None = None, colors: Sequence[str] | None = None) -> str:
    """Draw time series as lines over a time axis.

    Parameters
    ----------
    series:
        ``(label, points)`` pairs; ``points`` is a sequence of ``(time, value)``.
    t0, t1:
        The time range shown (default: the points' range); see :func:`task_stream_svg`.
    width:
        Total width in pixels; same layout as :func:`task_stream_svg`, so
        charts of equal width and time range line up.
    height:
        Height of the plot area in pixels.
    title, unit:
        Shown above the chart and beside the y axis.
    ymax:
        Top of the y axis (default: 10% above the largest value).
    colors:
        One colour per series (default: :data:`PALETTE` in order).

    Returns
    -------
    str
        One ``<svg>`` element with a ``<polyline class='series'>`` per series
        (its ``<title>`` holds the label) and a legend when there are several.
    """
    series = [(label, list(points)) for label, points in series]
    times = [t for _, pts in series for t, _ in pts]
    values = [v for _, pts in series for _, v in pts]
    if t0 is None:
        t0 = min(times, default=0.0)
    if t1 is None:
        t1 = max(times, default=t0 + 1.0)
    span = (t1 - t0) or 1.0
    if ymax is None:
        ymax = max(values, default=0.0) * 1.1 or 1.0
    plot_width = width - LEFT - RIGHT
    axis_y = TOP + height
    colors = list(colors or PALETTE)
    items = [(label, colors[i % len(colors)]) for i, (label, _) in enumerate(series)]
    legend, legend_height = (_legend(items, LEFT, axis_y + AXIS + 6, plot_width)
                             if len(series) > 1 else ([], 0))
    total = axis_y + AXIS + 10 + legend_height
    parts = [f"<svg width='{width}' height='{total}' role='img' aria-label='{escape(title)}'>",
             f"<text x='{LEFT}' y='16' font-family='sans-serif' font-size='14' "
             f"font-weight='bold'>{escape(title)}</text>",
             f"<rect x='{LEFT}' y='{TOP}' width='{plot_width}' height='{height}' fill='#f7f7f7'/>",
             f"<line x1='{LEFT}' y1='{TOP}' x2='{LEFT}' y2='{axis_y}' stroke='#888'/>"]
    for v in time_ticks(0.0, ymax, 4):
        y = axis_y - height * v / ymax
        parts.append(f"<text x='{LEFT - 6}' y='{y + 4:.1f}' text-anchor='end' {FONT}>{_fmt(v)}</text>")
        parts.append(f"<line x1='{LEFT}' y1='{y:.1f}' x2='{LEFT + plot_width}' y2='{y:.1f}' "
                     "stroke='#e0e0e0'/>")
    if unit:
        parts.append(f"<text x='12' y='{TOP + height / 2:.1f}' {FONT} "
                     f"transform='rotate(-90 12 {TOP + height / 2:.1f})' text-anchor='middle'>"
                     f"{escape(unit)}</text>")
    for (label, points), (_, color) in zip(series, items):
        if not points:
            continue
        coords = " ".join(f"{LEFT + plot_width * (t - t0) / span:.1f},"
                          f"{axis_y - height * min(v, ymax) / ymax:.1f}" for t, v in points)
        parts.append(f"<polyline class='series' fill='none' stroke='{color}' stroke-width='2' "
                     f"points='{coords}'><title>{escape(str(label))}</title></polyline>")
    parts += _time_axis(t0, t1, plot_width, axis_y)
    parts += legend
    parts.append("</svg>")
    return "\n".join(parts)


def html_page(title: str, parts: Iterable[str]) -> str:
    """One self-contained HTML page: ``title`` as heading, then ``parts`` (SVG or HTML) in order."""
    body = "\n".join(f"<div class='chart'>\n{p}\n</div>" for p in parts)
    return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title>\n<style>body {{ font-family: sans-serif; margin: 1em; }}"
            " .chart { margin-bottom: 1.5em; } p { color: #444; }</style></head>\n"
            f"<body>\n<h2>{escape(title)}</h2>\n{body}\n</body></html>\n")
