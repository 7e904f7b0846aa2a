"""The dashboard's data, as plain JSON-ready values built from the scheduler's state.

Pure functions of :class:`~teem.distributed.scheduler.state.SchedulerState` and the shell's
``worker_info``: the web pages, ``teem top`` and performance reports all read these, so the
three show the same numbers.  Each costs O(workers + prefixes) except :func:`graph_view`,
which is O(tasks + edges) and refuses graphs above a limit.
"""

from __future__ import annotations

from teem.distributed.scheduler.records import (ERRED, MEMORY, PROCESSING, QUEUED, RELEASED,
                                                WAITING)

__all__ = ["status_document", "workers_view", "progress_view", "totals_view", "graph_view", "GRAPH_LIMIT", "STATE_CODES"]

GRAPH_LIMIT = 5000
# Node states in graph_view, as small integers (the page maps them to colours).
STATE_CODES = {WAITING: 0, QUEUED: 1, PROCESSING: 2, MEMORY: 3, ERRED: 4, RELEASED: 5}


def status_document(state, worker_info: dict, scheduler: dict, now: float, finished: int = 0,
                    stream: list | None = None) -> dict:
    """What the status page, ``teem top`` and reports show: workers, progress, totals, stream.

    ``scheduler`` is a small summary (address, id, started, clients, dashboard link);
    ``stream`` the task-stream rectangles to include (see :mod:`.activity`).
    """
    workers = workers_view(state, worker_info)
    progress = progress_view(state)
    return {"time": now, "scheduler": scheduler, "workers": workers, "progress": progress,
            "totals": totals_view(progress, workers), "finished": finished,
            "stream": stream if stream is not None else []}


def workers_view(state, worker_info: dict) -> list[dict]:
    """One row per worker: name, address, threads, cpu, memory, spilled, executing, ready."""
    rows = []
    for address, info in sorted(worker_info.items(), key=lambda item: str(item[1].get("name"))):
        ws = state.workers.get(address)
        metrics = (ws.metrics if ws is not None else None) or {}
        rows.append({
            "name": str(info.get("name", address)), "address": address,
            "host": info.get("host"), "pid": info.get("pid"),
            "nthreads": int(info.get("nthreads") or 0),
            "memory_limit": int(info.get("memory_limit") or 0),
            "memory": int(metrics.get("memory") or 0),        # process resident memory
            "managed": ws.nbytes if ws is not None else 0,    # results the scheduler knows of
            "spilled": int(metrics.get("spilled") or 0),
            "cpu": float(metrics.get("cpu") or 0.0),
            "executing": int(metrics.get("executing") or 0),
            "ready": int(metrics.get("ready") or 0),
            "processing": ws.nprocessing if ws is not None else 0,
            "nkeys": len(ws.has_what) if ws is not None else 0,
            "paused": bool(metrics.get("paused")),
            "last_seen": info.get("last_seen"),
        })
    return rows


def progress_view(state) -> list[dict]:
    """Per task prefix: total, done (in memory or computed and released), erred, processing, waiting.

    Tasks leave the counts when they are forgotten (their results released by every client),
    as in Dask's progress view.
    """
    rows = []
    for name, prefix in state.prefixes.items():
        c = prefix.counts
        total = sum(c.values())
        if not total:
            continue
        rows.append({"prefix": name, "total": total, "memory": c[MEMORY],
                     "done": c[MEMORY] + c[RELEASED], "erred": c[ERRED],
                     "processing": c[PROCESSING], "waiting": c[WAITING] + c[QUEUED]})
    rows.sort(key=lambda r: r["prefix"])
    return rows


def totals_view(progress: list[dict], workers: list[dict]) -> dict:
    """Cluster-wide sums of the two views above."""
    return {
        "workers": len(workers), "threads": sum(w["nthreads"] for w in workers),
        "memory": sum(w["memory"] for w in workers),
        "memory_limit": sum(w["memory_limit"] for w in workers),
        "managed": sum(w["managed"] for w in workers),
        "spilled": sum(w["spilled"] for w in workers),
        "cpu": sum(w["cpu"] for w in workers),
        "tasks": sum(p["total"] for p in progress),
        "done": sum(p["done"] for p in progress),
        "processing": sum(p["processing"] for p in progress),
        "waiting": sum(p["waiting"] for p in progress),
        "erred": sum(p["erred"] for p in progress),
    }


def graph_view(state, limit: int = GRAPH_LIMIT) -> dict:
    """The current task graph laid out in layers: ``{"nodes": [...], "edges": [...]}``.

    A node is ``[layer, position, state code, prefix index, key]``; an edge ``[from, to]``
    indexes nodes.  Layer = longest path from a task without dependencies, so arrows point
    right; within a layer, tasks sit near the mean position of their dependencies (one
    barycentre pass, which untangles the usual map-reduce shapes).  Graphs above ``limit``
    tasks are not laid out: ``{"ntasks": n, "limit": limit}`` says so.
    """
    tasks = state.tasks
    if len(tasks) > limit:
        return {"ntasks": len(tasks), "limit": limit, "nodes": [], "edges": [], "prefixes": []}
    index = {ts: i for i, ts in enumerate(tasks.values())}
    order = _topological(tasks.values(), index)
    layer: dict = {}
    for ts in order:
        layer[ts] = 1 + max((layer[d] for d in ts.dependencies if d in layer), default=-1)
    columns: dict[int, list] = {}
    for ts in order:
        columns.setdefault(layer[ts], []).append(ts)
    position: dict = {}
    for depth in sorted(columns):
        column = columns[depth]
        if depth:
            column.sort(key=lambda ts: _mean((position[d] for d in ts.dependencies if d in position),
                                             default=len(column)))
        spacing = 1.0 / (len(column) + 1)
        for i, ts in enumerate(column):
            position[ts] = (i + 1) * spacing
    prefixes: dict[str, int] = {}
    nodes = []
    for ts in tasks.values():
        p = prefixes.setdefault(ts.prefix.name, len(prefixes))
        nodes.append([layer[ts], round(position[ts], 5), STATE_CODES.get(ts.state, 5), p, str(ts.key)])
    edges = [[index[d], index[ts]] for ts in tasks.values() for d in ts.dependencies if d in index]
    return {"ntasks": len(tasks), "limit": limit, "nodes": nodes, "edges": edges,
            "prefixes": list(prefixes)}


def _topological(tasks, live) -> list:
    """Tasks with every dependency (in ``live``) before its dependents (iterative: graphs can be deep)."""
    seen: set = set()
    order: list = []
    for root in tasks:
        if root in seen:
            continue
        seen.add(root)
        stack = [(root, iter(root.dependencies))]
        while stack:
            ts, deps = stack[-1]
            for dep in deps:
                if dep not in seen and dep in live:
                    seen.add(dep)
                    stack.append((dep, iter(dep.dependencies)))
                    break
            else:
                stack.pop()
                order.append(ts)
    return order


def _mean(values, default: float) -> float:
    total = n = 0
    for v in values:
        total += v
        n += 1
    return total / n if n else default
