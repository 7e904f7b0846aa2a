"""The last log records of a process, kept in memory for the dashboard's info page."""

from __future__ import annotations

import logging
import os
from collections import deque

__all__ = ["LogRing", "configure_process_logging"]


class LogRing(logging.Handler):
    """Keep the last ``capacity`` records of a logger as ``(time, level, logger name, message)``.

    Example
    -------
    >>> ring = LogRing(capacity=10)
    >>> log = logging.getLogger("teem.example")
    >>> log.addHandler(ring); log.warning("disk %s is full", "/tmp"); log.removeHandler(ring)
    >>> ring.lines()[-1][1:]
    ('WARNING', 'teem.example', 'disk /tmp is full')
    """

    def __init__(self, capacity: int = 1000, level: int = logging.INFO):
        super().__init__(level)
        self.records: deque = deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                message += f" ({type(record.exc_info[1]).__name__}: {record.exc_info[1]})"
            self.records.append((record.created, record.levelname, record.name, message))
        except Exception:  # a log call must never break the caller
            self.handleError(record)

    def lines(self) -> list:
        return list(self.records)


def configure_process_logging(default: str = "INFO") -> None:
    """Logging for a scheduler or worker process.

    The console shows records at ``$TEEM_LOG_LEVEL`` (default ``default``) and above, while
    teem's own loggers still pass INFO records on, so a :class:`LogRing` (the dashboard's
    logs page) has them even when a cluster keeps its processes quiet.
    """
    name = os.environ.get("TEEM_LOG_LEVEL", default).upper()
    level = logging.getLevelNamesMapping().get(name)
    if level is None:
        raise ValueError(f"TEEM_LOG_LEVEL={name!r} is not a logging level; use DEBUG, INFO, WARNING or ERROR")
    console = logging.StreamHandler()
    console.setLevel(level)
    console.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(console)
    root.setLevel(level)
    logging.getLogger("teem").setLevel(min(level, logging.INFO))
