"""How a task travels from a client to the worker that runs it.

The scheduler never unpickles user objects: for it a task's *run spec* is
opaque.  A run spec is ``(function_id, frames)``:

- ``frames`` are :func:`~teem.distributed.protocol.messages.dumps` of
  ``(args, kwargs, dependencies)`` (or of the value itself for a data task,
  whose ``function_id`` is None);
- functions travel separately, once per client and worker: ``client.map(f,
  range(100_000))`` pickles ``f`` once, not 100,000 times.  The
  :class:`FunctionTable` gives each function an id and hands out the pickles
  not sent yet; workers keep the functions they have unpickled by id.
"""

from __future__ import annotations

import itertools
import os
from typing import Any, Callable, Mapping

from teem.core.task import DataNode, Key, Task, funcname
from teem.distributed.protocol.messages import dumps, loads

__all__ = ["FunctionTable", "encode_task", "decode_task", "encode_data"]


class FunctionTable:
    """Ids for the functions of one client; each function is pickled once."""

    def __init__(self):
        self._by_id: dict[int, tuple[Callable, str]] = {}  # id(func) -> (func kept alive, fid)
        self._unsent: dict[str, list] = {}
        self._prefix = os.urandom(4).hex()
        self._counter = itertools.count()

    def function_id(self, func: Callable) -> str:
        entry = self._by_id.get(id(func))
        if entry is not None and entry[0] is func:
            return entry[1]
        fid = f"{funcname(func)}-{self._prefix}-{next(self._counter)}"
        self._unsent[fid] = dumps(func)  # raises SerializationError naming the type
        self._by_id[id(func)] = (func, fid)
        return fid

    def take_unsent(self) -> dict[str, list]:
        """Pickles of the functions made since the last call: they go with the next graph."""
        out, self._unsent = self._unsent, {}
        return out


def encode_task(task: Task | DataNode, functions: FunctionTable) -> tuple:
    """The run spec of ``task`` (see the module docstring)."""
    if type(task) is DataNode:
        return encode_data(task.value)
    return (functions.function_id(task.func), dumps((task.args, task.kwargs, task.dependencies)))


def encode_data(value: Any) -> tuple:
    return (None, dumps(value))


def decode_task(key: Key, run_spec, functions: Mapping[str, Callable]) -> Task | DataNode:
    """Rebuild the task ``key`` from its run spec; ``functions`` maps ids to functions."""
    fid, frames = run_spec
    if fid is None:
        return DataNode(key, loads(list(frames)))
    args, kwargs, dependencies = loads(list(frames))
    return Task(key, functions[fid], args, kwargs, dependencies)
