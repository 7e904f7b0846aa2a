"""Messages between the engine and its worker processes, over a Unix socket.

A message is any Python object, pickled with cloudpickle (protocol 5).  A
message of 64 KiB or more does not go through the socket: its pickle and the
buffers pickle hands out of band (numpy arrays, large bytes) are copied once
into an anonymous shared-memory file (``memfd``) whose descriptor travels
alongside a small frame (SCM_RIGHTS).  The receiver maps that file, so all
processes that receive the same message share the same physical pages, and
the memory returns to the system when the last mapping closes: no named files
that could leak.  Keeping socket traffic small also means neither side can
block the other by filling a socket buffer with one large message.

Frame on the socket::

    u64 body length | u32 number of fds          (the fd rides on these 12 bytes)
    body = u32 nparts | nparts * (u8 where, u64 offset, u64 size) | inline bytes

Part 0 is the pickle, the others are its out-of-band buffers; ``where`` is 0
for bytes inline in the body and 1 for bytes in the shared file.
"""

from __future__ import annotations

import io
import mmap
import os
import pickle
import socket
import struct
from typing import Any

import cloudpickle

__all__ = ["Message", "pack", "send", "recv", "SHARED_MIN_BYTES", "ConnectionClosed"]

SHARED_MIN_BYTES = 64 * 1024
_HEAD = struct.Struct("<QI")
_U32 = struct.Struct("<I")
_PART = struct.Struct("<BQQ")
_ALIGN = 64
_HAS_MEMFD = hasattr(os, "memfd_create")


class ConnectionClosed(EOFError):
    """The peer closed the socket (it exited or died)."""


class Message:
    """A message ready to send, possibly many times (to several workers)."""

    __slots__ = ("body", "fd", "nbytes")

    def __init__(self, body: list, fd: int | None, nbytes: int):
        self.body = body      # list of bytes-like frames, concatenated on the wire
        self.fd = fd          # shared-memory file holding the large buffers, or None
        self.nbytes = nbytes  # total payload size, for accounting

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __del__(self):
        self.close()


class _ArraySharingPickler(cloudpickle.Pickler):
    """Replaces large numpy arrays by references the receiver resolves (see :func:`pack`)."""

    def __init__(self, file, share_array, **kwargs):
        super().__init__(file, **kwargs)
        self._share_array = share_array

    def persistent_id(self, obj):
        if type(obj).__name__ == "ndarray" and getattr(obj, "nbytes", 0) >= SHARED_MIN_BYTES:
            return self._share_array(obj)
        return None


def pack(obj: Any, plain_first: bool = False, share_array=None) -> Message:
    """Serialize ``obj``; a large message goes to one shared-memory file.

    ``plain_first`` tries the C pickler before cloudpickle: much faster for
    plain data (task results), with cloudpickle as the fallback for objects
    it cannot reference by name.  ``share_array(array) -> reference`` is called
    for numpy arrays of 64 KiB and more, which are then pickled as that
    reference (the caller sends each array once, and the receiver's
    ``persistent_load`` turns references back into arrays).
    """
    buffers: list = []
    header = None
    if plain_first:
        try:
            header = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
        except Exception:
            buffers.clear()
    if header is None and share_array is not None:
        file = io.BytesIO()
        _ArraySharingPickler(file, share_array, protocol=5,
                             buffer_callback=buffers.append).dump(obj)
        header = file.getvalue()
    if header is None:
        header = cloudpickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    parts = [memoryview(header), *(b.raw() for b in buffers)]
    total = sum(p.nbytes for p in parts)
    table = []
    if _HAS_MEMFD and total >= SHARED_MIN_BYTES:
        offsets = []
        size = 0
        for p in parts:
            offsets.append(size)
            size += (p.nbytes + _ALIGN - 1) // _ALIGN * _ALIGN
        fd = os.memfd_create("teem-data", os.MFD_CLOEXEC)
        os.ftruncate(fd, max(size, 1))
        for offset, p in zip(offsets, parts):
            # pwrite fills the file in the kernel: faster than faulting in a fresh mapping
            p = p.cast("B") if p.format != "B" or p.ndim != 1 else p
            written = 0
            while written < p.nbytes:
                written += os.pwrite(fd, p[written:], offset + written)
            table.append(_PART.pack(1, offset, p.nbytes))
        return Message([_U32.pack(len(parts)), *table], fd, total)
    offset = 0
    for p in parts:
        table.append(_PART.pack(0, offset, p.nbytes))
        offset += p.nbytes
    return Message([_U32.pack(len(parts)), *table, *parts], None, total)


def send(sock: socket.socket, message: Message) -> None:
    """Send one packed message (its shared file, if any, travels as a descriptor)."""
    length = sum(memoryview(b).nbytes for b in message.body)
    fds = [message.fd] if message.fd is not None else []
    head = _HEAD.pack(length, len(fds))
    if fds:
        socket.send_fds(sock, [head], fds)
        sock.sendall(b"".join(message.body))  # only the small table: data is in the file
    elif length < SHARED_MIN_BYTES:
        sock.sendall(b"".join([head, *message.body]))  # one system call for small messages
    else:
        sock.sendall(head)
        for frame in message.body:
            sock.sendall(frame)


def send_obj(sock: socket.socket, obj: Any, plain_first: bool = False) -> None:
    message = pack(obj, plain_first)
    try:
        send(sock, message)
    finally:
        message.close()


def _recv_exact(sock: socket.socket, n: int) -> bytearray:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(view[got:], n - got)
        if not k:
            raise ConnectionClosed("the peer closed the connection")
        got += k
    return buf


def recv(sock: socket.socket, persistent_load=None) -> Any:
    """Receive one message and unpickle it; large buffers map shared memory."""
    head, fds, _, _ = socket.recv_fds(sock, _HEAD.size, 4)
    if not head:
        raise ConnectionClosed("the peer closed the connection")
    if len(head) < _HEAD.size:
        head = bytes(head) + bytes(_recv_exact(sock, _HEAD.size - len(head)))
    length, nfds = _HEAD.unpack(head)
    body = memoryview(_recv_exact(sock, length))
    shared = None
    try:
        if fds:
            size = os.fstat(fds[0]).st_size
            # Private (copy-on-write) mapping: pages are shared until a task writes to its
            # input, which then changes only its own copy, as it would with a pickled copy.
            # (Not MAP_POPULATE: on a private writable mapping it would copy every page.)
            shared = memoryview(mmap.mmap(fds[0], size, flags=mmap.MAP_PRIVATE))
    finally:
        for fd in fds:
            os.close(fd)
    (nparts,) = _U32.unpack_from(body, 0)
    inline_start = 4 + nparts * _PART.size
    parts = []
    for i in range(nparts):
        where, offset, size = _PART.unpack_from(body, 4 + i * _PART.size)
        if where:
            parts.append(shared[offset:offset + size])
        else:
            parts.append(body[inline_start + offset:inline_start + offset + size])
    if persistent_load is None:
        return pickle.loads(parts[0], buffers=parts[1:])
    unpickler = pickle.Unpickler(io.BytesIO(parts[0]), buffers=parts[1:])
    unpickler.persistent_load = persistent_load
    return unpickler.load()
