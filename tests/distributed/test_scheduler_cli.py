"""``teem scheduler`` as a real process: scheduler file, remembered secret, port in use, SIGTERM."""

import os
import signal
import socket
import subprocess
import sys

import pytest

from teem.distributed import Client
from teem.distributed.security import read_scheduler_file

pytestmark = pytest.mark.timeout(120)


def start_scheduler(tmp_path, *args, env=None):
    return subprocess.Popen([sys.executable, "-m", "teem", "scheduler", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TEEM_CONFIG_DIR": str(tmp_path / "config"), **(env or {})})


def test_scheduler_file_address_lookup_and_clean_stop(tmp_path, monkeypatch):
    path = tmp_path / "sched.json"
    proc = start_scheduler(tmp_path, "--port", "0", "--scheduler-file", str(path))
    try:
        info = read_scheduler_file(path, timeout=30)
        assert info["address"].startswith("tcp://127.0.0.1:")
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        with Client(scheduler_file=str(path)) as client:
            assert client.scheduler_info()["id"] == info["id"]
        # by address alone: the secret this user's scheduler remembered on this machine
        monkeypatch.setenv("TEEM_CONFIG_DIR", str(tmp_path / "config"))
        monkeypatch.delenv("TEEM_SECRET", raising=False)
        with Client(info["address"]) as client:
            assert client.scheduler_info()["address"] == info["address"]
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "Scheduler at: tcp://127.0.0.1:" in out
        assert not path.exists()  # removed on a clean stop
    finally:
        proc.kill()


def test_port_in_use_is_a_clear_error(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = start_scheduler(tmp_path, "--port", str(port))
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"127.0.0.1:{port}" in err and "--port" in err
