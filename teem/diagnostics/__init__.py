"""Diagnostics for local runs: hooks (``Callback``), a text ``ProgressBar``, ``Profiler``,
``ResourceProfiler``, and ``visualize`` to draw profiles as HTML or PNG.

``from teem.diagnostics import ProgressBar, Profiler`` works as
``from dask.diagnostics import ProgressBar, Profiler`` does.
"""

from teem.diagnostics.profile import Profiler, TaskData
from teem.diagnostics.progress import ProgressBar
from teem.local.callbacks import Callback


def __getattr__(name: str):
    if name in ("ResourceProfiler", "ResourceData"):  # (psutil loads on first use)
        from teem.diagnostics import resources
        return getattr(resources, name)
    if name == "visualize":
        from teem.diagnostics.plot import visualize
        return visualize
    raise AttributeError(f"module 'teem.diagnostics' has no attribute {name!r}")


__all__ = ["Callback", "ProgressBar", "Profiler", "TaskData", "ResourceProfiler", "ResourceData",
           "visualize"]
