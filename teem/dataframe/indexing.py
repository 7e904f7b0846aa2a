"""``.loc``: label-based selection, touching only the partitions that can hold the labels.

With known divisions (after ``set_index``, or ``from_pandas``), partition ``i``
holds index values in ``[divisions[i], divisions[i+1])`` (the last one
closed), so ``df.loc['b':'d']`` or ``df.loc['c']`` builds tasks for the
partitions whose range meets the labels and no others.  Without divisions
every partition is asked.  A boolean teem Series selects rows (a filter);
``df.loc[rows, columns]`` selects columns too.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Ref, Task
from teem.core.tokenize import tokenize

__all__ = ["LocIndexer"]


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
        return self._labels([key])

    # --- partitions that may hold labels ---
    def _partitions_for_range(self, start, stop) -> list:
        frame = self._frame
        n = frame.npartitions
        if not frame.known_divisions:
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
        parts = self._partitions_for_range(start, stop)
        if frame.known_divisions and parts:
            d = frame.divisions
            divisions = tuple(d[i] for i in parts) + (d[parts[-1] + 1],)
            first = divisions[0] if start is None else max(divisions[0], start)
            last = divisions[-1] if stop is None else min(divisions[-1], stop)
            divisions = (first,) + divisions[1:-1] + (last,)
        else:
            divisions = (None,) * (len(parts) + 1)
        return self._select(parts, _loc_slice, (start, stop), divisions, "slice")

    def _labels(self, labels: list):
        frame = self._frame
        if frame.known_divisions:
            parts = sorted({i for label in labels for i in self._partitions_for_range(label, label)})
            d = frame.divisions
            divisions = tuple(d[i] for i in parts) + (d[parts[-1] + 1],) if parts else (None, None)
        else:
            parts = list(range(frame.npartitions))
            divisions = (None,) * (len(parts) + 1)
        return self._select(parts, _loc_labels, (labels,), divisions, "labels")


def _empty(meta: Any):
    return meta
