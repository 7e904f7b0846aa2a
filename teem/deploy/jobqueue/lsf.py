"""``LSFCluster``: workers in IBM Spectrum LSF jobs (bsub / bkill / bjobs).

Rendering is tested; submission was not run against a real LSF here.  ``bsub`` reads the
script on its standard input, so ``submit_command`` is run through a shell.
"""

from __future__ import annotations

from teem.deploy.jobqueue.core import JobQueueCluster, run_command

__all__ = ["LSFCluster"]


def lsf_walltime(walltime: str) -> str:
    """``HH:MM:SS`` as LSF's ``-W [HH:]MM`` (seconds rounded up to a minute)."""
    parts = [int(p) for p in walltime.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0)
    hours, minutes, seconds = parts
    minutes += hours * 60 + (1 if seconds else 0)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


class LSFCluster(JobQueueCluster):
    """Workers in LSF jobs on one host each; parameters as ``JobQueueCluster``."""

    directive_prefix = "#BSUB"
    submit_command = ["sh", "-c", 'exec bsub < "$0"']
    cancel_command = ["bkill"]
    job_id_pattern = r"Job <(\d+)>"
    job_id_variable = "LSB_JOBID"

    def header_lines(self) -> list[str]:
        lines = [f"-J {self.job_name}"]
        if self.log_directory:
            lines += [f"-e {self.log_directory}/{self.job_name}-%J.err",
                      f"-o {self.log_directory}/{self.job_name}-%J.out"]
        if self.queue:
            lines.append(f"-q {self.queue}")
        if self.project:
            lines.append(f"-P {self.project}")
        megabytes = max(1, -(-self.memory // 2 ** 20))
        lines += [f"-n {self.cores}", '-R "span[hosts=1]"', f"-M {megabytes}MB"]
        if self.walltime:
            lines.append(f"-W {lsf_walltime(self.walltime)}")
        return lines

    def queued_jobs(self) -> set[str]:
        out = run_command(["bjobs", "-noheader", "-o", "jobid"])
        return {line.strip() for line in out.splitlines() if line.strip().isdigit()}
