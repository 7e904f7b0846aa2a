"""Memory limits on real worker processes: spill to the local directory, restart above terminate."""

import glob
import os
import time

import numpy as np
import pytest

from teem.distributed import Client, KilledWorker, LocalCluster

pytestmark = pytest.mark.timeout(180)


def block(i, nbytes):
    return np.full(nbytes // 8, float(i))


def hog(nbytes):
    held = np.ones(nbytes // 8)  # touched: resident
    time.sleep(30)
    return float(held.sum())


def test_held_results_over_the_target_spill_to_the_local_directory(tmp_path):
    with LocalCluster(n_workers=1, threads_per_worker=1, memory_limit="400MB",
                      local_directory=str(tmp_path)) as cluster, Client(cluster) as client:
        blocks = [client.submit(block, i, 40_000_000) for i in range(12)]  # 480 MB held
        client.gather(client.map(len, blocks))
        deadline = time.monotonic() + 30
        spilled = 0
        while time.monotonic() < deadline:
            worker = next(iter(client.scheduler_info()["workers"].values()))
            spilled = worker.get("metrics", {}).get("spilled", 0)
            if spilled:
                break
            time.sleep(0.5)
        assert spilled > 0
        assert glob.glob(os.path.join(str(tmp_path), "**", "storage", "*"), recursive=True)
        # every value comes back right, from memory or from disk
        assert client.gather(client.map(lambda b: float(b[0]), blocks)) == [float(i) for i in range(12)]


def test_a_task_over_the_terminate_fraction_restarts_its_worker_and_fails_alone():
    with LocalCluster(n_workers=1, threads_per_worker=2, memory_limit="300MB",
                      scheduler_kwargs={"allowed_failures": 1}) as cluster, Client(cluster) as client:
        before = client.run(os.getpid)
        with pytest.raises(KilledWorker):
            client.submit(hog, 400_000_000).result(timeout=120)
        client.wait_for_workers(1, timeout=60)
        assert client.run(os.getpid) != before  # a fresh worker process (the nanny started it)
        assert client.submit(sum, [1, 2, 3]).result(timeout=60) == 6
