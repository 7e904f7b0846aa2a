"""Reductions of bags as trees: count, sum, mean, frequencies, topk, foldby, take, accumulate ...

A reduction has three steps, each a plain function:

1. ``perpartition(part)`` reduces one partition (an iterable, possibly a lazy
   one fused with the steps that make it) to a small value.  Empty partitions
   give :class:`~teem.bag.partition.NoResult` for reductions that cannot
   reduce nothing (``max``), so one empty partition does not fail the whole.
2. ``combine(values)`` merges the values of at most ``split_every``
   partitions; groups are merged level by level, so no task gathers all
   partitions at once.  As in Dask, it is applied at every level, even to a
   single value.
3. ``finalize(value)`` makes the result (for ``mean``, total / count).

If every partition was empty, the last step reduces an empty list instead, so
the result is what Python gives for an empty sequence (``sum([]) == 0``;
``max([])`` raises).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter
from functools import partial
from operator import itemgetter
from typing import Any, Callable

from teem.core.graph import Graph, combine_levels
from teem.core.task import Ref, RefSeq, Task, funcname
from teem.core.tokenize import tokenize
from teem.bag import partition as P
from teem.bag.core import Bag, Item
from teem.bag.partition import NoResult, apply_partition, no_default, reify

__all__ = ["reduction", "count", "simple", "moments", "fold", "foldby", "frequencies", "topk", "distinct",
           "take", "accumulate", "DEFAULT_SPLIT_EVERY"]

DEFAULT_SPLIT_EVERY = 8


def _identity(x):
    return x


def empty_safe(perpartition: Callable, part):
    """``perpartition(part)``, or :class:`NoResult` if the partition is empty."""
    it = iter(part)
    first = next(it, NoResult)
    if first is NoResult:
        return NoResult
    return perpartition(itertools.chain((first,), it))


def combine_step(combine: Callable, values: list):
    values = [v for v in values if v is not NoResult]
    if not values:
        return NoResult
    return combine(values)


def final_step(combine: Callable, finalize: Callable, perpartition: Callable, values: list):
    values = [v for v in values if v is not NoResult]
    if not values:  # every partition was empty: reduce an empty one
        values = [perpartition([])]
    return finalize(combine(values))


def reduction(bag: Bag, perpartition: Callable, aggregate: Callable, split_every: int | None = None,
              out_type: type = Item, name: str | None = None, finalize: Callable | None = None,
              allow_empty: bool = False):
    """A tree reduction of ``bag`` (see the module docstring).

    Parameters
    ----------
    perpartition:
        Reduces one partition (an iterable) to a value.
    aggregate:
        Combines a list of such values into one (applied at every level of the tree).
    split_every:
        Values combined per task (default 8).
    out_type:
        :class:`Item` (one value) or :class:`Bag` (one partition: the result must be iterable).
    finalize:
        Applied to the last combined value (default: nothing).
    allow_empty:
        ``perpartition`` accepts empty partitions (skip the emptiness check).

    Returns
    -------
    Item or Bag
    """
    split_every = split_every or DEFAULT_SPLIT_EVERY
    if split_every < 2:
        raise ValueError(f"split_every must be at least 2, not {split_every}")
    finalize = finalize or _identity
    token = tokenize(bag.name, perpartition, aggregate, split_every, out_type, finalize)
    prefix = name or funcname(perpartition)
    part_name = f"{prefix}-part-{token}"
    layer: dict = {}
    for i in range(bag.npartitions):
        key = (part_name, i)
        src = (bag.name, i)
        if allow_empty:
            layer[key] = Task(key, apply_partition, (perpartition, Ref(src)), None, (src,))
        else:
            layer[key] = Task(key, apply_partition, (empty_safe, perpartition, Ref(src)), None, (src,))
    keys = [(part_name, i) for i in range(bag.npartitions)]
    prefix = name or funcname(aggregate)
    keys = combine_levels(layer, keys, split_every, lambda level: f"{prefix}-combine{level}-{token}",
                          combine_step, aggregate)
    out_name = f"{name or funcname(aggregate)}-aggregate-{token}"
    key = (out_name, 0)
    group = tuple(keys)
    if out_type is Bag:
        layer[key] = Task(key, reify, (final_step, aggregate, finalize, perpartition, RefSeq(list, group)),
                          None, group)
        return Bag(Graph(layer, (bag.__teem_graph__(),)), out_name, 1)
    layer[key] = Task(key, final_step, (aggregate, finalize, perpartition, RefSeq(list, group)), None, group)
    return Item(Graph(layer, (bag.__teem_graph__(),)), key)


# --- the usual reductions ----------------------------------------------------------------------


def _sum_all(values):
    return sum(values)


def count(bag: Bag, split_every: int | None = None) -> Item:
    """The number of elements (text files count lines without making strings of them)."""
    return reduction(bag, P.count_items, _sum_all, split_every, name="count", allow_empty=True)


def _all(values):
    return all(values)


def _any(values):
    return any(values)


_SIMPLE = {"sum": (sum, True), "min": (min, False), "max": (max, False), "all": (all, True),
           "any": (any, True)}


def simple(bag: Bag, kind: str, split_every: int | None = None) -> Item:
    """``sum``, ``min``, ``max``, ``all`` or ``any`` of the elements."""
    func, allow_empty = _SIMPLE[kind]
    return reduction(bag, func, func, split_every, name=kind, allow_empty=allow_empty)


def _moments_chunk(part):
    """``(n, mean, M2)`` of the values of one partition (M2: sum of squared deviations)."""
    values = part if type(part) is list else list(part)
    n = len(values)
    if not n:
        return 0, 0.0, 0.0
    mean = sum(values) / n
    return n, mean, sum((x - mean) ** 2 for x in values)


def _moments_combine(parts):
    """Chan et al.'s pairwise update: moments of the union of the parts."""
    n, mean, m2 = parts[0]
    for nb, mb, m2b in parts[1:]:
        if not nb:
            continue
        total = n + nb
        delta = mb - mean
        mean = mean + delta * nb / total
        m2 = m2 + m2b + delta * delta * n * nb / total
        n = total
    return n, mean, m2


