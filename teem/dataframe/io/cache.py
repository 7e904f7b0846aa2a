"""A memory-bounded cache of parsed file partitions, so a session does not decode files again.

Theory of operation
-------------------
Seed 001 §4.1/§6.3 run several ``compute`` calls over the same compressed
files; bz2 decoding is most of each pass.  Every read task (a CSV block)
asks this process's :class:`PartitionCache` first.

- **Key.**  ``(path, identity, source, options)``: ``identity`` is the file's
  *current* size, mtime_ns, inode and ctime_ns (``os.stat`` for local files,
  the fsspec ``info`` for others), taken when the task runs -- not when the
  graph was built -- so a file rewritten between two computes is never
  served stale.  It is taken again after parsing; a file that changed while
  it was read is not cached.  ``source`` is the byte range and compression;
  ``options`` is a token of every parse option.  A path seen with a new
  identity drops its old entries at once.
- **Columns.**  An entry records the columns it parsed (pushdown may narrow
  a read to a few).  A request is served from any entry holding a superset
  of its columns; storing an entry drops the entries of the same block whose
  columns it covers.  When a block comes back with columns no entry holds,
  it is parsed with the union of the columns asked so far (``widen``): a
  session that returns to a file will likely ask those again, and memory
  stays proportional to the columns actually used (not the whole file).
- **Decoded text.**  A file whose decoder is far slower than the parse (bz2:
  :data:`~teem.io.compression.SLOW_DECODERS`) also keeps its decoded
  bytes, zstd-compressed (:meth:`PartitionCache.decoded`): on the flights
  files bz2 takes ~2.2 s a file, packing the text ~0.13 s (24 MB into ~7), and
  unpacking it ~0.06 s.  So columns a later compute asks for the first time
  (seed §4.1's filter after ``max()``, §6.3's ``count()``) are parsed from
  memory, not decoded again.  (Only for files whose text fits easily:
  :class:`~teem.dataframe.io.csv.CsvBlock` ``keep_text``.)  Parsing every
  column on the first read instead cost the first compute 20% more time on
  those files (and ``max()`` alone 2.5x the peak memory).
- **Bytes.**  Least recently used entries (frames and texts) are evicted
  beyond the limit (``dataframe.cache-size``: bytes, a fraction of memory,
  or 0 to disable; read when the graph is built and carried by the tasks, so
  worker processes follow it).  A frame bigger than the limit is not kept.
- **Compact.**  Entries are stored losslessly in a compact form (narrow
  numbers, text as codes, zstd-packed: :mod:`teem.dataframe.io.compact`),
  about a tenth of the parsed size on a real month of flights; a hit
  rebuilds only the columns it asks for, identical to the parse.
- **Never mutated.**  Every hit returns a newly built frame, so adding a
  column to a result or writing into it never changes the cached entry.
- **Process-local.**  One cache per process: the threads and sync schedulers
  share it; each worker of the persistent processes pool has its own, kept
  between computes.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any, Callable

import pandas as pd

from teem.core import config
from teem.core.sizes import machine_memory, parse_bytes
from teem.dataframe.io.compact import CompactFrame, Packed

__all__ = ["PartitionCache", "partition_cache", "cache_limit", "file_identity", "frame_nbytes",
           "DEFAULT_CACHE_SIZE"]

DEFAULT_CACHE_SIZE = 0.1  # a tenth of this machine's memory (registered in teem.dataframe)


def cache_limit(value: Any = None) -> int:
    """The cache limit in bytes for ``value`` (default: the ``dataframe.cache-size`` setting).

    ``value`` is a number of bytes or a size string (``'2GiB'``), a float in (0, 1)
    (that fraction of this machine's memory), or 0 / None / False to disable the cache.

    Raises
    ------
    ValueError
        If ``value`` is none of these.
    """
    if value is None:
        value = config.get("dataframe.cache-size", DEFAULT_CACHE_SIZE)
    if value is None or value is False or value == 0:
        return 0
    if isinstance(value, float) and 0 < value < 1:
        return int(machine_memory() * value)
    try:
        return parse_bytes(value)
    except ValueError as e:
        raise ValueError(f"dataframe.cache-size={value!r}: {e}; or a fraction of memory such as 0.1, "
                         "or 0 to disable the cache") from None


def file_identity(fs, path: str) -> tuple:
    """What tells this version of a file from any other: size, mtime_ns, inode, ctime_ns."""
    if getattr(fs, "protocol", None) in ("file", ("file", "local")) or type(fs).__name__ == "LocalFileSystem":
        st = os.stat(path)
        return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
    info = fs.info(path)
    return tuple(sorted((k, str(v)) for k, v in info.items()
                        if k in ("size", "mtime", "LastModified", "ETag", "etag", "md5", "generation",
                                 "version_id", "created", "modified")))


def frame_nbytes(frame: pd.DataFrame) -> int:
    """Bytes the cache holds for ``frame``: the size of its compact form
    (:class:`~teem.dataframe.io.compact.CompactFrame`)."""
    return CompactFrame.of(frame).nbytes


class _Entry:
    __slots__ = ("frame", "columns", "nbytes")

    def __init__(self, frame: "CompactFrame | Packed", columns: frozenset | str | None):
        self.frame, self.columns, self.nbytes = frame, columns, frame.nbytes  # columns None: every column


_TEXT = "text"  # second part of a decoded-text entry's key (a frame's is its columns)


class PartitionCache:
    """An LRU of parsed partitions, bounded in bytes (see the module docstring).

    Parameters
    ----------
    limit:
        Bytes the cached frames may hold; 0 disables the cache.
    """

    def __init__(self, limit: int = 0):
        self.limit = limit
        self._entries: OrderedDict = OrderedDict()  # (block key, columns) -> _Entry, oldest first
        self._by_block: dict = {}      # block key -> set of entry keys
        self._identity: dict = {}      # path -> identity last seen
        self._lock = threading.Lock()
        self.nbytes = 0
        self.hits = self.misses = 0
        self.decodes = 0               # times decoded() had to decode

    def resize(self, limit: int) -> None:
        """Set the limit, evicting what no longer fits (0 empties the cache)."""
        with self._lock:
            self.limit = limit
            self._evict()

    def clear(self) -> None:
        """Forget every entry and reset the hit and miss counts."""
        with self._lock:
            self._entries.clear()
            self._by_block.clear()
            self._identity.clear()
            self.nbytes = 0
            self.hits = self.misses = self.decodes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get_or_parse(self, path: str, identity: Callable[[], tuple], source: tuple, options: Any,
                     columns: list | None, parse: Callable[[list | None], pd.DataFrame]) -> pd.DataFrame:
        """The partition with ``columns`` (None: all), from the cache or from ``parse(columns)``.

        Parameters
        ----------
        path:
            The file (for dropping entries of an older version).
        identity:
            Returns the file's current identity (called before and after parsing).
        source, options:
            The byte range and compression, and a token of the parse options (with the path and
            identity, the cache key).
        columns:
            The columns wanted, in the order the parse gives them; None for every column.
        parse:
            ``parse(columns)`` reads the block, with ``columns`` None meaning every column; it
            may get more columns than asked (in any order) and must return them in file order.
        """
        if self.limit <= 0:
            return parse(columns)
        before = identity()
        key = (path, before, source, options)
        wanted = None if columns is None else frozenset(columns)
        with self._lock:
            self._see(path, before)
            hit = self._find(key, wanted)
            if hit is not None:
                self.hits += 1
                self._entries.move_to_end(hit)
                stored = self._entries[hit].frame
            else:
                stored = None
                self.misses += 1
                asked = wanted
                if wanted is not None:
                    for entry_key in self._by_block.get(key, ()):
                        asked = asked | self._entries[entry_key].columns
        if stored is not None:  # rebuilt outside the lock: other threads may read meanwhile
            return stored.restore(None if columns is None else list(columns))
        frame = parse(None if asked is None else list(asked))
        if identity() == before:
            self._store(key, frame, asked)
        if asked is not wanted:
            return frame[list(columns)]
        return frame.copy(deep=False)

    def decoded(self, path: str, identity: Callable[[], tuple], source: tuple,
                decode: Callable[[], bytes], keep: bool = True) -> bytes:
        """The decoded bytes of a block of a slow-to-decode file, from the cache or from ``decode()``.

        The arguments are as for :meth:`get_or_parse`: a text serves every parse of its source.
        With ``keep`` False a new text is not kept (for a parse of every column: its frame will
        serve what the text would).  A frame of every column of the block drops the block's text.
        """
        if self.limit <= 0:
            return decode()
        before = identity()
        entry_key = ((path, before, source), _TEXT)
        with self._lock:
            self._see(path, before)
            entry = self._entries.get(entry_key)
            if entry is not None:
                self._entries.move_to_end(entry_key)
            else:
                self.decodes += 1
        if entry is not None:
            return entry.frame.unpack()
        data = decode()
        if keep and identity() == before:
            packed = Packed(data)  # outside the lock: it takes a while
            with self._lock:
                if self._identity.get(path) == before and packed.nbytes <= self.limit:
                    self._insert(entry_key, _Entry(packed, _TEXT))
                    self._evict()
        return data

    # --- inside the lock ---
    def _see(self, path: str, identity: tuple) -> None:
        """Record ``path``'s identity, dropping the entries of an older version of it."""
        if self._identity.get(path, identity) != identity:
            self._drop_path(path)
        self._identity[path] = identity

    def _find(self, key: tuple, wanted: frozenset | None):
        for entry_key in self._by_block.get(key, ()):
            have = self._entries[entry_key].columns
            if have is None or (wanted is not None and wanted <= have):
                return entry_key
        return None

    def _store(self, key: tuple, frame: pd.DataFrame, columns: frozenset | None) -> None:
        compact = CompactFrame.of(frame)  # outside the lock: it takes a while
        if compact.nbytes > self.limit:
            return
        with self._lock:
            if self._identity.get(key[0]) != key[1]:
                return  # the file changed meanwhile: this version is already out of date
            for old in list(self._by_block.get(key, ())):
                have = self._entries[old].columns
                if columns is None or (have is not None and have <= columns):
                    self._remove(old)
            text_key = (key[:3], _TEXT)
            if columns is None and text_key in self._entries:
                self._remove(text_key)
            entry_key = (key, columns)
            self._insert(entry_key, _Entry(compact, columns))
            self._by_block.setdefault(key, set()).add(entry_key)
            self._evict()

    def _insert(self, entry_key, entry: _Entry) -> None:
        """Add (or replace) an entry; the caller evicts."""
        if entry_key in self._entries:
            self._remove(entry_key)
        self._entries[entry_key] = entry
        self.nbytes += entry.nbytes

    def _remove(self, entry_key) -> None:
        entry = self._entries.pop(entry_key)
        self.nbytes -= entry.nbytes
        block = self._by_block.get(entry_key[0])
        if block is not None:
            block.discard(entry_key)
            if not block:
                del self._by_block[entry_key[0]]

    def _drop_path(self, path: str) -> None:
        for entry_key in [k for k in self._entries if k[0][0] == path]:
            self._remove(entry_key)

    def _evict(self) -> None:
        while self._entries and self.nbytes > self.limit:
            self._remove(next(iter(self._entries)))
        if not self._entries:
            self._identity.clear()


_CACHE = PartitionCache()


def partition_cache(limit: int | None = None) -> PartitionCache:
    """This process's cache, resized to ``limit`` bytes when given."""
    if limit is not None and limit != _CACHE.limit:
        _CACHE.resize(limit)
    return _CACHE
