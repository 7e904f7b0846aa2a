"""Fusing per-partition steps of bags into single streaming tasks.

``read_text(...).filter(find).count()`` builds three tasks per file: read the
lines, filter them, count them.  Run as written, every line of a file would be
made into a list, stored, and (on the processes scheduler) possibly moved to
another process.  :func:`fuse_partitions` inlines a partition task into its
only consumer as a nested :class:`~teem.core.task.Task` *without* its final
``list``: the consumer receives the producer's lazy iterator, so the fused task
reads, filters and counts one chunk of lines at a time and returns one integer.

A task is inlined when
- its function is :func:`~teem.bag.partition.reify` (a bag partition whose
  lazy form is known),
- it has exactly one consumer, which refers to it once, and it is not an output,
- the consumer is a bag task that accepts iterables (:func:`reify` or
  :func:`~teem.bag.partition.apply_partition`).

One pass in topological order, O(tasks + edges).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from teem.core.graph import iter_keys
from teem.core.fusion import count_refs, run_nested
from teem.core.order import order
from teem.core.task import Packed, Ref, RefSeq, Task
from teem.bag.partition import apply_partition, reify

__all__ = ["fuse_partitions"]

STREAMING_CONSUMERS = {reify, apply_partition}


def fuse_partitions(graph: Mapping, keys: Sequence) -> dict:
    """``graph`` with single-consumer partition tasks inlined, lazily, into their consumers."""
    outputs = set(iter_keys(list(keys)))
    ordered = order(graph, outputs)
    consumers: dict = {}
    for key in ordered:
        for dep in graph[key].dependencies:
            consumers[dep] = consumers.get(dep, 0) + 1
    new: dict = {}
    lazy: dict = {}  # key -> (args, kwargs, deps) of a partition task: lazily, args[0](*args[1:])
    for key in ordered:
        task = graph[key]
        if type(task) is not Task or not task.dependencies or task.func not in STREAMING_CONSUMERS:
            new[key] = task
            if type(task) is Task and task.func is reify:
                lazy[key] = (task.args, task.kwargs, task.dependencies)
            continue
        uses: dict = {}
        count_refs(task.args, uses)
        inline = {}
        for dep in task.dependencies:
            if dep in lazy and consumers.get(dep) == 1 and dep not in outputs and uses.get(dep) == 1:
                args, kwargs, deps = lazy[dep]
                inline[dep] = _make_task(None, args[0], args[1:], kwargs, deps)
        if not inline:
            new[key] = task
            if task.func is reify:
                lazy[key] = (task.args, task.kwargs, task.dependencies)
            continue
        deps: list = []
        for dep in task.dependencies:
            if dep in inline:
                deps.extend(inline[dep].dependencies if inline[dep].func is not run_nested else ())
                del new[dep], lazy[dep]
            else:
                deps.append(dep)
        deps = tuple(dict.fromkeys(deps))
        args = tuple(_substitute(a, inline) for a in task.args)
        new[key] = _make_task(key, task.func, args, task.kwargs, deps)
        if task.func is reify:
            lazy[key] = (args, task.kwargs, deps)
    return new


def _make_task(key, func, args: tuple, kwargs, deps: tuple) -> Task:
    """A task calling ``func``; without dependencies, one that resolves its nested tasks itself.

    (A task without dependencies calls its function on its arguments as they are.)
    """
    if deps:
        return Task(key, func, args, kwargs, deps)
    return Task(key, run_nested, (func, args, kwargs), None, ())



def _substitute(arg, inline: dict):
    t = type(arg)
    if t is Ref:
        return inline.get(arg.key, arg)
    if t is RefSeq:
        if not any(k in inline for k in arg.keys):
            return arg
        return Packed(arg.kind, tuple(inline.get(k, Ref(k)) for k in arg.keys))
    if t is Packed:
        if arg.kind is dict:
            return Packed(dict, tuple((k, _substitute(v, inline)) for k, v in arg.items))
        return Packed(arg.kind, tuple(_substitute(v, inline) for v in arg.items))
    return arg
