"""When a worker spills data, pauses and stops, decided from its process memory.

:class:`MemoryPolicy` is pure: given the process's memory use, the bytes of
data held in memory by the worker's :class:`~teem.distributed.worker.spill.SpillBuffer`
("managed" memory) and whether the worker is paused, it returns a
:class:`Decision`.  It measures nothing and keeps no state, so it is tested
with tables.  :class:`MemoryMonitor` is the small impure part: it measures the
process (``psutil`` RSS), asks the policy, and applies evictions to the
buffer.  The worker server calls :meth:`MemoryMonitor.check` every 100-200 ms
and acts on ``pause``, ``unpause`` and ``terminate``.

The thresholds are fractions of the memory limit and keep Dask's names
(``distributed.worker.memory.target/spill/pause/terminate``):

- **target** (0.6): the SpillBuffer keeps at most this much data in memory
  (its own accounting, by ``sizeof``); see :attr:`MemoryPolicy.target_bytes`.
- **spill** (0.7): when the *process* uses more than this (``sizeof`` misses
  some memory, and tasks allocate their own), evict data until the process
  is estimated back under *target*.
- **pause** (0.8): above this, the worker stops starting tasks; it resumes
  once the process is below *unpause* (default ``pause - 0.1``), so a worker
  hovering around the threshold does not flap.
- **terminate** (0.95): above this, the worker should be restarted before
  the operating system's OOM killer takes the whole machine down.

Any threshold can be ``False`` or ``None`` to disable it, and a
``memory_limit`` of ``None`` or 0 disables them all.
"""

from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Callable

__all__ = ["Decision", "MemoryPolicy", "MemoryMonitor", "psutil_rss"]


@dataclasses.dataclass(frozen=True)
class Decision:
    """What the worker should do about its memory now.

    Attributes
    ----------
    process_memory : int
        The process memory (bytes) the decision was made on.
    memory_limit : int or None
        The worker's memory limit, for messages.
    evict_bytes : int
        Bytes of managed data to spill to disk now (0: none).
    pause : bool
        Stop starting new tasks (the worker was running and is now over
        the pause threshold).
    unpause : bool
        Start tasks again (the worker was paused and is now under the
        unpause threshold, or pausing is disabled).
    terminate : bool
        The process is over the terminate threshold: restart the worker.
    evicted_bytes : int
        Bytes actually spilled; filled by :meth:`MemoryMonitor.check`
        (always 0 from :meth:`MemoryPolicy.decide`).
    """

    process_memory: int = 0
    memory_limit: int | None = None
    evict_bytes: int = 0
    pause: bool = False
    unpause: bool = False
    terminate: bool = False
    evicted_bytes: int = 0

    @property
    def message(self) -> str:
        """A line for the worker's log describing the actions; empty if there are none."""
        if not (self.evict_bytes or self.pause or self.unpause or self.terminate):
            return ""
        usage = f"process memory {_format_bytes(self.process_memory)}"
        if self.memory_limit:
            usage += (f" ({self.process_memory / self.memory_limit:.0%} of the "
                      f"{_format_bytes(self.memory_limit)} limit)")
        actions = []
        if self.terminate:
            actions.append("over the terminate threshold: restart the worker")
        if self.pause:
            actions.append("pausing: no new tasks start until memory is freed")
        if self.unpause:
            actions.append("resuming tasks")
        if self.evict_bytes:
            actions.append(f"spilling {_format_bytes(self.evict_bytes)} of data to disk")
        return f"{usage}: {'; '.join(actions)}"


def _format_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _fraction(name: str, value) -> float | None:
    """Validate one threshold: a fraction > 0, or False/None to disable it."""
    if value is None or value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ValueError(
            f"the memory {name} threshold must be a fraction of memory_limit greater than 0 "
            f"(like 0.7), or False/None to disable it, not {value!r}")
    return float(value)


