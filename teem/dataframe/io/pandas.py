"""Collections from data in memory: from_pandas, from_dict, from_delayed."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from teem.core.graph import Graph
from teem.core.task import DataNode, Ref, Task
from teem.core.tokenize import tokenize
from teem.dataframe.meta import empty_like, make_meta

__all__ = ["from_pandas", "from_dict", "from_delayed"]


def _row_bounds(index: pd.Index, npartitions: int | None, chunksize: int | None, sort: bool) -> list:
    """Start rows of the partitions plus the end; equal index values never straddle a boundary
    (so divisions stay valid)."""
    n = len(index)
    if chunksize is None:
        chunksize = max(math.ceil(n / max(npartitions, 1)), 1)
    bounds = list(range(0, n, chunksize)) + [n]
    if sort and n:
        fixed = [0]
        for b in bounds[1:-1]:
            b = max(b, fixed[-1] + 1)
            while b < n and index[b - 1] == index[b]:
                b += 1
            if b < n and b > fixed[-1]:
                fixed.append(b)
        bounds = fixed + [n]
    return bounds


def from_pandas(data, npartitions: int | None = None, chunksize: int | None = None, sort: bool = True,
                name: str | None = None):
    """Split an in-memory pandas DataFrame or Series into a teem collection.

    Parameters
    ----------
    data:
        A pandas DataFrame or Series.
    npartitions, chunksize:
        How many partitions, or how many rows per partition (give one).
    sort:
        Sort by the index first, so that divisions are known (as Dask does).

    Returns
    -------
    DataFrame or Series

    Example
    -------
    >>> import pandas as pd, teem.dataframe as ddf
    >>> ddf.from_pandas(pd.DataFrame({"x": range(10)}), npartitions=3).npartitions
    3
    """
    from teem.dataframe.core import new_collection
    if not isinstance(data, (pd.DataFrame, pd.Series)):
        raise TypeError(f"from_pandas() takes a pandas DataFrame or Series, not {type(data).__name__}; "
                        "use from_dict() for a dict")
    if (npartitions is None) == (chunksize is None):
        raise ValueError("from_pandas() needs exactly one of npartitions= or chunksize=")
    if sort and not data.index.is_monotonic_increasing:
        data = data.sort_index()
    bounds = _row_bounds(data.index, npartitions, chunksize, sort)
    token = name or f"from_pandas-{tokenize(data, npartitions, chunksize, sort)}"
    layer = {}
    for i, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:])):
        layer[(token, i)] = DataNode((token, i), data.iloc[start:stop])
    if not layer:  # no rows: still one (empty) partition
        layer[(token, 0)] = DataNode((token, 0), data)
        bounds = [0, 0]
    if sort and len(data):
        divisions = tuple(data.index[b] for b in bounds[:-1]) + (data.index[-1],)
    else:
        divisions = (None,) * len(bounds)
    return new_collection(Graph(layer), token, empty_like(data), divisions)


def from_dict(data: dict, npartitions: int | None = None, orient: str = "columns", dtype=None,
              columns=None, chunksize: int | None = None, sort: bool = True):
    """A teem DataFrame from a dict of columns (``pandas.DataFrame.from_dict`` then ``from_pandas``)."""
    frame = pd.DataFrame.from_dict(data, orient=orient, dtype=dtype, columns=columns)
    return from_pandas(frame, npartitions=npartitions, chunksize=chunksize, sort=sort)


def _checked(part, meta):
    """The partition, after checking it has the declared columns (a clear error, not a wrong result)."""
    if isinstance(meta, pd.DataFrame):
        if not isinstance(part, pd.DataFrame):
            raise TypeError(f"from_delayed: a partition is a {type(part).__name__}, but meta says DataFrame")
        if list(part.columns) != list(meta.columns):
            raise ValueError(f"from_delayed: a partition has columns {list(part.columns)}, but meta has "
                             f"{list(meta.columns)}; make every delayed return the same columns")
    return part


def from_delayed(dfs: list, meta: Any = None, divisions: tuple | None = None, verify_meta: bool = True):
    """A collection whose partitions are the results of Delayed objects.

    Parameters
    ----------
    dfs:
        Delayed values each computing a pandas DataFrame (or Series).
    meta:
        The partitions' structure; when omitted the first Delayed is computed to find it.
    divisions:
        Known divisions, or None.
    """
    from teem.core.delayed import Delayed
    from teem.dataframe.core import new_collection
    dfs = [dfs] if isinstance(dfs, Delayed) else list(dfs)
    if not dfs or not all(isinstance(d, Delayed) for d in dfs):
        raise TypeError("from_delayed() takes a non-empty list of Delayed objects")
    meta = empty_like(dfs[0].compute()) if meta is None else make_meta(meta)
    name = f"from-delayed-{tokenize([d.key for d in dfs], meta)}"
    layer = {}
    for i, d in enumerate(dfs):
        key = (name, i)
        if verify_meta:
            layer[key] = Task(key, _checked, (Ref(d.key), meta), None, (d.key,))
        else:
            layer[key] = Task(key, _same, (Ref(d.key),), None, (d.key,))
    divisions = tuple(divisions) if divisions is not None else (None,) * (len(dfs) + 1)
    if len(divisions) != len(dfs) + 1:
        raise ValueError(f"from_delayed: {len(dfs)} partitions need {len(dfs) + 1} divisions, "
                         f"got {len(divisions)}")
    return new_collection(Graph(layer, tuple(d.__teem_graph__() for d in dfs)), name, meta, divisions)


def _same(x):
    return x
