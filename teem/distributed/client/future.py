"""Futures for results that live on the cluster, and ``wait`` / ``as_completed`` over them.

A :class:`Future` *is* a :class:`concurrent.futures.Future` (so
``concurrent.futures.wait`` and ``as_completed`` work on it too): it is done
when its key is in memory on some worker, erred, cancelled or lost.  The
value stays on the workers until :meth:`Future.result` fetches it.

One client has at most one live Future per key: ``Future(key, client)`` and a
pure ``submit`` of the same call return the same object.  When the last
reference to it goes, the client tells the scheduler it no longer needs the
key (batched with other releases).
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import threading
import time
from collections import deque
from typing import Any, Iterable

from teem.core.errors import TeemError
from teem.core.graph import Graph
from teem.core.task import DataNode, identity
from teem.distributed.errors import FutureCancelledError

__all__ = ["Future", "FutureLostError", "finish_many", "wait", "as_completed", "collect_futures",
           "replace_futures", "is_future", "call_logged", "FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"]

logger = logging.getLogger("teem.distributed.client")

FIRST_COMPLETED = cf.FIRST_COMPLETED
FIRST_EXCEPTION = cf.FIRST_EXCEPTION
ALL_COMPLETED = cf.ALL_COMPLETED

_PENDING = cf._base.PENDING
_FINISHED = cf._base.FINISHED
_DONE = frozenset({cf._base.FINISHED, cf._base.CANCELLED, cf._base.CANCELLED_AND_NOTIFIED})


class _InMemory:
    """The internal result of a finished future: where the value is (and a small value's pickle)."""

    __slots__ = ("who_has", "data")

    def __init__(self, who_has: tuple, data=None):
        self.who_has = who_has
        self.data = data  # frames of a small result sent back with the news, or None


class FutureLostError(TeemError, KeyError):
    """The scheduler does not know the future's key."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Future(cf.Future):
    """A remote result, named by its key.

    Parameters
    ----------
    key:
        The key of the result on the cluster.
    client:
        The :class:`~teem.distributed.Client` it belongs to (default: the current one).

    ``status`` is ``'pending'``, ``'finished'``, ``'error'``, ``'cancelled'`` or ``'lost'``.
    """

    # Collection protocol: a future can be passed to delayed functions and teem.compute.
    __teem_scheduler__ = "distributed"

    def __new__(cls, key, client=None, _new: bool = False):
        if client is None:
            from teem.distributed.client.client import default_client
            client = default_client()
        if not _new:
            existing = client._futures.get(key)
            if existing is not None:
                return existing
        self = super().__new__(cls)
        self._init(key, client)
        return self

    def __init__(self, key, client=None, _new: bool = False):
        pass  # everything happens once, in __new__/_init: the object may be shared

    def _init(self, key, client) -> None:
        # concurrent.futures.Future's fields, set here rather than by its __init__: the
        # condition is the client's, shared by all its futures (one lock and condition per
        # future would cost more than the rest of a submit). Waits re-check their own state.
        self._condition = client._condition
        self._state = _PENDING
        self._result = None
        self._exception = None
        self._waiters = []
        self._done_callbacks = []
        self.key = key
        self.client = client
        self._status = "pending"
        client._track(self)

    # --- state changes (called on the client's loop thread) ---------------------------------

    def _fail(self, exception: BaseException, status: str = "error") -> None:
        with self._condition:
            if self._state != cf._base.PENDING:
                return
            self._status = status
        self.set_exception(exception)

    def _cancelled_remotely(self) -> None:
        with self._condition:
            if self._state != cf._base.PENDING:
                return
            self._status = "cancelled"
        super().cancel()
        self.set_running_or_notify_cancel()

    # --- public -------------------------------------------------------------------------------

    @property
    def status(self) -> str:
        return self._status

    def result(self, timeout: float | None = None) -> Any:
        """The value, fetched from the worker that holds it; raises the task's exception.

        Raises
        ------
        TimeoutError
            The result was not ready within ``timeout`` seconds.
        FutureCancelledError
            The future was cancelled.
        """
        self._wait_done(timeout)
        if self._state != _FINISHED:
            raise FutureCancelledError(f"future {self.key!r} was cancelled")
        if self._exception is not None:
            try:
                raise self._exception
            finally:
                self = None  # no reference cycle through the traceback
        where = self._result
        if isinstance(where, _InMemory):
            return self.client._gather_keys([self.key], timeout=timeout)[0]
        return where

    def exception(self, timeout: float | None = None) -> BaseException | None:
        self._wait_done(timeout)
        if self._state != _FINISHED:
            raise FutureCancelledError(f"future {self.key!r} was cancelled")
        return self._exception

    def _wait_done(self, timeout: float | None) -> None:
        if self._state in _DONE:
            return
        with self._condition:
            if not self._condition.wait_for(lambda: self._state in _DONE, timeout):
                raise TimeoutError(f"future {self.key!r} was not done within {timeout} s "
                                   f"(status: {self._status})")

    def traceback(self, timeout: float | None = None):
        """The traceback of the task's exception (None if it did not raise)."""
        exc = self.exception(timeout)
        return None if exc is None else exc.__traceback__

    def cancel(self, **kwargs) -> bool:
        """Cancel the task on the cluster; True unless it had already finished."""
        if self.done():
            return self.cancelled()
        self.client.cancel([self])
        return True

    def add_done_callback(self, fn) -> None:
        """Call ``fn(future)`` once the future is done, on a client thread (never the loop's).

        A callback that raises is logged, not propagated.
        """
        client = self.client
        # ``client.submit(f).add_done_callback(cb)`` keeps no reference to the future: hold
        # it until the callback has run, or it would be released and never finish.
        client._pinned.add(self)

        def run(future):
            client._pinned.discard(future)
            client._run_callback(fn, future)
        super().add_done_callback(run)

    def release(self) -> None:
        """Stop holding this key (also happens when the future is garbage collected)."""
        self.client._release_future(self)

    # --- collection protocol ------------------------------------------------------------------

    def __teem_graph__(self) -> Graph:
        return Graph({self.key: DataNode(self.key, self)})

    def __teem_keys__(self):
        return self.key

    def __teem_postcompute__(self):
        return identity, ()

    def __teem_postpersist__(self):
        return _persisted_future, (self,)

    def __reduce__(self):
        return Future, (self.key,)

    def __repr__(self) -> str:
        return f"<Future: {self._status}, key: {self.key!r}>"

    def _repr_html_(self) -> str:
        return f"<b>Future: {self.key!r}</b> <span>status: {self._status}</span>"

    # Equality and hashing are by identity: a client has one live Future per key.

    _dying = False  # set by __del__: its weak references still work until it is freed

    def __del__(self):
        self._dying = True
        client = getattr(self, "client", None)
        if client is not None:
            client._forget_future(self.key)


def _persisted_future(graph, future):
    return future


def finish_many(condition, finished: list) -> None:
    """Resolve ``(future, who_has, data)`` triples under one hold of their shared condition.

    The same transitions as ``set_result``, without a lock round trip and a wake-up per
    future: a map of 100,000 tasks reports in large batches.
    """
    done = []
    with condition:
        for future, who_has, data in finished:
            state = future._state
            if state == _FINISHED:
                if isinstance(future._result, _InMemory):  # recomputed, or told again: update
                    future._result = _InMemory(who_has, data or future._result.data)
                continue
            if state != _PENDING:
                continue
            future._status = "finished"
            future._result = _InMemory(who_has, data)
            future._state = _FINISHED
            for waiter in future._waiters:
                waiter.add_result(future)
            if future._done_callbacks:
                done.append(future)
        condition.notify_all()
    for future in done:
        future._invoke_callbacks()


def wait(fs, timeout: float | None = None, return_when: str = ALL_COMPLETED):
    """Wait for futures; returns ``(done, not_done)`` sets as :func:`concurrent.futures.wait`.

    Raises
    ------
    TimeoutError
        If ``return_when`` is ALL_COMPLETED and not all are done within ``timeout``
        (Dask's behaviour; concurrent.futures would return instead).
    """
    if isinstance(fs, Future):
        fs = [fs]
    fs = list(fs)
    if return_when == ALL_COMPLETED and all(type(f) is Future for f in fs):
        # One pass, each future waited for in turn: no waiter installed on every future.
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            for f in fs:
                if f._state not in _DONE:
                    f._wait_done(None if deadline is None else max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            not_done = {f for f in fs if f._state not in _DONE}
            raise TimeoutError(f"{len(not_done)} of {len(fs)} futures were not done within {timeout} s") \
                from None
        return cf._base.DoneAndNotDoneFutures(set(fs), set())
    result = cf.wait(fs, timeout=timeout, return_when=return_when)
    if return_when == ALL_COMPLETED and result.not_done:
        raise TimeoutError(f"{len(result.not_done)} of {len(fs)} futures were not done within {timeout} s")
    return result


class as_completed:
    """Iterate over futures in the order they finish; more can be added while iterating.

    Parameters
    ----------
    futures:
        Futures to watch (more with :meth:`add` / :meth:`update`).
    with_results:
        Yield ``(future, result)`` pairs (an erred future raises its exception
        unless ``raise_errors=False``, in which case the exception is yielded).
    timeout:
        Raise TimeoutError if the next future takes longer than this.

    Example
    -------
    >>> for future in as_completed(client.map(inc, range(10))):  # doctest: +SKIP
    ...     print(future.result())
    """

    def __init__(self, futures: Iterable = (), with_results: bool = False, raise_errors: bool = True,
                 timeout: float | None = None):
        self.with_results = with_results
        self.raise_errors = raise_errors
        self.timeout = timeout
        self._lock = threading.Condition()
        self._pending: set = set()
        self._done: deque = deque()
        self.update(futures)

    def add(self, future: Future) -> None:
        with self._lock:
            self._pending.add(future)
        # The raw concurrent.futures callback: runs at once, under no lock of ours.
        cf.Future.add_done_callback(future, self._on_done)

    def update(self, futures: Iterable) -> None:
        for future in futures:
            self.add(future)

    def _on_done(self, future) -> None:
        with self._lock:
            if future in self._pending:
                self._pending.discard(future)
                self._done.append(future)
                self._lock.notify_all()

    def count(self) -> int:
        """Futures not yet yielded."""
        with self._lock:
            return len(self._pending) + len(self._done)

    def is_empty(self) -> bool:
        return self.count() == 0

    def has_ready(self) -> bool:
        with self._lock:
            return bool(self._done)

    def __iter__(self):
        return self

    def __next__(self):
        with self._lock:
            if not self._done and not self._pending:
                raise StopIteration
            if not self._lock.wait_for(lambda: self._done, self.timeout):
                raise TimeoutError(f"no future finished within {self.timeout} s "
                                   f"({len(self._pending)} pending)")
            future = self._done.popleft()
        return self._item(future)

    def _item(self, future):
        if not self.with_results:
            return future
        try:
            return future, future.result()
        except BaseException as exc:
            if self.raise_errors:
                raise
            return future, exc

    def next_batch(self, block: bool = True) -> list:
        """Everything finished now (at least one if ``block``)."""
        with self._lock:
            if block and not self._done and self._pending:
                self._lock.wait_for(lambda: self._done, self.timeout)
            batch = list(self._done)
            self._done.clear()
        return [self._item(f) for f in batch]

    def batches(self):
        """Iterate over lists of futures that finished since the last list."""
        while not self.is_empty():
            yield self.next_batch()

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
            self._done.clear()


def collect_futures(obj, found: list) -> None:
    """Append to ``found`` the futures in ``obj`` (also inside lists, tuples, sets and dict values)."""
    if isinstance(obj, Future):
        found.append(obj)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for item in obj:
            collect_futures(item, found)
    elif isinstance(obj, dict):
        for item in obj.values():
            collect_futures(item, found)


def replace_futures(obj, values: dict):
    """``obj`` with its futures replaced by ``values[key]`` (futures missing from ``values`` dropped)."""
    if isinstance(obj, Future):
        return values[obj.key]
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = [replace_futures(item, values) for item in obj
                 if not (isinstance(item, Future) and item.key not in values)]
        return items if type(obj) is list else type(obj)(items) if type(obj) in (tuple, set, frozenset) else items
    if isinstance(obj, dict):
        return {k: replace_futures(v, values) for k, v in obj.items()
                if not (isinstance(v, Future) and v.key not in values)}
    return obj


def is_future(obj) -> bool:
    return isinstance(obj, Future)


def call_logged(fn, future) -> None:
    """Run the done-callback ``fn(future)``; an exception it raises is logged, not propagated."""
    try:
        fn(future)
    except Exception:
        logger.exception("done-callback %r of %r raised", fn, future)
