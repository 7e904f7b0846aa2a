"""teem.bag: parallel lists of Python objects and lines of text (``import teem.bag as db``).

The public names follow ``dask.bag``.  Modules, one job each: ``core`` (the
Bag and Item classes), ``partition`` (what runs inside tasks), ``optimize``
(fusing per-partition steps into streaming tasks), ``creation``,
``reductions``, ``groupby`` (hash shuffle), ``strings`` (``Bag.str``),
``text`` (decompression and line splitting) and ``io`` (``read_text``,
``to_textfiles``).  Bags run on the ``processes`` scheduler by default.
"""

from teem.core.base import compute, persist
from teem.bag.core import Bag, Item
from teem.bag.creation import concat, from_delayed, from_sequence, product, range, repartition, zip
from teem.bag.io import read_text, to_textfiles
from teem.bag.partition import no_default

bag_range, bag_zip = range, zip


def map(func, *args, **kwargs) -> Bag:
    """Apply ``func`` element-wise across the bags among the arguments (same partitioning).

    Non-bag arguments (including Items and Delayed) are passed to every call.
    """
    bags = [a for a in (*args, *kwargs.values()) if isinstance(a, Bag)]
    if not bags:
        raise ValueError("teem.bag.map needs at least one Bag argument")
    first = next(i for i, a in enumerate(args) if isinstance(a, Bag)) if any(
        isinstance(a, Bag) for a in args) else None
    if first == 0:
        return args[0].map(func, *args[1:], **kwargs)
    from teem.bag.core import _map_bags
    from teem.bag.partition import map_zipped
    from teem.core.task import funcname
    from teem.core.tokenize import tokenize
    name = f"{funcname(func)}-{tokenize(func, args, kwargs)}"
    positions = tuple(i for i, a in enumerate(args) if isinstance(a, Bag))
    bag_kwargs = tuple(k for k, v in kwargs.items() if isinstance(v, Bag))
    return _map_bags(name, map_zipped, func, args, kwargs, positions, bag_kwargs)


def map_partitions(func, *args, **kwargs) -> Bag:
    """Apply ``func`` to corresponding partitions (as lists) of the bags among the arguments."""
    bags = [a for a in args if isinstance(a, Bag)]
    if not bags and not any(isinstance(v, Bag) for v in kwargs.values()):
        raise ValueError("teem.bag.map_partitions needs at least one Bag argument")
    if args and isinstance(args[0], Bag):
        return args[0].map_partitions(func, *args[1:], **kwargs)
    from teem.bag.core import _map_bags
    from teem.bag.partition import map_partitions_with
    from teem.core.task import funcname
    from teem.core.tokenize import tokenize
    name = f"{funcname(func)}-{tokenize(func, args, kwargs, 'partitions')}"
    positions = tuple(i for i, a in enumerate(args) if isinstance(a, Bag))
    bag_kwargs = tuple(k for k, v in kwargs.items() if isinstance(v, Bag))
    return _map_bags(name, map_partitions_with, func, args, kwargs, positions, bag_kwargs)


__all__ = [
    "Bag", "Item", "compute", "persist", "from_sequence", "from_delayed", "range", "bag_range", "concat",
    "zip", "bag_zip", "product", "repartition", "read_text", "to_textfiles", "map", "map_partitions",
    "no_default",
]
