"""drop_duplicates: rows without repeats, as a tree reduction or after a hash shuffle.

- ``keep='first'`` / ``'last'`` (one output partition, pandas' order): every
  partition keeps its first (last) copy of each row; partials are
  concatenated in partition order and reduced again, so the copy that
  survives is the one pandas keeps, at its place.
- ``keep=False`` (drop every row that has a copy anywhere): a partial is the
  first copy of each distinct row *plus a flag* saying whether the row was
  seen more than once.  Merging concatenates partials in order; a row is
  repeated if it appears in several partials or any partial flagged it.  The
  last step keeps the rows never repeated -- each one's only copy, in pandas'
  order.
- ``split_out=M`` (M > 1): the rows are hash-shuffled by the compared columns
  into ``M`` partitions (equal rows meet in one, in input order), then each
  partition drops its own duplicates.  Same rows as pandas, grouped by
  partition instead of in pandas' order (as Dask does); divisions unknown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from teem.dataframe.partitionwise import partitionwise
from teem.dataframe.reductions import tree_reduce

__all__ = ["drop_duplicates"]


def _duplicated(part, subset, keep):
    if part.ndim == 1:
        return part.duplicated(keep=keep)
    return part.duplicated(subset=subset, keep=keep)


class _Distinct:
    """keep='first' or 'last': partials are the kept copies, in order."""

    def __init__(self, subset, keep: str, ignore_index: bool):
        self.subset, self.keep, self.ignore_index = subset, keep, ignore_index

    def chunk(self, part):
        return part[~_duplicated(part, self.subset, self.keep).to_numpy()]

    def combine(self, parts: list):
        return self.chunk(pd.concat(parts))

    def aggregate(self, partial):
        return partial.reset_index(drop=True) if self.ignore_index else partial

    def __teem_tokenize__(self):
        return ("distinct", self.subset, self.keep, self.ignore_index)


class _Unrepeated:
    """keep=False: partials are ``(first copies, repeated flags)`` (see the module docstring)."""

    def __init__(self, subset, ignore_index: bool):
        self.subset, self.ignore_index = subset, ignore_index

    def chunk(self, part):
        return self._merge(part, np.zeros(len(part), dtype=bool))

    def _merge(self, rows, flags: np.ndarray):
        repeated = _duplicated(rows, self.subset, False).to_numpy()
        first = ~_duplicated(rows, self.subset, "first").to_numpy()
        return rows[first], (repeated | flags)[first]

    def combine(self, parts: list):
        return self._merge(pd.concat([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))

    def aggregate(self, partial):
        rows, repeated = partial
        out = rows[~repeated]
        return out.reset_index(drop=True) if self.ignore_index else out

    def __teem_tokenize__(self):
        return ("unrepeated", self.subset, self.ignore_index)


def _drop_in_partition(part, subset, keep):
    return part[~_duplicated(part, subset, keep).to_numpy()]


def drop_duplicates(frame, subset=None, keep="first", ignore_index: bool = False,
                    split_every: int | None = None, split_out: int | None = None):
    """Rows (or values) without repeats, as pandas' ``drop_duplicates`` (see the module docstring).

    Parameters
    ----------
    subset:
        Columns compared (default: all).
    keep:
        ``'first'``, ``'last'`` or False (drop every repeated row).
    split_out:
        Output partitions: 1 (default) gives pandas' order; more hash-shuffles first.

    Raises
    ------
    ValueError
        For another ``keep``, or ``ignore_index=True`` with ``split_out > 1``.
    """
    if keep not in ("first", "last", False):
        raise ValueError(f"drop_duplicates(keep={keep!r}): use 'first', 'last' or False")
    if frame.ndim == 2 and subset is not None:
        subset = [subset] if not isinstance(subset, (list, tuple)) else list(subset)
        missing = [c for c in subset if c not in frame._meta.columns]
        if missing:
            raise KeyError(f"drop_duplicates(subset=...): {missing} are not columns; the columns are "
                           f"{list(frame._meta.columns)}")
    if split_out is not None and split_out > 1:
        if ignore_index:
            raise ValueError("drop_duplicates(split_out>1, ignore_index=True): the partitions cannot number "
                             "their rows together; call .reset_index(drop=True) on the computed result")
        from teem.dataframe.shuffle import HashSplitter, shuffle
        on = [] if frame.ndim == 1 else (subset if subset is not None else list(frame._meta.columns))
        grouped = shuffle(frame, HashSplitter(on, split_out), name="drop-duplicates-shuffle")
        return partitionwise(_drop_in_partition, grouped, subset, keep, meta=frame._meta,
                             name="drop-duplicates")
    impl = _Unrepeated(subset, ignore_index) if keep is False else _Distinct(subset, keep, ignore_index)
    return tree_reduce(frame, impl.chunk, impl.combine, impl.aggregate, frame._meta, "drop-duplicates",
                       split_every)
