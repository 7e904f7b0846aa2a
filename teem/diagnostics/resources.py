"""``ResourceProfiler``: CPU and memory of this process and its workers while local runs go on.

Like ``dask.diagnostics.ResourceProfiler``: used as a context manager around computes, it
samples every ``dt`` seconds from the start of each run to its end, on a thread of its own, and
keeps ``ResourceData(time, mem, cpu)`` tuples in ``results`` (``time`` a ``time.perf_counter``
reading, as in Dask and as :class:`teem.diagnostics.Profiler` records tasks; memory in MB, CPU
in percent of one core, summed over this process and its child processes, so the ``processes``
scheduler's workers count). ``visualize()`` writes one self-contained HTML file (inline SVG
charts: no network, no JavaScript library), which opens on cluster nodes without internet, or
a PNG image.
"""

from __future__ import annotations

import threading
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
        self._processes: dict = {}  # pid -> psutil.Process, kept so cpu_percent has a baseline

    # --- hooks (on the thread that called compute) -----------------------------------------

    def start(self, graph) -> None:
        with self._lock:
            self._runs += 1
            if self._runs > 1:
                return
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
        self.results.append(ResourceData(perf_counter(), mem / 1e6, cpu))

    # --- display -------------------------------------------------------------------------------

    def _charts(self) -> list:
        from teem.diagnostics.plot import Lines
        return [Lines("CPU", "% of one core", [("CPU", [(r.time, r.cpu) for r in self.results])]),
                Lines("Memory", "MB", [("memory", [(r.time, r.mem) for r in self.results])])]

    def visualize(self, filename: str = "profile.html", show: bool = False, **kwargs) -> str:
        """Write CPU and memory over time to ``filename``; return it.

        An HTML page with inline SVG charts, or a PNG image if ``filename``
        ends in ``.png`` (needs matplotlib). See :func:`teem.diagnostics.visualize`
        to draw this together with a :class:`Profiler` on one time axis.
        """
        from teem.diagnostics.plot import visualize
        return visualize([self], filename=filename, show=show, **kwargs)
