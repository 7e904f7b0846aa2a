"""A mapping that keeps recently used values in memory and spills the rest to disk.

Theory of operation
-------------------
1. **Two places.**  Every key of a :class:`SpillBuffer` is in exactly one of
   three dicts: ``_fast`` (in memory, ordered from least to most recently
   used), ``_slow`` (pickled to a file in the buffer's directory) or
   ``_stuck`` (in memory for good, because its value cannot be pickled).
   Each key's *weight* -- ``sizeof(value)``, measured once when it is stored --
   is kept in ``_weights`` for all three.
2. **Accounting.**  ``fast_bytes`` is the total weight of the values in
   memory (``_fast`` and ``_stuck``); ``slow_bytes`` is the total size of the
   spill files.  Both are updated on every move, never recomputed.
3. **Spilling.**  After a value is stored or read back, least recently used
   values are written to disk while ``fast_bytes`` exceeds ``target``.  A
   value heavier than ``target`` alone goes straight to disk, and reading it
   returns it without moving it back into memory (it stays on disk).
   ``evict(n)`` spills least recently used values until *n* bytes are freed,
   whatever the target: the memory manager calls it when the process as a
   whole uses too much memory.
4. **Files.**  A value is pickled with protocol 5 (the C pickler first,
   cloudpickle if that fails); buffers pickle hands out of band (numpy
   arrays, large bytes) are written from their own memory, without a copy,
   after the pickle.  Reading allocates one buffer per out-of-band buffer and
   reads the file straight into it, so a numpy array comes back writable and
   owning its memory.  File names are hashes of the key's ``repr``, so keys
   with any characters make safe names.  A file is deleted when its value is
   read back into memory, deleted from the buffer, or when the buffer closes.
5. **Failures.**  A value that cannot be pickled is kept in ``_stuck`` and
   logged once per key prefix and value type.  If a file cannot be written
   (disk full), the value stays in memory and spilling stops until the next
   store, read or eviction request.
6. **Threads.**  One re-entrant lock guards all state, including the disk
   I/O of a move, so a reader never sees a half-moved key.  ``sizeof`` runs
   outside the lock.
"""

from __future__ import annotations

import logging
import os
import pickle
import re
import struct
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, MutableMapping
from typing import Any

import cloudpickle
import xxhash

from teem.core.sizeof import sizeof as default_sizeof

__all__ = ["SpillBuffer"]

logger = logging.getLogger(__name__)

# File layout: magic, number of out-of-band buffers, pickle length, then one
# u64 length per buffer, the pickle, and the buffers back to back.
_MAGIC = b"TEEMSPL1"
_HEAD = struct.Struct("<8sIQ")
_LENGTH = struct.Struct("<Q")
_SUFFIX = ".spill"


class _Unpicklable(Exception):
    """Neither pickle nor cloudpickle could serialize a value."""


def _serialize(value: Any) -> list[memoryview]:
    """Return the frames of *value*'s spill file: head, pickle, raw buffers."""
    buffers: list[pickle.PickleBuffer] = []
    try:
        data = pickle.dumps(value, protocol=5, buffer_callback=buffers.append)
    except Exception:
        buffers.clear()
        try:
            data = cloudpickle.dumps(value, protocol=5, buffer_callback=buffers.append)
        except Exception as exc:
            raise _Unpicklable(exc) from exc
    frames = []
    for buffer in buffers:
        try:
            frames.append(buffer.raw())
        except BufferError:  # not contiguous: copy it once
            frames.append(memoryview(bytes(memoryview(buffer))))
    head = _HEAD.pack(_MAGIC, len(frames), len(data))
    lengths = b"".join(_LENGTH.pack(f.nbytes) for f in frames)
    return [memoryview(head + lengths), memoryview(data), *frames]


def _write(path: str, value: Any) -> int:
    """Pickle *value* into the file *path*; return the file's size in bytes."""
    frames = _serialize(value)  # may raise _Unpicklable before a file exists
    try:
        with open(path, "wb") as file:
            for frame in frames:
                file.write(frame)  # large frames go straight to the OS, uncopied
    except BaseException:
        _remove(path)
        raise
    return sum(f.nbytes for f in frames)


