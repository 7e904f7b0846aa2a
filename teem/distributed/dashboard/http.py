"""A small HTTP/1.1 server on asyncio streams, parsed by h11: GET routes, static files, event streams.

The dashboard needs three kinds of answer: a file or JSON document (:class:`Response`),
and a live stream of server-sent events (:class:`EventStream`, ``text/event-stream``) that
browsers reconnect by themselves.  h11 does the protocol (parsing, keep-alive, chunked
bodies); this module only routes requests and moves bytes.  Only GET and HEAD are served:
the dashboard shows the cluster and changes nothing in it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import h11

__all__ = ["HttpServer", "Request", "Response", "EventStream", "json_response"]

logger = logging.getLogger("teem.distributed.dashboard")

MAX_REQUEST_BYTES = 64 * 1024
READ_CHUNK = 16 * 1024


@dataclass
class Request:
    method: str
    path: str
    query: dict
    headers: dict


@dataclass
class Response:
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    status: int = 200
    headers: list = field(default_factory=list)


@dataclass
class EventStream:
    """A ``text/event-stream`` answer: each string from ``events`` is sent as one event's data."""

    events: AsyncIterator[str]


Handler = Callable[[Request], Awaitable["Response | EventStream"]]


def json_response(value, status: int = 200) -> Response:
    return Response(json.dumps(value, separators=(",", ":")).encode(), "application/json", status,
                    [("Cache-Control", "no-store")])


class HttpServer:
    """Serve ``routes`` (exact path -> handler) and ``prefixes`` (path prefix -> handler)."""

    def __init__(self, routes: dict[str, Handler], prefixes: dict[str, Handler] | None = None):
        self.routes = routes
        self.prefixes = prefixes or {}
        self._connections: set = set()

    def close_connections(self) -> None:
        for writer in list(self._connections):
            writer.close()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection: requests one after the other (keep-alive) until either side closes."""
        self._connections.add(writer)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BYTES)
        try:
            while True:
                request = await self._next_request(conn, reader)
                if request is None:
                    return
                answer = await self._dispatch(request)
                if isinstance(answer, EventStream):
                    await self._stream(conn, reader, writer, answer)
                    return
                await self._send_response(conn, writer, request, answer)
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                try:
                    conn.start_next_cycle()
                except h11.LocalProtocolError:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except h11.RemoteProtocolError as exc:
            await self._send_error(conn, writer, exc.error_status_hint, str(exc))
        except Exception:  # a bug in a handler: log it, answer 500, keep serving others
            logger.exception("dashboard request failed")
            await self._send_error(conn, writer, 500, "internal error (see the scheduler's log)")
        finally:
            self._connections.discard(writer)
            writer.close()

    async def _next_request(self, conn: h11.Connection, reader) -> Request | None:
        request = None
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(READ_CHUNK)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed):
                return None
            if isinstance(event, h11.Request):
                target = urlsplit(event.target.decode("latin-1"))
                request = Request(event.method.decode("ascii", "replace"), target.path,
                                  {k: v[-1] for k, v in parse_qs(target.query).items()},
                                  {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers})
            elif isinstance(event, h11.EndOfMessage):
                return request
            # h11.Data: a request body, which no route reads

    async def _dispatch(self, request: Request) -> "Response | EventStream":
        if request.method not in ("GET", "HEAD"):
            return Response(b"the dashboard is read-only: only GET is served\n", status=405,
                            headers=[("Allow", "GET, HEAD")])
        handler = self.routes.get(request.path)
        if handler is None:
            for prefix, candidate in self.prefixes.items():
                if request.path.startswith(prefix):
                    handler = candidate
                    break
        if handler is None:
            return Response(f"no page {request.path!r}: try /status\n".encode(), status=404)
        return await handler(request)

    async def _send_response(self, conn, writer, request: Request, response: Response) -> None:
        headers = [("Content-Type", response.content_type), ("Content-Length", str(len(response.body))),
                   ("X-Content-Type-Options", "nosniff"), *response.headers]
        out = conn.send(h11.Response(status_code=response.status, headers=headers))
        if request.method != "HEAD":
            out += conn.send(h11.Data(data=response.body))
        out += conn.send(h11.EndOfMessage())
        writer.write(out)
        await writer.drain()

    async def _send_error(self, conn, writer, status: int, text: str) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        try:
            body = (text + "\n").encode()
            writer.write(conn.send(h11.Response(status_code=status, headers=[
                ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                ("Connection", "close")])) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
            await writer.drain()
        except Exception:  # the peer is gone or broke the protocol: nothing more to say
            pass

    async def _stream(self, conn, reader, writer, stream: EventStream) -> None:
        """Send events until the viewer goes away (seen as end of input) or the stream ends."""
        writer.write(conn.send(h11.Response(status_code=200, headers=[
            ("Content-Type", "text/event-stream"), ("Cache-Control", "no-store"),
            ("X-Accel-Buffering", "no")])))
        await writer.drain()
        gone = asyncio.ensure_future(reader.read(1))  # a viewer sends nothing more: b"" when it leaves
        try:
            async for text in _until(stream.events, gone):
                body = "".join(f"data: {line}\n" for line in text.split("\n")) + "\n"
                writer.write(conn.send(h11.Data(data=body.encode())))
                await writer.drain()
        finally:
            gone.cancel()
            aclose = getattr(stream.events, "aclose", None)
            if aclose is not None:
                await aclose()


async def _until(events: AsyncIterator[str], gone: asyncio.Future) -> AsyncIterator[str]:
    """Items of ``events`` until ``gone`` completes."""
    iterator = events.__aiter__()
    while True:
        following = asyncio.ensure_future(iterator.__anext__())
        done, _ = await asyncio.wait({following, gone}, return_when=asyncio.FIRST_COMPLETED)
        if following not in done:
            following.cancel()
            return
        try:
            yield following.result()
        except StopAsyncIteration:
            return
