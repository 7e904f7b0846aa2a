"""Every invariant of :class:`~teem.distributed.scheduler.state.SchedulerState`, checked the slow way.

Tests call :meth:`SchedulerState.validate_state` after every ``handle()``; it
recounts what the state machine keeps as counters (``waiting_on``,
``pending_dependents``, worker loads, prefix counts), cross-checks
``who_has`` against each worker's ``has_what`` and the queues against the
tasks' states, and checks that no worker sits idle while work it may run is
queued.  O(tasks + edges + workers).
"""

from __future__ import annotations

from collections import Counter

from teem.distributed.scheduler.records import (ERRED, MEMORY, PENDING, PROCESSING, QUEUED, RELEASED,
                                              STATES, WAITING, InvalidSchedulerState)

__all__ = ["validate_state"]


def _fail(what: str, obj) -> None:
    raise InvalidSchedulerState(f"scheduler state invalid: {what}: {obj!r}")


def validate_state(s) -> None:
    """Raise :class:`InvalidSchedulerState` at the first broken invariant of ``s``."""
    tasks, workers = s.tasks, s.workers
    counts: Counter = Counter()
    for key, ts in tasks.items():
        _check_task(s, key, ts)
        counts[ts.prefix.name, ts.state] += 1
    for name, prefix in s.prefixes.items():
        for state in STATES:
            if prefix.counts.get(state, 0) != counts[name, state]:
                _fail(f"prefix {name!r} counts {prefix.counts} but {state!r} has "
                      f"{counts[name, state]} tasks", prefix)
    for address, ws in workers.items():
        _check_worker(s, address, ws)
    for name, ws in s._by_name.items():
        if workers.get(ws.address) is not ws or ws.name != name:
            _fail(f"name {name!r} maps to a worker that is not registered under it", ws)
    for entry in s._room.entries():
        if workers.get(entry[2].address) is not entry[2]:
            _fail("room heap holds a removed worker", entry[2])
    _check_queues(s)
    if s._check or s._dirty or s._execute or s._free or s._reports or s._close:
        _fail("work left over after handle()", (s._check, s._dirty, s._free))


def _check_task(s, key, ts) -> None:
    tasks = s.tasks
    state = ts.state
    if ts.key != key:
        _fail(f"task stored under key {key!r}", ts)
    if state not in STATES:
        _fail("unknown state", ts)
    for dep in ts.dependencies:
        if tasks.get(dep.key) is not dep:
            _fail(f"dependency {dep.key!r} is not a live task", ts)
        if ts not in dep.dependents:
            _fail(f"missing from the dependents of {dep.key!r}", ts)
    npending = 0
    for dependent in ts.dependents:
        if tasks.get(dependent.key) is not dependent:
            _fail(f"dependent {dependent.key!r} is not a live task", ts)
        if ts not in dependent.dependencies:
            _fail(f"dependent {dependent.key!r} does not depend on it", ts)
        npending += dependent.state in PENDING
    if npending != ts.pending_dependents:
        _fail(f"pending_dependents={ts.pending_dependents} but {npending} pending dependents", ts)
    needed = bool(ts.wanted_by) or ts.pending_dependents > 0
    if state != PROCESSING and ts.processing_on is not None:
        _fail("processing_on set outside 'processing'", ts)
    if state != QUEUED and ts.queue_entry is not None:
        _fail("queue entry outside 'queued'", ts)
    if state != MEMORY and ts.who_has:
        _fail("who_has outside 'memory'", ts)
    if state in PENDING:
        if not needed:
            _fail("pending but neither wanted nor needed by a pending dependent", ts)
        not_in_memory = 0
        for dep in ts.dependencies:
            if dep.state == MEMORY:
                continue
            if dep.state not in PENDING:
                _fail(f"pending with dependency {dep.key!r} in state {dep.state!r}", ts)
            not_in_memory += 1
        if state == WAITING:
            if ts.waiting_on != not_in_memory or not not_in_memory:
                _fail(f"waiting_on={ts.waiting_on} but {not_in_memory} dependencies not in memory", ts)
        elif not_in_memory:
            _fail(f"{state} with {not_in_memory} dependencies not in memory", ts)
        if state == QUEUED and (ts.queue_entry is None or ts.queue_entry[2] is not ts):
            _fail("queued without its queue entry", ts)
        if state == PROCESSING:
            ws = ts.processing_on
            if ws is None or s.workers.get(ws.address) is not ws or ts not in ws.processing:
                _fail("processing on a worker that does not know it", ts)
    elif state == MEMORY:
        if not ts.who_has:
            _fail("in memory with no holder", ts)
        for address in ts.who_has:
            ws = s.workers.get(address)
            if ws is None or ts not in ws.has_what:
                _fail(f"who_has names {address!r}, which does not hold it", ts)
        if not needed and ts.run_spec is not None:
            _fail("in memory but not needed (should have been released)", ts)
    elif state == RELEASED:
        if needed:
            _fail("released but needed", ts)
        if not ts.dependents:
            _fail("released with no dependents (should have been forgotten)", ts)
    elif state == ERRED:
        if not ts.wanted_by and not ts.dependents:
            _fail("erred, unwanted and without dependents (should have been forgotten)", ts)


def _check_worker(s, address, ws) -> None:
    if ws.address != address or ws.closed:
        _fail(f"worker registered under {address!r}", ws)
    if ws.load != sum(ws.processing.values()):
        _fail(f"load {ws.load} != sum of its tasks' occupancy", ws)
    for ts in ws.processing:
        if s.tasks.get(ts.key) is not ts or ts.state != PROCESSING or ts.processing_on is not ws:
            _fail(f"processing {ts!r}, which is not processing there", ws)
    nbytes = 0
    for ts in ws.has_what:
        if s.tasks.get(ts.key) is not ts or ts.state != MEMORY or address not in ts.who_has:
            _fail(f"has_what holds {ts!r}, whose who_has does not name it", ws)
        nbytes += ts.nbytes
    if nbytes != ws.nbytes:
        _fail(f"nbytes {ws.nbytes} != {nbytes} held", ws)


def _check_queues(s) -> None:
    queued = [ts for ts in s.tasks.values() if ts.state == QUEUED]
    live = Counter(id(e[2]) for e in s._queue.entries())
    for ts in queued:
        if ts.workers is None:
            if live[id(ts)] != 1:
                _fail(f"queued task has {live[id(ts)]} live entries in the queue", ts)
        else:
            for name in ts.workers:
                heap = s._restricted.get(name, ())
                if sum(1 for e in heap if e is ts.queue_entry) != 1:
                    _fail(f"restricted queued task missing from the heap of {name!r}", ts)
    if sum(live.values()) != sum(1 for ts in queued if ts.workers is None):
        _fail("queue holds live entries of tasks that are not queued", s._queue.entries())
    # progress: nobody idles while work it may run waits
    idle = [ws for ws in s.workers.values() if not ws.load]
    if idle:
        for ts in queued:
            if ts.workers is None:
                _fail(f"worker {idle[0].address!r} is idle while a task is queued", ts)
            for ws in idle:
                if ws.address in ts.workers or ws.name in ts.workers:
                    _fail(f"worker {ws.address!r} is idle while a task it may run is queued", ts)
    for name, heap in s._restricted.items():
        if not heap:
            _fail("empty restricted heap kept", name)
    for ts in queued:
        if ts.state == ERRED:
            _fail("erred task queued", ts)
