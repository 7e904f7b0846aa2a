"""Tasks: the one unit of work in every teem graph.

A key names a result: a string, or a tuple ``(name, i, j, ...)`` for chunks.
A :class:`Task` holds a function, its arguments and the keys it depends on.
Arguments that are results of other tasks appear as :class:`Ref` markers;
containers holding refs are packed once, when the task is built, into
:class:`Packed` nodes, so running a task never walks plain arguments and
dependencies are never rediscovered.  :class:`DataNode` is a task whose result
is a value known in advance (``delayed(x)``).
"""

from __future__ import annotations

import operator
from functools import partial
from typing import Any, Callable, Hashable, Iterable, Mapping

__all__ = ["Key", "Ref", "Packed", "Task", "DataNode", "RefSeq", "identity", "key_name", "key_prefix", "is_key",
           "funcname"]

Key = Hashable  # str, or tuple (name, i, j, ...)


def key_name(key: Key) -> str:
    """The name part of a key: ``'inc-ab12'`` for ``'inc-ab12'`` or ``('inc-ab12', 3)``."""
    return key[0] if type(key) is tuple else str(key)


def key_prefix(key: Key) -> str:
    """What the tasks of one function share, for progress bars and task streams.

    ``'inc'`` for ``'inc-3f2a'`` or ``('inc-3f2a', 0)`` (the name up to its last hyphen).
    """
    name = key_name(key)
    head, sep, _ = name.rpartition("-")
    return head if sep and head else name


def is_key(obj: Any) -> bool:
    """Whether ``obj`` has the shape of a key (str, or tuple starting with a str)."""
    t = type(obj)
    return t is str or (t is tuple and bool(obj) and type(obj[0]) is str)


def funcname(func: Any) -> str:
    """A short readable name for a callable, used as the prefix of keys."""
    while isinstance(func, partial):
        func = func.func
    if isinstance(func, operator.methodcaller):
        return str(func).split("(", 1)[1].split(",")[0].split(")")[0].strip("'\"")
    name = getattr(func, "__name__", None) or type(func).__name__
    return "lambda" if name == "<lambda>" else name


class Ref:
    """Stands, inside a task's arguments, for the result of the task ``key``."""

    __slots__ = ("key",)

    def __init__(self, key: Key):
        self.key = key

    def __repr__(self) -> str:
        return f"Ref({self.key!r})"

    def __reduce__(self):
        return Ref, (self.key,)

    def __eq__(self, other):
        return type(other) is Ref and other.key == self.key

    def __hash__(self):
        return hash(("teem-ref", self.key))


class Packed:
    """A list, tuple, set or dict whose items include refs, rebuilt at run time."""

    __slots__ = ("kind", "items")

    def __init__(self, kind: type, items: tuple):
        self.kind = kind  # list, tuple, set, frozenset or dict (items are (k, v) pairs)
        self.items = items

    def build(self, data: Mapping) -> Any:
        if self.kind is dict:
            return {k: _resolve(v, data) for k, v in self.items}
        items = [_resolve(item, data) for item in self.items]
        return items if self.kind is list else self.kind(items)

    def __reduce__(self):
        return Packed, (self.kind, self.items)

    def __repr__(self) -> str:
        return f"Packed({self.kind.__name__}, {self.items!r})"


class RefSeq:
    """A list or tuple made entirely of refs: stores only the keys (no object per item)."""

    __slots__ = ("kind", "keys")

    def __init__(self, kind: type, keys: tuple):
        self.kind = kind
        self.keys = keys

    def build(self, data: Mapping) -> Any:
        items = [data[k] for k in self.keys]
        return items if self.kind is list else self.kind(items)

    def __reduce__(self):
        return RefSeq, (self.kind, self.keys)

    def __repr__(self) -> str:
        return f"RefSeq({self.kind.__name__}, {len(self.keys)} keys)"


def _resolve(arg: Any, data: Mapping) -> Any:
    t = type(arg)
    if t is Ref:
        return data[arg.key]
    if t is Packed or t is RefSeq:
        return arg.build(data)
    if t is Task:
        return arg(data)
    return arg


def _dedupe(keys: Iterable[Key]) -> tuple:
    return tuple(dict.fromkeys(keys))


class Task:
    """A call ``func(*args, **kwargs)`` whose result is stored under ``key``.

    Parameters
    ----------
    key:
        The name of the result.
    func:
        Any callable.
    args, kwargs:
        Arguments, already packed: results of other tasks appear as
        :class:`Ref` (or :class:`Packed` containers holding refs).
    dependencies:
        The keys of those refs. Given by the builder, who found them while
        packing; when omitted they are found by scanning the arguments once.
    """

    __slots__ = ("key", "func", "args", "kwargs", "dependencies")

    def __init__(self, key: Key, func: Callable, args: tuple = (), kwargs: dict | None = None,
                 dependencies: Iterable[Key] | None = None):
        self.key = key
        self.func = func
        self.args = args
        self.kwargs = kwargs or None
        if dependencies is None:
            found: list = []
            _scan(args, found)
            if kwargs:
                _scan(tuple(kwargs.values()), found)
            self.dependencies = _dedupe(found)
        else:
            self.dependencies = dependencies if type(dependencies) is tuple else _dedupe(dependencies)

    def __call__(self, data: Mapping) -> Any:
        """Run the task, taking the results it depends on from ``data``."""
        if not self.dependencies:
            if self.kwargs is None:
                return self.func(*self.args)
            return self.func(*self.args, **self.kwargs)
        args = self.args
        if self.kwargs is None:
            if len(args) == 1 and type(args[0]) is Ref:  # a link of a chain
                return self.func(data[args[0].key])
            return self.func(*[_resolve(a, data) for a in args])
        args = [_resolve(a, data) for a in args]
        return self.func(*args, **{k: _resolve(v, data) for k, v in self.kwargs.items()})

    def with_key(self, key: Key) -> "Task":
        return Task(key, self.func, self.args, self.kwargs, self.dependencies)

    def __reduce__(self):
        return Task, (self.key, self.func, self.args, self.kwargs, self.dependencies)

    def __repr__(self) -> str:
        name = getattr(self.func, "__name__", type(self.func).__name__)
        return f"<Task {self.key!r} {name}(...) deps={list(self.dependencies)}>"


class DataNode:
    """A task whose result is ``value``, known when the graph is built."""

    __slots__ = ("key", "value")
    dependencies = ()
    func = None

    def __init__(self, key: Key, value: Any):
        self.key = key
        self.value = value

    def __call__(self, data: Mapping) -> Any:
        return self.value

    def with_key(self, key: Key) -> "DataNode":
        return DataNode(key, self.value)

    def __reduce__(self):
        return DataNode, (self.key, self.value)

    def __repr__(self) -> str:
        return f"<DataNode {self.key!r} {type(self.value).__name__}>"


def _scan(args: tuple, found: list) -> None:
    for a in args:
        t = type(a)
        if t is Ref:
            found.append(a.key)
        elif t is Packed:
            _scan(a.items if a.kind is not dict else tuple(v for _, v in a.items), found)
        elif t is RefSeq:
            found.extend(a.keys)
        elif t is Task:
            found.extend(a.dependencies)


def identity(x):
    """Return ``x``: the function of tasks that only rebuild or forward a value."""
    return x
