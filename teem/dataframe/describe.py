"""describe(): pandas' summary of every column, from tree reductions in one pass.

pandas describes each column by its kind, then lines the per-column Series up:

- **numbers** (not booleans): count, mean, std, min, percentiles, max (as floats);
- **datetimes** (with or without a time zone): count, mean, min, percentiles, max;
- **timedeltas**: as numbers, but the values stay timedeltas;
- **everything else** (booleans, strings, categoricals): count, unique, top, freq.

Columns are chosen as pandas chooses them (``include=None``: numbers and
datetimes if any, else all; ``'all'``; or dtype lists through
``select_dtypes``).  Here every statistic is a tree reduction over the same
partitions (:mod:`teem.dataframe.reductions`, exact quantiles from
:mod:`teem.dataframe.summaries`), so fused per-partition tasks read the data
once.  Datetimes and timedeltas are reduced as float64 counts of their unit
(``NaT`` as NaN) -- the arithmetic pandas itself does for means and
quantiles -- except min and max, which stay exact.  One last task builds each
column's Series exactly as pandas does (same labels, values and dtypes) and
joins them in pandas' row order: shorter label lists first, then the labels
they lack.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Ref, Task
from teem.core.tokenize import tokenize
from teem.dataframe.meta import nonempty

__all__ = ["describe"]

NUMBER, DATETIME, TIMEDELTA, OTHER = "number", "datetime", "timedelta", "other"


def _kind(dtype) -> str:
    if pd.api.types.is_bool_dtype(dtype):
        return OTHER
    if isinstance(dtype, pd.DatetimeTZDtype) or getattr(dtype, "kind", "") == "M":
        return DATETIME
    if getattr(dtype, "kind", "") == "m":
        return TIMEDELTA
    if pd.api.types.is_numeric_dtype(dtype):
        return NUMBER
    return OTHER


def _selected(meta: pd.DataFrame, include, exclude) -> list:
    """The columns pandas would describe (positions, to allow repeated names)."""
    if meta.columns.size == 0:
        raise ValueError("describe(): this DataFrame has no columns")
    if include is None and exclude is None:
        chosen = meta.select_dtypes(include=[np.number, "datetime"])
        if len(chosen.columns) == 0:
            chosen = meta
    elif isinstance(include, str) and include == "all":
        if exclude is not None:
            raise ValueError("describe(include='all') takes no exclude=; pass dtype lists to both instead")
        chosen = meta
    else:
        chosen = meta.select_dtypes(include=include, exclude=exclude)
        if len(chosen.columns) == 0:
            raise ValueError(f"describe(include={include!r}, exclude={exclude!r}): no column has those "
                             f"dtypes; the dtypes are {dict(meta.dtypes.astype(str))}")
    labels = set(chosen.columns)
    return [i for i, c in enumerate(meta.columns) if c in labels]


def _refined(percentiles) -> list:
    if percentiles is None:
        return [0.25, 0.5, 0.75]
    ps = np.asarray(list(percentiles), dtype="float64")
    if ((ps < 0) | (ps > 1)).any():
        raise ValueError(f"describe(percentiles={list(percentiles)}): percentiles must be between 0 and 1")
    if len(np.unique(ps)) < len(ps):
        raise ValueError(f"describe(percentiles={list(percentiles)}): percentiles cannot contain duplicates")
    return [float(p) for p in np.unique(ps)]


def _label(p: float) -> str:
    return f"{p * 100:.10g}%"


# --- per-partition conversions --------------------------------------------------------------


def _series_as_number(s: pd.Series) -> pd.Series:
    values = s.array.asi8.astype("float64")
    values[s.isna().to_numpy()] = np.nan
    return pd.Series(values, index=s.index, name=s.name)


def _as_number(part):
    """Datetime/timedelta values as float64 counts of their unit (missing: NaN)."""
    if part.ndim == 1:
        return _series_as_number(part)
    out = pd.DataFrame({j: _series_as_number(part.iloc[:, j]) for j in range(part.shape[1])},
                       index=part.index)
    out.columns = part.columns
    return out


def _from_number(x, dtype):
    """A float count of ``dtype``'s unit back as a Timestamp/Timedelta (truncated, as pandas does)."""
    if x is None or pd.isna(x):
        return pd.NaT
    if isinstance(dtype, pd.DatetimeTZDtype):
        return pd.Timestamp(np.int64(x).view(f"M8[{dtype.unit}]")).tz_localize("UTC").tz_convert(dtype.tz)
    value = np.int64(x).view(dtype)
    return pd.Timestamp(value) if dtype.kind == "M" else pd.Timedelta(value)


# --- the last step --------------------------------------------------------------------------


def _pick(value, label, is_frame: bool):
    return value[label] if is_frame else value


def _quantiles(value, label, is_frame: bool, ps: list) -> list:
    if not ps:
        return []
    column = value[label] if is_frame else value
    return [column.iloc[i] for i in range(len(ps))]


