"""Projection pushdown: readers parse only the columns the graph uses.

``air.DepDelay.max()`` needs one column of every file; parsing the other
seventeen is wasted time.  Before a run, :func:`optimize` walks the graph from
the outputs back to the readers, working out for every task which columns of
its result are used downstream:

- an output is used whole (``ALL``);
- a task whose function has a *rule* (column selection, boolean filter,
  assign, the chunk of ``len`` or of a groupby, column-wise methods) says
  which columns it uses of each input, given which of its own columns are
  used; any other task uses its inputs whole;
- a key used by several tasks needs the union.

A reader task whose needed columns are known is then rewritten to parse only
those (pandas ``usecols``), keeping the key.  One pass in reverse
topological order: O(tasks + edges).  Tasks that work on fewer columns than
they were built for still compute the same thing, since each rule only
narrows to columns the task does not look at.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

from teem.core.graph import iter_keys
from teem.core.order import order
from teem.core.task import Task

__all__ = ["optimize", "ALL", "register_rule", "register_reader"]

ALL = None  # "every column"

#: func -> rule(task, needed_of_output) -> iterable of (dependency key, needed columns or ALL)
RULES: dict = {}
#: func -> rewrite(task, columns) -> a task reading only ``columns`` (or the task unchanged)
READERS: dict = {}


def register_rule(func: Callable, rule: Callable) -> None:
    """Declare which input columns tasks running ``func`` use (see the module docstring)."""
    RULES[func] = rule


def register_reader(func: Callable, rewrite: Callable) -> None:
    """Declare ``func`` a reader whose tasks can be narrowed to some columns by ``rewrite``."""
    READERS[func] = rewrite


def _union(a, b):
    if a is ALL or b is ALL:
        return ALL
    return a | b


def column_needs(graph: Mapping, keys: Sequence) -> dict:
    """For every needed key, the set of its columns used downstream (or ALL)."""
    outputs = list(dict.fromkeys(iter_keys(list(keys))))
    ordered = order(graph, outputs)
    need: dict = {k: ALL for k in outputs}
    for key in reversed(ordered):
        task = graph[key]
        deps = task.dependencies
        if not deps:
            continue
        mine = need.get(key, ALL)
        rule = _rule_of(task)
        contributions = rule(task, mine) if rule is not None else ((d, ALL) for d in deps)
        for dep, cols in contributions:
            need[dep] = _union(need[dep], cols) if dep in need else (ALL if cols is ALL else set(cols))
    return need


def _rule_of(task):
    """The rule for ``task``'s function (or, for a bound method, for the method's function)."""
    if type(task) is not Task:
        return None
    func = task.func
    if _hashable(func) and func in RULES:
        return RULES[func]
    return RULES.get(getattr(func, "__func__", None))


def _hashable(func) -> bool:
    try:
        hash(func)
    except TypeError:
        return False
    return True


def optimize(graph: Mapping, keys: Sequence) -> Mapping:
    """Projection pushdown, then partition fusion (:mod:`teem.dataframe.fuse`)."""
    from teem.dataframe.fuse import fuse_partitions
    return fuse_partitions(pushdown(graph, keys), keys)


def pushdown(graph: Mapping, keys: Sequence) -> Mapping:
    """``graph`` with reader tasks narrowed to the columns used (see the module docstring)."""
    if not READERS:
        return graph
    readers = [k for k, t in graph.items() if type(t) is Task and _hashable(t.func) and t.func in READERS]
    if not readers:
        return graph
    need = column_needs(graph, keys)
    new = None
    for key in readers:
        cols = need.get(key, ALL)
        if cols is ALL:
            continue
        task = graph[key]
        narrowed = READERS[task.func](task, cols)
        if narrowed is not task:
            if new is None:
                new = dict(graph)
            new[key] = narrowed
    return graph if new is None else new
