"""The :class:`Item`: one value computed from a bag (a reduction's result)."""

from __future__ import annotations

from typing import Any, Callable

from teem.core.base import compute, persist
from teem.core.delayed import Delayed
from teem.core.graph import Graph
from teem.core.task import Ref, Task, funcname
from teem.core.tokenize import tokenize

__all__ = ["Item", "short_name"]


def short_name(name: str) -> str:
    """A key name without its token: ``'count-3fa2...'`` -> ``'count'``."""
    return name.rsplit("-", 1)[0] if "-" in name else name


def _first_item(values: list):
    return values[0]


def _rebuild_item(graph: Graph, key) -> "Item":
    return Item(graph, key)


class Item:
    """One value computed from a bag (a reduction's result): ``compute()`` returns it.

    Items may be passed to :meth:`Bag.map` and friends; every partition then
    receives the same value.
    """

    __slots__ = ("_graph", "_key", "__weakref__")
    __teem_scheduler__ = "processes"

    def __init__(self, graph: Graph, key):
        self._graph = graph
        self._key = key

    def __teem_graph__(self) -> Graph:
        return self._graph

    def __teem_keys__(self) -> list:
        return [self._key]

    def __teem_postcompute__(self):
        return _first_item, ()

    def __teem_postpersist__(self):
        return _rebuild_item, (self._key,)

    @staticmethod
    def __teem_optimize__(graph: dict, keys: list) -> dict:
        from teem.bag.optimize import fuse_partitions
        return fuse_partitions(graph, keys)

    def __teem_tokenize__(self):
        return ("teem.bag.Item", self._key)

    @property
    def key(self):
        return self._key

    @property
    def dask(self) -> dict:
        return self._graph.to_dict()

    def __repr__(self) -> str:
        name = self._key[0] if type(self._key) is tuple else str(self._key)
        return f"teem.bag.Item<{short_name(name)}>"

    def compute(self, **kwargs: Any) -> Any:
        """Compute the value; keyword arguments as for :func:`teem.compute`."""
        return compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any) -> "Item":
        return persist(self, **kwargs)[0]

    def to_delayed(self, optimize_graph: bool = True) -> Delayed:
        """The value as a :class:`~teem.core.delayed.Delayed`."""
        graph = self._graph
        if optimize_graph:
            graph = Graph(self.__teem_optimize__(graph.to_dict(), [self._key]))
        return Delayed(self._key, {}, (graph,))

    def apply(self, func: Callable) -> "Item":
        """An Item holding ``func(value)``."""
        name = f"{funcname(func)}-{tokenize(self._key, func)}"
        key = (name, 0)
        return Item(Graph({key: Task(key, func, (Ref(self._key),), None, (self._key,))}, (self._graph,)), key)

    def __getattr__(self, attr: str):
        if attr.startswith("_"):
            raise AttributeError(f"'Item' object has no attribute {attr!r}")
        return getattr(self.to_delayed(optimize_graph=False), attr)
