"""``teem worker`` and its nanny: real processes, real signals, a stand-in scheduler."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

from teem.core.sizes import machine_memory
from teem.distributed.security import write_scheduler_file

from .worker_peer import SECRET, SchedulerPeer

pytestmark = pytest.mark.timeout(60)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 50))


def teem_worker(*args: str, secret: str | None = SECRET, **popen) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("TEEM_SECRET", None)
    if secret is not None:
        env["TEEM_SECRET"] = secret
    env.update(popen.pop("env", {}))
    return subprocess.Popen([sys.executable, "-m", "teem", "worker", *args], env=env,
                            stdin=subprocess.DEVNULL, **popen)


async def wait_process(proc: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"process {proc.pid} did not exit within {timeout} s")
        await asyncio.sleep(0.05)
    return proc.returncode


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_nanny_restarts_a_sigkilled_worker_and_stops_on_sigterm():
    async def main():
        peer = await SchedulerPeer().start()
        nanny = teem_worker(peer.address, "--nthreads", "1", "--name", "n1")
        try:
            await peer.wait(lambda: peer.registrations, timeout=20)
            first = peer.registrations[0]
            assert first["nanny"] is True and first["name"] == "n1" and first["pid"] != nanny.pid
            os.kill(first["pid"], signal.SIGKILL)
            await peer.wait(lambda: len(peer.registrations) == 2, timeout=20, what="a new worker")
            second = peer.registrations[1]
            assert second["pid"] != first["pid"] and second["name"] == "n1"
            nanny.send_signal(signal.SIGTERM)
            assert await wait_process(nanny, 15) == 0
            assert gone(second["pid"])
        finally:
            if nanny.poll() is None:
                nanny.kill()
        await peer.stop()
    run(main())


def test_close_with_restart_starts_a_new_worker_and_close_ends_the_nanny():
    async def main():
        peer = await SchedulerPeer().start()
        nanny = teem_worker(peer.address, "--nthreads", "1")
        try:
            await peer.wait(lambda: peer.registrations, timeout=20)
            first = peer.registrations[0]
            peer.send(first["address"], {"op": "close", "reason": "restart", "restart": True})
            await peer.wait(lambda: len(peer.registrations) == 2, timeout=20, what="a fresh worker")
            second = peer.registrations[1]
            assert second["pid"] != first["pid"] and gone(first["pid"])
            peer.send(second["address"], {"op": "close", "reason": "retired", "restart": False})
            assert await wait_process(nanny, 15) == 0
            assert len(peer.registrations) == 2
        finally:
            if nanny.poll() is None:
                nanny.kill()
        await peer.stop()
    run(main())


def test_scheduler_file_nworkers_split_memory_and_no_nanny(tmp_path):
    async def main():
        peer = await SchedulerPeer(secret="from-the-file-" + "f" * 20).start()
        path = tmp_path / "scheduler.json"
        write_scheduler_file(path, {"address": peer.address, "secret": peer.secret, "id": "peer"})
        proc = teem_worker("--scheduler-file", str(path), "--nworkers", "2", "--nthreads", "1",
                           "--memory-limit", "auto", "--name", "w", "--no-nanny",
                           "--local-directory", str(tmp_path / "space"), secret=None)
        try:
            await peer.wait(lambda: len(peer.registrations) == 2, timeout=20)
            by_name = {r["name"]: r for r in peer.registrations}
            assert sorted(by_name) == ["w-0", "w-1"]
            for reg in by_name.values():
                assert reg["nanny"] is False and reg["nthreads"] == 1
                assert reg["memory_limit"] == pytest.approx(machine_memory() // 2, rel=0.01)
                assert reg["local_directory"].startswith(str(tmp_path / "space"))
            for reg in by_name.values():
                peer.send(reg["address"], {"op": "close", "reason": "done", "restart": False})
            assert await wait_process(proc, 15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        await peer.stop()
    run(main())


def test_no_nanny_single_worker_runs_in_the_command_process():
    async def main():
        peer = await SchedulerPeer().start()
        proc = teem_worker(peer.address, "--no-nanny", "--memory-limit", "0")
        try:
            await peer.wait(lambda: peer.registrations, timeout=20)
            [reg] = peer.registrations
            assert reg["pid"] == proc.pid and reg["nanny"] is False and reg["memory_limit"] is None
            os.kill(proc.pid, signal.SIGKILL)  # no nanny: nothing comes back
            await wait_process(proc, 10)
            await asyncio.sleep(0.5)
            assert len(peer.registrations) == 1
        finally:
            if proc.poll() is None:
                proc.kill()
        await peer.stop()
    run(main())


def test_missing_secret_is_a_clear_error(tmp_path):
    proc = teem_worker("tcp://127.0.0.1:8786", secret=None, env={"TEEM_CONFIG_DIR": str(tmp_path)},
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "no secret for the scheduler at tcp://127.0.0.1:8786" in err
    assert "--scheduler-file" in err and "TEEM_SECRET" in err


def test_arguments_are_checked():
    proc = teem_worker(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "ADDRESS or --scheduler-file" in err
    proc = teem_worker("tcp://127.0.0.1:1", "--memory-limit", "lots", stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "--memory-limit" in err


def test_death_timeout_without_a_scheduler_ends_worker_and_nanny_with_69():
    proc = teem_worker("tcp://127.0.0.1:1", "--death-timeout", "0.5", stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 69
    assert "no scheduler at tcp://127.0.0.1:1" in err
    assert err.count("started worker process") == 1  # not restarted


def test_nanny_backs_off_when_its_child_keeps_dying(tmp_path):
    starts = tmp_path / "starts"
    child = [sys.executable, "-c", f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(3)"]
    nanny = subprocess.Popen([sys.executable, "-c",
                              "import sys; from teem.distributed.worker.nanny import Nanny; "
                              f"sys.exit(Nanny([{child!r}]).run())"], stderr=subprocess.PIPE, text=True)
    time.sleep(1.4)
    nanny.send_signal(signal.SIGTERM)
    _, err = nanny.communicate(timeout=15)
    assert nanny.returncode == 0
    count = len(starts.read_text())
    assert 3 <= count <= 4  # at once, then after 0.5 s and 1 s: not dozens
    assert "ended with status 3" in err and "keeps dying within seconds" in err


def test_teem_help_lists_worker_and_the_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "teem", "--help"], capture_output=True, text=True,
                         timeout=30).stdout
    assert "worker" in out and "start workers" in out
    script = os.path.join(os.path.dirname(sys.executable), "teem-worker")
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.startswith("usage: teem-worker")
    assert "--scheduler-file" in proc.stdout and "--no-nanny" in proc.stdout
