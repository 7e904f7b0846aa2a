"""The worker's network shell: messages in, :class:`WorkerState` events; instructions out, actions.

Theory of operation
-------------------
1. A :class:`Worker` listens (loopback unless told otherwise) for peers and
   clients that ``get-data``, connects to the scheduler, sends
   ``register-worker`` and applies the uploads of the reply before anything
   else (messages that arrive meanwhile wait).  ``docs/protocol.md`` lists
   every message.
2. Every wire batch from the scheduler becomes one
   :meth:`WorkerState.handle` call; requests in it (``put-data``, ``run``,
   ``upload-file``) first flush the events before them.  Instructions become
   actions: ``Run`` executes a task, ``Fetch`` asks a peer for data (one
   pooled connection per peer), ``Release`` deletes values, and messages go
   to the scheduler, coalesced by the connection into one wire message per
   loop turn.
3. Values live in a :class:`SpillBuffer` in the worker's own directory.  A
   value is stored before its event is handled, with its ``sizeof`` measured
   once (on the task's thread when it ran on one).
4. Running: the first task of each function runs on the thread pool.  Once a
   function's mean duration is under a thread hand-off
   (:class:`~.execution.InlinePolicy`), its tasks run on the loop's thread, one
   after another without awaiting, each followed at once by the next the state
   machine picks; the loop gets back control every
   :data:`INLINE_SLICE_SECONDS`.  Threads hand their results back through one
   queue and one wake-up per batch, not one callback per task.
5. Background: a heartbeat every ``heartbeat_interval`` seconds, and the
   memory monitor every :data:`MEMORY_CHECK_SECONDS` (spill, pause, unpause,
   and above the terminate threshold: close with status 1 so that the nanny
   starts a fresh worker).
6. A lost scheduler connection is retried until ``death_timeout`` (None:
   forever).  The worker registers again empty: what it held was
   rescheduled when it left.  Each reset starts a new *generation*; results
   of older generations are dropped when they come back.
7. Closing sets :attr:`Worker.exit_status` (0, 75 to be restarted by the
   nanny, 69 when the scheduler is gone for good, 1 after a memory kill);
   the process entry point (:mod:`~teem.distributed.worker.process`) exits
   with it.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import inspect
import itertools
import logging
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from time import perf_counter
from typing import Any

from teem.core.sizeof import sizeof
from teem.distributed.comm import Comm, CommClosedError, connect, format_address, listen, parse_address
from teem.distributed.logs import LogRing
from teem.distributed.pool import ConnectionPool
from teem.distributed.protocol.messages import Pickled, dumps, dumps_atomic, loads
from teem.distributed.runspec import decode_task
from teem.distributed.security import Security
from teem.distributed.worker import events as ev
from teem.distributed.worker.execution import Functions, InlinePolicy, exception_payload
from teem.distributed.worker.memory import MemoryMonitor, MemoryPolicy, psutil_rss
from teem.distributed.worker.nanny import EXIT_CLOSED, EXIT_ERROR, EXIT_NO_SCHEDULER, EXIT_RESTART
from teem.distributed.worker.spill import SpillBuffer
from teem.distributed.worker.state import WorkerState
from teem.distributed.worker.uploads import install_upload

__all__ = ["Worker"]

logger = logging.getLogger("teem.distributed.worker")

INLINE_SLICE_SECONDS = 0.005   # inline tasks give the loop back this often
MEMORY_CHECK_SECONDS = 0.25
CONNECT_ATTEMPT_SECONDS = 10.0
REGISTER_SECONDS = 30.0

_Run, _Fetch, _Release = ev.Run, ev.Fetch, ev.Release
_Finished, _Erred = ev.TaskFinishedMsg, ev.TaskErredMsg

# Results a client waits for that are at most this large travel with task-finished, through the
# scheduler, to the client: a submit().result() round trip then needs no extra fetch.
SEND_BACK_BYTES = 4096
_ATOMIC_RESULTS = frozenset({int, float, str, bytes, bool, type(None), complex})  # one plain pickle call
_ExecuteSuccess, _ExecuteFailure = ev.ExecuteSuccess, ev.ExecuteFailure
_wall = time.time


class Worker:
    """A worker: runs tasks the scheduler sends, holds their results, serves them to peers.

    Parameters
    ----------
    scheduler_address:
        ``tcp://host:port`` (or ``tls://``) of the scheduler.
    security:
        The cluster's :class:`Security` (its secret; TLS if configured). Default:
        ``Security()``, which reads ``$TEEM_SECRET``.
    nthreads:
        Tasks run at once.
    memory_limit:
        Bytes (None or 0: no limit); spill, pause and terminate thresholds are
        fractions of it (see :class:`MemoryPolicy`).
    name:
        How the scheduler and users name it (default: its address).
    local_directory:
        Where the worker makes its own directory (spilled data, uploaded files);
        default: the system's temporary directory.  Removed on close.
    host, port:
        Where to listen for peers. Default: loopback, any free port.  ``0.0.0.0``
        listens everywhere and advertises the interface that reaches the scheduler.
    heartbeat_interval:
        Seconds between heartbeats (or less, if the scheduler's register reply asks for less).
    death_timeout:
        Seconds to keep trying to reach a scheduler that is gone (None: forever).
    nanny:
        Whether a nanny supervises this worker (told to the scheduler).
    memory_policy:
        Thresholds to use instead of the default :class:`MemoryPolicy` of ``memory_limit``.
    connect_timeout:
        Seconds to reach a peer before the keys asked of it count as missing there.
    validate:
        Check the state machine after every step (tests).

    Example
    -------
    >>> worker = Worker("tcp://127.0.0.1:8786", security=Security(secret=...), nthreads=2)
    >>> await worker.start()
    >>> await worker.finished()   # until closed by the scheduler, close(), or a signal
    """

    def __init__(self, scheduler_address: str, *, security: Security | None = None, nthreads: int = 1,
                 memory_limit: int | None = None, name: str | None = None,
                 local_directory: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 heartbeat_interval: float = 1.0, death_timeout: float | None = None,
                 nanny: bool = False, memory_policy: MemoryPolicy | None = None,
                 connect_timeout: float = 10.0, validate: bool = False):
        parse_address(scheduler_address)  # a malformed address fails here, with its fix
        if nthreads < 1:
            raise ValueError(f"a worker needs at least one thread, not nthreads={nthreads!r}")
        self.scheduler_address = scheduler_address
        self.security = security or Security()
        self._secret = self.security.secret_bytes()  # raises, saying how to pass one
        self.nthreads = int(nthreads)
        self.memory_limit = int(memory_limit) if memory_limit else None
        self.policy = memory_policy or MemoryPolicy(self.memory_limit)
        self._name = name
        self._base_directory = local_directory or tempfile.gettempdir()
        self.host = host
        self.port = port
        self.heartbeat_interval = heartbeat_interval
        self.death_timeout = death_timeout
        self.nanny = nanny
        self.connect_timeout = connect_timeout
        self.validate = validate
        self.id = f"Worker-{uuid.uuid4().hex[:12]}"
        self.address: str | None = None
        self.local_directory: str | None = None
        self.data: SpillBuffer | None = None
        self.state: WorkerState | None = None
        self.exit_status: int | None = None
        self.scheduler: Comm | None = None
        self.memory_monitor: MemoryMonitor | None = None
        self.functions = Functions()
        self.inline = InlinePolicy()
        self._generation = 0
        self._registered = False
        self._early: list = []
        self._closing = False
        self._closed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._pool: ConnectionPool | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._helper: ThreadPoolExecutor | None = None  # memory checks (they may spill to disk)
        self._tasks: set = set()
        self._inline: collections.deque = collections.deque()
        self._finished: list = []  # (key, nbytes, start, stop, thread, small result) to report
        self._draining = False
        self._drain_scheduled = False
        self._done: collections.deque = collections.deque()  # results handed back by threads
        self._send_back: set = set()  # keys a client wants: small results go back with the news
        self._wakeup_pending = False
        self._size_hint: tuple | None = None
        self._thread_local = threading.local()
        self._thread_numbers = itertools.count(1)
        self._client_ssl = None
        self._process = None
        self.logs = LogRing(capacity=500)  # this process's recent log lines, for the dashboard

    @property
    def name(self) -> str:
        return self._name if self._name is not None else (self.address or self.id)

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> "Worker":
        """Listen, connect to the scheduler and register; returns self.

        Raises
        ------
        TimeoutError
            The scheduler could not be reached within ``death_timeout`` seconds.
        AuthenticationError
            The scheduler does not accept this worker's secret.
        """
        self._loop = asyncio.get_running_loop()
        self._closed = asyncio.Event()
        logging.getLogger("teem").addHandler(self.logs)
        os.makedirs(self._base_directory, exist_ok=True)
        self.local_directory = tempfile.mkdtemp(prefix="worker-", dir=self._base_directory)
        try:
            self.data = SpillBuffer(os.path.join(self.local_directory, "storage"),
                                    target=self.policy.target_bytes, sizeof=self._sizeof)
            self.memory_monitor = MemoryMonitor(self.policy, self.data)
            self._executor = ThreadPoolExecutor(self.nthreads, thread_name_prefix="teem-task",
                                                initializer=self._number_thread)
            contexts = self.security.get_ssl_context("worker")
            server_ctx, self._client_ssl = contexts if contexts else (None, None)
            scheme = "tls" if server_ctx is not None else "tcp"
            self._server, bound = await listen(
                f"{scheme}://{self.host}:{self.port}", self._secret, on_connect=_ignore,
                on_message=self._on_peer_messages, on_close=_ignore, ssl_context=server_ctx)
            self.address = self._advertised(bound)
            self._pool = ConnectionPool(self._secret, self._client_ssl, timeout=self.connect_timeout)
            self._new_generation()
            await self._connect_and_register(self.death_timeout)
        except BaseException:
            await self._teardown()
            raise
        self._spawn(self._heartbeats())
        if self.policy.memory_limit:
            self._spawn(self._watch_memory())
        logger.info("worker %s at %s (%d threads, memory limit %s) joined %s", self.name, self.address,
                    self.nthreads, self.memory_limit or "none", self.scheduler_address)
        return self

    async def finished(self) -> None:
        """Wait until the worker has closed."""
        await self._closed.wait()

    async def close(self, reason: str = "closed", *, restart: bool = False,
                    status: int | None = None) -> None:
        """Stop: drop connections, running work and data; then :meth:`finished` returns.

        ``exit_status`` becomes ``status`` if given, else 75 with ``restart``
        (the nanny starts a fresh worker), else 0.
        """
        if self._closing:
            if self._closed is not None:
                await self._closed.wait()
            return
        self._closing = True
        self.exit_status = status if status is not None else (EXIT_RESTART if restart else EXIT_CLOSED)
        logger.info("worker %s closing (%s)", self.address, reason)
        await self._teardown()

    async def _teardown(self) -> None:
        self._closing = True
        logging.getLogger("teem").removeHandler(self.logs)
        self._generation += 1
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()
        if self._server is not None:
            self._server.close()
        if self.scheduler is not None:
            self.scheduler.close()
        if self._pool is not None:
            self._pool.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        if self._helper is not None:
            self._helper.shutdown(wait=False, cancel_futures=True)
        self._inline.clear()
        if self.data is not None:
            self.data.close()
        if self.local_directory is not None:
            shutil.rmtree(self.local_directory, ignore_errors=True)
        if self._closed is not None:
            self._closed.set()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("worker %s: internal task failed", self.address, exc_info=task.exception())

    def _advertised(self, bound: str) -> str:
        """The address peers should use: ``bound``, or for a wildcard host, the way to the scheduler."""
        scheme, host, port = parse_address(bound)
        if host not in ("0.0.0.0", "::", ""):
            return bound
        _, scheduler_host, scheduler_port = parse_address(self.scheduler_address)
        try:
            with socket.socket(socket.AF_INET6 if ":" in scheduler_host else socket.AF_INET,
                               socket.SOCK_DGRAM) as s:
                s.connect((scheduler_host, scheduler_port))  # no packet is sent
                host = s.getsockname()[0]
        except OSError:
            host = socket.gethostname()
        return format_address(scheme, host, port)

    # ------------------------------------------------------------------ the scheduler connection

    async def _connect_and_register(self, timeout: float | None) -> None:
        """Connect to the scheduler (retrying for ``timeout`` seconds; None: forever) and register."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            left = CONNECT_ATTEMPT_SECONDS if deadline is None else max(deadline - loop.time(), 0.01)
            try:
                comm = await connect(self.scheduler_address, self._secret,
                                     on_message=self._on_scheduler_messages,
                                     on_close=self._on_scheduler_closed, ssl_context=self._client_ssl,
                                     timeout=min(left, CONNECT_ATTEMPT_SECONDS))
            except TimeoutError:
                if deadline is not None and loop.time() >= deadline:
                    raise TimeoutError(
                        f"worker {self.address}: no scheduler at {self.scheduler_address} for "
                        f"{timeout:g} s (death timeout). Is it running, and is the address "
                        "right?") from None
                logger.warning("worker %s: no scheduler at %s yet; still trying", self.address,
                               self.scheduler_address)
                continue
            self._registered = False
            self._early = []
            self.scheduler = comm
            try:
                reply = await comm.request({
                    "op": "register-worker", "address": self.address, "name": self.name,
                    "nthreads": self.nthreads, "memory_limit": self.memory_limit, "pid": os.getpid(),
                    "local_directory": self.local_directory, "nanny": self.nanny},
                    timeout=REGISTER_SECONDS)
            except (CommClosedError, OSError) as exc:  # (TimeoutError is an OSError)
                comm.close()
                if deadline is not None and loop.time() >= deadline:
                    raise TimeoutError(
                        f"worker {self.address}: the scheduler at {self.scheduler_address} did not "
                        f"accept the registration within {timeout:g} s (death timeout): "
                        f"{type(exc).__name__}: {exc}") from None
                logger.warning("worker %s: registering with %s failed (%r); trying again",
                               self.address, self.scheduler_address, exc)
                await asyncio.sleep(0.1)
                continue
            reply = reply or {}
            for filename, content in reply.get("uploads") or ():
                try:
                    install_upload(self.local_directory, filename, content)
                except Exception:
                    logger.exception("worker %s: cannot install uploaded file %r", self.address, filename)
            interval = reply.get("heartbeat_interval")
            if interval:  # the scheduler may want them more often (its timeout is its own)
                self.heartbeat_interval = min(self.heartbeat_interval, float(interval))
            self._registered = True
            early, self._early = self._early, []
            if early and not comm.closed:
                self._on_scheduler_messages(comm, early)
            return

    def _on_scheduler_closed(self, comm: Comm) -> None:
        if comm is not self.scheduler or self._closing:
            return
        self.scheduler = None
        if not self._registered:
            return  # _connect_and_register sees the failure itself
        self._registered = False
        logger.warning("worker %s: lost the scheduler at %s; reconnecting (death timeout: %s)",
                       self.address, self.scheduler_address,
                       "none" if self.death_timeout is None else f"{self.death_timeout:g} s")
        self._new_generation()
        self._spawn(self._reconnect())

    async def _reconnect(self) -> None:
        try:
            await self._connect_and_register(self.death_timeout)
        except TimeoutError as exc:
            logger.error("%s: closing", exc)
            await self.close("the scheduler is gone", status=EXIT_NO_SCHEDULER)
        except Exception as exc:  # refused: wrong secret, or the registration itself
            logger.error("worker %s: cannot register again with %s: %s: %s", self.address,
                         self.scheduler_address, type(exc).__name__, exc)
            await self.close("the scheduler refused this worker", status=EXIT_NO_SCHEDULER)
        else:
            logger.info("worker %s: registered again with %s", self.address, self.scheduler_address)

    def _new_generation(self) -> None:
        """Start empty: new state, no data; work still out belongs to the old generation."""
        self._generation += 1
        self.state = WorkerState(self.address, self.nthreads, validate=self.validate)
        self._inline.clear()
        self._finished.clear()
        for key in list(self.data):
            try:
                del self.data[key]
            except KeyError:
                pass
        if self.memory_monitor is not None and self.memory_monitor.paused:
            self.state.handle(ev.Pause())

    def _send(self, msg: dict) -> None:
        if self._finished:  # reports keep their order: finished tasks first
            self._send_finished()
        comm = self.scheduler
        if comm is not None and not comm.closed:
            comm.send(msg)

    # ------------------------------------------------------------------ messages -> events

    def _on_scheduler_messages(self, comm: Comm, msgs) -> None:
        if comm is not self.scheduler or self._closing:
            return
        if not self._registered:
            self._early.extend(msgs)  # after the uploads of the register reply
            return
        events: list = []
        for msg in msgs:
            op = msg.get("op")
            try:
                if op == "execute":
                    functions = msg.get("functions")
                    if functions:
                        self.functions.add(functions)
                    events.append(ev.Compute(msg["tasks"]))
                    wanted = msg.get("wanted")
                    if wanted:
                        self._send_back.update(wanted)
                    continue
                if op == "free-keys":
                    events.append(ev.FreeKeys(tuple(msg["keys"])))
                    self._send_back.difference_update(msg["keys"])
                    continue
            except (KeyError, TypeError) as exc:
                logger.warning("worker %s: malformed %r message: %r", self.address, op, exc)
                continue
            if events:  # a request sees the effect of the messages before it
                self._handle(*events)
                events = []
            if op == "put-data":
                self._put_data(comm, msg)
            elif op == "close":
                restart = bool(msg.get("restart"))
                self._spawn(self.close(str(msg.get("reason") or "told to by the scheduler"),
                                       restart=restart))
                return
            elif op == "get-data":
                self._get_data(comm, msg)
            elif op == "run":
                self._spawn(self._run_function(comm, msg))
            elif op == "upload-file":
                self._upload_file(comm, msg)
            elif op == "get-logs":
                comm.reply(msg, result=self.logs.lines()[-int(msg.get("n") or 200):])
            else:
                logger.warning("worker %s: unknown op %r from the scheduler; ignored", self.address, op)
                if "rid" in msg:
                    _reply_error(comm, msg, ValueError(f"unknown op {op!r}"))
        if events:
            self._handle(*events)

    def _on_peer_messages(self, comm: Comm, msgs) -> None:
        for msg in msgs:
            op = msg.get("op")
            if op == "get-data":
                self._get_data(comm, msg)
            elif "rid" in msg:
                _reply_error(comm, msg, ValueError(
                    f"a worker's listener answers get-data only, not {op!r}"))

    # ------------------------------------------------------------------ instructions -> actions

    def _handle(self, *events) -> None:
        if self._closing:
            return
        self._apply(self.state.handle(*events))
        if self._inline and not self._draining:
            self._drain()
        elif self._finished:  # reported now, with whatever else this input caused
            self._send_finished()

    def _apply(self, instructions: list) -> None:
        send = self._send
        for inst in instructions:
            kind = type(inst)
            if kind is _Run:
                fid = inst.run_spec[0]
                if self.inline.inline(fid):
                    self._inline.append(inst)
                else:
                    self._executor.submit(self._run_in_thread, inst.key, inst.run_spec, self._generation)
            elif kind is _Finished:
                data = None
                if inst.key in self._send_back:
                    self._send_back.discard(inst.key)
                    if inst.nbytes <= SEND_BACK_BYTES:
                        data = self._small_result(inst.key)
                if not self._finished:
                    self._loop.call_soon(self._send_finished)
                self._finished.append((inst.key, inst.nbytes, inst.start, inst.stop, inst.thread, data))
            elif kind is _Release:
                data = self.data
                for key in inst.keys:
                    try:
                        del data[key]
                    except KeyError:
                        pass
            elif kind is _Erred:
                self._send_back.discard(inst.key)
                send({"op": "task-erred", "key": inst.key, "exception": inst.exception,
                      "traceback": inst.traceback, "duration": inst.stop - inst.start,
                      "start": inst.start, "stop": inst.stop, "thread": inst.thread})
            elif kind is _Fetch:
                self._spawn(self._fetch(inst.holder, inst.keys, self._generation))
            elif kind is ev.AddReplicasMsg:
                send({"op": "add-replicas", "keys": inst.keys, "nbytes": inst.nbytes})
            elif kind is ev.MissingDataMsg:
                send({"op": "missing-data", "key": inst.key, "holder": inst.holder})
            else:  # pragma: no cover - a new instruction type without an action
                raise TypeError(f"worker: no action for {inst!r}")

    # ------------------------------------------------------------------ running tasks

    def _sizeof(self, value) -> int:
        """The SpillBuffer's sizeof: the size measured just before storing, if it is this value."""
        hint = self._size_hint
        if hint is not None and hint[0] is value:
            self._size_hint = None
            return hint[1]
        return sizeof(value)

    def _store(self, key, value, nbytes: int) -> None:
        self._size_hint = (value, nbytes)
        self.data[key] = value
        self._size_hint = None

    def _drain(self) -> None:
        """Run the tasks queued to run here, each followed by the state machine's next decision."""
        self._drain_scheduled = False
        if self._draining or self._closing:
            return
        self._draining = True
        try:
            queue = self._inline
            deadline = perf_counter() + INLINE_SLICE_SECONDS
            while queue:
                inst = queue.popleft()
                event = self._run_here(inst.key, inst.run_spec)
                self._apply(self.state.handle(event))
                if perf_counter() > deadline and queue:
                    if not self._drain_scheduled:
                        self._drain_scheduled = True
                        self._loop.call_soon(self._drain)
                    break
        finally:
            self._draining = False
        if self._finished:
            self._send_finished()

    def _small_result(self, key) -> list | None:
        """A small result's frames, to travel with its task-finished entry (no fetch needed)."""
        try:
            value = self.data[key]
            frames = dumps_atomic(value) if type(value) in _ATOMIC_RESULTS else dumps(value)
        except Exception:  # unpicklable or gone: the client fetches it (and gets the error) later
            return None
        return frames if sum(map(len, frames)) <= SEND_BACK_BYTES else None

    def _send_finished(self) -> None:
        """Report the tasks finished since the last report, in one message of tuples.

        One tuple per task rather than one map: a map costs the scheduler several times more
        to decode, and a map of 100,000 tasks reports 100,000 of them.
        """
        finished, self._finished = self._finished, []
        if finished:
            comm = self.scheduler
            if comm is not None and not comm.closed:
                # small: results ride along only up to SEND_BACK_BYTES, so nothing to look for
                comm.send({"op": "tasks-finished", "tasks": finished}, small=True)

    def _run_here(self, key, run_spec):
        """Run one task on the loop's thread; return its ExecuteSuccess or ExecuteFailure."""
        fid = run_spec[0]
        start = _wall()
        t0 = perf_counter()
        try:
            task = decode_task(key, run_spec, self.functions)
            t0 = perf_counter()  # the function's own time decides where its tasks run
            value = task(self.data)
        except Exception as exc:
            seconds = perf_counter() - t0
            if fid is not None:
                self.inline.measured(fid, seconds)
            frames, text = exception_payload(exc, internal_files=(__file__,))
            return _ExecuteFailure(key, frames, text, start, start + seconds, 0)
        seconds = perf_counter() - t0
        if fid is not None:
            self.inline.measured(fid, seconds)
        nbytes = sizeof(value)
        self._store(key, value, nbytes)
        return _ExecuteSuccess(key, nbytes, start, start + seconds, 0)

    def _number_thread(self) -> None:
        self._thread_local.number = next(self._thread_numbers)

    def _run_in_thread(self, key, run_spec, generation: int) -> None:
        """On a pool thread: run one task, measure it, and hand the outcome to the loop."""
        start = _wall()
        t0 = perf_counter()
        try:
            task = decode_task(key, run_spec, self.functions)
            t0 = perf_counter()
            value = task(self.data)
        except BaseException as exc:
            seconds = perf_counter() - t0
            frames, text = exception_payload(exc, internal_files=(__file__,))
            outcome = (generation, run_spec[0], seconds, key, None, None, frames, text, start,
                       self._thread_local.number)
        else:
            seconds = perf_counter() - t0
            outcome = (generation, run_spec[0], seconds, key, value, sizeof(value), None, None, start,
                       self._thread_local.number)
        self._done.append(outcome)
        if not self._wakeup_pending:
            self._wakeup_pending = True
            try:
                self._loop.call_soon_threadsafe(self._collect)
            except RuntimeError:  # the loop is closed: the worker is gone
                pass

    def _collect(self) -> None:
        """On the loop: take every outcome the threads handed back, in one state machine step."""
        self._wakeup_pending = False
        done = self._done
        events = []
        generation = self._generation
        while done:
            gen, fid, seconds, key, value, nbytes, frames, text, start, thread = done.popleft()
            if gen != generation or self._closing:
                continue
            if fid is not None:
                self.inline.measured(fid, seconds)
            if frames is None:
                self._store(key, value, nbytes)
                events.append(_ExecuteSuccess(key, nbytes, start, start + seconds, thread))
            else:
                events.append(_ExecuteFailure(key, frames, text, start, start + seconds, thread))
        if events:
            self._handle(*events)

    # ------------------------------------------------------------------ data between workers

    async def _fetch(self, holder: str, keys: tuple, generation: int) -> None:
        """Get ``keys`` from the worker at ``holder``; store them; tell the state machine."""
        try:
            comm = await self._pool.get(holder)
            reply = await comm.request({"op": "get-data", "keys": list(keys)})
        except Exception as exc:  # unreachable, connection lost, or the peer failed to answer
            logger.info("worker %s: fetching %d keys from %s failed: %s", self.address, len(keys),
                        holder, exc)
            event = ev.FetchFailed(holder, keys)
        else:
            nbytes = {}
            if generation == self._generation and not self._closing:
                for key, frames in (reply or {}).items():
                    try:
                        value = loads(list(frames))
                    except Exception as exc:
                        logger.error("worker %s: cannot unpickle %r fetched from %s: %s",
                                     self.address, key, holder, exc)
                        continue
                    n = sizeof(value)
                    self._store(key, value, n)
                    nbytes[key] = n
            event = ev.FetchDone(holder, keys, nbytes)
        if generation == self._generation and not self._closing:
            self._handle(event)

    def _get_data(self, comm: Comm, msg: dict) -> None:
        out = {}
        data = self.data
        for key in msg.get("keys") or ():
            try:
                value = data[key]
            except KeyError:
                continue
            try:
                out[key] = dumps(value)
            except Exception as exc:
                logger.error("worker %s: cannot send %r to %s: %s", self.address, key, comm.peer, exc)
        comm.reply(msg, result=out)

    def _put_data(self, comm: Comm, msg: dict) -> None:
        keys, sizes = [], []
        try:
            for key, frames in dict(msg["data"]).items():
                value = loads(list(frames))
                n = sizeof(value)
                self._store(key, value, n)
                keys.append(key)
                sizes.append(n)
        except Exception as exc:
            _reply_error(comm, msg, exc)
            return
        finally:
            if keys:
                self._handle(ev.PutData(tuple(keys), tuple(sizes)))
        comm.reply(msg, result=dict(zip(keys, sizes)))

    # ------------------------------------------------------------------ requests

    async def _run_function(self, comm: Comm, msg: dict) -> None:
        """``run``: call a function here (on the loop's executor; awaited if a coroutine function)."""
        try:
            function, args, kwargs = loads(list(msg["function"]))
            kwargs = dict(kwargs or {})
            try:
                parameters = inspect.signature(function).parameters
            except (TypeError, ValueError):
                parameters = {}
            for name in ("dask_worker", "teem_worker"):
                if name in parameters:
                    kwargs[name] = self
            if inspect.iscoroutinefunction(function):
                result = await function(*args, **kwargs)
            else:
                result = await asyncio.get_running_loop().run_in_executor(
                    None, functools.partial(function, *args, **kwargs))
            answer = ("ok", dumps(result))
        except Exception as exc:
            frames, text = exception_payload(exc, internal_files=(__file__,))
            answer = ("error", frames, text)
        if not comm.closed:
            comm.reply(msg, result=answer)

    def _upload_file(self, comm: Comm, msg: dict) -> None:
        try:
            install_upload(self.local_directory, msg["filename"], msg["data"])
        except Exception as exc:
            logger.warning("worker %s: upload of %r failed: %r", self.address, msg.get("filename"), exc)
            _reply_error(comm, msg, exc)
            return
        comm.reply(msg, result=None)

    # ------------------------------------------------------------------ background

    def metrics(self) -> dict:
        """What heartbeats carry: process memory, data in memory and on disk, cpu, task counts."""
        if self._process is None:
            import psutil

            self._process = psutil.Process()
            self._process.cpu_percent(None)  # starts the measurement
        state = self.state
        return {"memory": psutil_rss(), "managed": self.data.fast_bytes, "spilled": self.data.slow_bytes,
                "cpu": self._process.cpu_percent(None), "executing": state.executing,
                "ready": state.nready, "paused": state.paused}

    async def _heartbeats(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.heartbeat_interval)
            if self._registered:
                self._send({"op": "heartbeat", "metrics": self.metrics()})

    async def _watch_memory(self) -> None:
        loop = asyncio.get_running_loop()
        self._helper = ThreadPoolExecutor(1, thread_name_prefix="teem-memory")
        while not self._closing:
            await asyncio.sleep(MEMORY_CHECK_SECONDS)
            decision = await loop.run_in_executor(self._helper, self.memory_monitor.check)
            if self._closing:
                return
            if decision.terminate:
                logger.error("worker %s: %s; exiting so that a fresh worker starts", self.address,
                             decision.message)
                await self.close("memory over the terminate threshold", status=EXIT_ERROR)
                return
            if decision.pause or decision.unpause:
                logger.warning("worker %s: %s", self.address, decision.message)
                self._handle(ev.Pause() if decision.pause else ev.Unpause())
            elif decision.evict_bytes:
                logger.info("worker %s: %s", self.address, decision.message)


def _ignore(comm: Comm) -> None:
    pass


def _reply_error(comm: Comm, msg: dict, exc: BaseException) -> None:
    """Answer a request with ``exc`` (pickled; a RuntimeError naming it if it cannot be)."""
    try:
        dumps(exc)
        error: Any = exc
    except Exception:
        error = RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")
    comm.reply(msg, error=Pickled(error))
