"""teem's exception hierarchy.

Every error teem raises on its own account derives from :class:`TeemError`.
Exceptions raised *by user tasks* are re-raised with their own type; teem
never wraps them, so ``except ZeroDivisionError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "TeemError",
    "CycleError",
    "SchedulerNameError",
    "SerializationError",
    "WorkerDiedError",
    "MainGuardError",
    "RemoteTraceback",
]


class TeemError(Exception):
    """Base class of the errors teem raises itself."""


class CycleError(TeemError, ValueError):
    """The task graph contains a cycle; ``cycle`` lists the keys on it."""

    def __init__(self, cycle: list):
        self.cycle = cycle
        path = " -> ".join(repr(k) for k in cycle)
        super().__init__(
            f"the task graph has a cycle: {path}. A task cannot depend on its own "
            "result; check which task names its output key as an input."
        )


class SchedulerNameError(TeemError, ValueError):
    """An unknown scheduler name was given."""


class SerializationError(TeemError, TypeError):
    """A task's function or argument could not be pickled for another process."""


class WorkerDiedError(TeemError, RuntimeError):
    """A worker process exited while it was running tasks."""


class MainGuardError(TeemError, RuntimeError):
    """Worker processes would import the script again and re-run its unguarded top-level code."""


class RemoteTraceback(Exception):
    """Carries the formatted traceback of an exception raised in another process.

    It is attached as ``__cause__`` of the re-raised exception, so the default
    traceback display shows where the error happened in the worker.
    """

    def __init__(self, text: str):
        self.text = text
        super().__init__(text)

    def __str__(self) -> str:
        return self.text
