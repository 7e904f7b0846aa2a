"""Ending the child processes a cluster started (schedulers, nannies, ssh clients)."""

from __future__ import annotations

import subprocess

__all__ = ["wait_or_kill"]


def wait_or_kill(process: subprocess.Popen, timeout: float, grace: float = 5.0) -> None:
    """Give ``process`` ``timeout`` s to exit, then terminate it, then ``grace`` s later kill it."""
    try:
        process.wait(timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
