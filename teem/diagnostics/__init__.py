"""Diagnostics for local runs: hooks (``Callback``), a text ``ProgressBar``, ``ResourceProfiler``.

``from teem.diagnostics import ProgressBar`` works as
``from dask.diagnostics import ProgressBar`` does.
"""

from teem.diagnostics.progress import ProgressBar
from teem.local.callbacks import Callback


def __getattr__(name: str):
    if name in ("ResourceProfiler", "ResourceData"):  # (psutil loads on first use)
        from teem.diagnostics import resources
        return getattr(resources, name)
    raise AttributeError(f"module 'teem.diagnostics' has no attribute {name!r}")


__all__ = ["Callback", "ProgressBar", "ResourceProfiler", "ResourceData"]
