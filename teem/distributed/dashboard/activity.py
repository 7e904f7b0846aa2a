"""What the scheduler has seen workers do: the task stream, for the dashboard and for reports.

Theory of operation
-------------------
1. Hot path: the scheduler's shell hands over each ``tasks-finished`` message's list as it
   arrives (:meth:`Activity.finished`): one ``deque.append`` per message, never a loop over
   its tasks.  The deque is bounded, so an unwatched scheduler keeps a few seconds of history
   and costs nothing more.
2. Readers keep a cursor (how many batches they have seen).  :meth:`Activity.stream_since`
   unpacks the batches after it into task-stream entries and coalesces them into rectangles
   (:func:`coalesce`): tasks of one prefix that run back to back on one thread become one
   rectangle, so a map of 100,000 tiny tasks draws a few bars, not 100,000.
3. A performance report asks for a *recording*: while one is open, each finished task is
   also kept (key, worker, thread, start, stop) in full, and worker metrics are sampled on each
   heartbeat, until the report collects them.

Times are the workers' wall clock (``time.time()``), as they report them.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field

from teem.distributed.scheduler.records import prefix_of

__all__ = ["Activity", "Recording", "coalesce", "StreamEntry"]

# (row label, prefix, start, stop, erred)
StreamEntry = tuple

BATCHES_KEPT = 2048       # tasks-finished messages kept for viewers that connect later
MERGE_GAP = 0.002         # seconds: back-to-back tasks closer than this draw as one rectangle


@dataclass
class Recording:
    """Everything finished between ``start`` and the report's collection."""

    start: float
    owner: str = ""                                # the client that asked (its recordings end with it)
    tasks: list = field(default_factory=list)      # (key, worker, thread, start, stop, erred)
    samples: list = field(default_factory=list)    # (time, worker, metrics dict)


class Activity:
    """The scheduler's memory of recent task executions (see the module docstring)."""

    def __init__(self, batches_kept: int = BATCHES_KEPT):
        self._batches: deque = deque(maxlen=batches_kept)
        self.nbatches = 0                        # batches appended since the start
        self.recordings: dict[int, Recording] = {}
        self._recording_ids = itertools.count(1)
        self.nfinished = 0                       # tasks finished, erred ones included
        self.nerred = 0

    # ------------------------------------------------------------------ recording (hot path)

    def finished(self, worker: str, tasks: list) -> None:
        """A worker's ``tasks-finished`` list: tuples ``(key, nbytes, start, stop, thread, data)``."""
        self._batches.append((worker, tasks, False))
        self.nbatches += 1
        self.nfinished += len(tasks)
        if self.recordings:
            rows = [(t[0], worker, t[4], t[2], t[3], False) for t in tasks]
            for recording in self.recordings.values():
                recording.tasks.extend(rows)

    def erred(self, worker: str, key, start: float, stop: float, thread: int = 0) -> None:
        """A task that raised (drawn in red)."""
        self._batches.append((worker, [(key, 0, start, stop, thread, None)], True))
        self.nbatches += 1
        self.nfinished += 1
        self.nerred += 1
        for recording in self.recordings.values():
            recording.tasks.append((key, worker, thread, start, stop, True))

    def heartbeat(self, now: float, worker: str, metrics: dict) -> None:
        """Worker metrics, kept only while a report records."""
        for recording in self.recordings.values():
            recording.samples.append((now, worker, dict(metrics)))

    # ------------------------------------------------------------------ performance reports

    def start_recording(self, now: float, owner: str = "") -> int:
        rid = next(self._recording_ids)
        self.recordings[rid] = Recording(now, owner)
        return rid

    def drop_recordings_of(self, owner: str) -> None:
        """Forget the recordings of a client that left without collecting them."""
        for rid in [rid for rid, r in self.recordings.items() if r.owner == owner]:
            del self.recordings[rid]

    def stop_recording(self, rid: int) -> Recording:
        """End recording ``rid`` and return it. Raises KeyError for an unknown id."""
        return self.recordings.pop(rid)

    # ------------------------------------------------------------------ reading

    @property
    def oldest_cursor(self) -> int:
        """The cursor of the oldest batch still kept (read from it for all the history there is)."""
        return max(0, self.nbatches - len(self._batches))

    def stream_since(self, cursor: int, names: dict, oldest: float | None = None,
                     gap: float = MERGE_GAP) -> tuple[list, int]:
        """Rectangles of the tasks finished after ``cursor``, and the new cursor.

        ``names`` maps a worker address to its display name.  Only batches still kept are
        read (a reader that fell behind loses the oldest).  Tasks that stopped before
        ``oldest`` are left out.
        """
        new = self.nbatches - cursor
        if new <= 0:
            return [], self.nbatches
        batches = self._batches
        start = max(0, len(batches) - new)
        # Tasks arrive per thread in the order they ran, so rectangles grow in one pass: each
        # row's open rectangle is extended or closed (no sort; an out-of-order task just
        # starts a rectangle of its own).
        # This loop is the dashboard's cost per task (a few hundred ns): the usual case, a task
        # of the same prefix right after the previous one, is decided without building strings.
        done: list = []
        open_rects: dict = {}   # worker -> {thread: [row, prefix, start, stop, n, erred]}
        floor = float("-inf") if oldest is None else oldest
        for worker, tasks, erred in itertools.islice(batches, start, None):
            rects = open_rects.get(worker)
            if rects is None:
                rects = open_rects[worker] = {}
            for key, _, t0, t1, thread, _ in tasks:
                if t1 < floor:
                    continue
                name = key[0] if type(key) is tuple else key
                if type(name) is not str:  # (keys are strings or tuples starting with one)
                    name = str(name)
                rect = rects.get(thread)
                if rect is not None:
                    prefix = rect[1]
                    if (rect[3] <= t0 <= rect[3] + gap and rect[5] is erred
                            and (name.startswith(prefix) and name.rfind("-") == len(prefix)
                                 or name == prefix)):
                        rect[3] = t1
                        rect[4] += 1
                        continue
                    done.append(tuple(rect))
                rects[thread] = [f"{names.get(worker, worker)}/{thread}", prefix_of(name), t0, t1, 1, erred]
        for rects in open_rects.values():
            done.extend(tuple(rect) for rect in rects.values())
        return done, self.nbatches


def coalesce(entries: list, gap: float = MERGE_GAP) -> list:
    """Merge back-to-back tasks of one prefix on one row into ``(row, prefix, start, stop, n, erred)``.

    Example
    -------
    >>> coalesce([("w/0", "inc", 0.0, 1.0, False), ("w/0", "inc", 1.001, 2.0, False),
    ...           ("w/0", "add", 2.0, 3.0, False)])
    [('w/0', 'inc', 0.0, 2.0, 2, False), ('w/0', 'add', 2.0, 3.0, 1, False)]
    """
    out: list = []
    current = None
    for row, prefix, start, stop, erred in sorted(entries, key=_row_then_start):
        if (current is not None and current[0] == row and current[1] == prefix
                and current[5] == erred and start - current[3] <= gap):
            current[3] = max(current[3], stop)
            current[4] += 1
            continue
        if current is not None:
            out.append(tuple(current))
        current = [row, prefix, start, stop, 1, erred]
    if current is not None:
        out.append(tuple(current))
    return out


def _row_then_start(entry: tuple) -> tuple:
    return entry[0], entry[2]
