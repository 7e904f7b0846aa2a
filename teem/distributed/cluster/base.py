"""What every cluster object shares: its scheduler handle, display, waiting and closing rules.

A cluster (``LocalCluster``, ``SSHCluster``, ``SLURMCluster`` ...) starts a scheduler and
workers somewhere and talks to the scheduler only through a
:class:`~teem.distributed.cluster.scheduler_handle.SchedulerHandle` in ``self.scheduler``.
Subclasses implement ``close(timeout)`` and may override :meth:`_check_start` (raise when
workers died while starting) and :meth:`_html_lines` (more lines for Jupyter).
"""

from __future__ import annotations

import atexit
import html
import time
import weakref

from teem.core.sizes import format_bytes

__all__ = ["Cluster"]


class Cluster:
    """Base of cluster objects: ``scheduler_address``, ``wait_for_workers``, repr, context manager.

    Subclasses set ``self.scheduler`` (a handle), ``self.name`` and ``self.status``
    (``'starting'``, ``'running'``, ``'closing'``, ``'closed'``).
    """

    scheduler = None
    status = "starting"
    name = "Cluster"
    dashboard_link = None

    @property
    def scheduler_address(self) -> str:
        return self.scheduler.address

    def wait_for_workers(self, n_workers: int, timeout: float | None = None) -> None:
        """Wait until ``n_workers`` workers are connected.

        Raises
        ------
        TimeoutError
            If they are not, within ``timeout`` seconds (naming how many joined).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(self.scheduler.workers) < n_workers:
            self._check_start()
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.scheduler.workers)} of {n_workers} workers joined "
                                   f"{self.scheduler_address} within {timeout} s")
            time.sleep(0.02)

    def _check_start(self) -> None:
        """Raise if workers being started can no longer join (their process ended, say)."""

    def close(self, timeout: float = 10.0) -> None:  # pragma: no cover - subclasses define it
        raise NotImplementedError

    def _close_at_exit(self) -> None:
        """Close this cluster when the interpreter exits, if the program did not."""
        atexit.register(_close_at_exit, weakref.ref(self))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self):
        if getattr(self, "status", "closed") == "running":
            try:
                self.close(timeout=2)
            except Exception:
                pass

    # ------------------------------------------------------------------ display

    def _summary(self) -> tuple[int, int, int]:
        """(workers, threads, memory limit bytes) as the scheduler sees them now."""
        try:
            workers = self.scheduler.workers.values() if self.status == "running" else ()
        except Exception:  # the scheduler is gone: nothing to show
            workers = ()
        return (len(workers), sum(w["nthreads"] for w in workers),
                sum(w.get("memory_limit") or 0 for w in workers))

    def _html_lines(self) -> list:
        return []

    def __repr__(self) -> str:
        n, cores, memory = self._summary()
        dashboard = f", dashboard={self.dashboard_link}" if self.dashboard_link else ""
        return (f"{type(self).__name__}({self.scheduler_address!r}, workers={n}, threads={cores}, "
                f"memory={format_bytes(memory)}{dashboard})")

    def _repr_html_(self) -> str:
        n, cores, memory = self._summary()
        link = self.dashboard_link
        dashboard = ([f'Dashboard: <a href="{html.escape(link)}" target="_blank">{html.escape(link)}</a>']
                     if link else [])
        lines = [f"<b>{type(self).__name__}</b> {self.name}", f"Scheduler: {self.scheduler_address}",
                 *dashboard, *self._html_lines(), f"Workers: {n}, Cores: {cores}, Memory: {format_bytes(memory)}"]
        return "<div>" + "<br>".join(lines) + "</div>"


def _close_at_exit(cluster_ref) -> None:
    cluster = cluster_ref()
    if cluster is not None and cluster.status == "running":
        cluster.close(timeout=5)
