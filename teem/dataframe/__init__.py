"""teem.dataframe: pandas DataFrames split into partitions, computed by task graphs.

``import teem.dataframe as ddf`` speaks Dask's ``dask.dataframe`` API::

    air = ddf.read_csv("flights/*.csv.bz2", encoding="latin1", dtype={...})
    air.DepDelay.max().compute()
    air[(air.UniqueCarrier == "UA") & (air.Origin == "EWR")].groupby("Dest").DepDelay.mean()

Modules: ``core`` (the collections), ``partitionwise`` (one task per
partition), ``reductions`` and ``groupby`` (tree reductions), ``optimize``
and ``rules`` (projection pushdown into readers), ``io`` (pandas, CSV, ...).
"""

from teem.core.base import compute, persist
from teem.dataframe.core import DataFrame, Index, Scalar, Series
from teem.dataframe.io.pandas import from_delayed, from_dict, from_pandas
from teem.dataframe.manipulation import concat
from teem.dataframe.partitionwise import map_partitions
from teem.dataframe import rules as _rules  # noqa: F401  registers the pushdown rules

__all__ = [
    "DataFrame", "Series", "Index", "Scalar", "from_pandas", "from_dict", "from_delayed", "map_partitions",
    "concat", "read_csv", "compute", "persist",
]


def __getattr__(name: str):
    if name == "read_csv":
        from teem.dataframe.io.csv import read_csv
        return read_csv
    raise AttributeError(f"module 'teem.dataframe' has no attribute {name!r}")
