"""What runs inside a bag's tasks: per-partition steps on iterables.

A bag partition is a list at task boundaries (results that are stored, sent
between processes or returned) and an iterator inside a task.  Every
per-partition step here takes iterables and returns an iterator (``map``,
``filter``, ... or a small generator), so a chain of steps fused into one task
(:mod:`teem.bag.optimize`) streams: read, decode, filter and count one chunk of
lines at a time, in bounded memory.

Two task functions mark the boundaries:

- :func:`reify` -- ``list(func(*args))``: a partition of a bag.  The optimizer
  may inline such a task into its only consumer *without* the ``list``, so the
  consumer receives the lazy iterator.
- :func:`apply_partition` -- ``func(*args)`` for per-partition results that are
  not partitions (reduction intermediates, shuffle pieces); iterators among the
  results are materialised, since they cannot leave the task.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterator
from functools import reduce as _reduce
from operator import itemgetter

__all__ = ["reify", "apply_partition", "NoResult", "no_default", "count_items", "as_list"]


class NoResult:
    """Stands for "this partition was empty" in reductions (compared by identity).

    A class, not an instance, so that it keeps its identity through pickling.
    """


class no_default:
    """Marks an argument that was not given (``None`` may be a real value)."""


def reify(func, *args, **kwargs) -> list:
    """``func(*args, **kwargs)`` as a list: the value of one bag partition."""
    out = func(*args, **kwargs)
    return out if type(out) is list else list(out)


def apply_partition(func, *args, **kwargs):
    """``func(*args, **kwargs)``, with an iterator result made into a list."""
    out = func(*args, **kwargs)
    return list(out) if isinstance(out, Iterator) else out


def as_list(part) -> list:
    """A partition as a list (a copy only when it is not one already)."""
    return part if type(part) is list else list(part)


def passthrough(part):
    """The partition itself (the per-partition step of :func:`teem.bag.from_delayed`)."""
    return part


def count_items(part) -> int:
    """The number of items of an iterable, in C speed, without keeping them."""
    if type(part) is list:
        return len(part)
    fast = getattr(part, "count_lines", None)  # a text stream counts lines without making them
    if fast is not None:
        return fast()
    counter = itertools.count()
    deque(zip(part, counter), maxlen=0)
    return next(counter)


# --- element-wise steps ------------------------------------------------------------------------


def map_with(func, part, args: tuple, kwargs: dict):
    """``func(x, *args, **kwargs)`` for each ``x`` of the partition."""
    if not kwargs:
        if not args:
            return map(func, part)
        return map(func, part, *[itertools.repeat(a) for a in args])
    return (func(x, *args, **kwargs) for x in part)


def map_zipped(func, bag_positions: tuple, args: tuple, kwargs: dict, bag_kwargs: tuple):
    """``func`` over several partitions element by element; other arguments repeat."""
    iters = [iter(a) if i in bag_positions else itertools.repeat(a) for i, a in enumerate(args)]
    if not kwargs:
        return map(func, *iters)
    kw_iters = {k: iter(v) for k, v in kwargs.items() if k in bag_kwargs}
    fixed = {k: v for k, v in kwargs.items() if k not in bag_kwargs}
    return _map_kw(func, iters, kw_iters, fixed)


def _map_kw(func, iters, kw_iters, fixed):
    names = list(kw_iters)
    for values in zip(zip(*iters) if iters else itertools.repeat(()), *kw_iters.values()):
        yield func(*values[0], **dict(zip(names, values[1:])), **fixed)


def starmap_with(func, part, kwargs: dict):
    """``func(*x, **kwargs)`` for each tuple ``x`` of the partition."""
    if not kwargs:
        return itertools.starmap(func, part)
    return (func(*x, **kwargs) for x in part)


def filter_with(predicate, part, args: tuple, kwargs: dict):
    if not args and not kwargs:
        return filter(predicate, part)
    return (x for x in part if predicate(x, *args, **kwargs))


def remove_with(predicate, part, args: tuple, kwargs: dict):
    if not args and not kwargs:
        return itertools.filterfalse(predicate, part)
    return (x for x in part if not predicate(x, *args, **kwargs))


def flatten(part):
    return itertools.chain.from_iterable(part)


def pluck(key, part, default=no_default):
    if default is no_default:
        if isinstance(key, list):
            getter = itemgetter(*key)
            if len(key) == 1:
                return ((x[key[0]],) for x in part)
            return map(getter, part)
        return map(itemgetter(key), part)
    return (_get_default(x, key, default) for x in part)


def _get_default(x, key, default):
    if isinstance(key, list):
        return tuple(_get_default(x, k, default) for k in key)
    try:
        return x[key]
    except (KeyError, IndexError, TypeError):
        return default


def map_partitions_with(func, bag_positions: tuple, args: tuple, kwargs: dict, bag_kwargs: tuple):
    """``func`` on whole partitions (given as lists); other arguments as they are."""
    args = [as_list(a) if i in bag_positions else a for i, a in enumerate(args)]
    if bag_kwargs:
        kwargs = {k: as_list(v) if k in bag_kwargs else v for k, v in kwargs.items()}
    return func(*args, **kwargs)


def zip_partitions(*parts):
    return zip(*parts)


def product_partitions(left, right):
    return itertools.product(left, right)


def range_partition(start: int, stop: int):
    return range(start, stop)


def concat_lists(parts) -> list:
    """One list from many partitions."""
    return list(itertools.chain.from_iterable(parts))


def take_first(k: int, part) -> list:
    return list(itertools.islice(part, k))


def accumulate_partition(binop, carry, part, initial=no_default):
    """Running ``binop`` over the partition, continuing from the previous partition's last value.

    ``carry`` is ``(has_last, last)`` from the partition before, or None for the first.
    Returns ``(values, carry)`` for this partition.
    """
    if carry is not None and carry[0]:
        values = list(itertools.accumulate(part, binop, initial=carry[1]))[1:]
    elif carry is None and initial is not no_default:
        values = list(itertools.accumulate(part, binop, initial=initial))
    else:
        values = list(itertools.accumulate(part, binop))
    if values:
        return values, (True, values[-1])
    return values, carry if carry is not None else (False, None)


def fold_partition(binop, part, initial=no_default):
    if initial is no_default:
        return _reduce(binop, part)
    return _reduce(binop, part, initial)


def first_of(pair):
    return pair[0]


def second_of(pair):
    return pair[1]


def join_partition(on_other, other, on_self, part):
    """Pairs ``(o, x)`` for the elements ``o`` of ``other`` whose key matches ``x``'s (an inner join)."""
    index: dict = {}
    for o in other:
        index.setdefault(on_other(o), []).append(o)
    for x in part:
        for o in index.get(on_self(x), ()):
            yield o, x


def sample_partition(prob: float, seed: int, part):
    """The elements kept with probability ``prob`` each, by a generator seeded for this partition."""
    import random
    draw = random.Random(seed).random
    return (x for x in part if draw() < prob)
