"""set_index and sort_values: sampled divisions, then a range shuffle.

Theory of operation
-------------------
1. **Divisions.**  Unless given, they come from a sample of the key: every
   partition keeps up to ``SAMPLES`` of its non-missing key values at evenly
   spaced ranks, each weighing ``rows / samples``, plus its min and max (a tree
   reduction, computed now, as Dask does).  The merged, weighted sample gives
   the ``M - 1`` boundaries at cumulative weights ``j / M``; repeated
   boundaries are dropped (a very common key cannot be split).
2. **Shuffle.**  A :class:`~teem.dataframe.shuffle.RangeSplitter` sends each
   row to the range holding its key (:mod:`teem.dataframe.shuffle`; missing
   keys go to the last partition, or the first with ``na_position='first'``).
   Categorical keys are ordered by their categories (as pandas sorts them,
   ordered or not), in the sample and in the splitter alike.
3. **Finish.**  Each output partition is sorted stably (``set_index``: by
   the new index; ``sort_values``: by all keys), and pieces arrive in input
   order, so the result equals pandas' stable sort.  ``set_index`` knows its
   divisions ``(min, boundaries..., max)``; ``sort_values`` leaves the index
   as it was (divisions unknown).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from teem.core.base import compute
from teem.dataframe.partitionwise import partitionwise
from teem.dataframe.reductions import tree_reduce
from teem.dataframe.shuffle import RangeSplitter, shuffle

__all__ = ["set_index", "sort_values", "sample_divisions"]

SAMPLES = 128


class _Sampler:
    """The tree reduction behind :func:`sample_divisions`."""

    def __init__(self, column: Any):
        self.column = column

    def chunk(self, part):
        values = part if isinstance(part, pd.Series) else part[self.column]
        values = values.dropna().sort_values(kind="stable").reset_index(drop=True)
        n = len(values)
        if n == 0:
            return None
        take = np.unique(np.linspace(0, n - 1, min(n, SAMPLES)).round().astype(np.intp))
        return values.iloc[take].reset_index(drop=True), np.full(len(take), n / len(take))

    def combine(self, parts: list):
        parts = [p for p in parts if p is not None]
        if not parts:
            return None
        values = pd.concat([p[0] for p in parts], ignore_index=True)
        weights = np.concatenate([p[1] for p in parts])
        order = values.array.argsort(kind="stable")  # the values' own order: categories by their order
        return values.iloc[order].reset_index(drop=True), weights[order]

    def aggregate(self, partial):
        return partial

    def __teem_tokenize__(self):
        return ("sampler", self.column, SAMPLES)


def sample_divisions(frame, column: Any, npartitions: int) -> list:
    """Divisions ``[min, boundaries..., max]`` for ``npartitions`` ranges of ``column`` (None if
    the column has no values), from a weighted sample of every partition."""
    sampler = _Sampler(column)
    reduction = tree_reduce(frame, sampler.chunk, sampler.combine, sampler.aggregate, None,
                            "sample-divisions")
    (partial,) = compute(reduction)
    if partial is None:
        return []
    values, weights = partial
    cumulative = np.cumsum(weights)
    total = cumulative[-1]
    targets = total * np.arange(1, npartitions) / npartitions
    picks = np.minimum(np.searchsorted(cumulative, targets, side="left"), len(values) - 1)
    low, high = values.iloc[0], values.iloc[-1]
    # values are sorted (in their own order: a categorical's is its categories'), so the picks are
    # too; drop repeats and the minimum, comparing for equality only
    inner: list = []
    for b in values.iloc[picks].tolist() if len(picks) else []:
        if b != low and (not inner or b != inner[-1]):
            inner.append(b)
    return [low, *inner, high]


def _set_index_and_sort(part, column, drop: bool):
    return part.set_index(column, drop=drop).sort_index(kind="stable")


def _sort_part(part, by, ascending, na_position: str):
    if isinstance(part, pd.Series):
        return part.sort_values(ascending=ascending, na_position=na_position, kind="stable")
    return part.sort_values(by, ascending=ascending, na_position=na_position, kind="stable")


def _set_index_part(part, column, drop: bool):
    return part.set_index(column, drop=drop)


def set_index(frame, column: Any, drop: bool = True, sorted: bool = False, divisions: Any = None,
              npartitions: int | None = None, shuffle_method: str | None = None):
    """``frame`` indexed by ``column``, sorted, with known divisions (see the module docstring).

    Parameters
    ----------
    column:
        A column name.
    drop:
        Remove the column from the data (pandas' default).
    sorted:
        The column is already sorted across partitions: no shuffle, only the
        partitions' bounds are computed.
    divisions:
        The output divisions, ascending (skips the sampling).
    npartitions:
        Partitions of the output (default: as many as the input).
    shuffle_method:
        ``'tasks'`` (pieces in memory) or ``'disk'`` (pieces spilled to files); see
        :mod:`teem.dataframe.shuffle`.
    """
    from teem.dataframe.core import Frame
    if isinstance(column, Frame):
        raise NotImplementedError("set_index() of a teem Series is not supported; assign it as a "
                                  "column first: df.assign(key=series).set_index('key')")
    if isinstance(column, (list, tuple)):
        raise NotImplementedError("set_index() of several columns (a MultiIndex) is not supported")
    if column not in frame._meta.columns:
        raise KeyError(f"set_index: {column!r} is not a column; the columns are {list(frame.columns)}")
    meta = frame._meta.set_index(column, drop=drop)
    if sorted:
        out = partitionwise(_set_index_part, frame, column, drop, meta=meta, name="set-index")
        if divisions is None:
            divisions = _sorted_divisions(out)
        return _with_divisions(out, tuple(divisions))
    if divisions is None:
        divisions = sample_divisions(frame, column, npartitions or frame.npartitions)
        if not divisions:  # no values at all: nothing to range-partition
            return _with_divisions(partitionwise(_set_index_part, frame, column, drop, meta=meta,
                                                 name="set-index"), (None,) * (frame.npartitions + 1))
    divisions = list(divisions)
    if not _ascending(divisions, frame._meta[column].dtype):
        raise ValueError(f"set_index(divisions=...) must be ascending, got {divisions[:5]}...")
    splitter = RangeSplitter(column, divisions[1:-1])
    return shuffle(frame, splitter, finish=_Finish(_set_index_and_sort, column, drop), name="set-index",
                   divisions=tuple(divisions), meta=meta, method=shuffle_method)


def _ascending(values: list, dtype) -> bool:
    """Whether ``values`` ascend in the order of ``dtype`` (a categorical's: its categories')."""
    index = pd.Index(values)
    if isinstance(dtype, pd.CategoricalDtype):
        index = index.astype(dtype)
    return index.is_monotonic_increasing


class _Finish:
    """``func(part, *args)``: picklable and tokenizable per-output finishing step."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __call__(self, part):
        return self.func(part, *self.args)

    def __teem_tokenize__(self):
        return ("finish", self.func, self.args)


def _bounds(part):
    idx = part.index
    idx = idx[~idx.isna()] if len(idx) else idx
    return (idx.min(), idx.max()) if len(idx) else None


def _sorted_divisions(frame) -> tuple:
    from teem.core.delayed import delayed
    spans = compute(*[delayed(_bounds)(part) for part in frame.to_delayed()])
    spans = [s for s in spans if s is not None]
    if not spans:
        return (None,) * (frame.npartitions + 1)
    if len(spans) != frame.npartitions:
        raise ValueError("set_index(sorted=True): some partitions are empty; pass divisions= or drop "
                         "sorted=True to sort")
    for (_, hi), (lo, _) in zip(spans, spans[1:]):
        if lo < hi:
            raise ValueError("set_index(sorted=True): the column is not sorted across partitions "
                             f"({lo!r} follows {hi!r}); drop sorted=True to sort it")
    return tuple(s[0] for s in spans) + (spans[-1][1],)


def _with_divisions(frame, divisions: tuple):
    from teem.dataframe.core import new_collection
    return new_collection(frame._graph, frame._name, frame._meta, divisions)


def sort_values(frame, by, ascending: Any = True, na_position: str = "last", npartitions: int | None = None,
                shuffle_method: str | None = None):
    """``frame`` sorted by ``by`` (a column or list; a Series sorts its values), as pandas' stable
    sort: range partitions of the first key, each sorted by all keys."""
    from teem.dataframe.core import Series
    if na_position not in ("first", "last"):
        raise ValueError(f"sort_values(na_position={na_position!r}): use 'first' or 'last'")
    is_series = isinstance(frame, Series)
    keys = [] if is_series else ([by] if not isinstance(by, (list, tuple)) else list(by))
    missing = [k for k in keys if k not in frame._meta.columns]
    if missing:
        raise KeyError(f"sort_values: {missing} are not columns; the columns are {list(frame.columns)}")
    asc_list = [ascending] * max(len(keys), 1) if isinstance(ascending, bool) else list(ascending)
    if len(asc_list) != max(len(keys), 1):
        raise ValueError(f"sort_values: {len(asc_list)} ascending values for {len(keys)} keys")
    first = frame._meta.name if is_series else keys[0]
    divisions = sample_divisions(frame, first, npartitions or frame.npartitions)
    boundaries = divisions[1:-1] if divisions else []
    splitter = RangeSplitter(first, boundaries, asc_list[0], na_position == "last")
    finish = _Finish(_sort_part, None if is_series else keys,
                     asc_list[0] if is_series else (asc_list if len(asc_list) > 1 else asc_list[0]), na_position)
    return shuffle(frame, splitter, finish=finish, name="sort-values", method=shuffle_method)
