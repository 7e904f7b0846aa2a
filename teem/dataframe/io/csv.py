"""read_csv: many (compressed) CSV files as one DataFrame, one or more partitions per file.

Theory of operation
-------------------
1. ``urlpath`` (a glob, a list, or one path; any fsspec URL) is expanded with
   fsspec.  Each file's identity (path, size, modification time) goes into
   the key names, so changed files are never confused with old results.
2. The structure (``_meta``) comes from parsing the first ``sample`` bytes of
   the first file with the user's pandas options; the header line gives every
   column's name, needed to parse blocks that do not start the file.
3. Compressed files give one partition each (a compressed stream cannot be
   entered in the middle).  Uncompressed files are cut into ``blocksize``
   byte ranges; a block owns the lines that *start* inside it, so it skips the
   partial line at its start and reads past its end to finish its last line.
4. Every partition is a :class:`CsvBlock` task.  Projection pushdown
   (:mod:`teem.dataframe.optimize`) may narrow it to the columns the graph
   uses, which pandas then parses alone (``usecols``).  pandas' C parser is
   the default: its ``engine='pyarrow'`` gave the same frames on the flights
   files but, with a partition per core already busy, took 1.2-1.4x the time
   and 1.5-1.8x the memory here; a user's ``engine=`` is passed on.
5. A task asks its process's parsed-partition cache first
   (:mod:`teem.dataframe.io.cache`): a second ``compute`` over the same,
   unchanged files does not decode them again.
"""

from __future__ import annotations

import io
import os
from typing import Any

import numpy as np
import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Task
from teem.core.tokenize import tokenize
from teem.dataframe.categorical import with_unknown_categories
from teem.dataframe.io.cache import cache_limit, file_identity, partition_cache
from teem.io.compression import SLOW_DECODERS, normalize_compression, open_decompressed
from teem.dataframe.optimize import register_reader

__all__ = ["read_csv", "CsvBlock", "read_block"]

DEFAULT_BLOCKSIZE = 64 * 2**20
# Options that change which lines are rows: with these, a file is never split into blocks.
_UNSPLITTABLE = ("skiprows", "nrows", "skipfooter", "header", "comment", "quotechar", "lineterminator")


class CsvBlock:
    """Where one partition's rows are and how to parse them (picklable, small).

    Attributes
    ----------
    path, fs:
        The file and its fsspec filesystem.
    start, length:
        The byte range (``length`` None: to the end of the file).
    first:
        Whether the block starts the file (and holds the header line).
    compression, threads:
        Decoder and cores it may use.
    kwargs:
        pandas ``read_csv`` options.
    names:
        Every column of the file (for blocks without the header line).
    columns:
        The columns to parse (None: as ``kwargs`` says).
    path_column, path_categories:
        ``include_path_column``'s column name and all paths (its categories).
    empty:
        The file's structure with no rows: what a block without lines gives.
    cache, token:
        Bytes this process may keep in the parsed-partition cache (0: none; see
        :mod:`teem.dataframe.io.cache`), and a token of every parse option (part of the cache key).
    header:
        The file's header line, put in front of a later block for ``engine='pyarrow'``.
    keep_text:
        Whether the file is decoded whole, and its text kept in the cache by a parse of some
        columns: for slow decoders (bz2), and files small enough (compressed, at most 1/16
        of the cache) for their whole text to sit in memory.  Others stream.
    """

    __slots__ = ("path", "fs", "start", "length", "first", "compression", "threads", "kwargs", "names",
                 "columns", "path_column", "path_categories", "empty", "cache", "token", "header",
                 "keep_text")

    def __init__(self, path, fs, start, length, first, compression, threads, kwargs, names, columns=None,
                 path_column=None, path_categories=None, empty=None, cache=0, token=None, header=b"",
                 keep_text=False):
        self.path, self.fs, self.start, self.length, self.first = path, fs, start, length, first
        self.compression, self.threads, self.kwargs, self.names = compression, threads, kwargs, names
        self.columns, self.path_column, self.path_categories = columns, path_column, path_categories
        self.empty, self.cache, self.token = empty, cache, token
        self.header, self.keep_text = header, keep_text

    def __reduce__(self):
        return CsvBlock, tuple(getattr(self, s) for s in self.__slots__)

    def narrowed(self, columns: set) -> "CsvBlock":
        """This block parsing only ``columns`` (in file order; at least one, to count rows)."""
        usecols = self.kwargs.get("usecols")
        if callable(usecols):
            return self
        available = self.columns or usecols or self.names
        keep = [c for c in available if c in columns]
        if not keep:
            keep = [available[0]]
        if len(keep) == len(available):
            return self
        out = CsvBlock(*(getattr(self, s) for s in self.__slots__))
        out.columns = keep
        return out

    def __repr__(self) -> str:
        span = "" if self.length is None else f" bytes {self.start}+{self.length}"
        cols = "" if self.columns is None else f" columns={self.columns}"
        return f"<CsvBlock {self.path}{span}{cols}>"


