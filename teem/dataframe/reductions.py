"""Reductions over partitions as trees: chunk -> combine -> aggregate.

Theory of operation
-------------------
A reduction is three plain functions of pandas values:

1. ``chunk(partition)`` makes a small partial result per partition (for a
   mean, ``(sum, count)``; for a variance, ``(n, mean, M2)``).  One task per
   partition, so several reductions over the same data in one ``compute``
   share the partitions' tasks: each file is read once.
2. ``combine(list_of_partials)`` merges up to ``split_every`` partials into
   one, level by level, so no task ever gathers all partitions.
3. ``aggregate(list_of_partials)`` merges the last ones and finishes the
   result (total / count, a square root, a sort).

Partials of a Series are numpy/Python scalars; those of a DataFrame are Series
indexed by column, so the same arithmetic serves both.  A partition without
rows gives ``None`` where its partial would distort the result's dtype (the
max of an empty int column is NaN, a float).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

from teem.core.graph import Graph, combine_levels
from teem.core.task import Ref, RefSeq, Task
from teem.core.tokenize import tokenize
from teem.dataframe.meta import MetaInferenceError, empty_like, is_pandas, nonempty

__all__ = ["tree_reduce", "reduce_frame", "length", "nunique", "value_counts", "unique",
           "DEFAULT_SPLIT_EVERY"]

DEFAULT_SPLIT_EVERY = 8


def _combine_step(combine: Callable, parts: list):
    return parts[0] if len(parts) == 1 else combine(parts)


def _aggregate_step(combine: Callable, aggregate: Callable, parts: list):
    return aggregate(parts[0] if len(parts) == 1 else combine(parts))


def tree_reduce(frame, chunk: Callable, combine: Callable, aggregate: Callable, meta: Any,
                name: str, split_every: int | None = None, token_args: tuple = ()):
    """A reduction of ``frame``'s partitions (see the module docstring).

    Returns a Scalar when ``meta`` is not a pandas object, else a one-partition
    DataFrame/Series.
    """
    from teem.dataframe.core import Scalar, new_collection
    split_every = max(int(split_every or DEFAULT_SPLIT_EVERY), 2)
    token = tokenize(frame._name, name, chunk, combine, aggregate, split_every, token_args)
    layer: dict = {}
    level = f"{name}-chunk-{token}"
    keys = []
    for i in range(frame.npartitions):
        key, src = (level, i), (frame._name, i)
        layer[key] = Task(key, chunk, (Ref(src),), None, (src,))
        keys.append(key)
    keys = combine_levels(layer, keys, split_every, lambda depth: f"{name}-combine{depth}-{token}",
                          _combine_step, combine)
    out_name = f"{name}-{token}"
    key = (out_name, 0)
    layer[key] = Task(key, _aggregate_step, (combine, aggregate, RefSeq(list, tuple(keys))), None,
                      tuple(keys))
    graph = Graph(layer, (frame._graph,))
    if is_pandas(meta):
        return new_collection(graph, out_name, empty_like(meta), (None, None))
    return Scalar(graph, out_name, meta)


# --- the partials ---------------------------------------------------------------------------


class _Simple:
    """min, max, sum, prod, count, any, all: the same method on partitions and on partials."""

    def __init__(self, how: str, kwargs: dict, empty):
        self.how, self.kwargs = how, kwargs
        self.empty = empty  # pandas' answer when no partition has rows

    def chunk(self, part):
        if self.how in ("min", "max") and len(part) == 0:
            return None  # NaN would turn an int result into a float
        return getattr(part, self.how)(**self.kwargs)

    def combine(self, parts: list):
        vals = [p for p in parts if p is not None]
        if not vals:
            return None
        if self.how == "count":
            return _sum(vals)
        how = {"count": "sum"}.get(self.how, self.how)
        kwargs = {k: v for k, v in self.kwargs.items() if k in ("skipna",)}
        return getattr(_stack(vals), how)(**kwargs)

    def aggregate(self, partial):
        return self.empty if partial is None else partial

    def __teem_tokenize__(self):
        return ("reduction", self.how, sorted(self.kwargs.items()))


def _sum(vals: list):
    total = vals[0]
    for v in vals[1:]:
        total = total + v
    return total


def _stack(vals: list):
    """Partials as one pandas object to reduce again: a Series of scalars, or a DataFrame of Series."""
    if isinstance(vals[0], pd.Series):
        return pd.DataFrame(vals)
    return pd.Series(vals)


class _Mean:
    def __init__(self, kwargs: dict):
        self.kwargs = kwargs

    def chunk(self, part):
        if part.ndim == 2 and self.kwargs.get("numeric_only"):
            part = part.select_dtypes(include=["number", "bool"])
        return part.sum(skipna=self.kwargs.get("skipna", True)), part.count(), len(part)

    def combine(self, parts):
        return (_sum([p[0] for p in parts]), _sum([p[1] for p in parts]), sum(p[2] for p in parts))

    def aggregate(self, partial):
        total, count, rows = partial
        if not self.kwargs.get("skipna", True):
            count = rows
        with np.errstate(all="ignore"):
            return total / count

    def __teem_tokenize__(self):
        return ("mean", sorted(self.kwargs.items()))


class _Var:
    """(n, mean, M2) per partition, merged with Chan et al.'s pairwise formula."""

    def __init__(self, ddof: int, sqrt: bool, kwargs: dict):
        self.ddof, self.sqrt, self.kwargs = ddof, sqrt, kwargs

    def chunk(self, part):
        if part.ndim == 2:
            x = part.select_dtypes(include=["number", "bool"]).astype("float64") \
                if self.kwargs.get("numeric_only") else part.astype("float64")
            n = x.count().astype("float64")
            with np.errstate(all="ignore"):
                mean = x.sum() / n
                m2 = ((x - mean) ** 2).sum()
            return n, mean.fillna(0.0), m2
        x = part.dropna().to_numpy(dtype="float64")
        n = float(len(x))
        mean = float(x.mean()) if n else 0.0
        return n, mean, float(((x - mean) ** 2).sum()) if n else 0.0

    def combine(self, parts):
        n, mean, m2 = parts[0]
        for nb, meanb, m2b in parts[1:]:
            total = n + nb
            with np.errstate(all="ignore"):
                delta = meanb - mean
                frac = _where_positive(total, nb / total)
                mean = mean + delta * frac
                m2 = m2 + m2b + delta * delta * n * frac
            n = total
        return n, mean, m2

    def aggregate(self, partial):
        n, _, m2 = partial
        with np.errstate(all="ignore"):
            var = m2 / (n - self.ddof)
            if isinstance(var, pd.Series):
                var[n - self.ddof <= 0] = np.nan
            elif n - self.ddof <= 0:
                var = np.float64(np.nan)
            var = np.float64(var) if not isinstance(var, pd.Series) else var
            return np.sqrt(var) if self.sqrt else var

    def __teem_tokenize__(self):
        return ("var", self.ddof, self.sqrt, sorted(self.kwargs.items()))


