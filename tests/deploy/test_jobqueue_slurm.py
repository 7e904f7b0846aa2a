"""SLURMCluster on a real one-node SLURM: scale, whole-job retirement, close, seed 002 and 003."""

import json
import subprocess
import sys
import textwrap
import time
import urllib.request

import numpy as np
import pytest

from teem.distributed import Client
from teem.jobqueue import SLURMCluster

pytestmark = pytest.mark.timeout(120)


def squeue() -> list:
    return subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()


@pytest.fixture
def no_jobs_left(slurm):
    yield
    assert squeue() == [], "a test left jobs in squeue"


def test_scale_retire_whole_jobs_and_close(no_jobs_left, tmp_path):
    cluster = SLURMCluster(cores=2, processes=2, memory="2GiB", walltime="00:10:00",
                           local_directory=str(tmp_path), log_directory=str(tmp_path / "logs"))
    with cluster:
        assert "Workers: 0, Cores: 0" in cluster._repr_html_()
        start = time.monotonic()
        cluster.scale(3)  # 3 workers round up to 2 jobs of 2
        cluster.wait_for_workers(4, timeout=60)
        print(f"\nscale(3) -> 4 workers connected in {time.monotonic() - start:.2f} s")
        jobs = cluster.jobs
        assert len(jobs) == 2 and set(jobs) <= set(squeue())
        names = sorted(w["name"] for w in cluster.scheduler.workers.values())
        assert names == sorted(f"SLURMCluster-{j}-{i}" for j in jobs for i in (0, 1))
        assert "Workers: 4, Cores: 4, Memory: 4.00 GiB" in cluster._repr_html_()
        assert "workers=4, threads=4" in repr(cluster)
        with urllib.request.urlopen(cluster.dashboard_link.rsplit("/", 1)[0] + "/api/status", timeout=10) as page:
            assert len(json.load(page)["workers"]) == 4  # seed 003 watches the workers view

        with Client(cluster) as client:
            start = time.monotonic()
            futures = client.map(lambda x: x * x, range(500))  # a lambda travels by value
            assert sum(client.gather(futures)) == sum(x * x for x in range(500))
            print(f"client.map of 500 tasks: {500 / (time.monotonic() - start):.0f} tasks/s")

            kept = client.map(lambda x: x * 10, range(20))
            client.gather(kept)  # results held on all four workers
            cluster.scale(jobs=1)  # the newest job's two workers retire together, then it is cancelled
            assert cluster.jobs == jobs[:1]
            deadline = time.monotonic() + 20
            while jobs[1] in squeue() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert jobs[1] not in squeue()
            names = sorted(w["name"] for w in cluster.scheduler.workers.values())
            assert names == [f"SLURMCluster-{jobs[0]}-0", f"SLURMCluster-{jobs[0]}-1"]
            assert sum(client.gather(client.map(lambda x: x + 1, range(50)))) == sum(range(1, 51))
            assert client.gather(kept) == [x * 10 for x in range(20)]  # moved (or recomputed)

            cluster.scale(cores=4)  # 2 jobs again
            cluster.scale(memory="3GiB")  # still 2 jobs (2 GiB each)
            assert len(cluster.jobs) == 2
            cluster.wait_for_workers(4, timeout=60)
            cluster.scale(memory="1GiB")  # 1 job
            assert len(cluster.jobs) == 1
    assert cluster.status == "closed"  # and no_jobs_left checks squeue


def test_close_cancels_pending_and_running_jobs(no_jobs_left, tmp_path):
    cluster = SLURMCluster(cores=4, processes=1, memory="1GB", walltime="00:10:00",
                           local_directory=str(tmp_path), log_directory=str(tmp_path))
    cluster.scale(jobs=3)  # 8 CPUs: two run, the third waits
    cluster.wait_for_workers(2, timeout=60)
    assert len(cluster.pending_jobs()) == 1 and len(set(cluster.jobs) & set(squeue())) == 3
    start = time.monotonic()
    cluster.close()
    assert squeue() == []
    print(f"\nclose() with 3 jobs: squeue empty after {time.monotonic() - start:.2f} s")


