"""The collections: DataFrame, Series and Index of pandas partitions, and Scalar.

A partitioned collection is a :class:`~teem.core.graph.Graph` whose task
``(name, i)`` computes partition ``i`` (a pandas object), plus

- ``_meta``: an empty pandas object with the partitions' columns and dtypes,
  used to know the result of every operation without computing anything;
- ``divisions``: ``npartitions + 1`` index values bounding the partitions
  (partition ``i`` holds index values in ``[divisions[i], divisions[i+1])``,
  the last one closed), or all ``None`` when unknown.

A :class:`Scalar` is one task ``(name, 0)`` (a reduction's result).
Operations build graphs only; ``compute()`` runs them and concatenates the
partitions.  The methods here are thin; the work is in sibling modules.
"""

from __future__ import annotations

import operator
from typing import Any

import numpy as np
import pandas as pd

from teem.core.base import compute, persist
from teem.core.graph import Graph
from teem.core.task import Ref, Task
from teem.core.tokenize import tokenize
from teem.dataframe.partitionwise import NO_META, collection_token, map_partitions, partitionwise

__all__ = ["Frame", "DataFrame", "Series", "Index", "Scalar", "new_collection"]


def new_collection(graph: Graph, name: str, meta: Any, divisions: tuple):
    """The collection type matching ``meta``: DataFrame, Series or Index."""
    if isinstance(meta, pd.DataFrame):
        return DataFrame(graph, name, meta, divisions)
    if isinstance(meta, pd.Series):
        return Series(graph, name, meta, divisions)
    if isinstance(meta, pd.Index):
        return Index(graph, name, meta, divisions)
    raise TypeError(f"a partitioned collection needs pandas partitions, not {type(meta).__name__}")


def _concat(parts: list):
    """The partitions joined into one pandas object (``compute``'s last step)."""
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], pd.Index):
        return parts[0].append(list(parts[1:]))
    from teem.dataframe.categorical import concat_categoricals
    return pd.concat(concat_categoricals(parts))  # partitions' own categories joined, not object


def _rebuild(graph: Graph, name: str, meta: Any, divisions: tuple):
    return new_collection(graph, name, meta, divisions)


def _optimize(graph: dict, keys: list) -> dict:
    from teem.dataframe.optimize import optimize
    return optimize(graph, keys)


