"""``PBSCluster``: workers in PBS Pro / Torque jobs (qsub / qdel / qstat).

Rendering is tested; submission follows the same path as SLURM's but was not run against a
real PBS server here.
"""

from __future__ import annotations

from teem.deploy.jobqueue.core import JobQueueCluster, run_command

__all__ = ["PBSCluster"]


def pbs_memory(n: int) -> str:
    """Bytes as ``mem=`` wants them: whole GB (``16GB``) from 1 GiB up, else MB; rounded up."""
    if n >= 2 ** 30:
        return f"{-(-n // 2 ** 30)}GB"
    return f"{max(1, -(-n // 2 ** 20))}MB"


class PBSCluster(JobQueueCluster):
    """Workers in PBS jobs; parameters as :class:`~teem.deploy.jobqueue.core.JobQueueCluster`."""

    directive_prefix = "#PBS"
    submit_command = ["qsub"]
    cancel_command = ["qdel"]
    job_id_pattern = r"(\d+(?:\.[\w.-]+)?)"
    job_id_variable = "PBS_JOBID"

    def header_lines(self) -> list[str]:
        lines = [f"-N {self.job_name}"]
        if self.queue:
            lines.append(f"-q {self.queue}")
        if self.project:
            lines.append(f"-A {self.project}")
        lines.append(f"-l select=1:ncpus={self.cores}:mem={pbs_memory(self.memory)}")
        if self.walltime:
            lines.append(f"-l walltime={self.walltime}")
        if self.log_directory:
            lines += [f"-e {self.log_directory}/", f"-o {self.log_directory}/"]
        return lines

    def queued_jobs(self) -> set[str]:
        return {line.split()[0] for line in run_command(["qstat"]).splitlines()[2:] if line.strip()}
