"""The distributed worker's decisions, as a pure state machine.

Theory of operation
-------------------
1. Everything comes in through :meth:`WorkerState.handle` as events and goes
   out as instructions (``events.py``).  No I/O, no threads, no clock.  The
   shell stores values (task results, fetched and scattered data) *before*
   it reports them, and deletes them when told to (:class:`~.events.Release`);
   the state machine only tracks keys and their sizes.
2. One record (:class:`TaskState`) per key, in one of these states:

   ``waiting``    to compute here; some dependency not here yet
   ``ready``      to compute here; all dependencies here; in the ready heap
   ``executing``  a :class:`~.events.Run` is out; its end always comes back
   ``memory``     the value is in the shell's data
   ``fetch``      a dependency to get from a peer (``who_has`` is not empty)
   ``flight``     being fetched from ``flight_from``; the answer always comes back
   ``missing``    a dependency no known peer has: the scheduler will either send
                  new holders (with another ``execute``) or cancel the dependents

3. Why a record lives, counted never searched: ``assigned`` (the scheduler
   sent ``execute`` and has not heard back or freed it), ``held`` (the
   scheduler believes the value is here: reported by ``task-finished``,
   ``add-replicas`` or given by ``put-data``; cleared by ``free-keys``), or
   ``dependents`` (local tasks that need it, while they wait, are ready or
   run).  A record with none of them is dropped at once (a value in memory is
   released), except while ``executing`` or in ``flight``: then it is dropped
   when that ends, and its result is neither kept nor reported.  ``execute``
   for the same key meanwhile makes it wanted again.
4. ``free-keys`` clears ``assigned`` and ``held``.  A task still waiting or
   ready that only local dependents need is not computed here for them: it
   turns into a dependency to fetch from the holders its dependents named.
5. Running: ready tasks leave the heap by priority (lower first), at most
   ``nthreads`` executing, none while paused.
6. Fetching: dependencies in ``fetch`` wait in a global priority heap and in
   one heap per holder.  The most urgent one picks a holder (fewest fetches
   out, at most ``fetch_per_peer`` each, ``fetch_total`` in all; none while
   paused: fetched data takes memory too); the fetch
   takes every other key that holder has, by priority, up to
   ``fetch_bytes`` bytes.  A holder that did not send a key (or could not be
   reached) is reported with ``missing-data`` and struck from the key's
   ``who_has``; the key is tried at its next holder, or goes ``missing``.
   Fetched keys that are still needed are reported with ``add-replicas``.
7. Heap entries are ``(priority, n, ts)``; an entry is live while it is the
   record's ``entry`` and the record is in the state the heap is for; stale
   entries are skipped when they come up.
"""

from __future__ import annotations

import heapq
from itertools import count
from typing import Hashable

from teem.distributed.worker import events as ev

__all__ = ["WorkerState", "TaskState", "InvalidWorkerState", "WAITING", "READY", "EXECUTING",
           "MEMORY", "FETCH", "FLIGHT", "MISSING", "FORGOTTEN", "STATES"]

Key = Hashable

WAITING = "waiting"
READY = "ready"
EXECUTING = "executing"
MEMORY = "memory"
FETCH = "fetch"
FLIGHT = "flight"
MISSING = "missing"
FORGOTTEN = "forgotten"
STATES = (WAITING, READY, EXECUTING, MEMORY, FETCH, FLIGHT, MISSING)
_COMPUTING = frozenset((WAITING, READY, EXECUTING))  # states in which a task needs its dependencies

FETCH_BYTES = 50 * 2**20  # one fetch gathers keys from one holder up to this many bytes


class InvalidWorkerState(AssertionError):
    """:meth:`WorkerState.validate_state` found a broken invariant (a bug in the worker)."""