class Frame:
    """What DataFrame, Series and Index share: partitions, meta, divisions, computing."""

    __slots__ = ("_graph", "_name", "_meta", "_divisions", "__weakref__")
    __teem_scheduler__ = "threads"
    __teem_optimize__ = staticmethod(_optimize)
    _kind = "Frame"

    def __init__(self, graph: Graph, name: str, meta: Any, divisions: tuple):
        self._graph = graph
        self._name = name
        self._meta = meta
        self._divisions = tuple(divisions)

    # --- collection protocol ---
    def __teem_graph__(self) -> Graph:
        return self._graph

    def __teem_keys__(self) -> list:
        return [(self._name, i) for i in range(self.npartitions)]

    def __teem_postcompute__(self):
        return _concat, ()

    def __teem_postpersist__(self):
        return _rebuild, (self._name, self._meta, self._divisions)

    def __teem_tokenize__(self):
        return ("teem.dataframe", self._name)

    # --- structure ---
    @property
    def npartitions(self) -> int:
        return len(self._divisions) - 1

    @property
    def divisions(self) -> tuple:
        return self._divisions

    @property
    def known_divisions(self) -> bool:
        return len(self._divisions) > 0 and self._divisions[0] is not None

    @property
    def name(self):
        return self._meta.name

    @property
    def ndim(self) -> int:
        return self._meta.ndim

    @property
    def dask(self) -> dict:
        """The task graph as a dict of key -> task."""
        return self._graph.to_dict()

    def __teem_layer_name__(self) -> str:
        return self._name

    def __hash__(self):
        return hash(self._name)

    def __bool__(self):
        raise ValueError(f"the truth value of a teem {self._kind} is ambiguous and not known until "
                         "it is computed; compute it first (and use .any()/.all() for reductions)")

    def __len__(self) -> int:
        from teem.dataframe.reductions import length
        return int(length(self).compute())

    def _repr_structure(self) -> str:
        index = [f"{d}" for d in self._divisions] if self.known_divisions else [""] * len(self._divisions)
        return index

    # --- computing ---
    def compute(self, **kwargs: Any):
        """Compute the pandas object; keyword arguments as for :func:`teem.compute`."""
        return compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any):
        """Compute the partitions and return a collection whose graph holds them."""
        return persist(self, **kwargs)[0]

    def visualize(self, filename: str | None = "mydask", format: str | None = None, **kwargs):
        from teem.core.visualize import visualize
        return visualize(self, filename=filename, format=format, **kwargs)

    def to_delayed(self) -> list:
        """One Delayed per partition."""
        from teem.core.delayed import Delayed
        return [Delayed((self._name, i), {}, (self._graph,)) for i in range(self.npartitions)]

    def get_partition(self, n: int):
        """The collection made of partition ``n`` alone."""
        if not 0 <= n < self.npartitions:
            raise IndexError(f"partition {n} out of range: this {self._kind} has {self.npartitions}")
        name = f"get-partition-{tokenize(self._name, n)}"
        key = (name, 0)
        layer = {key: Task(key, _same, (Ref((self._name, n)),), None, ((self._name, n),))}
        return new_collection(Graph(layer, (self._graph,)), name, self._meta,
                              self._divisions[n:n + 2])

    @property
    def partitions(self):
        """``df.partitions[i]``: the collection made of partition ``i``."""
        return _PartitionView(self)

    def head(self, n: int = 5, npartitions: int = 1, compute: bool = True):
        """The first ``n`` rows, read from the first ``npartitions`` partitions only.

        ``npartitions=-1`` looks at all partitions (when the first ones are short).
        """
        from teem.dataframe.manipulation import head
        return head(self, n, npartitions, compute)

    def tail(self, n: int = 5, npartitions: int = 1, compute: bool = True):
        """The last ``n`` rows, read from the last ``npartitions`` partitions only (-1: all)."""
        from teem.dataframe.manipulation import tail
        return tail(self, n, npartitions, compute)

    def map_partitions(self, func, *args, **kwargs):
        """``func(partition, *args, **kwargs)`` on every partition; see :func:`map_partitions`."""
        return map_partitions(func, self, *args, **kwargs)

    @property
    def loc(self):
        """Label-based rows (and columns): only partitions that may hold the labels are read."""
        from teem.dataframe.indexing import LocIndexer
        return LocIndexer(self)

    @property
    def iloc(self):
        """Columns by position: ``df.iloc[:, [0, 2]]`` (rows by position raise NotImplementedError)."""
        from teem.dataframe.indexing import ILocIndexer
        return ILocIndexer(self)

    def sort_values(self, by=None, ascending=True, na_position: str = "last", npartitions: int | None = None,
                    shuffle_method: str | None = None):
        """Rows sorted by ``by`` (stable, as pandas): sampled ranges of the first key, then a shuffle
        (``shuffle_method='disk'`` spills the pieces to files)."""
        from teem.dataframe.sorting import sort_values
        return sort_values(self, by, ascending=ascending, na_position=na_position, npartitions=npartitions,
                           shuffle_method=shuffle_method)

    def repartition(self, npartitions: int | None = None, divisions=None):
        """Fewer or more partitions (``npartitions=``), or new known ``divisions=``."""
        from teem.dataframe.repartition import repartition
        return repartition(self, npartitions=npartitions, divisions=divisions)

    def drop_duplicates(self, subset=None, keep="first", ignore_index: bool = False,
                        split_every: int | None = None, split_out: int | None = None):
        """Rows without repeats: ``keep='first'``, ``'last'`` or False (drop every repeated row).
        One output partition in pandas' order, or ``split_out=M`` hash-shuffled partitions."""
        from teem.dataframe.distinct import drop_duplicates
        return drop_duplicates(self, subset=subset, keep=keep, ignore_index=ignore_index,
                               split_every=split_every, split_out=split_out)

    def quantile(self, q=0.5, numeric_only: bool = False):
        """Quantiles with linear interpolation: exact up to a million values per column, then
        from merged sorted samples (see :mod:`teem.dataframe.summaries`)."""
        from teem.dataframe.summaries import quantile
        return quantile(self, q, numeric_only=numeric_only)

    def describe(self, percentiles=None, include=None, exclude=None):
        """Count, mean, std, min, quantiles and max (or count, unique, top, freq), as pandas."""
        from teem.dataframe.describe import describe
        return describe(self, percentiles=percentiles, include=include, exclude=exclude)

    # --- writing (teem.dataframe.io) ---
    def to_csv(self, filename: str, **kwargs):
        """CSV files, one per partition (or ``single_file=True``); see :func:`teem.dataframe.to_csv`."""
        from teem.dataframe.io.write import to_csv
        return to_csv(self, filename, **kwargs)

    def to_json(self, url_path: str, **kwargs):
        """JSON files, one per partition; see :func:`teem.dataframe.to_json`."""
        from teem.dataframe.io.write import to_json
        return to_json(self, url_path, **kwargs)

    def to_parquet(self, path: str, **kwargs):
        """Parquet files ``path/part.<i>.parquet`` (or hive folders with ``partition_on=``); see
        :func:`teem.dataframe.to_parquet`."""
        from teem.dataframe.io.parquet_write import to_parquet
        return to_parquet(self, path, **kwargs)

    # --- elementwise ---
    def astype(self, dtype):
        """Values as ``dtype`` (``'category'``: every partition makes its own categories, so the
        result's categories are unknown until ``.cat.as_known()``)."""
        from teem.dataframe.categorical import with_unknown_categories
        from teem.dataframe.meta import infer_meta
        meta = with_unknown_categories(infer_meta(_astype, (self, dtype), {}, "astype"), dtype)
        return partitionwise(_astype, self, dtype, meta=meta, name="astype")

    def fillna(self, value=None, **kwargs):
        return partitionwise(_method("fillna"), self, value, name="fillna", **kwargs)

    def isna(self):
        return partitionwise(_method("isna"), self, name="isna")

    isnull = isna

    def notna(self):
        return partitionwise(_method("notna"), self, name="notna")

    notnull = notna

    def isin(self, values):
        if isinstance(values, (Frame, Scalar)):
            raise NotImplementedError("isin(values) takes a list, set or array, not a teem collection; "
                                      "compute the values first")
        return partitionwise(_method("isin"), self, list(values) if isinstance(values, set) else values,
                             name="isin")

    def where(self, cond, other=np.nan):
        return partitionwise(_method("where"), self, cond, other, name="where")

    def mask(self, cond, other=np.nan):
        return partitionwise(_method("mask"), self, cond, other, name="mask")

    def abs(self):
        return partitionwise(operator.abs, self, name="abs")

    def round(self, decimals: int = 0):
        return partitionwise(_method("round"), self, decimals, name="round")

    def clip(self, lower=None, upper=None):
        return partitionwise(_method("clip"), self, lower, upper, name="clip")

    def between(self, left, right, inclusive: str = "both"):
        return partitionwise(_method("between"), self, left, right, inclusive, name="between")

    def copy(self):
        return self  # immutable

    # --- reductions (trees; see teem.dataframe.reductions) ---
    def _reduce(self, how: str, **kwargs):
        from teem.dataframe.reductions import reduce_frame
        return reduce_frame(self, how, **kwargs)

    def sum(self, skipna: bool = True, numeric_only: bool = False, min_count: int = 0,
            split_every: int | None = None):
        return self._reduce("sum", skipna=skipna, numeric_only=numeric_only, min_count=min_count,
                            split_every=split_every)

    def prod(self, skipna: bool = True, numeric_only: bool = False, split_every: int | None = None):
        return self._reduce("prod", skipna=skipna, numeric_only=numeric_only, split_every=split_every)

    def min(self, skipna: bool = True, numeric_only: bool = False, split_every: int | None = None):
        return self._reduce("min", skipna=skipna, numeric_only=numeric_only, split_every=split_every)

    def max(self, skipna: bool = True, numeric_only: bool = False, split_every: int | None = None):
        return self._reduce("max", skipna=skipna, numeric_only=numeric_only, split_every=split_every)

    def any(self, skipna: bool = True, split_every: int | None = None):
        return self._reduce("any", skipna=skipna, split_every=split_every)

    def all(self, skipna: bool = True, split_every: int | None = None):
        return self._reduce("all", skipna=skipna, split_every=split_every)

    def count(self, numeric_only: bool = False, split_every: int | None = None):
        return self._reduce("count", numeric_only=numeric_only, split_every=split_every)

    def mean(self, skipna: bool = True, numeric_only: bool = False, split_every: int | None = None):
        return self._reduce("mean", skipna=skipna, numeric_only=numeric_only, split_every=split_every)

    def var(self, ddof: int = 1, skipna: bool = True, numeric_only: bool = False,
            split_every: int | None = None):
        return self._reduce("var", ddof=ddof, skipna=skipna, numeric_only=numeric_only,
                            split_every=split_every)

    def std(self, ddof: int = 1, skipna: bool = True, numeric_only: bool = False,
            split_every: int | None = None):
        return self._reduce("std", ddof=ddof, skipna=skipna, numeric_only=numeric_only,
                            split_every=split_every)

    def nunique(self, dropna: bool = True, split_every: int | None = None):
        from teem.dataframe.reductions import nunique
        return nunique(self, dropna=dropna, split_every=split_every)

    @property
    def shape(self) -> tuple:
        from teem.dataframe.reductions import length
        n = length(self)
        return (n,) if self.ndim == 1 else (n, len(self._meta.columns))

    @property
    def size(self):
        from teem.dataframe.reductions import length
        n = length(self)
        return n if self.ndim == 1 else n * len(self._meta.columns)

    # --- repr ---
    def __repr__(self) -> str:
        from teem.dataframe.display import frame_repr
        return frame_repr(self)


