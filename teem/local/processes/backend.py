"""Processes backend: one engine run on a :class:`ProcessPool`.

Theory of operation
-------------------
- Results stay in the worker that computed them.  The backend records where
  each result lives (``where``) and its size; small results (≤ 64 KiB) also
  come back with the completion message, so the caller already has them.
- A batch goes to the worker that already holds most of the bytes its tasks
  need, among those with a free slot (two batches per worker: one running,
  one queued), then to the least busy.  A batch of tasks without inputs goes
  back to the worker that ran them in an earlier run (the pool remembers), even
  as a third batch in its queue: what they left there, such as parsed
  partitions in the dataframe cache, makes the repeat fast.  A task is known by
  its key, or by ``func.placement_key(args)`` when its function has one (a
  fused task names the reader it starts with, which stays the same from one
  compute to the next while the fused key does not).
- Inputs a worker lacks are sent before the batch: from the caller's memory
  if the value is here (values known in advance, ``delayed(x)``, are always
  here), else fetched from a worker that has it first (the batch waits).
  A value sent to several workers is serialized once: its message, with large
  buffers in shared memory, is kept and re-sent, so a 320 MB array shared by
  20 tasks is copied into shared memory once and mapped by every worker.
- A worker that dies fails the run with :class:`WorkerDiedError`; the pool
  replaces it before the next run.  Messages of an abandoned run are ignored.
"""

from __future__ import annotations

import itertools
from collections import deque
from multiprocessing.connection import wait as wait_readable

import cloudpickle

from teem.core.errors import RemoteTraceback, SerializationError, WorkerDiedError
from teem.core.task import DataNode
from teem.local.processes.pool import ProcessPool
from teem.local.processes.wire import ConnectionClosed, pack, recv, send, send_obj

__all__ = ["ProcessBackend"]

HERE = -1            # "location" of values held by the calling process
SLOTS_PER_WORKER = 2
RELEASE_BATCH = 256  # releases are sent to a worker in groups of this many

_runs = itertools.count(1)


def _placement_key(task):
    """What identifies ``task``'s work across runs: its key, unless its function says better."""
    hook = getattr(task.func, "placement_key", None)
    if hook is None:
        return task.key
    try:
        return hook(task.args)
    except Exception:  # a hook that cannot tell: the key will do
        return task.key


