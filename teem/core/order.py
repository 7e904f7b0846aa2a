"""Run order: which task to start first, found in one linear pass.

:func:`order` walks the graph depth-first from the requested keys and lists
every task after all of its dependencies (post-order).  The walk also culls
(tasks no output needs are never reached) and detects cycles.

Depth-first post-order finishes one branch before it starts the next: in
``sum(f(g(i)) for i in range(n))`` it lists ``g(0), f(0), g(1), f(1), ...``
rather than every ``g`` first.  Schedulers start the ready task that comes
earliest in this order, so chains complete, their intermediate results are
freed early, and memory stays bounded by the width of the work in flight
rather than by the size of the graph.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from teem.core.errors import CycleError, TeemError
from teem.core.task import Key

__all__ = ["order", "prioritize", "MissingDependencyError"]


class MissingDependencyError(TeemError, KeyError):
    """A task refers to a key that is not in the graph."""

    def __str__(self) -> str:  # KeyError would show the repr of the message
        return self.args[0]


def order(graph: Mapping, outputs: Iterable[Key]) -> list:
    """Keys needed for ``outputs``, each after its dependencies.

    Raises
    ------
    CycleError
        If a task depends, directly or not, on itself.
    MissingDependencyError
        If an output or a dependency is not a key of ``graph``.
    """
    return prioritize(graph, outputs)[0]


def prioritize(graph: Mapping, outputs: Iterable[Key]) -> tuple[list, dict]:
    """:func:`order`'s list, plus each key's place in it (its priority)."""
    ACTIVE = -1  # on the walk's stack; finished keys map to their place in the list
    place: dict = {}
    result: list = []
    append = result.append
    for root in outputs:
        if root in place:
            continue
        if root not in graph:
            raise MissingDependencyError(f"key {root!r} was requested but is not in the graph")
        # Two parallel stacks: keys being visited, and for each the iterator over its
        # dependencies still to visit (None for a task with a single dependency: the
        # common chain link, walked without making an iterator).
        keys = [root]
        pending_deps = [iter(graph[root].dependencies)]
        place[root] = ACTIVE
        while keys:
            pending = pending_deps[-1]
            if pending is None:  # a chain link, entered below: its one dependency is done
                dep = None
            else:
                for dep in pending:
                    s = place.get(dep)
                    if s is None:
                        break
                    if s == ACTIVE:
                        raise CycleError(_cycle_from(keys, dep))
                else:
                    dep = None
            while dep is not None:  # descend: along chain links, without returning to the outer loop
                try:
                    deps = graph[dep].dependencies
                except KeyError:
                    raise MissingDependencyError(
                        f"task {keys[-1]!r} depends on {dep!r}, which is not in the graph") from None
                if not deps:
                    place[dep] = len(result)
                    append(dep)
                    break
                place[dep] = ACTIVE
                keys.append(dep)
                if len(deps) > 1:
                    pending_deps.append(iter(deps))
                    break
                pending_deps.append(None)
                dep = deps[0]
                s = place.get(dep)
                if s is not None:
                    if s == ACTIVE:
                        raise CycleError(_cycle_from(keys, dep))
                    break
            else:
                key = keys.pop()
                pending_deps.pop()
                place[key] = len(result)
                append(key)
    return result, place


def _cycle_from(keys: list, repeated: Key) -> list:
    start = keys.index(repeated)
    return keys[start:] + [repeated]