class _PartitionView:
    __slots__ = ("_frame",)

    def __init__(self, frame: Frame):
        self._frame = frame

    def __getitem__(self, i: int):
        n = self._frame.npartitions
        if isinstance(i, slice):
            parts = [self._frame.get_partition(j) for j in range(n)[i]]
            from teem.dataframe.manipulation import concat
            return concat(parts)
        return self._frame.get_partition(i % n if i < 0 else i)

    def __len__(self) -> int:
        return self._frame.npartitions


def _same(x):
    return x


def _astype(part, dtype):
    return part.astype(dtype)


class _MethodCall:
    """Calls method ``name`` of its first argument; module-level so it pickles by name."""

    __slots__ = ("method",)

    def __new__(cls, name: str):
        self = object.__new__(cls)
        self.method = name
        return self

    def __call__(self, obj, *args, **kwargs):
        return getattr(obj, self.method)(*args, **kwargs)

    def __reduce__(self):
        return _MethodCall, (self.method,)

    def __teem_tokenize__(self):
        return ("method", self.method)

    def __eq__(self, other):
        return type(other) is _MethodCall and other.method == self.method

    def __hash__(self):
        return hash(("teem-method", self.method))

    @property
    def __name__(self) -> str:
        return self.method


def _method(name: str) -> _MethodCall:
    """A picklable, tokenizable ``lambda obj, *a, **k: obj.<name>(*a, **k)``."""
    return _MethodCall(name)


