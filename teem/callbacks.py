"""``teem.callbacks.Callback``: hooks into local runs (as ``dask.callbacks``)."""

from teem.local.callbacks import Callback

__all__ = ["Callback"]
