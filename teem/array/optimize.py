"""Fusing block tasks so that chunk pipelines stream.

A random block, ``+ 1`` on it and the ``sum`` of that block are three tasks;
run separately, the 800 MB block waits in memory between them while the
workers start the next blocks.  :func:`fuse_blocks` inlines a task into its
only consumer (as a nested :class:`~teem.core.task.Task` argument), so the
three run as one task: the block is made, used and freed before that task
returns, and memory stays at one block per worker.

A task is inlined only when
- it has exactly one consumer and is not an output,
- it is a :class:`Task` (values known in advance stay shared data), and
- the consumer is not a gathering step with several inputs (tree combine,
  aggregate, rechunk assembly): those take many blocks, and inlining producers into
  them would run in one task what should run in parallel.  A consumer with
  many producers is therefore left alone unless they are few (≤ 4, as in
  ``where(c, x, y)``).

One pass in topological order, O(tasks + edges).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from teem.core.graph import iter_keys
from teem.core.fusion import count_refs, run_nested
from teem.core.order import order
from teem.core.task import Packed, Ref, RefSeq, Task

__all__ = ["fuse_blocks", "NO_ABSORB"]

#: Functions of tasks that gather many blocks: never absorb producers into them.
NO_ABSORB: set = set()
MAX_ABSORBED_INPUTS = 4


def _register_gatherers() -> None:
    from teem.array.linalg import _matmul_sum, _tensordot_sum
    from teem.array.rechunk import assemble
    from teem.array.reductions import _aggregate_step, _combine_step
    NO_ABSORB.update({_combine_step, _aggregate_step, assemble, _tensordot_sum, _matmul_sum})


def fuse_blocks(graph: Mapping, keys: Sequence) -> dict:
    """``graph`` with single-consumer tasks inlined into their consumers (see module doc)."""
    if not NO_ABSORB:
        _register_gatherers()
    outputs = set(iter_keys(list(keys)))
    ordered = order(graph, outputs)
    consumers: dict = {}
    for key in ordered:
        for dep in graph[key].dependencies:
            consumers[dep] = consumers.get(dep, 0) + 1
    new: dict = {}
    for key in ordered:
        task = graph[key]
        deps = task.dependencies
        if type(task) is not Task or not deps or len(deps) > MAX_ABSORBED_INPUTS or (
                len(deps) > 1 and task.func in NO_ABSORB):
            new[key] = task
            continue
        inline = {}
        uses: dict = {}
        count_refs(task.args, uses)
        if task.kwargs:
            count_refs(tuple(task.kwargs.values()), uses)
        for dep in deps:
            if consumers.get(dep) == 1 and dep not in outputs and type(new.get(dep)) is Task \
                    and uses.get(dep) == 1:  # x * x: computing x twice would cost more than it saves
                inline[dep] = new[dep]
        if not inline:
            new[key] = task
            continue
        new_deps: list = []
        for dep in deps:
            if dep in inline:
                new_deps.extend(inline[dep].dependencies)
                del new[dep]
            else:
                new_deps.append(dep)
        args = tuple(_substitute(a, inline) for a in task.args)
        kwargs = {k: _substitute(v, inline) for k, v in task.kwargs.items()} if task.kwargs else None
        func = task.func
        if kwargs is None:
            func, args = _in_place(func, args)
        if new_deps:
            new[key] = Task(key, func, args, kwargs, tuple(dict.fromkeys(new_deps)))
        else:  # a task without dependencies runs its arguments as they are: resolve them itself
            new[key] = Task(key, run_nested, (func, args, kwargs), None, ())
    return new



# --- elementwise operations written into a block made in the same task ------------------------
#
# ``(xy ** 2).sum(axis=-1) < 1`` on a random block: once fused, the block and each
# intermediate exist only inside one task, so an elementwise operation may write its
# result over its input instead of allocating another block (when dtype and shape
# match).  Only results of functions known to return new arrays are overwritten.

_UFUNC_OF: dict = {}
FRESH: set = set()


def _register_fresh() -> None:
    import operator
    from teem.array import creation
    from teem.array.random import _choice_block, _random_block
    _UFUNC_OF.update({
        operator.add: np.add, operator.sub: np.subtract, operator.mul: np.multiply,
        operator.truediv: np.true_divide, operator.floordiv: np.floor_divide, operator.mod: np.remainder,
        operator.pow: np.power, operator.neg: np.negative, operator.abs: np.absolute,
        operator.lt: np.less, operator.le: np.less_equal, operator.gt: np.greater,
        operator.ge: np.greater_equal, operator.eq: np.equal, operator.ne: np.not_equal,
        operator.and_: np.bitwise_and, operator.or_: np.bitwise_or, operator.xor: np.bitwise_xor,
    })
    FRESH.update({_random_block, _choice_block, creation._zeros_block, creation._ones_block,
                  creation._full_block, creation._arange_block, creation._linspace_block,
                  creation._eye_block})


def _makes_new_array(task) -> bool:
    if type(task) is not Task or task.key is not None:
        return False
    func = task.func
    if func is run_nested:
        func = task.args[0]
    return func in FRESH or func is _ufunc_into or (isinstance(func, np.ufunc) and func.nout == 1)


def _in_place(func, args: tuple):
    """``(func, args)`` rewritten to write over an argument made in this task, if there is one."""
    if not FRESH:
        _register_fresh()
    ufunc = func if isinstance(func, np.ufunc) else _UFUNC_OF.get(func) if _hashable(func) else None
    if ufunc is None or ufunc.nout != 1 or ufunc.nin != len(args):
        return func, args
    for i, a in enumerate(args):
        if _makes_new_array(a):
            return _ufunc_into, (func, ufunc, i, *args)
    return func, args


def _hashable(obj) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _ufunc_into(op, ufunc, i, *args):
    """``op(*args)``, written into ``args[i]`` when it has the result's dtype and shape."""
    target = args[i]
    if type(target) is np.ndarray and target.flags.writeable and target.ndim:
        try:
            if np.broadcast_shapes(*(np.shape(a) for a in args)) == target.shape:
                return ufunc(*args, out=target, casting="no")
        except (TypeError, ValueError):  # another result dtype: no casting allowed
            pass
    return op(*args)


def _substitute(arg, inline: dict):
    t = type(arg)
    if t is Ref:
        return _inline_task(inline[arg.key]) if arg.key in inline else arg
    if t is RefSeq:
        if not any(k in inline for k in arg.keys):
            return arg
        return Packed(arg.kind, tuple(_inline_task(inline[k]) if k in inline else Ref(k) for k in arg.keys))
    if t is Packed:
        if arg.kind is dict:
            return Packed(dict, tuple((k, _substitute(v, inline)) for k, v in arg.items))
        return Packed(arg.kind, tuple(_substitute(v, inline) for v in arg.items))
    if t is Task:
        return Task(arg.key, arg.func, tuple(_substitute(a, inline) for a in arg.args),
                    {k: _substitute(v, inline) for k, v in arg.kwargs.items()} if arg.kwargs else None,
                    tuple(dict.fromkeys(d2 for d in arg.dependencies
                                        for d2 in (inline[d].dependencies if d in inline else (d,)))))
    return arg


def _inline_task(task: Task) -> Task:
    """``task`` as an argument: same call, no key of its own."""
    return Task(None, task.func, task.args, task.kwargs, task.dependencies)
