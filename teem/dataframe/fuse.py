"""Partition fusion: everything done to one partition runs in one task.

``teem.compute(air.DepDelay.max(), air.DepDelay.min(), air.count())`` makes,
per file, a read, a column selection and three reduction chunks.  Run as
separate tasks, the parsed file waits in memory until the last of its
consumers has run -- and the run order (depth first from each output) may
start every read before the first ``count`` chunk, holding all files at
once.  Fused, each file is read, reduced three ways and dropped inside one
task: memory stays at one partition per worker, whatever the order.

A *group* starts at a task without dependencies (a reader, or a value such as
a ``from_pandas`` partition) and takes in every task whose dependencies all
belong to it (a one-to-one pipeline: selections, filters, element-wise
operations, reduction chunks).  Tasks that need several groups (combines,
aggregates, operations on two sources) stay as they are.  A group becomes one
task computing its members in order and freeing each intermediate after its
last use; it returns the members used outside the group, which keep their keys
through small getter tasks.  One pass in topological order, O(tasks + edges).
"""

from __future__ import annotations

import operator
from typing import Mapping, Sequence

from teem.core.graph import iter_keys
from teem.core.order import order
from teem.core.task import DataNode, Ref, RefSeq, Task

__all__ = ["fuse_partitions"]


def run_fused(steps: tuple, outputs: tuple, external: tuple, values: tuple):
    """Run a group: ``steps`` are ``(key, task, keys to free after it)``; return the outputs."""
    data = dict(zip(external, values))
    for key, task, free in steps:
        data[key] = task(data)
        for k in free:
            del data[k]
    if len(outputs) == 1:
        return data[outputs[0]]
    return tuple(data[k] for k in outputs)


def _group_root(args: tuple):
    """The key of the task a fused group starts with (its reader): see ``placement_key``."""
    return args[0][0][0]


# The processes scheduler sends a task back to the worker that ran it in an earlier compute
# (that worker's parsed-partition cache holds the file); a fused task's own key changes with
# what is computed from the file, its reader's key does not.
run_fused.placement_key = _group_root


def _fused_key(root):
    if type(root) is tuple:
        return ("fused-" + str(root[0]), *root[1:])
    return "fused-" + str(root)


def fuse_partitions(graph: Mapping, keys: Sequence) -> Mapping:
    """``graph`` with each partition's pipeline fused into one task (see the module docstring)."""
    outputs = set(iter_keys(list(keys)))
    ordered = order(graph, outputs)
    group: dict = {}       # key -> root key of its group
    members: dict = {}     # root -> keys in topological order
    consumers: dict = {}   # key -> number of tasks using it
    for key in ordered:
        task = graph[key]
        deps = task.dependencies
        for d in deps:
            consumers[d] = consumers.get(d, 0) + 1
        if not deps:
            group[key] = key
            members[key] = [key]
            continue
        if type(task) is not Task:
            continue
        roots = {group.get(d) for d in deps}
        if len(roots) == 1:
            (root,) = roots
            if root is not None:
                group[key] = root
                members[root].append(key)
    new = dict(graph)
    for root, keys_in in members.items():
        fused_members = keys_in[1:] if type(graph[root]) is DataNode else keys_in
        if len(fused_members) < 2:
            continue
        inside = set(fused_members)
        used_inside: dict = {}
        for k in fused_members:
            for d in graph[k].dependencies:
                if d in inside:
                    used_inside[d] = used_inside.get(d, 0) + 1
        outs = tuple(k for k in fused_members
                     if k in outputs or consumers.get(k, 0) > used_inside.get(k, 0))
        last_use: dict = {}
        for j, k in enumerate(fused_members):
            for d in graph[k].dependencies:
                if d in inside:
                    last_use[d] = j
        frees: list = [[] for _ in fused_members]
        for d, j in last_use.items():
            if d not in outs:
                frees[j].append(d)
        steps = tuple((k, graph[k], tuple(frees[j])) for j, k in enumerate(fused_members))
        external = tuple(dict.fromkeys(d for k in fused_members for d in graph[k].dependencies
                                       if d not in inside))
        fused_key = outs[0] if len(outs) == 1 else _fused_key(root)
        values = RefSeq(tuple, external) if external else ()  # a task without dependencies resolves nothing
        fused = Task(fused_key, run_fused, (steps, outs, external, values), None, external)
        for k in fused_members:
            del new[k]
        new[fused_key] = fused
        if len(outs) > 1:
            for j, k in enumerate(outs):
                new[k] = Task(k, operator.getitem, (Ref(fused_key), j), None, (fused_key,))
    return new
