"""The scheduler's records: one per task, worker and task prefix, plus the task states.

Plain ``__slots__`` classes with no behaviour beyond small views: every change
to them is made by :class:`~teem.distributed.scheduler.state.SchedulerState`,
which keeps the counters in them (``waiting_on``, ``pending_dependents``,
worker ``load``, prefix ``counts``) exact; ``validate.py`` recounts them.
"""

from __future__ import annotations

from typing import Hashable

from teem.core.task import key_prefix
from teem.distributed.scheduler.placement import OCCUPANCY_UNITS

__all__ = ["TaskState", "WorkerState", "PrefixState", "InvalidSchedulerState", "WAITING", "QUEUED",
           "PROCESSING", "MEMORY", "ERRED", "RELEASED", "FORGOTTEN", "PENDING", "STATES", "EMPTY", "SMALL_DEPENDENTS",
           "prefix_of", "by_priority"]

Key = Hashable

WAITING = "waiting"
QUEUED = "queued"
PROCESSING = "processing"
MEMORY = "memory"
ERRED = "erred"
RELEASED = "released"
FORGOTTEN = "forgotten"
PENDING = frozenset((WAITING, QUEUED, PROCESSING))
STATES = (WAITING, QUEUED, PROCESSING, MEMORY, ERRED, RELEASED)

# A task's dependents are a tuple while few (most tasks have one: a set of one
# costs 216 bytes, a tuple 48), a set beyond that.
SMALL_DEPENDENTS = 4

# Shared empty value of who_has and wanted_by: reads like a set, and
# costs nothing for the many tasks that have none.  Writers replace it.
EMPTY: frozenset = frozenset()


class InvalidSchedulerState(AssertionError):
    """:meth:`SchedulerState.validate_state` found a broken invariant (a bug in the scheduler)."""


class PrefixState:
    """Tasks sharing a prefix (``'inc'`` for ``'inc-3f2a'``): duration statistics and state counts."""

    __slots__ = ("name", "duration_total", "nmeasured", "cost", "counts")

    def __init__(self, name: str):
        self.name = name
        self.duration_total = 0.0
        self.nmeasured = 0
        self.cost = OCCUPANCY_UNITS  # depth 1 until measured
        self.counts: dict = dict.fromkeys(STATES, 0)

    @property
    def mean_duration(self) -> float | None:
        return self.duration_total / self.nmeasured if self.nmeasured else None

    def __repr__(self) -> str:
        return f"<PrefixState {self.name!r} mean={self.mean_duration} cost={self.cost}>"


class TaskState:
    """What the scheduler knows about one key.

    ``who_has`` (worker addresses) and ``wanted_by`` (clients) read as sets;
    when empty they are one shared frozenset.  ``dependents`` is a tuple while
    it has at most ``SMALL_DEPENDENTS`` items, then a set.
    """

    __slots__ = (
        "key", "run_spec", "priority", "state", "prefix",
        "dependencies",        # tuple of TaskState, fixed at submission
        "dependents",          # TaskStates that depend on it and exist (tuple, or set when many)
        "waiting_on",          # dependencies not in memory (meaningful while waiting)
        "pending_dependents",  # dependents in a pending state (they need this result)
        "who_has", "nbytes",
        "processing_on",       # WorkerState while processing, else None
        "wanted_by",
        "suspicious",          # workers that died while running it
        "retries",             # error retries left
        "workers",             # allowed worker addresses/names (frozenset) or None
        "exception", "traceback", "erred_on",
        "queue_entry",         # the live heap entry while queued, else None
        "reported",            # wanters were told about the current result
    )

    def __init__(self, key: Key, run_spec, priority: tuple, prefix: PrefixState, retries: int = 0,
                 workers=None):
        self.key = key
        self.run_spec = run_spec
        self.priority = priority
        self.state = RELEASED
        self.prefix = prefix
        self.dependencies: tuple = ()
        self.dependents: tuple | set = ()
        self.waiting_on = 0
        self.pending_dependents = 0
        self.who_has = EMPTY
        self.nbytes = 0
        self.processing_on = None
        self.wanted_by = EMPTY
        self.suspicious = 0
        self.retries = retries
        self.workers = workers
        self.exception = None
        self.traceback = None
        self.erred_on = None
        self.queue_entry = None
        self.reported = False

    def __repr__(self) -> str:
        return f"<TaskState {self.key!r} {self.state}>"


class WorkerState:
    """What the scheduler knows about one worker."""

    __slots__ = ("address", "name", "nthreads", "memory_limit", "capacity", "load", "processing",
                 "has_what", "nbytes", "metrics", "last_seen", "room_entry", "closed", "alone")

    def __init__(self, address: str, name: str, nthreads: int, memory_limit: int, now: float):
        self.address = address
        self.name = name
        self.nthreads = nthreads
        self.memory_limit = memory_limit
        self.capacity = max(1, nthreads) * OCCUPANCY_UNITS
        self.load = 0                 # occupancy units of the tasks processing here
        self.processing: dict = {}    # TaskState -> its occupancy units
        self.has_what: set = set()    # TaskState held here
        self.nbytes = 0
        self.metrics: dict = {}
        self.last_seen = now
        self.room_entry = None
        self.closed = False
        self.alone = frozenset((address,))  # the who_has of a result held only here

    @property
    def nprocessing(self) -> int:
        return len(self.processing)

    def __repr__(self) -> str:
        return (f"<WorkerState {self.address!r} name={self.name!r} processing={len(self.processing)} "
                f"memory={len(self.has_what)}>")


def by_priority(ts: TaskState) -> tuple:
    return ts.priority


prefix_of = key_prefix  # ``'inc'`` for ``'inc-3f2a'`` or ``('inc-3f2a', 0)``
