"""Large buffers between processes of one machine through shared memory instead of TCP.

Over loopback TCP a 320 MB array costs seconds here (the kernel copies it through socket
buffers in small pieces; this machine moves about 170 MB/s that way).  When both ends of a
connection are on this machine, :func:`~teem.distributed.protocol.messages.pack` hands each
large frame to :meth:`SharedMemory.offload`, which copies it once into a new file in
``/dev/shm`` and returns the file's name; only the name travels.  The receiver maps the file
(copy-on-write, so its buffers are writable and nothing is copied until written) and unlinks
it at once, so the memory returns to the system when the last mapping closes.

Files are named ``teem-<pid>-<n>-<random>``.  A file whose receiver never came (it died) is
removed by the sender after :data:`ORPHAN_SECONDS`; files of senders that died are removed
by :func:`remove_orphans`, which servers call when they start.
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

__all__ = ["SharedMemory", "available", "remove_orphans", "SHARED_MIN_BYTES"]

logger = logging.getLogger("teem.distributed.shm")

DIRECTORY = "/dev/shm"
SHARED_MIN_BYTES = 1 << 20  # smaller frames are cheaper through the socket
ORPHAN_SECONDS = 300.0
_NAME = re.compile(r"teem-(\d+)-\d+-[0-9a-f]{8}")
_counter = itertools.count()


def available() -> bool:
    """Whether this process can use shared memory files (Linux with /dev/shm; $TEEM_SHM != 0)."""
    return os.environ.get("TEEM_SHM", "1") != "0" and os.path.isdir(DIRECTORY) \
        and os.access(DIRECTORY, os.W_OK)


class SharedMemory:
    """Writes frames into shared memory files and maps the files peers wrote."""

    def __init__(self):
        self._pending: dict[str, float] = {}  # files written and maybe not yet taken -> deadline
        self._lock = threading.Lock()

    def offload(self, frame) -> str:
        """Copy ``frame`` into a new shared file; return its name."""
        view = memoryview(frame).cast("B")
        name = f"teem-{os.getpid()}-{next(_counter)}-{secrets.token_hex(4)}"
        path = os.path.join(DIRECTORY, name)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
        try:
            os.ftruncate(fd, view.nbytes)
            with mmap.mmap(fd, view.nbytes) as target:
                target[:] = view
        except BaseException:
            os.unlink(path)
            raise
        finally:
            os.close(fd)
        self._forget_expired()
        with self._lock:
            self._pending[name] = time.monotonic() + ORPHAN_SECONDS
        return name

    @staticmethod
    def load(name: str, nbytes: int) -> memoryview:
        """Map the file a peer wrote (and unlink it); raises ValueError for a bad name."""
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a teem shared memory name: {name!r}")
        path = os.path.join(DIRECTORY, name)
        fd = os.open(path, os.O_RDONLY)
        try:
            if os.fstat(fd).st_size != nbytes:
                raise ValueError(f"shared memory file {name} does not hold {nbytes} bytes")
            mapping = mmap.mmap(fd, nbytes, flags=mmap.MAP_PRIVATE,
                                prot=mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
            try:
                os.unlink(path)
            except OSError:
                pass
        return memoryview(mapping)

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
