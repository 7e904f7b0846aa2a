"""``SLURMCluster``: workers in SLURM jobs (sbatch / scancel / squeue / sinfo)."""

from __future__ import annotations

from teem.deploy.jobqueue.core import JobQueueCluster, run_command

__all__ = ["SLURMCluster", "slurm_memory"]


def slurm_memory(n: int) -> str:
    """Bytes as ``--mem`` wants them: whole GiB (``112G``) from 1 GiB up, else whole MiB; rounded up."""
    if n >= 2 ** 30:
        return f"{-(-n // 2 ** 30)}G"
    return f"{max(1, -(-n // 2 ** 20))}M"


def partition_cpus(queue: str | None) -> tuple[str, int]:
    """``(partition, CPUs of its smallest node)`` from ``sinfo``; the default partition if ``queue`` is None."""
    rows = [line.split("|") for line in run_command(["sinfo", "-h", "-o", "%P|%c"]).split()]
    cpus: dict[str, int] = {}
    default = None
    for name, count in rows:
        if name.endswith("*"):
            name = default = name[:-1]
        count = int(count.rstrip("+"))
        cpus[name] = min(cpus.get(name, count), count)
    partition = queue or default
    if partition not in cpus:
        raise ValueError(f"SLURM partition {partition!r} does not exist; sinfo lists {sorted(cpus)} "
                         "(pass one of them as queue=)")
    return partition, cpus[partition]


class SLURMCluster(JobQueueCluster):
    """Workers in SLURM jobs; see :class:`~teem.deploy.jobqueue.core.JobQueueCluster` for parameters.

    Example
    -------
    >>> cluster = SLURMCluster(cores=8, processes=2, memory="16GB", queue="debug")  # doctest: +SKIP
    >>> print(cluster.job_script())
    >>> cluster.scale(jobs=2)
    >>> client = Client(cluster)
    """

    directive_prefix = "#SBATCH"
    submit_command = ["sbatch"]
    cancel_command = ["scancel"]
    job_id_pattern = r"Submitted batch job (\d+)"
    job_id_variable = "SLURM_JOB_ID"

    def check_request(self) -> None:
        """Ask ``sinfo`` whether the partition has nodes with ``cores`` CPUs (before any submission)."""
        partition, cpus = partition_cpus(self.queue)
        if self.cores > cpus:
            raise ValueError(f"SLURMCluster: cores={self.cores} per job, but the nodes of partition "
                             f"{partition!r} have {cpus} CPUs: ask for at most cores={cpus} per job and "
                             "scale to more jobs instead")

    def header_lines(self) -> list[str]:
        lines = [f"-J {self.job_name}"]
        if self.log_directory:
            lines += [f"-e {self.log_directory}/{self.job_name}-%J.err",
                      f"-o {self.log_directory}/{self.job_name}-%J.out"]
        if self.queue:
            lines.append(f"-p {self.queue}")
        if self.project:
            lines.append(f"-A {self.project}")
        lines += ["-n 1", f"--cpus-per-task={self.cores}", f"--mem={slurm_memory(self.memory)}"]
        if self.walltime:
            lines.append(f"-t {self.walltime}")
        return lines

    def queued_jobs(self) -> set[str]:
        return set(run_command(["squeue", "-h", "-o", "%i"]).split())