def _where_positive(total, value):
    if isinstance(total, pd.Series):
        return value.where(total > 0, 0.0)
    return value if total > 0 else 0.0


def _check_skipna(how: str, kwargs: dict) -> None:
    if kwargs.get("skipna") is False and how in ("var", "std"):
        raise NotImplementedError(f"{how}(skipna=False) is not supported; drop or fill missing values first")


def reduce_frame(frame, how: str, split_every: int | None = None, ddof: int = 1, **kwargs):
    """``frame.<how>()`` as a tree reduction: a Scalar for a Series, a Series for a DataFrame."""
    if kwargs.pop("min_count", 0):
        raise NotImplementedError("sum(min_count=...) is not supported; count() the values and "
                                  "compare instead")
    if frame.ndim == 1:
        kwargs.pop("numeric_only", None)
    _check_skipna(how, kwargs)
    fake = nonempty(frame._meta)
    method_kwargs = dict(kwargs, ddof=ddof) if how in ("var", "std") else kwargs
    try:
        with np.errstate(all="ignore"):
            meta = getattr(fake, how)(**method_kwargs)
    except TypeError as e:
        raise TypeError(f"{how}() of this {type(frame).__name__}: {e}; pass numeric_only=True to "
                        "reduce only the numeric columns") from e
    except Exception as e:  # noqa: BLE001
        raise MetaInferenceError(f"{how}() is not supported on this {type(frame).__name__}: {e}") from e
    if how in ("var", "std"):
        impl: Any = _Var(ddof, how == "std", kwargs)
    elif how == "mean":
        impl = _Mean(kwargs)
    elif how in ("sum", "prod", "min", "max", "count", "any", "all"):
        with np.errstate(all="ignore"):
            impl = _Simple(how, kwargs, getattr(frame._meta, how)(**kwargs))
    else:
        raise ValueError(f"unknown reduction {how!r}")
    return tree_reduce(frame, impl.chunk, impl.combine, impl.aggregate, meta, how, split_every,
                       (ddof,) if how in ("var", "std") else ())


