"""``ResourceProfiler``: CPU and memory of this process and its workers while local runs go on.

Like ``dask.diagnostics.ResourceProfiler``: used as a context manager around computes, it
samples every ``dt`` seconds from the start of each run to its end, on a thread of its own, and
keeps ``ResourceData(time, mem, cpu)`` tuples in ``results`` (memory in MB, CPU in percent of
one core, summed over this process and its child processes, so the ``processes`` scheduler's
workers count). ``visualize()`` writes one self-contained HTML file (an inline SVG chart: no
network, no JavaScript library), which opens on cluster nodes without internet.
"""

from __future__ import annotations

import html
import threading
import webbrowser
from collections import namedtuple
from time import perf_counter

import psutil

from teem.local.callbacks import Callback

__all__ = ["ResourceProfiler", "ResourceData"]

ResourceData = namedtuple("ResourceData", ["time", "mem", "cpu"])


class ResourceProfiler(Callback):
    """Sample CPU and memory during local runs; see the module docstring.

    Parameters
    ----------
    dt:
        Seconds between samples.
    """

    def __init__(self, dt: float = 1.0):
        super().__init__()
        if dt <= 0:
            raise ValueError(f"dt must be positive, not {dt}")
        self._dt = dt
        self.results: list = []
        self._lock = threading.Lock()
        self._runs = 0  # runs going on now (nested computes share one sampler)
        self._stop: threading.Event | None = None
        self._thread: threading.Thread | None = None
        self._origin: float | None = None
        self._processes: dict = {}  # pid -> psutil.Process, kept so cpu_percent has a baseline

    # --- hooks (on the thread that called compute) -----------------------------------------

    def start(self, graph) -> None:
        with self._lock:
            self._runs += 1
            if self._runs > 1:
                return
            if self._origin is None:
                self._origin = perf_counter()
            self._stop = threading.Event()
            self._thread = threading.Thread(target=self._sample_until_stopped, args=(self._stop,),
                                            name="teem-resource-profiler", daemon=True)
            self._thread.start()

    def finish(self, graph, state, errored: bool) -> None:
        with self._lock:
            self._runs -= 1
            if self._runs:
                return
            stop, thread = self._stop, self._thread
            self._stop = self._thread = None
        stop.set()
        thread.join()

    def clear(self) -> None:
        """Forget the samples taken so far."""
        self.results = []
        self._origin = None

    # --- sampling ------------------------------------------------------------------------------

    def _sample_until_stopped(self, stop: threading.Event) -> None:
        self._sample()  # at the start of the run, and at its end
        while not stop.wait(self._dt):
            self._sample()
        self._sample()

    def _sample(self) -> None:
        me = psutil.Process()
        try:
            current = [me, *me.children(recursive=True)]
        except psutil.Error:
            current = [me]
        mem = cpu = 0.0
        seen = {}
        for p in current:
            proc = self._processes.get(p.pid, p)
            try:
                with proc.oneshot():
                    mem += proc.memory_info().rss
                    cpu += proc.cpu_percent(None)  # (0 the first time a process is seen)
            except psutil.Error:  # it ended meanwhile
                continue
            seen[p.pid] = proc
        self._processes = seen
        self.results.append(ResourceData(perf_counter() - self._origin, mem / 1e6, cpu))

    # --- display -------------------------------------------------------------------------------

    def visualize(self, filename: str = "profile.html", show: bool = False) -> str:
        """Write the samples as an HTML page with CPU and memory over time; return its path."""
        with open(filename, "w", encoding="utf-8") as f:
            f.write(render_html(self.results))
        if show:
            webbrowser.open(f"file://{filename}")
        return filename


def _polyline(points: list, width: float, height: float, tmax: float, vmax: float, color: str) -> str:
    coords = " ".join(f"{40 + width * t / tmax:.1f},{10 + height * (1 - v / vmax):.1f}" for t, v in points)
    return f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{coords}"/>'


def _chart(title: str, unit: str, points: list, tmax: float, color: str) -> str:
    width, height = 640, 160
    vmax = max([v for _, v in points] + [1e-9]) * 1.1
    lines = [f'<h3>{html.escape(title)}</h3>',
             f'<svg width="{width + 60}" height="{height + 40}" role="img" aria-label="{html.escape(title)}">',
             f'<line x1="40" y1="{10 + height}" x2="{40 + width}" y2="{10 + height}" stroke="#888"/>',
             f'<line x1="40" y1="10" x2="40" y2="{10 + height}" stroke="#888"/>',
             f'<text x="0" y="18" font-size="11">{vmax:.0f}</text>',
             f'<text x="0" y="{10 + height}" font-size="11">0</text>',
             f'<text x="{40 + width - 60}" y="{height + 34}" font-size="11">{tmax:.2f} s</text>',
             f'<text x="{width // 2}" y="{height + 34}" font-size="11">{html.escape(unit)}</text>']
    if points:
        lines.append(_polyline(points, width, height, tmax, vmax, color))
    lines.append("</svg>")
    return "\n".join(lines)


def render_html(results: list) -> str:
    """The page :meth:`ResourceProfiler.visualize` writes, for ``results``."""
    tmax = max([r.time for r in results] + [1e-9])
    cpu = _chart("CPU", "percent of one core, over time", [(r.time, r.cpu) for r in results], tmax, "#1f77b4")
    mem = _chart("Memory", "MB, over time", [(r.time, r.mem) for r in results], tmax, "#d62728")
    peak = max((r.mem for r in results), default=0.0)
    return ("<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>teem resource profile</title></head>"
            "<body style='font-family: sans-serif'>\n<h2>teem resource profile</h2>\n"
            f"<p>{len(results)} samples; peak memory {peak:.0f} MB</p>\n{cpu}\n{mem}\n</body></html>\n")