# --- Series --------------------------------------------------------------------------------


class Series(Frame):
    """A partitioned pandas Series (``teem.dataframe.Series``)."""

    __slots__ = ()
    _kind = "Series"

    @property
    def dtype(self):
        return self._meta.dtype

    @property
    def index(self) -> "Index":
        return partitionwise(_index_of, self, name="index")

    @property
    def str(self):
        from teem.dataframe.accessors import StringAccessor
        return StringAccessor(self)

    @property
    def dt(self):
        from teem.dataframe.accessors import DatetimeAccessor
        return DatetimeAccessor(self)

    @property
    def cat(self):
        """Categories, codes, ``as_known()``, ``as_ordered()``...; see :mod:`teem.dataframe.categorical`."""
        from teem.dataframe.categorical import CategoricalAccessor
        return CategoricalAccessor(self)

    def rename(self, name):
        return partitionwise(_method("rename"), self, name, name="rename")

    def to_frame(self, name=None):
        args = () if name is None else (name,)
        return partitionwise(_method("to_frame"), self, *args, name="to-frame")

    def map(self, arg, na_action=None, meta: Any = NO_META):
        return map_partitions(_method("map"), self, arg, na_action, meta=meta, token="map")

    def apply(self, func, args: tuple = (), meta: Any = NO_META, **kwargs):
        """``func`` on every value (as pandas' Series.apply); pass ``meta=(name, dtype)`` to skip
        inference."""
        return map_partitions(_method("apply"), self, func, args=args, meta=meta, token="apply", **kwargs)

    def value_counts(self, sort: bool = True, ascending: bool = False, dropna: bool = True,
                     normalize: bool = False, split_every: int | None = None):
        from teem.dataframe.reductions import value_counts
        return value_counts(self, sort=sort, ascending=ascending, dropna=dropna, normalize=normalize,
                            split_every=split_every)

    def unique(self, split_every: int | None = None):
        from teem.dataframe.reductions import unique
        return unique(self, split_every=split_every)

    def dropna(self):
        return partitionwise(_method("dropna"), self, name="dropna")

    def groupby(self, by, **kwargs):
        from teem.dataframe.groupby import SeriesGroupBy
        return SeriesGroupBy(self, by, **kwargs)

    def nlargest(self, n: int = 5, keep: str = "first", split_every: int | None = None):
        """The ``n`` largest values (a tree reduction)."""
        from teem.dataframe.summaries import nlargest
        return nlargest(self, n, None, keep, "nlargest", split_every)

    def nsmallest(self, n: int = 5, keep: str = "first", split_every: int | None = None):
        """The ``n`` smallest values (a tree reduction)."""
        from teem.dataframe.summaries import nlargest
        return nlargest(self, n, None, keep, "nsmallest", split_every)

    def __getitem__(self, key):
        if isinstance(key, (Series, Index)):
            return partitionwise(_filter, self, key, name="filter")
        raise NotImplementedError("Series[...] takes a boolean Series (a filter); use .loc for labels")


