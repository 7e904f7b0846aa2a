"""The processes scheduler: a persistent pool of worker processes.

``get_processes(graph, keys, num_workers=None)`` runs a graph on the shared
pool of ``num_workers`` processes (default: one per core). See
:mod:`teem.local.processes.backend` for how data moves.
"""

from __future__ import annotations

from typing import Any, Mapping

from teem.local.processes.backend import ProcessBackend
from teem.local.processes.pool import get_process_pool, shutdown_pools

__all__ = ["get_processes", "shutdown_pools"]


def get_processes(graph: Mapping, keys: Any, num_workers: int | None = None, pool=None,
                  **kwargs: Any) -> Any:
    """Run ``graph`` on worker processes and return the values of ``keys``."""
    from teem.local.run import _get, get_with_executor
    if pool is not None:
        return get_with_executor(graph, keys, pool, num_workers=num_workers)
    process_pool = get_process_pool(num_workers)
    with process_pool.lock:
        return _get(graph, keys, ProcessBackend(process_pool))