def _read_exactly(file, nbytes: int) -> bytearray:
    out = bytearray(nbytes)
    view = memoryview(out)
    got = 0
    while got < nbytes:
        n = file.readinto(view[got:])
        if not n:
            raise EOFError(f"spill file {file.name} is truncated")
        got += n
    return out


def _read(path: str) -> Any:
    """Load the value pickled in the file *path* by :func:`_write`."""
    with open(path, "rb", buffering=0) as file:
        magic, nbuffers, pickle_nbytes = _HEAD.unpack(_read_exactly(file, _HEAD.size))
        if magic != _MAGIC:
            raise ValueError(f"{path} is not a teem spill file")
        table = _read_exactly(file, _LENGTH.size * nbuffers)
        lengths = [n for (n,) in _LENGTH.iter_unpack(table)]
        data = _read_exactly(file, pickle_nbytes)
        buffers = [_read_exactly(file, n) for n in lengths]
    return pickle.loads(data, buffers=buffers)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


_TOKEN_SUFFIX = re.compile(r"-[0-9a-f]{8,}$")


def _key_prefix(key: Hashable) -> str:
    """``('sum-3fa2c1d9e0', 4)`` -> ``'sum'``: the name a key's task family shares."""
    name = key[0] if isinstance(key, tuple) and key else key
    return _TOKEN_SUFFIX.sub("", name) if isinstance(name, str) else type(name).__name__


def _file_name(key: Hashable) -> str:
    """A file name for *key*: a hash of its ``repr`` (which tells ``'1'`` from ``1``)."""
    return xxhash.xxh3_128_hexdigest(repr(key).encode("utf-8", "surrogatepass")) + _SUFFIX


