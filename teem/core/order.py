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

__all__ = ["order", "MissingDependencyError"]


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
    DONE, ACTIVE = 2, 1
    state: dict = {}
    result: list = []
    append = result.append
    for root in outputs:
        if root in state:
            continue
        if root not in graph:
            raise MissingDependencyError(f"key {root!r} was requested but is not in the graph")
        deps = graph[root].dependencies
        if not deps:
            state[root] = DONE
            append(root)
            continue
        state[root] = ACTIVE
        stack = [(root, iter(deps))]
        while stack:
            key, pending = stack[-1]
            for dep in pending:
                s = state.get(dep)
                if s is None:
                    try:
                        task = graph[dep]
                    except KeyError:
                        raise MissingDependencyError(
                            f"task {key!r} depends on {dep!r}, which is not in the graph"
                        ) from None
                    if task.dependencies:
                        state[dep] = ACTIVE
                        stack.append((dep, iter(task.dependencies)))
                        break
                    state[dep] = DONE
                    append(dep)
                elif s == ACTIVE:
                    raise CycleError(_cycle_from(stack, dep))
            else:
                stack.pop()
                state[key] = DONE
                append(key)
    return result


def _cycle_from(stack: list, repeated: Key) -> list:
    keys = [k for k, _ in stack]
    start = keys.index(repeated)
    return keys[start:] + [repeated]
