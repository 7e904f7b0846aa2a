"""``.loc``: label-based selection, touching only the partitions that can hold the labels.

With known divisions (after ``set_index``, or ``from_pandas``), partition ``i``
holds index values in ``[divisions[i], divisions[i+1])`` (the last one
closed), so ``df.loc['b':'d']`` or ``df.loc['c']`` builds tasks for the
partitions whose range meets the labels and no others.  Without divisions
every partition is asked.  A boolean teem Series selects rows (a filter);
``df.loc[rows, columns]`` selects columns too.

On a datetime index, strings select as in pandas (``'2013-01-05'`` is the
whole day, ``'2013-02'`` the whole month): partitions are chosen by the
period each string spans, and every chosen partition slices with the string
itself, so the rows are pandas' rows.

``.iloc`` selects columns by position only (``df.iloc[:, [0, 2]]``); rows
have no known positions without counting every partition (as in Dask).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Ref, Task
from teem.core.tokenize import tokenize

__all__ = ["LocIndexer", "ILocIndexer"]


def _loc_slice(part, start, stop):
    return part.loc[start:stop]


def _loc_labels(part, labels: list):
    return part[part.index.isin(labels)]


def _loc_columns(part, columns):
    return part.loc[:, columns]


class LocIndexer:
    """``frame.loc[...]`` (see the module docstring)."""

    def __init__(self, frame):
        self._frame = frame

    def __getitem__(self, key):
        from teem.dataframe.core import Index, Series
        frame = self._frame
        if isinstance(key, tuple) and len(key) == 2 and frame.ndim == 2:
            rows, columns = key
            out = self[rows] if not (isinstance(rows, slice) and rows == slice(None)) else frame
            from teem.dataframe.partitionwise import partitionwise
            meta = out._meta.loc[:, columns]
            return partitionwise(_loc_columns, out, columns, meta=meta, name="loc-columns")
        if isinstance(key, (Series, Index)):  # a boolean mask
            return frame[key]
        if isinstance(key, slice):
            if key.step is not None:
                raise NotImplementedError("loc[start:stop:step] is not supported; drop the step")
            return self._slice(key.start, key.stop)
        if isinstance(key, (list, pd.Index)) or hasattr(key, "__array__"):
            return self._labels(list(key))
        if isinstance(key, str) and self._is_datetime_index():  # a day, a month...: a range
            return self._slice(key, key)
        return self._labels([key])

    def _prunable(self) -> bool:
        """Known divisions that compare as values (a categorical's labels follow category order)."""
        frame = self._frame
        return frame.known_divisions and not isinstance(frame._meta.index.dtype, pd.CategoricalDtype)

    def _is_datetime_index(self) -> bool:
        return pd.api.types.is_datetime64_any_dtype(self._frame._meta.index.dtype)

    def _bounds(self, start, stop) -> tuple:
        """``start``/``stop`` as index values for choosing partitions (strings on a datetime
        index: the first and last instant of the period they name)."""
        if not self._is_datetime_index():
            return start, stop
        tz = getattr(self._frame._meta.index.dtype, "tz", None)
        return _instant(start, tz, first=True), _instant(stop, tz, first=False)

    # --- partitions that may hold labels ---
    def _partitions_for_range(self, start, stop) -> list:
        frame = self._frame
        n = frame.npartitions
        if not self._prunable():
            return list(range(n))
        d = frame.divisions
        keep = []
        for i in range(n):
            lo, hi = d[i], d[i + 1]
            last = i == n - 1
            if stop is not None and lo > stop:
                continue
            if start is not None and (hi < start or (hi == start and not last and lo != hi)):
                continue
            keep.append(i)
        return keep

    def _select(self, parts: list, func, args: tuple, divisions: tuple, what: str):
        from teem.dataframe.core import new_collection
        frame = self._frame
        name = f"loc-{tokenize(frame._name, what, args, parts)}"
        layer = {}
        for j, i in enumerate(parts):
            src, key = (frame._name, i), (name, j)
            layer[key] = Task(key, func, (Ref(src), *args), None, (src,))
        if not parts:  # nothing can match: one empty partition
            key = (name, 0)
            layer[key] = Task(key, _empty, (frame._meta,), None, ())
            divisions = (None, None)
        return new_collection(Graph(layer, (frame._graph,)), name, frame._meta, divisions)

    def _slice(self, start, stop):
        frame = self._frame
        low, high = self._bounds(start, stop)
        parts = self._partitions_for_range(low, high)
        if self._prunable() and parts:
            d = frame.divisions
            divisions = tuple(d[i] for i in parts) + (d[parts[-1] + 1],)
            first = divisions[0] if low is None else max(divisions[0], low)
            last = divisions[-1] if high is None else min(divisions[-1], high)
            divisions = (first,) + divisions[1:-1] + (last,)
        else:
            divisions = (None,) * (len(parts) + 1)
        return self._select(parts, _loc_slice, (start, stop), divisions, "slice")

    def _labels(self, labels: list):
        frame = self._frame
        if self._prunable():
            parts = sorted({i for label in labels for i in self._partitions_for_range(label, label)})
            d = frame.divisions
            divisions = tuple(d[i] for i in parts) + (d[parts[-1] + 1],) if parts else (None, None)
        else:
            parts = list(range(frame.npartitions))
            divisions = (None,) * (len(parts) + 1)
        return self._select(parts, _loc_labels, (labels,), divisions, "labels")


def _empty(meta: Any):
    return meta


def _instant(label, tz, first: bool):
    """The first (or last) instant of the period a string names; other labels as Timestamps."""
    if label is None:
        return None
    if isinstance(label, str):
        try:
            period = pd.Period(label)
            value = period.start_time if first else (period + 1).start_time - pd.Timedelta(1, "ns")
        except (ValueError, TypeError):
            value = pd.Timestamp(label)
    else:
        value = pd.Timestamp(label)
    if tz is not None and value.tzinfo is None:
        value = value.tz_localize(tz)
    return value


class ILocIndexer:
    """``frame.iloc[:, columns]``: columns by position (rows by position are not supported)."""

    def __init__(self, frame):
        self._frame = frame

    def __getitem__(self, key):
        frame = self._frame
        if not (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], slice)
                and key[0] == slice(None)):
            raise NotImplementedError(
                "iloc selects columns only, as df.iloc[:, column_positions]; the row positions of a "
                "partitioned frame are not known without counting every partition -- use .loc with "
                "labels, .head()/.tail(), .partitions[i], or a boolean filter")
        if frame.ndim != 2:
            raise NotImplementedError("Series.iloc is not supported; use .loc, .head() or .tail()")
        columns = frame._meta.columns[key[1]]
        if not isinstance(columns, pd.Index):  # one position: a Series
            return frame[columns]
        return frame[list(columns)]
