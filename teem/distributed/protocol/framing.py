"""Length-prefixed messages made of several frames, with no I/O (bytes in, messages out).

Wire format of one message (all integers little-endian)::

    u64 L                      body length, L = 4 + 8 n + sum(lengths)
    body:  u32 n               number of frames
           n x u64 length      each frame's length
           frame bytes         the n frames back to back

Theory of operation of :class:`FrameDecoder`:

1. It reads the 8-byte prefix into a small buffer (it may arrive one byte at a time).
2. It checks ``L`` against ``max_message_bytes`` *before* allocating anything, so a peer
   cannot make us reserve memory by announcing a huge message.
3. It allocates the body once (``bytearray(L)``) and copies incoming bytes into it: every
   byte is copied exactly once, however the network cuts the stream.
4. As soon as the frame count and then the length table have arrived, it checks them
   (``n <= max_frames``, ``4 + 8 n <= L``, lengths adding up to ``L``), without waiting for
   the rest of the body.
5. When the body is complete it returns the frames as memoryviews into that buffer and goes
   back to step 1 with the bytes that follow.

A peer that breaks these rules gets :class:`ProtocolError`; the decoder then stays broken
(every later ``feed`` raises again), because the stream can no longer be trusted.

Besides ``feed(data)``, the decoder offers the buffer interface of
``asyncio.BufferedProtocol``: :meth:`FrameDecoder.get_buffer` says where the next bytes
should be received, :meth:`FrameDecoder.buffer_updated` takes how many arrived.  While a
body is being received, the buffer *is* the rest of the body, so large frames go from the
socket into their final place with no copy at all; a large body's memory is allocated
without being zero-filled first.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from teem.core.errors import TeemError

__all__ = ["ProtocolError", "encode", "FrameDecoder"]

_U64 = struct.Struct("<Q")
_U32 = struct.Struct("<I")
_HEAD = struct.Struct("<QI")
_SMALL = 2048  # frames below this are joined into the header chunk by encode()
_SCRATCH = 256 * 1024  # receive buffer for prefixes and small messages
_DIRECT = 256 * 1024   # bodies with at least this much left to come are received in place


def _uninitialized(size: int):
    """A writable buffer of ``size`` bytes, not zero-filled first (it is about to be overwritten)."""
    import numpy

    return numpy.empty(size, dtype=numpy.uint8).data


class ProtocolError(TeemError, ValueError):
    """The peer broke the wire protocol (bad lengths, too large, malformed message)."""


def _as_bytes_view(frame) -> memoryview:
    """``frame`` as a flat memoryview of unsigned bytes (no copy)."""
    view = memoryview(frame)
    if view.ndim != 1 or view.format != "B":
        view = view.cast("B")  # raises TypeError if the buffer is not contiguous
    return view


def encode(frames: Iterable) -> list:
    """Return the chunks that put one message of ``frames`` on the wire, in order.

    The result is meant for ``transport.writelines``: the header and small frames are
    joined into one bytes object; frames of 2 KiB or more are passed through as they are,
    never copied.

    Raises
    ------
    TypeError
        If a frame is not a contiguous bytes-like object.
    """
    frames = list(frames)
    views = [_as_bytes_view(f) for f in frames]
    lengths = [v.nbytes for v in views]
    n = len(views)
    head = bytearray(_HEAD.pack(4 + 8 * n + sum(lengths), n))
    head += struct.pack(f"<{n}Q", *lengths)
    chunks: list = []
    pending = head
    for frame, view, size in zip(frames, views, lengths):
        if size < _SMALL:
            pending += view
        else:
            chunks.append(bytes(pending))
            pending = bytearray()
            chunks.append(frame if isinstance(frame, (bytes, bytearray)) else view)
    if pending:
        chunks.append(bytes(pending))
    return chunks


class FrameDecoder:
    """Turns a byte stream into messages, each a list of frames (memoryviews).

    Parameters
    ----------
    max_message_bytes:
        Largest body ``L`` accepted. It can be changed at any time; the new value applies
        to every message whose length prefix is read afterwards (a connection's shell keeps
        it small until the peer has authenticated, then raises it).
    max_frames:
        Largest number of frames in one message.
    """

    def __init__(self, max_message_bytes: int, max_frames: int = 65536):
        self.max_message_bytes = max_message_bytes
        self.max_frames = max_frames
        self._prefix = bytearray()       # bytes of the next length prefix (< 8 of them)
        self._body: bytearray | None = None  # the message being received, len == L
        self._filled = 0                 # bytes of _body received so far
        self._nframes: int | None = None  # frame count, once checked
        self._lengths: tuple | None = None  # frame lengths, once checked
        self._error: ProtocolError | None = None
        self._scratch: memoryview | None = None  # where prefixes and small messages are received

    @property
    def max_message_bytes(self) -> int:
        return self._max_message_bytes

    @max_message_bytes.setter
    def max_message_bytes(self, value: int) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 4:
            raise ValueError(f"max_message_bytes must be an int >= 4, not {value!r}")
        self._max_message_bytes = value

    @property
    def pending_bytes(self) -> int:
        """Bytes received that do not yet form a complete message."""
        return len(self._prefix) + self._filled

    def feed(self, data) -> list[list[memoryview]]:
        """Take the next bytes of the stream; return every message they complete.

        Incomplete input is kept for the next call. ``data`` is copied, so the caller may
        reuse its buffer.

        Raises
        ------
        ProtocolError
            If the peer broke the protocol now or on an earlier call.
        """
        if self._error is not None:
            raise ProtocolError(f"the connection already broke the protocol: {self._error}")
        try:
            return self._feed(memoryview(data).cast("B"))
        except ProtocolError as exc:
            self._error = exc
            self._body = None
            raise

    def get_buffer(self) -> memoryview:
        """A writable buffer for the next bytes of the stream (see :meth:`buffer_updated`)."""
        if self._error is not None:
            raise ProtocolError(f"the connection already broke the protocol: {self._error}")
        if self._body is not None and self._lengths is not None and len(self._body) - self._filled >= _DIRECT:
            return memoryview(self._body)[self._filled:]
        if self._scratch is None:
            self._scratch = memoryview(bytearray(_SCRATCH))
        return self._scratch

    def buffer_updated(self, nbytes: int) -> list[list[memoryview]]:
        """``nbytes`` arrived in the last :meth:`get_buffer`; return every message they complete.

        Raises
        ------
        ProtocolError
            If the peer broke the protocol.
        """
        if self._body is not None and self._lengths is not None and len(self._body) - self._filled >= _DIRECT:
            self._filled += nbytes  # received in place
            if self._filled == len(self._body):
                return [self._finish()]
            return []
        try:
            return self._feed(self._scratch[:nbytes])
        except ProtocolError as exc:
            self._error = exc
            self._body = None
            raise

    def _feed(self, data: memoryview) -> list:
        messages = []
        pos, end = 0, len(data)
        while pos < end:
            if self._body is None:
                if not self._prefix and end - pos >= 8:  # the whole prefix is here
                    (size,) = _U64.unpack_from(data, pos)
                    pos += 8
                else:
                    chunk = data[pos : pos + 8 - len(self._prefix)]
                    self._prefix += chunk
                    pos += len(chunk)
                    if len(self._prefix) < 8:
                        return messages
                    (size,) = _U64.unpack(self._prefix)
                    self._prefix.clear()
                self._start(size)
            body = self._body
            take = min(end - pos, len(body) - self._filled)
            body[self._filled : self._filled + take] = data[pos : pos + take]
            self._filled += take
            pos += take
            if self._lengths is None:
                self._check_header()
            if self._filled == len(body):
                messages.append(self._finish())
        return messages

    def _start(self, size: int) -> None:
        """Begin a body of ``size`` bytes, after checking it (step 2)."""
        if size > self.max_message_bytes:
            raise ProtocolError(
                f"the peer announced a message of {size} bytes, over the limit of "
                f"{self.max_message_bytes} bytes"
            )
        if size < 4:
            raise ProtocolError(f"the peer announced a message of {size} bytes, below 4")
        self._body = bytearray(size) if size < _DIRECT else _uninitialized(size)
        self._filled = 0
        self._nframes = None
        self._lengths = None

    def _check_header(self) -> None:
        """Check the frame count and length table as soon as they have arrived (step 4)."""
        body, size = self._body, len(self._body)
        if self._nframes is None:
            if self._filled < 4:
                return
            (n,) = _U32.unpack_from(body, 0)
            if n > self.max_frames:
                raise ProtocolError(
                    f"the peer sent a message of {n} frames, over the limit of {self.max_frames}"
                )
            if 4 + 8 * n > size:
                raise ProtocolError(
                    f"the peer sent a message of {n} frames whose length table does not fit "
                    f"in its {size} bytes"
                )
            self._nframes = n
        n = self._nframes
        if self._filled < 4 + 8 * n:
            return
        lengths = struct.unpack_from(f"<{n}Q", body, 4)
        if 4 + 8 * n + sum(lengths) != size:
            raise ProtocolError(
                f"the peer sent a message of {size} bytes whose {n} frame lengths add up to "
                f"{4 + 8 * n + sum(lengths)} bytes with the header"
            )
        self._lengths = lengths

    def _finish(self) -> list[memoryview]:
        """Cut the complete body into frames and get ready for the next message (step 5)."""
        view = memoryview(self._body)
        frames = []
        offset = 4 + 8 * self._nframes
        for length in self._lengths:
            frames.append(view[offset : offset + length])
            offset += length
        self._body = None
        self._filled = 0
        self._nframes = None
        self._lengths = None
        return frames
