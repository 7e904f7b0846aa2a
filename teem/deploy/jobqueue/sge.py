"""``SGECluster``: workers in (Son of) Grid Engine jobs (qsub / qdel / qstat).

Rendering is tested; submission was not run against a real Grid Engine here.
"""

from __future__ import annotations

from teem.deploy.jobqueue.core import JobQueueCluster, run_command
from teem.deploy.jobqueue.pbs import pbs_memory

__all__ = ["SGECluster"]


class SGECluster(JobQueueCluster):
    """Workers in SGE jobs (parallel environment ``smp``); parameters as ``JobQueueCluster``.

    ``h_vmem`` is per slot in Grid Engine, so it is the job's memory divided by ``cores``.
    """

    directive_prefix = "#$"
    submit_command = ["qsub", "-terse"]
    cancel_command = ["qdel"]
    job_id_pattern = r"(\d+)"
    job_id_variable = "JOB_ID"

    def header_lines(self) -> list[str]:
        lines = [f"-N {self.job_name}"]
        if self.queue:
            lines.append(f"-q {self.queue}")
        if self.project:
            lines.append(f"-P {self.project}")
        lines += [f"-pe smp {self.cores}", f"-l h_vmem={pbs_memory(self.memory // self.cores)}"]
        if self.walltime:
            lines.append(f"-l h_rt={self.walltime}")
        if self.log_directory:
            lines += [f"-e {self.log_directory}/", f"-o {self.log_directory}/"]
        lines.append("-cwd")
        return lines

    def queued_jobs(self) -> set[str]:
        return {line.split()[0] for line in run_command(["qstat"]).splitlines()[2:] if line.strip()}
