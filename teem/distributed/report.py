"""``performance_report``: one self-contained HTML file describing a run on a cluster.

While the ``with`` block runs, the scheduler records every task that finishes (worker, thread,
start, stop) and each worker's heartbeat metrics (see
:mod:`teem.distributed.dashboard.activity`).  At the end the client collects the recording
and :func:`render_report` turns it into HTML: a summary, the task stream, memory and CPU per
worker over time, and tables per task prefix and per worker.  Inline SVG only: the file opens
offline, needs no JavaScript, and can be mailed or attached to an issue.
"""

from __future__ import annotations

import html
import os
import time
from collections import defaultdict

from teem.core.sizes import format_bytes
from teem.diagnostics.svgplot import format_seconds, html_page, lines_svg, task_stream_svg
from teem.distributed.dashboard.activity import coalesce

__all__ = ["performance_report", "render_report"]

MERGE_GAP = 0.001  # seconds: back-to-back tasks closer than this draw as one rectangle


class performance_report:
    """Record what the cluster does inside a ``with`` block and write it to ``filename``.

    Parameters
    ----------
    filename:
        The HTML file to write (Dask's default name: ``dask-report.html``).
    client:
        The client whose cluster to record (default: the current one).

    Example
    -------
    >>> with performance_report(filename="report.html"):  # doctest: +SKIP
    ...     x.mean().compute()
    """

    def __init__(self, filename: str = "dask-report.html", client=None, **unused):
        self.filename = os.fspath(filename)
        self.client = client
        self.unused = unused  # Dask's stacklevel=, mode=, storage_options= have no effect here
        self._id = None

    def __enter__(self) -> "performance_report":
        if self.client is None:
            from teem.distributed.client.client import default_client
            self.client = default_client()
        self._started = time.time()
        self._id = self.client._request({"op": "start-recording"})
        return self

    def __exit__(self, *exc_info) -> None:
        recording = self.client._request({"op": "stop-recording", "id": self._id})
        recording["code_failed"] = exc_info[0] is not None
        with open(self.filename, "w", encoding="utf-8") as f:
            f.write(render_report(recording))


def render_report(recording: dict) -> str:
    """The HTML page of a recording (the scheduler's ``stop-recording`` answer)."""
    start, stop = recording["start"], recording["stop"]
    tasks = recording["tasks"]                      # (prefix, worker, thread, start, stop, erred)
    status = recording["status"]
    duration = max(stop - start, 1e-9)
    per_prefix: dict = defaultdict(lambda: [0, 0.0, 0])  # tasks, compute seconds, erred
    entries = []
    for prefix, worker, thread, t0, t1, erred in tasks:
        row = per_prefix[prefix]
        row[0] += 1
        row[1] += t1 - t0
        row[2] += bool(erred)
        entries.append((f"{worker}/{thread}", prefix, t0, t1, erred))
    rects = coalesce(entries, MERGE_GAP)
    stream = [(prefix + (" (erred)" if erred else ""), row, t0, t1,
               f"{prefix}: {n} task{'s' if n > 1 else ''}" + (" (erred)" if erred else ""))
              for row, prefix, t0, t1, n, erred in rects]
    nerred = sum(r[2] for r in per_prefix.values())
    busy = sum(r[1] for r in per_prefix.values())
    threads = status["totals"]["threads"] or 1
    parts = [_summary_table([
        ("started", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(start))),
        ("duration", format_seconds(duration)),
        ("tasks finished", f"{len(tasks):,}" + (f" ({nerred:,} erred)" if nerred else "")),
        ("throughput", f"{len(tasks) / duration:,.0f} tasks/s"),
        ("compute time", f"{format_seconds(busy)} on {threads} threads: "
                         f"{100 * busy / (duration * threads):.0f}% busy"),
        ("workers", f"{status['totals']['workers']} ({threads} threads)"),
        ("scheduler", status["scheduler"].get("address", "")),
        ("the code in the block", "raised an exception" if recording.get("code_failed") else "completed"),
    ])]
    parts.append(task_stream_svg(stream, t0=start, t1=stop, title="Task stream (one row per worker thread)")
                 if stream else "<p>No task finished during the recording.</p>")
    memory, cpu = defaultdict(list), defaultdict(list)
    for t, worker, metrics in recording["samples"]:
        memory[worker].append((t, (metrics.get("memory") or 0) / 2**20))
        cpu[worker].append((t, float(metrics.get("cpu") or 0.0)))
    if memory:
        parts.append(lines_svg(sorted(memory.items()), t0=start, t1=stop, title="Memory per worker",
                               unit="MiB"))
        parts.append(lines_svg(sorted(cpu.items()), t0=start, t1=stop, title="CPU per worker", unit="%"))
    parts.append(_table("Task prefixes", ["prefix", "tasks", "compute time", "mean", "erred"], [
        (p, f"{n:,}", format_seconds(s), format_seconds(s / n), f"{e:,}")
        for p, (n, s, e) in sorted(per_prefix.items(), key=lambda item: -item[1][1])]))
    parts.append(_table("Workers at the end", ["name", "address", "threads", "memory", "limit", "spilled"], [
        (w["name"], w["address"], w["nthreads"], format_bytes(w["memory"]),
         format_bytes(w["memory_limit"]) if w["memory_limit"] else "none", format_bytes(w["spilled"]))
        for w in status["workers"]]))
    return html_page("teem performance report", parts)


def _summary_table(pairs: list) -> str:
    rows = "".join(f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
                   f"<td>{html.escape(str(v))}</td></tr>" for k, v in pairs)
    return f"<table class='summary'>{rows}</table>"


def _table(title: str, header: list, rows: list) -> str:
    head = "".join(f"<th style='text-align:left;padding-right:1em'>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='padding-right:1em'>{html.escape(str(c))}</td>" for c in row)
                   + "</tr>" for row in rows)
    return f"<h3>{html.escape(title)}</h3><table><tr>{head}</tr>{body}</table>"
