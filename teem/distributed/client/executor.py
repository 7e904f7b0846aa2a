"""A :class:`concurrent.futures.Executor` on a teem cluster."""

from __future__ import annotations

import concurrent.futures as cf
import threading
import weakref

__all__ = ["ClientExecutor"]


class ClientExecutor(cf.Executor):
    """``client.get_executor()``: submit/map/shutdown over a :class:`Client`.

    Calls are impure (every submit runs); keyword arguments given here
    (``workers=``, ``retries=``, ``priority=``) apply to every call.
    """

    def __init__(self, client, **submit_kwargs):
        self._client = client
        self._submit_kwargs = submit_kwargs
        self._futures: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.Lock()
        self._shutdown = False

    def submit(self, fn, /, *args, **kwargs):
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            future = self._client.submit(fn, *args, pure=False, **self._submit_kwargs, **kwargs)
            self._futures.add(future)
        return future

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        """Like :meth:`concurrent.futures.Executor.map`, with one message per batch of calls."""
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            futures = self._client.map(fn, *iterables, pure=False, **self._submit_kwargs)
            self._futures.update(futures)

        def results():
            try:
                for future in futures:
                    yield future.result(timeout)
            finally:
                for future in futures:
                    if not future.done():
                        future.cancel()
        return results()

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shutdown = True
            futures = list(self._futures)
        if cancel_futures:
            for future in futures:
                if not future.done():
                    future.cancel()
        if wait and futures:
            cf.wait(futures)
