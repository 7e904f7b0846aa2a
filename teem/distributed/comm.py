"""Connections between teem processes: authenticated TCP (or TLS) carrying messages.

Theory of operation
-------------------
1. Every connection starts with the shared-secret handshake of
   :mod:`teem.distributed.protocol.auth`; the listening side speaks first.
   Until both sides have proven the secret, nothing else is read: no frame
   is decoded and nothing is unpickled.  A peer that fails, sends garbage or
   stays silent for :data:`HANDSHAKE_TIMEOUT` seconds is disconnected.
2. After the handshake, bytes are received in place (``asyncio.BufferedProtocol``: a large
   frame goes straight from the socket into its final buffer) and cut into messages by
   :class:`~teem.distributed.protocol.framing.FrameDecoder` and decoded by
   :func:`~teem.distributed.protocol.messages.unpack`.  A peer that breaks the
   framing is disconnected; the process carries on.  Between two ends on this machine
   (both loopback), frames of 1 MiB or more travel through shared memory instead
   (:mod:`teem.distributed.shm`): one copy, instead of a slow trip through the kernel.
3. ``send`` never blocks and never waits on a timer: messages sent during one
   turn of the event loop are coalesced into one wire message (a list) and
   written together at the end of that turn.  Busy peers thus get batches,
   idle peers get each message at once.
4. ``request`` sends a message with a request id and awaits the reply (a
   message ``{"op": "reply", "reply_to": id, ...}``); the other messages of
   each wire batch go to the ``on_message`` callback together, as a list, in
   order, on the event loop's thread, so the receiver can handle a batch of
   events in one step.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
import ssl
import weakref
from typing import Any, Callable

from teem.core.errors import SerializationError
from teem.distributed import shm
from teem.distributed.protocol.auth import AuthenticationError, ClientHandshake, ServerHandshake
from teem.distributed.protocol.framing import FrameDecoder, ProtocolError, encode
from teem.distributed.protocol.messages import pack, unpack

__all__ = ["Comm", "connect", "listen", "parse_address", "format_address", "CommClosedError"]

logger = logging.getLogger("teem.distributed.comm")

HANDSHAKE_TIMEOUT = 10.0
MAX_MESSAGE_BYTES = 1 << 40  # after authentication: only the peer's own memory limits it


class CommClosedError(ConnectionError):
    """The connection closed before the operation completed."""


_SHARED = shm.SharedMemory()


class _Outbox:
    """The connections of one event loop with messages queued, flushed together.

    Messages a callback queues leave when that callback's input has been handled: at the end
    of the read that caused them (``Comm.buffer_updated`` flushes), or, for sends from
    anywhere else (timers, tasks), in the loop's next turn. Within one read every message
    to the same peer leaves in one write, and nothing waits for another turn of the loop.
    """

    __slots__ = ("loop", "comms", "scheduled")

    def __init__(self, loop):
        self.loop = loop
        self.comms: list = []
        self.scheduled = False

    def add(self, comm: "Comm") -> None:
        self.comms.append(comm)
        if not self.scheduled:
            self.scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.scheduled = False
        while self.comms:  # (flushing can queue more: a failed write's error reply)
            comms, self.comms = self.comms, []
            for comm in comms:
                comm._flush()


_OUTBOXES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _outbox(loop) -> _Outbox:
    box = _OUTBOXES.get(loop)
    if box is None:
        box = _OUTBOXES[loop] = _Outbox(loop)
    return box


def _same_machine(transport) -> bool:
    """Whether both ends of this TCP connection are loopback addresses (so: this machine)."""
    try:
        ends = [transport.get_extra_info("sockname"), transport.get_extra_info("peername")]
        return all(end and ipaddress.ip_address(end[0].split("%")[0]).is_loopback for end in ends)
    except (ValueError, TypeError, AttributeError):
        return False


def parse_address(address: str) -> tuple[str, str, int]:
    """``'tcp://host:port'`` -> ``('tcp', host, port)``; a missing scheme means tcp."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in ("tcp", "tls"):
        raise ValueError(f"unsupported address {address!r}: use tcp://host:port or tls://host:port")
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"address {address!r} has no port: write it as {scheme}://host:port")
    return scheme, host.strip("[]"), int(port)


def format_address(scheme: str, host: str, port: int) -> str:
    if ":" in host:  # IPv6
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


