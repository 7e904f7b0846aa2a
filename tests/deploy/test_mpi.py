"""teem.mpi.initialize under real Open MPI (mpirun) and under SLURM (srun inside sbatch), seed 002."""

import os
import re
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from .conftest import SHARED_TOOLS

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(os.geteuid() != 0, reason="setup-mpi and start-slurm need root")]

# seed 002's dask_mpi_init.py, with teem, and a computation whose result is checked
SCRIPT = textwrap.dedent("""\
    import os, sys
    from teem.mpi import initialize
    from teem.distributed import Client

    if __name__ == '__main__':
        p = int(os.getenv('SLURM_CPUS_PER_TASK', '1'))
        mem = os.getenv('SLURM_MEM_PER_CPU')
        mem = str(int(mem) * p) + 'MB' if mem else '1GB'
        initialize(nthreads=p, local_directory='/tmp', memory_limit=mem)
        client = Client()
        N = int(os.getenv('SLURM_NTASKS', os.getenv('OMPI_COMM_WORLD_SIZE', '4'))) - 2
        client.wait_for_workers(n_workers=N, timeout=60)
        num_workers = len(client.scheduler_info()['workers'])
        total = sum(client.gather(client.map(lambda x: x * x, range(1000))))
        where = set(client.gather(client.map(lambda x: os.getpid(), range(50), pure=False)))
        sys.stdout.write("%d workers available and ready; total=%d; pids=%d\\n"
                         % (num_workers, total, len(where)))
    """)
EXPECTED = re.compile(r"^2 workers available and ready; total=332833500; pids=[12]$", re.M)


@pytest.fixture(scope="module")
def mpi_env():
    out = subprocess.run([SHARED_TOOLS / "setup-mpi", sys.executable], check=True, timeout=600,
                         capture_output=True, text=True).stdout
    env = dict(os.environ)
    for line in out.splitlines():
        if line.startswith("export "):
            env.update(word.split("=", 1) for word in line[len("export "):].split())
    return env


def leftover(script) -> list:
    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        if p.info["status"] != psutil.STATUS_ZOMBIE and str(script) in " ".join(p.info["cmdline"] or ()):
            found.append(p.pid)
    return found


def test_needs_three_ranks(mpi_env):
    # mpi_env first: on a fresh machine it is what installs mpi4py
    result = subprocess.run([sys.executable, "-c", "from teem.mpi import initialize; initialize()"],
                            capture_output=True, text=True, timeout=60, env=mpi_env)
    assert result.returncode != 0 and "at least 3 MPI ranks" in result.stderr


def test_mpirun_four_ranks(mpi_env, tmp_path):
    script = tmp_path / "teem_mpi_init.py"
    script.write_text(SCRIPT)
    start = time.monotonic()
    result = subprocess.run(["mpirun", "-n", "4", sys.executable, str(script)], env=mpi_env,
                            capture_output=True, text=True, timeout=100, cwd=tmp_path)
    elapsed = time.monotonic() - start
    assert result.returncode == 0, result.stderr
    assert EXPECTED.search(result.stdout), (result.stdout, result.stderr)
    assert elapsed < 60
    assert not leftover(script)


def test_srun_inside_sbatch(slurm, mpi_env, tmp_path):
    """seed 002's dask_mpi.slurm: `srun python script.py` in a 4-task job."""
    script = tmp_path / "teem_mpi_init.py"
    script.write_text(SCRIPT)
    out = tmp_path / "job.out"
    (tmp_path / "teem_mpi.slurm").write_text(textwrap.dedent(f"""\
        #!/bin/bash
        #SBATCH -J teem-mpi-test
        #SBATCH --ntasks=4
        #SBATCH --cpus-per-task=1
        #SBATCH --mem-per-cpu=500
        #SBATCH --time=00:03:00
        #SBATCH -o {out}
        srun {sys.executable} {script}
        """))
    result = subprocess.run(["sbatch", "--wait", str(tmp_path / "teem_mpi.slurm")], env=mpi_env,
                            capture_output=True, text=True, timeout=110, cwd=tmp_path)
    text = out.read_text() if out.exists() else ""
    assert result.returncode == 0, (result.stdout, result.stderr, text)
    assert EXPECTED.search(text), text
    job = result.stdout.split()[-1]
    assert subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True,
                          text=True).stdout.strip() in ("", "COMPLETED")
    assert not leftover(script)


def test_client_honours_config_scheduler_address(monkeypatch):
    """What initialize() sets on rank 1 is enough for Client() with no argument."""
    from teem.core import config
    from teem.distributed import Client, LocalCluster
    with LocalCluster(n_workers=1, processes=False) as cluster:
        monkeypatch.setenv("TEEM_SECRET", cluster.security.secret)
        with config.set({"scheduler-address": cluster.scheduler_address}):
            with Client() as client:
                assert client.scheduler_address == cluster.scheduler_address
                assert client.submit(sum, [1, 2, 3]).result() == 6
