"""Control messages as msgpack, with large buffers and pickled objects in frames of their own.

A message (dicts, lists/tuples, str, int, float, bool, None, bytes) becomes a list of frames:
frame 0 is its msgpack; each bytes-like of 64 KiB or more inside it, and each
:class:`Pickled` object, is left out of frame 0 and replaced by a msgpack extension value
that points at the frames holding it:

* ext ``1`` (buffer): payload ``u32 index`` -- the buffer is ``frames[index]``;
* ext ``2`` (pickled): payload ``u32 first, u32 count`` -- :func:`dumps` output is
  ``frames[first:first + count]`` (the pickle, then its out-of-band buffers).

So large data is never copied into frame 0, and a receiver that has not yet authenticated
its peer can refuse pickles (``allow_pickle=False``) while still reading control messages.
"""

from __future__ import annotations

import pickle
import struct
from typing import Any, Callable

import cloudpickle
import msgpack

from teem.core.errors import SerializationError
from teem.distributed.protocol.framing import ProtocolError

__all__ = ["Pickled", "pack", "unpack", "dumps", "loads", "OUT_OF_BAND_BYTES"]

OUT_OF_BAND_BYTES = 64 * 1024  # bytes-likes this large travel in frames of their own
_INBAND_PICKLE_BUFFER = 2048   # pickle buffers smaller than this stay inside the pickle

SHARED_MIN_BYTES = 1 << 20  # frames this large go through shared memory when pack may offload
_SHARED_MARK = b"\xc1"     # never the first byte of msgpack: frame 0 starts with a table

_EXT_BUFFER = 1
_EXT_PICKLED = 2
_INDEX = struct.Struct("<I")
_U32 = _INDEX
_RANGE = struct.Struct("<II")
_BUFFER_TYPES = frozenset({bytes, bytearray, memoryview})
_SCALARS = frozenset({str, int, float, bool, type(None)})


class Pickled:
    """Wraps an object to send pickled (functions, numpy arrays, anything msgpack cannot carry).

    Example
    -------
    >>> frames = pack({"op": "compute", "function": Pickled(len)})
    >>> unpack(frames, allow_pickle=True)["function"] is len
    True
    """

    __slots__ = ("obj",)

    def __init__(self, obj: Any):
        self.obj = obj

    def __repr__(self) -> str:
        return f"Pickled({self.obj!r})"

    def __eq__(self, other) -> bool:
        return type(other) is Pickled and other.obj == self.obj

    __hash__ = None


# --- pickling -----------------------------------------------------------------------------


def dumps(obj: Any) -> list:
    """Pickle ``obj`` (protocol 5) into frames: the pickle, then its out-of-band buffers.

    Buffers of 2 KiB or more that pickle hands out of band (numpy arrays, ``PickleBuffer``)
    are returned as memoryviews of the object's own memory, not copied. Plain ``pickle`` is
    tried first; ``cloudpickle`` is used when it fails (lambdas, closures) or when the
    pickle refers to ``__main__``, which the receiving process does not share.

    Raises
    ------
    SerializationError
        If neither can pickle ``obj``; the message names its type.
    """
    buffers: list = []

    def keep(buffer: pickle.PickleBuffer):
        view = buffer.raw()
        if view.nbytes < _INBAND_PICKLE_BUFFER:
            return True  # a true value means: serialize this one in band
        buffers.append(view)
        return None

    try:
        data = pickle.dumps(obj, protocol=5, buffer_callback=keep)
        if b"__main__" not in data:
            return [data, *buffers]
    except Exception:
        pass
    buffers.clear()
    try:
        data = cloudpickle.dumps(obj, protocol=5, buffer_callback=keep)
    except Exception as exc:
        kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
        raise SerializationError(
            f"cannot pickle a {kind} object: {type(exc).__name__}: {exc}. Send objects that "
            "pickle (no open files, locks, sockets or generators), or rebuild them inside "
            "the task."
        ) from exc
    return [data, *buffers]


def dumps_atomic(obj: Any) -> list:
    """:func:`dumps` for what holds only numbers, strings, None and their tuples and dicts.

    Such objects pickle the same everywhere and have no buffers to take out of band: one
    pickle call, none of :func:`dumps`' checks (the hot path of ``Client.map``).
    """
    return [pickle.dumps(obj, protocol=5)]


