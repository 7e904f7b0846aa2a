"""What the scheduler's state machine hears (events) and says (instructions).

Every message that reaches the scheduler is turned by the network shell into one
of the events below and passed to :meth:`SchedulerState.handle`; everything the
scheduler decides comes back as instructions, which the shell turns into
messages.  All are small slotted dataclasses, immutable by convention: they carry data, never
behaviour.
Time comes in as ``now`` (seconds, any monotonic clock the shell chooses).

Payloads the scheduler does not understand (``run_spec``, exceptions and
tracebacks from workers, heartbeat metrics) are passed through untouched.

Errors the scheduler itself decides are tuples whose first item names them, so
the shell can turn them into exception classes:

- ``("KilledWorker", key, last_worker_address, count)``: the task was running on
  ``count`` workers that died.
- ``("LostData", key, message)``: a scattered key (no ``run_spec``) lost its
  last copy and cannot be recomputed.
- ``("MissingDependency", key, dependency)``: a submitted task depends on a key
  the scheduler does not know.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Hashable

__all__ = [
    # events
    "Event", "TaskSpec", "UpdateGraph", "ReleaseKeys", "CancelKeys", "RemoveClient", "AddWorker",
    "RemoveWorker", "RetireWorker", "TaskFinished", "TaskErred", "AddReplicas", "MissingData",
    "Heartbeat", "Tick",
    # instructions
    "Instruction", "ExecuteTask", "Execute", "FreeKeys", "KeyUpdate", "Report", "CloseWorker",
]

Key = Hashable

# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__ and
# costs about four times more, and the runtime makes several of these per task.
message = dataclass(slots=True)


class Event:
    """Base class of everything :meth:`SchedulerState.handle` accepts."""

    __slots__ = ()


class Instruction:
    """Base class of everything :meth:`SchedulerState.handle` returns."""

    __slots__ = ()


# --------------------------------------------------------------------------- events


@message
class TaskSpec:
    """One task of a submitted graph (not an event by itself: part of :class:`UpdateGraph`).

    ``run_spec`` is opaque (the shell's serialized task) and never inspected.
    ``priority``: lower runs first. ``retries``: how many times an error is
    retried before the task is erred. ``workers``: the worker addresses or
    names allowed to run it (None: any). ``prefix``: groups tasks for duration
    statistics (empty: derived from the key, ``'inc-3f2a'`` -> ``'inc'``).
    """

    key: Key
    dependencies: tuple = ()
    run_spec: object = None
    priority: tuple = ()
    retries: int = 0
    workers: tuple[str, ...] | None = None
    prefix: str = ""


@message
class UpdateGraph(Event):
    """``client`` submits ``tasks`` and holds futures for the ``wanted`` keys.

    A key that already exists keeps its task (it is never computed twice); a
    wanted key may name an existing task without a TaskSpec.
    """

    client: str
    tasks: tuple = ()
    wanted: tuple = ()
    now: float = 0.0


@message
class ReleaseKeys(Event):
    """``client`` dropped its futures for ``keys``."""

    client: str
    keys: tuple
    now: float = 0.0


@message
class CancelKeys(Event):
    """Cancel ``keys``: every wanter hears 'cancelled'; unneeded tasks are forgotten."""

    client: str
    keys: tuple
    now: float = 0.0


@message
class RemoveClient(Event):
    """``client`` is gone: release everything it wanted."""

    client: str
    now: float = 0.0


@message
class AddWorker(Event):
    """A worker joined (an address already known is first removed, then added again)."""

    address: str
    name: str
    nthreads: int
    memory_limit: int
    now: float = 0.0


@message
class RemoveWorker(Event):
    """A worker is gone (connection lost, heartbeat timeout, closed)."""

    address: str
    now: float = 0.0
    reason: str = ""


@message
class RetireWorker(Event):
    """Graceful removal. MVP: handled exactly like :class:`RemoveWorker` (its unique
    results are recomputed elsewhere if needed, not first copied away)."""

    address: str
    now: float = 0.0


@message
class TaskFinished(Event):
    """``worker`` computed ``key`` and holds its result (``nbytes`` large)."""

    worker: str
    key: Key
    nbytes: int = 0
    duration: float = 0.0
    now: float = 0.0


@message
class TaskErred(Event):
    """Running ``key`` on ``worker`` raised; ``exception``/``traceback`` are opaque."""

    worker: str
    key: Key
    exception: object = None
    traceback: object = None
    duration: float = 0.0
    now: float = 0.0


@message
class AddReplicas(Event):
    """``worker`` now also holds ``keys`` (fetched from a peer, or scattered to it).

    A key the scheduler does not know is a scattered key: it is created in
    memory, without a run_spec (it cannot be recomputed). The shell should send
    the client's ``UpdateGraph(wanted=...)`` for scattered keys after this event.
    """

    worker: str
    keys: tuple
    nbytes: tuple
    now: float = 0.0


@message
class MissingData(Event):
    """``worker`` could not get ``key`` from ``holder``: ``holder`` no longer counts as having it."""

    worker: str
    key: Key
    holder: str
    now: float = 0.0


@message
class Heartbeat(Event):
    """``worker`` is alive; ``metrics`` (memory, cpu, ...) are kept for the dashboard."""

    worker: str
    now: float
    metrics: dict = field(default_factory=dict)


@message
class Tick(Event):
    """Time passed: workers silent for ``heartbeat_timeout`` seconds are removed."""

    now: float


# --------------------------------------------------------------------------- instructions


@message
class ExecuteTask:
    """One task to run; ``who_has`` maps each dependency to the workers holding it.

    ``wanted``: a client holds a future for the result (so a small result is worth
    sending back with the news that it is done).
    """

    key: Key
    run_spec: object
    who_has: dict
    nbytes: dict
    priority: tuple
    wanted: bool = False


@message
class Execute(Instruction):
    """Run ``tasks`` on ``worker`` (one per worker per :meth:`handle` call)."""

    worker: str
    tasks: tuple


@message
class FreeKeys(Instruction):
    """``worker`` drops these results, or cancels these tasks if not run yet."""

    worker: str
    keys: tuple


@message
class KeyUpdate:
    """What happened to a key a client wants: 'memory', 'erred', 'cancelled' or 'lost'.

    'lost' answers a wanted key the scheduler does not know (never submitted, or
    already forgotten).
    """

    key: Key
    status: str
    exception: object = None
    traceback: object = None


@message
class Report(Instruction):
    """News for ``client`` about keys it wants (one per client per :meth:`handle` call)."""

    client: str
    updates: tuple


@message
class CloseWorker(Instruction):
    """Tell ``worker`` to shut down (it was removed; ``reason`` says why)."""

    worker: str
    reason: str
