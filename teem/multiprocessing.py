"""``teem.multiprocessing.get``: run a graph on worker processes (as ``dask.multiprocessing``)."""

from teem.local.processes import get_processes as get

__all__ = ["get"]
