"""``teem.threaded.get``: run a graph on a pool of threads (as ``dask.threaded``)."""

from teem.local.run import get_threads as get

__all__ = ["get"]
