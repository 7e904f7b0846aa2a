"""``Bag.groupby``: a hash shuffle in tasks.

1. *split*: each input partition sorts its elements into ``npartitions``
   buckets by a hash of their key (``{key: [elements]}`` per bucket);
2. *pieces*: one small task per (input, bucket) takes that bucket out, so on
   the processes scheduler only the bucket travels to the process that
   collects it, not the whole split partition;
3. *collect*: output partition ``j`` merges bucket ``j`` of every input into
   ``(key, [elements])`` pairs.

All-to-all: ``n_in * n_out`` piece tasks, fine for the tens to hundreds of
partitions bags usually have.  Elements of a group keep their order (input
partition, then position).

The hash must agree between processes, and Python's does not: worker
processes hash ``str``, ``bytes``, dates (and ``None`` before 3.12) with
different seeds.  So strings and bytes are hashed here with xxhash, tuples
and frozensets element by element, numbers with Python's ``hash`` (which is
deterministic for them, and equal for ``1 == 1.0 == True``), and any other
key by its :func:`~teem.core.tokenize.tokenize` token (equal values, equal
tokens, in every process).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any, Callable

import xxhash

from teem.core.graph import Graph
from teem.core.task import Ref, RefSeq, Task
from teem.core.tokenize import tokenize
from teem.bag.core import Bag
from teem.bag.partition import apply_partition, reify

__all__ = ["groupby", "stable_hash"]

_MASK = (1 << 64) - 1


def stable_hash(key: Any) -> int:
    """A hash of ``key`` that is the same in every process (see the module docstring)."""
    t = type(key)
    if t is str:
        return xxhash.xxh64_intdigest(key.encode("utf-8", "surrogatepass"))
    if t is bytes:
        return xxhash.xxh64_intdigest(key)
    if t is tuple:
        h = 0x345678
        for item in key:
            h = ((h * 1000003) ^ stable_hash(item)) & _MASK
        return h
    if t is int or t is float or t is bool:
        return hash(key)
    if key is None:
        return 0
    if t is frozenset:
        h = 0
        for item in key:
            h ^= stable_hash(item)
        return h
    return int(tokenize(key)[:16], 16)


def _split(grouper: Callable, nbuckets: int, part) -> list:
    buckets: list = [{} for _ in range(nbuckets)]
    for x in part:
        k = grouper(x)
        bucket = buckets[stable_hash(k) % nbuckets]
        group = bucket.get(k)
        if group is None:
            bucket[k] = [x]
        else:
            group.append(x)
    return buckets


def _bucket(buckets: list, j: int) -> dict:
    return buckets[j]


def _collect(pieces: list) -> list:
    groups: dict = {}
    for piece in pieces:
        for k, values in piece.items():
            group = groups.get(k)
            if group is None:
                groups[k] = values
            else:
                group.extend(values)
    return list(groups.items())


def groupby(bag: Bag, grouper, npartitions: int | None = None, method: str | None = None) -> Bag:
    """Group the elements of ``bag`` by ``grouper(x)`` (or ``x[grouper]`` if not callable).

    Parameters
    ----------
    grouper:
        A function of an element, or an index/key to take from each element.
    npartitions:
        Partitions of the result (default: as many as ``bag``).
    method:
        ``None`` or ``'tasks'`` (the hash shuffle); ``'disk'`` is accepted for
        Dask compatibility and runs the same shuffle.

    Returns
    -------
    Bag
        ``(key, [elements])`` pairs, each key in exactly one partition.

    Example
    -------
    >>> import teem.bag as db
    >>> b = db.from_sequence(range(6), npartitions=2)
    >>> sorted(b.groupby(lambda x: x % 2).compute(scheduler="sync"))
    [(0, [0, 2, 4]), (1, [1, 3, 5])]
    """
    if method not in (None, "tasks", "disk"):
        raise ValueError(f"groupby method {method!r} is not known; use 'tasks' (the default)")
    if not callable(grouper):
        grouper = itemgetter(grouper)
    n_in = bag.npartitions
    n_out = npartitions or n_in
    if n_out < 1:
        raise ValueError(f"npartitions must be at least 1, not {n_out}")
    token = tokenize(bag.name, grouper, n_out)
    split_name, piece_name, name = f"groupby-split-{token}", f"groupby-piece-{token}", f"groupby-{token}"
    layer: dict = {}
    for i in range(n_in):
        src = (bag.name, i)
        layer[(split_name, i)] = Task((split_name, i), apply_partition, (_split, grouper, n_out, Ref(src)),
                                      None, (src,))
        for j in range(n_out):
            key = (piece_name, i, j)
            layer[key] = Task(key, _bucket, (Ref((split_name, i)), j), None, ((split_name, i),))
    for j in range(n_out):
        keys = tuple((piece_name, i, j) for i in range(n_in))
        layer[(name, j)] = Task((name, j), reify, (_collect, RefSeq(list, keys)), None, keys)
    return Bag(Graph(layer, (bag.__teem_graph__(),)), name, n_out)