class ProcessBackend:
    """See :class:`teem.local.engine.Backend`."""

    record_times = False  # set by the engine when a callback wants task times

    def __init__(self, pool: ProcessPool):
        pool.revive()
        self.pool = pool
        self.nworkers = pool.size
        self.run = next(_runs)
        self.where: dict = {}        # key -> set of worker indexes (HERE for this process)
        self.sizes: dict = {}        # key -> estimated bytes
        self.here: dict = {}         # key -> value held in this process
        self.messages: dict = {}     # key -> packed ("store", key, value), reused per worker
        self.busy = [0] * pool.size  # batches in flight per worker
        self.batches: dict = {}      # batch id -> (worker index, tasks, pre-finished keys)
        self.waiting_for: dict = {}  # batch id -> keys still being fetched for it
        self.fetches: dict = {}      # request id -> batch ids (or None for results())
        self.completed: deque = deque()
        self.releases = [[] for _ in range(pool.size)]
        self._ids = itertools.count()
        self._results_pending: dict = {}
        self.function_ids: dict = {}  # id(function) -> (fid, function); kept alive for the run
        self.functions_sent = [set() for _ in range(pool.size)]

    # --- engine interface -------------------------------------------------------------------

    def capacity(self) -> int:
        return sum(SLOTS_PER_WORKER - b for b in self.busy)

    def submit(self, tasks: list, seconds_per_task) -> None:
        batch = next(self._ids)
        known = [t for t in tasks if type(t) is DataNode]
        tasks = [t for t in tasks if type(t) is not DataNode]
        for node in known:  # values given in advance stay here until a worker needs them
            self.here[node.key] = node.value
            self.where[node.key] = {HERE}
        if not tasks:
            self.completed.append(([t.key for t in known], None, 0.0, 0, None))
            return
        w = self._choose_worker(tasks)
        roots = [_placement_key(t) for t in tasks if not t.dependencies]
        if roots:
            self.pool.remember_placement(roots, w)
        self.busy[w] += 1
        self.batches[batch] = (w, tasks, [t.key for t in known])
        missing = {}
        for task in tasks:
            for dep in task.dependencies:
                holders = self.where[dep]
                if w not in holders and dep not in missing:
                    missing[dep] = holders
        to_fetch = {}
        for dep, holders in missing.items():
            if HERE in holders:
                self._store(w, dep)
            else:
                to_fetch.setdefault(min(holders), []).append(dep)
        if to_fetch:
            self.waiting_for[batch] = {k for keys in to_fetch.values() for k in keys}
            for holder, keys in to_fetch.items():
                self._fetch(holder, keys, batch)
        else:
            self._send_batch(batch)

    def wait(self):
        while not self.completed:
            self._receive()
        return self.completed.popleft()

    def release(self, key) -> None:
        self.here.pop(key, None)
        message = self.messages.pop(key, None)
        if message is not None:
            message.close()
        self.sizes.pop(key, None)
        for w in self.where.pop(key, ()):
            if w != HERE:
                buf = self.releases[w]
                buf.append(key)
                if len(buf) >= RELEASE_BATCH:
                    self._flush_releases(w)

    def value_here(self, key):
        return self.here.get(key)

    def results(self, keys) -> list:
        missing: dict = {}
        for key in keys:
            if key not in self.here:
                missing.setdefault(min(self.where[key]), []).append(key)
        for holder, ks in missing.items():
            self._fetch(holder, ks, None)
        while self._results_pending:
            self._receive()
            for _, error, *_ in self.completed:
                if error is not None and isinstance(error[1], WorkerDiedError):
                    raise error[1]
        return [self.here[k] for k in keys]

    def close(self, errored: bool) -> None:
        for message in self.messages.values():
            message.close()
        self.messages.clear()
        self.here.clear()
        self.function_ids.clear()
        for i, worker in enumerate(self.pool.workers):
            self.releases[i].clear()
            try:
                send_obj(worker.sock, ("clear",))
            except OSError:
                pass
        if errored:
            # Workers still running this run's tasks would hold up the next run: replace them.
            for w, n in enumerate(self.busy):
                if n:
                    self.pool.replace(w)

    # --- placement and messages -------------------------------------------------------------

    def _choose_worker(self, tasks: list) -> int:
        local = [0] * self.nworkers
        for task in tasks:
            for dep in task.dependencies:
                size = self.sizes.get(dep, 0)
                for w in self.where[dep]:
                    if w != HERE:
                        local[w] += size
        free = [w for w in range(self.nworkers) if self.busy[w] < SLOTS_PER_WORKER]
        if not any(local):  # no inputs to be near: go where these tasks ran before, if any
            before = self._placed_before(tasks)
            if before is not None and self.busy[before] <= SLOTS_PER_WORKER:
                return before
        return max(free, key=lambda w: (local[w], -self.busy[w], -w))

    def _placed_before(self, tasks: list) -> int | None:
        """The worker that ran most of these tasks before (None if none was placed)."""
        placed = self.pool.placed
        votes = [0] * self.nworkers
        for task in tasks:
            if not task.dependencies:
                w = placed.get(_placement_key(task))
                if w is not None and w < self.nworkers:
                    votes[w] += 1
        best = max(range(self.nworkers), key=votes.__getitem__)
        return best if votes[best] else None

    def _sock(self, w: int):
        return self.pool.workers[w].sock

    def _flush_releases(self, w: int) -> None:
        keys = self.releases[w]
        if keys:
            self.releases[w] = []
            send_obj(self._sock(w), ("release", keys))

    def _store(self, w: int, key) -> None:
        message = self.messages.get(key)
        if message is None:
            value = self.here[key]
            try:
                message = self.messages[key] = pack(("store", key, value))
            except Exception as exc:
                raise SerializationError(
                    f"cannot pickle the value of {key!r} (a {type(value).__name__}) to send it to "
                    f"a worker process: {exc}. Use the 'threads' scheduler, or make the value "
                    "picklable.") from exc
        send(self._sock(w), message)
        self.where[key].add(w)

    def _fetch(self, holder: int, keys: list, batch) -> None:
        request = next(self._ids)
        self.fetches[request] = batch
        if batch is None:
            self._results_pending[request] = keys
        self._flush_releases(holder)
        send_obj(self._sock(holder), ("fetch", request, keys))

    def _send_batch(self, batch: int) -> None:
        w, tasks, _ = self.batches[batch]
        sent = self.functions_sent[w]
        new_funcs = {}
        specs = []
        for task in tasks:
            entry = self.function_ids.get(id(task.func))
            if entry is None:
                entry = self.function_ids[id(task.func)] = (len(self.function_ids), task.func)
            fid = entry[0]
            if fid not in sent:
                new_funcs[fid] = task.func
            specs.append((task.key, fid, task.args, task.kwargs, task.dependencies))
        drop, self.releases[w] = self.releases[w], []

        def share_array(array):
            # A large array passed directly to tasks: like a delayed value, stored
            # once per worker (and serialized once per run), not pickled per batch.
            key = ("teem-shared-array", id(array))
            if key not in self.here:
                self.here[key] = array  # also keeps id(array) unique for the run
                self.where[key] = {HERE}
            if w not in self.where[key]:
                self._store(w, key)
            return key

        try:
            message = pack(("run", self.run, batch, new_funcs, specs, drop, self.record_times),
                           share_array=share_array)
        except Exception as exc:
            raise _serialization_error(tasks, exc) from exc
        sent.update(new_funcs)
        try:
            send(self._sock(w), message)
        finally:
            message.close()

    # --- receiving --------------------------------------------------------------------------

    def _receive(self) -> None:
        socks = {self._sock(w): w for w in range(self.nworkers)}
        for sock in wait_readable(list(socks)):
            w = socks[sock]
            try:
                msg = recv(sock)
            except (ConnectionClosed, OSError):
                self._worker_died(w)
                return
            if msg[0] == "done":
                self._on_done(w, msg)
            elif msg[0] == "data":
                self._on_data(w, msg)
            elif msg[0] == "unsendable":
                _, request, keys, text = msg
                if self.fetches.pop(request, "stale") != "stale":
                    shown = ", ".join(repr(k) for k in keys[:5])
                    raise SerializationError(
                        f"the result of task(s) {shown} cannot be pickled to leave worker process "
                        f"{self.pool.workers[w].pid}: {text}. Return picklable values from tasks "
                        "whose results are needed elsewhere, or use the 'threads' scheduler.")

    def _on_done(self, w: int, msg) -> None:
        _, run, batch, finished, sizes, small, error, seconds, times = msg
        if run != self.run:
            return  # from an earlier, abandoned run
        _, tasks, known = self.batches.pop(batch)
        self.busy[w] -= 1
        for key, size in zip(finished, sizes):
            self.where[key] = {w}
            self.sizes[key] = size
        for key, value in small.items():
            self.here[key] = value
            self.where[key].add(HERE)
        nrun = len(finished)
        if times is not None:
            pid = self.pool.workers[w].pid
            times = [(key, t0, t1, pid) for key, (t0, t1) in zip(finished, times)]
        if error is not None:
            key, exc, text = error
            if text and exc.__cause__ is None:
                exc.__cause__ = RemoteTraceback(text)
            self.completed.append((known + finished, (key, exc), seconds, nrun + 1, times))
        else:
            self.completed.append((known + finished, None, seconds, nrun, times))

    def _on_data(self, w: int, msg) -> None:
        _, request, values = msg
        batch = self.fetches.pop(request, "stale")
        if batch == "stale":
            return
        for key, value in values.items():
            self.here[key] = value
            self.where.setdefault(key, set()).add(HERE)
        if batch is None:
            self._results_pending.pop(request, None)
            return
        if batch not in self.batches:
            return
        waiting = self.waiting_for[batch]
        target = self.batches[batch][0]
        for key in values:
            waiting.discard(key)
            self._store(target, key)
        if not waiting:
            del self.waiting_for[batch]
            self._send_batch(batch)

    def _worker_died(self, w: int) -> None:
        worker = self.pool.workers[w]
        how = worker.exit_description()
        running = [b for b, (bw, _, _) in self.batches.items() if bw == w]
        keys = [t.key for b in running for t in self.batches[b][1]]
        shown = ", ".join(repr(k) for k in keys[:5]) + (" ..." if len(keys) > 5 else "")
        error = WorkerDiedError(
            f"worker process {worker.pid} {how} while running task(s) {shown or '(none)'}; "
            "its results are lost. If a task crashes the interpreter (a segfault, os._exit, "
            "running out of memory), fix or guard that task; the pool starts a fresh worker "
            "for the next compute.")
        self.busy[w] = SLOTS_PER_WORKER  # never choose it again in this run
        lost = [k for k, holders in self.where.items() if holders == {w}]
        key = keys[0] if keys else (lost[0] if lost else None)
        self.completed.append(([], (key, error), 0.0, 0, None))