def test_seed_002_scheduler_file_launch_under_sbatch(no_jobs_left, tmp_path):
    """Seed 002's dask_file.slurm: a scheduler in the job, `srun teem worker`, and a client script."""
    sched = tmp_path / "scheduler.json"
    result = tmp_path / "result.txt"
    client_script = tmp_path / "client.py"
    client_script.write_text(textwrap.dedent(f"""
        from teem.distributed import Client
        with Client(scheduler_file={str(sched)!r}) as client:
            client.wait_for_workers(2)
            total = sum(client.gather(client.map(lambda x: x + 1, range(100))))
            workers = len(client.scheduler_info()["workers"])
            open({str(result)!r}, "w").write(f"{{total}} {{workers}}")
            client.shutdown()
    """))
    job = tmp_path / "teem_file.slurm"
    job.write_text(textwrap.dedent(f"""\
        #!/usr/bin/env bash
        #SBATCH -J teem-file
        #SBATCH -n 2
        #SBATCH --cpus-per-task=1
        #SBATCH --mem-per-cpu=500
        #SBATCH -t 00:05:00
        #SBATCH -o {tmp_path}/job-%j.out
        SCHED_FILE={sched}
        {sys.executable} -m teem scheduler --scheduler-file=$SCHED_FILE &
        MEM=400
        srun {sys.executable} -m teem worker --local-directory=/tmp --no-nanny \\
            --nthreads=${{SLURM_CPUS_PER_TASK}} --scheduler-file=$SCHED_FILE --memory-limit=${{MEM}}M &
        {sys.executable} {client_script}
        wait
    """))
    out = subprocess.run(["sbatch", "--parsable", str(job)], capture_output=True, text=True, check=True)
    job_id = out.stdout.strip().split(";")[0]
    deadline = time.monotonic() + 90
    while job_id in squeue() and time.monotonic() < deadline:
        time.sleep(0.2)
    log = "".join(p.read_text() for p in tmp_path.glob("job-*.out"))
    if job_id in squeue():
        subprocess.run(["scancel", job_id])
        pytest.fail(f"the job did not end within 90 s; its output:\n{log}")
    assert result.read_text() == f"{sum(range(1, 101))} 2", log


def calc_pi_mc(size_in_bytes, chunksize_in_bytes):
    """Seed 003's Monte-Carlo pi with teem.array."""
    import teem.array as da

    size = int(size_in_bytes / 8)
    chunksize = int(chunksize_in_bytes / 8)
    xy = da.random.uniform(0, 1, size=(size // 2, 2), chunks=(chunksize // 2, 2))
    in_circle = (xy ** 2).sum(axis=-1) < 1
    return 4 * in_circle.mean()


def test_seed_003_session(no_jobs_left, tmp_path, capsys):
    cluster = SLURMCluster(cores=2, processes=1, memory="1GB", queue="debug", walltime="00:10:00",
                           local_directory=str(tmp_path), log_directory=str(tmp_path))
    with cluster, Client(cluster) as client:
        print(cluster.job_script())
        assert "#SBATCH --cpus-per-task=2\n" in capsys.readouterr().out
        assert "Workers: 0, Cores: 0, Memory: 0 B" in cluster._repr_html_()
        cluster.scale(jobs=2)
        cluster.wait_for_workers(2, timeout=60)
        assert len(cluster.scheduler.workers) == 2
        assert "Workers: 2, Cores: 4, Memory: 1.86 GiB" in cluster._repr_html_()
        pi = calc_pi_mc(8e6, 1e6).compute()  # the Client is the default scheduler
        assert abs(pi - np.pi) < 0.01
        assert abs(client.compute(calc_pi_mc(8e6, 1e6)).result() - np.pi) < 0.01

        new_num_workers = 2 * len(cluster.scheduler.workers)
        cluster.scale(new_num_workers)
        cluster.wait_for_workers(new_num_workers, timeout=60)
        assert "Workers: 4, Cores: 8, Memory: 3.73 GiB" in cluster._repr_html_()
        pi = calc_pi_mc(8e6, 1e6).compute()
        assert abs(pi - np.pi) < 0.01

        cluster.adapt(minimum_jobs=1, maximum_jobs=3, interval=0.3, wait_count=3)
        deadline = time.monotonic() + 20
        while len(cluster.jobs) > 1 and time.monotonic() < deadline:  # idle: down to the minimum
            time.sleep(0.1)
        assert len(cluster.jobs) == 1
        assert abs(calc_pi_mc(8e6, 1e6).compute() - np.pi) < 0.01
        adaptive = cluster.adaptive
        cluster.scale(jobs=2)  # a manual scale ends adaptive scaling, as in Dask
        assert cluster.adaptive is None and not adaptive._thread.is_alive()
        assert len(cluster.jobs) == 2
