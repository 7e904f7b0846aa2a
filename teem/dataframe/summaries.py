"""Summaries as tree reductions: quantile, describe, nlargest/nsmallest, drop_duplicates.

Theory of operation -- quantiles
--------------------------------
A partial result per column is a *sorted sample*: values in ascending order
and the rank (0-based, among all non-missing values seen) of each.  A
partition's partial is all its sorted values with ranks ``0..n-1`` -- exact.
Merging partials sorts their values together and gives each value the rank
it would have if every sample stood for its whole partition (each value's
rank within its own sample, rescaled, plus the counts of the samples' values
below it, estimated the same way); while the total is at most ``EXACT``
values no sample was ever thinned, so ranks are exact.  Beyond ``EXACT``
values a merged sample is thinned to ``EXACT`` evenly spaced ranks.

The final quantile ``q`` is pandas' linear interpolation between the values
at ranks ``floor(q (n-1))`` and ``ceil(q (n-1))``: **exact** (equal to
pandas) when a column has at most ``EXACT`` (1,000,000) values; above that, an
approximation whose rank error is at most about ``n / EXACT`` per merge level.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Task
from teem.core.tokenize import tokenize
from teem.dataframe.meta import nonempty
from teem.dataframe.reductions import tree_reduce

__all__ = ["quantile", "describe", "nlargest", "drop_duplicates", "EXACT"]

EXACT = 1_000_000


# --- quantiles ------------------------------------------------------------------------------


class _Sample:
    """A sorted sample of ``n`` values: ``values`` at ``ranks`` (float ranks, ascending)."""

    __slots__ = ("values", "ranks", "n")

    def __init__(self, values: np.ndarray, ranks: np.ndarray, n: int):
        self.values, self.ranks, self.n = values, ranks, n

    @classmethod
    def of(cls, values) -> "_Sample":
        v = np.sort(np.asarray(values, dtype="float64"))
        v = v[~np.isnan(v)]
        return cls(v, np.arange(len(v), dtype="float64"), len(v))

    @staticmethod
    def merge(samples: list) -> "_Sample":
        samples = [s for s in samples if s.n]
        if not samples:
            return _Sample(np.zeros(0), np.zeros(0), 0)
        if len(samples) == 1:
            return samples[0]
        values = np.concatenate([s.values for s in samples])
        n = sum(s.n for s in samples)
        # the rank of a value: its own rank plus, for every other sample, how many of its values lie below
        ranks = np.concatenate([s.ranks for s in samples])
        starts = np.cumsum([0] + [len(s.values) for s in samples])
        for i, s in enumerate(samples):
            # ties: values of earlier samples rank first, so exact ranks are 0..n-1 exactly once
            for j in range(len(samples)):
                if j != i:
                    own = slice(starts[j], starts[j + 1])
                    ranks[own] += _count_below(s, values[own], "right" if i < j else "left")
        order = np.argsort(values, kind="stable")
        merged = _Sample(values[order], ranks[order], n)
        return merged.thinned() if len(merged.values) > EXACT else merged

    def thinned(self) -> "_Sample":
        targets = np.linspace(0, self.n - 1, EXACT)
        return _Sample(self.value_at(targets), targets, self.n)

    def value_at(self, rank: np.ndarray) -> np.ndarray:
        """Values at (fractional) ranks, by linear interpolation between sample points."""
        return np.interp(rank, self.ranks, self.values)

    def quantile(self, q: np.ndarray) -> np.ndarray:
        if self.n == 0:
            return np.full(len(q), np.nan)
        return self.value_at(q * (self.n - 1))


def _count_below(sample: _Sample, values: np.ndarray, side: str) -> np.ndarray:
    """How many of ``sample``'s ``n`` values lie below (``side='left'``) or at most at
    (``'right'``) each of ``values`` (estimated from its points' ranks; exact for an unthinned
    sample)."""
    pos = np.searchsorted(sample.values, values, side=side)
    out = np.zeros(len(values))
    inside = pos > 0
    out[inside] = sample.ranks[pos[inside] - 1] + 1
    return out


class _Quantile:
    def __init__(self, q: np.ndarray, columns: list | None):
        self.q, self.columns = q, columns  # columns None: a Series

    def chunk(self, part):
        if self.columns is None:
            return _Sample.of(part)
        return [_Sample.of(part[c]) for c in self.columns]

    def combine(self, parts: list):
        if self.columns is None:
            return _Sample.merge(parts)
        return [_Sample.merge([p[i] for p in parts]) for i in range(len(self.columns))]

    def __teem_tokenize__(self):
        return ("quantile", self.q.tolist(), self.columns)


class _QuantileFinish:
    def __init__(self, q, name, columns, scalar: bool, dtypes):
        self.q, self.name, self.columns, self.scalar, self.dtypes = q, name, columns, scalar, dtypes

    def __call__(self, partial):
        q = np.atleast_1d(np.asarray(self.q, dtype="float64"))
        if self.columns is None:
            out = partial.quantile(q)
            if self.scalar:
                return np.float64(out[0])
            return pd.Series(out, index=pd.Index(q, dtype="float64"), name=self.name)
        table = {c: s.quantile(q) for c, s in zip(self.columns, partial)}
        if self.scalar:
            return pd.Series({c: v[0] for c, v in table.items()}, name=self.q, dtype="float64")
        return pd.DataFrame(table, index=pd.Index(q, dtype="float64"), columns=self.columns)

    def __teem_tokenize__(self):
        return ("quantile-finish", self.q, self.name, self.columns, self.scalar)


def quantile(frame, q: Any = 0.5, numeric_only: bool = False):
    """Quantiles of a Series (a Scalar, or a Series for several ``q``) or of a DataFrame's numeric
    columns (a Series, or a DataFrame), exact up to ``EXACT`` values (see the module docstring)."""
    scalar = np.ndim(q) == 0
    qs = np.atleast_1d(np.asarray(q, dtype="float64"))
    if ((qs < 0) | (qs > 1)).any():
        raise ValueError(f"quantile(q={q!r}): q must be between 0 and 1")
    if frame.ndim == 1:
        if not _is_numeric(frame._meta.dtype):
            raise TypeError(f"quantile() of a {frame._meta.dtype} Series is not supported; it needs numbers")
        impl, columns = _Quantile(qs, None), None
    else:
        columns = [c for c, d in frame._meta.dtypes.items() if _is_numeric(d)]
        if not numeric_only and len(columns) != len(frame._meta.columns):
            others = [c for c in frame._meta.columns if c not in columns]
            raise TypeError(f"quantile(): columns {others} are not numeric; pass numeric_only=True")
        impl = _Quantile(qs, columns)
    finish = _QuantileFinish(q if scalar else list(qs), frame._meta.name if frame.ndim == 1 else None,
                             columns, scalar, None)
    meta = finish(impl.combine([impl.chunk(nonempty(frame._meta))]))
    if not scalar or frame.ndim == 2:
        meta = meta.iloc[:0]
    return tree_reduce(frame, impl.chunk, impl.combine, finish, meta, "quantile", token_args=(scalar,))


def _is_numeric(dtype) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)


# --- describe -------------------------------------------------------------------------------


def _describe_numeric(count, mean, std, mins, quantiles, maxs, labels: list, name):
    rows = [count, mean, std, mins, *[quantiles.loc[p] if isinstance(quantiles, pd.DataFrame) else
                                      quantiles.iloc[i] for i, p in enumerate(quantiles.index)], maxs]
    if isinstance(count, pd.Series):
        out = pd.DataFrame([pd.Series(r, dtype="float64") for r in rows])
        out.index = labels
        return out
    return pd.Series([float(r) for r in rows], index=labels, name=name, dtype="float64")


def _describe_objects(counts: dict, labels: list, is_frame: bool, name):
    cols = {}
    for c, (count, vc) in counts.items():
        top = vc.index[0] if len(vc) else np.nan
        freq = vc.iloc[0] if len(vc) else np.nan
        cols[c] = [count, len(vc), top, freq]
    if not is_frame:
        return pd.Series(cols[None], index=labels, name=name, dtype=object)
    return pd.DataFrame(cols, index=labels, dtype=object)


def _percentile_label(p: float) -> str:
    text = f"{p * 100:.10g}"
    return f"{text}%"


def describe(frame, percentiles=None, include=None, exclude=None):
    """pandas' ``describe``: numeric columns (count, mean, std, min, percentiles, max), else
    count, unique, top, freq.  Percentiles are exact up to a million values per column."""
    from teem.dataframe.core import new_collection
    if include is not None or exclude is not None:
        raise NotImplementedError("describe(include=/exclude=) is not supported; select the columns first")
    ps = sorted(set([0.25, 0.5, 0.75] if percentiles is None else list(percentiles)))
    labels = ["count", "mean", "std", "min", *[_percentile_label(p) for p in ps], "max"]
    meta_out = nonempty(frame._meta).describe(percentiles=ps).iloc[:0]
    if frame.ndim == 2:
        numeric = [c for c, d in frame._meta.dtypes.items() if _is_numeric(d)]
        subject = frame[numeric] if numeric else frame
        others = [c for c in meta_out.columns if c not in numeric] if numeric else []
        if others:
            raise NotImplementedError(f"describe() of the datetime/boolean columns {others} is not "
                                      f"supported; describe df[{numeric}] and those columns apart")
        meta_out = meta_out[numeric] if numeric else meta_out
    else:
        numeric = [frame._meta.name] if _is_numeric(frame._meta.dtype) else []
        subject = frame
    if numeric:
        parts = [subject.count(), subject.mean(), subject.std(), subject.min(), subject.quantile(ps),
                 subject.max()]
        func, extra = _describe_numeric, (labels, frame._meta.name if frame.ndim == 1 else None)
    else:
        labels = ["count", "unique", "top", "freq"]
        cols = list(frame._meta.columns) if frame.ndim == 2 else [None]
        parts = []
        for c in cols:
            s = frame[c] if c is not None else frame
            parts.append(_pair(s.count(), s.value_counts()))
        func = _describe_from_pairs
        extra = (cols, labels, frame.ndim == 2, frame._meta.name if frame.ndim == 1 else None)
    name = f"describe-{tokenize([_out_key(p) for p in parts], extra)}"
    key = (name, 0)
    deps = tuple(_out_key(p) for p in parts)
    layer = {key: Task(key, func, (*[_ref(p) for p in parts], *extra), None, deps)}
    graph = Graph(layer, tuple(p.__teem_graph__() for p in parts))
    return new_collection(graph, name, meta_out, (None, None))


def _pair(count, counts):
    from teem.core.delayed import delayed
    return delayed(tuple)([count, counts])


def _describe_from_pairs(*args):
    *pairs, cols, labels, is_frame, name = args
    return _describe_objects(dict(zip(cols, pairs)), labels, is_frame, name)


def _out_key(part):
    from teem.dataframe.core import Scalar
    from teem.core.delayed import Delayed
    if isinstance(part, Scalar):
        return part.key
    if isinstance(part, Delayed):
        return part.key
    return (part._name, 0)


def _ref(part):
    from teem.core.task import Ref
    return Ref(_out_key(part))


# --- nlargest / nsmallest ---------------------------------------------------------------------


class _Top:
    """Partials keep the selected rows in their original order, so that the last step -- pandas'
    own nlargest on their concatenation -- sees ties in the order pandas would."""

    def __init__(self, n: int, columns, keep: str, how: str):
        self.n, self.columns, self.keep, self.how = n, columns, keep, how

    def _select(self, part):
        if part.ndim == 1:
            return getattr(part, self.how)(self.n, keep=self.keep)
        return getattr(part, self.how)(self.n, self.columns, keep=self.keep)

    def chunk(self, part):
        positions = self._select(part.reset_index(drop=True)).index.to_numpy()
        return part.iloc[np.sort(positions)]

    def combine(self, parts: list):
        return self.chunk(pd.concat(parts))

    def aggregate(self, partial):
        # pandas' own order (not its nlargest, which orders ties differently once n >= rows):
        # by value, ties by position -- the last first for keep='last'
        rows = partial.iloc[::-1] if self.keep == "last" else partial
        ascending = self.how == "nsmallest"
        if rows.ndim == 1:
            return rows.dropna().sort_values(ascending=ascending, kind="stable").head(self.n)
        cols = [self.columns] if not isinstance(self.columns, list) else self.columns
        return rows.dropna(subset=cols).sort_values(cols, ascending=ascending, kind="stable").head(self.n)

    def __teem_tokenize__(self):
        return ("top", self.n, self.columns, self.keep, self.how)


def nlargest(frame, n: int, columns, keep: str, how: str, split_every: int | None = None):
    """The ``n`` rows with the largest (``how='nlargest'``) or smallest values, as pandas orders them."""
    if keep not in ("first", "last"):
        raise NotImplementedError(f"{how}(keep={keep!r}) is not supported; use 'first' or 'last'")
    if frame.ndim == 2 and columns is None:
        raise TypeError(f"DataFrame.{how}() needs columns=")
    impl = _Top(n, columns, keep, how)
    return tree_reduce(frame, impl.chunk, impl.combine, impl.aggregate, frame._meta, how, split_every)


# --- drop_duplicates ------------------------------------------------------------------------


class _Distinct:
    def __init__(self, subset, keep: str, ignore_index: bool):
        self.subset, self.keep, self.ignore_index = subset, keep, ignore_index

    def chunk(self, part):
        if part.ndim == 1:
            return part.drop_duplicates(keep=self.keep)
        return part.drop_duplicates(subset=self.subset, keep=self.keep)

    def combine(self, parts: list):
        return self.chunk(pd.concat(parts))

    def aggregate(self, partial):
        return partial.reset_index(drop=True) if self.ignore_index else partial

    def __teem_tokenize__(self):
        return ("distinct", self.subset, self.keep, self.ignore_index)


def drop_duplicates(frame, subset=None, keep: str = "first", ignore_index: bool = False,
                    split_every: int | None = None):
    """Rows (or values) without repeats, in pandas' order; the result is one partition."""
    if keep not in ("first", "last"):
        raise NotImplementedError(f"drop_duplicates(keep={keep!r}) is not supported; use 'first' or "
                                  "'last' (keep=False needs every copy of a row in one place)")
    impl = _Distinct(subset, keep, ignore_index)
    return tree_reduce(frame, impl.chunk, impl.combine, impl.aggregate, frame._meta, "drop-duplicates",
                       split_every)
