"""The scheduler's network shell: messages in, :class:`SchedulerState` events; instructions out, messages.

Theory of operation
-------------------
1. The shell listens (loopback unless told otherwise) for authenticated
   connections (:mod:`teem.distributed.comm`).  A connection becomes a client's
   or a worker's when it sends ``register-client`` or ``register-worker``;
   see ``docs/protocol.md`` for every message.
2. One wire batch from a peer becomes one :meth:`SchedulerState.handle` call
   with all the events in it, so a busy client or worker costs one decision
   step per batch, not per message.  Requests in the batch first flush the
   events before them, so they see their effects.
3. Instructions become sends: ``Execute`` carries the pickled functions the
   worker has not received yet (each function travels once per worker);
   ``Report`` tells clients where results are, so they fetch them from the
   workers directly; scheduler-made errors are turned into exceptions here.
4. The scheduler never unpickles user objects: run specs, results and task
   exceptions pass through as opaque frames.
5. Time: a ``Tick`` every ``tick_interval`` seconds lets the state machine
   drop workers whose heartbeats stopped.
6. Watching: every ``tasks-finished`` list is handed to :class:`Activity` (one append per
   message); the dashboard (``dashboard_address``), ``teem top`` (``status`` request) and
   performance reports (``start-recording``/``stop-recording``) read it and the state.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import time
import uuid
from typing import Any

from teem.distributed import shm
from teem.distributed.comm import Comm, CommClosedError, listen, parse_address
from teem.distributed.dashboard.activity import Activity
from teem.distributed.dashboard.views import status_document
from teem.distributed.errors import scheduler_error
from teem.distributed.pool import ConnectionPool
from teem.distributed.protocol.messages import OUT_OF_BAND_BYTES, Pickled, dumps
from teem.distributed.scheduler import events as ev
from teem.distributed.scheduler.records import prefix_of
from teem.distributed.scheduler.state import SchedulerState
from teem.distributed.security import (Security, forget_secret, new_secret, remember_secret,
                                       write_scheduler_file)

__all__ = ["Scheduler"]

logger = logging.getLogger("teem.distributed.scheduler")

HEARTBEAT_INTERVAL = 1.0


class Scheduler:
    """The scheduler process's server.

    Parameters
    ----------
    security:
        The cluster's :class:`Security` (its secret, optional TLS); default: a new secret.
    host, port:
        Where to listen. Default: loopback, any free port.
    scheduler_file:
        Write ``{"address", "secret", "id", ...}`` there (mode 0600) once listening.
    heartbeat_timeout:
        Seconds of silence after which a worker is considered gone.
    remember:
        Store the secret under ``~/.config/teem/clusters`` so that ``Client(address)``
        run by the same user on this machine finds it.
    dashboard_address:
        Serve the web dashboard there: ``':8787'`` (the next free port if taken) on the
        scheduler's interface, ``'HOST:PORT'``, or None (default) for no dashboard.
    """

    def __init__(self, *, security: Security | None = None, host: str = "127.0.0.1", port: int = 0,
                 scheduler_file: str | None = None, heartbeat_timeout: float = 10.0,
                 tick_interval: float = 1.0, allowed_failures: int = 3, remember: bool = False,
                 validate: bool = False, dashboard_address=None):
        self.security = security or Security()
        if not self.security.secret:  # a new cluster gets a new secret
            self.security.secret = new_secret()
        self.host = host
        self.port = port
        self.scheduler_file = scheduler_file
        self.tick_interval = tick_interval
        self.remember = remember
        self.id = f"Scheduler-{uuid.uuid4().hex[:12]}"
        self.started = time.time()
        self.address: str | None = None
        self._state_options = dict(heartbeat_timeout=heartbeat_timeout, allowed_failures=allowed_failures,
                                   validate=validate)
        self.state = SchedulerState(**self._state_options)
        self.activity = Activity()
        self.dashboard_address = dashboard_address
        self.dashboard = None                        # the Dashboard once serving
        self.clients: dict[str, Comm] = {}
        self.workers: dict[str, Comm] = {}           # address -> connection
        self.worker_info: dict[str, dict] = {}       # address -> what it said when registering
        self.functions: dict[str, Any] = {}          # fid -> pickled function frames
        self._functions_sent: dict[str, set] = {}    # worker address -> fids it has
        self.uploads: dict[str, bytes] = {}          # filename -> content, for workers joining later
        self._passing: dict = {}                     # key -> small result frames, for one batch
        self._server = None
        self._pool: ConnectionPool | None = None
        self._closed: asyncio.Event | None = None
        self._tasks: set = set()
        self._scatter_counter = itertools.count()
        self._handlers = {
            "update-graph": self._update_graph, "release-keys": self._release_keys,
            "cancel-keys": self._cancel_keys, "task-finished": self._task_finished,
            "tasks-finished": self._tasks_finished,
            "task-erred": self._task_erred, "add-replicas": self._add_replicas,
            "missing-data": self._missing_data, "heartbeat": self._heartbeat,
        }
        self._requests = {
            "register-client": self._register_client, "register-worker": self._register_worker,
            "who-has": self._who_has, "scheduler-info": self._scheduler_info,
            "gather": self._gather, "scatter": self._scatter, "run": self._run,
            "upload-file": self._upload_file, "retire-workers": self._retire_workers,
            "restart": self._restart, "shutdown": self._shutdown, "identity": self._scheduler_info,
            "status": self._status, "start-recording": self._start_recording,
            "stop-recording": self._stop_recording,
        }

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> "Scheduler":
        """Listen, write the scheduler file, and start the clock; returns self."""
        self._closed = asyncio.Event()
        shm.remove_orphans()  # shared-memory files of teem processes that died
        contexts = self.security.get_ssl_context("scheduler")
        server_ctx, client_ctx = contexts if contexts else (None, None)
        scheme = "tls" if server_ctx is not None else "tcp"
        secret = self.security.secret_bytes()
        self._server, self.address = await listen(
            f"{scheme}://{self.host}:{self.port}", secret, on_connect=self._on_connect,
            on_message=self._on_message, on_close=self._on_close, ssl_context=server_ctx)
        self._pool = ConnectionPool(secret, client_ctx)
        if self.dashboard_address is not None:
            await self._start_dashboard()
        if self.scheduler_file:
            write_scheduler_file(self.scheduler_file, self.file_info())
        if self.remember:
            remember_secret(self.address, self.security.secret)
        self._spawn(self._clock())
        logger.info("scheduler at %s", self.address)
        return self

    async def _start_dashboard(self) -> None:
        """Serve the dashboard; a scheduler without one is still a scheduler (warn, go on)."""
        from teem.distributed.dashboard.service import Dashboard, bind_dashboard, parse_dashboard_address
        where = parse_dashboard_address(self.dashboard_address, parse_address(self.address)[1])
        if where is None:
            return
        try:
            sock = bind_dashboard(*where)
        except OSError as exc:
            logger.warning("no dashboard: %s", exc)
            return
        if where[1] and sock.getsockname()[1] != where[1]:
            logger.warning("port %d is taken: the dashboard is at port %d instead", where[1],
                           sock.getsockname()[1])
        self.dashboard = Dashboard(self, sock)
        await self.dashboard.start()
        logger.info("dashboard at %s", self.dashboard.link)

    @property
    def services(self) -> dict:
        return {"dashboard": self.dashboard.port} if self.dashboard is not None else {}

    @property
    def dashboard_link(self) -> str | None:
        return self.dashboard.link if self.dashboard is not None else None

    def file_info(self) -> dict:
        """What the scheduler file holds: enough for a client or worker to connect."""
        info = {"type": "Scheduler", "id": self.id, "address": self.address,
                "secret": self.security.secret, "pid": os.getpid(), "started": self.started,
                "services": self.services, "dashboard": self.dashboard_link}
        tls = {k: v for k, v in self.security.to_dict().items() if k != "secret" and v}
        if tls:
            info["security"] = tls
        return info

    async def finished(self) -> None:
        """Wait until the scheduler has closed."""
        await self._closed.wait()

    async def close(self) -> None:
        """Stop listening and drop every connection (workers are not told to stop)."""
        if self._closed is None or self._closed.is_set():
            return
        for task in list(self._tasks):
            task.cancel()
        if self.dashboard is not None:
            await self.dashboard.close()
        if self._server is not None:
            self._server.close()
        for comm in [*self.clients.values(), *self.workers.values()]:
            comm.close()
        if self._pool is not None:
            self._pool.close()
        if self.remember and self.address:
            forget_secret(self.address)
        if self.scheduler_file:
            try:
                os.unlink(self.scheduler_file)
            except OSError:
                pass
        self._closed.set()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("scheduler task failed", exc_info=task.exception())

    async def _clock(self) -> None:
        while True:
            await asyncio.sleep(self.tick_interval)
            self._apply(self.state.handle(ev.Tick(time.monotonic())))

    # ------------------------------------------------------------------ connections

    def _on_connect(self, comm: Comm) -> None:
        comm.info["role"] = None

    def _on_close(self, comm: Comm) -> None:
        role = comm.info.get("role")
        now = time.monotonic()
        if role == "worker":
            address = comm.info["address"]
            if self.workers.get(address) is comm:
                del self.workers[address]
                self.worker_info.pop(address, None)
                self._functions_sent.pop(address, None)
                self._apply(self.state.handle(ev.RemoveWorker(address, now, "connection lost")))
        elif role == "client":
            client = comm.info["client"]
            if self.clients.get(client) is comm:
                del self.clients[client]
                self.activity.drop_recordings_of(client)
                self._apply(self.state.handle(ev.RemoveClient(client, now)))

    def _on_message(self, comm: Comm, msgs: list) -> None:
        events: list = []
        handlers = self._handlers
        for msg in msgs:
            op = msg.get("op")
            handler = handlers.get(op)
            if handler is not None:
                try:
                    event = handler(comm, msg)
                except (KeyError, TypeError, ValueError) as exc:
                    logger.warning("malformed %r message from %s: %r", op, comm.peer, exc)
                    continue
                if type(event) is list:
                    events.extend(event)
                elif event is not None:
                    events.append(event)
                continue
            request = self._requests.get(op)
            if request is None:
                logger.warning("unknown op %r from %s; ignored", op, comm.peer)
                continue
            if events:
                self._apply(self.state.handle(*events))
                events = []
            self._spawn(self._answer(comm, msg, request))
        if events:
            self._apply(self.state.handle(*events))
        self._passing.clear()

    async def _answer(self, comm: Comm, msg: dict, request) -> None:
        try:
            result = request(comm, msg)
            if asyncio.iscoroutine(result):
                result = await result
        except Exception as exc:  # the requester gets the error; the scheduler carries on
            logger.info("request %r from %s failed: %r", msg.get("op"), comm.peer, exc)
            error = exc if isinstance(exc, (TimeoutError, ValueError, KeyError)) \
                else RuntimeError(f"{type(exc).__name__}: {exc}")
            comm.reply(msg, error=Pickled(error))
            return
        comm.reply(msg, result=result)

    def _worker_of(self, comm: Comm) -> str:
        if comm.info.get("role") != "worker":
            raise ValueError("only a registered worker may send this")
        return comm.info["address"]

    def _client_of(self, comm: Comm) -> str:
        if comm.info.get("role") != "client":
            raise ValueError("only a registered client may send this")
        return comm.info["client"]

    # ------------------------------------------------------------------ stream messages -> events

    def _update_graph(self, comm: Comm, msg: dict) -> ev.Event:
        client = self._client_of(comm)
        functions = msg.get("functions")
        if functions:
            self.functions.update(functions)
        TaskSpec = ev.TaskSpec
        tasks = tuple(TaskSpec(key, tuple(deps), run_spec, tuple(priority), retries,
                               tuple(workers) if workers else None)
                      for key, deps, run_spec, priority, retries, workers in msg.get("tasks", ()))
        return ev.UpdateGraph(client, tasks, tuple(msg.get("wanted", ())), time.monotonic())

    def _release_keys(self, comm: Comm, msg: dict) -> ev.Event:
        return ev.ReleaseKeys(self._client_of(comm), tuple(msg["keys"]), time.monotonic())

    def _cancel_keys(self, comm: Comm, msg: dict) -> ev.Event:
        return ev.CancelKeys(self._client_of(comm), tuple(msg["keys"]), time.monotonic())

    def _task_finished(self, comm: Comm, msg: dict) -> ev.Event:
        data = msg.get("data")
        if data is not None:  # a small wanted result: passed on to the clients, not kept
            self._passing[msg["key"]] = data
        return ev.TaskFinished(self._worker_of(comm), msg["key"], msg.get("nbytes", 0),
                               msg.get("duration", 0.0), time.monotonic())

    def _tasks_finished(self, comm: Comm, msg: dict) -> list:
        worker = self._worker_of(comm)
        now = time.monotonic()
        passing = self._passing
        TaskFinished = ev.TaskFinished
        events = []
        tasks = msg["tasks"]
        for key, nbytes, start, stop, _thread, data in tasks:
            if data is not None:  # a small wanted result: passed on to the clients, not kept
                passing[key] = data
            events.append(TaskFinished(worker, key, nbytes, stop - start, now))
        self.activity.finished(worker, tasks)
        return events

    def _task_erred(self, comm: Comm, msg: dict) -> ev.Event:
        worker = self._worker_of(comm)
        duration = float(msg.get("duration") or 0.0)
        now = time.time()
        self.activity.erred(worker, msg["key"], now - duration, now)
        return ev.TaskErred(worker, msg["key"], msg.get("exception"),
                            msg.get("traceback"), duration, time.monotonic())

    def _add_replicas(self, comm: Comm, msg: dict) -> ev.Event:
        return ev.AddReplicas(self._worker_of(comm), tuple(msg["keys"]), tuple(msg["nbytes"]),
                              time.monotonic())

    def _missing_data(self, comm: Comm, msg: dict) -> ev.Event:
        return ev.MissingData(self._worker_of(comm), msg["key"], msg["holder"], time.monotonic())

    def _heartbeat(self, comm: Comm, msg: dict) -> ev.Event:
        address = self._worker_of(comm)
        info = self.worker_info.get(address)
        if info is not None:
            info["last_seen"] = time.time()
        metrics = msg.get("metrics") or {}
        if self.activity.recordings:
            self.activity.heartbeat(time.time(), address, metrics)
        return ev.Heartbeat(address, time.monotonic(), metrics)

    # ------------------------------------------------------------------ instructions -> messages

    def _apply(self, instructions: list) -> None:
        workers, clients = self.workers, self.clients
        for inst in instructions:
            kind = type(inst)
            if kind is ev.Execute:
                comm = workers.get(inst.worker)
                if comm is None or comm.closed:
                    continue
                functions = self._functions_for(inst.worker, inst.tasks)
                comm.send({"op": "execute", "functions": functions,
                           "tasks": [(t.key, t.run_spec, t.who_has, t.nbytes, t.priority)
                                     for t in inst.tasks],
                           "wanted": [t.key for t in inst.tasks if t.wanted]},
                          small=_all_small(inst.tasks, functions))
            elif kind is ev.Report:
                comm = clients.get(inst.client)
                if comm is None or comm.closed:
                    continue
                updates = [self._update(u) for u in inst.updates]
                comm.send({"op": "key-updates", "updates": updates},
                          small=all(u[1] != "erred" for u in updates))
            elif kind is ev.FreeKeys:
                self._send_worker(inst.worker, {"op": "free-keys", "keys": inst.keys})
            elif kind is ev.CloseWorker:
                # Removed by the state machine (heartbeat timeout, retired): a nanny restarts a
                # hung worker, a retired one stops for good.
                self._send_worker(inst.worker, {"op": "close", "reason": inst.reason,
                                                "restart": inst.reason != "retired"})
                comm = workers.pop(inst.worker, None)
                self.worker_info.pop(inst.worker, None)
                if comm is not None:
                    asyncio.get_running_loop().call_later(1.0, comm.close)

    def _send_worker(self, address: str, msg: dict) -> None:
        comm = self.workers.get(address)
        if comm is not None and not comm.closed:
            comm.send(msg)

    def _functions_for(self, worker: str, tasks: tuple) -> dict:
        sent = self._functions_sent.setdefault(worker, set())
        out = {}
        for t in tasks:
            fid = t.run_spec[0] if t.run_spec else None
            if fid is not None and fid not in sent:
                sent.add(fid)
                frames = self.functions.get(fid)
                if frames is not None:
                    out[fid] = frames
        return out

    def _update(self, u: ev.KeyUpdate) -> tuple:
        if u.status == "memory":
            ts = self.state.tasks.get(u.key)
            return (u.key, "memory", tuple(ts.who_has) if ts is not None else (),
                    self._passing.get(u.key))
        if u.status == "erred":
            exception = u.exception
            if type(exception) is tuple and exception and type(exception[0]) is str:
                exception = dumps(scheduler_error(exception))  # decided here, not by a task
            return (u.key, "erred", exception, u.traceback)
        return (u.key, u.status, None, None)

    # ------------------------------------------------------------------ requests

    def _register_client(self, comm: Comm, msg: dict) -> dict:
        client = str(msg["client"])
        old = self.clients.get(client)
        if old is not None and old is not comm:
            old.info["role"] = None
            old.close()
        comm.info.update(role="client", client=client)
        self.clients[client] = comm
        return {"id": self.id, "address": self.address, "dashboard": self.dashboard_link}

    def _register_worker(self, comm: Comm, msg: dict) -> dict:
        address = str(msg["address"])
        parse_address(address)
        nthreads = int(msg.get("nthreads") or 1)
        memory_limit = msg.get("memory_limit") or 0
        old = self.workers.get(address)
        if old is not None and old is not comm:
            old.info["role"] = None
            old.close()
        comm.info.update(role="worker", address=address)
        self.workers[address] = comm
        self._functions_sent[address] = set()
        name = str(msg.get("name") or address)
        now = time.time()
        self.worker_info[address] = {
            "type": "Worker", "id": name, "name": name, "host": parse_address(address)[1],
            "nthreads": nthreads, "memory_limit": memory_limit,
            "local_directory": msg.get("local_directory"), "pid": msg.get("pid"),
            "nanny": bool(msg.get("nanny")), "metrics": {}, "last_seen": now, "started": now,
        }
        self._apply(self.state.handle(ev.AddWorker(address, name, nthreads, memory_limit,
                                                   time.monotonic())))
        return {"id": self.id, "uploads": list(self.uploads.items()),
                "heartbeat_interval": HEARTBEAT_INTERVAL}

    def _who_has(self, comm: Comm, msg: dict) -> dict:
        tasks = self.state.tasks
        out = {}
        for key in msg["keys"]:
            ts = tasks.get(key)
            out[key] = tuple(ts.who_has) if ts is not None else ()
        return out

    def _scheduler_info(self, comm: Comm, msg: dict) -> dict:
        return self.identity()

    def identity(self) -> dict:
        """``Client.scheduler_info()``: the scheduler, and each worker with its latest metrics."""
        workers = {}
        for address, info in self.worker_info.items():
            ws = self.state.workers.get(address)
            entry = dict(info)
            if ws is not None:
                entry["metrics"] = dict(ws.metrics or {}, nprocessing=ws.nprocessing,
                                        nkeys=len(ws.has_what), managed_bytes=ws.nbytes)
            workers[address] = entry
        return {"type": "Scheduler", "id": self.id, "address": self.address, "started": self.started,
                "services": self.services, "dashboard": self.dashboard_link, "workers": workers,
                "ntasks": len(self.state.tasks), "nqueued": self.state.nqueued,
                "nclients": len(self.clients)}

    def status_document(self, stream: list | None = None) -> dict:
        """The dashboard's status (see :func:`~teem.distributed.dashboard.views.status_document`)."""
        summary = {"address": self.address, "id": self.id, "started": self.started,
                   "clients": len(self.clients), "dashboard": self.dashboard_link}
        return status_document(self.state, self.worker_info, summary, time.time(),
                               self.activity.nfinished, stream)

    def _status(self, comm: Comm, msg: dict) -> dict:
        return self.status_document()

    def _start_recording(self, comm: Comm, msg: dict) -> int:
        return self.activity.start_recording(time.time(), self._client_of(comm))

    def _stop_recording(self, comm: Comm, msg: dict) -> dict:
        """A performance report's material: every task finished since it started, and samples."""
        recording = self.activity.stop_recording(int(msg["id"]))
        names = {a: str(info.get("name", a)) for a, info in self.worker_info.items()}
        return {"start": recording.start, "stop": time.time(),
                "tasks": [(prefix_of(key), names.get(w, w), thread, start, stop, erred)
                          for key, w, thread, start, stop, erred in recording.tasks],
                "samples": [(t, names.get(w, w), m) for t, w, m in recording.samples],
                "status": self.status_document(), "identity": self.identity()}

    async def worker_logs(self, n: int = 200) -> dict:
        """The last ``n`` log lines of each worker's process (an error text for a worker that fails)."""
        async def one(address):
            try:
                return await asyncio.wait_for(
                    self.workers[address].request({"op": "get-logs", "n": n}), 5)
            except Exception as exc:  # a worker that cannot answer: say so in its place
                return [(time.time(), "ERROR", "teem.dashboard", f"no logs: {exc!r}")]
        addresses = list(self.workers)
        names = [str(self.worker_info.get(a, {}).get("name", a)) for a in addresses]
        return dict(zip(names, await asyncio.gather(*(one(a) for a in addresses))))

    async def _gather(self, comm: Comm, msg: dict) -> dict:
        by_holder: dict[str, list] = {}
        tasks = self.state.tasks
        for key in msg["keys"]:
            ts = tasks.get(key)
            if ts is not None and ts.who_has:
                by_holder.setdefault(next(iter(ts.who_has)), []).append(key)
        out: dict = {}
        for holder, keys in by_holder.items():
            try:
                out.update(await self._pool.request(holder, {"op": "get-data", "keys": keys}))
            except (OSError, CommClosedError) as exc:
                logger.info("gather from %s failed: %r", holder, exc)
        return out

    async def _wait_for_workers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.workers:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no worker joined the scheduler at {self.address} within {timeout:g} s")
            await asyncio.sleep(0.05)

    async def _scatter(self, comm: Comm, msg: dict) -> dict:
        client = self._client_of(comm)
        data = dict(msg["data"])
        await self._wait_for_workers(float(msg.get("timeout") or 30))
        wanted_workers = msg.get("workers")
        if wanted_workers:
            by_name = {info["name"]: a for a, info in self.worker_info.items()}
            targets = [by_name.get(w, w) for w in wanted_workers]
            missing = [w for w in targets if w not in self.workers]
            if missing:
                raise ValueError(f"scatter: no such worker(s) {missing}; known: {sorted(self.workers)}")
        else:
            targets = sorted(self.workers, key=lambda a: self.state.workers[a].nbytes
                             if a in self.state.workers else 0)
        placement: dict[str, dict] = {}
        if msg.get("broadcast"):
            for address in targets:
                placement[address] = data
        else:
            for i, (key, frames) in enumerate(data.items()):
                placement.setdefault(targets[i % len(targets)], {})[key] = frames
        replies = await asyncio.gather(*(self.workers[a].request({"op": "put-data", "data": d})
                                         for a, d in placement.items()))
        events = []
        holders: dict = {}
        for address, nbytes in zip(placement, replies):
            keys = tuple(nbytes)
            events.append(ev.AddReplicas(address, keys, tuple(nbytes[k] for k in keys), time.monotonic()))
            for key in keys:
                holders.setdefault(key, []).append(address)
        events.append(ev.UpdateGraph(client, (), tuple(data), time.monotonic()))
        self._apply(self.state.handle(*events))
        return holders

    async def _run(self, comm: Comm, msg: dict) -> dict:
        targets = msg.get("workers") or list(self.workers)
        targets = [a for a in targets if a in self.workers]

        async def one(address):
            try:
                return await self.workers[address].request({"op": "run", "function": msg["function"]})
            except CommClosedError as exc:
                return ("error", dumps(exc), "")
        results = await asyncio.gather(*(one(a) for a in targets))
        return dict(zip(targets, results))

    async def _upload_file(self, comm: Comm, msg: dict) -> dict:
        filename = os.path.basename(str(msg["filename"]))
        self.uploads[filename] = msg["data"]

        async def one(address):
            try:
                await self.workers[address].request({"op": "upload-file", "filename": filename,
                                                     "data": msg["data"]})
                return "ok"
            except Exception as exc:  # the worker's error, reported per worker
                return f"{type(exc).__name__}: {exc}"
        addresses = list(self.workers)
        return dict(zip(addresses, await asyncio.gather(*(one(a) for a in addresses))))

    async def _retire_workers(self, comm: Comm, msg: dict) -> list:
        targets = list(msg.get("workers") or ())
        n = msg.get("n")
        if n is not None:  # the least loaded first
            ranked = sorted(self.workers, key=lambda a: (self.state.workers[a].nprocessing
                                                         if a in self.state.workers else 0))
            targets = ranked[:int(n)]
        by_name = {info["name"]: a for a, info in self.worker_info.items()}
        targets = [by_name.get(t, t) for t in targets]
        retired = [a for a in targets if a in self.workers]
        if retired:
            await self._move_unique_data(retired)
            now = time.monotonic()
            self._apply(self.state.handle(*(ev.RetireWorker(a, now) for a in retired)))
        return retired

    async def _move_unique_data(self, leaving: list) -> None:
        """Copy the values that only ``leaving`` workers hold to workers that stay (as Dask does).

        Retiring is graceful: scattered data cannot be recomputed, and computed results need not
        be. Values pass through the scheduler (between processes of one machine, as shared-memory
        links: no copy). A value that cannot be fetched stays where it is and is lost with its
        worker, as if the worker had died.
        """
        staying = [a for a in self.workers if a not in leaving]
        if not staying:
            return
        gone = set(leaving)
        for address in leaving:
            ws = self.state.workers.get(address)
            if ws is None:
                continue
            keys = [ts.key for ts in ws.has_what if ts.who_has and gone.issuperset(ts.who_has)]
            if not keys:
                continue
            try:
                data = await self._pool.request(address, {"op": "get-data", "keys": keys})
                target = min(staying, key=lambda a: self.state.workers[a].nbytes
                             if a in self.state.workers else 0)
                nbytes = await self.workers[target].request({"op": "put-data", "data": data})
            except (OSError, CommClosedError, KeyError) as exc:
                logger.warning("could not move data off retiring worker %s: %r", address, exc)
                continue
            moved = tuple(nbytes)
            self._apply(self.state.handle(ev.AddReplicas(target, moved, tuple(nbytes[k] for k in moved),
                                                         time.monotonic())))

    async def _restart(self, comm: Comm, msg: dict) -> int:
        timeout = float(msg.get("timeout") or 60)
        count = len(self.workers)
        for address, wcomm in list(self.workers.items()):
            if not wcomm.closed:
                wcomm.send({"op": "close", "reason": "restart", "restart": True})
            wcomm.info["role"] = None
        self.workers.clear()
        self.worker_info.clear()
        self._functions_sent.clear()
        # Every key a client waits for is cancelled, then the state starts afresh.
        cancelled: dict[str, list] = {}
        for ts in self.state.tasks.values():
            for client in ts.wanted_by:
                cancelled.setdefault(client, []).append(ts.key)
        for client, keys in cancelled.items():
            ccomm = self.clients.get(client)
            if ccomm is not None and not ccomm.closed:
                ccomm.send({"op": "key-updates", "updates": [(k, "cancelled", None, None) for k in keys]})
        self.state = SchedulerState(**self._state_options)
        deadline = time.monotonic() + timeout
        while len(self.workers) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"restart: {len(self.workers)} of {count} workers came back within {timeout:g} s "
                    "(workers started with --no-nanny, or by processes=False, do not restart)")
            await asyncio.sleep(0.05)
        return len(self.workers)

    async def _shutdown(self, comm: Comm, msg: dict) -> None:
        for wcomm in list(self.workers.values()):
            if not wcomm.closed:
                wcomm.send({"op": "close", "reason": "shutdown", "restart": False})
        asyncio.get_running_loop().call_later(0.1, lambda: self._spawn(self.close()))


def _all_small(tasks: tuple, functions: dict) -> bool:
    """Whether no frame of these run specs and function pickles is large (see ``pack(small=)``)."""
    limit = OUT_OF_BAND_BYTES
    for t in tasks:
        spec = t.run_spec
        if spec is not None:
            for frame in spec[1]:
                if len(frame) >= limit:
                    return False
    for frames in functions.values():
        for frame in frames:
            if len(frame) >= limit:
                return False
    return True
