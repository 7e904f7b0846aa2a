"""SLURMCluster timings on the one-node SLURM of ../shared/tools (needs root; starts SLURM).

    .venv/bin/python bench/bench_jobqueue.py [--quick]

Prints one line per figure: scale(2) to both workers connected; adapt seeing load to the
first new worker; idle to every job gone; tasks/s of client.map through SLURM-launched workers.
(No Dask column: dask_jobqueue is not installed here.)
"""

from __future__ import annotations

import pathlib
import subprocess
import sys
import tempfile
import time

TOOLS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "tools"


def main(quick: bool) -> None:
    from teem.distributed import Client
    from teem.jobqueue import SLURMCluster

    subprocess.run([TOOLS / "start-slurm"], check=True, capture_output=True, timeout=600)
    ntasks = 1000 if quick else 10000
    with tempfile.TemporaryDirectory() as tmp:
        with SLURMCluster(cores=1, processes=1, memory="1GB", local_directory=tmp,
                          log_directory=tmp) as cluster, \
                Client(cluster) as client:
            start = time.monotonic()
            cluster.scale(2)
            cluster.wait_for_workers(2, timeout=60)
            print(f"jobqueue scale(2) -> 2 workers connected: {time.monotonic() - start:.2f} s")
            client.gather(client.map(lambda x: x, range(10)))  # warm up
            start = time.monotonic()
            assert sum(client.gather(client.map(lambda x: x + 1, range(ntasks)))) == ntasks * (ntasks + 1) // 2
            print(f"jobqueue client.map {ntasks} tasks: {ntasks / (time.monotonic() - start):.0f} tasks/s")
        with SLURMCluster(cores=4, processes=4, memory="2GB", local_directory=tmp,
                          log_directory=tmp) as cluster, \
                Client(cluster) as client:
            cluster.adapt(minimum_jobs=0, maximum_jobs=1, interval=0.5, wait_count=4)
            start = time.monotonic()
            futures = client.map(lambda x: (time.sleep(0.1), x)[1], range(40))
            client.wait_for_workers(1, timeout=60)
            print(f"jobqueue adapt load -> first worker: {time.monotonic() - start:.2f} s "
                  "(interval 0.5 s)")
            client.gather(futures)
            idle = time.monotonic()
            while cluster.jobs or subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout.strip():
                time.sleep(0.05)
            print(f"jobqueue adapt idle -> every job gone: {time.monotonic() - idle:.2f} s "
                  "(interval 0.5 s x wait_count 4)")


if __name__ == "__main__":
    main("--quick" in sys.argv)
