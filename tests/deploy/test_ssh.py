"""SSHCluster and `teem ssh` through a real sshd on 127.0.0.1:2222 (../shared/tools/start-sshd)."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

from teem.deploy.ssh import SSHCluster, ssh_command
from teem.deploy.ssh_cli import read_hostfile
from teem.distributed import Client

pytestmark = pytest.mark.timeout(120)


def remote_processes() -> list:
    """Python processes that sshd (the one start-sshd runs) started, at any depth."""
    with open("/tmp/teem-ssh/sshd.pid") as f:
        sshd = psutil.Process(int(f.read()))
    found = []
    for p in sshd.children(recursive=True):
        try:
            if "python" in p.name() and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except psutil.NoSuchProcess:
            pass
    return found


def wait_until_no_remote_processes(timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while remote_processes():
        if time.monotonic() > deadline:
            left = [" ".join(p.cmdline())[:120] for p in remote_processes()]
            raise AssertionError(f"processes left behind on the host: {left}")
        time.sleep(0.1)


def test_ssh_command_options():
    command = ssh_command("node1", {"port": 22, "username": "me", "client_keys": "/k",
                                    "known_hosts": None, "options": {"ConnectTimeout": 5}})
    assert command[-1] == "node1"
    assert command[command.index("-p") + 1] == "22" and command[command.index("-l") + 1] == "me"
    assert command[command.index("-i") + 1] == "/k" and "StrictHostKeyChecking=no" in command
    assert "ConnectTimeout=5" in command
    with pytest.raises(TypeError, match="passphrase"):
        ssh_command("node1", {"passphrase": "x"})


def test_read_hostfile(tmp_path):
    (tmp_path / "hosts").write_text("# cluster\nnode1\n\nnode2  # gpu\nnode3\n")
    assert read_hostfile(tmp_path / "hosts") == ["node1", "node2", "node3"]


def test_sshcluster_map_and_close(sshd):
    double = lambda x: 2 * x  # noqa: E731  (by value: the hosts cannot import this test module)
    start = time.monotonic()
    with SSHCluster(["localhost"] * 3, connect_options=sshd,
                    worker_options={"nthreads": 1, "memory_limit": "1GB"}) as cluster:
        started = time.monotonic() - start
        assert started < 30
        assert "workers=2, threads=2" in repr(cluster)
        assert "Workers: 2, Cores: 2" in cluster._repr_html_()
        with urllib.request.urlopen(cluster.dashboard_link.rsplit("/", 1)[0] + "/api/status", timeout=10) as page:
            assert len(json.load(page)["workers"]) == 2  # the remote scheduler's dashboard
        with Client(cluster) as client:
            assert client.gather(client.map(double, range(200))) == [2 * i for i in range(200)]
            # the secret is on no command line, here or on the host
            for p in remote_processes():
                assert cluster.security.secret not in " ".join(p.cmdline())
        cluster.scale(1)
        assert len(cluster.scheduler.workers) == 1
        assert "Workers: 1, Cores: 1" in cluster._repr_html_()
    wait_until_no_remote_processes()


def test_dropped_connection_leaves_nothing(sshd):
    cluster = SSHCluster(["localhost"] * 2, connect_options=sshd, worker_options={"nthreads": 1})
    try:
        assert len(remote_processes()) >= 2
        # the ssh clients die without a word: the hosts' processes must end by themselves
        for process in [cluster._scheduler_process, *cluster._workers.values()]:
            process.process.kill()
        wait_until_no_remote_processes()
    finally:
        cluster.close(timeout=2)


def test_teem_ssh_command(sshd, tmp_path):
    double = lambda x: 2 * x  # noqa: E731
    file = tmp_path / "scheduler.json"
    path = os.pathsep.join(p for p in sys.path if p)
    proc = subprocess.Popen(
        [sys.executable, "-m", "teem", "ssh", "--scheduler", "localhost", "localhost", "localhost",
         "--ssh-port", "2222", "--ssh-known-hosts", sshd["known_hosts"], "--nthreads", "1",
         "--scheduler-port", "0", "--scheduler-file", str(file), "--no-remember"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": path})
    try:
        line = proc.stdout.readline()
        assert line.startswith("Scheduler at: tcp://127.0.0.1:"), (line, proc.stderr.read() if
                                                                  proc.poll() is not None else "")
        address = line.split(": ", 1)[1].strip()
        with Client(scheduler_file=str(file)) as client:
            assert json.loads(file.read_text())["address"] == address
            client.wait_for_workers(2, timeout=30)
            assert sum(client.gather(client.map(double, range(100)))) == 9900
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    wait_until_no_remote_processes()
