"""An asyncio event loop running in a background thread, for synchronous callers.

Clients and clusters are used from ordinary (synchronous) user code, while
their connections live on an event loop.  :class:`LoopThread` owns one loop in
a daemon thread; :meth:`LoopThread.run` runs a coroutine there and waits for it.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable, Callable

__all__ = ["LoopThread"]


class LoopThread:
    """One asyncio loop in a daemon thread.

    Example
    -------
    >>> loop = LoopThread("example")
    >>> async def add(a, b):
    ...     return a + b
    >>> loop.run(add(1, 2))
    3
    >>> loop.stop()
    """

    def __init__(self, name: str = "teem-loop"):
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(started,), name=name, daemon=True)
        self._thread.start()
        started.wait()

    def _main(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(started.set)
        try:
            self.loop.run_forever()
        finally:
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for task in pending:
                task.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self.loop.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive() and not self.loop.is_closed()

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def run(self, coro: Awaitable, timeout: float | None = None) -> Any:
        """Run ``coro`` on the loop and return its result (raising its exception).

        Raises
        ------
        RuntimeError
            When called from the loop's own thread (it would wait for itself).
        TimeoutError
            If ``timeout`` seconds pass first; the coroutine is then cancelled.
        """
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError("LoopThread.run called from its own loop thread: await the coroutine instead")
        if not self.running:
            coro.close()
            raise RuntimeError("the event loop of this client or cluster has stopped")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def call_soon(self, func: Callable, *args: Any) -> None:
        """Run ``func(*args)`` on the loop thread (from any thread; no-op once stopped)."""
        if self.in_loop_thread():
            func(*args)
            return
        try:
            self.loop.call_soon_threadsafe(func, *args)
        except RuntimeError:  # loop closed: nothing left to tell
            pass

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop (cancelling what still runs on it) and join the thread."""
        if not self.running:
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        if not self.in_loop_thread():
            self._thread.join(timeout)
