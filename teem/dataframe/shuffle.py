"""Shuffles: moving rows between partitions, by hash of a key or by ranges of a key.

Theory of operation
-------------------
A shuffle of ``N`` input partitions into ``M`` output partitions is three
kinds of tasks:

1. ``split`` (one per input partition): assigns every row an output number
   (:class:`HashSplitter` or :class:`RangeSplitter`) and cuts the partition
   into ``M`` pieces, keeping row order.
2. ``piece`` (one per input and output): takes piece ``j`` of split ``i``.
   Pieces are separate tasks, so a split's result is released as soon as its
   pieces are taken, and each piece as soon as its output has used it.
3. ``gather`` (one per output): concatenates its ``N`` pieces in input order
   (so row order within equal keys is the input's: a stable sort stays
   stable), then applies an optional finishing function (sorting).

No task ever holds more than one input or one output partition.  With
``method='tasks'`` the pieces in flight between the two stages are held in
memory by the scheduler (all of them, once every split has run); with
``method='disk'`` a split writes its pieces to files (pickle protocol 5) in a
folder under ``temporary-directory`` and its piece tasks carry only file
names, so memory stays at the partitions being split or gathered and the
data waits on disk.  A gather deletes the files it has read.  Disk needs a
folder every worker can reach: any local scheduler, or a shared filesystem.
"""

from __future__ import annotations

import operator
import os
import pickle
import tempfile
from typing import Any, Callable

import numpy as np
import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Ref, RefSeq, Task
from teem.core.tokenize import tokenize

__all__ = ["shuffle", "HashSplitter", "RangeSplitter", "hash_keys", "shuffle_method"]


def _hashable_column(values) -> pd.Series:
    """Key values normalised so equal keys of different dtypes hash alike (1 == 1.0 == True?
    no: bools stay bools), for bucketing only -- the merge itself compares the real values."""
    s = pd.Series(values) if not isinstance(values, pd.Series) else values
    dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return s
    if pd.api.types.is_numeric_dtype(dtype):
        return s.astype("float64") + 0.0  # -0.0 and 0.0 in one bucket
    if pd.api.types.is_datetime64_any_dtype(dtype) and not isinstance(dtype, pd.DatetimeTZDtype):
        return s.astype("datetime64[ns]")
    if isinstance(dtype, pd.CategoricalDtype):
        return s.astype(dtype.categories.dtype)
    if dtype == object or pd.api.types.is_string_dtype(dtype):
        return s.astype(object)
    return s


def hash_keys(frame, columns: list | None) -> np.ndarray:
    """A uint64 hash per row of ``frame``'s key ``columns`` (None: its index)."""
    if columns is None:
        keys = [pd.Series(frame.index)]
    elif isinstance(frame, pd.Series):
        keys = [frame]
    else:
        keys = [frame[c] for c in columns]
    keys = [_hashable_column(k.reset_index(drop=True)) for k in keys]
    if len(keys) == 1:
        return pd.util.hash_pandas_object(keys[0], index=False).to_numpy()
    return pd.util.hash_pandas_object(pd.concat(keys, axis=1, ignore_index=True), index=False).to_numpy()


class HashSplitter:
    """Output number = hash of the key columns (None: the index) modulo ``M``."""

    def __init__(self, columns: list | None, npartitions: int):
        self.columns, self.npartitions = columns, npartitions

    def __call__(self, part) -> np.ndarray:
        return (hash_keys(part, self.columns) % np.uint64(self.npartitions)).astype(np.intp)

    def __teem_tokenize__(self):
        return ("hash-split", self.columns, self.npartitions)


class RangeSplitter:
    """Output number = which range of ``boundaries`` the key falls in (missing keys: first or last).

    ``boundaries`` are the ``M - 1`` inner divisions, ascending; a key equal to a
    boundary goes to the partition it starts.  ``column`` None means the index; a
    Series partition is its own key whatever ``column`` says.  ``ascending=False`` numbers the
    ranges from the top, for descending sorts.
    """

    def __init__(self, column: Any, boundaries: list, ascending: bool = True, na_last: bool = True):
        self.column, self.boundaries = column, list(boundaries)
        self.ascending, self.na_last = ascending, na_last

    @property
    def npartitions(self) -> int:
        return len(self.boundaries) + 1

    def __call__(self, part) -> np.ndarray:
        if isinstance(part, pd.Series):
            values = part
        elif self.column is None:
            values = pd.Series(part.index, copy=False)
        else:
            values = part[self.column]
        missing = values.isna().to_numpy()
        out = np.zeros(len(values), dtype=np.intp)
        present = values[~missing] if missing.any() else values
        if len(present) and self.boundaries:
            if isinstance(present.dtype, pd.CategoricalDtype):  # by category order, ordered or not
                bounds = present.dtype.categories.get_indexer(self.boundaries)
                out[~missing] = np.searchsorted(bounds, present.cat.codes.to_numpy(), side="right")
            else:
                bounds = pd.Index(self.boundaries).astype(present.dtype, copy=False)
                out[~missing] = bounds.searchsorted(present.to_numpy(), side="right")
        if not self.ascending:
            out = self.npartitions - 1 - out
        if missing.any():
            out[missing] = self.npartitions - 1 if self.na_last else 0
        return out

    def __teem_tokenize__(self):
        return ("range-split", self.column, self.boundaries, self.ascending, self.na_last)


