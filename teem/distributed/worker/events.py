"""What the worker's state machine hears (events) and says (instructions).

The network shell (:mod:`teem.distributed.worker.server`) turns messages from
the scheduler, the ends of task runs and the ends of fetches into the events
below and passes them to :meth:`WorkerState.handle`; what the worker decides
comes back as instructions, which the shell carries out.  All are small slotted
dataclasses, immutable by convention: they carry data, never behaviour.  The state machine has no
clock: the times it reports (``start``, ``stop``) arrive inside events.

Payloads the worker's state does not understand (run specs, exception frames,
tracebacks) are passed through untouched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable

__all__ = [
    # events
    "Event", "Compute", "FreeKeys", "ExecuteSuccess", "ExecuteFailure", "FetchDone", "FetchFailed",
    "PutData", "Pause", "Unpause",
    # instructions
    "Instruction", "Run", "Fetch", "Release", "TaskFinishedMsg", "TaskErredMsg", "AddReplicasMsg",
    "MissingDataMsg",
]

Key = Hashable

# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__ and
# costs about four times more, and the runtime makes several of these per task.
message = dataclass(slots=True)


class Event:
    """Base class of everything :meth:`WorkerState.handle` accepts."""

    __slots__ = ()


class Instruction:
    """Base class of everything :meth:`WorkerState.handle` returns."""

    __slots__ = ()


# --------------------------------------------------------------------------- events


@message
class Compute(Event):
    """The scheduler's ``execute`` message: run these tasks here.

    ``tasks`` holds the message's entries as they come off the wire, tuples
    ``(key, run_spec, who_has, nbytes, priority)``: ``who_has`` maps every
    dependency to the addresses holding it, ``nbytes`` gives their sizes, and
    a lower ``priority`` runs first.  (Raw tuples: an object per task would
    cost more than the rest of accepting it.)
    """

    tasks: tuple


@message
class FreeKeys(Event):
    """The scheduler's ``free-keys``: drop these results, or cancel these tasks if not run yet."""

    keys: tuple


@message
class ExecuteSuccess(Event):
    """The run of ``key`` returned; the shell has stored its value (``nbytes`` large)."""

    key: Key
    nbytes: int
    start: float
    stop: float
    thread: int = 0


@message
class ExecuteFailure(Event):
    """The run of ``key`` raised; ``exception`` (frames) and ``traceback`` (text) are opaque."""

    key: Key
    exception: object
    traceback: object
    start: float
    stop: float
    thread: int = 0


@message
class FetchDone(Event):
    """``holder`` answered the fetch of ``keys``: ``nbytes`` maps the keys it sent to their sizes.

    The shell has stored the values it received.  A requested key missing from
    ``nbytes`` was not held there.
    """

    holder: str
    keys: tuple
    nbytes: dict


@message
class FetchFailed(Event):
    """The fetch of ``keys`` from ``holder`` failed (unreachable, connection lost, error)."""

    holder: str
    keys: tuple


@message
class PutData(Event):
    """The scheduler's ``put-data`` (scatter): the shell has stored these values."""

    keys: tuple
    nbytes: tuple


@message
class Pause(Event):
    """The memory monitor says: start no more tasks and fetches."""


@message
class Unpause(Event):
    """The memory monitor says: start tasks and fetches again."""


# --------------------------------------------------------------------------- instructions


@message
class Run(Instruction):
    """Run the task ``key`` and report its end with ExecuteSuccess or ExecuteFailure."""

    key: Key
    run_spec: object


@message
class Fetch(Instruction):
    """Get ``keys`` from the worker at ``holder`` and report FetchDone or FetchFailed."""

    holder: str
    keys: tuple


@message
class Release(Instruction):
    """Delete the values of ``keys`` from the worker's data."""

    keys: tuple


@message
class TaskFinishedMsg(Instruction):
    """Tell the scheduler: ``key`` was computed here (``task-finished``)."""

    key: Key
    nbytes: int
    start: float
    stop: float
    thread: int


@message
class TaskErredMsg(Instruction):
    """Tell the scheduler: running ``key`` raised (``task-erred``)."""

    key: Key
    exception: object
    traceback: object
    start: float
    stop: float
    thread: int


@message
class AddReplicasMsg(Instruction):
    """Tell the scheduler: this worker now also holds ``keys`` (``add-replicas``)."""

    keys: tuple
    nbytes: tuple


@message
class MissingDataMsg(Instruction):
    """Tell the scheduler: ``holder`` did not have ``key``, or could not be reached (``missing-data``)."""

    key: Key
    holder: str