# --- length, unique values, counts ------------------------------------------------------------


def _length_chunk(part) -> int:
    return len(part)


def _length_combine(parts: list) -> int:
    return sum(parts)


def _length_aggregate(total: int) -> int:
    return total


def length(frame):
    """The number of rows, as a Scalar (``len(df)`` computes it)."""
    return tree_reduce(frame, _length_chunk, _length_combine, _length_aggregate, 0, "len")


def _unique_chunk(part):
    if part.ndim == 2:
        return {c: part[c].drop_duplicates() for c in part.columns}
    return part.drop_duplicates()


def _unique_combine(parts: list):
    if isinstance(parts[0], dict):
        return {c: pd.concat([p[c] for p in parts]).drop_duplicates() for c in parts[0]}
    return pd.concat(parts).drop_duplicates()


class _Nunique:
    def __init__(self, dropna: bool):
        self.dropna = dropna

    def aggregate(self, partial):
        if isinstance(partial, dict):
            return pd.Series({c: v.nunique(dropna=self.dropna) for c, v in partial.items()}, dtype="int64")
        return partial.nunique(dropna=self.dropna)

    def __teem_tokenize__(self):
        return ("nunique", self.dropna)


def nunique(frame, dropna: bool = True, split_every: int | None = None):
    """Distinct values: a Scalar for a Series, a Series per column for a DataFrame."""
    meta = nonempty(frame._meta).nunique(dropna=dropna)
    return tree_reduce(frame, _unique_chunk, _unique_combine, _Nunique(dropna).aggregate, meta,
                       "nunique", split_every)


def _unique_aggregate(partial):
    return partial.reset_index(drop=True)


def unique(series, split_every: int | None = None):
    """The distinct values, in order of first appearance, as a one-partition Series."""
    meta = series._meta.reset_index(drop=True)
    return tree_reduce(series, _unique_chunk, _unique_combine, _unique_aggregate, meta, "unique",
                       split_every)


class _ValueCounts:
    def __init__(self, sort: bool, ascending: bool, dropna: bool, normalize: bool):
        self.sort, self.ascending, self.dropna, self.normalize = sort, ascending, dropna, normalize

    def chunk(self, part):
        return part.value_counts(dropna=self.dropna, sort=False)

    def combine(self, parts):
        joined = pd.concat(parts)
        return joined.groupby(level=0, dropna=self.dropna, sort=False).sum()

    def aggregate(self, counts):
        if self.normalize:
            counts = (counts / counts.sum()).rename("proportion")
        if self.sort:
            counts = counts.sort_values(ascending=self.ascending, kind="stable")
        return counts

    def __teem_tokenize__(self):
        return ("value_counts", self.sort, self.ascending, self.dropna, self.normalize)


def value_counts(series, sort: bool = True, ascending: bool = False, dropna: bool = True,
                 normalize: bool = False, split_every: int | None = None):
    """Counts of each distinct value, as a one-partition Series (like pandas' ``value_counts``)."""
    impl = _ValueCounts(sort, ascending, dropna, normalize)
    meta = nonempty(series._meta).value_counts(normalize=normalize)
    return tree_reduce(series, impl.chunk, impl.combine, impl.aggregate, meta, "value-counts",
                       split_every)

