"""The distributed scheduler's decisions, as a pure state machine.

Theory of operation
-------------------
1. Everything comes in through :meth:`SchedulerState.handle` as events and goes
   out as instructions (``events.py``).  No I/O, no threads, no clock: the
   current time arrives inside events.  One call may take many events; the
   instructions it returns are merged so that each worker gets at most one
   ``FreeKeys`` and one ``Execute`` and each client one ``Report`` per call
   (in that order: CloseWorker, FreeKeys, Execute, Report).
2. A task is ``waiting`` (some dependency not in memory), ``queued`` (ready,
   held here until a worker has room), ``processing`` (sent to one worker),
   ``memory`` (held by at least one worker), ``erred``, or ``released``: its
   result is held nowhere and nothing needs it now, but a dependent still
   exists, and if that dependent's result is lost it can be recomputed from
   here.  A task with no dependents that nobody wants is forgotten (deleted
   from ``tasks``).  ``waiting``, ``queued`` and ``processing`` are *pending*.
   Graphs are acyclic (the client orders them before submitting).
3. Needs are counted, never searched: ``waiting_on`` counts dependencies not
   in memory; ``pending_dependents`` counts dependents in a pending state.  A
   task that no client wants and no pending dependent needs is released (its
   holders get ``FreeKeys``; a run not finished is cancelled the same way),
   and forgotten once it has no dependents, recursively: one worklist, run
   once at the end of each ``handle()`` call.  Submitted tasks that no wanted
   key needs are culled that way.  Scattered keys are the exception: created
   by ``AddReplicas``, they stay until wanted and released.
4. Occupancy, not flooding: a worker holds at most ``nthreads * depth`` tasks
   of a prefix, where ``depth`` grows as the prefix's measured mean duration
   shrinks (:func:`~teem.distributed.scheduler.placement.occupancy_depth`;
   recomputed for the first 64 measurements, then every 16th).  A task costs
   ``1000 // depth`` units; a thread has 1000.  Ready tasks beyond that wait
   in the scheduler's priority queue, where an idle or new worker takes them
   at once (this is the work stealing: nothing piles up on busy workers).
5. Placement: a ready task with dependencies goes to the holder of most of its
   input bytes that has room (ties: least occupied), else the least occupied
   worker with room, else the queue.  Root tasks always go through the queue,
   which hands them out least occupied worker first.  A task restricted to
   some workers waits in one heap per allowed address or name (the heap of a
   worker that has not joined yet waits for it), so no queue is ever scanned.
6. Errors spread: an erred task (after its retries) errs every pending task
   that depends on it, with the same exception, and every wanting client is
   told.  A worker's death puts its tasks back to ready (``suspicious`` + 1;
   ``allowed_failures`` deaths make a KilledWorker error) and its unique
   results are lost: recomputed if still needed (recursively through
   released dependencies), erred with LostData if they were scattered.
7. Clients hear about a wanted key once: 'memory' or 'erred' when it first
   gets there (at once if it already is).  A recomputation after a loss is
   silent, unless a client started wanting the key meanwhile.  Keys that
   already exist are never recomputed for a new submission (pure caching),
   erred ones included.
8. Settling: at the end of each call, workers whose load dropped take the best
   queued tasks they may run, then the rest of the queue goes to the least
   occupied workers with room.  Every step costs O(log n) or O(dependencies);
   only ``Tick`` (O(workers)), ``RemoveClient`` (O(tasks)) and the views scan.

A queued task has one live queue entry (``queue_entry``); entries of tasks that
left the queue stay where they are and are skipped when they come up.
"""

from __future__ import annotations

import heapq
from itertools import count
from typing import Callable

from teem.distributed.scheduler import events as ev
from teem.distributed.scheduler.placement import ReadyQueue, RoomHeap, best_holder, occupancy_depth, task_cost
from teem.distributed.scheduler.records import (EMPTY, ERRED, FORGOTTEN, MEMORY, PENDING, PROCESSING, QUEUED,
                                               RELEASED, SMALL_DEPENDENTS, WAITING, Key, PrefixState, TaskState,
                                               WorkerState, by_priority, prefix_of)

