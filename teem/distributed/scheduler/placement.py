"""Scheduling policies: small functions, swappable without touching the state machine.

- :func:`occupancy_depth`: how many tasks of a prefix one thread may hold at once.
- :func:`best_holder`: which worker, among those with room, runs a task with
  dependencies (most bytes of its inputs already there; ties to the least busy).
- :class:`RoomHeap`: the workers that have room, least occupied first, in
  O(log workers) per change (lazy deletion, compacted when it grows).
- :class:`ReadyQueue`: queued tasks by priority, as a heap of sorted runs, so
  a million roots submitted at once cost one sort, not a million heap pushes.
"""

from __future__ import annotations

import heapq
from itertools import count
from math import ceil

__all__ = ["OCCUPANCY_UNITS", "TARGET_SECONDS", "MAX_DEPTH", "occupancy_depth", "task_cost",
           "best_holder", "RoomHeap", "ReadyQueue"]

#: A thread's capacity, in occupancy units; a task of depth ``d`` costs ``OCCUPANCY_UNITS // d``.
OCCUPANCY_UNITS = 1000
#: Work (seconds) a thread should have queued: enough to hide the round trip to the scheduler.
TARGET_SECONDS = 0.005
MAX_DEPTH = 1000


def occupancy_depth(mean_duration: float | None) -> int:
    """Tasks per thread a worker may hold for a prefix whose tasks take ``mean_duration`` s.

    ``clamp(ceil(0.005 / mean_duration), 1, 1000)``; an unmeasured prefix
    (None) gets 1, so long tasks never pile up on one worker before anything
    is known about them.
    """
    if mean_duration is None:
        return 1
    if mean_duration <= 0:
        return MAX_DEPTH
    return max(1, min(MAX_DEPTH, ceil(TARGET_SECONDS / mean_duration)))


def task_cost(depth: int) -> int:
    """Occupancy units one task of that depth takes (a thread holds ``OCCUPANCY_UNITS``)."""
    return max(1, OCCUPANCY_UNITS // depth)


def best_holder(ts, workers: dict, fits) -> object | None:
    """The worker with room that holds the most bytes of ``ts``'s dependencies.

    Ties go to the least occupied worker.  O(dependencies x replicas): only
    holders are looked at.  ``fits(ws, ts)`` says whether ``ws`` has room.
    Returns None when no holder has room.
    """
    held: dict = {}
    for dep in ts.dependencies:
        nbytes = dep.nbytes
        for address in dep.who_has:
            held[address] = held.get(address, 0) + nbytes
    best = None
    best_score = None
    for address, nbytes in held.items():
        ws = workers.get(address)
        if ws is None or not fits(ws, ts):
            continue
        score = (nbytes, -ws.load / ws.capacity)
        if best_score is None or score > best_score:
            best, best_score = ws, score
    return best


class RoomHeap:
    """Workers with free occupancy, least occupied (by fraction) first.

    A worker's current entry is ``ws.room_entry``; older entries are skipped
    when they reach the top, and the heap is rebuilt when stale entries
    outnumber live ones.  :meth:`touch` must be called after a worker's load
    changed (the state machine does it once per :meth:`handle` call for the
    workers it marked).
    """

    __slots__ = ("heap", "counter", "live")

    def __init__(self):
        self.heap: list = []
        self.counter = count()
        self.live = 0

    def touch(self, ws) -> None:
        """Record ``ws``'s current load (or that it has no room, or is gone)."""
        old = ws.room_entry
        if ws.load < ws.capacity and not ws.closed:
            key = ws.load / ws.capacity
            if old is not None and old[0] == key:
                return
            entry = (key, next(self.counter), ws)
            ws.room_entry = entry
            heapq.heappush(self.heap, entry)
            if old is None:
                self.live += 1
            if len(self.heap) > 2 * self.live + 64:
                self._compact()
        elif old is not None:
            ws.room_entry = None
            self.live -= 1

    def discard(self, ws) -> None:
        if ws.room_entry is not None:
            ws.room_entry = None
            self.live -= 1

    def least_loaded(self):
        """The least occupied worker with room, or None (its entry is kept)."""
        heap = self.heap
        while heap:
            entry = heap[0]
            ws = entry[2]
            if ws.room_entry is not entry:
                heapq.heappop(heap)
                continue
            if ws.load / ws.capacity != entry[0]:  # load changed since: re-file it
                heapq.heappop(heap)
                ws.room_entry = None
                self.live -= 1
                self.touch(ws)
                continue
            return ws
        return None

    def entries(self) -> list:
        """The live entries (for validation)."""
        return [e for e in self.heap if e[2].room_entry is e]

    def _compact(self) -> None:
        self.heap = self.entries()
        heapq.heapify(self.heap)


class ReadyQueue:
    """Queued tasks, lowest entry first: a heap of sorted runs of entries.

    An entry is ``(priority, n, ts)`` with ``n`` unique; it is live while
    ``ts.queue_entry is entry`` (tasks that leave the queue just drop that
    link, and their entries are skipped when they come up).  :meth:`push`
    adds one entry (a run of one); :meth:`push_sorted` adds a sorted list of
    entries as one run, so the heap stays as small as the number of runs.
    """

    __slots__ = ("heap", "counter")

    def __init__(self):
        self.heap: list = []   # (head entry, run id, run list or None, position in run)
        self.counter = count()

    def push(self, entry: tuple) -> None:
        heapq.heappush(self.heap, (entry, next(self.counter), None, 0))

    def push_sorted(self, entries: list) -> None:
        """Add ``entries`` (sorted, lowest first) as one run; the list is consumed."""
        if len(entries) == 1:
            self.push(entries[0])
        elif entries:
            heapq.heappush(self.heap, (entries[0], next(self.counter), entries, 0))

    def top(self) -> tuple | None:
        """The lowest live entry, or None when no task is queued."""
        heap = self.heap
        while heap:
            item = heap[0]
            entry = item[0]
            if entry[2].queue_entry is entry:
                return entry
            self._advance(item)
        return None

    def pop(self) -> None:
        """Remove the entry :meth:`top` just returned."""
        self._advance(self.heap[0])

    def _advance(self, item: tuple) -> None:
        run = item[2]
        if run is not None:
            pos = item[3]
            run[pos] = None  # let go of tasks as soon as they leave
            pos += 1
            if pos < len(run):
                heapq.heapreplace(self.heap, (run[pos], item[1], run, pos))
                return
        heapq.heappop(self.heap)

    def entries(self) -> list:
        """Every live entry, in no particular order (for validation and views)."""
        out = []
        for head, _, run, pos in self.heap:
            for entry in ((head,) if run is None else run[pos:]):
                if entry[2].queue_entry is entry:
                    out.append(entry)
        return out

    def __len__(self) -> int:
        """Number of runs and single entries held, live or not (0: surely empty)."""
        return len(self.heap)