class SpillBuffer(MutableMapping):
    """A mapping that keeps at most about ``target`` bytes of values in memory.

    Values are stored in memory until their total ``sizeof`` exceeds
    *target*; then the least recently used ones are pickled to files in
    *directory* until the total is back under it.  Reading a spilled key
    loads it back into memory (which may spill others).  Keys may be any
    hashable with a stable ``repr`` -- in practice ``str`` or tuples.  All
    methods are thread-safe.

    Parameters
    ----------
    directory : str or os.PathLike
        Where spill files go; created if missing.  Several buffers may share
        a directory only if their keys differ.
    target : int or None
        Bytes of values to keep in memory.  ``None`` keeps everything in
        memory unless :meth:`evict` is called.  A value heavier than *target*
        on its own is written straight to disk.
    sizeof : callable, optional
        ``sizeof(value) -> int``, the bytes a value holds; by default
        :func:`teem.core.sizeof.sizeof`.

    Raises
    ------
    ValueError
        If *target* is negative.

    Example
    -------
    >>> buffer = SpillBuffer("/tmp/spill", target=100 * 2**20)
    >>> buffer["x"] = np.ones(10 * 2**20)  # 80 MiB: stays in memory
    >>> buffer["y"] = np.ones(10 * 2**20)  # "x" is spilled to disk
    >>> buffer.spilled_count
    1
    """

    def __init__(self, directory: str | os.PathLike, target: int | None,
                 sizeof: Callable[[Any], int] = default_sizeof):
        if target is not None and target < 0:
            raise ValueError(f"SpillBuffer target must be None or >= 0 bytes, not {target!r}")
        self.directory = os.fspath(directory)
        self._made_directory = not os.path.isdir(self.directory)
        os.makedirs(self.directory, exist_ok=True)
        self._target = target
        self._sizeof = sizeof
        self._lock = threading.RLock()
        self._fast: OrderedDict[Hashable, Any] = OrderedDict()  # least recently used first
        self._stuck: dict[Hashable, Any] = {}  # cannot be pickled: in memory for good
        self._slow: dict[Hashable, tuple[str, int]] = {}  # key -> (file path, file size)
        self._weights: dict[Hashable, int] = {}  # every key -> sizeof(value) when stored
        self._fast_bytes = 0  # == sum of weights of _fast and _stuck
        self._slow_bytes = 0  # == sum of file sizes in _slow
        self._logged_unpicklable: set[tuple[str, str]] = set()
        self._closed = False

    # -- accounting -----------------------------------------------------

    @property
    def target(self) -> int | None:
        """Bytes of values kept in memory; setting it spills at once if needed."""
        return self._target

    @target.setter
    def target(self, target: int | None) -> None:
        if target is not None and target < 0:
            raise ValueError(f"SpillBuffer target must be None or >= 0 bytes, not {target!r}")
        with self._lock:
            self._target = target
            self._spill_over_target()

    @property
    def fast_bytes(self) -> int:
        """Total ``sizeof`` of the values held in memory (including unpicklable ones)."""
        return self._fast_bytes

    @property
    def slow_bytes(self) -> int:
        """Total size in bytes of the spill files on disk."""
        return self._slow_bytes

    @property
    def spilled_count(self) -> int:
        """Number of keys whose values are on disk."""
        return len(self._slow)

    @property
    def unspillable_count(self) -> int:
        """Number of values held in memory because they cannot be pickled."""
        return len(self._stuck)

    def slow_keys(self) -> list:
        """The keys whose values are on disk (a snapshot)."""
        with self._lock:
            return list(self._slow)

    def fast_keys(self) -> list:
        """The keys whose values are in memory, least recently used first (a snapshot)."""
        with self._lock:
            return [*self._stuck, *self._fast]

    # -- mapping ----------------------------------------------------------

    def __setitem__(self, key: Hashable, value: Any) -> None:
        weight = self._sizeof(value)
        with self._lock:
            if self._closed:
                raise RuntimeError(f"cannot store {key!r}: this SpillBuffer is closed")
            if key in self._weights:
                self._discard(key)
            self._weights[key] = weight
            if self._target is not None and weight > self._target:
                if self._write_out(key, value, weight) is not None:
                    return
            self._fast[key] = value
            self._fast_bytes += weight
            self._spill_over_target()

    def __getitem__(self, key: Hashable) -> Any:
        with self._lock:
            if key in self._fast:
                self._fast.move_to_end(key)
                return self._fast[key]
            if key in self._stuck:
                return self._stuck[key]
            if key not in self._slow:
                raise KeyError(key)
            path, nbytes = self._slow[key]
            try:
                value = _read(path)
            except Exception as exc:
                raise OSError(
                    f"cannot read the spilled value of {key!r} back from {path}: {exc}"
                ) from exc
            weight = self._weights[key]
            if self._target is not None and weight > self._target:
                return value  # too heavy to keep in memory: it stays on disk
            del self._slow[key]
            self._slow_bytes -= nbytes
            _remove(path)
            self._fast[key] = value
            self._fast_bytes += weight
            self._spill_over_target(keep=key)
            return value

    def __delitem__(self, key: Hashable) -> None:
        with self._lock:
            if key not in self._weights:
                raise KeyError(key)
            self._discard(key)

    def __contains__(self, key: object) -> bool:
        return key in self._weights

    def __len__(self) -> int:
        return len(self._weights)

    def __iter__(self) -> Iterator:
        with self._lock:
            return iter(list(self._weights))

    def __repr__(self) -> str:
        return (f"<SpillBuffer {self.directory!r}: {len(self)} keys, "
                f"{self._fast_bytes} bytes in memory, {len(self._slow)} spilled "
                f"({self._slow_bytes} bytes on disk), target={self._target}>")

    # -- spilling ---------------------------------------------------------

    def evict(self, nbytes_wanted: int) -> int:
        """Spill least recently used values until *nbytes_wanted* bytes are freed.

        Called by the memory manager when the process uses too much memory
        even though this buffer is under its own target.

        Parameters
        ----------
        nbytes_wanted : int
            Bytes of in-memory values (by their ``sizeof``) to spill.

        Returns
        -------
        int
            Bytes actually freed: less than wanted if the buffer ran out of
            picklable values in memory, or a file could not be written; at
            most one value's weight more than wanted.
        """
        freed = 0
        with self._lock:
            while freed < nbytes_wanted and self._fast:
                weight = self._spill_oldest()
                if weight is None:
                    break
                freed += weight
        return freed

    def _spill_over_target(self, keep: Hashable = None) -> None:
        """Spill least recently used values while in-memory bytes exceed the target."""
        if self._target is None:
            return
        while self._fast_bytes > self._target and self._fast:
            if keep is not None and len(self._fast) == 1 and keep in self._fast:
                return
            if self._spill_oldest() is None:
                return

    def _spill_oldest(self) -> int | None:
        """Move the least recently used value out of ``_fast``.

        Returns the bytes freed (0 if the value cannot be pickled and moved
        to ``_stuck``), or None if the file could not be written.
        """
        key, value = self._fast.popitem(last=False)
        weight = self._weights[key]
        self._fast_bytes -= weight
        placed = self._write_out(key, value, weight)
        if placed is None:  # disk failure: keep it, as most recently used
            self._fast[key] = value
            self._fast_bytes += weight
            return None
        return weight if placed else 0

    def _write_out(self, key: Hashable, value: Any, weight: int) -> bool | None:
        """Put *value*, tracked in no place yet, on disk or into ``_stuck``.

        Returns True if it went to disk, False if it cannot be pickled (it is
        then in ``_stuck`` and counted in ``fast_bytes``), None if the file
        could not be written (it is then in no place: the caller decides).
        """
        path = os.path.join(self.directory, _file_name(key))
        try:
            nbytes = _write(path, value)
        except _Unpicklable as exc:
            self._stuck[key] = value
            self._fast_bytes += weight
            self._log_unpicklable(key, value, exc)
            return False
        except Exception as exc:  # disk full, directory gone, ...: never lose the value
            logger.error("cannot spill %r to %s: %s; keeping it in memory", key, path, exc)
            return None
        self._slow[key] = (path, nbytes)
        self._slow_bytes += nbytes
        return True

    def _log_unpicklable(self, key: Hashable, value: Any, exc: _Unpicklable) -> None:
        value_type = f"{type(value).__module__}.{type(value).__qualname__}"
        kind = (_key_prefix(key), value_type)
        if kind not in self._logged_unpicklable:
            self._logged_unpicklable.add(kind)
            logger.warning(
                "cannot spill %r to disk: its value (a %s) cannot be pickled (%s); it stays "
                "in memory. Not logged again for keys %r... holding a %s.",
                key, value_type, exc.__cause__, kind[0], value_type)

    def _discard(self, key: Hashable) -> None:
        """Forget *key* wherever it is, deleting its file."""
        weight = self._weights.pop(key)
        if key in self._fast:
            del self._fast[key]
            self._fast_bytes -= weight
        elif key in self._stuck:
            del self._stuck[key]
            self._fast_bytes -= weight
        else:
            path, nbytes = self._slow.pop(key)
            self._slow_bytes -= nbytes
            _remove(path)

    # -- lifetime ---------------------------------------------------------

    def close(self) -> None:
        """Delete every spill file and forget all keys; later stores raise RuntimeError.

        The directory itself is removed if this buffer created it and it is
        now empty.  Calling ``close`` again does nothing.
        """
        with self._lock:
            for path, _ in self._slow.values():
                _remove(path)
            self._fast.clear()
            self._stuck.clear()
            self._slow.clear()
            self._weights.clear()
            self._fast_bytes = self._slow_bytes = 0
            if self._made_directory and not self._closed:
                try:
                    os.rmdir(self.directory)
                except OSError:
                    pass
            self._closed = True

    def __enter__(self) -> SpillBuffer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def validate(self) -> None:
        """Check the internal invariants; raise AssertionError naming the broken one."""
        with self._lock:
            places = [set(self._fast), set(self._stuck), set(self._slow)]
            assert sum(map(len, places)) == len(set().union(*places)), "a key is in two places"
            assert set().union(*places) == set(self._weights), "weights do not match keys"
            in_memory = sum(self._weights[k] for k in [*self._fast, *self._stuck])
            assert self._fast_bytes == in_memory, f"fast_bytes {self._fast_bytes} != {in_memory}"
            on_disk = sum(n for _, n in self._slow.values())
            assert self._slow_bytes == on_disk, f"slow_bytes {self._slow_bytes} != {on_disk}"
            for key, (path, nbytes) in self._slow.items():
                assert os.path.getsize(path) == nbytes, f"spill file of {key!r} has a wrong size"
            if self._target is not None:
                # (a disk failure may break this one until the next store or read)
                assert self._fast_bytes <= self._target or len(self._fast) <= 1, "over target"