def _serialization_error(tasks: list, exc: Exception) -> SerializationError:
    """Find which function or argument of which task could not be pickled."""
    for task in tasks:
        try:
            cloudpickle.dumps(task.func)
        except Exception as e:
            return SerializationError(
                f"cannot pickle the function of task {task.key!r} ({_describe(task.func)}): {e}. "
                "Use the 'threads' scheduler, or a function that can be pickled.")
        for i, arg in enumerate(task.args):
            try:
                cloudpickle.dumps(arg)
            except Exception as e:
                return SerializationError(
                    f"cannot pickle argument {i} of task {task.key!r} ({_describe(arg)}): {e}. "
                    "Use the 'threads' scheduler, or pass something that can be pickled.")
        for name, arg in (task.kwargs or {}).items():
            try:
                cloudpickle.dumps(arg)
            except Exception as e:
                return SerializationError(
                    f"cannot pickle keyword argument {name!r} of task {task.key!r} "
                    f"({_describe(arg)}): {e}. Use the 'threads' scheduler, or pass something "
                    "that can be pickled.")
    return SerializationError(f"cannot pickle a batch of tasks for a worker process: {exc}")


def _describe(obj) -> str:
    t = type(obj)
    return f"a {t.__module__}.{t.__qualname__}" if t.__module__ != "builtins" else f"a {t.__qualname__}"
