"""Errors of the distributed runtime that reach users."""

from __future__ import annotations

from concurrent.futures import CancelledError

from teem.core.errors import SerializationError, TeemError
from teem.distributed.protocol.messages import dumps, loads

__all__ = ["KilledWorker", "LostDataError", "MissingDependencyError", "FutureCancelledError",
           "scheduler_error", "task_exception", "unpicklable_error"]


class KilledWorker(TeemError, RuntimeError):
    """A task was running on ``allowed_failures`` workers that all died: it is suspected of killing them."""

    def __init__(self, key, last_worker: str = "", count: int = 0):
        self.key = key
        self.last_worker = last_worker
        self.count = count
        super().__init__(
            f"task {key!r} was running on {count} workers that died (the last was {last_worker}). "
            "It may crash its worker (segfault, out of memory, os._exit): run it alone with "
            "scheduler='sync' to see why, or give workers more memory.")

    def __reduce__(self):
        return KilledWorker, (self.key, self.last_worker, self.count)


class LostDataError(TeemError, RuntimeError):
    """The only copy of a scattered value was lost with its worker; it cannot be recomputed."""


class MissingDependencyError(TeemError, KeyError):
    """A submitted task depends on a key the scheduler does not know (released, or never submitted)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class FutureCancelledError(CancelledError):
    """The future was cancelled (by ``Future.cancel``, ``Client.cancel`` or ``Client.restart``)."""


def scheduler_error(payload) -> BaseException:
    """The exception for an error tuple decided by the scheduler's state machine."""
    kind = payload[0]
    if kind == "KilledWorker":
        _, key, worker, count = payload
        return KilledWorker(key, worker, count)
    if kind == "LostData":
        return LostDataError(payload[2])
    if kind == "MissingDependency":
        _, key, dep = payload
        return MissingDependencyError(
            f"task {key!r} depends on {dep!r}, which the scheduler does not know: it was released "
            "(no future holds it any more) or never submitted. Keep a future for it while it is needed.")
    return RuntimeError(f"scheduler error: {payload!r}")


def task_exception(key, frames, traceback_text) -> BaseException:
    """The exception a task raised, with the worker's traceback as a note."""
    try:
        exc = loads(list(frames))
    except Exception as problem:
        return RuntimeError(f"task {key!r} failed and its exception cannot be rebuilt here ({problem}):\n"
                            f"{traceback_text or ''}")
    if not isinstance(exc, BaseException):
        return RuntimeError(f"task {key!r} failed: {exc!r}")
    if traceback_text and hasattr(exc, "add_note"):
        exc.add_note(f"\nTraceback of {key!r} on the worker:\n{traceback_text.rstrip()}")
    return exc


def unpicklable_error(key, func, args: tuple, kwargs: dict, exc: SerializationError) -> SerializationError:
    """The same error, naming the function or the argument that does not pickle."""
    parts = [("the function", func)] + [(f"argument {i}", a) for i, a in enumerate(args)] + \
        [(f"keyword argument {k!r}", v) for k, v in kwargs.items()]
    for what, value in parts:
        try:
            dumps(value)
        except SerializationError as inner:
            return SerializationError(f"cannot send {what} of task {key!r} ({type(value).__name__}): "
                                      f"{inner}")
    return exc
