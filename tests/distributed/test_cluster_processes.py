"""LocalCluster's processes: the scheduler runs in a child process, and nothing outlives its parent."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from teem.distributed import Client, LocalCluster

pytestmark = pytest.mark.timeout(120)


def test_scheduler_runs_in_its_own_process_and_options_reach_it():
    with LocalCluster(n_workers=1, threads_per_worker=1,
                      scheduler_kwargs={"heartbeat_timeout": 3.0, "allowed_failures": 1}) as cluster:
        pid = cluster._scheduler_process.process.pid
        assert pid != os.getpid() and psutil.pid_exists(pid)
        assert "--allowed-failures" in psutil.Process(pid).cmdline()
        with Client(cluster) as client:
            assert client.submit(sum, [1, 2, 3]).result() == 6
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_unknown_scheduler_option_is_named():
    with pytest.raises(TypeError, match="not_an_option"):
        LocalCluster(n_workers=0, scheduler_kwargs={"not_an_option": 1})


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_scheduler_and_workers_end_when_the_parent_is_killed():
    script = textwrap.dedent("""
        import os, sys, time, psutil
        from teem.distributed import LocalCluster
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, death_timeout=3)
        kids = [p.pid for p in psutil.Process().children(recursive=True)]
        print(cluster._scheduler_process.process.pid, *kids, flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    pids = [int(p) for p in parent.stdout.readline().split()]
    scheduler, others = pids[0], pids[1:]
    assert len(others) >= 3  # the scheduler and two workers (with their nannies)
    parent.send_signal(signal.SIGKILL)  # no atexit, no close(): only the children's own watch
    parent.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(_gone(p) for p in pids):
        time.sleep(0.2)
    assert _gone(scheduler), "the scheduler outlived the process that started it"
    assert all(_gone(p) for p in others), "worker processes outlived their cluster"


def test_garbage_to_every_port_of_a_cluster_harms_nothing():
    import random
    sys.path.insert(0, os.path.dirname(__file__))
    from test_scheduler_server import send_garbage

    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        before = client.gather(client.map(abs, range(-10, 0)))
        addresses = [cluster.scheduler_address, *client.scheduler_info()["workers"]]
        rng = random.Random(11)
        for address in addresses:
            send_garbage(address, 300, rng)
        assert len(client.scheduler_info()["workers"]) == 2
        # results held by workers are still fetched from them, and new work runs
        assert client.gather(client.map(abs, range(-10, 0))) == before
        big = client.submit(bytes, 1_000_000)
        assert client.submit(len, big).result(timeout=60) == 1_000_000