__all__ = ["SchedulerState"]


class SchedulerState:
    """All decisions of the distributed scheduler; no I/O.

    Parameters
    ----------
    heartbeat_timeout:
        Seconds of silence after which :class:`~.events.Tick` removes a worker.
    allowed_failures:
        Workers that may die while running one task before it errs with KilledWorker.
    depth:
        Policy ``mean_duration or None -> tasks per thread`` (default
        :func:`~teem.distributed.scheduler.placement.occupancy_depth`).
    validate:
        Run :meth:`validate_state` after every :meth:`handle` call (tests).

    Example
    -------
    >>> from teem.distributed.scheduler import AddWorker, TaskFinished, TaskSpec, UpdateGraph
    >>> s = SchedulerState()
    >>> s.handle(AddWorker("tcp://w1", "w1", nthreads=1, memory_limit=2**30, now=0.0))
    []
    >>> [execute] = s.handle(UpdateGraph("c1", (TaskSpec("x", run_spec=b"..."),), ("x",), now=0.0))
    >>> execute.worker, [task.key for task in execute.tasks]
    ('tcp://w1', ['x'])
    >>> s.handle(TaskFinished("tcp://w1", "x", nbytes=8, duration=0.5, now=1.0))
    [Report(client='c1', updates=(KeyUpdate(key='x', status='memory', exception=None, traceback=None),))]
    """

    def __init__(self, heartbeat_timeout: float = 10.0, allowed_failures: int = 3,
                 depth: Callable[[float | None], int] = occupancy_depth, validate: bool = False):
        self.heartbeat_timeout = heartbeat_timeout
        self.allowed_failures = allowed_failures
        self.depth = depth
        self.validate = validate
        self.tasks: dict = {}
        self.workers: dict = {}
        self.prefixes: dict = {}
        self._by_name: dict = {}
        self._queue = ReadyQueue()     # entries (priority, n, ts) of unrestricted queued tasks
        self._restricted: dict = {}    # worker address or name -> heap of entries
        self._room = RoomHeap()
        self._counter = count()
        self._dirty: dict = {}         # workers whose load dropped (ordered set)
        self._check: list = []         # tasks whose need may have ended
        self._client_singletons: dict = {}
        # instructions of the current handle() call
        self._execute: dict = {}
        self._free: dict = {}
        self._reports: dict = {}
        self._close: list = []
        self._handlers = {
            ev.UpdateGraph: self._update_graph, ev.ReleaseKeys: self._release_keys,
            ev.CancelKeys: self._cancel_keys, ev.RemoveClient: self._remove_client,
            ev.AddWorker: self._add_worker, ev.RemoveWorker: self._remove_worker_event,
            ev.RetireWorker: self._retire_worker, ev.TaskFinished: self._task_finished,
            ev.TaskErred: self._task_erred, ev.AddReplicas: self._add_replicas,
            ev.MissingData: self._missing_data, ev.Heartbeat: self._heartbeat, ev.Tick: self._tick,
        }

    # ------------------------------------------------------------------ entry point

    def handle(self, *events: ev.Event) -> list:
        """Apply ``events`` in order and return the instructions they lead to.

        Raises TypeError for an object that is not a known event.
        """
        handlers = self._handlers
        for event in events:
            try:
                handler = handlers[type(event)]
            except KeyError:
                raise TypeError(f"SchedulerState.handle: {event!r} is not a scheduler event") from None
            handler(event)
        self._release_pass()
        self._settle()
        out = self._flush()
        if self.validate:
            self.validate_state()
        return out

    # ------------------------------------------------------------------ read-only views

    def task_state(self, key: Key) -> str:
        """The state of ``key`` ('forgotten' if the scheduler does not know it)."""
        ts = self.tasks.get(key)
        return FORGOTTEN if ts is None else ts.state

    def prefix_counts(self) -> dict:
        """``{prefix: {state: count}}`` for the tasks that exist (zero counts left out)."""
        out = {}
        for name, prefix in self.prefixes.items():
            counts = {state: n for state, n in prefix.counts.items() if n}
            if counts:
                out[name] = counts
        return out

    @property
    def nqueued(self) -> int:
        """Ready tasks waiting for a worker with room (O(tasks): for views only)."""
        return sum(1 for ts in self.tasks.values() if ts.state == QUEUED)

    # ------------------------------------------------------------------ client events

    def _update_graph(self, e: ev.UpdateGraph) -> None:
        tasks = self.tasks
        new = []
        with_deps = []
        prefix_name = prefix = None
        for spec in e.tasks:
            key = spec.key
            if key in tasks:
                continue  # pure caching: an existing key keeps its task
            name = spec.prefix or prefix_of(key)
            if name != prefix_name:
                prefix_name, prefix = name, self._prefix(name)
            workers = frozenset(spec.workers) if spec.workers is not None else None
            ts = TaskState(key, spec.run_spec, spec.priority, prefix, spec.retries, workers)
            prefix.counts[RELEASED] += 1
            tasks[key] = ts
            new.append(ts)
            if spec.dependencies:
                with_deps.append((ts, spec.dependencies))
        missing = []
        for ts, dkeys in with_deps:  # linked once every new task exists: any order works
            deps = []
            for dkey in (dkeys if len(dkeys) == 1 else dict.fromkeys(dkeys)):
                dep = tasks.get(dkey)
                if dep is None:
                    missing.append((ts, dkey))
                    continue
                deps.append(dep)
                self._add_dependent(dep, ts)
            ts.dependencies = tuple(deps)
        for ts, dkey in missing:
            if ts.state != ERRED:
                self._set_state(ts, ERRED)
                ts.exception = ("MissingDependency", ts.key, dkey)
                ts.reported = True
        client = e.client
        roots = []
        for key in e.wanted:
            ts = tasks.get(key)
            if ts is None:
                self._report(client, ev.KeyUpdate(key, "lost"))
                continue
            if client not in ts.wanted_by:
                self._add_wanter(ts, client)
            state = ts.state
            if state == MEMORY:
                self._report(client, ev.KeyUpdate(key, MEMORY))
            elif state == ERRED:
                self._report(client, ev.KeyUpdate(key, ERRED, ts.exception, ts.traceback))
            else:
                ts.reported = False  # not computed, or being recomputed: tell everyone when it lands
                if state == RELEASED:
                    roots.append(ts)
        self._recompute(roots)
        self._check.extend(ts for ts in new if ts.state == RELEASED or ts.state == ERRED)  # unneeded

    def _release_keys(self, e: ev.ReleaseKeys) -> None:
        self._drop_wanter(e.client, e.keys)

    def _cancel_keys(self, e: ev.CancelKeys) -> None:
        for key in e.keys:
            ts = self.tasks.get(key)
            if ts is None:
                continue
            for client in ts.wanted_by:
                self._report(client, ev.KeyUpdate(key, "cancelled"))
            ts.wanted_by = EMPTY
            self._check.append(ts)

    def _remove_client(self, e: ev.RemoveClient) -> None:
        client = e.client
        keys = [key for key, ts in self.tasks.items() if client in ts.wanted_by]
        self._drop_wanter(client, keys)
        self._client_singletons.pop(client, None)

    def _drop_wanter(self, client: str, keys) -> None:
        tasks = self.tasks
        for key in keys:
            ts = tasks.get(key)
            if ts is not None and client in ts.wanted_by:
                if len(ts.wanted_by) == 1:
                    ts.wanted_by = EMPTY
                else:
                    ts.wanted_by = ts.wanted_by - {client}
                self._check.append(ts)

    def _add_wanter(self, ts: TaskState, client: str) -> None:
        if not ts.wanted_by:
            alone = self._client_singletons.get(client)
            if alone is None:
                alone = self._client_singletons[client] = frozenset((client,))
            ts.wanted_by = alone
        else:
            ts.wanted_by = ts.wanted_by | {client}

    # ------------------------------------------------------------------ worker events

    def _add_worker(self, e: ev.AddWorker) -> None:
        if e.address in self.workers:
            self._remove_worker(e.address, "re-registered")
        ws = WorkerState(e.address, e.name, e.nthreads, e.memory_limit, e.now)
        self.workers[e.address] = ws
        self._by_name[e.name] = ws
        self._dirty[ws] = None

    def _remove_worker_event(self, e: ev.RemoveWorker) -> None:
        self._remove_worker(e.address, e.reason)

    def _retire_worker(self, e: ev.RetireWorker) -> None:
        # MVP: no replication of unique results first; they are recomputed if needed.
        if e.address in self.workers:
            self._remove_worker(e.address, "retired")
            self._close.append((e.address, "retired"))

    def _heartbeat(self, e: ev.Heartbeat) -> None:
        ws = self.workers.get(e.worker)
        if ws is not None:
            ws.last_seen = e.now
            ws.metrics = e.metrics

    def _tick(self, e: ev.Tick) -> None:
        limit = e.now - self.heartbeat_timeout
        silent = [ws.address for ws in self.workers.values() if ws.last_seen < limit]
        for address in silent:
            self._remove_worker(address, "heartbeat timeout")
            self._close.append((address, "heartbeat timeout"))

    def _remove_worker(self, address: str, reason: str) -> None:
        ws = self.workers.pop(address, None)
        if ws is None:
            return
        ws.closed = True
        if self._by_name.get(ws.name) is ws:
            del self._by_name[ws.name]
        self._room.discard(ws)
        self._dirty.pop(ws, None)
        # 1. its running tasks go back to ready, or err if they killed too many workers
        to_ready = []
        killed = []
        for ts in list(ws.processing):
            self._unassign(ts, cancel=False)
            self._set_state(ts, WAITING)
            ts.waiting_on = 0
            ts.suspicious += 1
            (killed if ts.suspicious >= self.allowed_failures else to_ready).append(ts)
        for ts in killed:
            self._err(ts, ("KilledWorker", ts.key, address, ts.suspicious), None, address)
        # 2. its results: lost where it held the only copy
        lost = []
        for ts in ws.has_what:
            who_has = ts.who_has
            if len(who_has) == 1:
                ts.who_has = EMPTY
                lost.append(ts)
            else:
                ts.who_has = who_has - ws.alone
        ws.has_what = set()
        ws.nbytes = 0
        self._lose(lost)
        for ts in to_ready:
            if ts.state == WAITING and not ts.waiting_on:
                self._ready(ts)

    def _task_finished(self, e: ev.TaskFinished) -> None:
        ws = self.workers.get(e.worker)
        if ws is None:
            return  # a removed worker: its data is gone with it
        ws.last_seen = e.now
        ts = self.tasks.get(e.key)
        if ts is None or ts.processing_on is not ws:
            # Cancelled or moved meanwhile: the worker was sent FreeKeys then and
            # drops the result when it reads them, so it does not count as a holder.
            return
        prefix = ts.prefix
        prefix.duration_total += e.duration
        n = prefix.nmeasured = prefix.nmeasured + 1
        if n <= 64 or not n & 15:  # the mean moves slowly once well measured
            prefix.cost = task_cost(self.depth(prefix.duration_total / n))
        ws.load -= ws.processing.pop(ts)  # _unassign, inlined: the hot path
        ts.processing_on = None
        self._dirty[ws] = None
        if ts.dependencies:
            self._leave_pending(ts)
        self._landed(ts, ws, e.nbytes)

    def _task_erred(self, e: ev.TaskErred) -> None:
        ws = self.workers.get(e.worker)
        if ws is None:
            return
        ws.last_seen = e.now
        ts = self.tasks.get(e.key)
        if ts is None or ts.processing_on is not ws:
            return  # stale: the task was cancelled or moved meanwhile
        self._unassign(ts, cancel=False)
        self._set_state(ts, WAITING)  # ready again, for a retry or for _err
        ts.waiting_on = 0
        if ts.retries > 0:
            ts.retries -= 1
            self._ready(ts)
        else:
            self._err(ts, e.exception, e.traceback, e.worker)

    def _add_replicas(self, e: ev.AddReplicas) -> None:
        ws = self.workers.get(e.worker)
        if ws is None:
            return
        ws.last_seen = e.now
        tasks = self.tasks
        for key, nbytes in zip(e.keys, e.nbytes):
            ts = tasks.get(key)
            if ts is None:  # scattered data: known only from now on, cannot be recomputed
                prefix = self._prefix(prefix_of(key))
                ts = TaskState(key, None, (), prefix)
                prefix.counts[RELEASED] += 1
                tasks[key] = ts
                self._to_memory(ts, ws, nbytes)
            elif ts.state == ERRED or (ts.state == RELEASED and ts.run_spec is not None):
                self._free_on(e.worker, key)  # not needed (a released scattered key is welcome back)
            else:
                self._to_memory(ts, ws, nbytes)

    def _missing_data(self, e: ev.MissingData) -> None:
        reporter = self.workers.get(e.worker)
        if reporter is not None:
            reporter.last_seen = e.now
        ts = self.tasks.get(e.key)
        if ts is None or e.holder not in ts.who_has:
            return
        holder = self.workers.get(e.holder)
        if holder is not None:
            holder.has_what.discard(ts)
            holder.nbytes -= ts.nbytes
        if len(ts.who_has) == 1:
            ts.who_has = EMPTY
            self._lose([ts])
        else:
            ts.who_has = ts.who_has - {e.holder}

    # ------------------------------------------------------------------ transitions

    def _prefix(self, name: str) -> PrefixState:
        prefix = self.prefixes.get(name)
        if prefix is None:
            prefix = self.prefixes[name] = PrefixState(name)
            prefix.cost = task_cost(self.depth(None))
        return prefix

    @staticmethod
    def _set_state(ts: TaskState, state: str) -> None:
        counts = ts.prefix.counts
        counts[ts.state] -= 1
        counts[state] += 1
        ts.state = state

    @staticmethod
    def _add_dependent(dep: TaskState, ts: TaskState) -> None:
        dependents = dep.dependents
        if type(dependents) is set:
            dependents.add(ts)
        elif len(dependents) < SMALL_DEPENDENTS:
            dep.dependents = dependents + (ts,)
        else:
            dep.dependents = {*dependents, ts}

    def _enter_pending(self, ts: TaskState) -> None:
        for dep in ts.dependencies:
            dep.pending_dependents += 1

    def _leave_pending(self, ts: TaskState) -> None:
        check = self._check
        for dep in ts.dependencies:
            n = dep.pending_dependents - 1
            dep.pending_dependents = n
            if not n:
                check.append(dep)

    def _ready(self, ts: TaskState) -> None:
        """Place a task whose dependencies are all in memory, or queue it."""
        if ts.workers is not None:
            ws = self._best_allowed(ts)
        elif ts.dependencies:
            ws = best_holder(ts, self.workers, self._fits)
            if ws is None:
                ws = self._room.least_loaded()
                if ws is not None and not self._fits(ws, ts):
                    ws = None
        else:
            ws = None  # roots go through the queue, handed out least occupied first
        if ws is None:
            self._enqueue(ts)
        else:
            self._assign(ts, ws)

    def _best_allowed(self, ts: TaskState):
        best = None
        held = {}
        for dep in ts.dependencies:
            for address in dep.who_has:
                held[address] = held.get(address, 0) + dep.nbytes
        best_score = None
        for name in ts.workers:
            ws = self.workers.get(name) or self._by_name.get(name)
            if ws is None or not self._fits(ws, ts):
                continue
            score = (held.get(ws.address, 0), -ws.load / ws.capacity)
            if best_score is None or score > best_score:
                best, best_score = ws, score
        return best

    @staticmethod
    def _fits(ws: WorkerState, ts: TaskState) -> bool:
        load = ws.load
        return not load or load + ts.prefix.cost <= ws.capacity

    def _enqueue(self, ts: TaskState, batch: list | None = None) -> None:
        """Queue a ready task; an unrestricted one goes to ``batch`` if given (see _recompute)."""
        self._set_state(ts, QUEUED)
        entry = (ts.priority, next(self._counter), ts)
        ts.queue_entry = entry
        if ts.workers is None:
            if batch is None:
                self._queue.push(entry)
            else:
                batch.append(entry)
        else:
            restricted = self._restricted
            for name in ts.workers:
                heap = restricted.get(name)
                if heap is None:
                    restricted[name] = [entry]
                else:
                    heapq.heappush(heap, entry)

    def _assign(self, ts: TaskState, ws: WorkerState) -> None:
        if ts.workers is not None and ts.queue_entry is not None:
            self._dequeue(ts)
        ts.queue_entry = None
        self._set_state(ts, PROCESSING)
        ts.processing_on = ws
        cost = ts.prefix.cost
        ws.processing[ts] = cost
        ws.load += cost
        tasks = self._execute.get(ws)
        if tasks is None:
            self._execute[ws] = [ts]
        else:
            tasks.append(ts)

    def _unassign(self, ts: TaskState, cancel: bool) -> None:
        ws = ts.processing_on
        ws.load -= ws.processing.pop(ts)
        ts.processing_on = None
        if not ws.closed:
            self._dirty[ws] = None
            if cancel:
                self._free_on(ws.address, ts.key)

    def _dequeue(self, ts: TaskState) -> None:
        ts.queue_entry = None  # its heap entries are now stale
        if ts.workers is not None:  # drop them now: a heap of an absent worker is never popped
            restricted = self._restricted
            for name in ts.workers:
                heap = restricted.get(name)
                if heap is not None:
                    while heap and heap[0][2].queue_entry is not heap[0]:
                        heapq.heappop(heap)
                    if not heap:
                        del restricted[name]

    def _stop(self, ts: TaskState) -> None:
        """Take a queued or processing task out of the queue / off its worker."""
        if ts.state == QUEUED:
            self._dequeue(ts)
        elif ts.state == PROCESSING:
            self._unassign(ts, cancel=True)

    def _to_memory(self, ts: TaskState, ws: WorkerState, nbytes: int) -> None:
        """``ws`` holds the result of ``ts`` (computed there, fetched, or scattered)."""
        state = ts.state
        if state == MEMORY:
            if ws.address not in ts.who_has:
                ts.who_has = ts.who_has | ws.alone
                ws.has_what.add(ts)
                ws.nbytes += ts.nbytes
            return
        if state in PENDING:
            if state == PROCESSING:
                other = ts.processing_on
                self._unassign(ts, cancel=other is not ws)
            elif state == QUEUED:
                self._dequeue(ts)
            self._leave_pending(ts)
        self._landed(ts, ws, nbytes)

    def _landed(self, ts: TaskState, ws: WorkerState, nbytes: int) -> None:
        """The first copy of ``ts`` is on ``ws`` (ts is out of the queue and off workers)."""
        counts = ts.prefix.counts
        counts[ts.state] -= 1
        counts[MEMORY] += 1
        ts.state = MEMORY
        ts.waiting_on = 0
        ts.who_has = ws.alone
        ts.nbytes = nbytes
        ws.has_what.add(ts)
        ws.nbytes += nbytes
        wanted_by = ts.wanted_by
        if not ts.reported:
            ts.reported = True
            if wanted_by:
                update = ev.KeyUpdate(ts.key, MEMORY)
                reports = self._reports
                for client in wanted_by:
                    updates = reports.get(client)
                    if updates is None:
                        reports[client] = [update]
                    else:
                        updates.append(update)
        for dep in ts.dependents:
            if dep.state == WAITING:
                n = dep.waiting_on - 1
                dep.waiting_on = n
                if not n:
                    self._ready(dep)
        if not wanted_by and not ts.pending_dependents and ts.run_spec is not None:
            self._check.append(ts)

    def _err(self, ts: TaskState, exception, traceback, worker) -> None:
        """``ts`` errs, and with it every pending task that depends on it, transitively."""
        stack = [ts]
        while stack:
            t = stack.pop()
            state = t.state
            if state == ERRED:
                continue
            if state in PENDING:
                self._stop(t)
                self._leave_pending(t)
            self._set_state(t, ERRED)
            t.exception = exception
            t.traceback = traceback
            t.erred_on = worker
            t.reported = True
            if t.wanted_by:
                update = ev.KeyUpdate(t.key, ERRED, exception, traceback)
                for client in t.wanted_by:
                    self._report(client, update)
            for dep in t.dependents:
                if dep.state in PENDING:
                    stack.append(dep)
            self._check.append(t)

    def _lose(self, lost: list) -> None:
        """These tasks were in memory and their last copy is gone."""
        roots = []
        for ts in lost:
            self._set_state(ts, RELEASED)
            for dep in ts.dependents:
                state = dep.state
                if state == WAITING:
                    dep.waiting_on += 1
                elif state in PENDING:  # was ready: now waits for the recomputed input
                    self._stop(dep)
                    self._set_state(dep, WAITING)
                    dep.waiting_on = 1
            if ts.wanted_by or ts.pending_dependents:
                roots.append(ts)
            else:
                self._check.append(ts)
        self._recompute(roots)

    def _recompute(self, roots: list) -> None:
        """Bring released tasks that are needed (and their released inputs) back to pending."""
        stack = roots[::-1]
        revived = []
        new_roots: list = []
        while stack:
            ts = stack.pop()
            if ts.state != RELEASED:
                continue
            if ts.run_spec is None:
                self._err(ts, ("LostData", ts.key, f"the only copy of scattered key {ts.key!r} was "
                                                   "lost with its worker; scatter it again"), None, None)
                continue
            if not ts.dependencies and ts.workers is None:
                self._enqueue(ts, new_roots)  # a root: ready at once; queued below in one run
                continue
            self._set_state(ts, WAITING)
            self._enter_pending(ts)
            revived.append(ts)
            for dep in reversed(ts.dependencies):  # visited in their given order
                if dep.state == RELEASED:
                    stack.append(dep)
        if new_roots:
            new_roots.sort()  # usually sorted already: O(n)
            self._queue.push_sorted(new_roots)
        ready = []
        for ts in revived:
            if ts.state != WAITING:
                continue  # erred meanwhile (a lost scattered input)
            n = 0
            erred = None
            for dep in ts.dependencies:
                state = dep.state
                if state == MEMORY:
                    continue
                if state == ERRED:
                    erred = dep
                    break
                n += 1
            if erred is not None:
                self._err(ts, erred.exception, erred.traceback, erred.erred_on)
                continue
            ts.waiting_on = n
            if not n:
                ready.append(ts)
        if len(ready) > 1:
            ready.sort(key=by_priority)
        for ts in ready:
            if ts.state == WAITING and not ts.waiting_on:
                self._ready(ts)

    def _release_pass(self) -> None:
        """Release what nothing needs any more; forget what nothing refers to."""
        check = self._check
        while check:
            ts = check.pop()
            state = ts.state
            if state == FORGOTTEN or ts.wanted_by or ts.pending_dependents:
                continue
            if state == MEMORY:
                key = ts.key
                for address in ts.who_has:
                    ws = self.workers[address]
                    ws.has_what.discard(ts)
                    ws.nbytes -= ts.nbytes
                    self._free_on(address, key)
                ts.who_has = EMPTY
                self._set_state(ts, RELEASED)
            elif state in PENDING:
                self._stop(ts)
                self._set_state(ts, RELEASED)
                self._leave_pending(ts)
            if not ts.dependents:
                self._forget(ts)

    def _forget(self, ts: TaskState) -> None:
        del self.tasks[ts.key]
        ts.prefix.counts[ts.state] -= 1
        ts.state = FORGOTTEN
        check = self._check
        for dep in ts.dependencies:
            dependents = dep.dependents
            if type(dependents) is set:
                dependents.discard(ts)
                if not dependents:
                    dep.dependents = ()
            else:
                dependents = dep.dependents = tuple(d for d in dependents if d is not ts)
            if not dependents:
                check.append(dep)

    def _free_on(self, address: str, key: Key) -> None:
        keys = self._free.get(address)
        if keys is None:
            self._free[address] = [key]
        else:
            keys.append(key)

    def _report(self, client: str, update: ev.KeyUpdate) -> None:
        updates = self._reports.get(client)
        if updates is None:
            self._reports[client] = [update]
        else:
            updates.append(update)

    # ------------------------------------------------------------------ settling

    def _settle(self) -> None:
        """Workers that got room take queued work; the rest of the queue goes to idle workers."""
        room = self._room
        if self._dirty:
            dirty = self._dirty
            self._dirty = {}
            for ws in dirty:
                if not ws.closed:
                    self._fill(ws)
                    room.touch(ws)
        queue = self._queue
        while True:
            entry = queue.top()
            if entry is None:
                break
            ts = entry[2]
            ws = room.least_loaded()
            if ws is None or not self._fits(ws, ts):
                break
            queue.pop()
            self._assign(ts, ws)
            room.touch(ws)

    def _fill(self, ws: WorkerState) -> None:
        """Give ``ws`` the best queued tasks it may run, while it has room."""
        restricted = self._restricted
        if restricted and (ws.address in restricted or ws.name in restricted):
            self._fill_restricted(ws)
            return
        queue = self._queue
        top = queue.top
        assign = self._assign
        capacity = ws.capacity
        while True:
            entry = top()
            if entry is None:
                break
            ts = entry[2]
            load = ws.load
            if load and load + ts.prefix.cost > capacity:
                break
            queue.pop()
            assign(ts, ws)

    def _fill_restricted(self, ws: WorkerState) -> None:
        """:meth:`_fill` for a worker that some queued tasks are restricted to."""
        queue = self._queue
        heaps = []
        for name in dict.fromkeys((ws.address, ws.name)):
            heap = self._restricted.get(name)
            if heap is not None:
                heaps.append(heap)
        while True:
            best = queue.top()
            best_heap = None
            for heap in heaps:
                while heap and heap[0][2].queue_entry is not heap[0]:
                    heapq.heappop(heap)
                if heap and (best is None or heap[0] < best):
                    best, best_heap = heap[0], heap
            if best is None or not self._fits(ws, best[2]):
                break
            if best_heap is None:
                queue.pop()
            else:
                heapq.heappop(best_heap)
            self._assign(best[2], ws)
        for name in (ws.address, ws.name):
            if not self._restricted.get(name, True):
                del self._restricted[name]

    def validate_state(self) -> None:
        """Check every invariant; raise :class:`InvalidSchedulerState` naming the first broken one."""
        from teem.distributed.scheduler.validate import validate_state

        validate_state(self)

    def _flush(self) -> list:
        out: list = []
        workers = self.workers
        if self._close:
            out.extend(ev.CloseWorker(address, reason) for address, reason in self._close)
            self._close = []
        if self._free:
            for address, keys in self._free.items():
                if address in workers:
                    out.append(ev.FreeKeys(address, tuple(dict.fromkeys(keys))))
            self._free = {}
        if self._execute:
            for ws, tasks in self._execute.items():
                if workers.get(ws.address) is not ws:
                    continue
                batch = []
                for ts in dict.fromkeys(tasks) if len(tasks) > 1 else tasks:
                    if ts.processing_on is not ws:
                        continue
                    deps = ts.dependencies
                    if deps:
                        who_has = {dep.key: tuple(dep.who_has) for dep in deps}
                        nbytes = {dep.key: dep.nbytes for dep in deps}
                    else:
                        who_has, nbytes = {}, {}
                    batch.append(ev.ExecuteTask(ts.key, ts.run_spec, who_has, nbytes, ts.priority,
                                                bool(ts.wanted_by)))
                if batch:
                    out.append(ev.Execute(ws.address, tuple(batch)))
            self._execute = {}
        if self._reports:
            out.extend(ev.Report(client, tuple(updates)) for client, updates in self._reports.items())
            self._reports = {}
        return out