def _index_of(part):
    return part.index


def _filter(part, mask):
    return part[mask]


def _project(frame, columns):
    return frame[columns]


# --- DataFrame -----------------------------------------------------------------------------


class DataFrame(Frame):
    """A partitioned pandas DataFrame (``teem.dataframe.DataFrame``).

    Example
    -------
    >>> import pandas as pd, teem.dataframe as ddf
    >>> df = ddf.from_pandas(pd.DataFrame({"a": range(6)}), npartitions=2)
    >>> int(df.a.sum().compute())
    15
    """

    __slots__ = ()
    _kind = "DataFrame"

    @property
    def columns(self) -> pd.Index:
        return self._meta.columns

    @property
    def dtypes(self) -> pd.Series:
        return self._meta.dtypes

    @property
    def index(self) -> "Index":
        return partitionwise(_index_of, self, name="index")

    @property
    def name(self):
        raise AttributeError("a DataFrame has no name; its columns are .columns")

    def __getattr__(self, attr: str):
        if not attr.startswith("_"):
            try:
                meta = object.__getattribute__(self, "_meta")
            except AttributeError:
                meta = None
            if meta is not None and attr in meta.columns:
                return self[attr]
        raise AttributeError(f"'DataFrame' object has no attribute {attr!r}")

    def __dir__(self):
        return sorted(set(super().__dir__()) | {c for c in self._meta.columns if isinstance(c, str)})

    def __getitem__(self, key):
        if isinstance(key, (Series, Index)):
            return partitionwise(_filter, self, key, name="filter")
        if isinstance(key, (list, pd.Index, np.ndarray)):
            key = list(key)
            missing = [k for k in key if k not in self._meta.columns]
            if missing:
                raise KeyError(f"columns {missing} are not in this DataFrame; it has {list(self.columns)}")
            return partitionwise(_project, self, key, meta=self._meta[key], name="getitem")
        if isinstance(key, slice):
            raise NotImplementedError("row slices of a teem DataFrame are not supported; use .head(), "
                                      ".partitions[...] or a boolean filter")
        if key not in self._meta.columns:
            raise KeyError(f"column {key!r} is not in this DataFrame; it has {list(self.columns)}")
        return partitionwise(_project, self, key, meta=self._meta[key], name="getitem")

    def __setitem__(self, key, value):
        raise TypeError(f"teem DataFrames are immutable; use df = df.assign(**{{{key!r}: value}}) "
                        "instead of df[key] = value")

    def assign(self, **kwargs):
        """New columns (values, Series aligned partition by partition, or callables of the frame)."""
        out = self
        for column, value in kwargs.items():
            if callable(value) and not isinstance(value, (Frame, Scalar)):
                value = value(out)
            out = partitionwise(_assign, out, column, value, name="assign")
        return out

    def drop(self, labels=None, axis: int = 0, columns=None, errors: str = "raise"):
        if columns is None and axis in (1, "columns"):
            columns = labels
        if columns is None:
            raise NotImplementedError("drop() of rows is not supported; drop columns with columns=")
        return partitionwise(_method("drop"), self, columns=columns, errors=errors, name="drop")

    def rename(self, columns=None, **kwargs):
        return partitionwise(_method("rename"), self, columns=columns, name="rename", **kwargs)

    def dropna(self, how: str = "any", subset=None, thresh=None):
        kw = {"subset": subset}
        kw.update({"thresh": thresh} if thresh is not None else {"how": how})
        return partitionwise(_method("dropna"), self, name="dropna", **kw)

    def apply(self, func, axis: int = 1, args: tuple = (), meta: Any = NO_META, **kwargs):
        """``func`` on every row (``axis=1``), as pandas' ``DataFrame.apply``; pass ``meta=``."""
        if axis not in (1, "columns"):
            raise NotImplementedError("DataFrame.apply works row by row only (axis=1); use "
                                      "map_partitions or reductions for columns")
        return map_partitions(_method("apply"), self, func, axis=1, args=args, meta=meta, token="apply",
                              **kwargs)

    def groupby(self, by, **kwargs):
        from teem.dataframe.groupby import DataFrameGroupBy
        return DataFrameGroupBy(self, by, **kwargs)

    # --- joining and reordering rows (teem.dataframe.join, teem.dataframe.sorting) ---
    def set_index(self, other, drop: bool = True, sorted: bool = False, divisions=None,
                  npartitions: int | None = None, shuffle_method: str | None = None):
        """Index by a column: sorted, with known divisions (sampled, then a range shuffle;
        ``shuffle_method='disk'`` spills the pieces to files)."""
        from teem.dataframe.sorting import set_index
        return set_index(self, other, drop=drop, sorted=sorted, divisions=divisions, npartitions=npartitions,
                         shuffle_method=shuffle_method)

    def shuffle(self, on, npartitions: int | None = None, shuffle_method: str | None = None):
        """Rows regrouped so that equal values of ``on`` (a column or list) share a partition
        (a hash shuffle; divisions become unknown)."""
        from teem.dataframe.shuffle import HashSplitter, shuffle
        keys = [on] if not isinstance(on, (list, tuple)) else list(on)
        missing = [k for k in keys if k not in self._meta.columns]
        if missing:
            raise KeyError(f"shuffle: {missing} are not columns; the columns are {list(self.columns)}")
        return shuffle(self, HashSplitter(keys, npartitions or self.npartitions), name="shuffle",
                       method=shuffle_method)

    def nlargest(self, n: int = 5, columns=None, keep: str = "first", split_every: int | None = None):
        """The ``n`` rows with the largest ``columns`` (a tree reduction)."""
        from teem.dataframe.summaries import nlargest
        return nlargest(self, n, columns, keep, "nlargest", split_every)

    def nsmallest(self, n: int = 5, columns=None, keep: str = "first", split_every: int | None = None):
        """The ``n`` rows with the smallest ``columns`` (a tree reduction)."""
        from teem.dataframe.summaries import nlargest
        return nlargest(self, n, columns, keep, "nsmallest", split_every)

    def merge(self, right, how: str = "inner", on=None, left_on=None, right_on=None,
              left_index: bool = False, right_index: bool = False, suffixes=("_x", "_y"), **kwargs):
        """Join with ``right`` on columns or indexes, as :func:`pandas.merge`; see
        :func:`teem.dataframe.merge`."""
        from teem.dataframe.join import merge
        return merge(self, right, how=how, on=on, left_on=left_on, right_on=right_on,
                     left_index=left_index, right_index=right_index, suffixes=suffixes, **kwargs)

    def join(self, other, on=None, how: str = "left", lsuffix: str = "", rsuffix: str = "",
             suffixes=None, **kwargs):
        """Join ``other`` by its index, to this frame's index or its ``on`` column(s) (pandas' join;
        ``suffixes=(l, r)`` or the older ``lsuffix=``/``rsuffix=``)."""
        from teem.dataframe.join import merge
        return merge(self, other, how=how, left_on=on, left_index=on is None, right_index=True,
                     suffixes=tuple(suffixes) if suffixes is not None else (lsuffix, rsuffix), **kwargs)