def expand_paths(urlpath, storage_options, reader: str) -> tuple:
    """``(filesystem, paths)`` for a path, glob or list of them (a glob's matches sorted).

    Raises FileNotFoundError naming ``reader`` when nothing matches.
    """
    import fsspec
    fs, _, paths = fsspec.core.get_fs_token_paths(urlpath, mode="rb", storage_options=storage_options)
    if not paths:
        raise FileNotFoundError(f"{reader}: no files match {urlpath!r}")
    return fs, sorted(paths) if isinstance(urlpath, str) else list(paths)


def _block_bytes(f, start: int, length: int) -> bytes:
    """The lines starting in ``[start, start + length)`` of the open binary file ``f``."""
    if start:
        f.seek(start - 1)
        data = f.read(length + 1)
        cut = data.find(b"\n")
        if cut < 0 or cut >= length:  # no line starts in this block
            return b""
        data = data[cut + 1:]
    else:
        f.seek(0)
        data = f.read(length)
    if data and not data.endswith(b"\n"):
        rest = []
        while True:
            piece = f.read(65536)
            if not piece:
                break
            cut = piece.find(b"\n")
            if cut >= 0:
                rest.append(piece[:cut + 1])
                break
            rest.append(piece)
        data += b"".join(rest)
    return data


def _parse(block: CsvBlock, columns: list | None) -> pd.DataFrame:
    """Parse the block's rows, only ``columns`` when given (None: as the options say)."""
    kwargs = dict(block.kwargs)
    if columns is not None:
        kwargs["usecols"] = columns
        dates = kwargs.get("parse_dates")
        if isinstance(dates, list):
            kwargs["parse_dates"] = [c for c in dates if c in columns]
    df = _read(block, kwargs, narrow=columns is not None)
    if len(df) == 0:  # pandas would guess object columns for no lines
        return (block.empty if columns is None else block.empty[columns]).copy()
    return df


def _read(block: CsvBlock, kwargs: dict, narrow: bool) -> pd.DataFrame:
    """Parse the block with ``kwargs`` (``narrow``: some columns only, so the text is worth keeping)."""
    if block.keep_text and block.cache:
        # Decoded whole, in one call free of the interpreter lock: streamed into the parser, a
        # bz2 file decodes in small reads that wait for the lock while other threads parse
        # (compute(max, min, count()) on the flights files: 12.1-15.7 s against 15.0-17.2 s).
        data = partition_cache().decoded(block.path, lambda: file_identity(block.fs, block.path),
                                         (block.start, block.length, block.compression),
                                         lambda: _decode(block), keep=narrow)
        return pd.read_csv(io.BytesIO(data), **kwargs)
    with block.fs.open(block.path, "rb") as raw:
        if block.length is None:
            with open_decompressed(raw, block.compression, block.threads) as stream:
                return pd.read_csv(stream, **kwargs)
        data = _block_bytes(raw, block.start, block.length)
    if not data.strip():
        return block.empty.iloc[:0]
    if not block.first:
        if kwargs.get("engine") == "pyarrow":  # it mislabels columns given by names= with usecols=
            data = block.header + data
        else:
            kwargs["header"] = None
            kwargs["names"] = block.names
    return pd.read_csv(io.BytesIO(data), **kwargs)


def _decode(block: CsvBlock) -> bytes:
    with block.fs.open(block.path, "rb") as raw, \
            open_decompressed(raw, block.compression, block.threads) as stream:
        return stream.read()


def _in_file_order(block: CsvBlock, columns) -> list | None:
    if columns is None:
        return None
    wanted = set(columns)
    usecols = block.kwargs.get("usecols")
    return [c for c in (usecols if usecols is not None and not callable(usecols) else block.names)
            if c in wanted]


def read_block(block: CsvBlock) -> pd.DataFrame:
    """Parse one partition (the function of every read_csv task), through this process's cache."""
    cache = partition_cache(block.cache)  # a limit of 0 empties it and parses directly
    df = cache.get_or_parse(block.path, lambda: file_identity(block.fs, block.path),
                            (block.start, block.length, block.compression), block.token, block.columns,
                            lambda columns: _parse(block, _in_file_order(block, columns)))
    if block.path_column is not None:
        codes = np.full(len(df), block.path_categories.index(block.path), dtype=np.int32)
        df[block.path_column] = pd.Categorical.from_codes(codes, categories=block.path_categories)
    return df


def _narrow_task(task: Task, columns: set) -> Task:
    block = task.args[0]
    narrowed = block.narrowed(columns)
    return task if narrowed is block else Task(task.key, task.func, (narrowed,), None, ())


register_reader(read_block, _narrow_task)


