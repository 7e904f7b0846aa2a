"""adapt() on a real SLURM: 4-worker jobs and a 200-task map (issue 7, item 3)."""

import subprocess
import threading
import time

import pytest

from teem.distributed import Client
from teem.jobqueue import SLURMCluster

pytestmark = pytest.mark.timeout(120)


def squeue() -> set:
    return set(subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split())


def test_adapt_multi_worker_jobs_stay_while_work_remains(slurm, tmp_path):
    cluster = SLURMCluster(cores=4, processes=4, memory="2GB", walltime="00:10:00",
                           local_directory=str(tmp_path), log_directory=str(tmp_path / "logs"))
    history = []  # (time, jobs listed by squeue), sampled by a thread during the run
    done = threading.Event()

    def sample():
        while not done.is_set():
            history.append((time.monotonic(), squeue()))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    with cluster, Client(cluster) as client:
        adaptive = cluster.adapt(minimum_jobs=0, maximum_jobs=2, interval=0.5, wait_count=4)
        sampler.start()
        start = time.monotonic()
        futures = client.map(lambda x: (time.sleep(0.2), x * 3)[1], range(200))
        client.wait_for_workers(1, timeout=60)
        first_worker = time.monotonic() - start
        results = client.gather(futures)
        work_done = time.monotonic()
        assert results == [x * 3 for x in range(200)]
        while cluster.jobs and time.monotonic() - work_done < 30:  # idle: every job goes
            time.sleep(0.1)
        while squeue() and time.monotonic() - work_done < 40:
            time.sleep(0.1)
        all_gone = time.monotonic() - work_done
        done.set()
        sampler.join()
        assert cluster.jobs == [] and squeue() == set()

        decisions = adaptive.log
        submitted = {job for _, jobs in history for job in jobs}
        print(f"\nadapt: first worker {first_worker:.2f} s after the load appeared; all {len(submitted)} "
              f"jobs gone {all_gone:.2f} s after the work ended ({len(decisions)} decisions)")
        assert 1 <= len(submitted) <= 2  # jobs started, no more than maximum_jobs ever submitted
        # No job was cancelled while tasks were pending: every job listed during the map stays
        # listed until the map ended, and every scale-down saw no task queued or processing.
        for job in submitted:
            seen = [t for t, jobs in history if job in jobs]
            assert max(seen) >= work_done - 0.3, f"job {job} left squeue while tasks were pending"
        for obs, decision in decisions:
            if decision.target_jobs < obs.running_jobs + obs.pending_jobs:
                assert obs.tasks == 0, decision
        assert any(d.target_jobs == 0 and o.running_jobs for o, d in decisions)  # the idle scale-down
        assert all_gone < 0.5 * 4 + 5  # the patience (interval * wait_count) plus slack
