"""Graphs: tasks keyed by the names of their results, merged lazily.

A :class:`Graph` is one *layer* (a mapping of key -> task, or a single task)
plus the graphs it was built on. Combining graphs only links them, so building
a collection step by step costs O(1) per step; :meth:`Graph.to_dict` flattens
the whole structure once, visiting every layer exactly once (O(tasks)).
That is how ``compute`` of 1,000,000 separately built Delayed objects stays
linear, where merging dicts at every step would be quadratic.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping

from teem.core.task import DataNode, Key, Packed, Ref, RefSeq, Task, identity, is_key

__all__ = ["Graph", "from_legacy", "combine_levels"]


class Graph:
    """An immutable task graph: one layer plus the graphs it depends on.

    Parameters
    ----------
    layer:
        A mapping of key -> :class:`Task` / :class:`DataNode`, or one task.
    inputs:
        Graphs whose tasks this layer may refer to.
    """

    # Underscored: Delayed is a Graph, and its public attribute space belongs to the user's objects.
    __slots__ = ("_layer", "_inputs", "__weakref__")

    def __init__(self, layer: Mapping | Task | DataNode | None = None, inputs: tuple = ()):
        self._layer = layer if layer is not None else {}
        self._inputs = inputs

    @classmethod
    def merge(cls, *graphs: "Graph") -> "Graph":
        """A graph holding all tasks of ``graphs``; nothing is copied."""
        graphs = tuple(g for g in graphs if g is not None)
        if len(graphs) == 1:
            return graphs[0]
        return cls(None, graphs)

    def to_dict(self) -> dict:
        """Flatten into one ``{key: task}`` dict, visiting each layer once."""
        return flatten((self,))

    def __reduce__(self):
        # Flattened, as one layer: pickling the nested input graphs would recurse once
        # per layer and fail on long chains of small graphs.
        return Graph, (self.to_dict(),)

    def __repr__(self) -> str:
        return f"<teem.Graph layer of {_layer_len(self._layer)} task(s), {len(self._inputs)} input graph(s)>"


def _layer_len(layer) -> int:
    return 1 if isinstance(layer, (Task, DataNode)) else len(layer)


def flatten(graphs: Iterable[Graph]) -> dict:
    """Merge graphs (and everything they were built on) into one dict."""
    out: dict = {}
    seen: set = set()  # ids of multi-task layers; single tasks are deduplicated by key
    stack = list(graphs)
    pop, extend = stack.pop, stack.extend
    while stack:
        g = pop()
        layer = g._layer
        t = type(layer)
        if t is Task or t is DataNode:
            key = layer.key
            if key in out:
                continue
            out[key] = layer
        else:
            gid = id(g)
            if gid in seen:
                continue
            seen.add(gid)
            out.update(layer)
        if g._inputs:
            extend(g._inputs)
    return out


# --- graphs written the Dask way -------------------------------------------------------------
#
# Users of ``dask.threaded.get(dsk, keys)`` write graphs as dicts of tuples:
# ``{'x': 1, 'y': (inc, 'x'), 'z': (add, 'y', 10)}``.  That format is accepted at
# this one edge and converted to tasks; nothing inside teem reads it.


def from_legacy(dsk: Mapping) -> dict:
    """Convert a Dask-style graph of tuples into ``{key: Task | DataNode}``."""
    out = {}
    for key, value in dsk.items():
        if isinstance(value, (Task, DataNode)):
            out[key] = value if value.key == key else value.with_key(key)
            continue
        converted = _convert(value, dsk)
        if type(converted) is Task:
            out[key] = converted.with_key(key)
        elif type(converted) in (Ref, Packed):
            out[key] = Task(key, identity, (converted,))
        else:
            out[key] = DataNode(key, converted)
    return out


def _convert(value: Any, dsk: Mapping) -> Any:
    t = type(value)
    if t is tuple and value and callable(value[0]):
        args = tuple(_convert(a, dsk) for a in value[1:])
        return Task(None, value[0], args)
    if is_key(value) or t in (int, float):
        try:
            if value in dsk:
                return Ref(value)
        except TypeError:
            pass
        return value
    if t is list:
        items = [_convert(v, dsk) for v in value]
        if any(type(i) in (Ref, Packed, Task) for i in items):
            return Packed(list, tuple(items))
        return value
    return value


def iter_keys(keys: Any) -> Iterator[Key]:
    """Flatten nested lists of keys (as collections report them)."""
    if type(keys) is list:
        for k in keys:
            yield from iter_keys(k)
    else:
        yield keys


def combine_levels(layer: dict, keys: list, split_every: int, level_name: Callable[[int], str],
                   step: Callable, combine: Callable) -> list:
    """Add to ``layer`` the levels of a reduction tree; return the keys of the last level.

    While more than ``split_every`` keys remain, each group of ``split_every`` becomes one task
    ``step(combine, [values...])`` named ``(level_name(depth), i)``: memory and the width of
    each task stay bounded however many partitions there are.
    """
    depth = 0
    while len(keys) > split_every:
        depth += 1
        name = level_name(depth)
        new_keys = []
        for j in range(0, len(keys), split_every):
            group = tuple(keys[j:j + split_every])
            key = (name, j // split_every)
            layer[key] = Task(key, step, (combine, RefSeq(list, group)), None, group)
            new_keys.append(key)
        keys = new_keys
    return keys
