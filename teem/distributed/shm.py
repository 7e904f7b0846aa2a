"""Large buffers between processes of one machine through shared memory instead of TCP.

Over loopback TCP a 320 MB array costs seconds here (the kernel copies it through socket
buffers in small pieces; this machine moves about 170 MB/s that way).  When both ends of a
connection are on this machine, :func:`~teem.distributed.protocol.messages.pack` hands each
large frame to :meth:`SharedMemory.offload`, which copies it once into a new file in
``/dev/shm`` and returns the file's name; only the name travels.  The receiver renames the
file to a name of its own (it now owns it) and maps it copy-on-write: its buffers are
writable, and nothing is copied until written.

Passing a buffer on costs no copy at all: when a frame to offload is exactly a mapping this
process received, and no page of that mapping has been written here (the kernel's page map
says so), the file gets one more name (a hard link) and that name travels.  So an array
that goes client -> scheduler -> worker -> worker is copied once, by the client.  A file is
unlinked when the mapping of its owner is garbage, so the memory returns to the system
when the last mapping closes.

Files are named ``teem-<pid>-<n>-<random>``, ``pid`` being their current owner's.  A file
whose receiver never came (it died) is removed by the sender after :data:`ORPHAN_SECONDS`;
files of owners that died are removed by :func:`remove_orphans`, which servers call when
they start.
"""

from __future__ import annotations

import itertools
import logging
import mmap
import os
import re
import secrets
import threading
import time
import weakref

import numpy as np

__all__ = ["SharedMemory", "available", "remove_orphans", "SHARED_MIN_BYTES"]

logger = logging.getLogger("teem.distributed.shm")

DIRECTORY = "/dev/shm"
SHARED_MIN_BYTES = 1 << 20  # smaller frames are cheaper through the socket
ORPHAN_SECONDS = 300.0
_WRITE_CHUNK = 64 << 20
_NAME = re.compile(r"teem-(\d+)-\d+-[0-9a-f]{8}")
_counter = itertools.count()


def available() -> bool:
    """Whether this process can use shared memory files (Linux with /dev/shm; $TEEM_SHM != 0)."""
    return os.environ.get("TEEM_SHM", "1") != "0" and os.path.isdir(DIRECTORY) \
        and os.access(DIRECTORY, os.W_OK)


def _new_name() -> str:
    return f"teem-{os.getpid()}-{next(_counter)}-{secrets.token_hex(4)}"


def _address(view: memoryview) -> int:
    """Where ``view``'s bytes start in this process's memory."""
    return np.frombuffer(view, dtype=np.uint8).__array_interface__["data"][0] if view.nbytes else 0


class SharedMemory:
    """Writes frames into shared memory files and maps the files peers wrote."""

    def __init__(self):
        self._pending: dict[str, float] = {}  # files written and maybe not yet taken -> deadline
        self._mapped: dict[int, tuple[str, int]] = {}  # start address -> (own file name, bytes)
        self._lock = threading.Lock()

    def offload(self, frame) -> str:
        """Put ``frame`` in a shared file (a new name for the file it came from, else a copy)."""
        view = memoryview(frame).cast("B")
        name = self._link(view) or self._copy(view)
        self._forget_expired()
        with self._lock:
            self._pending[name] = time.monotonic() + ORPHAN_SECONDS
        return name

    def _copy(self, view: memoryview) -> str:
        name = _new_name()
        path = os.path.join(DIRECTORY, name)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        try:
            # write(), not a copy into a mapping: the kernel fills the file's pages directly,
            # without a page fault per 4 KiB (twice as fast here for 320 MB).
            done = 0
            while done < view.nbytes:
                done += os.write(fd, view[done:done + _WRITE_CHUNK])
        except BaseException:
            os.unlink(path)
            raise
        finally:
            os.close(fd)
        return name

    def _link(self, view: memoryview) -> str | None:
        """A new name for the file ``view`` maps, if it maps one whole and unwritten; else None."""
        address = _address(view)
        with self._lock:
            found = self._mapped.get(address)
        if found is None or found[1] != view.nbytes or not pristine(address, view.nbytes):
            return None
        name = _new_name()
        try:
            os.link(os.path.join(DIRECTORY, found[0]), os.path.join(DIRECTORY, name))
        except OSError:
            return None
        return name

    def load(self, name: str, nbytes: int) -> memoryview:
        """Take the file a peer wrote (rename it as ours) and map it; ValueError for a bad name."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a teem shared memory name: {name!r}")
        own = _new_name()
        path = os.path.join(DIRECTORY, own)
        os.rename(os.path.join(DIRECTORY, name), path)
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                if os.fstat(fd).st_size != nbytes:
                    raise ValueError(f"shared memory file {name} does not hold {nbytes} bytes")
                mapping = mmap.mmap(fd, nbytes, flags=mmap.MAP_PRIVATE,
                                    prot=mmap.PROT_READ | mmap.PROT_WRITE)
            finally:
                os.close(fd)
        except BaseException:
            _unlink_quietly(own)
            raise
        view = memoryview(mapping)
        address = _address(view)
        with self._lock:
            self._mapped[address] = (own, nbytes)
        weakref.finalize(mapping, self._unmapped, address, own)
        return view

    def _unmapped(self, address: int, name: str) -> None:
        with self._lock:
            if self._mapped.get(address, (None,))[0] == name:
                del self._mapped[address]
        _unlink_quietly(name)

    def _forget_expired(self) -> None:
        now = time.monotonic()
        with self._lock:
            expired = [n for n, deadline in self._pending.items() if deadline < now]
            for name in expired:
                del self._pending[name]
        for name in expired:
            _unlink_quietly(name)

    def close(self) -> None:
        """Remove the files no receiver took."""
        with self._lock:
            names, self._pending = list(self._pending), {}
        for name in names:
            _unlink_quietly(name)


_PAGE = mmap.PAGESIZE
_PRESENT, _FILE_OR_SHARED = 1 << 63, 1 << 61


def pristine(address: int, nbytes: int) -> bool:
    """Whether no page of this process's private file mapping at ``address`` was written.

    A written page of a copy-on-write mapping becomes anonymous memory: present, and no
    longer a file page, in ``/proc/self/pagemap`` (one 64-bit entry per page). Unreadable
    page map: False (copy rather than risk sending stale bytes).
    """
    first, last = address // _PAGE, (address + nbytes - 1) // _PAGE
    try:
        with open("/proc/self/pagemap", "rb") as f:
            f.seek(first * 8)
            raw = f.read((last - first + 1) * 8)
    except OSError:
        return False
    if len(raw) != (last - first + 1) * 8:
        return False
    entries = np.frombuffer(raw, dtype=np.uint64)
    written = (entries & np.uint64(_PRESENT)) != 0
    written &= (entries & np.uint64(_FILE_OR_SHARED)) == 0
    return not written.any()


def _unlink_quietly(name: str) -> None:
    try:
        os.unlink(os.path.join(DIRECTORY, name))
    except OSError:  # taken (and unlinked) by its receiver: the usual case
        pass


def remove_orphans() -> int:
    """Remove shared files left by teem processes that no longer exist; return how many."""
    removed = 0
    try:
        names = os.listdir(DIRECTORY)
    except OSError:
        return 0
    for name in names:
        match = _NAME.fullmatch(name)
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
            continue  # its writer is alive
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        _unlink_quietly(name)
        removed += 1
    return removed
