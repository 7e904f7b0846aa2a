"""The seeds' distributed examples, as users write them, with small sizes and asserted results.

Seed 001 §3.2 (map, caching), §5.3 (dask.compute on a LocalCluster, also as a script), §5.4
(scheduler by address, upload_file, shutdown), §6.4 (a delayed array shared by 20 tasks), §7
(40 tasks); seed 002 (scheduler file written by `teem scheduler`, workers by `teem worker`, a
Client given cluster options it does not use, wait_for_workers, scheduler_info).
"""

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import teem as dask
from calc_mean import calc_mean, calc_mean_vargs, expected
from teem.distributed import Client, LocalCluster
from teem.distributed.security import read_scheduler_file

HERE = Path(__file__).parent
N = 10_000
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def cluster_client():
    cluster = LocalCluster(n_workers=4)
    c = Client(cluster)
    yield cluster, c
    c.close()
    cluster.close()


def test_3_2_map_and_its_caching(cluster_client):
    cluster, c = cluster_client
    p = 8
    inputs = [(i, N) for i in range(p)]
    future = c.map(calc_mean_vargs, inputs)
    results = c.gather(future)
    for i, r in enumerate(results):
        assert list(r) == pytest.approx(expected(i, N))
    again = c.map(calc_mean_vargs, inputs)
    assert all(a is b for a, b in zip(future, again))  # the caching the tutorial observed


def test_5_3_dask_compute_runs_on_the_cluster(cluster_client):
    cluster, _ = cluster_client
    dask.config.set(scheduler="processes", num_workers=4)  # set earlier in the tutorial (§3.1)
    c = Client(cluster)  # ... and then the tutorial makes its client: it becomes the default
    p = 8
    futures = [dask.delayed(calc_mean)(i, N) for i in range(p)]
    results = dask.compute(futures)
    for i, r in enumerate(results[0]):
        assert list(r) == pytest.approx(expected(i, N))
    worker_pids = set(c.run(os.getpid).values())
    pids = dask.compute([dask.delayed(os.getpid, pure=False)() for _ in range(8)])[0]
    assert set(pids) <= worker_pids  # ran on the cluster's workers, not on a local pool
    c.close()
    assert dask.config.get("scheduler") == "processes"  # the earlier choice is back


def test_6_4_delayed_array_shared_by_20_tasks(cluster_client):
    rng = np.random.default_rng(0)
    x = rng.normal(size=400_000)
    expected_mean = np.mean(x)
    x = dask.delayed(x)  # here we delay the data

    def calc(x, i):
        return np.mean(x)
    out = [dask.delayed(calc)(x, i) for i in range(20)]
    output = dask.compute(out)
    assert output[0] == [pytest.approx(expected_mean)] * 20


def test_7_forty_tasks(cluster_client):
    p = 40
    futures = [dask.delayed(calc_mean)(i, 2000) for i in range(p)]
    results = dask.compute(futures)
    assert len(results[0]) == 40


def run_script(code: str, tmp_path: Path, env=None, timeout=180):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), *sys.path]),
                               **(env or {})})


def test_5_3_as_a_script(tmp_path):
    proc = run_script("""
        import time
        import teem as dask
        from teem.distributed import Client, LocalCluster

        if __name__ == '__main__':
            from calc_mean import *
            n, p = 10000, 4
            cluster = LocalCluster(n_workers = 4)
            c = Client(cluster)

            futures = [dask.delayed(calc_mean)(i, n) for i in range(p)]
            t0 = time.time()
            results = dask.compute(futures)
            print(len(results[0]), time.time() - t0)
        """, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "4"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "teem", *args], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, **(env or {})})


def stop(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()


def test_seed_002_scheduler_file_launch(tmp_path):
    sched_file = tmp_path / "1234.sched"
    procs = [start("scheduler", "--port", "0", f"--scheduler-file={sched_file}")]
    try:
        read_scheduler_file(sched_file, timeout=60)
        for _ in range(2):  # srun dask-worker --local-directory=/tmp --no-nanny ...
            procs.append(start("worker", f"--local-directory={tmp_path}", "--no-nanny", "--nthreads=1",
                               f"--scheduler-file={sched_file}", "--memory-limit=2000M"))
        proc = run_script("""
            import os
            from teem.distributed import Client

            if __name__ == '__main__':
                p = int(os.getenv('SLURM_CPUS_PER_TASK'))
                mem = os.getenv('SLURM_MEM_PER_CPU')
                mem = str(int(mem)*p)+'MB'
                sched_file = os.getenv('SLURM_JOB_ID')+'.sched'
                client = Client(scheduler_file=sched_file, nthreads=p, local_directory='/tmp', memory_limit=mem)
                N = int(os.getenv('SLURM_NTASKS'))
                client.wait_for_workers(n_workers=N)
                num_workers = len(client.scheduler_info()['workers'])
                print("workers", num_workers)
                print("memory", sorted(w['memory_limit'] for w in client.scheduler_info()['workers'].values()))
            """, tmp_path, env={"SLURM_CPUS_PER_TASK": "1", "SLURM_MEM_PER_CPU": "1000", "SLURM_JOB_ID": "1234",
                                "SLURM_NTASKS": "2"})
        assert proc.returncode == 0, proc.stderr
        assert "workers 2" in proc.stdout
        assert "memory [2000000000, 2000000000]" in proc.stdout
        assert proc.stderr.count("not used") == 1  # the unused options: said once, not an error
    finally:
        stop(procs)


def test_5_4_client_by_address_upload_file_and_shutdown(tmp_path):
    port = free_port()
    config = tmp_path / "config"
    env = {"TEEM_CONFIG_DIR": str(config)}
    procs = [start("scheduler", "--port", str(port), env=env)]
    try:
        deadline = time.monotonic() + 60
        while not list(config.glob("clusters/*")):  # the scheduler is up and remembered its secret
            assert time.monotonic() < deadline, "scheduler did not start"
            time.sleep(0.05)
        procs.append(start("worker", f"127.0.0.1:{port}", "--nthreads", "1", env=env))
        procs.append(start("worker", f"127.0.0.1:{port}", "--nthreads", "1", env=env))
        (tmp_path / "calc_mean.py").write_text((HERE / "calc_mean.py").read_text())
        proc = run_script(f"""
            import os
            import teem as dask
            from teem.distributed import Client
            c = Client(address = os.getenv('SCHED') + ':{port}')
            c.wait_for_workers(2, timeout=60)
            c.upload_file('calc_mean.py')  # make module accessible to workers
            from calc_mean import calc_mean
            n = 10000
            p = 4
            futures = [dask.delayed(calc_mean)(i, n) for i in range(p)]
            results = dask.compute(futures)
            print(len(results[0]))
            c.shutdown()
            """, tmp_path, env={**env, "SCHED": "127.0.0.1", "PYTHONPATH": os.pathsep.join(sys.path)})
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["4"]
        for p in procs:  # shutdown stops the scheduler and the workers (and their nannies)
            p.wait(30)
    finally:
        stop(procs)
