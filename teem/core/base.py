"""compute, persist and the collection protocol every teem collection speaks.

A *collection* (Delayed, Array, DataFrame, Bag, ...) is any object with:

- ``__teem_graph__()``  -> :class:`teem.core.graph.Graph` holding its tasks,
- ``__teem_keys__()``   -> its output keys (a key, or nested lists of keys),
- ``__teem_postcompute__()`` -> ``(finalize, extra_args)``: the user-facing
  result is ``finalize(values, *extra_args)`` with ``values`` nested like the keys,
- ``__teem_postpersist__()`` -> ``(rebuild, extra_args)``: the persisted
  collection is ``rebuild(graph, *extra_args)`` for a graph holding the results,
- ``__teem_scheduler__``: the default scheduler name for this kind of collection,
- optionally ``__teem_optimize__(graph_dict, keys) -> graph_dict``: a rewrite of
  the flattened graph applied before running (skipped with ``optimize_graph=False``).

Choosing where to run is done here and only here, from (first wins): the
``scheduler=`` argument, ``teem.config`` ``scheduler``, an active distributed
Client, and the collection's default.
"""

from __future__ import annotations

import importlib
from concurrent.futures import Executor
from contextlib import ExitStack
from dataclasses import is_dataclass
from typing import Any, Callable

from teem.core import config
from teem.core.errors import SchedulerNameError
from teem.core.gcfreeze import graph_frozen
from teem.core.graph import Graph, flatten, iter_keys
from teem.core.task import DataNode

__all__ = [
    "is_teem_collection", "compute", "persist", "get_scheduler", "register_scheduler",
    "register_default_client", "scheduler_names",
]


def is_teem_collection(obj: Any) -> bool:
    """Whether ``obj`` speaks the collection protocol (as an instance, not a class)."""
    return not isinstance(obj, type) and hasattr(obj, "__teem_graph__")


# --- choosing the scheduler ------------------------------------------------------------------

# name -> "module:function"; imported on first use so that core never imports the engines.
_SCHEDULERS: dict[str, str] = {}


def register_scheduler(names: tuple[str, ...], target: str) -> None:
    """Make ``scheduler=name`` run ``target`` (``"module:get_function"``)."""
    for name in names:
        _SCHEDULERS[name] = target


register_scheduler(("sync", "synchronous", "single-threaded"), "teem.local.run:get_sync")
register_scheduler(("threads", "threading"), "teem.local.run:get_threads")
register_scheduler(("processes", "multiprocessing"), "teem.local.processes:get_processes")


def scheduler_names() -> list[str]:
    return sorted(_SCHEDULERS)


# A function returning the active distributed client's ``get`` (or None); set by
# teem.distributed when a Client is created, so core never imports it.
_default_client: Callable[[], Callable | None] | None = None


def register_default_client(finder: Callable[[], Callable | None] | None) -> None:
    global _default_client
    _default_client = finder


def _resolve_name(name: str) -> Callable:
    target = _SCHEDULERS.get(name.lower())
    if target is None:
        if name.lower() in ("distributed", "dask.distributed", "teem.distributed"):
            get = _default_client() if _default_client else None
            if get is None:
                raise SchedulerNameError(
                    f"scheduler={name!r} needs a running distributed Client; create one with "
                    "teem.distributed.Client() first, or pick a local scheduler: "
                    + ", ".join(repr(n) for n in scheduler_names()))
            return get
        raise SchedulerNameError(
            f"unknown scheduler {name!r}; valid names are "
            + ", ".join(repr(n) for n in scheduler_names())
            + ", 'distributed', a concurrent.futures.Executor, or a get function")
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def get_scheduler(scheduler: Any = None, collections: list | None = None) -> tuple[Callable, dict]:
    """The ``get`` function to run with, plus keyword arguments it needs.

    ``scheduler`` may be a name, a ``get`` function, a
    ``concurrent.futures.Executor``, or an object with a ``get`` method (a Client).
    """
    if scheduler is None:
        scheduler = config.get("scheduler", None)
    if scheduler is None and _default_client is not None:
        get = _default_client()
        if get is not None:
            return get, {}
    if scheduler is None:
        defaults = [getattr(c, "__teem_scheduler__", None) for c in collections or ()]
        scheduler = next((d for d in defaults if d), "threads")
    if isinstance(scheduler, str):
        return _resolve_name(scheduler), {}
    if isinstance(scheduler, Executor):
        return _resolve_name("threads"), {"pool": scheduler}
    if callable(getattr(scheduler, "get", None)):
        return scheduler.get, {}
    if callable(scheduler):
        return scheduler, {}
    raise SchedulerNameError(
        f"scheduler={scheduler!r} is neither a name, an Executor nor a get function; valid names are "
        + ", ".join(repr(n) for n in scheduler_names()))


