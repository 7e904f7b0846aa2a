"""``delayed``: lazy calls on ordinary Python functions and values.

``delayed(f)(x, y)`` builds one :class:`~teem.core.task.Task` and returns a
:class:`Delayed` that stands for its result.  The arguments are searched once
(lists, tuples, sets and dicts included) for Delayed objects and other teem
collections; those become the task's dependencies and their graphs become the
inputs of its graph, so building costs O(size of the arguments) and nothing is
merged until ``compute`` flattens the graph once.

Keys: ``name-token``. With ``pure=True`` the token is :func:`tokenize` of the
function and arguments (same call, same key, computed once); by default
(``pure=False``, as in Dask) each call gets a fresh unique token, which is far
cheaper than hashing arguments.
"""

from __future__ import annotations

import dataclasses
import itertools
import operator
import os
from functools import partial
from types import FunctionType
from typing import Any, Callable

from teem.core.base import compute, is_teem_collection, persist
from teem.core.graph import Graph, iter_keys
from teem.core.operators import ARITHMETIC, COMPARISONS, install_operators
from teem.core.task import DataNode, Packed, Ref, RefSeq, Task, funcname, identity
from teem.core.tokenize import tokenize

__all__ = ["Delayed", "delayed", "unique_token", "funcname"]


# --- names -----------------------------------------------------------------------------------

_counter = itertools.count()
_prefix = os.urandom(6).hex()  # differs between processes, so keys made apart never collide


def _reseed_after_fork() -> None:
    # A forked child shares the parent's prefix (wrappers cache it in their key prefix),
    # so its counter jumps to a random point of a 2**62 range the parent never reaches.
    global _counter
    _counter = itertools.count(int.from_bytes(os.urandom(8)) >> 2 | 1 << 40)


os.register_at_fork(after_in_child=_reseed_after_fork)


def unique_token() -> str:
    """A token no other call (in any process) returns: random prefix + counter."""
    return _prefix + hex(next(_counter))


# --- finding dependencies in arguments -------------------------------------------------------

_ATOMIC = frozenset({int, float, str, bytes, bool, type(None), complex, range})


def _pack_args(args: tuple, deps: list, graphs: list) -> tuple:
    """``args`` with Delayed/collections replaced by refs; fills ``deps`` and ``graphs``."""
    out = None
    for i, a in enumerate(args):
        if type(a) in _ATOMIC:
            continue
        packed = _pack_value(a, deps, graphs)
        if packed is not a:
            if out is None:
                out = list(args)
            out[i] = packed
    return args if out is None else tuple(out)


def _pack_value(value: Any, deps: list, graphs: list) -> Any:
    t = type(value)
    if t in _ATOMIC:
        return value
    if isinstance(value, Delayed):
        graphs.append(value.__teem_graph__())  # first: a DelayedFunction makes its key here
        deps.append(value._key)
        return Ref(value._key)
    if is_teem_collection(value):
        d = _collection_to_delayed(value)
        graphs.append(d)
        deps.append(d._key)
        return Ref(d._key)
    if (t is list or t is tuple) and value and set(map(type, value)) == _JUST_DELAYED:
        keys = tuple(map(_key_of, value))  # common: a list of results; C-speed passes only
        deps.extend(keys)
        graphs.extend(value)
        return RefSeq(t, keys)
    if t is list or t is tuple or t is set or t is frozenset:
        before = len(deps)
        items = tuple(_pack_value(v, deps, graphs) for v in value)
        return Packed(t, items) if len(deps) > before else value
    if t is dict:
        before = len(deps)
        items = tuple((k, _pack_value(v, deps, graphs)) for k, v in value.items())
        return Packed(dict, items) if len(deps) > before else value
    if t is slice:
        return _inline(slice, (value.start, value.stop, value.step), value, deps, graphs)
    if isinstance(value, tuple) and hasattr(t, "_fields"):  # a namedtuple
        return _inline(_make_namedtuple, (t, *value), value, deps, graphs)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value) if f.init}
        return _inline(_make_dataclass, (t, fields), value, deps, graphs)
    return value


_key_of = operator.attrgetter("_key")


def _inline(func: Callable, args: tuple, original: Any, deps: list, graphs: list) -> Any:
    """An inline task rebuilding ``original`` at run time, if its parts hold Delayed."""
    before = len(deps)
    packed = tuple(_pack_value(a, deps, graphs) for a in args)
    if len(deps) == before:
        return original
    return Task(None, func, packed, None, tuple(dict.fromkeys(deps[before:])))