def loads(frames: list) -> Any:
    """Rebuild an object from :func:`dumps` frames; buffers are used in place, not copied.

    Raises
    ------
    SerializationError
        If the pickle cannot be loaded here (a module missing on this machine, a corrupt
        pickle); the original exception is its ``__cause__``.
    """
    if not frames:
        raise SerializationError("cannot unpickle: no frames")
    try:
        return pickle.loads(frames[0], buffers=frames[1:])
    except Exception as exc:
        raise SerializationError(
            f"cannot unpickle an object received from another process: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


# --- packing ------------------------------------------------------------------------------


def _extract_buffers(obj, frames: list):
    """``obj`` with large bytes-likes replaced by ext references to new entries of ``frames``.

    Containers are rebuilt only when something inside them was replaced; scalars are skipped
    without a call, which keeps this walk cheap next to msgpack itself. Map keys are left
    alone (they are small).
    """
    t = type(obj)
    if t in _BUFFER_TYPES:
        nbytes = obj.nbytes if t is memoryview else len(obj)
        if nbytes >= OUT_OF_BAND_BYTES:
            frames.append(obj)
            return msgpack.ExtType(_EXT_BUFFER, _INDEX.pack(len(frames) - 1))
        return obj
    if t is dict:
        changed = None
        for key, value in obj.items():
            if type(value) in _SCALARS:
                continue
            new = _extract_buffers(value, frames)
            if new is not value:
                if changed is None:
                    changed = dict(obj)
                changed[key] = new
        return obj if changed is None else changed
    if t is list or t is tuple:
        items = None
        for i, value in enumerate(obj):
            if type(value) in _SCALARS:
                continue
            new = _extract_buffers(value, frames)
            if new is not value:
                if items is None:
                    items = list(obj)
                items[i] = new
        return obj if items is None else t(items)
    return obj


def pack(msg: Any, small: bool = False, offload: Callable[[Any], str] | None = None) -> list:
    """Return the frames of ``msg``: its msgpack first, then large buffers and pickles.

    Parameters
    ----------
    msg:
        dicts, lists/tuples, str, int, float, bool, None, bytes-likes, and :class:`Pickled`
        objects. Bytes-likes of 64 KiB or more become frames of their own, uncopied.

    Large buffers are found by one walk over the message's containers before it is packed,
    so they are never copied; a caller that knows there are none passes ``small=True`` and
    skips the walk (a batch of 10,000 task messages costs one msgpack call then).

    ``offload(frame) -> name``, given for peers on the same machine, moves each frame of
    :data:`SHARED_MIN_BYTES` or more out of the message (into shared memory); the receiver's
    :func:`unpack` gets it back with ``load_shared``. Frame 0 then starts with the byte
    ``0xc1`` (never used by msgpack), a u32 length and the msgpack list of
    ``(frame index, name, nbytes)``, before the message itself.

    ``small=True`` is the sender's promise that no bytes-like inside is 64 KiB or more: the
    message is then packed once, without looking for large buffers, however long it is.

    Raises
    ------
    SerializationError
        If ``msg`` holds something else (wrap it in :class:`Pickled`), an int too large
        for msgpack, or a ``Pickled`` object that cannot be pickled.
    """
    frames: list = [None]
    pickled: dict = {}  # id(Pickled) -> its ext reference, so a second pass does not re-pickle

    def default(obj):
        if type(obj) is Pickled:
            ref = pickled.get(id(obj))
            if ref is None:
                parts = dumps(obj.obj)
                frames.extend(parts)
                first = len(frames) - len(parts)
                ref = msgpack.ExtType(_EXT_PICKLED, _RANGE.pack(first, len(parts)))
                pickled[id(obj)] = ref
            return ref
        if isinstance(obj, memoryview):  # non-contiguous or not bytes: msgpack refuses them
            return obj.tobytes()
        raise TypeError(
            f"cannot send a {type(obj).__module__}.{type(obj).__qualname__} in a control "
            "message: use dicts, lists, tuples, str, int, float, bool, None or bytes, or "
            "wrap the object in Pickled(...)"
        )

    try:
        if not small:  # large buffers go out of band, never through msgpack's own buffer
            msg = _extract_buffers(msg, frames)
        head = msgpack.packb(msg, default=default, use_bin_type=True)
    except SerializationError:
        raise
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise SerializationError(f"cannot pack message: {exc}") from exc
    if offload is not None and len(frames) > 1:
        table = []
        for i in range(1, len(frames)):
            frame = frames[i]
            if (frame.nbytes if type(frame) is memoryview else len(frame)) >= SHARED_MIN_BYTES:
                view = memoryview(frame).cast("B")
                table.append((i, offload(view), view.nbytes))
                frames[i] = b""
        if table:
            packed = msgpack.packb(table)
            head = _SHARED_MARK + _U32.pack(len(packed)) + packed + head
    frames[0] = head
    return frames


def _take_shared(frames: list, load_shared) -> list:
    """Frames with the shared-memory ones (see :func:`pack`) mapped back in."""
    head = memoryview(frames[0])
    if load_shared is None:
        raise ProtocolError("the peer sent shared-memory frames over a connection between machines")
    if len(head) < 5:
        raise ProtocolError("truncated shared-memory table")
    (size,) = _U32.unpack_from(head, 1)
    if 5 + size > len(head):
        raise ProtocolError("truncated shared-memory table")
    try:
        table = msgpack.unpackb(head[5:5 + size], use_list=False)
        frames = list(frames)
        for index, name, nbytes in table:
            if not (type(index) is int and 1 <= index < len(frames)):
                raise ProtocolError(f"shared-memory reference to frame {index!r}")
            frames[index] = load_shared(name, nbytes)
    except ProtocolError:
        raise
    except Exception as exc:
        raise ProtocolError(f"bad shared-memory frame: {type(exc).__name__}: {exc}") from exc
    frames[0] = head[5 + size:]
    return frames


def unpack(frames: list, allow_pickle: bool,
           load_shared: Callable[[str, int], memoryview] | None = None) -> Any:
    """Return the message held by ``frames`` (the output of :func:`pack`).

    Arrays come back as tuples (so keys like ``('x', 0, 1)`` stay hashable), maps as dicts
    (tuples allowed as keys), large buffers as the frames themselves, and :class:`Pickled`
    objects as the unpickled objects.

    Parameters
    ----------
    frames:
        The frames of one message, as a :class:`~.framing.FrameDecoder` returns them.
    allow_pickle:
        Unpickle :class:`Pickled` objects; only true once the peer has authenticated.

    Raises
    ------
    ProtocolError
        If frame 0 is not one msgpack value, an extension code is unknown, a reference
        points outside ``frames``, or the message holds a pickle and ``allow_pickle`` is
        false.
    SerializationError
        If a pickle it holds cannot be loaded here (see :func:`loads`).
    """
    if not frames:
        raise ProtocolError("a message needs at least one frame")
    if frames[0][:1] == _SHARED_MARK:
        frames = _take_shared(frames, load_shared)
    nframes = len(frames)

    def ext_hook(code: int, data: bytes):
        if code == _EXT_BUFFER and len(data) == _INDEX.size:
            (index,) = _INDEX.unpack(data)
            if 1 <= index < nframes:
                return frames[index]
            raise ProtocolError(f"buffer reference to frame {index} of a {nframes}-frame message")
        if code == _EXT_PICKLED and len(data) == _RANGE.size:
            first, count = _RANGE.unpack(data)
            if not (1 <= first and count >= 1 and first + count <= nframes):
                raise ProtocolError(
                    f"pickle reference to frames {first}..{first + count - 1} of a "
                    f"{nframes}-frame message"
                )
            if not allow_pickle:
                raise ProtocolError(
                    "the peer sent a pickled object before it was allowed to (before "
                    "authentication); refusing to unpickle it"
                )
            return loads(frames[first : first + count])
        raise ProtocolError(f"unknown msgpack extension {code} of {len(data)} bytes")

    try:
        return msgpack.unpackb(
            frames[0], use_list=False, strict_map_key=False, raw=False, ext_hook=ext_hook
        )
    except (ProtocolError, SerializationError):
        raise
    except Exception as exc:
        raise ProtocolError(f"malformed message: {type(exc).__name__}: {exc}") from exc