def _moments_final(value, kind: str, ddof: int):
    n, mean, m2 = value
    if kind == "mean":
        if not n:
            raise ZeroDivisionError("mean of an empty bag")
        return float(mean)
    if n - ddof <= 0:
        raise ZeroDivisionError(f"variance of {n} element(s) with ddof={ddof}")
    var = m2 / (n - ddof)
    return float(math.sqrt(var) if kind == "std" else var)


def moments(bag: Bag, kind: str, ddof: int = 0) -> Item:
    """``mean``, ``var`` or ``std`` of the elements (numbers), as floats."""
    return reduction(bag, _moments_chunk, _moments_combine, name=kind, allow_empty=True,
                     finalize=partial(_moments_final, kind=kind, ddof=ddof))


def _reduce_values(binop, values, initial=no_default):
    return P.fold_partition(binop, values, initial)


def fold(bag: Bag, binop: Callable, combine: Callable | None, initial: Any = no_default,
         split_every: int | None = None, out_type: type = Item):
    """``functools.reduce`` with ``binop`` in each partition, then with ``combine`` across them."""
    combine = combine or binop
    perpartition = partial(P.fold_partition, binop, initial=initial)
    return reduction(bag, perpartition, partial(_reduce_values, combine), split_every, out_type,
                     name=f"fold-{funcname(binop)}", allow_empty=initial is not no_default)


# --- reductions whose result is a bag of one partition ------------------------------------------


def _key_function(key) -> Callable:
    return key if callable(key) else itemgetter(key)


def _reduceby(key: Callable, binop: Callable, initial, part) -> dict:
    out: dict = {}
    if initial is no_default:
        for x in part:
            k = key(x)
            out[k] = binop(out[k], x) if k in out else x
    else:
        make = initial if callable(initial) else None
        for x in part:
            k = key(x)
            if k in out:
                out[k] = binop(out[k], x)
            else:
                out[k] = binop(make() if make else initial, x)
    return out


def _merge_by(combine: Callable, combine_initial, dicts: list) -> dict:
    grouped: dict = {}
    for d in dicts:
        for k, v in d.items():
            grouped.setdefault(k, []).append(v)
    return {k: _reduce_values(combine, vs, combine_initial) for k, vs in grouped.items()}


def _items(d: dict) -> list:
    return list(d.items())


def foldby(bag: Bag, key, binop: Callable, initial: Any = no_default, combine: Callable | None = None,
           combine_initial: Any = no_default, split_every: int | None = None) -> Bag:
    """Group by ``key`` and fold each group, partition by partition, then across partitions.

    Returns a Bag of one partition holding ``(key, value)`` pairs.  Unlike
    :meth:`Bag.groupby`, no element moves between partitions: only the small
    per-partition dicts are combined.
    """
    combine = combine or binop
    key = _key_function(key)
    return reduction(bag, partial(_reduceby, key, binop, initial), partial(_merge_by, combine, combine_initial),
                     split_every, Bag, name=f"foldby-{funcname(binop)}", finalize=_items, allow_empty=True)


def _counter(part) -> Counter:
    return Counter(part)


def _merge_counters(counters: list) -> Counter:
    out = Counter()
    for c in counters:
        out.update(c)
    return out


