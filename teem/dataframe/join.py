"""merge and join: a broadcast join when one side is small, a hash join otherwise.

Theory of operation
-------------------
pandas' ``merge`` matches rows with equal keys; a partitioned merge only has
to bring rows with equal keys into the same task.

- **Broadcast.**  When one side is a pandas object or a one-partition
  collection, and the join keeps the other side's unmatched rows or none
  (``inner``, or ``left`` with the small side on the right, ``right`` with it on
  the left), every partition of the big side is merged with the whole small
  side: one task per partition, no data moves.
- **Aligned.**  When both sides join on their indexes and both know their
  divisions, each is cut at the union of the two sets of divisions
  (:func:`~teem.dataframe.repartition.repartition`, which reads only the
  partitions overlapping each range) and partition ``j`` of the left is merged
  with partition ``j`` of the right: no shuffle, and the result keeps the
  union divisions.
- **Hash.**  Otherwise both sides are shuffled (:mod:`teem.dataframe.shuffle`)
  into ``max(N_left, N_right)`` groups by a hash of their keys (column values
  or index), so equal keys meet in the group of the same number; group ``j``
  of the left is merged with group ``j`` of the right.

Either way each task calls ``pandas.merge`` with the user's options, so the
columns, suffixes and dtypes are pandas'.  Row order differs from pandas'
(rows come grouped by partition); the index follows pandas' rules per
partition (``merge`` on columns numbers rows afresh in each partition).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from teem.dataframe.meta import nonempty
from teem.dataframe.partitionwise import partitionwise
from teem.dataframe.shuffle import HashSplitter, shuffle

__all__ = ["merge"]

_HOWS = ("inner", "left", "right", "outer", "leftsemi")


def _as_list(x) -> list | None:
    if x is None:
        return None
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _merge_parts(left, right, options: dict):
    return pd.merge(left, right, **options)


def _keys(options: dict, side: str) -> list | None:
    """The key columns of one side (None: its index)."""
    if options.get(f"{side}_index"):
        return None
    return _as_list(options.get("on")) or _as_list(options.get(f"{side}_on"))


def merge(left, right, how: str = "inner", on=None, left_on=None, right_on=None, left_index: bool = False,
          right_index: bool = False, suffixes: tuple = ("_x", "_y"), indicator: bool = False,
          npartitions: int | None = None, broadcast: bool | None = None, shuffle_method: str | None = None,
          **kwargs: Any):
    """Join two DataFrames (or a DataFrame and a pandas DataFrame) on columns or indexes.

    Parameters
    ----------
    left, right:
        teem DataFrames/Series or pandas DataFrames.
    how:
        ``'inner'``, ``'left'``, ``'right'`` or ``'outer'``.
    on, left_on, right_on, left_index, right_index, suffixes, indicator:
        As for :func:`pandas.merge`.
    npartitions:
        Groups of a hash join (default: the larger side's partitions).
    broadcast:
        True forces a broadcast join (the small side must allow it), False a hash join;
        None (default) chooses.
    shuffle_method:
        ``'tasks'`` (in memory) or ``'disk'`` for a hash join; see :mod:`teem.dataframe.shuffle`.

    Returns
    -------
    DataFrame (unknown divisions).

    Example
    -------
    >>> flights.merge(airports, left_on="Dest", right_on="faa", how="left")  # doctest: +SKIP
    """
    from teem.dataframe.core import Frame
    from teem.dataframe.io.pandas import from_pandas
    if how not in _HOWS[:4]:
        raise ValueError(f"merge(how={how!r}) is not supported; use 'inner', 'left', 'right' or 'outer'")
    if not isinstance(left, Frame) and not isinstance(right, Frame):
        raise TypeError("merge() needs at least one teem DataFrame; use pandas.merge for two pandas objects")
    if on is None and left_on is None and right_on is None and not left_index and not right_index:
        lcols = left.columns if hasattr(left, "columns") else [left.name]
        rcols = right.columns if hasattr(right, "columns") else [right.name]
        on = [c for c in lcols if c in set(rcols)]
        if not on:
            raise ValueError("merge(): no common columns to join on; pass on=, left_on=/right_on= or "
                             "left_index=/right_index=")
    options = dict(how=how, on=on, left_on=left_on, right_on=right_on, left_index=left_index,
                   right_index=right_index, suffixes=tuple(suffixes), indicator=indicator, **kwargs)
    options = {k: v for k, v in options.items() if v is not None}
    left_small = _small_beside(left, right)
    right_small = _small_beside(right, left)
    meta = pd.merge(nonempty(_meta_of(left)), nonempty(_meta_of(right)), **options).iloc[:0]

    if broadcast is not True and _aligned_on_index(left, right, options):
        divisions = _union_divisions(left.divisions, right.divisions)
        lparts = left.repartition(divisions=divisions)
        rparts = right.repartition(divisions=divisions)
        return partitionwise(_merge_parts, lparts, rparts, options, meta=meta, name="merge-aligned")
    can_right = right_small and how in ("inner", "left") and isinstance(left, Frame)
    can_left = left_small and how in ("inner", "right") and isinstance(right, Frame)
    if broadcast is None:
        broadcast = can_right or can_left
    if broadcast:
        if not (can_right or can_left):
            raise ValueError(f"merge(broadcast=True, how={how!r}) needs the side whose unmatched rows are "
                             "dropped to be small (pandas, or a few partitions); use broadcast=None")
        small = _whole(right if can_right else left)
        if can_right:
            return partitionwise(_merge_parts, left, small, options, meta=meta, name="merge")
        return partitionwise(_merge_parts, small, right, options, meta=meta, name="merge")

    left = left if isinstance(left, Frame) else from_pandas(left, npartitions=1)
    right = right if isinstance(right, Frame) else from_pandas(right, npartitions=1)
    n = npartitions or max(left.npartitions, right.npartitions)
    lkeys, rkeys = _keys(options, "left"), _keys(options, "right")
    if lkeys is not None and rkeys is not None and len(lkeys) != len(rkeys):
        raise ValueError(f"merge(): left_on has {len(lkeys)} keys but right_on has {len(rkeys)}")
    lgroups = shuffle(left, HashSplitter(lkeys, n), name="merge-left", method=shuffle_method)
    rgroups = shuffle(right, HashSplitter(rkeys, n), name="merge-right", method=shuffle_method)
    return partitionwise(_merge_parts, lgroups, rgroups, options, meta=meta, name="merge")


# A side of at most this many partitions, and at most a quarter of the other side's, is
# broadcast whole to every partition of the other (each task then holds a few partitions'
# worth); a hash join would shuffle both sides. The flights merge with planes in 2
# partitions took 16.1 s as a hash join.
BROADCAST_PARTITIONS = 4


def _small_beside(side, other) -> bool:
    """Whether ``side`` is small enough to broadcast to ``other``'s partitions."""
    from teem.dataframe.core import Frame
    if not isinstance(side, Frame) or side.npartitions == 1:
        return True
    n_other = other.npartitions if isinstance(other, Frame) else 1
    return side.npartitions <= BROADCAST_PARTITIONS and 4 * side.npartitions <= n_other


def _aligned_on_index(left, right, options: dict) -> bool:
    """Both sides are collections joined index to index, with known divisions."""
    from teem.dataframe.core import Frame
    return (isinstance(left, Frame) and isinstance(right, Frame) and bool(options.get("left_index"))
            and bool(options.get("right_index")) and left.known_divisions and right.known_divisions
            and not any(isinstance(side._meta.index.dtype, pd.CategoricalDtype) for side in (left, right)))


def _union_divisions(a: tuple, b: tuple) -> tuple:
    """Every boundary of both, ascending, once."""
    try:
        return tuple(sorted(set(a) | set(b)))
    except TypeError as e:
        raise TypeError(f"merge on indexes: the two sides' divisions cannot be compared ({a[0]!r} vs "
                        f"{b[0]!r}); make the index dtypes match first") from e


def _meta_of(side):
    from teem.dataframe.core import Frame
    return side._meta if isinstance(side, Frame) else side


def _whole(side):
    """The small side as one value every task can take: pandas as is, else its partitions in one."""
    from teem.dataframe.core import Frame
    from teem.dataframe.io.pandas import from_pandas
    if not isinstance(side, Frame):  # one copy in the graph, not one per task
        side = from_pandas(side, npartitions=1, sort=False)
    elif side.npartitions > 1:
        side = side.repartition(npartitions=1)
    return side.to_delayed()[0]
