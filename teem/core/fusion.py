"""Pieces shared by the collections' graph rewrites that fuse chains of tasks into one task.

A fused task carries the tasks it absorbed as nested :class:`~teem.core.task.Task` arguments
(with no key of their own); :func:`run_nested` runs them when the fused task runs, and
:func:`count_refs` tells a rewrite how many consumers each key has (a key used once, by the
next step of a chain, can be absorbed; a shared one cannot).
"""

from __future__ import annotations

from teem.core.task import Packed, Ref, RefSeq, Task, _resolve

__all__ = ["count_refs", "run_nested"]


def count_refs(args: tuple, uses: dict) -> None:
    """Add to ``uses`` how many times each key is referred to in ``args`` (nested tasks too)."""
    for a in args:
        t = type(a)
        if t is Ref:
            uses[a.key] = uses.get(a.key, 0) + 1
        elif t is RefSeq:
            for k in a.keys:
                uses[k] = uses.get(k, 0) + 1
        elif t is Packed:
            count_refs(a.items if a.kind is not dict else tuple(v for _, v in a.items), uses)
        elif t is Task:
            count_refs(a.args, uses)
            if a.kwargs:
                count_refs(tuple(a.kwargs.values()), uses)


def run_nested(func, args: tuple, kwargs: dict | None):
    """Call ``func`` after running the inlined tasks among its arguments."""
    data: dict = {}
    args = [_resolve(a, data) for a in args]
    if kwargs:
        return func(*args, **{k: _resolve(v, data) for k, v in kwargs.items()})
    return func(*args)
