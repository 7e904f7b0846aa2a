"""Row selection and joining of whole collections: head, tail, concat."""

from __future__ import annotations

import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Ref, RefSeq, Task
from teem.core.tokenize import tokenize

__all__ = ["head", "tail", "concat"]


def _head(part, n: int):
    return part.head(n)


def _head_of_many(parts: list, n: int):
    return pd.concat(parts).head(n)


def _tail(part, n: int):
    return part.tail(n)


def _tail_of_many(parts: list, n: int):
    return pd.concat(parts).tail(n)


def head(frame, n: int = 5, npartitions: int = 1, compute: bool = True):
    """The first ``n`` rows; only the first ``npartitions`` partitions are computed (-1: all)."""
    return _end_rows(frame, n, npartitions, compute, "head")


def tail(frame, n: int = 5, npartitions: int = 1, compute: bool = True):
    """The last ``n`` rows; only the last ``npartitions`` partitions are computed (-1: all)."""
    return _end_rows(frame, n, npartitions, compute, "tail")


def _end_rows(frame, n: int, npartitions: int, compute: bool, end: str):
    """``head`` or ``tail``: one task over the first or last ``npartitions`` partitions."""
    from teem.dataframe.core import new_collection
    if npartitions == -1:
        npartitions = frame.npartitions
    if not 1 <= npartitions <= frame.npartitions:
        raise ValueError(f"{end}(npartitions={npartitions}): this collection has {frame.npartitions} "
                         "partitions; pass a number between 1 and that, or -1 for all")
    name = f"{end}-{tokenize(frame._name, n, npartitions)}"
    key = (name, 0)
    first = 0 if end == "head" else frame.npartitions - npartitions
    srcs = tuple((frame._name, i) for i in range(first, first + npartitions))
    one, many = (_head, _head_of_many) if end == "head" else (_tail, _tail_of_many)
    if npartitions == 1:
        task = Task(key, one, (Ref(srcs[0]), n), None, srcs)
    else:
        task = Task(key, many, (RefSeq(list, srcs), n), None, srcs)
    out = new_collection(Graph({key: task}, (frame._graph,)), name, frame._meta,
                         (frame.divisions[first], frame.divisions[first + npartitions]))
    if not compute:
        return out
    result = out.compute()
    if len(result) < n and npartitions < frame.npartitions:
        import warnings
        side = "first" if end == "head" else "last"
        warnings.warn(f"{end}({n}) found only {len(result)} rows in the {side} {npartitions} "
                      f"partition(s); pass npartitions=-1 to look in all of them", UserWarning,
                      stacklevel=4)
    return result


def _same(x):
    return x


def concat(frames: list, axis: int = 0, interleave_partitions: bool = False):
    """Stack collections row-wise: the partitions of the first, then of the next, ...

    Parameters
    ----------
    frames:
        teem DataFrames or Series (the same kind).
    axis:
        Only 0 (rows) is supported.
    """
    from teem.dataframe.core import Frame, new_collection
    if axis not in (0, "index"):
        raise NotImplementedError("concat(axis=1) is not supported; use assign() or merge()")
    frames = list(frames)
    if not frames or not all(isinstance(f, Frame) for f in frames):
        raise TypeError("concat() takes a non-empty list of teem DataFrames or Series")
    if len(frames) == 1:
        return frames[0]
    meta = pd.concat([f._meta for f in frames])
    name = f"concat-{tokenize([f._name for f in frames])}"
    layer = {}
    i = 0
    for f in frames:
        for j in range(f.npartitions):
            src = (f._name, j)
            layer[(name, i)] = Task((name, i), _same, (Ref(src),), None, (src,))
            i += 1
    divisions: tuple = (None,) * (i + 1)
    if all(f.known_divisions for f in frames) and all(
            a.divisions[-1] < b.divisions[0] for a, b in zip(frames, frames[1:])):
        divisions = tuple(d for f in frames for d in f.divisions[:-1]) + (frames[-1].divisions[-1],)
    return new_collection(Graph(layer, tuple(f._graph for f in frames)), name, meta, divisions)