def _sample(fs, path: str, compression: str | None, nbytes: int) -> bytes:
    """The first ``nbytes`` decompressed bytes of ``path``, cut after the last complete line."""
    with fs.open(path, "rb") as raw, open_decompressed(raw, compression) as stream:
        data = stream.read(nbytes)
        more = stream.read(1)
    if more and b"\n" in data:
        data = data[:data.rfind(b"\n") + 1]
    return data


def read_csv(urlpath, blocksize: Any = "default", compression: str | None = "infer",
             include_path_column: bool | str = False, sample: int = 256_000,
             storage_options: dict | None = None, **kwargs: Any):
    """Read CSV files into a teem DataFrame (Dask's ``dask.dataframe.read_csv``).

    Parameters
    ----------
    urlpath:
        A path or URL with globs (``'data/*.csv.bz2'``), or a list of them.
    blocksize:
        Bytes per partition for uncompressed files (default 64 MiB; None: one
        partition per file).  Compressed files always give one partition each.
    compression:
        ``'infer'`` (from the suffix), None, ``'bz2'``, ``'gzip'``, ``'xz'`` or ``'zstd'``.
    include_path_column:
        Add a categorical column with each row's file path (True names it ``'path'``).
    sample:
        Bytes of the first file parsed to find columns and dtypes.
    **kwargs:
        pandas ``read_csv`` options: ``dtype``, ``usecols``, ``parse_dates``, ``encoding``, ...

    Returns
    -------
    DataFrame

    Example
    -------
    >>> air = ddf.read_csv("flights/*.csv.bz2", encoding="latin1",
    ...                    dtype={"TailNum": "object"})       # doctest: +SKIP
    >>> air.DepDelay.max().compute()                            # doctest: +SKIP
    """
    from teem.dataframe.core import DataFrame
    for bad in ("chunksize", "iterator"):
        if kwargs.get(bad):
            raise ValueError(f"read_csv({bad}=...) is pandas' way to stream one file; teem already "
                             "splits files into partitions (use blocksize=)")
    if kwargs.get("index_col") not in (None, False):
        raise ValueError("read_csv(index_col=...) is not supported; read, then set_index()")
    fs, paths = expand_paths(urlpath, storage_options, "read_csv")
    compressions = [normalize_compression(compression, p) for p in paths]
    if blocksize == "default":
        blocksize = DEFAULT_BLOCKSIZE
    splittable = kwargs.get("header", "infer") in (0, "infer") and not any(
        k in kwargs for k in _UNSPLITTABLE if k != "header")
    if not splittable:
        blocksize = None

    first = _sample(fs, paths[0], compressions[0], sample)
    head_kwargs = {k: v for k, v in kwargs.items() if k not in ("usecols", "dtype", "parse_dates",
                                                                  "converters", "engine")}
    names = list(pd.read_csv(io.BytesIO(first), nrows=0, **head_kwargs).columns)
    usecols = kwargs.get("usecols")
    if usecols is not None and not callable(usecols):
        usecols = [names[c] if isinstance(c, (int, np.integer)) else c for c in usecols]
        kwargs = dict(kwargs, usecols=[c for c in names if c in set(usecols)])
    header = first[:first.find(b"\n") + 1]
    meta = pd.read_csv(io.BytesIO(first), **kwargs).iloc[:0]
    empty = meta.copy()
    if kwargs.get("dtype") is not None:  # dtype='category': each file has its own categories
        meta = with_unknown_categories(meta, kwargs["dtype"])
    path_column = None
    if include_path_column:
        path_column = "path" if include_path_column is True else include_path_column
        meta[path_column] = pd.Categorical([], categories=paths)
    threads = max((os.cpu_count() or 1) // len(paths), 1)

    infos = [fs.info(p) for p in paths]
    identity = [(p, i.get("size"), i.get("mtime", i.get("LastModified"))) for p, i in zip(paths, infos)]
    name = "read-csv-" + tokenize(identity, compression, blocksize, include_path_column, kwargs)
    options = tokenize("csv", kwargs, names)  # with the block's own compression: the cache key
    cache = cache_limit()
    layer = {}
    n = 0
    for path, comp, info in zip(paths, compressions, infos):
        size = info.get("size")
        if comp is None and blocksize is not None and size and size > blocksize:
            ranges = [(s, blocksize) for s in range(0, size, int(blocksize))]
        else:
            ranges = [(0, None)]
        keep_text = comp in SLOW_DECODERS and size is not None and size * 16 <= cache
        for start, length in ranges:
            block = CsvBlock(path, fs, start, length, start == 0, comp, threads if comp == "bz2" else 1,
                             kwargs, names, None, path_column, paths if path_column else None, empty,
                             cache, options, header, keep_text and length is None)
            key = (name, n)
            layer[key] = Task(key, read_block, (block,), None, ())
            n += 1
    return DataFrame(Graph(layer), name, meta, (None,) * (n + 1))
