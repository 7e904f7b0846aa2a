"""teem.distributed: scheduler, workers and clients that run graphs across machines.

``from teem.distributed import Client, LocalCluster`` as with Dask's
``dask.distributed``.  Names load on first use, so importing this package
stays cheap.
"""

import importlib as _importlib

__all__ = [
    "Client", "Future", "LocalCluster", "Security", "wait", "as_completed", "default_client",
    "get_client", "KilledWorker", "FutureCancelledError", "FIRST_COMPLETED", "ALL_COMPLETED",
    "FIRST_EXCEPTION", "SSHCluster", "progress", "futures_of", "performance_report",
]

_WHERE = {
    "Client": "teem.distributed.client.client", "default_client": "teem.distributed.client.client",
    "get_client": "teem.distributed.client.client",
    "Future": "teem.distributed.client.future", "wait": "teem.distributed.client.future",
    "as_completed": "teem.distributed.client.future", "FIRST_COMPLETED": "teem.distributed.client.future",
    "ALL_COMPLETED": "teem.distributed.client.future", "FIRST_EXCEPTION": "teem.distributed.client.future",
    "LocalCluster": "teem.distributed.cluster.local",
    "progress": "teem.distributed.progressbar", "futures_of": "teem.distributed.progressbar",
    "SSHCluster": "teem.deploy.ssh", "performance_report": "teem.distributed.report",
    "Security": "teem.distributed.security",
    "KilledWorker": "teem.distributed.errors", "FutureCancelledError": "teem.distributed.errors",
}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'teem.distributed' has no attribute {name!r}")
    return getattr(_importlib.import_module(module), name)


def __dir__():
    return sorted(__all__)
