"""Batch-system clusters: SLURM (tested on a real SLURM), PBS, SGE and LSF (job scripts).

Public as :mod:`teem.jobqueue`.
"""

from teem.deploy.jobqueue.core import BatchSystemError, JobQueueCluster
from teem.deploy.jobqueue.lsf import LSFCluster
from teem.deploy.jobqueue.pbs import PBSCluster
from teem.deploy.jobqueue.sge import SGECluster
from teem.deploy.jobqueue.slurm import SLURMCluster

__all__ = ["JobQueueCluster", "SLURMCluster", "PBSCluster", "SGECluster", "LSFCluster", "BatchSystemError"]