# --- compute / persist -----------------------------------------------------------------------


def _unpack(args: tuple, traverse: bool) -> tuple[list, list]:
    """Collections to compute, and for each argument the index of its collection (or None).

    A list, tuple, set or dict holding collections becomes one Delayed that
    rebuilds it, so a list of a million Delayed costs one output, not a million.
    """
    collections: list = []
    where: list = []
    for arg in args:
        if not is_teem_collection(arg) and traverse and (
                isinstance(arg, (list, tuple, set, frozenset, dict, slice)) or is_dataclass(arg)):
            from teem.core.delayed import wrap_container  # delayed builds on this module
            arg = wrap_container(arg)
        if is_teem_collection(arg):
            where.append(len(collections))
            collections.append(arg)
        else:
            where.append(None)
    return collections, where


def _rebuild(args: tuple, where: list, results: list) -> tuple:
    return tuple(a if i is None else results[i] for a, i in zip(args, where))


def _run(collections: list, scheduler: Any, kwargs: dict, optimize_graph: bool = True) -> list:
    """Run the graphs of ``collections`` together; values nested like their keys."""
    callbacks = kwargs.pop("callbacks", None) or ()
    if callbacks:  # Dask's compute(callbacks=[...]): active for this run only
        with ExitStack() as stack:
            for cb in (callbacks if isinstance(callbacks, (list, tuple, set)) else [callbacks]):
                stack.enter_context(cb)
            return _run(collections, scheduler, kwargs, optimize_graph)
    get, extra = get_scheduler(scheduler, collections)
    if "num_workers" not in kwargs:
        n = config.get("num_workers", None)
        if n is not None:
            kwargs["num_workers"] = n
    keys = [c.__teem_keys__() for c in collections]
    flat = []
    for ks in keys:
        if type(ks) is list:
            flat.extend(iter_keys(ks))
        else:
            flat.append(ks)
    flat = list(dict.fromkeys(flat))
    graph = flatten([c.__teem_graph__() for c in collections])
    if optimize_graph:  # a collection's own graph rewrite (arrays fuse block pipelines)
        for optimize in dict.fromkeys(getattr(type(c), "__teem_optimize__", None) for c in collections):
            if optimize is not None:
                graph = optimize(graph, flat)
    values = get(graph, flat, **extra, **kwargs)
    del graph
    by_key = dict(zip(flat, values))
    return [_nest(ks, by_key) for ks in keys]


def _nest(keys: Any, values: dict) -> Any:
    if type(keys) is list:
        return [_nest(k, values) for k in keys]
    return values[keys]


