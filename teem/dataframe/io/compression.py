"""Opening compressed files for reading, with the fastest decoder installed.

Measured on the flights files (one 4.6 MiB .csv.bz2 month, 24 MiB of text, on
this 2-core machine): bz2 decoding takes ~1.2-1.6 CPU-seconds with both the
standard library and ``indexed_bzip2`` on one thread, against ~0.35 s for
parsing all columns with pandas (0.1 s for one column) -- decoding is most of
a pass.  ``indexed_bzip2`` decodes one file on several cores (0.75 s wall on
2 cores), which helps when there are fewer files than cores; with more files
than cores, files already run in parallel and the standard library is used.
gzip goes through ``isal`` (several times faster than zlib) when installed.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from typing import IO

__all__ = ["infer_compression", "open_decompressed", "COMPRESSIONS"]

_SUFFIXES = {".bz2": "bz2", ".gz": "gzip", ".gzip": "gzip", ".xz": "xz", ".lzma": "xz",
             ".zst": "zstd", ".zstd": "zstd"}
COMPRESSIONS = frozenset({None, "bz2", "gzip", "xz", "zstd"})


def infer_compression(path: str) -> str | None:
    """The compression named by ``path``'s suffix, or None."""
    lower = path.lower()
    for suffix, name in _SUFFIXES.items():
        if lower.endswith(suffix):
            return name
    return None


def normalize_compression(compression, path: str) -> str | None:
    if compression == "infer":
        return infer_compression(path)
    name = {"gz": "gzip", "bzip2": "bz2", "lzma": "xz", "zst": "zstd"}.get(compression, compression)
    if name not in COMPRESSIONS:
        raise ValueError(f"compression={compression!r} is not supported; use 'infer', None, 'bz2', "
                         "'gzip', 'xz' or 'zstd'")
    return name


def open_decompressed(raw: IO[bytes], compression: str | None, threads: int = 1) -> IO[bytes]:
    """A readable binary stream of ``raw``'s decompressed bytes.

    ``threads`` > 1 lets a bz2 file be decoded on that many cores (``indexed_bzip2``).
    """
    if compression is None:
        return raw
    if compression == "bz2":
        if threads > 1:
            try:
                import indexed_bzip2
                return indexed_bzip2.open(raw, parallelization=threads)
            except ImportError:
                pass
        return bz2.BZ2File(raw)
    if compression == "gzip":
        try:
            from isal import igzip
            return igzip.IGzipFile(fileobj=raw)
        except ImportError:
            return gzip.GzipFile(fileobj=raw)
    if compression == "xz":
        return lzma.LZMAFile(raw)
    if compression == "zstd":
        try:
            import zstandard
        except ImportError as e:
            raise ImportError("reading .zst files needs the zstandard package: pip install zstandard") from e
        return zstandard.ZstdDecompressor().stream_reader(raw, closefd=True)
    raise ValueError(f"unknown compression {compression!r}")
