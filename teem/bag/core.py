"""The :class:`Bag` collection (partitions of Python objects) and its scalar :class:`Item`.

A Bag is a graph plus a ``name`` and a number of partitions: partition ``i``
is the result of key ``(name, i)``, a list of objects.  Element-wise
operations (``map``, ``filter``, ``pluck``, ...) add one task per partition;
the graph optimizer (:mod:`teem.bag.optimize`) later fuses chains of them into
single tasks that stream, so ``read_text(...).filter(f).count()`` runs as one
task per file and only the counts leave the worker processes.

Reductions, shuffles and I/O live in sibling modules; the methods here forward
to them.  Bags run on the ``processes`` scheduler by default, as in Dask.
"""

from __future__ import annotations

from typing import Any, Callable

from teem.core.base import compute, persist
from teem.core.delayed import Delayed, _pack_value
from teem.core.graph import Graph
from teem.core.task import Packed, Ref, Task, funcname
from teem.core.tokenize import tokenize
from teem.bag import partition as P
from teem.bag.item import Item, short_name
from teem.bag.partition import no_default, reify

__all__ = ["Bag", "Item", "partitionwise", "pack_argument", "finalize_bag"]


def finalize_bag(parts: list) -> list:
    """All partitions of a bag, joined into one list."""
    if len(parts) == 1:
        return parts[0] if type(parts[0]) is list else list(parts[0])
    return P.concat_lists(parts)


def _rebuild_bag(graph: Graph, name: str, npartitions: int) -> "Bag":
    return Bag(graph, name, npartitions)


def pack_argument(value: Any, deps: list, graphs: list) -> Any:
    """A task argument for ``value``: Items, Delayed and other collections become refs.

    Containers holding them are packed; plain values stay as they are.
    """
    return _pack_value(_items_as_delayed(value), deps, graphs)


def _items_as_delayed(value: Any) -> Any:
    """``value`` with Items (also in lists, tuples and dicts) seen as the Delayed they are."""
    if isinstance(value, Item):
        return Delayed(value._key, {}, (value._graph,))
    if isinstance(value, Bag):
        raise TypeError(f"a Bag ({value!r}) cannot be passed here as a whole value; pass "
                        "b.to_delayed() or compute it first, or give it as a partition-wise argument")
    t = type(value)
    if (t is list or t is tuple) and value:
        return t(_items_as_delayed(v) for v in value)
    if t is dict and value:
        return {k: _items_as_delayed(v) for k, v in value.items()}
    return value


def partitionwise(name: str, func: Callable, *args: Any, task_func: Callable = reify,
                  npartitions: int | None = None) -> "Bag":
    """A Bag whose partition ``i`` is ``task_func(func, *args_i)``.

    Each Bag in ``args`` stands for its partition ``i``; other collections
    (Items, Delayed) for their value, the same in every partition; plain values
    for themselves.  All Bags must have the same number of partitions.
    """
    bags = [a for a in args if isinstance(a, Bag)]
    if bags:
        npartitions = bags[0].npartitions
        for b in bags[1:]:
            if b.npartitions != npartitions:
                raise ValueError(
                    f"partition-wise operations need bags with the same number of partitions; got "
                    f"{npartitions} and {b.npartitions} ({bags[0]!r}, {b!r}); use repartition() first")
    if npartitions is None:
        raise ValueError("partitionwise() needs at least one Bag argument or npartitions=")
    common_deps: list = []
    graphs: list = [b._graph for b in bags]
    packed = [None if isinstance(a, Bag) else pack_argument(a, common_deps, graphs) for a in args]
    layer = {}
    for i in range(npartitions):
        key = (name, i)
        targs = tuple(Ref((a._name, i)) if isinstance(a, Bag) else p for a, p in zip(args, packed))
        deps = [(b._name, i) for b in bags] + common_deps
        layer[key] = Task(key, task_func, (func, *targs), None, tuple(dict.fromkeys(deps)))
    return Bag(Graph(layer, tuple(graphs)), name, npartitions)