def _make_namedtuple(kind: type, *items: Any) -> Any:
    return kind(*items)


def _make_dataclass(kind: type, fields: dict) -> Any:
    return kind(**fields)


def _finalize_collection(values: Any, finalize: Callable, extra: tuple) -> Any:
    return finalize(values, *extra)


def _nested_refs(keys: Any) -> Any:
    if type(keys) is list:
        return Packed(list, tuple(_nested_refs(k) for k in keys))
    return Ref(keys)


def _collection_to_delayed(collection: Any) -> "Delayed":
    """A Delayed whose value is the collection's computed (finalized) result."""
    keys = collection.__teem_keys__()
    finalize, extra = collection.__teem_postcompute__()
    key = f"finalize-{tokenize(keys, finalize, extra)}"
    task = Task(key, _finalize_collection, (_nested_refs(keys), finalize, extra), None,
                tuple(dict.fromkeys(iter_keys(keys))))
    return Delayed(key, task, (collection.__teem_graph__(),))


def call_function(func: Callable, args: tuple, kwargs: dict, *, pure: bool | None = None,
                  nout: int | None = None, key: Any = None, name: str | None = None) -> "Delayed":
    """The Delayed result of ``func(*args, **kwargs)``; ``func`` may itself be a Delayed."""
    if kwargs:
        key = kwargs.pop("dask_key_name", key)
        pure = kwargs.pop("pure", pure)
    deps: list = []
    graphs: list = []
    if isinstance(func, Delayed):  # calling a lazy value: apply it
        packed_args = _pack_args((func, *args), deps, graphs)
        target, call_args = _apply, packed_args
        name = name or "call"
    else:
        target, call_args = func, _pack_args(args, deps, graphs)
    packed_kwargs = None
    if kwargs:
        packed = _pack_value(kwargs, deps, graphs)
        if type(packed) is Packed:  # kwargs holding Delayed: rebuild them at run time
            call_args = (target, call_args, packed)
            target = _apply_with_kwargs
        else:
            packed_kwargs = kwargs
    if key is None:
        prefix = name or funcname(func)
        token = tokenize(func, args, kwargs) if pure else unique_token()
        key = f"{prefix}-{token}"
    task = Task(key, target, call_args, packed_kwargs, tuple(dict.fromkeys(deps)) if deps else ())
    return Delayed(key, task, tuple(graphs), nout)


def _apply(func, *args, **kwargs):
    return func(*args, **kwargs)


def _apply_with_kwargs(func, args, kwargs):
    return func(*args, **kwargs)


# --- the Delayed object ----------------------------------------------------------------------


class Delayed(Graph):
    """A lazy value: the result of a task not run yet.

    Build them with :func:`delayed`. Operators, indexing, attribute access and
    method calls on a Delayed build further tasks; ``compute()`` runs them.

    A Delayed is itself the graph node holding its task (``_layer``) and the
    graphs of its inputs, so each task built costs one object, not two.
    """

    __slots__ = ("_key", "_length")
    __teem_scheduler__ = "threads"

    def __init__(self, key: Any, layer: Any, inputs: tuple = (), length: int | None = None):
        self._key = key
        self._layer = layer
        self._inputs = inputs
        self._length = length

    # collection protocol
    def __teem_graph__(self) -> Graph:
        return self

    def __teem_keys__(self) -> Any:
        return self._key

    def __teem_postcompute__(self):
        return identity, ()

    def __teem_postpersist__(self):
        return _rebuild, (self.key, self._length)

    def __teem_tokenize__(self):
        return ("teem.Delayed", self.key)

    @property
    def key(self) -> Any:
        return self._key

    @property
    def dask(self) -> dict:
        """The task graph as a dict of key -> task."""
        return self.__teem_graph__().to_dict()

    def compute(self, **kwargs: Any) -> Any:
        """Compute this value; keyword arguments as for :func:`teem.compute`."""
        return compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any) -> "Delayed":
        return persist(self, **kwargs)[0]

    def visualize(self, filename: str | None = "mydask", format: str | None = None, **kwargs):
        """Draw the task graph with graphviz (see :func:`teem.visualize`)."""
        from teem.core.visualize import visualize
        return visualize(self, filename=filename, format=format, **kwargs)

    def __repr__(self) -> str:
        return f"Delayed({self._key!r})"

    def __hash__(self) -> int:
        return hash(self.key)

    def __bool__(self):
        raise TypeError("the truth value of a Delayed is not known until it is computed; "
                        "compute it first, or keep the test inside a delayed function")

    def __len__(self):
        if self._length is None:
            raise TypeError("the length of this Delayed is unknown; pass nout= to delayed() "
                            "to declare how many items the call returns")
        return self._length

    def __iter__(self):
        if self._length is None:
            raise TypeError("this Delayed has no known length and cannot be unpacked; pass "
                            "nout= to delayed() to declare how many items the call returns")
        return (self[i] for i in range(self._length))

    def __setitem__(self, index, value):
        raise TypeError("Delayed objects are immutable; build a new one with a delayed function")

    def __getattr__(self, attr: str) -> "Delayed":
        if attr.startswith("_"):
            raise AttributeError(f"'Delayed' object has no attribute {attr!r}")
        return DelayedAttr(self, attr)

    def __call__(self, *args, **kwargs) -> "Delayed":
        return call_function(self, args, kwargs)

    def __reduce__(self):
        # The graph goes flattened, as one dict: pickling the chain of input graphs
        # would recurse once per task and fail beyond a few hundred dependent tasks.
        return Delayed, (self._key, self.__teem_graph__().to_dict(), (), self._length)