class _Assemble:
    """Builds pandas' describe output from the reductions' results (see the module docstring)."""

    def __init__(self, columns: list, is_frame: bool, ps: list, column_index: pd.Index | None):
        self.columns = columns  # [(label, kind, dtype, which results: {stat: position})]
        self.is_frame, self.ps, self.column_index = is_frame, ps, column_index

    def __teem_tokenize__(self):
        return ("describe", [(c, k, str(d), sorted(w.items())) for c, k, d, w in self.columns],
                self.is_frame, self.ps)

    def _one(self, label, kind, dtype, where: dict, results: tuple) -> pd.Series:
        def get(stat):  # per-column results for OTHER columns; per subset (indexed by label) else
            value = results[where[stat]]
            return value if kind == OTHER else _pick(value, label, self.is_frame)
        qs = _quantiles(results[where["quantile"]], label, self.is_frame, self.ps) if kind != OTHER else []
        name = label if self.is_frame else self.column_index
        if kind == OTHER:
            counts = get("value_counts")
            nonzero = counts[counts != 0]
            if len(nonzero):
                top, freq, out_dtype = counts.index[0], counts.iloc[0], None
            else:
                top, freq, out_dtype = np.nan, np.nan, "object"
            return pd.Series([get("count"), len(nonzero), top, freq], index=["count", "unique", "top", "freq"],
                             name=name, dtype=out_dtype)
        labels = [_label(p) for p in self.ps]
        if kind == DATETIME:
            values = [get("count"), _from_number(get("mean"), dtype), get("min"),
                      *[_from_number(q, dtype) for q in qs], get("max")]
            return pd.Series(values, index=["count", "mean", "min", *labels, "max"], name=name)
        if kind == TIMEDELTA:
            values = [get("count"), _from_number(get("mean"), dtype), _from_number(get("std"), dtype),
                      get("min"), *[_from_number(q, dtype) for q in qs], get("max")]
            return pd.Series(values, index=["count", "mean", "std", "min", *labels, "max"], name=name)
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            out_dtype = pd.Float64Dtype()
            if isinstance(dtype, pd.ArrowDtype):
                import pyarrow as pa
                out_dtype = pd.ArrowDtype(pa.float64())
        else:
            out_dtype = np.dtype("float64")
        values = [get("count"), get("mean"), get("std"), get("min"), *qs, get("max")]
        return pd.Series(values, index=["count", "mean", "std", "min", *labels, "max"], name=name,
                         dtype=out_dtype)

    def __call__(self, *results):
        described = [self._one(c, k, d, w, results) for c, k, d, w in self.columns]
        if not self.is_frame:
            return described[0]
        order: list = []
        seen: set = set()
        for index in sorted((s.index for s in described), key=len):
            for row in index:
                if row not in seen:
                    seen.add(row)
                    order.append(row)
        out = pd.concat(described, axis=1, ignore_index=True, sort=False).reindex(order)
        out.columns = self.column_index.copy()
        return out


# --- building the graph ---------------------------------------------------------------------


def _out_key(part) -> tuple:
    from teem.core.delayed import Delayed
    from teem.dataframe.core import Scalar
    if isinstance(part, (Scalar, Delayed)):
        return part.key
    return (part._name, 0)


def describe(frame, percentiles=None, include=None, exclude=None):
    """pandas' ``describe`` of a teem DataFrame or Series, as one-partition collection (see the module
    docstring); percentiles are exact up to a million values per column."""
    from teem.dataframe.core import new_collection
    ps = _refined(percentiles)
    meta = frame._meta
    is_frame = frame.ndim == 2
    if is_frame:
        positions = _selected(meta, include, exclude)
        chosen_meta = meta.iloc[:, positions]
        labels = list(chosen_meta.columns)
        if len(set(labels)) != len(labels):
            raise NotImplementedError("describe() of a DataFrame with repeated column names is not supported; "
                                      "rename the columns first")
        kinds = {c: _kind(d) for c, d in zip(labels, chosen_meta.dtypes)}
        dtypes = dict(zip(labels, chosen_meta.dtypes))
        meta_out = nonempty(meta).describe(percentiles=ps, include=include, exclude=exclude).iloc[:0]
    else:
        labels = [meta.name]
        kinds = {meta.name: _kind(meta.dtype)}
        dtypes = {meta.name: meta.dtype}
        meta_out = nonempty(meta).describe(percentiles=ps).iloc[:0]

    parts: list = []

    def add(value) -> int:
        parts.append(value)
        return len(parts) - 1

    def subject(columns: list):
        return frame[columns] if is_frame else frame

    where: dict = {c: {} for c in labels}
    numbers = [c for c in labels if kinds[c] == NUMBER]
    if numbers:
        s = subject(numbers)
        stats = {"count": s.count(), "mean": s.mean(), "std": s.std(), "min": s.min(), "max": s.max()}
        if ps:
            stats["quantile"] = s.quantile(ps)
        positions = {k: add(v) for k, v in stats.items()}
        for c in numbers:
            where[c].update(positions)
    for kind in (DATETIME, TIMEDELTA):
        columns = [c for c in labels if kinds[c] == kind]
        if not columns:
            continue
        s = subject(columns)
        as_number = s.map_partitions(_as_number)
        stats = {"count": s.count(), "mean": as_number.mean(), "min": s.min(), "max": s.max()}
        if kind == TIMEDELTA:
            stats["std"] = as_number.std()
        if ps:
            stats["quantile"] = as_number.quantile(ps)
        positions = {k: add(v) for k, v in stats.items()}
        for c in columns:
            where[c].update(positions)
    for c in labels:
        if kinds[c] == OTHER:
            s = frame[c] if is_frame else frame
            where[c] = {"count": add(s.count()), "value_counts": add(s.value_counts())}

    plan = _Assemble([(c, kinds[c], dtypes[c], where[c]) for c in labels], is_frame, ps,
                     chosen_meta.columns if is_frame else meta.name)
    name = f"describe-{tokenize([_out_key(p) for p in parts], plan)}"
    key = (name, 0)
    deps = tuple(dict.fromkeys(_out_key(p) for p in parts))
    args = tuple(Ref(_out_key(p)) for p in parts)
    layer = {key: Task(key, plan, args, None, deps)}
    graph = Graph(layer, tuple(p.__teem_graph__() for p in parts))
    return new_collection(graph, name, meta_out, (None, None))
