"""Job scripts of SLURM, PBS, SGE and LSF clusters, and the checks made before any submission."""

import os
import stat
import subprocess
import sys

import pytest

from teem.jobqueue import LSFCluster, PBSCluster, SGECluster, SLURMCluster

pytestmark = pytest.mark.timeout(60)

COMMON = dict(cores=4, processes=2, memory="8GiB", queue="debug", walltime="01:30:00",
              job_extra_directives=["--exclusive"], job_script_prologue=["module load python"],
              death_timeout=30)


def _worker_line(cluster, job_variable):
    return (f"{sys.executable} -m teem worker --scheduler-file {cluster.scheduler_file} --nthreads 2 "
            f"--nworkers 2 --memory-limit {4 * 2 ** 30} --name {cluster.name}-${{{job_variable}}} "
            f"--host 127.0.0.1 --local-directory {cluster.local_directory} --death-timeout 30")


def test_slurm_job_script(slurm, tmp_path):
    with SLURMCluster(**COMMON, account="proj1", log_directory=str(tmp_path / "logs"),
                      local_directory=str(tmp_path), host="127.0.0.1") as cluster:
        logs = tmp_path / "logs"
        assert cluster.job_script() == "\n".join([
            "#!/usr/bin/env bash", "",
            "#SBATCH -J teem-worker",
            f"#SBATCH -e {logs}/teem-worker-%J.err",
            f"#SBATCH -o {logs}/teem-worker-%J.out",
            "#SBATCH -p debug", "#SBATCH -A proj1", "#SBATCH -n 1", "#SBATCH --cpus-per-task=4",
            "#SBATCH --mem=8G", "#SBATCH -t 01:30:00", "#SBATCH --exclusive", "",
            "module load python", _worker_line(cluster, "SLURM_JOB_ID"), ""])
        # The scheduler file is private (0600 in a 0700 directory) and the script has no secret.
        assert stat.S_IMODE(os.stat(cluster.scheduler_file).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(cluster.scheduler_file)).st_mode) == 0o700
        assert cluster.security.secret not in cluster.job_script()
        assert cluster.jobs == [] and not subprocess.run(["squeue", "-h"], capture_output=True,
                                                         text=True).stdout.strip()
    assert not os.path.exists(cluster.scheduler_file)  # removed on close


def test_seed_003_parameters_old_names(slurm, tmp_path):
    """Dask-jobqueue's old names (job_extra, env_extra, project) and its seed-003 defaults."""
    with SLURMCluster(cores=8, processes=2, memory="120GB", walltime="00:10:00", project="p",
                      job_extra=["--qos=short"], env_extra=["export A=1"], local_directory=str(tmp_path),
                      python="singularity exec image.sif python") as cluster:
        script = cluster.job_script()
        assert "#SBATCH --mem=112G\n" in script and "#SBATCH -A p\n" in script
        assert "#SBATCH --qos=short\n" in script and "\nexport A=1\n" in script
        assert "\nsingularity exec image.sif python -m teem worker " in script
        assert "--nthreads 4 --nworkers 2 --memory-limit 60000000000 " in script


def test_pbs_sge_lsf_job_scripts(tmp_path):
    logs = str(tmp_path / "logs")
    kw = dict(COMMON, project="proj1", log_directory=logs, local_directory=str(tmp_path), host="127.0.0.1")
    with PBSCluster(**kw) as pbs:
        assert pbs.job_script() == "\n".join([
            "#!/usr/bin/env bash", "", "#PBS -N teem-worker", "#PBS -q debug", "#PBS -A proj1",
            "#PBS -l select=1:ncpus=4:mem=8GB", "#PBS -l walltime=01:30:00", f"#PBS -e {logs}/",
            f"#PBS -o {logs}/", "#PBS --exclusive", "", "module load python",
            _worker_line(pbs, "PBS_JOBID"), ""])
    with SGECluster(**kw) as sge:
        assert sge.job_script() == "\n".join([
            "#!/usr/bin/env bash", "", "#$ -N teem-worker", "#$ -q debug", "#$ -P proj1", "#$ -pe smp 4",
            "#$ -l h_vmem=2GB", "#$ -l h_rt=01:30:00", f"#$ -e {logs}/", f"#$ -o {logs}/", "#$ -cwd",
            "#$ --exclusive", "", "module load python", _worker_line(sge, "JOB_ID"), ""])
    with LSFCluster(**kw) as lsf:
        assert lsf.job_script() == "\n".join([
            "#!/usr/bin/env bash", "", "#BSUB -J teem-worker", f"#BSUB -e {logs}/teem-worker-%J.err",
            f"#BSUB -o {logs}/teem-worker-%J.out", "#BSUB -q debug", "#BSUB -P proj1", "#BSUB -n 4",
            '#BSUB -R "span[hosts=1]"', "#BSUB -M 8192MB", "#BSUB -W 01:30", "#BSUB --exclusive", "",
            "module load python", _worker_line(lsf, "LSB_JOBID"), ""])


def test_checks_before_submission(slurm, tmp_path):
    before = set(os.listdir(tmp_path))
    with pytest.raises(ValueError, match=r"needs memory= \(memory per job"):
        SLURMCluster(cores=2, local_directory=str(tmp_path))
    with pytest.raises(ValueError, match=r"processes=3 must divide cores=4.*\[1, 2, 4\]"):
        SLURMCluster(cores=4, processes=3, memory="1GB", local_directory=str(tmp_path))
    with pytest.raises(ValueError, match=r"cores=16 per job, but the nodes of partition 'debug' have 8 CPUs"):
        SLURMCluster(cores=16, memory="1GB", queue="debug", local_directory=str(tmp_path))
    with pytest.raises(ValueError, match=r"partition 'nosuch' does not exist; sinfo lists \['debug'\]"):
        SLURMCluster(cores=2, memory="1GB", queue="nosuch", local_directory=str(tmp_path))
    with pytest.raises(ValueError, match="network interface 'nosuch0' not found"):
        SLURMCluster(cores=2, memory="1GB", interface="nosuch0", local_directory=str(tmp_path))
    # Nothing was started or written, nothing submitted.
    assert set(os.listdir(tmp_path)) == before
    assert not subprocess.run(["squeue", "-h"], capture_output=True, text=True).stdout.strip()