class TaskState:
    """What the worker knows about one key (see the module docstring for the states)."""

    __slots__ = (
        "key", "state", "run_spec", "priority",
        "dependencies",  # tuple of TaskState, while computing here (waiting/ready/executing)
        "dependents",    # TaskStates computing here that need this value (a dict used as an ordered set)
        "waiting_on",    # dependencies not in memory (while waiting)
        "who_has",       # peers said to hold the value (set of addresses)
        "nbytes",
        "assigned",      # the scheduler awaits task-finished/task-erred for it
        "held",          # the scheduler counts this worker as a holder
        "entry",         # the live ready/fetch heap entry, else None
        "flight_from",   # the holder being asked, while in flight
        "deps_spec",     # (who_has, nbytes) of an execute received while in flight
    )

    def __init__(self, key: Key, priority: tuple = ()):
        self.key = key
        self.state = MISSING
        self.run_spec = None
        self.priority = priority
        self.dependencies: tuple = ()
        self.dependents: dict = {}
        self.waiting_on = 0
        self.who_has: set = set()
        self.nbytes = 0
        self.assigned = False
        self.held = False
        self.entry = None
        self.flight_from = None
        self.deps_spec = None

    def __repr__(self) -> str:
        flags = "".join(f" {f}" for f in ("assigned", "held") if getattr(self, f))
        return f"<TaskState {self.key!r} {self.state}{flags}>"