def _assign(frame, column, value):
    return frame.assign(**{column: value})


# --- Index ---------------------------------------------------------------------------------


class Index(Frame):
    """A partitioned pandas Index (``df.index``).

    Comparisons give a boolean Index per partition (pandas gives a numpy array), usable as a
    filter: ``df[df.index > 5]``.
    """

    __slots__ = ()
    _kind = "Index"

    @property
    def dtype(self):
        return self._meta.dtype


# --- Scalar --------------------------------------------------------------------------------


class Scalar:
    """One value computed by a graph (the result of a reduction)."""

    __slots__ = ("_graph", "_name", "_meta", "__weakref__")
    __teem_scheduler__ = "threads"
    __teem_optimize__ = staticmethod(_optimize)

    def __init__(self, graph: Graph, name: str, meta: Any):
        self._graph = graph
        self._name = name
        self._meta = meta

    @property
    def key(self) -> tuple:
        return (self._name, 0)

    @property
    def dtype(self):
        return getattr(self._meta, "dtype", np.dtype(type(self._meta)) if self._meta is not None else None)

    def __teem_graph__(self) -> Graph:
        return self._graph

    def __teem_keys__(self) -> tuple:
        return self.key

    def __teem_postcompute__(self):
        return _same, ()

    def __teem_postpersist__(self):
        return _rebuild_scalar, (self._name, self._meta)

    def __teem_tokenize__(self):
        return ("teem.Scalar", self._name)

    def compute(self, **kwargs: Any):
        """Compute the value; keyword arguments as for :func:`teem.compute`."""
        return compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any) -> "Scalar":
        return persist(self, **kwargs)[0]

    def to_delayed(self):
        from teem.core.delayed import Delayed
        return Delayed(self.key, {}, (self._graph,))

    @property
    def dask(self) -> dict:
        return self._graph.to_dict()

    def __repr__(self) -> str:
        return f"teem.dataframe.Scalar<{self._name.rsplit('-', 1)[0]}, dtype={self.dtype}>"

    def __bool__(self):
        raise TypeError("the truth value of a teem Scalar is not known until it is computed; "
                        "call .compute() first")

    def __hash__(self):
        return hash(self._name)


def _rebuild_scalar(graph: Graph, name: str, meta: Any) -> Scalar:
    return Scalar(graph, name, meta)


def scalar_op(op, *args) -> Any:
    """``op(*args)`` where args are Scalars and plain values: a new Scalar."""
    deps, graphs = [], []
    targs = []
    for a in args:
        if isinstance(a, Scalar):
            deps.append(a.key)
            graphs.append(a._graph)
            targs.append(Ref(a.key))
        else:
            targs.append(a)
    with np.errstate(all="ignore"):
        meta = op(*[a._meta if isinstance(a, Scalar) else a for a in args])
    name = f"{getattr(op, '__name__', 'op')}-{tokenize(op, [collection_token(a) for a in args])}"
    key = (name, 0)
    return Scalar(Graph({key: Task(key, op, tuple(targs), None, tuple(dict.fromkeys(deps)))}, tuple(graphs)),
                  name, meta)


from teem.dataframe import operators as _operators  # noqa: E402,F401  installs the operators
