"""Compressed files, through the fastest decoder installed.

Measured on this 2-core machine: gzip through ``isal`` decodes several times faster than the
standard library's zlib. bz2 goes through the standard ``bz2`` module on one thread: it is faster
than ``indexed_bzip2`` there (1.19 s vs 1.54 s for one flights file) and releases the interpreter
lock, while two ``indexed_bzip2`` readers in two threads of one process took 23 s for 12 files
that ``bz2`` decodes in 9.9 s. With ``threads`` > 1, ``indexed_bzip2`` decodes one file on several
cores (0.78 s on 2), which helps when there are fewer files than cores. xz goes through ``lzma``,
zstd through ``zstandard``. Each falls back to the standard library (or says which package to
install) when the faster one is missing.

The file objects returned never close ``raw``: the caller opened it and closes it.
"""

from __future__ import annotations

from typing import IO

__all__ = ["COMPRESSIONS", "SLOW_DECODERS", "infer_compression", "normalize_compression",
           "open_decompressed", "open_compressed"]

COMPRESSIONS = frozenset({None, "bz2", "gzip", "xz", "zstd"})
# Decoders far slower than parsing what they give: bz2 decodes the flights files at ~10 MB/s here,
# pandas parses every column at ~80 MB/s; xz (~200 MB/s), gzip through isal and zstd are faster
# than the parse. Readers keep the decoded text of such files rather than decode them again.
SLOW_DECODERS = frozenset({"bz2"})
_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".xz": "xz", ".lzma": "xz", ".zst": "zstd",
             ".zstd": "zstd"}
_ALIASES = {"gzip": "gzip", "gz": "gzip", "bz2": "bz2", "bzip2": "bz2", "xz": "xz", "lzma": "xz",
            "zstd": "zstd", "zst": "zstd"}


def infer_compression(path: str) -> str | None:
    """The compression named by ``path``'s suffix, or None."""
    lower = path.lower()
    for suffix, name in _SUFFIXES.items():
        if lower.endswith(suffix):
            return name
    return None


def normalize_compression(compression: str | None, path: str) -> str | None:
    """``'infer'`` resolved from ``path``; aliases (``'gz'``, ``'zst'``) to canonical names.

    Raises
    ------
    ValueError
        For a compression teem cannot read, naming the ones it can.
    """
    if compression == "infer":
        return infer_compression(path)
    if compression is None:
        return None
    name = _ALIASES.get(str(compression).lower())
    if name is None:
        raise ValueError(f"compression={compression!r} is not supported; use 'infer', None, 'bz2', "
                         "'gzip', 'xz' or 'zstd'")
    return name


def _zstandard():
    try:
        import zstandard
    except ImportError as exc:
        raise ImportError("zstd files need the zstandard package: pip install zstandard") from exc
    return zstandard


def open_decompressed(raw: IO[bytes], compression: str | None, threads: int = 1) -> IO[bytes]:
    """A readable binary stream of ``raw``'s decompressed bytes (``raw`` itself if None)."""
    if compression is None:
        return raw
    if compression == "gzip":
        try:
            from isal import igzip
        except ImportError:
            import gzip
            return gzip.GzipFile(fileobj=raw, mode="rb")
        return igzip.IGzipFile(fileobj=raw, mode="rb")
    if compression == "bz2":
        if threads > 1:
            try:
                import indexed_bzip2
            except ImportError:
                pass
            else:
                return indexed_bzip2.open(raw, parallelization=threads)
        import bz2
        return bz2.BZ2File(raw, "rb")
    if compression == "xz":
        import lzma
        return lzma.LZMAFile(raw, "rb")
    if compression == "zstd":
        return _zstandard().ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=False)
    raise ValueError(f"unknown compression {compression!r}")


def open_compressed(raw: IO[bytes], compression: str | None) -> IO[bytes]:
    """A writable binary stream compressing into ``raw`` (``raw`` itself if None)."""
    if compression is None:
        return raw
    if compression == "gzip":
        try:
            from isal import igzip
            return igzip.IGzipFile(fileobj=raw, mode="wb", compresslevel=2)
        except ImportError:
            import gzip
            return gzip.GzipFile(fileobj=raw, mode="wb")
    if compression == "bz2":
        import bz2
        return bz2.BZ2File(raw, "wb")
    if compression == "xz":
        import lzma
        return lzma.LZMAFile(raw, "wb")
    if compression == "zstd":
        return _zstandard().ZstdCompressor().stream_writer(raw, closefd=False)
    raise ValueError(f"unknown compression {compression!r}")