def _split_bag_args(args: tuple, kwargs: dict):
    """Packing of mixed arguments: bag partitions are refs inside a Packed tuple/dict."""
    bag_positions = tuple(i for i, a in enumerate(args) if isinstance(a, Bag))
    bag_kwargs = tuple(k for k, v in kwargs.items() if isinstance(v, Bag))
    return bag_positions, bag_kwargs


class Bag:
    """A parallel collection of Python objects, split into partitions.

    Build bags with :func:`teem.bag.from_sequence`, :func:`teem.bag.read_text`,
    :func:`teem.bag.from_delayed` or :func:`teem.bag.range`.  Operations return
    new bags (or :class:`Item` for reductions) and run nothing; ``compute()``
    returns a list.

    Parameters
    ----------
    graph:
        The graph holding a task for every partition key ``(name, i)``.
    name:
        The name of the partitions' keys.
    npartitions:
        The number of partitions.
    """

    __slots__ = ("_graph", "_name", "_npartitions", "__weakref__")
    __teem_scheduler__ = "processes"

    def __init__(self, graph: Graph, name: str, npartitions: int):
        self._graph = graph
        self._name = name
        self._npartitions = npartitions

    # --- collection protocol ---
    def __teem_graph__(self) -> Graph:
        return self._graph

    def __teem_keys__(self) -> list:
        return [(self._name, i) for i in range(self._npartitions)]

    def __teem_postcompute__(self):
        return finalize_bag, ()

    def __teem_postpersist__(self):
        return _rebuild_bag, (self._name, self._npartitions)

    @staticmethod
    def __teem_optimize__(graph: dict, keys: list) -> dict:
        from teem.bag.optimize import fuse_partitions
        return fuse_partitions(graph, keys)

    def __teem_tokenize__(self):
        return ("teem.Bag", self._name, self._npartitions)

    # --- attributes ---
    @property
    def name(self) -> str:
        return self._name

    @property
    def npartitions(self) -> int:
        return self._npartitions

    @property
    def dask(self) -> dict:
        """The task graph as a dict of key -> task."""
        return self._graph.to_dict()

    @property
    def str(self):
        """String methods applied to every element: ``b.str.lower()``, ``b.str.split(' ')``."""
        from teem.bag.strings import StringAccessor
        return StringAccessor(self)

    def __repr__(self) -> str:
        return f"teem.bag<{short_name(self._name)}, npartitions={self._npartitions}>"

    __str__ = __repr__

    def __iter__(self):
        return iter(self.compute())

    # --- computing ---
    def compute(self, **kwargs: Any) -> list:
        """Compute the bag and return its elements as one list.

        Keyword arguments as for :func:`teem.compute` (``scheduler=``, ``num_workers=``).
        """
        return compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any) -> "Bag":
        """Compute the partitions and return a Bag whose graph holds them."""
        return persist(self, **kwargs)[0]

    def visualize(self, filename: str | None = "mydask", format: str | None = None, **kwargs):
        from teem.core.visualize import visualize
        return visualize(self, filename=filename, format=format, **kwargs)

    def to_delayed(self, optimize_graph: bool = True) -> list:
        """One :class:`~teem.core.delayed.Delayed` per partition (each computes to a list).

        With ``optimize_graph`` the chains of per-partition steps are fused first.
        """
        keys = self.__teem_keys__()
        graph = self._graph
        if optimize_graph:
            graph = Graph(self.__teem_optimize__(graph.to_dict(), keys))
        return [Delayed(k, {}, (graph,)) for k in keys]

    # --- element-wise ---
    def map(self, func: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Apply ``func`` to every element: ``func(x, *args, **kwargs)``.

        Bags among ``args``/``kwargs`` (same number of partitions) are walked
        along element by element; Items and Delayed are passed whole to every call.

        Example
        -------
        >>> import teem.bag as db
        >>> db.from_sequence([1, 2, 3]).map(lambda x: x * 10).compute(scheduler="sync")
        [10, 20, 30]
        """
        name = f"{funcname(func)}-{tokenize(self._name, func, args, kwargs)}"
        bag_positions, bag_kwargs = _split_bag_args(args, kwargs)
        if not bag_positions and not bag_kwargs:
            return partitionwise(name, P.map_with, func, self, args, kwargs)
        return _map_bags(name, P.map_zipped, func, (self, *args), kwargs,
                         (0, *(i + 1 for i in bag_positions)), bag_kwargs)

    def starmap(self, func: Callable, **kwargs: Any) -> "Bag":
        """Apply ``func`` to every element unpacked: ``func(*x, **kwargs)``."""
        name = f"{funcname(func)}-{tokenize(self._name, func, 'starmap', kwargs)}"
        return partitionwise(name, P.starmap_with, func, self, kwargs)

    def filter(self, predicate: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Keep the elements for which ``predicate(x, *args, **kwargs)`` is true."""
        return self._select(P.filter_with, "filter", predicate, args, kwargs)

    def remove(self, predicate: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Drop the elements for which ``predicate(x)`` is true (the opposite of :meth:`filter`)."""
        return self._select(P.remove_with, "remove", predicate, args, kwargs)

    def _select(self, step, prefix, predicate, args, kwargs) -> "Bag":
        name = f"{prefix}-{funcname(predicate)}-{tokenize(self._name, predicate, args, kwargs)}"
        return partitionwise(name, step, predicate, self, args, kwargs)

    def flatten(self) -> "Bag":
        """Concatenate the elements, which must be iterables: ``[[1, 2], [3]] -> [1, 2, 3]``."""
        return partitionwise(f"flatten-{tokenize(self._name)}", P.flatten, self)

    def pluck(self, key: Any, default: Any = no_default) -> "Bag":
        """``x[key]`` for every element (a list of keys gives tuples); ``default`` when missing."""
        name = f"pluck-{tokenize(self._name, key, default)}"
        return partitionwise(name, P.pluck, key, self, default)

    def join(self, other, on_self: Callable, on_other: Callable | None = None) -> "Bag":
        """``(o, x)`` pairs of elements ``o`` of ``other`` and ``x`` of this bag with equal keys.

        ``other`` is a small collection given whole to every partition: an
        iterable, a Delayed, or a Bag of one partition.
        """
        if isinstance(other, Bag):
            if other.npartitions != 1:
                raise NotImplementedError(
                    f"join() takes a Bag of one partition, not {other.npartitions}; use "
                    "other.repartition(1), or groupby on both bags")
            other = Delayed((other.name, 0), {}, (other._graph,))
        name = f"join-{tokenize(self._name, other, on_self, on_other)}"
        return partitionwise(name, P.join_partition, on_other or on_self, other, on_self, self)

    def random_sample(self, prob: float, random_state: int | None = None) -> "Bag":
        """Each element kept with probability ``prob`` (reproducible with ``random_state``)."""
        import random
        if not 0 <= prob <= 1:
            raise ValueError(f"prob must be between 0 and 1, not {prob}")
        rng = random.Random(random_state)
        seeds = [rng.getrandbits(64) for _ in range(self._npartitions)]
        name = f"random-sample-{tokenize(self._name, prob, seeds)}"
        layer = {}
        for i, seed in enumerate(seeds):
            src = (self._name, i)
            layer[(name, i)] = Task((name, i), reify, (P.sample_partition, prob, seed, Ref(src)), None, (src,))
        return Bag(Graph(layer, (self._graph,)), name, self._npartitions)

    def unzip(self, n: int) -> tuple:
        """``n`` bags, the i-th holding element ``i`` of every tuple."""
        return tuple(self.pluck(i) for i in range(n))

    def map_partitions(self, func: Callable, *args: Any, **kwargs: Any) -> "Bag":
        """Apply ``func`` to whole partitions (lists); Bag arguments give their matching partition.

        ``func`` must return an iterable: the new partition.
        """
        name = f"{funcname(func)}-{tokenize(self._name, func, args, kwargs, 'partitions')}"
        bag_positions, bag_kwargs = _split_bag_args(args, kwargs)
        return _map_bags(name, P.map_partitions_with, func, (self, *args), kwargs,
                         (0, *(i + 1 for i in bag_positions)), bag_kwargs)

    def zip(self, *others: "Bag") -> "Bag":
        """Pairs of elements of this bag and ``others`` (same partitioning)."""
        from teem.bag.creation import zip as bag_zip
        return bag_zip(self, *others)

    def product(self, other: "Bag") -> "Bag":
        """The cartesian product of this bag and ``other``: a bag of pairs."""
        from teem.bag.creation import product
        return product(self, other)

    def accumulate(self, binop: Callable, initial: Any = no_default) -> "Bag":
        """Running results of ``binop`` over the bag in order: ``[a, binop(a, b), ...]``."""
        from teem.bag.reductions import accumulate
        return accumulate(self, binop, initial)

    def repartition(self, npartitions: int) -> "Bag":
        """The same elements in ``npartitions`` partitions (order kept)."""
        from teem.bag.creation import repartition
        return repartition(self, npartitions)

    # --- reductions (teem.bag.reductions) ---
    def reduction(self, perpartition: Callable, aggregate: Callable, split_every: int | None = None,
                  out_type: type = None, name: str | None = None):
        """Reduce each partition with ``perpartition``, then combine the results with ``aggregate``."""
        from teem.bag.reductions import reduction
        return reduction(self, perpartition, aggregate, split_every, out_type or Item, name)

    def fold(self, binop: Callable, combine: Callable | None = None, initial: Any = no_default,
             split_every: int | None = None, out_type: type = None):
        """Reduce with ``binop`` in every partition, then ``combine`` (default ``binop``) across them."""
        from teem.bag.reductions import fold
        return fold(self, binop, combine, initial, split_every, out_type or Item)

    def foldby(self, key, binop: Callable, initial: Any = no_default, combine: Callable | None = None,
               combine_initial: Any = no_default, split_every: int | None = None) -> "Bag":
        """Group by ``key`` and reduce each group with ``binop``, without a shuffle: ``(key, value)`` pairs."""
        from teem.bag.reductions import foldby
        return foldby(self, key, binop, initial, combine, combine_initial, split_every)

    def groupby(self, grouper, method: str | None = None, npartitions: int | None = None,
                shuffle: str | None = None, **kwargs) -> "Bag":
        """Group elements by ``grouper(x)`` with a hash shuffle: ``(key, [elements])`` pairs."""
        from teem.bag.groupby import groupby
        return groupby(self, grouper, npartitions=npartitions, method=method or shuffle)

    def frequencies(self, split_every: int | None = None, sort: bool = False) -> "Bag":
        """``(element, count)`` pairs; ``sort=True`` orders them by decreasing count."""
        from teem.bag.reductions import frequencies
        return frequencies(self, split_every, sort)

    def topk(self, k: int, key: Callable | None = None, split_every: int | None = None) -> "Bag":
        """The ``k`` largest elements (by ``key``), largest first."""
        from teem.bag.reductions import topk
        return topk(self, k, key, split_every)

    def distinct(self, key: Callable | None = None) -> "Bag":
        """The elements without repeats (the first of each ``key`` when given)."""
        from teem.bag.reductions import distinct
        return distinct(self, key)

    def count(self, split_every: int | None = None) -> "Item":
        """The number of elements."""
        from teem.bag.reductions import count
        return count(self, split_every)

    def sum(self, split_every: int | None = None) -> "Item":
        from teem.bag.reductions import simple
        return simple(self, "sum", split_every)

    def min(self, split_every: int | None = None) -> "Item":
        from teem.bag.reductions import simple
        return simple(self, "min", split_every)

    def max(self, split_every: int | None = None) -> "Item":
        from teem.bag.reductions import simple
        return simple(self, "max", split_every)

    def all(self, split_every: int | None = None) -> "Item":
        from teem.bag.reductions import simple
        return simple(self, "all", split_every)

    def any(self, split_every: int | None = None) -> "Item":
        from teem.bag.reductions import simple
        return simple(self, "any", split_every)

    def mean(self) -> "Item":
        """The arithmetic mean of the elements (a float)."""
        from teem.bag.reductions import moments
        return moments(self, "mean")

    def var(self, ddof: int = 0) -> "Item":
        """The variance of the elements (``ddof`` as in numpy)."""
        from teem.bag.reductions import moments
        return moments(self, "var", ddof)

    def std(self, ddof: int = 0) -> "Item":
        """The standard deviation of the elements (``ddof`` as in numpy)."""
        from teem.bag.reductions import moments
        return moments(self, "std", ddof)

    def take(self, k: int, npartitions: int = 1, compute: bool = True, warn: bool = True):
        """The first ``k`` elements, read from the first ``npartitions`` partitions only.

        Returns a tuple (or, with ``compute=False``, a Bag of one partition).
        Warns when those partitions hold fewer than ``k`` elements; pass
        ``npartitions=-1`` to look through all of them.
        """
        from teem.bag.reductions import take
        return take(self, k, npartitions, compute, warn)

    # --- output ---
    def to_textfiles(self, path, name_function: Callable | None = None, compression: str | None = "infer",
                     encoding: str = "utf-8", compute: bool = True, storage_options: dict | None = None,
                     last_endline: bool = False, **kwargs):
        """Write one text file per partition (see :func:`teem.bag.to_textfiles`)."""
        from teem.bag.io import to_textfiles
        return to_textfiles(self, path, name_function, compression, encoding, compute, storage_options,
                            last_endline, **kwargs)

    def to_dataframe(self, meta: Any = None, columns: Any = None, optimize_graph: bool = True):
        """A :mod:`teem.dataframe` DataFrame with one pandas partition per partition of the bag.

        The elements are the rows: dicts (keys are columns), or tuples/lists (``columns``
        names them). ``meta`` (an empty DataFrame, or ``{column: dtype}``, or a list of
        ``(column, dtype)``) gives the columns and types; without it the bag's first element
        is computed to find them, as Dask does.
        """
        import pandas as pd

        from teem.dataframe.io.pandas import from_delayed
        from teem.dataframe.meta import make_meta

        if meta is None:
            head = self.take(1, warn=False)
            if not head:
                raise ValueError("to_dataframe: the bag's first partition is empty, so its columns "
                                 "cannot be found; pass meta= (an empty DataFrame or {column: dtype})")
            meta = pd.DataFrame(list(head), columns=columns).iloc[:0]
        else:
            meta = make_meta(meta)
            if columns is not None:
                raise ValueError("to_dataframe: give meta= or columns=, not both")
        dtypes = dict(meta.dtypes)
        name = f"to-dataframe-{tokenize(self._name, meta)}"
        frames = partitionwise(name, _partition_frame, self, list(meta.columns), dtypes,
                               task_func=P.apply_partition)  # (a DataFrame, not made a list)
        return from_delayed(frames.to_delayed(optimize_graph=optimize_graph), meta=meta,
                            verify_meta=False)


def _partition_frame(part, columns: list, dtypes: dict):
    import pandas as pd

    return pd.DataFrame(list(part), columns=columns).astype(dtypes)


def _map_bags(name: str, step: Callable, func: Callable, args: tuple, kwargs: dict,
              bag_positions: tuple, bag_kwargs: tuple) -> Bag:
    """Partition-wise ``step(func, bag_positions, args_i, kwargs_i, bag_kwargs)`` over mixed arguments."""
    bags = [a for a in args if isinstance(a, Bag)] + [v for v in kwargs.values() if isinstance(v, Bag)]
    n = bags[0].npartitions
    for b in bags[1:]:
        if b.npartitions != n:
            raise ValueError(f"maps over several bags need the same number of partitions; got {n} and "
                             f"{b.npartitions} ({bags[0]!r}, {b!r}); use repartition() first")
    deps: list = []
    graphs: list = [b._graph for b in bags]
    packed_args = [None if isinstance(a, Bag) else pack_argument(a, deps, graphs) for a in args]
    packed_kw = {k: None if isinstance(v, Bag) else pack_argument(v, deps, graphs) for k, v in kwargs.items()}
    layer = {}
    for i in range(n):
        key = (name, i)
        targs = tuple(Ref((a._name, i)) if isinstance(a, Bag) else p for a, p in zip(args, packed_args))
        tkw = tuple((k, Ref((v._name, i)) if isinstance(v, Bag) else packed_kw[k]) for k, v in kwargs.items())
        part_deps = [(b._name, i) for b in bags]
        layer[key] = Task(key, reify, (step, func, bag_positions, Packed(tuple, targs), Packed(dict, tkw),
                                       bag_kwargs), None, tuple(dict.fromkeys(part_deps + deps)))
    return Bag(Graph(layer, tuple(graphs)), name, n)