_JUST_DELAYED = {Delayed}  # the types in a list of Delayed results (see _pack_value)


def _rebuild(graph: Graph, key: Any, length: int | None) -> Delayed:
    return Delayed(key, graph._layer, graph._inputs, length)


class DelayedFunction(Delayed):
    """``delayed(func)``: calling it builds a task; computing it gives ``func``."""

    __slots__ = ("_func", "_pure", "_nout", "_name", "_key_prefix")

    def __init__(self, func: Callable, name: str | None = None, pure: bool | None = None,
                 nout: int | None = None):
        # The key of the function itself is made only if it is ever needed (rarely).
        super().__init__(name, None)
        self._func = func
        self._pure = pure
        self._nout = nout
        self._name = func.__name__ if type(func) is FunctionType else funcname(func)
        self._key_prefix = f"{self._name}-{_prefix}"

    def __teem_graph__(self) -> Graph:
        if self._layer is None:
            if self._key is None:
                token = tokenize(self._func) if self._pure else unique_token()
                self._key = f"{self._name}-{token}"
            self._layer = DataNode(self._key, self._func)
        return self

    def __teem_keys__(self) -> Any:
        return self.__teem_graph__()._key

    @property
    def key(self) -> Any:
        return self.__teem_keys__()

    def __call__(self, *args, **kwargs) -> Delayed:
        if kwargs or self._pure or self._nout is not None:
            return call_function(self._func, args, kwargs, pure=self._pure, nout=self._nout,
                                 name=self._name)
        # The common case, kept short: it runs once per task built.
        key = self._key_prefix + hex(next(_counter))
        for a in args:
            if type(a) not in _ATOMIC:
                break
        else:  # no argument can hold a dependency
            return Delayed(key, Task(key, self._func, args, None, ()))
        if len(args) == 1 and type(args[0]) is Delayed:  # a link of a chain
            a = args[0]
            dep = a._key
            return Delayed(key, Task(key, self._func, (Ref(dep),), None, (dep,)), (a,))
        deps: list = []
        graphs: list = []
        packed = []
        for a in args:  # plain values and Delayed results: the usual arguments
            t = type(a)
            if t is Delayed:
                deps.append(a._key)
                graphs.append(a)
                packed.append(Ref(a._key))
            elif t in _ATOMIC:
                packed.append(a)
            else:  # containers, collections, other objects: the general path
                deps.clear()
                graphs.clear()
                packed = _pack_args(args, deps, graphs)
                break
        if len(deps) > 1:
            deps = dict.fromkeys(deps)
        return Delayed(key, Task(key, self._func, tuple(packed), None, tuple(deps)), tuple(graphs))

    def __get__(self, instance, owner):
        # ``@delayed`` on a method: bind the instance as the first argument.
        return self if instance is None else partial(self.__call__, instance)

    @property
    def __wrapped__(self):
        return self._func

    @property
    def __doc__(self):
        return getattr(self._func, "__doc__", None)

    def __reduce__(self):
        return DelayedFunction, (self._func, self._key, self._pure, self._nout)

    def __repr__(self) -> str:
        return f"Delayed({self.key!r})"


