"""``teem.jobqueue``: clusters whose workers run as batch jobs (Dask-jobqueue's API).

    from teem.jobqueue import SLURMCluster
    cluster = SLURMCluster(cores=8, processes=2, memory="16GB", queue="debug")

The classes live in :mod:`teem.deploy.jobqueue` and load on first use.
"""

from __future__ import annotations

import importlib

__all__ = ["JobQueueCluster", "SLURMCluster", "PBSCluster", "SGECluster", "LSFCluster", "BatchSystemError"]


def __getattr__(name: str):
    if name in __all__:
        return getattr(importlib.import_module("teem.deploy.jobqueue"), name)
    raise AttributeError(f"module 'teem.jobqueue' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
