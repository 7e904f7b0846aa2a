"""Making bags from Python objects, and joining or re-cutting bags.

``from_sequence``, ``from_delayed``, ``range``, ``concat``, ``zip``,
``product`` and ``repartition``.
"""

from __future__ import annotations

import builtins
import math
from typing import Iterable

from teem.core.delayed import Delayed
from teem.core.graph import Graph
from teem.core.task import DataNode, Ref, RefSeq, Task
from teem.core.tokenize import tokenize
from teem.bag import partition as P
from teem.bag.core import Bag, partitionwise
from teem.bag.partition import apply_partition, reify

__all__ = ["from_sequence", "from_delayed", "range", "concat", "zip", "product", "repartition"]


def _even_bounds(length: int, nparts: int) -> list:
    """``nparts + 1`` boundaries splitting ``length`` items into parts differing by at most one.

    The longer parts come first (``3`` items in ``2`` parts: ``2 + 1``, as Dask cuts them).
    """
    q, r = divmod(length, nparts)
    return [i * q + builtins.min(i, r) for i in builtins.range(nparts + 1)]


def from_sequence(seq: Iterable, partition_size: int | None = None, npartitions: int | None = None) -> Bag:
    """A Bag of the elements of ``seq``.

    Parameters
    ----------
    seq:
        Any iterable; it is read once, here.
    partition_size:
        Elements per partition.
    npartitions:
        Number of partitions: the elements are spread evenly over exactly this
        many (fewer if there are fewer elements).  Give at most one of the two;
        with neither, small sequences get one element per partition (as in
        Dask) and larger ones about ``sqrt(len) / 10`` elements per partition.

    Example
    -------
    >>> import teem.bag as db
    >>> db.from_sequence([1, 2, 3, 4], npartitions=3).compute(scheduler="sync")
    [1, 2, 3, 4]
    """
    seq = list(seq)
    if partition_size is not None and npartitions is not None:
        raise ValueError("from_sequence takes partition_size= or npartitions=, not both")
    n = len(seq)
    if npartitions is not None:
        if npartitions < 1:
            raise ValueError(f"npartitions must be at least 1, not {npartitions}")
        bounds = _even_bounds(n, builtins.max(1, builtins.min(npartitions, n)))
    else:
        if partition_size is None:
            partition_size = 1 if n <= 100 else builtins.max(1, math.ceil(math.sqrt(n) / math.sqrt(100)))
        if partition_size < 1:
            raise ValueError(f"partition_size must be at least 1, not {partition_size}")
        bounds = list(builtins.range(0, n, partition_size)) + [n] if n else [0, 0]
    name = f"from_sequence-{tokenize(seq, bounds)}"
    layer = {}
    for i in builtins.range(len(bounds) - 1):
        layer[(name, i)] = DataNode((name, i), seq[bounds[i]:bounds[i + 1]])
    return Bag(Graph(layer), name, len(layer))


def from_delayed(values) -> Bag:
    """A Bag with one partition per Delayed value (each must compute to an iterable).

    Example
    -------
    >>> import teem, teem.bag as db
    >>> parts = [teem.delayed(list)("ab"), teem.delayed(list)("c")]
    >>> db.from_delayed(parts).compute(scheduler="sync")
    ['a', 'b', 'c']
    """
    if isinstance(values, Delayed):
        values = [values]
    values = list(values)
    for v in values:
        if not isinstance(v, Delayed):
            raise TypeError(f"from_delayed takes Delayed values (teem.delayed(...)), not {type(v).__name__}; "
                            "wrap plain data with from_sequence")
    if not values:
        raise ValueError("from_delayed needs at least one Delayed value")
    name = f"bag-from-delayed-{tokenize(*[v.key for v in values])}"
    layer = {}
    for i, v in enumerate(values):
        layer[(name, i)] = Task((name, i), reify, (P.passthrough, Ref(v.key)), None, (v.key,))
    return Bag(Graph(layer, tuple(v.__teem_graph__() for v in values)), name, len(values))