class DelayedAttr(Delayed):
    """``obj.attr`` of a Delayed: a lazy attribute, or a method when called."""

    __slots__ = ("_obj", "_attr")

    def __init__(self, obj: Delayed, attr: str):
        obj_graph = obj.__teem_graph__()
        key = f"getattr-{tokenize(obj.key, attr)}"
        task = Task(key, getattr, (Ref(obj.key), attr), None, (obj.key,))
        super().__init__(key, task, (obj_graph,))
        self._obj = obj
        self._attr = attr

    def __call__(self, *args, **kwargs) -> Delayed:
        return call_function(_call_method, (self._obj, self._attr, *args), kwargs, name=self._attr)

    def __reduce__(self):
        return DelayedAttr, (self._obj, self._attr)


def _call_method(obj, attr, *args, **kwargs):
    return getattr(obj, attr)(*args, **kwargs)


def _binary(op: Callable, reflected: bool = False):
    if reflected:
        def method(self, other):
            return call_function(op, (other, self), {}, pure=True)
    else:
        def method(self, other):
            return call_function(op, (self, other), {}, pure=True)
    return method


def _unary(op: Callable):
    def method(self):
        return call_function(op, (self,), {}, pure=True)
    return method


install_operators(Delayed, _binary, _unary, arithmetic=(*ARITHMETIC, "matmul"),
                  comparisons=(*COMPARISONS, "getitem"))
Delayed.__divmod__ = _binary(divmod)
Delayed.__rdivmod__ = _binary(divmod, reflected=True)
Delayed.__hash__ = lambda self: hash(self.key)  # __eq__ above would otherwise unset it


def wrap_container(obj: Any) -> Any:
    """A Delayed rebuilding ``obj`` if it holds collections; else ``obj`` itself."""
    deps: list = []
    graphs: list = []
    packed = _pack_value(obj, deps, graphs)
    if not deps:
        return obj
    key = f"{type(obj).__name__}-{unique_token()}"
    return Delayed(key, Task(key, identity, (packed,), None, tuple(dict.fromkeys(deps))),
                   tuple(graphs))


# --- the public constructor ------------------------------------------------------------------

_last_function: "DelayedFunction | None" = None


def delayed(obj: Any = None, name: str | None = None, pure: bool | None = None,
            nout: int | None = None, traverse: bool = True) -> Any:
    """Make a function lazy, or wrap a value as a lazy value.

    Parameters
    ----------
    obj:
        A function (``delayed(f)(x)`` builds a task instead of calling ``f``),
        or any value (``delayed(x)``: a lazy value; Delayed objects inside
        lists, tuples, sets and dicts become dependencies).
    name:
        The key of the result (for values), or of the function.
    pure:
        If true, calls with equal arguments share one key and run once.
        Default False: every call is a separate task.
    nout:
        The number of items the call returns, to allow ``a, b = f(x)``.
    traverse:
        Whether to search containers in ``obj`` for Delayed objects.

    Example
    -------
    >>> @delayed
    ... def inc(x):
    ...     return x + 1
    >>> inc(1).compute()
    2
    """
    global _last_function
    if type(obj) is FunctionType:  # the common case first
        if name is None and pure is None and nout is None:
            # ``delayed(f)(x)`` in a loop wraps the same function every time: reuse the wrapper.
            last = _last_function
            if last is not None and last._func is obj:
                return last
            _last_function = DelayedFunction(obj)
            return _last_function
        return DelayedFunction(obj, name=name, pure=pure, nout=nout)
    if obj is None and name is None and pure is None and nout is None:
        return partial(delayed, traverse=traverse)  # bare @delayed() use
    if obj is None and (pure is not None or nout is not None or name is not None):
        return partial(delayed, name=name, pure=pure, nout=nout, traverse=traverse)
    if isinstance(obj, Delayed):
        return obj
    if is_teem_collection(obj):
        return _collection_to_delayed(obj)
    if callable(obj) and not isinstance(obj, (list, tuple, dict, set)):
        return DelayedFunction(obj, name=name, pure=pure, nout=nout)
    deps: list = []
    graphs: list = []
    packed = _pack_value(obj, deps, graphs) if traverse else obj
    key = name or f"{type(obj).__name__}-{tokenize(obj) if pure else unique_token()}"
    if deps:
        task: Task | DataNode = Task(key, identity, (packed,), None, tuple(dict.fromkeys(deps)))
    else:
        task = DataNode(key, obj)
    return Delayed(key, task, tuple(graphs), nout)
