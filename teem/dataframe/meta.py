"""Metadata: the empty pandas object that stands for a collection's partitions.

Every DataFrame/Series/Index carries ``_meta``, an empty pandas object with the
partitions' columns, dtypes, name and index type.  Operations find their
result's meta by running the same pandas code on a small *non-empty* fake of
the input (empty objects give wrong dtypes for many operations, e.g. ``.str``
methods or ``apply``), then keeping zero rows of the result.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd

__all__ = ["make_meta", "nonempty", "empty_like", "infer_meta", "is_pandas", "MetaInferenceError"]


class MetaInferenceError(TypeError):
    """The result type of an operation could not be found from the inputs' metadata."""


def is_pandas(obj: Any) -> bool:
    return isinstance(obj, (pd.DataFrame, pd.Series, pd.Index))


def empty_like(obj: Any) -> Any:
    """Zero rows of a pandas object (a scalar is kept as it is)."""
    if isinstance(obj, (pd.DataFrame, pd.Series)):
        return obj.iloc[:0]
    if isinstance(obj, pd.Index):
        return obj[:0]
    return obj


def make_meta(meta: Any, index: pd.Index | None = None) -> Any:
    """Normalize a user's ``meta=``: a pandas object, a dict/list of (name, dtype), a (name, dtype)
    tuple, or a dtype (a Series without name)."""
    if is_pandas(meta):
        return empty_like(meta)
    index = index if index is not None else pd.RangeIndex(0)
    if isinstance(meta, dict):
        return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in meta.items()}, index=index[:0])
    if isinstance(meta, list) and all(isinstance(x, tuple) and len(x) == 2 for x in meta):
        return pd.DataFrame({c: pd.Series([], dtype=d) for c, d in meta}, index=index[:0])
    if isinstance(meta, tuple) and len(meta) == 2:
        return pd.Series([], dtype=meta[1], name=meta[0], index=index[:0])
    try:
        return pd.Series([], dtype=meta, index=index[:0])
    except TypeError as e:
        raise MetaInferenceError(
            f"meta={meta!r} is not understood; pass an empty pandas object, a dict of "
            "{column: dtype}, a (name, dtype) tuple or a dtype") from e


def _fake_values(dtype: Any, n: int = 2) -> Any:
    """``n`` plausible values of ``dtype``."""
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        if len(cats):
            return pd.Categorical([cats[0]] * n, dtype=dtype)
        return pd.Categorical([None] * n, dtype=dtype)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return pd.array([pd.Timestamp("2000-01-01", tz=dtype.tz)] * n, dtype=dtype)
    if isinstance(dtype, pd.StringDtype):
        return pd.array(["foo"] * n, dtype=dtype)
    if isinstance(dtype, pd.api.extensions.ExtensionDtype):
        try:
            return pd.array([1] * n, dtype=dtype)
        except (TypeError, ValueError):
            return pd.array([None] * n, dtype=dtype)
    kind = np.dtype(dtype).kind
    if kind == "O":
        return np.array(["foo"] * n, dtype=object)
    if kind == "M":
        return np.array(["2000-01-01"] * n, dtype=dtype)
    if kind == "m":
        return np.array([1] * n, dtype=dtype)
    if kind == "b":
        return np.array([True, False] * (n // 2) + [True] * (n % 2), dtype=dtype)
    if kind in "iuf":
        return np.arange(1, n + 1).astype(dtype)
    if kind == "c":
        return np.ones(n, dtype=dtype)
    return np.array(["foo"] * n, dtype=dtype)


def _fake_index(index: pd.Index, n: int = 2) -> pd.Index:
    if isinstance(index, pd.RangeIndex):
        return pd.RangeIndex(n, name=index.name)
    if isinstance(index, pd.MultiIndex):
        arrays = [_fake_values(lvl.dtype, n) for lvl in index.levels]
        return pd.MultiIndex.from_arrays(arrays, names=index.names)
    return pd.Index(_fake_values(index.dtype, n), name=index.name)


def nonempty(meta: Any) -> Any:
    """A two-row fake of ``meta`` with the same columns, dtypes and index type."""
    if isinstance(meta, pd.DataFrame):
        index = _fake_index(meta.index)
        data = {i: pd.Series(_fake_values(d), index=index) for i, d in enumerate(meta.dtypes)}
        out = pd.DataFrame(data, index=index)
        out.columns = meta.columns
        return out
    if isinstance(meta, pd.Series):
        return pd.Series(_fake_values(meta.dtype), index=_fake_index(meta.index), name=meta.name)
    if isinstance(meta, pd.Index):
        return _fake_index(meta)
    return meta


def _fake_arg(arg: Any) -> Any:
    from teem.dataframe.core import Frame, Scalar
    if isinstance(arg, Frame):
        return nonempty(arg._meta)
    if isinstance(arg, Scalar):
        return arg._meta
    return arg


def infer_meta(func: Callable, args: tuple, kwargs: dict, what: str) -> Any:
    """The meta of ``func(*args, **kwargs)`` for collections among ``args``; ``what`` names the
    operation in the error message."""
    fake_args = [_fake_arg(a) for a in args]
    fake_kwargs = {k: _fake_arg(v) for k, v in kwargs.items()}
    try:
        with np.errstate(all="ignore"):
            out = func(*fake_args, **fake_kwargs)
    except Exception as e:  # noqa: BLE001 -- any failure means "tell us the meta"
        raise MetaInferenceError(
            f"could not infer the result of {what} by running it on fake data "
            f"({type(e).__name__}: {e}); pass meta= (an empty pandas object, a dict of "
            "{column: dtype} or a (name, dtype) tuple) describing the output") from e
    return empty_like(out) if is_pandas(out) else out