class MemoryPolicy:
    """Thresholds of a worker's memory use, and the decisions they imply.

    Parameters
    ----------
    memory_limit : int or None
        The worker's memory limit in bytes; ``None`` or 0 disables every
        threshold.
    target, spill, pause, terminate : float or False or None
        Fractions of *memory_limit* (see the module docstring); False or
        None disables one.
    unpause : float, optional
        Fraction under which a paused worker resumes; by default
        ``pause - 0.1`` (but at least ``pause / 2``).

    Raises
    ------
    ValueError
        If *memory_limit* is negative, a threshold is not a positive number
        (or False/None), or *unpause* is above *pause*.

    Example
    -------
    >>> policy = MemoryPolicy(1000)
    >>> policy.decide(process_memory=750, managed_bytes=500, paused=False)
    Decision(process_memory=750, memory_limit=1000, evict_bytes=150, pause=False, ...)
    """

    def __init__(self, memory_limit: int | None, target=0.6, spill=0.7, pause=0.8,
                 terminate=0.95, *, unpause: float | None = None):
        if memory_limit is not None and memory_limit < 0:
            raise ValueError(f"memory_limit must be None or >= 0 bytes, not {memory_limit!r}")
        self.memory_limit = int(memory_limit) if memory_limit else None
        self.target = _fraction("target", target)
        self.spill = _fraction("spill", spill)
        self.pause = _fraction("pause", pause)
        self.terminate = _fraction("terminate", terminate)
        if self.pause is None:
            self.unpause = None
        elif unpause is None:
            self.unpause = max(self.pause - 0.1, self.pause / 2)
        else:
            self.unpause = _fraction("unpause", unpause)
            if self.unpause is None or self.unpause > self.pause:
                raise ValueError(
                    f"the unpause threshold ({unpause!r}) must be a fraction greater than 0 "
                    f"and at most the pause threshold ({pause!r})")

    def _bytes(self, fraction: float | None) -> int | None:
        if fraction is None or self.memory_limit is None:
            return None
        return int(self.memory_limit * fraction)

    @property
    def target_bytes(self) -> int | None:
        """The SpillBuffer's target: bytes of data to keep in memory (None: no limit)."""
        return self._bytes(self.target)

    @property
    def spill_bytes(self) -> int | None:
        """Process memory above which data is evicted (None: never)."""
        return self._bytes(self.spill)

    @property
    def pause_bytes(self) -> int | None:
        """Process memory above which the worker pauses (None: never)."""
        return self._bytes(self.pause)

    @property
    def unpause_bytes(self) -> int | None:
        """Process memory below which a paused worker resumes (None: pausing is disabled)."""
        return self._bytes(self.unpause)

    @property
    def terminate_bytes(self) -> int | None:
        """Process memory above which the worker should be restarted (None: never)."""
        return self._bytes(self.terminate)

    def decide(self, process_memory: int, managed_bytes: int, paused: bool) -> Decision:
        """Decide what to do about the process's current memory use.

        Parameters
        ----------
        process_memory : int
            Bytes the worker process uses (its RSS).
        managed_bytes : int
            Bytes of data the SpillBuffer holds in memory (its
            ``fast_bytes``): the most that eviction can free.
        paused : bool
            Whether the worker is paused now.

        Returns
        -------
        Decision
            Over *spill*, ``evict_bytes`` is what would bring the process
            back to *target* (or to *spill* if *target* is disabled),
            assuming evicting a byte of data frees a byte of process memory,
            capped by *managed_bytes*.  ``pause``/``unpause`` are
            transitions: at most one is set, and only if it changes *paused*.
        """
        spill_bytes = self.spill_bytes
        evict = 0
        if spill_bytes is not None and process_memory > spill_bytes:
            target_bytes = self.target_bytes
            goal = spill_bytes if target_bytes is None else min(target_bytes, spill_bytes)
            evict = max(min(process_memory - goal, managed_bytes), 0)
        pause = unpause = False
        pause_bytes = self.pause_bytes
        if pause_bytes is not None and process_memory > pause_bytes:
            pause = not paused
        elif paused:
            unpause = pause_bytes is None or process_memory < self.unpause_bytes
        terminate_bytes = self.terminate_bytes
        terminate = terminate_bytes is not None and process_memory > terminate_bytes
        return Decision(process_memory, self.memory_limit, evict, pause, unpause, terminate)

    def __repr__(self) -> str:
        return (f"MemoryPolicy(memory_limit={self.memory_limit}, target={self.target}, "
                f"spill={self.spill}, pause={self.pause}, terminate={self.terminate}, "
                f"unpause={self.unpause})")


_process = None


def psutil_rss() -> int:
    """Return the resident set size of the current process, in bytes."""
    global _process
    if _process is None or _process.pid != os.getpid():  # fresh after a fork
        import psutil

        _process = psutil.Process()
    return _process.memory_info().rss


class MemoryMonitor:
    """Measure the worker process, decide with a policy, and evict from the buffer.

    Parameters
    ----------
    policy : MemoryPolicy
    buffer : SpillBuffer or None
        Where evictions go; None if the worker does not spill (then nothing
        is managed and nothing is evicted).
    process_memory : callable, optional
        ``process_memory() -> int``, the process's memory use in bytes; by
        default :func:`psutil_rss`.

    Attributes
    ----------
    paused : bool
        Whether the decisions so far leave the worker paused.
    """

    def __init__(self, policy: MemoryPolicy, buffer, process_memory: Callable[[], int] = psutil_rss):
        self.policy = policy
        self.buffer = buffer
        self.process_memory = process_memory
        self.paused = False

    def check(self) -> Decision:
        """Measure, decide, and apply evictions; return what the worker must still do.

        If data was evicted, the process is measured again and ``pause``,
        ``unpause`` and ``terminate`` come from that second measurement, so
        a worker that spilling brought back under a threshold is not paused
        or restarted for nothing.  :attr:`paused` follows the returned
        decision; the caller acts on ``pause``, ``unpause`` and
        ``terminate``.

        Returns
        -------
        Decision
            With ``evicted_bytes`` set to the bytes the buffer spilled.
        """
        buffer = self.buffer
        managed = buffer.fast_bytes if buffer is not None else 0
        decision = self.policy.decide(self.process_memory(), managed, self.paused)
        if decision.evict_bytes and buffer is not None:
            freed = buffer.evict(decision.evict_bytes)
            if freed:
                after = self.policy.decide(self.process_memory(), buffer.fast_bytes, self.paused)
                decision = dataclasses.replace(after, evict_bytes=decision.evict_bytes)
            decision = dataclasses.replace(decision, evicted_bytes=freed)
        if decision.pause:
            self.paused = True
        elif decision.unpause:
            self.paused = False
        return decision
