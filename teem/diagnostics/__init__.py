"""Diagnostics for local runs: hooks (``Callback``) and a text ``ProgressBar``.

``from teem.diagnostics import ProgressBar`` works as
``from dask.diagnostics import ProgressBar`` does.
"""

from teem.diagnostics.progress import ProgressBar
from teem.local.callbacks import Callback

__all__ = ["Callback", "ProgressBar"]
