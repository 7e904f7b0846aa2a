"""repartition: fewer or more partitions, or partitions cut at given divisions.

- ``npartitions=M`` with ``M < N``: consecutive partitions are concatenated
  (as evenly as counts allow); known divisions stay known.
- ``npartitions=M`` with ``M > N``: every partition is cut into equal row
  ranges (``M / N`` of them, rounded so the total is ``M``); the cut points are
  only known when the task runs, so divisions become unknown.
- ``divisions=(d0, ..., dK)``: needs known divisions; output ``j`` takes from
  every overlapping input partition the rows with ``d_j <= index < d_j+1``
  (the last range closed), so no task reads partitions it does not need.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Ref, RefSeq, Task
from teem.core.tokenize import tokenize

__all__ = ["repartition"]


def _concat(parts: list):
    return parts[0] if len(parts) == 1 else pd.concat(parts)


def _split_rows(part, k: int, j: int):
    bounds = np.linspace(0, len(part), k + 1).round().astype(int)
    return part.iloc[bounds[j]:bounds[j + 1]]


def _index_range(part, low, high, closed: bool):
    idx = part.index
    mask = (idx >= low) & ((idx <= high) if closed else (idx < high))
    return part[np.asarray(mask)]


def repartition(frame, npartitions: int | None = None, divisions=None):
    """``frame`` with ``npartitions`` partitions or with the given ``divisions`` (see the module
    docstring).

    Raises
    ------
    ValueError
        Without exactly one of the arguments, or ``divisions=`` on unknown divisions.
    """
    if (npartitions is None) == (divisions is None):
        raise ValueError("repartition() takes exactly one of npartitions= or divisions=")
    if divisions is not None:
        return _to_divisions(frame, tuple(divisions))
    if npartitions < 1:
        raise ValueError(f"repartition(npartitions={npartitions}): need at least 1")
    if npartitions == frame.npartitions:
        return frame
    if npartitions < frame.npartitions:
        return _coalesce(frame, npartitions)
    return _split(frame, npartitions)


def _new(frame, name: str, layer: dict, divisions: tuple):
    from teem.dataframe.core import new_collection
    return new_collection(Graph(layer, (frame._graph,)), name, frame._meta, divisions)


def _coalesce(frame, m: int):
    n = frame.npartitions
    starts = np.linspace(0, n, m + 1).round().astype(int)
    name = f"repartition-{tokenize(frame._name, m)}"
    layer = {}
    for j in range(m):
        srcs = tuple((frame._name, i) for i in range(starts[j], starts[j + 1]))
        layer[(name, j)] = Task((name, j), _concat, (RefSeq(list, srcs),), None, srcs)
    divisions = tuple(frame.divisions[s] for s in starts)
    return _new(frame, name, layer, divisions)


def _split(frame, m: int):
    n = frame.npartitions
    counts = np.diff(np.linspace(0, m, n + 1).round().astype(int))
    name = f"repartition-{tokenize(frame._name, m)}"
    layer = {}
    out = 0
    for i, k in enumerate(counts):
        src = (frame._name, i)
        for j in range(int(k)):
            layer[(name, out)] = Task((name, out), _split_rows, (Ref(src), int(k), j), None, (src,))
            out += 1
    return _new(frame, name, layer, (None,) * (m + 1))


def _to_divisions(frame, divisions: tuple):
    if not frame.known_divisions:
        raise ValueError("repartition(divisions=...) needs known divisions; call set_index() first")
    if len(divisions) < 2 or list(divisions) != sorted(divisions):
        raise ValueError(f"repartition(divisions={divisions[:5]}...): need at least two ascending values")
    old = frame.divisions
    n = frame.npartitions
    name = f"repartition-{tokenize(frame._name, divisions)}"
    layer = {}
    for j in range(len(divisions) - 1):
        low, high = divisions[j], divisions[j + 1]
        last = j == len(divisions) - 2
        pieces = []
        for i in range(n):
            lo, hi = old[i], old[i + 1]
            if hi < low or lo > high or (lo == high and not last):
                continue
            if hi == low and i != n - 1:
                continue
            src = (frame._name, i)
            key = (f"{name}-piece", i, j)
            layer[key] = Task(key, _index_range, (Ref(src), low, high, last), None, (src,))
            pieces.append(key)
        if not pieces:
            key = (f"{name}-piece", -1, j)
            layer[key] = Task(key, _empty_of, (frame._meta,), None, ())
            pieces.append(key)
        layer[(name, j)] = Task((name, j), _concat, (RefSeq(list, tuple(pieces)),), None, tuple(pieces))
    return _new(frame, name, layer, divisions)


def _empty_of(meta):
    return meta
