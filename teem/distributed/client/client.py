"""``Client``: the user's handle on a cluster — submit work, get futures, gather results.

Theory of operation
-------------------
1. A Client owns an event loop in a background thread (:class:`LoopThread`)
   holding its one connection to the scheduler, plus pooled connections to
   workers for fetching results.  User threads never touch the connection:
   they encode work (pickling happens here, in the caller's thread, so an
   unpicklable function fails at ``submit``) and hand the message to the loop.
2. Every key the client holds a :class:`Future` for is *wanted* by it on the
   scheduler.  The scheduler reports each wanted key once, when it reaches
   memory (with its holders), errs or is cancelled; the loop thread resolves
   the future.  Values stay on the workers until ``result``/``gather`` fetch
   them, directly from a holder (through the scheduler if the holder cannot
   be reached).
3. A future that is garbage collected releases its key; releases are
   batched into one message per loop turn.
4. Keys are names of results: a pure ``submit`` names its key from the
   function and arguments (:func:`~teem.core.tokenize.tokenize`), so the same
   call gives the same future and runs once while that future is held —
   Dask's caching.  ``pure=False`` names each call uniquely.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Iterable

from teem.core import base, config
from teem.core.errors import SerializationError, TeemError
from teem.core.gcfreeze import raise_young_threshold
from teem.core.graph import Graph, flatten, iter_keys
from teem.core.task import DataNode, Task, funcname
from teem.core.tokenize import tokenize
# default_client and get_client live in defaults.py; imported here, where they have always been found
from teem.distributed.client.defaults import default_client, get_client, register_joblib_backend, set_default
from teem.distributed.client.display import client_html, client_repr, dashboard_link_for
from teem.distributed.client.future import (Future, FutureLostError, _InMemory, call_logged, collect_futures,
                                             finish_many, is_future, replace_futures, wait)
from teem.distributed.client.registry import FutureRegistry
from teem.distributed.client.graphs import (batch_bounds, encode_graph, normalize_workers, pack_args,
                                             pack_futures)
from teem.distributed.client.locate import CLUSTER_OPTIONS, locate_scheduler
from teem.distributed.comm import CommClosedError, connect
from teem.distributed.errors import FutureCancelledError, task_exception, unpicklable_error
from teem.distributed.loop import LoopThread
from teem.distributed.pool import ConnectionPool
from teem.distributed.protocol.messages import OUT_OF_BAND_BYTES, dumps, dumps_atomic, loads
from teem.distributed.runspec import FunctionTable, encode_task
from teem.distributed.security import Security

if TYPE_CHECKING:
    from teem.distributed.client.executor import ClientExecutor

__all__ = ["Client", "default_client", "get_client"]

logger = logging.getLogger("teem.distributed.client")

# Calls per update-graph message of map(): the first messages small, so that workers start
# while the rest of a long map is still being prepared, then up to _MAP_BATCH.
_MAP_BATCH = 10_000
_MAP_FIRST_BATCH = 256
# Releases of dropped futures: sent with the next message, after RELEASE_SECONDS at the latest,
# or at once when RELEASE_BATCH of them wait.
RELEASE_SECONDS = 0.05
RELEASE_BATCH = 10_000
# Argument types that cannot hold a Future: map() sends calls made only of these without
# looking inside them.
_ATOMIC = frozenset({int, float, str, bytes, bool, type(None), complex})


class Client:
    """Connect to a teem cluster (or start one on this machine) and run work on it.

    Parameters
    ----------
    address:
        ``'tcp://host:port'`` of a scheduler, or a cluster object (``LocalCluster``,
        ``SLURMCluster``, ...). None: the config's ``scheduler-address`` if set (as
        ``teem.mpi.initialize()`` does), else (and no ``scheduler_file``) start a
        :class:`~teem.distributed.LocalCluster` of this machine, taking the cluster
        options among ``**kwargs`` (``n_workers``, ``threads_per_worker``, ``processes``,
        ``memory_limit``, ...).
    scheduler_file:
        JSON file written by ``teem scheduler --scheduler-file`` (address and secret).
    security:
        :class:`~teem.distributed.Security` holding the cluster's secret (and TLS files).
        Default: from the scheduler file, ``$TEEM_SECRET``, or the secret this user's
        scheduler remembered for ``address`` on this machine.
    timeout:
        Seconds to wait for the scheduler.
    set_as_default:
        Make ``teem.compute`` and ``.compute()`` run on this client.

    Cluster options given while connecting to an existing scheduler are ignored, with a
    warning (seed scripts pass them for their launcher).

    Example
    -------
    >>> from teem.distributed import Client  # doctest: +SKIP
    >>> client = Client(n_workers=2, threads_per_worker=1)
    >>> client.submit(sum, [1, 2, 3]).result()
    6
    """

    def __init__(self, address: Any = None, *, scheduler_file: str | None = None,
                 security: Security | None = None, timeout: float = 30.0, set_as_default: bool = True,
                 name: str | None = None, direct_to_workers: bool | None = None,
                 asynchronous: bool = False, **kwargs: Any):
        if asynchronous:
            raise NotImplementedError("Client(asynchronous=True) is not supported: use the synchronous "
                                      "API from a thread, e.g. loop.run_in_executor")
        unknown = set(kwargs) - CLUSTER_OPTIONS
        if unknown:
            raise TypeError(f"Client() got unexpected keyword argument(s) {sorted(unknown)}")
        self.id = name or f"Client-{uuid.uuid4().hex[:12]}"
        self.status = "connecting"
        self.cluster = None
        self._scheduler_dashboard: str | None = None  # the link the scheduler announced
        self._own_cluster = False
        self._timeout = timeout
        self._direct = direct_to_workers is not False
        self._futures = FutureRegistry()
        self._condition = threading.Condition()  # shared by this client's futures
        self._lock = threading.RLock()
        self._functions = FunctionTable()
        self._generation = itertools.count()
        # Keys whose futures died, waiting for one release message. A future can die in any
        # thread, even inside this lock's block (garbage collection): hence a re-entrant lock.
        self._to_release: list = []
        self._release_lock = threading.RLock()
        self._release_timer: asyncio.Future | None = None
        self._callbacks: ThreadPoolExecutor | None = None
        self._comm = None
        self._pool: ConnectionPool | None = None
        self._config_restorer = None
        self._gc_undo = None
        self._pinned: set = set()  # futures kept alive until their done-callbacks ran

        address, self.security, self.cluster, self._own_cluster = locate_scheduler(
            address, scheduler_file, security, timeout, kwargs)
        self.scheduler_address = address
        contexts = self.security.get_ssl_context("client")
        self._ssl = contexts[1] if contexts else None
        self._loop = LoopThread(f"teem-{self.id}")
        try:
            self._loop.run(self._connect(), timeout + 5)
        except BaseException:
            self._loop.stop()
            if self._own_cluster:
                self.cluster.close()
            raise
        self.status = "running"
        # Fewer collector passes while futures pile up (see teem.core.gcfreeze); undone by close().
        self._gc_undo = raise_young_threshold()
        if set_as_default:
            set_default(self)
            # As in Dask: while this client is the default, it overrides a scheduler chosen in
            # the config before it (seed 001 sets 'processes', then computes on its cluster).
            self._config_restorer = config.set(scheduler="distributed")
        register_joblib_backend()

    async def _connect(self) -> None:
        secret = self.security.secret_bytes()
        self._comm = await connect(self.scheduler_address, secret, on_message=self._on_message,
                                   on_close=self._on_comm_close, ssl_context=self._ssl,
                                   timeout=self._timeout)
        registered = await self._comm.request({"op": "register-client", "client": self.id})
        self._scheduler_dashboard = registered.get("dashboard") if isinstance(registered, dict) else None
        self._pool = ConnectionPool(secret, self._ssl, timeout=5.0)
        self._release_timer = asyncio.ensure_future(self._release_periodically())

    async def _release_periodically(self) -> None:
        """Send the releases that no other message took along (see ``_forget_future``)."""
        while True:
            await asyncio.sleep(RELEASE_SECONDS)
            if self._to_release:
                self._flush_releases()

    # ------------------------------------------------------------------ loop-thread side

    def _send(self, msg: dict, small: bool = False) -> None:
        """Queue ``msg`` for the scheduler (from any thread); ``small``: see ``Comm.send``."""
        self._loop.call_soon(self._send_now, msg, small)

    def _send_now(self, msg: dict, small: bool = False) -> None:
        if self._comm is not None and not self._comm.closed:
            if self._to_release:  # releases go first, with this message
                self._flush_releases()
            self._comm.send(msg, small)

    def _on_message(self, comm, msgs: list) -> None:
        for msg in msgs:
            if msg.get("op") == "key-updates":
                self._apply_updates(msg["updates"])

    def _apply_updates(self, updates) -> None:
        get = self._futures.get
        finished = []
        others = []
        for update in updates:
            future = get(update[0])
            if future is None:
                continue
            if update[1] == "memory":  # (key, 'memory', holders, a small result's frames or None)
                finished.append((future, update[2], update[3]))
            else:
                others.append((future, update))
        if finished:
            finish_many(self._condition, finished)
        for future, (key, status, detail, tb) in others:
            if status == "erred":
                future._fail(task_exception(key, detail, tb))
            elif status == "cancelled":
                future._cancelled_remotely()
            else:  # lost: the scheduler does not know the key
                future._fail(FutureLostError(
                    f"the scheduler does not know key {key!r}: it was released (no future held it) "
                    "or never submitted"), "lost")

    def _on_comm_close(self, comm) -> None:
        if self.status in ("closing", "closed"):
            return
        self.status = "disconnected"
        error = CommClosedError(f"lost the connection to the scheduler at {self.scheduler_address}")
        with self._lock:
            pending = [f for f in self._futures.live() if not f.done()]
        for future in pending:
            future._fail(error)

    # ------------------------------------------------------------------ futures bookkeeping

    def _track(self, future: Future) -> None:
        self._futures.add(future)

    def _forget_future(self, key) -> None:
        """From ``Future.__del__``, on any thread: release ``key`` unless a new future holds it.

        Nothing waits for a release, so none wakes the loop's thread: releases ride along
        with the next message to the scheduler, or leave within ``RELEASE_SECONDS``. (Waking
        the loop for each dropped future made it compete with the thread that drops it, in
        the middle of that thread's next submit: a tenth of a submit-and-wait round trip.)
        A large batch, as when a list of 100,000 gathered futures is dropped, goes at once.
        """
        if self.status != "running":
            return
        with self._release_lock:
            self._to_release.append(key)
            if len(self._to_release) != RELEASE_BATCH:
                return
        if self._loop.in_loop_thread():
            self._loop.loop.call_soon(self._flush_releases)
        else:
            self._loop.call_soon(self._flush_releases)

    def _release_future(self, future: Future) -> None:
        with self._lock:
            self._futures.remove(future)
        self._forget_future(future.key)

    def _flush_releases(self) -> None:
        with self._release_lock:
            keys, self._to_release = self._to_release, []
        with self._lock:
            keys = self._futures.prune(dict.fromkeys(keys))
        if keys:
            self._send_now({"op": "release-keys", "keys": keys})

    def _run_callback(self, fn, future) -> None:
        if self._callbacks is None:
            self._callbacks = ThreadPoolExecutor(1, thread_name_prefix="teem-callback")
        self._callbacks.submit(call_logged, fn, future)

    # ------------------------------------------------------------------ submitting work

    def _check_running(self) -> None:
        if self.status != "running":
            raise TeemError(f"this Client is {self.status}; create a new Client to submit work")

    def submit(self, func, *args, key: Any = None, workers: Any = None, retries: int | None = None,
               priority: int = 0, pure: bool = True, allow_other_workers: bool = False,
               **kwargs) -> Future:
        """Run ``func(*args, **kwargs)`` on the cluster; returns its :class:`Future`.

        Futures among the arguments (also inside lists, tuples, sets and dicts) are
        replaced by their results on the worker.

        With ``pure=True`` (the default, as in Dask) the key is derived from ``func`` and
        its arguments: submitting the same call again returns the same future and does
        not run it again while a future for it is held. Use ``pure=False`` for functions
        with side effects or randomness: every call then runs.

        Raises
        ------
        TypeError
            ``func`` is not callable.
        SerializationError
            ``func`` or an argument cannot be pickled (raised here, at submit).
        """
        self._check_running()
        if not callable(func):
            raise TypeError(f"submit: {func!r} is not callable; pass the function first, then its arguments")
        if key is None:
            token = tokenize(func, args, kwargs) if pure else uuid.uuid4().hex
            key = f"{funcname(func)}-{token}"
        with self._lock:
            existing = self._futures.get(key)
        if existing is not None:
            return existing
        deps: list = []
        packed_args = pack_args(args, is_future, deps)
        packed_kwargs = {k: pack_futures(v, is_future, deps) for k, v in kwargs.items()} if kwargs else None
        deps = tuple(dict.fromkeys(deps))
        generation = next(self._generation)
        with self._lock:
            try:
                run_spec = encode_task(Task(key, func, packed_args, packed_kwargs, deps), self._functions)
            except SerializationError as exc:
                raise unpicklable_error(key, func, args, kwargs, exc) from exc.__cause__
            functions = self._functions.take_unsent()
        future = Future(key, self, _new=True)
        self._send({"op": "update-graph", "functions": functions, "wanted": (key,),
                    "tasks": [(key, deps, run_spec, (-priority, generation, 0), retries or 0,
                               normalize_workers(workers))]})
        return future

    def map(self, func, *iterables: Iterable, key: Any = None, workers: Any = None,
            retries: int | None = None, priority: int = 0, pure: bool = True,
            batch_size: int | None = None, **kwargs) -> list[Future]:
        """``[submit(func, *items) for items in zip(*iterables)]``, sent in batches.

        ``key``: a list of keys (one per call), or a prefix for the keys.
        ``batch_size``: calls per message to the scheduler (default 10,000).
        """
        self._check_running()
        if not callable(func):
            raise TypeError(f"map: {func!r} is not callable")
        if not iterables:
            return []
        calls = list(zip(*iterables))
        if isinstance(key, (list, tuple)):
            if len(key) != len(calls):
                raise ValueError(f"map: {len(key)} keys given for {len(calls)} calls")
            keys = list(key)
        else:
            prefix = key if isinstance(key, str) else funcname(func)
            if pure:
                base_token = tokenize(func, kwargs)
                keys = [f"{prefix}-{tokenize(base_token, args)}" for args in calls]
            else:
                keys = [f"{prefix}-{uuid.uuid4().hex}" for _ in calls]
        workers = normalize_workers(workers)
        retries = retries or 0
        generation = next(self._generation)
        batch = max(1, batch_size or _MAP_BATCH)
        futures: list = []
        kw_deps: list = []
        packed_kwargs = {k: pack_futures(v, is_future, kw_deps) for k, v in kwargs.items()} if kwargs else None
        bounds = batch_bounds(len(calls), batch, None if batch_size else _MAP_FIRST_BATCH)
        for start, stop in bounds:
            tasks = []
            wanted = []
            small = True
            with self._lock:
                fid = None
                for i in range(start, stop):
                    k = keys[i]
                    existing = self._futures.get(k)
                    if existing is not None:
                        futures.append(existing)
                        continue
                    args = calls[i]
                    if fid is None:
                        fid = self._functions.function_id(func)
                    if packed_kwargs or not _ATOMIC.issuperset(map(type, args)):
                        deps: list = list(kw_deps)
                        packed = pack_args(args, is_future, deps)
                        deps_t = tuple(dict.fromkeys(deps)) if deps else ()
                        spec = (fid, dumps((packed, packed_kwargs, deps_t)))
                    else:  # the common case: plain numbers and strings, nothing to look into
                        deps_t = ()
                        spec = (fid, dumps_atomic((args, packed_kwargs, deps_t)))
                    if small and (len(spec[1]) > 1 or len(spec[1][0]) >= OUT_OF_BAND_BYTES):
                        small = False
                    tasks.append((k, deps_t, spec, (-priority, generation, i), retries, workers))
                    wanted.append(k)
                    future = Future.__new__(Future, k, self, _new=True)
                    futures.append(future)
                functions = self._functions.take_unsent()
            if tasks:
                small = small and all(len(f) < OUT_OF_BAND_BYTES for fs in functions.values() for f in fs)
                self._send({"op": "update-graph", "functions": functions, "wanted": wanted, "tasks": tasks},
                           small)
        return futures

    def _submit_graph(self, graph: dict, outputs: list, *, workers=None, retries=None,
                      priority: int = 0) -> list[Future]:
        """Send ``graph``, wanting ``outputs``; returns their futures (in order)."""
        self._check_running()
        generation = next(self._generation)
        with self._lock:
            tasks, held = encode_graph(graph, outputs, self._functions, is_future,
                                       (-priority, generation), retries or 0, normalize_workers(workers))
            functions = self._functions.take_unsent()
            futures = []
            for k in outputs:
                existing = self._futures.get(k)
                futures.append(existing)
        futures = [f if f is not None else Future(k, self, _new=True) for f, k in zip(futures, outputs)]
        self._send({"op": "update-graph", "functions": functions, "wanted": list(outputs), "tasks": tasks})
        del held  # the futures found in the graph stayed alive until the message was queued
        return futures

    # ------------------------------------------------------------------ results

    def _gather_keys(self, keys: list, timeout: float | None = None) -> list:
        """Values of keys in memory on the cluster (in order)."""
        get = self._futures.get
        frames = {}
        for k in keys:  # small results came with the news that they were done
            future = get(k)
            result = future._result if future is not None else None
            if isinstance(result, _InMemory) and result.data is not None:
                frames[k] = result.data
        missing = [k for k in keys if k not in frames]
        if missing:
            frames.update(self._loop.run(self._fetch(missing), timeout))
        return [loads(list(frames[k])) for k in keys]

    async def _fetch(self, keys: list) -> dict:
        with self._lock:
            futures = {k: self._futures.get(k) for k in keys}
        holders = {}
        for k, f in futures.items():
            result = getattr(f, "_result", None)
            holders[k] = list(result.who_has) if isinstance(result, _InMemory) else []
        out: dict = {}
        delay = 0.01
        for attempt in itertools.count():
            missing = [k for k in keys if k not in out]
            if not missing:
                return out
            if attempt:
                who = await self._comm.request({"op": "who-has", "keys": missing})
                for k in missing:
                    holders[k] = list(who.get(k) or ())
            by_holder: dict = {}
            for k in missing:
                if holders[k]:
                    by_holder.setdefault(holders[k][0], []).append(k)
            if by_holder and self._direct:
                replies = await asyncio.gather(*(self._get_data(h, ks) for h, ks in by_holder.items()),
                                               return_exceptions=True)
                for (holder, ks), reply in zip(by_holder.items(), replies):
                    if isinstance(reply, BaseException):
                        logger.info("fetching from %s failed (%r); asking the scheduler", holder, reply)
                        self._direct = not isinstance(reply, TimeoutError) or bool(out)
                        continue
                    out.update(reply)
            elif by_holder:
                out.update(await self._comm.request({"op": "gather", "keys": missing}))
            if attempt:  # the value is being recomputed (its holder died): wait for it
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.5)
            for k in missing:
                future = futures[k]
                if future is not None and future.done() and not isinstance(future._result, _InMemory):
                    raise future.exception() or FutureCancelledError(k)

    async def _get_data(self, holder: str, keys: list) -> dict:
        return await self._pool.request(holder, {"op": "get-data", "keys": keys})

    def gather(self, futures: Any, errors: str = "raise", direct: bool | None = None,
               asynchronous: bool = False) -> Any:
        """The results of ``futures`` (a future, or lists/tuples/dicts of them), same shape.

        ``errors='raise'`` raises the first task exception; ``'skip'`` leaves erred
        futures out of lists.
        """
        if errors not in ("raise", "skip"):
            raise ValueError(f"gather: errors must be 'raise' or 'skip', not {errors!r}")
        found: list = []
        collect_futures(futures, found)
        if found:
            wait(found)
        bad = [f for f in found if f.status != "finished"]
        if bad and errors == "raise":
            bad[0].result()  # raises its exception (or FutureCancelledError)
        keys = list(dict.fromkeys(f.key for f in found if f.status == "finished"))
        values = dict(zip(keys, self._gather_keys(keys))) if keys else {}
        return replace_futures(futures, values)

    def scatter(self, data: Any, workers: Any = None, broadcast: bool = False, direct: bool | None = None,
                hash: bool = True, timeout: float = 30.0) -> Any:
        """Send data to the workers; returns futures for it (same shape as ``data``).

        A dict gives a dict of futures with the same keys; a list or tuple a list of
        futures; anything else one future. ``broadcast=True`` copies it to every worker.
        """
        self._check_running()
        if isinstance(data, dict):
            items = list(data.items())
            keys = [str(k) for k in data]
        else:
            values = list(data) if isinstance(data, (list, tuple, set, frozenset)) else [data]
            keys = [f"{type(v).__name__}-{tokenize(v) if hash else uuid.uuid4().hex}" for v in values]
            items = list(zip(keys, values))
        payload = {k: dumps(v) for k, v in items}
        futures = [Future(k, self) for k in keys]
        self._loop.run(self._comm.request({"op": "scatter", "data": payload, "timeout": timeout,
                                           "workers": normalize_workers(workers),
                                           "broadcast": bool(broadcast)}), timeout + 10)
        if isinstance(data, dict):
            return dict(zip(data, futures))
        if isinstance(data, (list, tuple, set, frozenset)):
            return futures
        return futures[0]

    # ------------------------------------------------------------------ collections

    def get(self, graph: dict, keys: list, **kwargs) -> list:
        """Run ``graph`` for ``keys`` and return their values: the ``get`` of ``teem.compute``."""
        if isinstance(graph, Graph):
            graph = graph.to_dict()
        keys = list(keys)
        futures = self._submit_graph(graph, keys, workers=kwargs.get("workers"),
                                     retries=kwargs.get("retries"))
        return self.gather(futures)

    def compute(self, collections: Any, sync: bool = False, workers: Any = None, retries: int | None = None,
                priority: int = 0, **kwargs) -> Any:
        """Start computing collections; returns futures of their final values (or values if ``sync``)."""
        from teem.core.delayed import _collection_to_delayed
        single = base.is_teem_collection(collections)
        items = [collections] if single else list(collections)
        futures = []
        for item in items:
            if isinstance(item, Future):
                futures.append(item)
                continue
            if not base.is_teem_collection(item):
                futures.append(item)
                continue
            finalized = _collection_to_delayed(item)
            futures.append(self._submit_graph(finalized.__teem_graph__().to_dict(), [finalized.key],
                                              workers=workers, retries=retries, priority=priority)[0])
        if sync:
            futures = self.gather(futures)
        return futures[0] if single else futures

    def persist(self, collections: Any, workers: Any = None, retries: int | None = None,
                priority: int = 0, **kwargs) -> Any:
        """Start computing collections and return them backed by their results on the cluster."""
        single = base.is_teem_collection(collections)
        items = [collections] if single else list(collections)
        out = []
        for item in items:
            keys = item.__teem_keys__()
            flat = list(iter_keys(keys)) if type(keys) is list else [keys]
            graph = flatten([item.__teem_graph__()])
            futures = self._submit_graph(graph, flat, workers=workers, retries=retries, priority=priority)
            layer = {f.key: DataNode(f.key, f) for f in futures}
            rebuild, extra = item.__teem_postpersist__()
            out.append(rebuild(Graph(layer), *extra))
        return out[0] if single else out

    # ------------------------------------------------------------------ cluster management

    def cancel(self, futures: Any, force: bool = False) -> None:
        """Cancel futures: their tasks stop (if not finished) and every holder hears 'cancelled'."""
        found: list = []
        collect_futures(futures, found)
        if not found:
            return
        self._send({"op": "cancel-keys", "keys": [f.key for f in found]})
        for future in found:
            future._cancelled_remotely()

    def _request(self, msg: dict, timeout: float | None = None):
        self._check_running()
        return self._loop.run(self._comm.request(msg), timeout)

    def scheduler_info(self) -> dict:
        """What the scheduler knows about itself and its workers (Dask's shape)."""
        return self._request({"op": "scheduler-info"}, self._timeout)

    def nthreads(self) -> dict:
        """Threads of each worker, by address."""
        return {a: w["nthreads"] for a, w in self.scheduler_info()["workers"].items()}

    ncores = nthreads

    def who_has(self, futures: Any = None) -> dict:
        found: list = []
        collect_futures(futures, found)
        keys = [f.key for f in found]
        return {k: list(v) for k, v in self._request({"op": "who-has", "keys": keys}, self._timeout).items()}

    def wait_for_workers(self, n_workers: int = 1, timeout: float | None = None) -> None:
        """Block until at least ``n_workers`` workers have joined.

        Raises
        ------
        TimeoutError
            After ``timeout`` seconds, saying how many joined.
        """
        import time
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            count = len(self.scheduler_info()["workers"])
            if count >= n_workers:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"only {count} of {n_workers} workers joined the scheduler at "
                                   f"{self.scheduler_address} within {timeout} s")
            time.sleep(0.05)

    def run(self, function, *args, workers: Any = None, wait: bool = True, **kwargs) -> dict:
        """Run ``function(*args, **kwargs)`` on every worker (or ``workers``); ``{address: result}``.

        A function with a ``dask_worker`` or ``teem_worker`` parameter receives the worker object.
        """
        payload = dumps((function, args, kwargs))
        replies = self._request({"op": "run", "function": payload, "workers": normalize_workers(workers)})
        out = {}
        for address, reply in replies.items():
            if reply[0] == "ok":
                out[address] = loads(list(reply[1]))
            else:
                raise task_exception(f"run on {address}", reply[1], reply[2] if len(reply) > 2 else None)
        return out

    def upload_file(self, filename: str, load: bool = True) -> dict:
        """Send a ``.py``, ``.zip`` or ``.egg`` file to every worker (and to workers joining later).

        Raises
        ------
        RuntimeError
            If a worker could not install it (the message names the worker).
        """
        with open(filename, "rb") as f:
            data = f.read()
        replies = self._request({"op": "upload-file", "filename": os.path.basename(filename), "data": data})
        failed = {a: r for a, r in replies.items() if r != "ok"}
        if failed:
            raise RuntimeError(f"upload_file({filename!r}) failed on {len(failed)} worker(s): {failed}")
        return replies

    def restart(self, timeout: float = 60.0) -> "Client":
        """Restart every worker (through its nanny); all futures are cancelled."""
        self._request({"op": "restart", "timeout": timeout}, timeout + 10)
        return self

    def retire_workers(self, workers: Any = None, n: int | None = None) -> list:
        return self._request({"op": "retire-workers", "workers": normalize_workers(workers), "n": n})

    def get_executor(self, **kwargs) -> "ClientExecutor":
        """A :class:`concurrent.futures.Executor` running on this client's cluster."""
        from teem.distributed.client.executor import ClientExecutor
        return ClientExecutor(self, **kwargs)

    @property
    def dashboard_link(self) -> str | None:
        """The web dashboard's status page (None if the scheduler serves none).

        Config ``distributed.dashboard.link`` (as in Dask) rewrites it, for a dashboard
        reached through a proxy: a template with ``{scheme}``, ``{host}``, ``{port}`` and
        environment variables, e.g. ``'{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status'``.
        """
        return dashboard_link_for(self)

    # ------------------------------------------------------------------ closing

    def close(self, timeout: float | None = None) -> None:
        """Disconnect (and close the cluster this Client started itself). Safe to call twice."""
        if self.status in ("closing", "closed"):
            return
        self.status = "closing"
        restorer, self._config_restorer = self._config_restorer, None
        if restorer is not None:
            restorer.__exit__(None, None, None)
        undo, self._gc_undo = self._gc_undo, None
        if undo is not None:
            undo()
        if self._loop.running:
            try:
                self._loop.run(self._disconnect(), 5)
            except Exception:  # closing anyway
                pass
            self._loop.stop()
        if self._callbacks is not None:
            self._callbacks.shutdown(wait=False)
        if self._own_cluster and self.cluster is not None:
            self.cluster.close()
        self.status = "closed"

    async def _disconnect(self) -> None:
        if self._release_timer is not None:
            self._release_timer.cancel()
        if self._to_release and self._comm is not None and not self._comm.closed:
            self._flush_releases()
        if self._pool is not None:
            self._pool.close()
        if self._comm is not None:
            self._comm.close()

    def shutdown(self) -> None:
        """Stop the scheduler and its workers, then close this Client."""
        if self.status == "running":
            try:
                self._request({"op": "shutdown"}, 10)
            except (CommClosedError, TimeoutError, OSError):
                pass
        if self.cluster is not None and hasattr(self.cluster, "close"):
            self.cluster.close()
        self.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "status", None) == "running" and getattr(self, "_loop", None) is not None:
            try:
                self._loop.stop(timeout=0)
            except Exception:
                pass

    def __repr__(self) -> str:
        return client_repr(self)

    def _repr_html_(self) -> str:
        return client_html(self)
