"""Bags from text files and back: ``read_text`` and ``to_textfiles``.

Paths go through fsspec (local paths, ``file://``, ``s3://``, ``memory://``,
globs and lists of them); decompression is chosen by :mod:`teem.bag.text`.
"""

from __future__ import annotations

import codecs
import itertools
import locale
from typing import Callable

from teem.core.graph import Graph
from teem.core.sizes import parse_bytes
from teem.core.task import Ref, Task
from teem.core.tokenize import tokenize
from teem.bag.core import Bag
from teem.bag.partition import apply_partition, reify
from teem.bag.text import LineStream, TextSource, normalize_compression, open_compressed

__all__ = ["read_text", "to_textfiles"]

_system_encoding = locale.getpreferredencoding(False) or "utf-8"


def _expand(urlpath, mode: str, storage_options: dict | None, num: int = 1, name_function=None):
    import fsspec.core
    return fsspec.core.get_fs_token_paths(urlpath, mode=mode, num=num, name_function=name_function,
                                          storage_options=storage_options)


def _check_block_encoding(encoding: str, delimiter: str) -> None:
    name = codecs.lookup(encoding).name
    if name.startswith(("utf-16", "utf-32")) or delimiter.encode(encoding) != delimiter.encode("latin-1"):
        raise ValueError(f"blocksize= cuts files at the bytes of the line delimiter, which encoding "
                         f"{encoding!r} does not keep as they are; read whole files with blocksize=None")


def read_text(urlpath, blocksize=None, compression: str | None = "infer", encoding: str = _system_encoding,
              errors: str = "strict", linedelimiter: str | None = None, collection: bool = True,
              storage_options: dict | None = None, files_per_partition: int | None = None,
              include_path: bool = False):
    """A Bag of the lines of text files (each line keeps its line end, as in Dask).

    Parameters
    ----------
    urlpath:
        A path, glob (``'logs/part-0000*gz'``) or list of them; any fsspec URL.
    blocksize:
        None: one partition per file.  A size (``'64MiB'`` or bytes): uncompressed
        files are cut into partitions of about that many bytes, at line starts
        (every line lands in exactly one partition).
    compression:
        ``'infer'`` (from the extension: .gz, .bz2, .xz, .zst), None, ``'gzip'``,
        ``'bz2'``, ``'xz'`` or ``'zstd'``.
    encoding, errors:
        Text decoding, as for :func:`open`.
    linedelimiter:
        None: Python's universal newlines (``\\r\\n`` and ``\\r`` read as ``\\n``);
        or the string lines end with.
    collection:
        False: return one :class:`~teem.core.delayed.Delayed` list per partition.
    storage_options:
        Passed to the fsspec filesystem.
    files_per_partition:
        Put this many files in each partition (not with ``blocksize``).
    include_path:
        Elements are ``(line, path)`` pairs.

    Returns
    -------
    Bag, or a list of Delayed

    Raises
    ------
    ValueError
        If no file matches, or ``blocksize`` is asked of compressed files.

    Example
    -------
    >>> import teem.bag as db                                # doctest: +SKIP
    >>> wiki = db.read_text('wikistats/part-0000*gz')        # doctest: +SKIP
    >>> wiki.filter(lambda line: 'Obama' in line).count().compute()  # doctest: +SKIP
    """
    if blocksize is not None and files_per_partition is not None:
        raise ValueError("read_text takes blocksize= or files_per_partition=, not both")
    fs, _, paths = _expand(urlpath, "rb", storage_options)
    if not paths:
        raise ValueError(f"read_text: no files match {urlpath!r}; check the path or the glob pattern")
    partitions: list = []
    if blocksize is not None:
        blocksize = parse_bytes(blocksize)
        if blocksize <= 0:
            raise ValueError(f"blocksize must be positive, not {blocksize}")
        _check_block_encoding(encoding, "\n" if linedelimiter in (None, "") else linedelimiter)
        for path in paths:
            comp = normalize_compression(compression, path)
            if comp is not None:
                raise ValueError(f"blocksize= cannot split compressed file {path!r} ({comp}): its lines can "
                                 "only be found by decompressing from the start; pass blocksize=None")
            size = fs.size(path)
            for start in range(0, max(size, 1), blocksize):
                partitions.append([TextSource(fs, path, None, start, start + blocksize)])
    else:
        sources = [TextSource(fs, p, normalize_compression(compression, p)) for p in paths]
        step = files_per_partition or 1
        partitions = [sources[i:i + step] for i in range(0, len(sources), step)]
    name = "read-text-" + tokenize(getattr(fs, "protocol", None), paths, blocksize, compression, encoding, errors,
                                   linedelimiter, files_per_partition, include_path)
    layer = {}
    for i, sources in enumerate(partitions):
        layer[(name, i)] = Task((name, i), reify, (LineStream, sources, encoding, errors, linedelimiter,
                                                   include_path), None, ())
    bag = Bag(Graph(layer), name, len(partitions))
    return bag if collection else bag.to_delayed()