class WorkerState:
    """All decisions of one worker; no I/O.

    Parameters
    ----------
    address:
        This worker's own address (a ``who_has`` naming it for a key it does
        not hold is reported as missing data).
    nthreads:
        Tasks that may execute at once.
    fetch_per_peer, fetch_total:
        Fetches that may be out at once to one peer, and in all.
    fetch_bytes:
        Bytes one fetch asks for (it always asks for at least one key).
    validate:
        Run :meth:`validate_state` after every :meth:`handle` call (tests).

    Example
    -------
    >>> from teem.distributed.worker.events import Compute, ExecuteSuccess
    >>> s = WorkerState("tcp://127.0.0.1:9001", nthreads=1)
    >>> s.handle(Compute((("x", b"spec", {}, {}, (0,)),)))
    [Run(key='x', run_spec=b'spec')]
    >>> s.handle(ExecuteSuccess("x", nbytes=8, start=1.0, stop=1.5))
    [TaskFinishedMsg(key='x', nbytes=8, start=1.0, stop=1.5, thread=0)]
    """

    def __init__(self, address: str, nthreads: int = 1, *, fetch_per_peer: int = 2,
                 fetch_total: int = 8, fetch_bytes: int = FETCH_BYTES, validate: bool = False):
        if nthreads < 1:
            raise ValueError(f"a worker needs at least one thread, not nthreads={nthreads!r}")
        self.address = address
        self.nthreads = nthreads
        self.fetch_per_peer = max(1, fetch_per_peer)
        self.fetch_total = max(1, fetch_total)
        self.fetch_bytes = fetch_bytes
        self.validate = validate
        self.tasks: dict = {}
        self.paused = False
        self.executing = 0            # records in 'executing'
        self.nready = 0               # records in 'ready'
        self.nfetch = 0               # records in 'fetch'
        self.flights: dict = {}       # holder -> fetches out to it
        self.nflights = 0
        self._ready: list = []        # heap of (priority, n, ts)
        self._fetch: list = []        # heap of (priority, n, ts), all holders
        self._by_holder: dict = {}    # holder -> heap of the same entries
        self._counter = count()
        self._out: list = []
        self._release: list = []
        self._replicas: list = []
        self._handlers = {
            ev.Compute: self._compute, ev.FreeKeys: self._free_keys,
            ev.ExecuteSuccess: self._execute_success, ev.ExecuteFailure: self._execute_failure,
            ev.FetchDone: self._fetch_done, ev.FetchFailed: self._fetch_failed,
            ev.PutData: self._put_data, ev.Pause: self._pause, ev.Unpause: self._unpause,
        }

    # ------------------------------------------------------------------ entry point

    def handle(self, *events: ev.Event) -> list:
        """Apply ``events`` in order and return the instructions they lead to.

        Order of the instructions: the messages for the scheduler decided
        while handling the events (``TaskFinishedMsg``, ``TaskErredMsg``,
        ``MissingDataMsg``), then one ``Release``, one ``AddReplicasMsg``,
        the ``Fetch`` instructions, and the ``Run`` instructions.

        Raises TypeError for an object that is not a worker event.
        """
        handlers = self._handlers
        for event in events:
            try:
                handler = handlers[type(event)]
            except KeyError:
                raise TypeError(f"WorkerState.handle: {event!r} is not a worker event") from None
            handler(event)
        if self._release:
            self._out.append(ev.Release(tuple(self._release)))
            self._release = []
        if self._replicas:
            keys = tuple(ts.key for ts in self._replicas)
            self._out.append(ev.AddReplicasMsg(keys, tuple(ts.nbytes for ts in self._replicas)))
            self._replicas = []
        if self.nfetch and not self.paused:
            self._start_fetches()
        if self.nready and not self.paused:
            self._start_ready()
        out = self._out
        self._out = []
        if self.validate:
            self.validate_state()
        return out

    # ------------------------------------------------------------------ views

    def task_state(self, key: Key) -> str:
        """The state of ``key`` ('forgotten' if the worker does not know it)."""
        ts = self.tasks.get(key)
        return FORGOTTEN if ts is None else ts.state

    # ------------------------------------------------------------------ events

    def _compute(self, e: ev.Compute) -> None:
        tasks = self.tasks
        for key, run_spec, who_has, nbytes, priority in e.tasks:
            ts = tasks.get(key)
            if ts is None:
                ts = tasks[key] = TaskState(key, priority)
                ts.run_spec = run_spec
                ts.assigned = True
                if who_has:
                    self._link(ts, who_has, nbytes)
                else:
                    self._to_ready(ts)
                continue
            state = ts.state
            if state == MEMORY:  # already here (kept for a local dependent): done at once
                ts.held = True
                self._out.append(ev.TaskFinishedMsg(key, ts.nbytes, 0.0, 0.0, 0))
            elif state == EXECUTING or state == FLIGHT:
                ts.assigned = True  # report the result after all
                ts.run_spec = run_spec
                if state == FLIGHT:
                    ts.deps_spec = (who_has, nbytes)  # to compute it if the fetch fails
            elif state == FETCH or state == MISSING:
                if state == FETCH:
                    self.nfetch -= 1
                ts.entry = None
                ts.run_spec = run_spec
                ts.assigned = True
                ts.priority = min(ts.priority, priority)
                if who_has:
                    self._link(ts, who_has, nbytes)
                else:
                    self._to_ready(ts)
            # waiting or ready: a repeated execute, nothing to do

    def _free_keys(self, e: ev.FreeKeys) -> None:
        tasks = self.tasks
        for key in e.keys:
            ts = tasks.get(key)
            if ts is not None:
                if ts.held and ts.state == EXECUTING:  # a scattered value, while a run is out
                    self._release.append(key)
                ts.assigned = False
                ts.held = False
                self._check(ts)

    def _execute_success(self, e: ev.ExecuteSuccess) -> None:
        ts = self.tasks.get(e.key)
        if ts is None or ts.state != EXECUTING:
            raise ValueError(f"ExecuteSuccess for {e.key!r}, which is not executing "
                             f"({self.task_state(e.key)}): every Run ends exactly once")
        self.executing -= 1
        ts.nbytes = e.nbytes
        ts.run_spec = None
        if ts.dependencies:
            self._unlink(ts)
        if ts.assigned:
            ts.assigned = False
            ts.held = True
            self._out.append(ev.TaskFinishedMsg(e.key, e.nbytes, e.start, e.stop, e.thread))
        elif not ts.held and not ts.dependents:  # cancelled while it ran: drop the result
            self._release.append(e.key)
            self._forget(ts)
            return
        ts.state = MEMORY
        if ts.dependents:
            self._landed(ts)

    def _execute_failure(self, e: ev.ExecuteFailure) -> None:
        ts = self.tasks.get(e.key)
        if ts is None or ts.state != EXECUTING:
            raise ValueError(f"ExecuteFailure for {e.key!r}, which is not executing "
                             f"({self.task_state(e.key)}): every Run ends exactly once")
        self.executing -= 1
        ts.run_spec = None
        if ts.dependencies:
            self._unlink(ts)
        if ts.assigned:
            ts.assigned = False
            self._out.append(ev.TaskErredMsg(e.key, e.exception, e.traceback, e.start, e.stop,
                                             e.thread))
        if ts.held:  # scattered here while it ran: that value stands
            ts.state = MEMORY
            self._landed(ts)
        elif ts.dependents:  # a local task needs it: get it from where it is
            self._to_fetch(ts)
        else:
            self._forget(ts)

    def _fetch_done(self, e: ev.FetchDone) -> None:
        self._end_flight(e.holder)
        tasks = self.tasks
        received = e.nbytes
        holder = e.holder
        for key in e.keys:
            ts = tasks.get(key)
            got = key in received
            if ts is None or ts.state != FLIGHT or ts.flight_from != holder:
                if got and (ts is None or ts.state != MEMORY):
                    self._release.append(key)  # superseded meanwhile: the shell stored it for nothing
                continue
            ts.flight_from = None
            if not got:
                self._not_at(ts, holder)
                continue
            ts.nbytes = received[key]
            if ts.assigned:  # an execute came while it was in flight: this is its result
                ts.assigned = False
                ts.held = True
                ts.deps_spec = None
                self._out.append(ev.TaskFinishedMsg(key, ts.nbytes, 0.0, 0.0, 0))
            elif ts.dependents:
                ts.held = True
                self._replicas.append(ts)
            else:  # no longer needed
                self._release.append(key)
                self._forget(ts)
                continue
            ts.state = MEMORY
            self._landed(ts)

    def _fetch_failed(self, e: ev.FetchFailed) -> None:
        self._end_flight(e.holder)
        tasks = self.tasks
        for key in e.keys:
            ts = tasks.get(key)
            if ts is not None and ts.state == FLIGHT and ts.flight_from == e.holder:
                ts.flight_from = None
                self._not_at(ts, e.holder)

    def _put_data(self, e: ev.PutData) -> None:
        tasks = self.tasks
        for key, nbytes in zip(e.keys, e.nbytes):
            ts = tasks.get(key)
            if ts is None:
                ts = tasks[key] = TaskState(key)
            ts.nbytes = nbytes
            ts.held = True
            state = ts.state
            if state == MEMORY or state == EXECUTING:
                continue  # (executing: its result, the same value, lands later)
            if state == READY:
                self.nready -= 1
            elif state == FETCH:
                self.nfetch -= 1
            elif state == FLIGHT:
                ts.flight_from = None  # the fetch's answer will be ignored
            ts.entry = None
            ts.run_spec = None
            ts.deps_spec = None
            if ts.dependencies:
                self._unlink(ts)
            if ts.assigned:
                ts.assigned = False
                self._out.append(ev.TaskFinishedMsg(key, nbytes, 0.0, 0.0, 0))
            ts.state = MEMORY
            if ts.dependents:
                self._landed(ts)

    def _pause(self, e: ev.Pause) -> None:
        self.paused = True

    def _unpause(self, e: ev.Unpause) -> None:
        self.paused = False

    # ------------------------------------------------------------------ transitions

    def _link(self, ts: TaskState, who_has: dict, nbytes: dict) -> None:
        """Make ``ts`` (to compute here) depend on the keys of ``who_has``; it waits or is ready."""
        tasks = self.tasks
        deps = []
        waiting = 0
        priority = ts.priority
        for dkey, holders in who_has.items():
            dep = tasks.get(dkey)
            if dep is None:
                dep = tasks[dkey] = TaskState(dkey, priority)
                dep.nbytes = nbytes.get(dkey, 0) if nbytes else 0
                dep.dependents[ts] = None
                self._add_holders(dep, holders)
                self._to_fetch(dep)
                waiting += 1
                deps.append(dep)
                continue
            dep.dependents[ts] = None
            if not dep.nbytes and nbytes:
                dep.nbytes = nbytes.get(dkey, 0)
            state = dep.state
            if state != MEMORY:
                waiting += 1
                self._add_holders(dep, holders)
                if priority < dep.priority:
                    dep.priority = priority
                    if state == FETCH:
                        self._push_fetch(dep)  # sooner
                if state == MISSING and dep.who_has:
                    self._to_fetch(dep)
            deps.append(dep)
        ts.dependencies = tuple(deps)
        ts.waiting_on = waiting
        if waiting:
            ts.state = WAITING
        else:
            self._to_ready(ts)

    def _add_holders(self, ts: TaskState, holders) -> None:
        who_has = ts.who_has
        for holder in holders:
            if holder == self.address:  # the scheduler thinks it is here, and it is not
                self._out.append(ev.MissingDataMsg(ts.key, holder))
            elif holder not in who_has:
                who_has.add(holder)
                if ts.state == FETCH:
                    self._push_holder(holder, ts.entry)

    def _unlink(self, ts: TaskState) -> None:
        """``ts`` no longer needs its dependencies (it ran, or is not computed here)."""
        deps = ts.dependencies
        ts.dependencies = ()
        for dep in deps:
            dependents = dep.dependents
            dependents.pop(ts, None)
            if not dependents:
                self._check(dep)

    def _to_ready(self, ts: TaskState) -> None:
        ts.state = READY
        ts.waiting_on = 0
        entry = ts.entry = (ts.priority, next(self._counter), ts)
        heapq.heappush(self._ready, entry)
        self.nready += 1

    def _landed(self, ts: TaskState) -> None:
        """``ts`` is now in memory: its waiting dependents count one less missing input."""
        for dependent in ts.dependents:
            if dependent.state == WAITING:
                n = dependent.waiting_on - 1
                dependent.waiting_on = n
                if not n:
                    self._to_ready(dependent)

    def _check(self, ts: TaskState) -> None:
        """Drop ``ts`` if nothing keeps it (see the module docstring, 3 and 4)."""
        if ts.assigned or ts.held:
            return
        state = ts.state
        if ts.dependents:
            if state == WAITING or state == READY:  # only local dependents need it: fetch it
                if state == READY:
                    self.nready -= 1
                ts.entry = None
                ts.run_spec = None
                self._unlink(ts)
                self._to_fetch(ts)
            return
        if state == EXECUTING or state == FLIGHT:
            return  # dropped when it ends
        if state == MEMORY:
            self._release.append(ts.key)
        elif state == READY:
            self.nready -= 1
        elif state == FETCH:
            self.nfetch -= 1
        if ts.dependencies:
            self._unlink(ts)
        self._forget(ts)

    def _forget(self, ts: TaskState) -> None:
        del self.tasks[ts.key]
        ts.state = FORGOTTEN
        ts.entry = None

    # ------------------------------------------------------------------ running

    def _start_ready(self) -> None:
        ready, out = self._ready, self._out
        nthreads = self.nthreads
        while self.executing < nthreads and self.nready:
            entry = heapq.heappop(ready)
            ts = entry[2]
            if ts.entry is not entry or ts.state != READY:
                continue  # stale
            ts.entry = None
            ts.state = EXECUTING
            self.nready -= 1
            self.executing += 1
            out.append(ev.Run(ts.key, ts.run_spec))

    # ------------------------------------------------------------------ fetching

    def _to_fetch(self, ts: TaskState) -> None:
        """``ts`` is needed here: fetch it from a holder, or wait for one to be named."""
        if ts.who_has:
            ts.state = FETCH
            self.nfetch += 1
            self._push_fetch(ts)
        else:
            ts.state = MISSING
            ts.entry = None

    def _push_fetch(self, ts: TaskState) -> None:
        entry = ts.entry = (ts.priority, next(self._counter), ts)
        heapq.heappush(self._fetch, entry)
        for holder in ts.who_has:
            self._push_holder(holder, entry)

    def _push_holder(self, holder: str, entry: tuple) -> None:
        heap = self._by_holder.get(holder)
        if heap is None:
            self._by_holder[holder] = [entry]
            return
        heapq.heappush(heap, entry)
        if len(heap) > 2 * self.nfetch + 64:  # mostly stale: compact
            live = [e for e in heap if _live_at(e, holder)]
            heapq.heapify(live)
            self._by_holder[holder] = live

    def _not_at(self, ts: TaskState, holder: str) -> None:
        """``holder`` did not give ``ts`` (the record just left flight): tell, and try elsewhere."""
        ts.who_has.discard(holder)
        self._out.append(ev.MissingDataMsg(ts.key, holder))
        if ts.assigned:  # an execute came while it was in flight: compute it here
            who_has, nbytes = ts.deps_spec
            ts.deps_spec = None
            if who_has:
                self._link(ts, who_has, nbytes)
            else:
                self._to_ready(ts)
        elif ts.dependents:
            self._to_fetch(ts)
        else:
            self._forget(ts)

    def _end_flight(self, holder: str) -> None:
        n = self.flights.get(holder, 0)
        if n <= 0:
            raise ValueError(f"a fetch from {holder} ended, but none was out")
        if n == 1:
            del self.flights[holder]
        else:
            self.flights[holder] = n - 1
        self.nflights -= 1

    def _start_fetches(self) -> None:
        heap = self._fetch
        flights = self.flights
        per_peer = self.fetch_per_peer
        skipped = []
        while self.nflights < self.fetch_total and heap:
            entry = heap[0]
            ts = entry[2]
            if ts.entry is not entry or ts.state != FETCH:
                heapq.heappop(heap)
                continue
            holder = None
            best = per_peer
            for address in ts.who_has:
                n = flights.get(address, 0)
                if n < best or (n == best and holder is not None and address < holder):
                    holder, best = address, n
            heapq.heappop(heap)
            if holder is None:  # every holder is busy: it waits for the next round
                skipped.append(entry)
                continue
            keys = self._gather_from(holder, ts)
            flights[holder] = best + 1
            self.nflights += 1
            self._out.append(ev.Fetch(holder, keys))
        for entry in skipped:
            heapq.heappush(heap, entry)

    def _gather_from(self, holder: str, first: TaskState) -> tuple:
        """Put ``first`` and the most urgent other keys ``holder`` has in flight from it."""
        self._fly(first, holder)
        keys = [first.key]
        total = first.nbytes
        limit = self.fetch_bytes
        heap = self._by_holder.get(holder)
        while heap and total < limit:
            ts = heap[0][2]
            if not _live_at(heap[0], holder):
                heapq.heappop(heap)
                continue
            if total + ts.nbytes > limit:
                break
            heapq.heappop(heap)
            self._fly(ts, holder)
            keys.append(ts.key)
            total += ts.nbytes
        if heap is not None and not heap:
            del self._by_holder[holder]
        return tuple(keys)

    def _fly(self, ts: TaskState, holder: str) -> None:
        ts.state = FLIGHT
        ts.flight_from = holder
        ts.entry = None
        self.nfetch -= 1

    # ------------------------------------------------------------------ checking

    def validate_state(self) -> None:
        """Check every invariant; raise :class:`InvalidWorkerState` naming the first broken one.

        O(tasks + edges + heap entries): for tests, after every :meth:`handle` call.
        """
        counts = dict.fromkeys(STATES, 0)
        for key, ts in self.tasks.items():
            _check_task(self, key, ts)
            counts[ts.state] += 1
        if counts[EXECUTING] != self.executing:
            _fail(f"executing counter {self.executing} but {counts[EXECUTING]} records", self)
        if counts[READY] != self.nready:
            _fail(f"ready counter {self.nready} but {counts[READY]} records", self)
        if counts[FETCH] != self.nfetch:
            _fail(f"fetch counter {self.nfetch} but {counts[FETCH]} records", self)
        if self.executing > self.nthreads:
            _fail(f"{self.executing} tasks executing on {self.nthreads} threads", self)
        if not self.paused and self.nready and self.executing < self.nthreads:
            _fail("a thread is idle while tasks are ready", self)
        if sum(self.flights.values()) != self.nflights or any(n < 1 for n in self.flights.values()):
            _fail(f"flights {self.flights} do not add up to {self.nflights}", self)
        if self.nflights > self.fetch_total or any(n > self.fetch_per_peer for n in self.flights.values()):
            _fail(f"too many fetches out: {self.flights}", self)
        live = [e[2] for e in self._ready if e[2].entry is e and e[2].state == READY]
        if len(live) != self.nready or len(set(map(id, live))) != len(live):
            _fail("the ready heap does not hold each ready record once", live)
        live = [e[2] for e in self._fetch if e[2].entry is e and e[2].state == FETCH]
        if len(live) != self.nfetch:
            _fail("the fetch heap does not hold each record to fetch once", live)
        for ts in live:
            for holder in ts.who_has:
                if not any(e is ts.entry for e in self._by_holder.get(holder, ())):
                    _fail(f"holder {holder} has no heap entry for", ts)
        if not self.paused and self.nfetch and self.nflights < self.fetch_total:
            for ts in live:
                if any(self.flights.get(h, 0) < self.fetch_per_peer for h in ts.who_has):
                    _fail("a dependency waits to be fetched from a holder with room", ts)
        if self._out or self._release or self._replicas:
            _fail("instructions left over after handle()", self._out)


