"""teem.local: the one engine that runs graphs on this machine.

``get`` (an alias of :func:`get_sync`) runs a graph on the calling thread,
like ``dask.local.get_sync``.
"""

from teem.local.callbacks import Callback
from teem.local.run import get_sync, get_threads, get_with_executor

get = get_sync

__all__ = ["get", "get_sync", "get_threads", "get_with_executor", "Callback"]