class Comm(asyncio.BufferedProtocol):
    """One connection, after it has authenticated (see the module docstring).

    Parameters
    ----------
    secret:
        The cluster's shared secret.
    server_side:
        Whether this end accepted the connection (and so speaks first).
    on_message:
        ``on_message(comm, msgs)`` with the list of messages (other than
        replies) that arrived in one wire batch.
    on_close:
        ``on_close(comm)`` once, when the connection is gone.
    """

    def __init__(self, secret: bytes, server_side: bool,
                 on_message: Callable[["Comm", Any], None] | None = None,
                 on_close: Callable[["Comm"], None] | None = None):
        self.on_message = on_message
        self.on_close = on_close
        self.peer = "?"
        self.closed = False
        self.info: dict = {}  # what the owner learns about the peer (role, address, ...)
        self._server_side = server_side
        self._handshake = ServerHandshake(secret) if server_side else ClientHandshake(secret)
        self._decoder: FrameDecoder | None = None
        self._transport: asyncio.Transport | None = None
        self._outgoing: list = []
        self._outgoing_small = True  # no message queued now holds a large buffer
        self._loop = asyncio.get_running_loop()
        self._outbox = _outbox(self._loop)
        self.ready: asyncio.Future = self._loop.create_future()  # set when authenticated
        self._pending: dict[int, asyncio.Future] = {}
        self._request_ids = itertools.count(1)
        self._handshake_timer = None
        self._handshake_buffer: memoryview | None = None
        self._offload = None       # large frames through shared memory: peers on this machine only
        self._load_shared = None

    # --- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self._transport = transport
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer = f"{peer[0]}:{peer[1]}"
        if _same_machine(transport) and shm.available():
            self._offload, self._load_shared = _SHARED.offload, _SHARED.load
        self._handshake_timer = self._loop.call_later(HANDSHAKE_TIMEOUT, self._handshake_timed_out)
        if self._server_side:
            transport.write(self._handshake.start())

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._decoder is None:  # the handshake: a few small messages
            if self._handshake_buffer is None:
                self._handshake_buffer = memoryview(bytearray(4096))
            return self._handshake_buffer
        try:
            return self._decoder.get_buffer()
        except ProtocolError:  # already reported; the connection is being dropped
            return memoryview(bytearray(4096))

    def buffer_updated(self, nbytes: int) -> None:
        if self._decoder is None:
            self.data_received(bytes(self._handshake_buffer[:nbytes]))
            return
        try:
            messages = self._decoder.buffer_updated(nbytes)
            self._deliver(messages)
        except (ProtocolError, SerializationError) as exc:
            logger.warning("dropping connection from %s: %s", self.peer, exc)
            self._fail(exc)
        if self._outbox.comms:  # the answers to what just arrived leave now
            self._outbox.flush()

    def data_received(self, data: bytes) -> None:
        if self._decoder is None:
            try:
                reply = self._handshake.feed(data)
            except AuthenticationError as exc:
                self._fail(exc)
                return
            if reply:
                self._transport.write(reply)
            if not self._handshake.done:
                return
            self._handshake_timer.cancel()
            self._decoder = FrameDecoder(MAX_MESSAGE_BYTES)
            if not self.ready.done():
                self.ready.set_result(self)
            data = self._handshake.leftover
            if not data:
                return
        try:
            self._deliver(self._decoder.feed(data))
        except (ProtocolError, SerializationError) as exc:
            # Garbage, or an object this process cannot unpickle (a module missing here):
            # either way the rest of the stream cannot be trusted to line up.
            logger.warning("dropping connection from %s: %s", self.peer, exc)
            self._fail(exc)

    def connection_lost(self, exc) -> None:
        if self._handshake_timer is not None:
            self._handshake_timer.cancel()
        self._set_closed(exc)

    # --- sending and receiving ----------------------------------------------------------------

    def _deliver(self, messages: list) -> None:
        for frames in messages:
            batch = unpack(frames, allow_pickle=True, load_shared=self._load_shared)
            if type(batch) is not tuple:
                raise ProtocolError(f"expected a batch of messages, got {type(batch).__name__}")
            self._dispatch(batch)

    def _dispatch(self, batch: tuple) -> None:
        others = []
        for msg in batch:
            if type(msg) is not dict:
                raise ProtocolError(f"expected a message (a map), got {type(msg).__name__}")
            if msg.get("op") != "reply":
                others.append(msg)
                continue
            future = self._pending.pop(msg.get("reply_to"), None)
            if future is not None and not future.done():
                if "error" in msg:
                    error = msg["error"]
                    future.set_exception(error if isinstance(error, BaseException)
                                         else RuntimeError(str(error)))
                else:
                    future.set_result(msg.get("result"))
        if others and self.on_message is not None:
            self.on_message(self, others)

    def send(self, msg, small: bool = False) -> None:
        """Queue ``msg``; everything queued in this loop turn leaves together. Thread: the loop's.

        ``small=True`` promises that ``msg`` holds no bytes-like of 64 KiB or more, which
        spares a search for large buffers when the whole batch is small.
        """
        if self.closed:
            raise CommClosedError(f"connection to {self.peer} is closed")
        if not self._outgoing:
            self._outbox.add(self)
            self._outgoing_small = small
        elif not small:
            self._outgoing_small = False
        self._outgoing.append(msg)

    def _flush(self) -> None:
        batch, self._outgoing = self._outgoing, []
        if self.closed or not batch:
            return
        try:
            frames = pack(batch, small=self._outgoing_small, offload=self._offload)
        except SerializationError:
            self._flush_one_by_one(batch)
            return
        self._write(frames)

    def _write(self, frames: list) -> None:
        # One write per chunk, not writelines: Python 3.11's writelines joins everything into
        # one new bytes object first (a copy of every large frame).
        write = self._transport.write
        for chunk in encode(frames):
            write(chunk)

    def _flush_one_by_one(self, batch: list) -> None:
        """Send what can be packed; fail the requests (or log the messages) that cannot."""
        for msg in batch:
            try:
                frames = pack([msg], offload=self._offload)
            except SerializationError as exc:
                future = self._pending.pop(msg.get("rid"), None) if type(msg) is dict else None
                if future is not None and not future.done():
                    future.set_exception(exc)
                else:
                    logger.error("cannot send message %.200r to %s: %s", msg, self.peer, exc)
                continue
            self._write(frames)

    async def request(self, msg: dict, timeout: float | None = None) -> Any:
        """Send ``msg`` and wait for the peer's reply to it."""
        rid = next(self._request_ids)
        future = self._loop.create_future()
        self._pending[rid] = future
        self.send({**msg, "rid": rid})
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(rid, None)

    def reply(self, request: dict, result: Any = None, error: BaseException | None = None) -> None:
        """Answer a message that came through :meth:`request`."""
        rid = request.get("rid")
        if rid is None or self.closed:
            return
        out = {"op": "reply", "reply_to": rid}
        if error is not None:
            out["error"] = error
        else:
            out["result"] = result
        self.send(out)

    def close(self) -> None:
        if self._transport is not None and not self.closed:
            if self._outgoing:
                self._flush()
            self._transport.close()
        self._set_closed(None)

    # --- failure ------------------------------------------------------------------------------

    def _handshake_timed_out(self) -> None:
        self._fail(AuthenticationError(
            f"the peer at {self.peer} did not complete the teem handshake within "
            f"{HANDSHAKE_TIMEOUT:.0f} s"))

    def _fail(self, exc: BaseException) -> None:
        if not self.ready.done():
            self.ready.set_exception(exc)
        if self._transport is not None:
            self._transport.abort()
        self._set_closed(exc)

    def _set_closed(self, exc) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.ready.done():
            if self._server_side:
                error: Exception = CommClosedError(f"{self.peer} left during the handshake")
            else:  # the listener hangs up on a client whose proof of the secret is wrong
                error = AuthenticationError(
                    f"{self.peer} closed the connection during the teem handshake: it does not "
                    "accept our secret. Connect with the cluster's scheduler file "
                    "(scheduler_file=...), or pass security=Security(secret=...) / set TEEM_SECRET.")
            self.ready.set_exception(error)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(CommClosedError(f"connection to {self.peer} closed"))
        self._pending.clear()
        if self.on_close is not None:
            try:
                self.on_close(self)
            except Exception:
                logger.exception("error in on_close handler for %s", self.peer)


