"""The dashboard service inside the scheduler process: pages, JSON, and live updates.

Theory of operation
-------------------
1. :func:`bind_dashboard` takes the port first (8787, or the next free one), synchronously,
   so the scheduler can announce the link before anything else starts.
2. :class:`Dashboard` serves the single-page app (``static/``) at ``/status``, ``/workers``,
   ``/graph`` and ``/info``; the page draws from JSON at ``/api/*``.
3. Live updates: ``/api/events`` is a server-sent event stream.  One ticker runs while at
   least one page is open (none otherwise: a dashboard nobody watches costs nothing but the
   activity deque); every ``interval`` it builds one status document (workers, progress per
   prefix, the task-stream rectangles since the previous tick), encodes it once and hands
   the same text to every viewer.  A viewer that cannot keep up skips updates rather than
   growing a queue; its next full document heals it.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import socket
import time
from importlib import resources

from teem.distributed.dashboard import views
from teem.distributed.dashboard.http import (EventStream, HttpServer, Request, Response,
                                             json_response)
from teem.distributed.logs import LogRing

__all__ = ["Dashboard", "bind_dashboard", "parse_dashboard_address", "DEFAULT_PORT"]

logger = logging.getLogger("teem.distributed.dashboard")

DEFAULT_PORT = 8787
PORTS_TRIED = 100            # 8787 taken: 8788, ... up to this many
UPDATE_INTERVAL = 0.3        # seconds between live updates (>= 3 per second)
HISTORY_SECONDS = 30.0       # task stream a newly opened page starts with
PAGES = ("/status", "/workers", "/graph", "/info")
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".ico": "image/x-icon"}


def parse_dashboard_address(address, default_host: str) -> tuple[str, int] | None:
    """``':8787'``, ``'8787'``, ``8787``, ``'host:port'`` -> ``(host, port)``; None/False/'' -> None.

    A missing host is the scheduler's own interface (loopback unless it listens wider).

    Example
    -------
    >>> parse_dashboard_address(":8787", "127.0.0.1")
    ('127.0.0.1', 8787)
    >>> parse_dashboard_address("0.0.0.0:9000", "127.0.0.1")
    ('0.0.0.0', 9000)
    """
    if address is None or address is False or address == "":
        return None
    if isinstance(address, int) and not isinstance(address, bool):
        return default_host, address
    text = str(address).strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    host = host.strip("[]") or default_host
    try:
        number = int(port) if port else DEFAULT_PORT
    except ValueError:
        raise ValueError(f"dashboard address {address!r}: expected ':PORT' or 'HOST:PORT' "
                         "(e.g. ':8787'), or None for no dashboard") from None
    if not 0 <= number < 65536:
        raise ValueError(f"dashboard address {address!r}: port {number} is out of range")
    return host, number


def bind_dashboard(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``, or on the next free port after it.

    Raises OSError when none of ``PORTS_TRIED`` ports is free (or the host is not ours).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last: OSError | None = None
    candidates = [0] if port == 0 else range(port, min(port + PORTS_TRIED, 65536))
    for candidate in candidates:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, candidate))
            sock.listen(128)
            sock.setblocking(False)
            return sock
        except OSError as exc:
            sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise
            last = exc
    raise OSError(errno.EADDRINUSE, f"no free port for the dashboard in {port}..{port + PORTS_TRIED - 1} "
                  f"on {host} ({last}); pass dashboard_address=':0' for any free port")


class Dashboard:
    """The web dashboard of one :class:`~teem.distributed.scheduler.server.Scheduler`."""

    def __init__(self, scheduler, sock: socket.socket, interval: float = UPDATE_INTERVAL):
        self.scheduler = scheduler
        self.sock = sock
        self.interval = interval
        self.host, self.port = sock.getsockname()[:2]
        self.logs = LogRing()
        self._viewers: set[asyncio.Queue] = set()
        self._ticker: asyncio.Task | None = None
        self._server: asyncio.base_events.Server | None = None
        self._static = _static_files()
        page = self._page
        self.http = HttpServer(
            routes={"/": self._root, **dict.fromkeys(PAGES, page), "/api/status": self._status,
                    "/api/events": self._events, "/api/graph": self._graph, "/api/info": self._info,
                    "/health": self._health},
            prefixes={"/static/": self._static_file})

    @property
    def link(self) -> str:
        """The status page's URL, with a host name a browser on this machine can use."""
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = socket.gethostname()
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/status"

    async def start(self) -> None:
        logging.getLogger("teem").addHandler(self.logs)
        self._server = await asyncio.start_server(self.http.handle, sock=self.sock)

    async def close(self) -> None:
        logging.getLogger("teem").removeHandler(self.logs)
        if self._ticker is not None:
            self._ticker.cancel()
        for queue in list(self._viewers):
            _offer(queue, None)
        if self._server is not None:
            self._server.close()
        self.http.close_connections()

    # ------------------------------------------------------------------ documents

    def status_document(self, stream: list | None = None) -> dict:
        """Workers, progress per prefix and totals (and task-stream rectangles if given)."""
        document = self.scheduler.status_document(stream)
        document["interval"] = self.interval
        return document

    def _worker_names(self) -> dict:
        return {a: str(info.get("name", a)) for a, info in self.scheduler.worker_info.items()}

    def _recent_stream(self) -> tuple[list, int]:
        activity = self.scheduler.activity
        return activity.stream_since(activity.oldest_cursor, self._worker_names(),
                                     oldest=time.time() - HISTORY_SECONDS)

    # ------------------------------------------------------------------ live updates

    async def _tick(self) -> None:
        activity = self.scheduler.activity
        cursor = activity.nbatches
        try:
            while self._viewers:
                await asyncio.sleep(self.interval)
                try:
                    stream, cursor = activity.stream_since(cursor, self._worker_names())
                    text = _dumps(self.status_document(stream))
                except Exception:  # a bug or odd data must not end live updates for good
                    logger.exception("dashboard update failed")
                    cursor = activity.nbatches
                    continue
                for queue in list(self._viewers):
                    _offer(queue, text)
        finally:
            self._ticker = None

    async def _viewer(self, queue: asyncio.Queue):
        try:
            stream, _ = self._recent_stream()
            yield _dumps(dict(self.status_document(stream), full=True))
            while True:
                text = await queue.get()
                if text is None:
                    return
                yield text
        finally:
            self._viewers.discard(queue)

    # ------------------------------------------------------------------ routes

    async def _root(self, request: Request) -> Response:
        return Response(b"", status=302, headers=[("Location", "/status")])

    async def _page(self, request: Request) -> Response:
        return self._static_response("index.html")

    async def _static_file(self, request: Request) -> Response:
        return self._static_response(request.path[len("/static/"):])

    def _static_response(self, name: str) -> Response:
        body = self._static.get(name)
        if body is None:
            return Response(f"no file {name!r}\n".encode(), status=404)
        suffix = os.path.splitext(name)[1]
        return Response(body, CONTENT_TYPES.get(suffix, "application/octet-stream"),
                        headers=[("Cache-Control", "no-cache")])

    async def _health(self, request: Request) -> Response:
        return Response(b"ok\n")

    async def _status(self, request: Request) -> Response:
        stream, _ = self._recent_stream()
        return json_response(self.status_document(stream))

    async def _events(self, request: Request) -> EventStream:
        queue: asyncio.Queue = asyncio.Queue(maxsize=2)
        self._viewers.add(queue)
        if self._ticker is None:
            self._ticker = asyncio.ensure_future(self._tick())
        return EventStream(self._viewer(queue))

    async def _graph(self, request: Request) -> Response:
        return json_response(views.graph_view(self.scheduler.state))

    async def _info(self, request: Request) -> Response:
        s = self.scheduler
        info = s.identity()
        info["logs"] = self.logs.lines()
        info["worker_logs"] = await s.worker_logs()
        return json_response(info)


def _offer(queue: asyncio.Queue, item) -> None:
    """Put ``item`` unless the viewer is behind, in which case its oldest update is dropped."""
    if queue.full():
        try:
            queue.get_nowait()
        except asyncio.QueueEmpty:
            pass
    queue.put_nowait(item)


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _static_files() -> dict[str, bytes]:
    """The page's files, read once from the package (no CDN: cluster nodes are often offline)."""
    folder = resources.files("teem.distributed.dashboard") / "static"
    return {entry.name: entry.read_bytes() for entry in folder.iterdir() if entry.is_file()}
