"""teem.dataframe: pandas DataFrames split into partitions, computed by task graphs.

``import teem.dataframe as ddf`` speaks Dask's ``dask.dataframe`` API::

    air = ddf.read_csv("flights/*.csv.bz2", encoding="latin1", dtype={...})
    air.DepDelay.max().compute()
    air[(air.UniqueCarrier == "UA") & (air.Origin == "EWR")].groupby("Dest").DepDelay.mean()

Modules: ``core`` (the collections), ``partitionwise`` (one task per
partition), ``reductions``, ``groupby``, ``summaries``, ``describe`` and
``distinct`` (tree reductions: quantiles, describe, drop_duplicates),
``shuffle`` (hash and range shuffles, in memory or on disk), ``join``
(merge: broadcast, aligned on divisions, or hashed), ``sorting`` (set_index,
sort_values), ``indexing`` (loc, iloc), ``categorical`` (known and unknown
categories, ``.cat``), ``repartition``, ``optimize``, ``rules`` and ``fuse``
(projection pushdown, per-partition fusion), ``io`` (pandas, CSV with a
compact parsed-partition cache, Parquet with hive folders, JSON, writers).
"""

from teem.core import config as _config
from teem.core.base import compute, persist
from teem.dataframe.core import DataFrame, Index, Scalar, Series
from teem.dataframe.io.pandas import from_delayed, from_dict, from_pandas
from teem.dataframe.join import merge
from teem.dataframe.manipulation import concat
from teem.dataframe.partitionwise import map_partitions
from teem.dataframe import rules as _rules  # noqa: F401  registers the pushdown rules

# Settings read when graphs are built: the parsed-partition cache's size per process (bytes, a
# fraction of memory, or 0 to disable; teem.dataframe.io.cache) and the shuffle method ('tasks' keeps
# pieces in memory, 'disk' spills them to temporary-directory; teem.dataframe.shuffle).
_config.update_defaults({"dataframe": {"cache-size": 0.1, "shuffle": {"method": "tasks"}}})

__all__ = [
    "DataFrame", "Series", "Index", "Scalar", "from_pandas", "from_dict", "from_delayed", "map_partitions",
    "concat", "merge", "read_csv", "read_parquet", "read_json", "to_csv", "to_parquet", "to_json",
    "compute", "persist",
]

# I/O loads on first use (pyarrow, fsspec): name -> module
_LAZY = {"read_csv": "teem.dataframe.io.csv", "read_parquet": "teem.dataframe.io.parquet",
         "to_parquet": "teem.dataframe.io.parquet_write", "read_json": "teem.dataframe.io.json",
         "to_csv": "teem.dataframe.io.write", "to_json": "teem.dataframe.io.write"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'teem.dataframe' has no attribute {name!r}")