def _live_at(entry: tuple, holder: str) -> bool:
    ts = entry[2]
    return ts.entry is entry and ts.state == FETCH and holder in ts.who_has


def _fail(what: str, obj) -> None:
    raise InvalidWorkerState(f"worker state invalid: {what}: {obj!r}")


def _check_task(s: WorkerState, key, ts: TaskState) -> None:
    tasks = s.tasks
    state = ts.state
    if ts.key != key:
        _fail(f"record stored under key {key!r}", ts)
    if state not in STATES:
        _fail("unknown state", ts)
    if not (ts.assigned or ts.held or ts.dependents) and state not in (EXECUTING, FLIGHT):
        _fail("a record that nothing keeps", ts)
    if state in _COMPUTING:
        if ts.run_spec is None and state != EXECUTING:
            _fail("a task to compute without a run spec", ts)
        if state != EXECUTING and not ts.assigned:
            _fail("a task computed here that the scheduler did not ask for", ts)
        waiting = 0
        for dep in ts.dependencies:
            if tasks.get(dep.key) is not dep:
                _fail(f"dependency {dep.key!r} is not a live record", ts)
            if ts not in dep.dependents:
                _fail(f"dependency {dep.key!r} does not list it as a dependent", ts)
            if dep.state != MEMORY:
                waiting += 1
        if state == WAITING and (waiting == 0 or waiting != ts.waiting_on):
            _fail(f"waiting on {ts.waiting_on} but {waiting} dependencies are not in memory", ts)
        if state != WAITING and waiting:
            _fail(f"{state} with {waiting} dependencies not in memory", ts)
    elif ts.dependencies:
        _fail("dependencies kept by a record not computed here", ts)
    for dependent in ts.dependents:
        if tasks.get(dependent.key) is not dependent or dependent.state not in _COMPUTING:
            _fail(f"dependent {dependent.key!r} is not a task computing here", ts)
        if ts not in dependent.dependencies:
            _fail(f"dependent {dependent.key!r} does not depend on it", ts)
    if state == FETCH and not ts.who_has:
        _fail("to fetch, but from nobody", ts)
    if state == MISSING and ts.who_has:
        _fail("missing, but holders are known", ts)
    if s.address in ts.who_has:
        _fail("names this worker as a holder to fetch from", ts)
    if (state == FLIGHT) != (ts.flight_from is not None):
        _fail("flight_from does not match the state", ts)
    if state == FLIGHT and ts.flight_from not in s.flights:
        _fail(f"in flight from {ts.flight_from}, but no fetch is out to it", ts)
    if ts.held and state not in (MEMORY, EXECUTING):
        _fail("held for the scheduler but not in memory", ts)
    if ts.assigned and state in (MEMORY, FETCH, MISSING):
        _fail("assigned, but neither computing nor in flight", ts)
    if ts.assigned and state == FLIGHT and ts.deps_spec is None:
        _fail("assigned while in flight, without its dependencies to compute it", ts)