async def connect(address: str, secret: bytes, *, on_message=None, on_close=None,
                  ssl_context: ssl.SSLContext | None = None, timeout: float = 10.0) -> Comm:
    """Open an authenticated connection to ``address``.

    Raises
    ------
    TimeoutError
        Nothing answered at ``address`` within ``timeout`` seconds (the message names it).
    AuthenticationError
        The peer does not know the same secret.
    """
    scheme, host, port = parse_address(address)
    if scheme == "tls" and ssl_context is None:
        raise ValueError(f"{address} needs TLS: pass security=Security(...) with TLS files")
    loop = asyncio.get_running_loop()

    async def attempt() -> Comm:
        _, comm = await loop.create_connection(
            lambda: Comm(secret, server_side=False, on_message=on_message, on_close=on_close),
            host, port, ssl=ssl_context if scheme == "tls" else None)
        return await comm.ready

    deadline = loop.time() + timeout
    delay = 0.01
    while True:
        try:
            return await asyncio.wait_for(attempt(), max(deadline - loop.time(), 0.001))
        except AuthenticationError:
            raise
        except OSError as exc:  # refused, unreachable, or no answer in time (TimeoutError)
            if loop.time() + delay > deadline:
                raise TimeoutError(f"could not connect to {address} within {timeout:g} s "
                                   f"({type(exc).__name__}: {exc}). Is the scheduler running "
                                   "there, and is the address right?") from exc
            await asyncio.sleep(delay)  # the server may still be starting
            delay = min(delay * 2, 0.5)


async def listen(address: str, secret: bytes, *, on_connect: Callable[[Comm], None],
                 on_message, on_close, ssl_context: ssl.SSLContext | None = None):
    """Listen on ``address`` (port 0: any free port); returns ``(server, actual_address)``.

    ``on_connect(comm)`` runs once a peer has authenticated.
    """
    scheme, host, port = parse_address(address)
    loop = asyncio.get_running_loop()

    def factory() -> Comm:
        comm = Comm(secret, server_side=True, on_message=on_message, on_close=on_close)
        comm.ready.add_done_callback(lambda f: f.cancelled() or f.exception() or on_connect(comm))
        return comm

    server = await loop.create_server(factory, host, port,
                                      ssl=ssl_context if scheme == "tls" else None,
                                      reuse_address=True)
    bound = server.sockets[0].getsockname()
    return server, format_address(scheme, host or bound[0], bound[1])
