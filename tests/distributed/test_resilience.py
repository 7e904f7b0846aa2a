"""Workers that die cost time, not results: real worker processes killed with real signals."""

import os
import signal
import time

import pytest

from teem.distributed import Client, KilledWorker, LocalCluster

pytestmark = pytest.mark.timeout(240)


def slow_square(x):
    time.sleep(0.1)
    return x * x


def crash(x):
    os._exit(3)


def test_sigkilled_worker_costs_time_not_results():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        futures = client.map(slow_square, range(40))
        time.sleep(0.6)  # some results are held by each worker by now
        victim = sorted(pids.values())[0]
        os.kill(victim, signal.SIGKILL)
        assert client.gather(futures) == [x * x for x in range(40)]
        # the nanny started a new worker in place of the dead one
        client.wait_for_workers(2, timeout=60)
        assert victim not in client.run(os.getpid).values()


def test_task_that_kills_three_workers_fails_with_killed_worker():
    with LocalCluster(n_workers=1, threads_per_worker=1) as cluster, Client(cluster) as client:
        future = client.submit(crash, 1)
        with pytest.raises(KilledWorker, match="crash-"):
            future.result(timeout=120)
        assert client.submit(slow_square, 3).result(timeout=60) == 9  # the cluster still works


def test_hung_worker_is_noticed_by_heartbeats():
    with LocalCluster(n_workers=2, threads_per_worker=1,
                      scheduler_kwargs={"heartbeat_timeout": 2.0}) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        address, victim = sorted(pids.items())[0]
        os.kill(victim, signal.SIGSTOP)
        try:
            futures = client.map(slow_square, range(10))
            assert client.gather(futures) == [x * x for x in range(10)]
            deadline = time.monotonic() + 15
            while address in client.scheduler_info()["workers"] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert address not in client.scheduler_info()["workers"]
        finally:
            os.kill(victim, signal.SIGCONT)
