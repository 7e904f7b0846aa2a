"""A stand-in for the scheduler in worker tests: the scheduler's side of docs/protocol.md.

It answers ``register-worker`` (with uploads), records what workers send, and
sends ``execute``, ``free-keys``, ``close`` and requests (``put-data``,
``get-data``, ``run``, ``upload-file``) the way the scheduler does.  Worker
processes are started with :func:`start_worker_process`.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from teem.core.task import Task
from teem.distributed.comm import connect, listen
from teem.distributed.protocol.messages import dumps, loads
from teem.distributed.runspec import FunctionTable, encode_task

SECRET = "worker-tests-" + "s" * 32


class SchedulerPeer:
    def __init__(self, secret: str = SECRET, uploads=(), heartbeat_interval: float = 0.2):
        self.secret = secret
        self.uploads = list(uploads)
        self.heartbeat_interval = heartbeat_interval
        self.workers: dict = {}          # address -> comm
        self.registrations: list = []    # register-worker messages, in order
        self.received: list = []         # (worker address, message)
        self.closed: list = []           # addresses whose connection closed
        self.functions = FunctionTable()
        self._function_frames: dict = {}
        self._sent: dict = {}            # address -> fids sent
        self.after_register = None  # address -> messages sent in the same wire batch as the reply
        self._changed: asyncio.Event | None = None
        self.server = None
        self.address = None

    async def start(self, port: int = 0) -> "SchedulerPeer":
        self._changed = asyncio.Event()
        self.server, self.address = await listen(
            f"tcp://127.0.0.1:{port}", self.secret.encode(), on_connect=lambda comm: None,
            on_message=self._on_message, on_close=self._on_close)
        return self

    async def stop(self) -> None:
        self.server.close()
        for comm in list(self.workers.values()):
            comm.close()
        await self.server.wait_closed()

    def _on_message(self, comm, msgs) -> None:
        for msg in msgs:
            if msg["op"] == "register-worker":
                comm.info["address"] = msg["address"]
                self.workers[msg["address"]] = comm
                self._sent.setdefault(msg["address"], set())
                self.registrations.append(msg)
                comm.reply(msg, result={"uploads": self.uploads, "id": "peer",
                                        "heartbeat_interval": self.heartbeat_interval})
                for extra in (self.after_register(msg["address"]) if self.after_register else ()):
                    comm.send(extra)
            else:
                if msg["op"] == "tasks-finished":  # one entry per task, as the tests read them
                    for key, nbytes, start, stop, thread, data in msg["tasks"]:
                        entry = {"op": "task-finished", "key": key, "nbytes": nbytes,
                                 "duration": stop - start, "start": start, "stop": stop,
                                 "thread": thread}
                        if data is not None:
                            entry["data"] = data
                        self.received.append((comm.info.get("address"), entry))
                    continue
                self.received.append((comm.info.get("address"), msg))
        self._changed.set()

    def _on_close(self, comm) -> None:
        address = comm.info.get("address")
        if address is not None and self.workers.get(address) is comm:
            del self.workers[address]
            self.closed.append(address)
        if self._changed is not None:
            self._changed.set()

    async def wait(self, predicate, timeout: float = 10.0, what: str = "") -> None:
        """Wait until ``predicate()`` is true (checked whenever something arrives)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"timed out waiting for {what or predicate}; received: "
                                   f"{[m['op'] for _, m in self.received][-20:]}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.1))
            except (asyncio.TimeoutError, TimeoutError):
                pass

    def messages(self, op: str, worker: str | None = None) -> list:
        return [m for w, m in self.received if m["op"] == op and (worker is None or w == worker)]

    def finished(self, worker: str | None = None) -> dict:
        return {m["key"]: m for m in self.messages("task-finished", worker)}

    # --- sending --------------------------------------------------------------------------

    def entry(self, key, func, args=(), who_has=None, nbytes=None, priority=(0,)):
        """An execute entry (the function's pickle is kept for the execute message)."""
        run_spec = encode_task(Task(key, func, args), self.functions)
        self._function_frames.update(self.functions.take_unsent())
        who_has = {k: list(v) for k, v in (who_has or {}).items()}
        return [key, run_spec, who_has, nbytes or {k: 8 for k in who_has}, list(priority)]

    def execute(self, worker: str, entries: list) -> None:
        self.workers[worker].send(self.execute_message(worker, entries))

    def execute_message(self, worker: str, entries: list) -> dict:
        sent = self._sent.setdefault(worker, set())
        functions = {}
        for entry in entries:
            fid = entry[1][0]
            if fid is not None and fid not in sent:
                sent.add(fid)
                functions[fid] = self._function_frames[fid]
        return {"op": "execute", "tasks": entries, "functions": functions}

    def send(self, worker: str, msg: dict) -> None:
        self.workers[worker].send(msg)

    async def request(self, worker: str, msg: dict, timeout: float = 10.0):
        return await self.workers[worker].request(msg, timeout)

    async def get_data(self, worker: str, keys: list) -> dict:
        """Fetch values straight from the worker's listener, as a client would."""
        comm = await connect(worker, self.secret.encode())
        try:
            reply = await comm.request({"op": "get-data", "keys": list(keys)}, 10)
        finally:
            comm.close()
        return {k: loads(list(frames)) for k, frames in reply.items()}


def start_worker_process(address: str, *args: str, secret: str = SECRET,
                         module: str = "teem.distributed.worker.process", **popen) -> subprocess.Popen:
    """A worker process for ``address`` (tests' sys.path included, so test functions import)."""
    path = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
    env = dict(os.environ, TEEM_SECRET=secret, PYTHONPATH=path)
    env.pop("TEEM_NANNY_PID", None)
    return subprocess.Popen([sys.executable, "-m", module, address, *args], env=env,
                            stdin=subprocess.DEVNULL, **popen)


def frames_of(value) -> list:
    return dumps(value)
