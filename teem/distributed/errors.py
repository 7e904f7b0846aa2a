"""Errors of the distributed runtime that reach users."""

from __future__ import annotations

from concurrent.futures import CancelledError

from teem.core.errors import TeemError

__all__ = ["KilledWorker", "LostDataError", "MissingDependencyError", "FutureCancelledError",
           "scheduler_error"]


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
