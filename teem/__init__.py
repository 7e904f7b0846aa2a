"""teem: parallel Python from a laptop to an HPC cluster, speaking Dask's API.

``import teem as dask`` gives ``delayed``, ``compute``, ``persist``,
``visualize``, ``tokenize`` and ``config``.  Subpackages (``teem.array``,
``teem.diagnostics``, ``teem.distributed``, ...) load on first use, so
``import teem`` stays light.
"""

import importlib as _importlib

from teem import config
from teem._version import __version__
from teem.core.base import compute, is_teem_collection, persist
from teem.core.delayed import Delayed, delayed
from teem.core.tokenize import tokenize
from teem.core.visualize import visualize
from teem.local import run as _local_run  # noqa: F401  the default engine, light: load it now


is_dask_collection = is_teem_collection  # the name Dask users know

__all__ = [
    "__version__", "config", "compute", "persist", "visualize", "delayed", "Delayed",
    "tokenize", "is_teem_collection", "is_dask_collection",
]

_SUBMODULES = frozenset({
    "array", "bag", "dataframe", "diagnostics", "distributed", "jobqueue", "mpi", "local",
    "threaded", "multiprocessing", "callbacks", "core",
})


def __getattr__(name: str):
    if name in _SUBMODULES:
        return _importlib.import_module(f"teem.{name}")
    raise AttributeError(f"module 'teem' has no attribute {name!r}")
