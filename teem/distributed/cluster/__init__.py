"""Clusters: a scheduler plus workers, started and stopped together."""

from teem.distributed.cluster.local import LocalCluster

__all__ = ["LocalCluster"]