def compute(*args: Any, traverse: bool = True, optimize_graph: bool = True,
            scheduler: Any = None, **kwargs: Any) -> tuple:
    """Compute several collections at once, sharing the work they have in common.

    Parameters
    ----------
    *args:
        Collections (Delayed, arrays, ...), or lists/tuples/dicts holding them
        (searched when ``traverse`` is true); other values pass through.
    scheduler:
        ``'sync'``, ``'threads'``, ``'processes'``, ``'distributed'``, a
        ``concurrent.futures.Executor``, or a ``get`` function. Default: the
        ``scheduler`` config value, then an active Client, then the
        collections' own default.
    **kwargs:
        Passed to the scheduler, e.g. ``num_workers=4``.

    Returns
    -------
    tuple
        One result per argument, in the same structure (a list of Delayed
        comes back as a list of values).

    Example
    -------
    >>> import teem as dask
    >>> dask.compute([dask.delayed(pow)(2, i) for i in range(4)])
    ([1, 2, 4, 8],)
    """
    with graph_frozen():
        collections, where = _unpack(args, traverse)
        if not collections:
            return args
        values = _run(collections, scheduler, kwargs, optimize_graph)
    results = []
    for c, v in zip(collections, values):
        finalize, extra = c.__teem_postcompute__()
        results.append(finalize(v, *extra))
    return _rebuild(args, where, results)


def persist(*args: Any, traverse: bool = True, optimize_graph: bool = True,
            scheduler: Any = None, **kwargs: Any) -> tuple:
    """Compute collections and return new ones whose graphs hold the results.

    Later computations on the returned collections start from these results
    instead of recomputing them. Same arguments as :func:`compute`.
    """
    with graph_frozen():
        return _persist(args, traverse, scheduler, kwargs, optimize_graph)


def _persist(args: tuple, traverse: bool, scheduler: Any, kwargs: dict,
             optimize_graph: bool = True) -> tuple:
    # Unlike compute, containers are not wrapped into one Delayed: ``persist([a, b])``
    # gives back a list of persisted collections, as in Dask.
    collections: list = []
    templates = [_find_collections(a, collections, traverse) for a in args]
    if not collections:
        return args
    get, _ = get_scheduler(scheduler, collections)
    persister = getattr(get, "__self__", None)
    if persister is not None and hasattr(persister, "persist"):  # a distributed Client
        done = list(persister.persist(collections, **kwargs))
        return tuple(_refill(t, done) for t in templates)
    values = _run(collections, scheduler, kwargs, optimize_graph)
    out = []
    for c, v in zip(collections, values):
        keys = c.__teem_keys__()
        layer = {}
        for key, value in _pairs(keys, v):
            layer[key] = DataNode(key, value)
        rebuild_collection, extra = c.__teem_postpersist__()
        out.append(rebuild_collection(Graph(layer), *extra))
    return tuple(_refill(t, out) for t in templates)


class _Slot:
    """In a template of persist's arguments: the place of collection ``index``."""

    __slots__ = ("index",)

    def __init__(self, index: int):
        self.index = index


class _Container:
    """In a template of persist's arguments: a container holding collections."""

    __slots__ = ("kind", "items")

    def __init__(self, kind: type, items: Any):
        self.kind = kind    # list, tuple, set, frozenset or dict
        self.items = items  # a list of templates, or a dict of key -> template


_CONTAINERS = (list, tuple, set, frozenset, dict)


def _find_collections(arg: Any, found: list, traverse: bool) -> Any:
    """``arg`` with each collection replaced by a :class:`_Slot`; appends them to ``found``."""
    if is_teem_collection(arg):
        found.append(arg)
        return _Slot(len(found) - 1)
    t = type(arg)
    if not traverse or t not in _CONTAINERS:
        return arg
    before = len(found)
    if t is dict:
        items: Any = {k: _find_collections(v, found, traverse) for k, v in arg.items()}
    else:
        items = [_find_collections(v, found, traverse) for v in arg]
    return _Container(t, items) if len(found) > before else arg


def _refill(template: Any, persisted: list) -> Any:
    """The inverse of :func:`_find_collections`, with persisted collections in the slots."""
    t = type(template)
    if t is _Slot:
        return persisted[template.index]
    if t is _Container:
        if template.kind is dict:
            return {k: _refill(v, persisted) for k, v in template.items.items()}
        values = [_refill(v, persisted) for v in template.items]
        return values if template.kind is list else template.kind(values)
    return template


def _pairs(keys: Any, values: Any):
    """(key, value) pairs of values nested like keys."""
    if type(keys) is list:
        for k, v in zip(keys, values):
            yield from _pairs(k, v)
    else:
        yield keys, values
