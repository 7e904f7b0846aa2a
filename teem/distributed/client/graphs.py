"""Turning graphs and ``submit`` calls into the tasks of an ``update-graph`` message.

Pure functions: no connection, no client state beyond what is passed in.
A wire task is ``(key, dependencies, run_spec, priority, retries, workers)``
(``docs/protocol.md``).  Results that already live on the cluster appear in
graphs as ``DataNode(key, future)``: they are never sent as tasks, only
depended upon, which is how persisted collections and futures passed to
``submit`` or ``delayed`` reuse their results.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from teem.core.order import prioritize
from teem.core.task import DataNode, Packed, Ref, Task
from teem.distributed.runspec import FunctionTable, encode_data, encode_task

__all__ = ["pack_futures", "pack_args", "encode_graph", "normalize_workers", "batch_bounds"]

_ATOMIC = frozenset({int, float, str, bytes, bool, type(None), complex, range})


def pack_futures(value: Any, is_future: Callable[[Any], bool], found: list) -> Any:
    """``value`` with futures (also inside lists, tuples, sets and dicts) replaced by refs.

    The keys of the futures are appended to ``found``.
    """
    t = type(value)
    if t in _ATOMIC:
        return value
    if is_future(value):
        found.append(value.key)
        return Ref(value.key)
    if t is list or t is tuple or t is set or t is frozenset:
        before = len(found)
        items = tuple(pack_futures(v, is_future, found) for v in value)
        return Packed(t, items) if len(found) > before else value
    if t is dict:
        before = len(found)
        items = tuple((k, pack_futures(v, is_future, found)) for k, v in value.items())
        return Packed(dict, items) if len(found) > before else value
    return value


def pack_args(args: tuple, is_future: Callable[[Any], bool], deps: list) -> tuple:
    """Positional arguments with futures (also nested in containers) replaced by refs."""
    return tuple(pack_futures(a, is_future, deps) for a in args)


def encode_graph(graph: Mapping, outputs: Iterable, functions: FunctionTable,
                 is_future: Callable[[Any], bool], priority_prefix: tuple = (),
                 retries: int = 0, workers: tuple | None = None) -> tuple[list, list]:
    """The wire tasks for computing ``outputs`` of ``graph``, and the futures it relies on.

    Tasks are culled to what ``outputs`` need and given their place in
    :func:`~teem.core.order.prioritize`'s order, after ``priority_prefix``.

    Returns
    -------
    (tasks, held)
        ``held``: futures found in the graph (their results are dependencies,
        not tasks); the caller keeps them alive until the graph is submitted.
    """
    ordered, place = prioritize(graph, outputs)
    tasks = []
    held = []
    append = tasks.append
    for key in ordered:
        task = graph[key]
        if type(task) is DataNode:
            value = task.value
            if is_future(value):
                held.append(value)
                if value.key == key:
                    continue  # the cluster holds it already
                task = Task(key, _identity, (Ref(value.key),), None, (value.key,))
            else:
                append((key, (), encode_data(value), (*priority_prefix, place[key]), retries, workers))
                continue
        append((key, task.dependencies, encode_task(task, functions),
                (*priority_prefix, place[key]), retries, workers))
    return tasks, held


def _identity(x):
    return x


def normalize_workers(workers: Any) -> tuple | None:
    """``workers=`` of submit/map/compute: an address or name, or a list of them, or None."""
    if workers is None:
        return None
    if isinstance(workers, str):
        return (workers,)
    return tuple(str(w) for w in workers) or None


def batch_bounds(n: int, batch: int, first: int | None) -> list:
    """``(start, stop)`` ranges of at most ``batch`` calls; growing x4 from ``first`` if given."""
    out, start, size = [], 0, min(first or batch, batch)
    while start < n:
        out.append((start, min(start + size, n)))
        start += size
        size = min(size * 4, batch)
    return out