# --- writing ------------------------------------------------------------------------------------

_WRITE_BATCH = 10000


def _as_text(x) -> str:
    if type(x) is str:
        return x
    if isinstance(x, bytes):
        return x.decode()
    if isinstance(x, str):
        return str(x)
    raise TypeError(f"to_textfiles writes strings, but an element is a {type(x).__name__} ({x!r:.60}); "
                    "convert the elements first, e.g. bag.map(str) or bag.map(json.dumps)")


def write_partition(fs, path: str, compression: str | None, encoding: str, last_endline: bool, part) -> list:
    """Write the elements of ``part`` to ``path``, one per line; return ``[path]``."""
    parent = fs._parent(path)
    if parent:
        fs.makedirs(parent, exist_ok=True)
    it = iter(part)
    with fs.open(path, "wb") as raw:
        out = open_compressed(raw, compression)
        try:
            started = False
            while True:
                batch = [_as_text(x) for x in itertools.islice(it, _WRITE_BATCH)]
                if not batch:
                    break
                text = "\n".join(batch)
                out.write(((("\n" if started else "") + text)).encode(encoding))
                started = True
            if last_endline:
                out.write("\n".encode(encoding))
        finally:
            if out is not raw:
                out.close()
    return [path]


def to_textfiles(bag: Bag, path, name_function: Callable | None = None, compression: str | None = "infer",
                 encoding: str = _system_encoding, compute: bool = True, storage_options: dict | None = None,
                 last_endline: bool = False, **kwargs):
    """Write each partition of ``bag`` to a text file, elements separated by ``'\\n'``.

    As in Dask, elements are joined with line ends (a final one only with
    ``last_endline=True``), so lines read by :func:`read_text`, which keep
    their ``'\\n'``, should be stripped first (``bag.map(str.rstrip)``).

    Parameters
    ----------
    path:
        A directory (files ``0.part``, ``1.part``, ...), a pattern with one
        ``*`` (``'out/*.json.gz'``: ``*`` becomes ``name_function(i)``, default
        ``str(i)``), or a list of one path per partition.
    compression:
        ``'infer'`` from the file names, None, ``'gzip'``, ``'bz2'``, ``'xz'``, ``'zstd'``.
    compute:
        True: write now and return the paths; False: return one Delayed per file.
    **kwargs:
        Passed to ``compute`` (``scheduler=``...).

    Returns
    -------
    list of str, or list of Delayed
    """
    fs, _, paths = _expand(path, "wb", storage_options, num=bag.npartitions, name_function=name_function)
    if len(paths) != bag.npartitions:
        raise ValueError(f"to_textfiles needs one path per partition: {bag.npartitions} partitions, "
                         f"{len(paths)} paths")
    name = f"to-textfiles-{tokenize(bag.name, paths, compression, encoding, last_endline)}"
    layer = {}
    for i, p in enumerate(paths):
        src = (bag.name, i)
        layer[(name, i)] = Task((name, i), apply_partition,
                                (write_partition, fs, p, normalize_compression(compression, p), encoding,
                                 last_endline, Ref(src)), None, (src,))
    out = Bag(Graph(layer, (bag.__teem_graph__(),)), name, bag.npartitions)
    if not compute:
        return out.to_delayed()
    return out.compute(**kwargs)
