"""The worker over real sockets, driven by a stand-in scheduler (tests/distributed/worker_peer.py).

Workers run in this test's event loop (``Worker``) or as real processes
(``python -m teem.distributed.worker.process``).
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import subprocess
import time
import zipfile
from operator import add

import psutil
import pytest

from teem.core.task import Ref
from teem.distributed.protocol.messages import dumps, loads
from teem.distributed.security import Security
from teem.distributed.worker.memory import MemoryPolicy
from teem.distributed.worker.server import Worker

from .worker_peer import SECRET, SchedulerPeer, start_worker_process

pytestmark = pytest.mark.timeout(60)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 50))


def inc(x):
    return x + 1


def slow_inc(x, seconds=0.3):
    time.sleep(seconds)
    return x + 1


def divide(a, b):
    return a / b


class Unpicklable(Exception):
    def __init__(self, a, b):  # pickles, but does not unpickle (args != (a, b))
        super().__init__(f"{a}+{b}")


def raise_unpicklable():
    raise Unpicklable(1, 2)


def call_uploaded(module, x):
    import importlib

    return importlib.import_module(module).f(x)


def whoami(dask_worker=None):
    return dask_worker.address


async def async_whoami(teem_worker=None):
    await asyncio.sleep(0)
    return teem_worker.name


async def started(peer, **kwargs) -> Worker:
    options = dict(security=Security(secret=SECRET), nthreads=1, validate=True)
    options.update(kwargs)
    worker = Worker(peer.address, **options)
    await worker.start()
    return worker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_process(proc: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"process {proc.pid} did not exit within {timeout} s")
        await asyncio.sleep(0.05)
    return proc.returncode


# ---------------------------------------------------------------------------------------- in process


def test_registers_runs_tasks_reports_and_serves_results(tmp_path):
    async def main():
        peer = await SchedulerPeer().start()
        worker = await started(peer, nthreads=2, name="alice", memory_limit=2**30,
                               local_directory=str(tmp_path))
        [reg] = peer.registrations
        assert reg["address"] == worker.address and worker.address.startswith("tcp://127.0.0.1:")
        assert reg["name"] == "alice" and reg["nthreads"] == 2 and reg["memory_limit"] == 2**30
        assert reg["pid"] == os.getpid() and reg["nanny"] is False
        assert reg["local_directory"].startswith(str(tmp_path))
        peer.execute(worker.address, [peer.entry(("inc", i), inc, (i,)) for i in range(20)])
        await peer.wait(lambda: len(peer.finished()) == 20)
        msg = peer.finished()[("inc", 3)]
        assert msg["nbytes"] > 0 and msg["stop"] >= msg["start"] > time.time() - 60
        assert msg["duration"] == pytest.approx(msg["stop"] - msg["start"])
        assert await peer.get_data(worker.address, [("inc", 3), ("inc", 19), "unknown"]) == \
            {("inc", 3): 4, ("inc", 19): 20}
        peer.send(worker.address, {"op": "free-keys", "keys": [("inc", 3)]})
        await asyncio.sleep(0.1)
        assert await peer.get_data(worker.address, [("inc", 3)]) == {}
        assert len(worker.data) == 19
        await peer.wait(lambda: peer.messages("heartbeat"))
        metrics = peer.messages("heartbeat")[-1]["metrics"]
        assert metrics["memory"] > 0 and metrics["paused"] is False
        assert set(metrics) >= {"memory", "managed", "spilled", "cpu", "executing", "ready", "paused"}
        directory = worker.local_directory
        await worker.close("test over")
        assert worker.exit_status == 0 and not os.path.exists(directory)
        await peer.wait(lambda: peer.closed)
        await peer.stop()
    run(main())


def test_tasks_run_on_threads_or_inline_by_measured_duration():
    async def main():
        peer = await SchedulerPeer().start()
        worker = await started(peer)
        peer.execute(worker.address, [peer.entry(f"inc-{i}", inc, (i,), priority=(i,)) for i in range(50)])
        peer.execute(worker.address, [peer.entry("slow", slow_inc, (1, 0.05), priority=(99,))])
        await peer.wait(lambda: len(peer.finished()) == 51)
        finished = peer.finished()
        assert finished["inc-0"]["thread"] >= 1  # the first of a function: on a thread
        # then inline, once measured short (a loaded machine may keep a few more on threads)
        assert sum(finished[f"inc-{i}"]["thread"] == 0 for i in range(10, 50)) >= 30
        assert finished["slow"]["thread"] >= 1
        assert worker.inline.mean(peer.entry("x", slow_inc)[1][0]) > 0.01
        await worker.close()
        await peer.stop()
    run(main())


def test_priority_order_and_free_keys_cancels_queued_tasks():
    async def main():
        peer = await SchedulerPeer().start()
        worker = await started(peer)
        entries = [peer.entry(f"t{i}", slow_inc, (i, 0.05), priority=(10 - i,)) for i in range(5)]
        peer.execute(worker.address, entries)
        await asyncio.sleep(0.01)
        peer.send(worker.address, {"op": "free-keys", "keys": ["t0", "t1"]})
        await peer.wait(lambda: len(peer.finished()) == 3)
        await asyncio.sleep(0.2)
        order = [m["key"] for m in peer.messages("task-finished")]
        assert order == ["t4", "t3", "t2"]  # by priority; t0, t1 cancelled (t1 may have run: dropped)
        assert "t1" not in worker.data and "t0" not in worker.data
        await worker.close()
        await peer.stop()
    run(main())


def test_running_task_freed_is_dropped_unless_asked_again():
    async def main():
        peer = await SchedulerPeer().start()
        worker = await started(peer)
        peer.execute(worker.address, [peer.entry("a", slow_inc, (1, 0.3))])
        await asyncio.sleep(0.1)
        peer.send(worker.address, {"op": "free-keys", "keys": ["a"]})
        peer.execute(worker.address, [peer.entry("b", slow_inc, (1, 0.3))])
        await asyncio.sleep(0.1)
        peer.send(worker.address, {"op": "free-keys", "keys": ["b"]})
        peer.execute(worker.address, [peer.entry("b", slow_inc, (1, 0.3))])  # asked again meanwhile
        await peer.wait(lambda: "b" in peer.finished())
        assert "a" not in peer.finished() and "a" not in worker.data
        assert worker.data["b"] == 2
        await worker.close()
        await peer.stop()
    run(main())


def test_put_data_run_and_errors_of_requests():
    async def main():
        peer = await SchedulerPeer().start()
        worker = await started(peer)
        sizes = await peer.request(worker.address, {"op": "put-data",
                                                    "data": {"s1": dumps([1, 2, 3]), ("s", 2): dumps("x")}})
        assert set(sizes) == {"s1", ("s", 2)} and sizes["s1"] > 0
        assert await peer.get_data(worker.address, ["s1", ("s", 2)]) == {"s1": [1, 2, 3], ("s", 2): "x"}
        peer.execute(worker.address, [peer.entry("sum", add, (Ref("s1"), [4]), who_has={"s1": [worker.address]})])
        await peer.wait(lambda: "sum" in peer.finished())
        assert worker.data["sum"] == [1, 2, 3, 4]
        status, frames = await peer.request(worker.address, {"op": "run", "function": dumps((whoami, (), {}))})
        assert status == "ok" and loads(list(frames)) == worker.address
        status, frames = await peer.request(worker.address, {"op": "run",
                                                             "function": dumps((async_whoami, (), {}))})
        assert loads(list(frames)) == worker.name
        status, frames, text = await peer.request(worker.address, {"op": "run",
                                                                   "function": dumps((divide, (1, 0), {}))})
        assert status == "error" and isinstance(loads(list(frames)), ZeroDivisionError)
        assert "divide" in text and "ZeroDivisionError" in text
        with pytest.raises(ValueError, match="unknown op"):
            await peer.request(worker.address, {"op": "no-such-op"})
        await worker.close()
        await peer.stop()
    run(main())


def test_pause_stops_new_tasks_until_memory_is_back(tmp_path):
    async def main():
        peer = await SchedulerPeer(heartbeat_interval=0.05).start()
        tiny = MemoryPolicy(memory_limit=1000, target=False, spill=False, pause=0.5, terminate=False)
        worker = await started(peer, memory_policy=tiny, local_directory=str(tmp_path))
        await peer.wait(lambda: any(m["metrics"]["paused"] for m in peer.messages("heartbeat")))
        peer.execute(worker.address, [peer.entry("p", inc, (1,))])
        await asyncio.sleep(0.4)
        assert peer.finished() == {} and worker.state.task_state("p") == "ready"
        worker.memory_monitor.policy = MemoryPolicy(None)  # the memory is back
        await peer.wait(lambda: "p" in peer.finished())
        assert worker.state.paused is False
        await worker.close()
        await peer.stop()
    run(main())


def test_memory_over_terminate_threshold_closes_with_status_1():
    async def main():
        peer = await SchedulerPeer().start()
        policy = MemoryPolicy(memory_limit=1000, target=False, spill=False, pause=False, terminate=0.5)
        worker = await started(peer, memory_policy=policy)
        await asyncio.wait_for(worker.finished(), 5)
        assert worker.exit_status == 1
        await peer.stop()
    run(main())


def test_reconnects_when_the_scheduler_comes_back_and_starts_empty():
    async def main():
        port = free_port()
        peer = await SchedulerPeer().start(port)
        worker = await started(peer, death_timeout=10)
        peer.execute(worker.address, [peer.entry("x", inc, (1,))])
        await peer.wait(lambda: "x" in peer.finished())
        await peer.stop()
        await asyncio.sleep(0.3)
        peer2 = await SchedulerPeer().start(port)
        await peer2.wait(lambda: peer2.registrations, timeout=15, what="registration again")
        assert peer2.registrations[0]["address"] == worker.address
        assert len(worker.data) == 0  # what it held was rescheduled when it left
        peer2.execute(worker.address, [peer2.entry("y", inc, (2,))])
        await peer2.wait(lambda: "y" in peer2.finished())
        await worker.close()
        await peer2.stop()
    run(main())


def test_start_fails_clearly_without_a_scheduler():
    async def main():
        worker = Worker(f"tcp://127.0.0.1:{free_port()}", security=Security(secret=SECRET), death_timeout=0.2)
        with pytest.raises(TimeoutError, match="no scheduler at"):
            await worker.start()
    run(main())


def test_worker_needs_a_secret(monkeypatch):
    monkeypatch.delenv("TEEM_SECRET", raising=False)
    with pytest.raises(ValueError, match="no cluster secret"):
        Worker("tcp://127.0.0.1:1", security=Security())


def test_unreachable_holder_is_reported_missing_and_the_next_one_tried():
    async def main():
        peer = await SchedulerPeer().start()
        w1 = await started(peer)
        w2 = await started(peer, connect_timeout=0.3)
        peer.execute(w1.address, [peer.entry("x", inc, (1,))])
        await peer.wait(lambda: "x" in peer.finished())
        dead = "tcp://127.0.0.1:1"  # nothing listens there (and it sorts first: it is tried first)
        peer.execute(w2.address, [peer.entry("y", inc, (Ref("x"),), who_has={"x": [dead, w1.address]})])
        await peer.wait(lambda: "y" in peer.finished(w2.address))
        assert [(m["key"], m["holder"]) for m in peer.messages("missing-data")] == [("x", dead)]
        assert w2.data["y"] == 3
        await w1.close()
        await w2.close()
        await peer.stop()
    run(main())


# ---------------------------------------------------------------------------------------- processes


def test_dependency_fetched_from_another_worker_process():
    async def main():
        peer = await SchedulerPeer().start()
        procs = [start_worker_process(peer.address, "--name", f"w{i}") for i in range(2)]
        try:
            await peer.wait(lambda: len(peer.registrations) == 2, timeout=20)
            w1, w2 = (r["address"] for r in sorted(peer.registrations, key=lambda r: r["name"]))
            assert {r["pid"] for r in peer.registrations} == {p.pid for p in procs}
            peer.execute(w1, [peer.entry("x", inc, (1,)), peer.entry("big", bytes, (200_000,))])
            await peer.wait(lambda: {"x", "big"} <= set(peer.finished(w1)))
            peer.execute(w2, [peer.entry("y", add, (Ref("x"), 10), who_has={"x": [w1]}),
                              peer.entry("n", len, (Ref("big"),), who_has={"big": [w1]})])
            await peer.wait(lambda: {"y", "n"} <= set(peer.finished(w2)))
            [replicas] = peer.messages("add-replicas", w2)  # both fetched in one go from w1
            assert sorted(replicas["keys"]) == ["big", "x"]
            assert await peer.get_data(w2, ["y", "n", "x"]) == {"y": 12, "n": 200_000, "x": 2}
            # a holder that does not have the key
            peer.execute(w2, [peer.entry("z", inc, (Ref("nowhere"),), who_has={"nowhere": [w1]})])
            await peer.wait(lambda: peer.messages("missing-data", w2))
            assert [(m["key"], m["holder"]) for m in peer.messages("missing-data", w2)] == [("nowhere", w1)]
            peer.send(w2, {"op": "free-keys", "keys": ["z"]})
            for address in (w1, w2):
                peer.send(address, {"op": "close", "reason": "done", "restart": False})
            assert [await wait_process(p, 10) for p in procs] == [0, 0]
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        await peer.stop()
    run(main())


def test_task_exception_comes_back_with_type_and_traceback():
    async def main():
        peer = await SchedulerPeer().start()
        proc = start_worker_process(peer.address)
        try:
            await peer.wait(lambda: peer.registrations, timeout=20)
            address = peer.registrations[0]["address"]
            peer.execute(address, [peer.entry("bad", divide, (1, 0)), peer.entry("odd", raise_unpicklable)])
            await peer.wait(lambda: len(peer.messages("task-erred")) == 2)
            erred = {m["key"]: m for m in peer.messages("task-erred")}
            error = loads(list(erred["bad"]["exception"]))
            assert isinstance(error, ZeroDivisionError)
            text = erred["bad"]["traceback"]
            assert text.startswith("Traceback") and "in divide" in text and "return a / b" in text
            assert "ZeroDivisionError: division by zero" in text
            assert "worker/server.py" not in text  # it starts at the user's code
            odd = loads(list(erred["odd"]["exception"]))
            assert type(odd) is RuntimeError and "Unpicklable: 1+2" in str(odd) and "raise_unpicklable" in str(odd)
            assert "bad" not in peer.finished()
            peer.send(address, {"op": "close", "reason": "done", "restart": False})
            assert await wait_process(proc, 10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        await peer.stop()
    run(main())


def _zip_with(package: str, source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{package}/__init__.py", source)
    return buffer.getvalue()


def test_uploads_from_registration_and_later_are_importable_and_reloaded():
    module = f"teem_upload_{os.getpid()}"
    package = f"teem_zipped_{os.getpid()}"

    async def main():
        peer = await SchedulerPeer(uploads=[[f"{module}.py", b"def f(x):\n    return x * 7\n"]]).start()
        # a task in the same wire message as the register reply: it runs after the upload is in
        peer.after_register = lambda address: [
            peer.execute_message(address, [peer.entry("u1", call_uploaded, (module, 3))])]
        proc = start_worker_process(peer.address)
        try:
            await peer.wait(lambda: peer.registrations, timeout=20)
            address = peer.registrations[0]["address"]
            await peer.wait(lambda: "u1" in peer.finished())
            assert (await peer.get_data(address, ["u1"]))["u1"] == 21
            assert await peer.request(address, {"op": "upload-file", "filename": f"{module}.py",
                                                "data": b"def f(x):\n    return x * 8\n"}) is None
            assert await peer.request(address, {"op": "upload-file", "filename": f"{package}.zip",
                                                "data": _zip_with(package, "def f(x):\n    return -x\n")}) is None
            peer.execute(address, [peer.entry("u2", call_uploaded, (module, 3)),
                                   peer.entry("u3", call_uploaded, (package, 3))])
            await peer.wait(lambda: {"u2", "u3"} <= set(peer.finished()))
            assert await peer.get_data(address, ["u2", "u3"]) == {"u2": 24, "u3": -3}
            with pytest.raises(SyntaxError):
                await peer.request(address, {"op": "upload-file", "filename": "broken_upload.py",
                                             "data": b"def f(:\n"})
            peer.send(address, {"op": "close", "reason": "done", "restart": False})
            assert await wait_process(proc, 10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        await peer.stop()
    run(main())


def test_exit_status_75_to_restart_0_to_close_and_on_sigterm():
    async def main():
        peer = await SchedulerPeer().start()
        procs = [start_worker_process(peer.address, "--name", name) for name in ("restart", "close", "term")]
        try:
            await peer.wait(lambda: len(peer.registrations) == 3, timeout=20)
            by_name = {r["name"]: r for r in peer.registrations}
            directory = by_name["term"]["local_directory"]
            assert os.path.isdir(directory)
            peer.send(by_name["restart"]["address"], {"op": "close", "reason": "test", "restart": True})
            peer.send(by_name["close"]["address"], {"op": "close", "reason": "test", "restart": False})
            procs[2].send_signal(signal.SIGTERM)
            assert [await wait_process(p, 10) for p in procs] == [75, 0, 0]
            assert not os.path.exists(directory)
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
        await peer.stop()
    run(main())


def test_death_timeout_exits_when_no_scheduler_comes_back():
    async def main():
        peer = await SchedulerPeer().start()
        proc = start_worker_process(peer.address, "--death-timeout", "0.5", stderr=subprocess.PIPE)
        try:
            await peer.wait(lambda: peer.registrations, timeout=20)
            await peer.stop()
            start = time.monotonic()
            assert await wait_process(proc, 15) == 69
            assert time.monotonic() - start < 8
            assert b"death timeout" in proc.stderr.read()
        finally:
            if proc.poll() is None:
                proc.kill()
    run(main())


# ---------------------------------------------------------------------------------------- speed


async def _throughput(peer: SchedulerPeer, address: str, ntasks: int, window: int | None) -> float:
    """Tasks per second of trivial tasks through one worker, scheduler-like if ``window``:
    at most ``window`` tasks out, each finished key freed."""
    prefix = f"inc-{window}"
    entries = [peer.entry(f"{prefix}-{i}", inc, (i,), priority=(i,)) for i in range(ntasks)]
    done = 0
    seen = len(peer.received)
    start = time.perf_counter()
    sent = len(entries) if window is None else window
    peer.execute(address, entries[:sent])
    while done < ntasks:
        await peer.wait(lambda: len(peer.received) > seen, timeout=30)
        new = [m for _, m in peer.received[seen:] if m["op"] == "task-finished"]
        seen = len(peer.received)
        done += len(new)
        if window is not None:
            peer.send(address, {"op": "free-keys", "keys": [m["key"] for m in new]})
            more = entries[sent:sent + len(new)]
            sent += len(more)
            if more:
                peer.execute(address, more)
    return ntasks / (time.perf_counter() - start)


def test_throughput_of_trivial_tasks_through_one_worker_process(capsys):
    async def main():
        peer = await SchedulerPeer().start()
        proc = start_worker_process(peer.address)
        try:
            await peer.wait(lambda: peer.registrations, timeout=20)
            address = peer.registrations[0]["address"]
            peer.execute(address, [peer.entry("warm-up", inc, (0,))])
            await peer.wait(lambda: "warm-up" in peer.finished())
            process = psutil.Process(proc.pid)
            cpu = sum(process.cpu_times()[:2])
            rates = (await _throughput(peer, address, 10_000, None),
                     await _throughput(peer, address, 10_000, 100),
                     (sum(process.cpu_times()[:2]) - cpu) / 20_000)
            peer.send(address, {"op": "close", "reason": "done", "restart": False})
            assert await wait_process(proc, 10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        await peer.stop()
        return rates
    all_at_once, windowed, cpu_per_task = run(main())
    with capsys.disabled():
        print(f"\n[worker throughput] 10,000 trivial tasks: {all_at_once:,.0f}/s sent at once, "
              f"{windowed:,.0f}/s with 100 out at a time and free-keys; worker CPU "
              f"{cpu_per_task * 1e6:.0f} us/task")
    assert all_at_once > 3000 and windowed > 2000  # (machines are shared: a loose floor)