def range(n: int, npartitions: int) -> Bag:
    """A Bag of ``0 .. n-1`` in ``npartitions`` partitions (made in the workers, not sent)."""
    if npartitions < 1:
        raise ValueError(f"npartitions must be at least 1, not {npartitions}")
    nparts = builtins.max(1, builtins.min(npartitions, n))
    bounds = _even_bounds(n, nparts)
    name = f"range-{n}-npartitions-{nparts}"
    layer = {(name, i): Task((name, i), reify, (P.range_partition, bounds[i], bounds[i + 1]), None, ())
             for i in builtins.range(nparts)}
    return Bag(Graph(layer), name, nparts)


def concat(bags: list) -> Bag:
    """One Bag holding the partitions of ``bags``, in order."""
    bags = list(bags)
    if not bags:
        raise ValueError("concat needs at least one Bag")
    name = f"concat-{tokenize(*[b.name for b in bags])}"
    layer = {}
    i = 0
    for b in bags:
        for j in builtins.range(b.npartitions):
            src = (b.name, j)
            layer[(name, i)] = Task((name, i), reify, (P.passthrough, Ref(src)), None, (src,))
            i += 1
    return Bag(Graph(layer, tuple(b.__teem_graph__() for b in bags)), name, i)


def zip(*bags: Bag) -> Bag:
    """Tuples of corresponding elements of ``bags`` (which must be partitioned alike)."""
    if not bags:
        raise ValueError("zip needs at least one Bag")
    return partitionwise(f"zip-{tokenize(*[b.name for b in bags])}", P.zip_partitions, *bags)


def product(a: Bag, b: Bag) -> Bag:
    """Pairs ``(x, y)`` for every ``x`` of ``a`` and ``y`` of ``b``: ``a.npartitions * b.npartitions`` partitions."""
    name = f"product-{tokenize(a.name, b.name)}"
    layer = {}
    for i in builtins.range(a.npartitions):
        for j in builtins.range(b.npartitions):
            k = i * b.npartitions + j
            deps = tuple(dict.fromkeys(((a.name, i), (b.name, j))))
            layer[(name, k)] = Task((name, k), reify, (P.product_partitions, Ref((a.name, i)), Ref((b.name, j))),
                                    None, deps)
    return Bag(Graph(layer, (a.__teem_graph__(), b.__teem_graph__())), name, a.npartitions * b.npartitions)


def _split_evenly(nparts: int, part) -> list:
    values = P.as_list(part)
    bounds = _even_bounds(len(values), nparts)
    return [values[bounds[i]:bounds[i + 1]] for i in builtins.range(nparts)]


def _piece(pieces: list, j: int) -> list:
    return pieces[j]


def repartition(bag: Bag, npartitions: int) -> Bag:
    """The same elements, in order, in ``npartitions`` partitions.

    Fewer partitions: neighbours are joined.  More: each partition is cut into
    pieces of equal length (sizes are only known when it runs).
    """
    if npartitions < 1:
        raise ValueError(f"npartitions must be at least 1, not {npartitions}")
    n = bag.npartitions
    if npartitions == n:
        return bag
    name = f"repartition-{npartitions}-{tokenize(bag.name)}"
    layer: dict = {}
    if npartitions < n:
        bounds = _even_bounds(n, npartitions)
        for j in builtins.range(npartitions):
            keys = tuple((bag.name, i) for i in builtins.range(bounds[j], bounds[j + 1]))
            layer[(name, j)] = Task((name, j), reify, (P.concat_lists, RefSeq(list, keys)), None, keys)
        return Bag(Graph(layer, (bag.__teem_graph__(),)), name, npartitions)
    split_name = f"repartition-split-{npartitions}-{tokenize(bag.name)}"
    bounds = _even_bounds(npartitions, n)  # output partitions given to each input partition
    out = 0
    for i in builtins.range(n):
        pieces = bounds[i + 1] - bounds[i]
        src = (bag.name, i)
        layer[(split_name, i)] = Task((split_name, i), apply_partition, (_split_evenly, pieces, Ref(src)),
                                      None, (src,))
        for j in builtins.range(pieces):
            layer[(name, out)] = Task((name, out), _piece, (Ref((split_name, i)), j), None, ((split_name, i),))
            out += 1
    return Bag(Graph(layer, (bag.__teem_graph__(),)), name, npartitions)

