"""Summaries as tree reductions: quantile, nlargest/nsmallest (describe: :mod:`teem.dataframe.describe`).

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

from teem.dataframe.meta import nonempty
from teem.dataframe.reductions import tree_reduce

__all__ = ["quantile", "nlargest", "EXACT"]

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
