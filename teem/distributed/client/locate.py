"""Where a new Client's scheduler is, and the secret to connect to it."""

from __future__ import annotations

import warnings
from typing import Any

from teem.core import config
from teem.distributed.security import Security, find_secret, read_scheduler_file

__all__ = ["CLUSTER_OPTIONS", "locate_scheduler"]

# Options that only mean something when the Client starts its own LocalCluster.
CLUSTER_OPTIONS = frozenset({
    "n_workers", "threads_per_worker", "processes", "memory_limit", "nthreads", "local_directory",
    "dashboard_address", "diagnostics_port", "host", "scheduler_port", "silence_logs", "worker_class",
    "protocol", "interface",
})


def locate_scheduler(address: Any, scheduler_file: str | None, security: Security | None, timeout: float,
                     kwargs: dict) -> tuple[str, Security, Any, bool]:
    """``(address, security, cluster, own_cluster)`` for the arguments of ``Client(...)``.

    ``cluster``: the cluster object given, or the LocalCluster started here (then
    ``own_cluster`` is True: the Client closes it); None when given an address.
    """
    cluster = None
    own_cluster = False
    if address is not None and not isinstance(address, str):  # a cluster object
        cluster = address
        address = cluster.scheduler_address
        security = security or getattr(cluster, "security", None)
        _warn_unused(kwargs)
    elif scheduler_file is not None:
        info = read_scheduler_file(scheduler_file, timeout=timeout)
        address = info["address"]
        if security is None:
            security = Security(secret=info.get("secret"), **info.get("security", {}))
        _warn_unused(kwargs)
    elif address is None and config.get("scheduler-address", None):
        # A launcher set the default scheduler (teem.mpi.initialize, as Dask-MPI does)
        address = config.get("scheduler-address")
        _warn_unused(kwargs)
    elif address is None:
        from teem.distributed.cluster.local import LocalCluster
        cluster = LocalCluster(**kwargs)
        own_cluster = True
        address = cluster.scheduler_address
        security = cluster.security
    else:
        _warn_unused(kwargs)
    return address, security or _security_for(address), cluster, own_cluster


def _warn_unused(kwargs: dict) -> None:
    if kwargs:
        # stacklevel 4: past this function, locate_scheduler and Client.__init__, to the caller
        warnings.warn(
            f"Client: {', '.join(sorted(kwargs))} only configure a cluster the Client starts "
            "itself; connecting to an existing scheduler, they are not used (give them to "
            "the scheduler's and workers' launch commands instead)", UserWarning, stacklevel=4)


def _security_for(address: str) -> Security:
    security = Security()  # $TEEM_SECRET
    if not security.secret:
        security.secret = find_secret(address)
    if not security.secret:
        raise ValueError(
            f"no secret for the scheduler at {address}: connect with Client(scheduler_file=...), pass "
            "security=Security(secret=...), or set $TEEM_SECRET. (A scheduler started on this machine "
            "by this user is found by address automatically.)")
    return security