def split_partition(part, splitter: Callable) -> tuple:
    """``part`` cut into ``splitter.npartitions`` pieces, each keeping the rows' order."""
    n = splitter.npartitions
    where = splitter(part)
    if len(where) == 0:
        return tuple(part for _ in range(n))
    order = np.argsort(where, kind="stable")
    bounds = np.searchsorted(where[order], np.arange(n + 1), side="left")
    taken = part.iloc[order]
    return tuple(taken.iloc[bounds[j]:bounds[j + 1]] for j in range(n))


def gather_pieces(pieces: list, finish: Callable | None):
    out = pd.concat(pieces) if len(pieces) > 1 else pieces[0]
    return finish(out) if finish is not None else out


def split_to_disk(part, splitter: Callable, folder: str, i: int) -> tuple:
    """Split ``part`` and write each non-empty piece to ``folder``; the file names (None: empty)."""
    os.makedirs(folder, exist_ok=True)
    names = []
    for j, piece in enumerate(split_partition(part, splitter)):
        if len(piece) == 0:
            names.append(None)
            continue
        path = os.path.join(folder, f"{i}-{j}.pkl")
        with open(path + ".tmp", "wb") as f:
            pickle.dump(piece, f, protocol=5)
        os.replace(path + ".tmp", path)
        names.append(path)
    return tuple(names)


def gather_from_disk(paths: list, meta, finish: Callable | None):
    """Read (and delete) the pieces of one output partition, then concatenate and finish."""
    pieces = []
    for path in paths:
        if path is None:
            continue
        with open(path, "rb") as f:
            pieces.append(pickle.load(f))
        os.remove(path)
    return gather_pieces(pieces or [meta], finish)


def _shuffle_folder(token: str) -> str:
    from teem.core import config
    root = config.get("temporary-directory", None) or tempfile.gettempdir()
    return os.path.join(root, f"teem-shuffle-{token}")


def shuffle_method(method: str | None) -> str:
    """The shuffle method to use: ``method``, else the ``dataframe.shuffle.method`` setting."""
    from teem.core import config
    method = method or config.get("dataframe.shuffle.method", None) or "tasks"
    if method not in ("tasks", "disk"):
        raise ValueError(f"shuffle method {method!r} is not supported; use 'tasks' (in memory) or 'disk'")
    return method


def shuffle(frame, splitter, finish: Callable | None = None, name: str = "shuffle",
            divisions: tuple | None = None, meta: Any = None, method: str | None = None):
    """``frame``'s rows regrouped into ``splitter.npartitions`` partitions (see the module docstring).

    Parameters
    ----------
    frame:
        A teem DataFrame or Series.
    splitter:
        Gives each row of a partition its output number (a HashSplitter or RangeSplitter).
    finish:
        Applied to every output partition (e.g. a sort); must keep the structure
        (``meta``) unless ``meta`` is given.
    divisions:
        The output's divisions (default unknown).
    method:
        ``'tasks'`` (pieces in memory) or ``'disk'`` (pieces in files); default: the
        ``dataframe.shuffle.method`` setting, else ``'tasks'``.
    """
    from teem.dataframe.core import new_collection
    m = splitter.npartitions
    method = shuffle_method(method)
    token = tokenize(frame._name, splitter, finish, method)
    split_name, piece_name, out_name = f"{name}-split-{token}", f"{name}-piece-{token}", f"{name}-{token}"
    folder = _shuffle_folder(token) if method == "disk" else None
    layer: dict = {}
    for i in range(frame.npartitions):
        src, key = (frame._name, i), (split_name, i)
        if folder is None:
            layer[key] = Task(key, split_partition, (Ref(src), splitter), None, (src,))
        else:
            layer[key] = Task(key, split_to_disk, (Ref(src), splitter, folder, i), None, (src,))
        for j in range(m):
            pkey = (piece_name, i, j)
            layer[pkey] = Task(pkey, operator.getitem, (Ref(key), j), None, (key,))
    for j in range(m):
        pieces = tuple((piece_name, i, j) for i in range(frame.npartitions))
        key = (out_name, j)
        if folder is None:
            layer[key] = Task(key, gather_pieces, (RefSeq(list, pieces), finish), None, pieces)
        else:
            layer[key] = Task(key, gather_from_disk, (RefSeq(list, pieces), frame._meta, finish), None, pieces)
    return new_collection(Graph(layer, (frame._graph,)), out_name, frame._meta if meta is None else meta,
                          divisions if divisions is not None else (None,) * (m + 1))
