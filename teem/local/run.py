"""The ``get`` functions behind every local scheduler name.

``get(graph, keys)`` takes a graph of teem tasks (or a Dask-style dict of
tuples, converted once here) and keys as one key or nested lists of keys, and
returns values in the same nesting.
"""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any, Mapping

from teem.core.gcfreeze import graph_frozen
from teem.core.graph import from_legacy, iter_keys
from teem.core.task import DataNode, Task
from teem.local.engine import execute
from teem.local.executor import ExecutorBackend
from teem.local.main_guard import check_main_guard
from teem.local.threads import ThreadBackend, get_pool, in_worker_thread

__all__ = ["get_sync", "get_threads", "get_with_executor", "as_tasks", "repack"]


def as_tasks(graph: Mapping) -> Mapping:
    """``graph`` itself if it holds teem tasks only, else its conversion."""
    for value in graph.values():
        if type(value) is not Task and type(value) is not DataNode:
            return from_legacy(graph)
    return graph


def repack(keys: Any, values: dict) -> Any:
    """Values arranged as ``keys`` is: a key, or nested lists of keys."""
    if type(keys) is list:
        return [repack(k, values) for k in keys]
    return values[keys]


def _get(graph: Mapping, keys: Any, backend) -> Any:
    flat = list(dict.fromkeys(iter_keys(keys)))
    with graph_frozen():
        values = dict(zip(flat, execute(as_tasks(graph), flat, backend)))
    return repack(keys, values)


def get_sync(graph: Mapping, keys: Any, **kwargs) -> Any:
    """Run on the calling thread, one task at a time, in priority order."""
    return _get(graph, keys, None)


def get_threads(graph: Mapping, keys: Any, num_workers: int | None = None,
                pool: Executor | None = None, **kwargs) -> Any:
    """Run on a persistent pool of ``num_workers`` threads (default: one per core)."""
    if pool is not None:
        return get_with_executor(graph, keys, pool, num_workers=num_workers)
    if in_worker_thread():
        # A task computing a graph itself: run it here rather than wait on our own pool.
        return _get(graph, keys, None)
    return _get(graph, keys, ThreadBackend(get_pool(num_workers)))


def get_with_executor(graph: Mapping, keys: Any, pool: Executor, num_workers: int | None = None,
                      **kwargs) -> Any:
    """Run on any ``concurrent.futures.Executor``."""
    check_main_guard(pool)
    return _get(graph, keys, ExecutorBackend(pool, num_workers))