def _frequency_items(counter: Counter, sort: bool) -> list:
    if sort:
        return counter.most_common()
    return list(counter.items())


def frequencies(bag: Bag, split_every: int | None = None, sort: bool = False) -> Bag:
    """``(element, count)`` pairs: a Bag of one partition."""
    return reduction(bag, _counter, _merge_counters, split_every, Bag, name="frequencies", allow_empty=True,
                     finalize=partial(_frequency_items, sort=sort))


def _nlargest(k: int, key, part) -> list:
    return heapq.nlargest(k, part, key=key)


def _nlargest_of(k: int, key, parts: list) -> list:
    return heapq.nlargest(k, itertools.chain.from_iterable(parts), key=key)


def topk(bag: Bag, k: int, key=None, split_every: int | None = None) -> Bag:
    """The ``k`` largest elements, largest first: a Bag of one partition."""
    if key is not None and not callable(key):
        key = itemgetter(key)
    return reduction(bag, partial(_nlargest, k, key), partial(_nlargest_of, k, key), split_every, Bag,
                     name="topk", allow_empty=True)


def _distinct_chunk(key, part) -> dict:
    if key is None:
        return dict.fromkeys(part)
    out: dict = {}
    for x in part:
        out.setdefault(key(x), x)
    return out


def _distinct_merge(key, dicts: list) -> dict:
    out: dict = {}
    for d in dicts:
        for k, v in d.items():
            out.setdefault(k, v)
    return out


def _distinct_values(key, d: dict) -> list:
    return list(d) if key is None else list(d.values())


def distinct(bag: Bag, key=None) -> Bag:
    """The elements without repeats, in order of first appearance: a Bag of one partition."""
    if key is not None and not callable(key):
        key = itemgetter(key)
    return reduction(bag, partial(_distinct_chunk, key), partial(_distinct_merge, key), None, Bag,
                     name="distinct", allow_empty=True, finalize=partial(_distinct_values, key))


# --- take and accumulate -----------------------------------------------------------------------


def _take_from(k: int, parts: list) -> list:
    return list(itertools.islice(itertools.chain.from_iterable(parts), k))


def take(bag: Bag, k: int, npartitions: int = 1, compute: bool = True, warn: bool = True):
    """The first ``k`` elements of the first ``npartitions`` partitions (-1: all), as a tuple."""
    if npartitions <= -1:
        npartitions = bag.npartitions
    if npartitions > bag.npartitions:
        raise ValueError(f"take(npartitions={npartitions}) asks for more partitions than the bag has "
                         f"({bag.npartitions}); pass npartitions=-1 to use them all")
    token = tokenize(bag.name, k, npartitions)
    name = f"take-{token}"
    if npartitions == 1:
        src = (bag.name, 0)
        layer = {(name, 0): Task((name, 0), reify, (P.take_first, k, Ref(src)), None, (src,))}
    else:
        part_name = f"take-part-{token}"
        layer = {}
        for i in range(npartitions):
            src = (bag.name, i)
            layer[(part_name, i)] = Task((part_name, i), apply_partition, (P.take_first, k, Ref(src)), None, (src,))
        keys = tuple((part_name, i) for i in range(npartitions))
        layer[(name, 0)] = Task((name, 0), reify, (_take_from, k, RefSeq(list, keys)), None, keys)
    result = Bag(Graph(layer, (bag.__teem_graph__(),)), name, 1)
    if not compute:
        return result
    values = tuple(result.compute())
    if len(values) < k and warn:
        import warnings
        warnings.warn(f"Insufficient elements for `take`. {k} elements requested, only {len(values)} "
                      "elements available. Try passing larger `npartitions` to `take`.", stacklevel=3)
    return values


def accumulate(bag: Bag, binop: Callable, initial: Any = no_default) -> Bag:
    """Running results of ``binop`` through the partitions in order (a chain of tasks)."""
    token = tokenize(bag.name, binop, initial)
    fname = funcname(binop)
    pairs, values, carries = f"{fname}-part-{token}", f"{fname}-{token}", f"{fname}-carry-{token}"
    layer: dict = {}
    for i in range(bag.npartitions):
        src = (bag.name, i)
        carry = Ref((carries, i - 1)) if i else None
        deps = (src, (carries, i - 1)) if i else (src,)
        layer[(pairs, i)] = Task((pairs, i), apply_partition,
                                 (P.accumulate_partition, binop, carry, Ref(src), initial), None, deps)
        layer[(values, i)] = Task((values, i), reify, (P.first_of, Ref((pairs, i))), None, ((pairs, i),))
        layer[(carries, i)] = Task((carries, i), P.second_of, (Ref((pairs, i)),), None, ((pairs, i),))
    return Bag(Graph(layer, (bag.__teem_graph__(),)), values, bag.npartitions)
