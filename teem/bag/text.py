"""Reading lines of text files fast: decompressor choice and chunked line splitting.

Theory of operation
-------------------
A :class:`LineStream` is the lazy content of one bag partition of
``read_text``: the lines of one or more files, or of a byte range of one
uncompressed file.  Nothing is read until it is iterated (or counted).

1. The raw bytes come from fsspec (``fs.open(path, 'rb')``), so any fsspec
   filesystem works; decompression is ours, with the fastest decoder that is
   installed: ``isal.igzip`` for gzip (about 3x zlib), ``indexed_bzip2`` for
   bz2, ``lzma`` for xz, ``zstandard`` for zstd.
2. Decompressed bytes are read ``CHUNK_BYTES`` at a time and decoded with an
   incremental decoder (multi-byte characters may straddle chunks).
3. Each decoded chunk is cut after its last line end; the tail waits for the
   next chunk.  Line ends follow Python's text files, as Dask's ``read_text``
   does: by default (``linedelimiter=None``) ``\\r\\n`` and ``\\r`` are read as
   ``\\n``; every line keeps its line end.
4. Iterating yields the lines of one chunk after another (``chain`` over
   lists: C speed, memory bounded by a chunk); :meth:`LineStream.count_lines`
   counts line ends in the decoded text without making a string per line.
"""

from __future__ import annotations

import codecs
import io
import itertools
from typing import Iterator

from teem.io.compression import infer_compression, normalize_compression, open_compressed, open_decompressed

__all__ = ["LineStream", "TextSource", "infer_compression", "normalize_compression", "open_decompressed",
           "open_compressed", "CHUNK_BYTES"]

CHUNK_BYTES = 1 << 20  # decompressed bytes read at once: small enough to stay in cache, big enough to amortize


class TextSource:
    """One file, or the byte range ``[start, end)`` of one (then lines are cut at line starts)."""

    __slots__ = ("fs", "path", "compression", "start", "end")

    def __init__(self, fs, path: str, compression: str | None, start: int = 0, end: int | None = None):
        self.fs = fs
        self.path = path
        self.compression = compression
        self.start = start
        self.end = end

    def __reduce__(self):
        return TextSource, (self.fs, self.path, self.compression, self.start, self.end)

    def __repr__(self) -> str:
        rng = "" if self.end is None else f"[{self.start}:{self.end}]"
        return f"TextSource({self.path!r}{rng})"


# --- finding line starts in byte ranges ---------------------------------------------------------


def _line_start_at_or_after(f, offset: int, delimiter: bytes) -> int:
    """Position of the first line start ``>= offset`` (a line starts after a delimiter)."""
    if offset <= 0:
        return 0
    pos = max(0, offset - len(delimiter))
    f.seek(pos)
    carry = b""
    while True:
        block = f.read(1 << 16)
        if not block:
            return pos + len(carry)  # no delimiter until the end: the range starts at the end
        data = carry + block
        i = data.find(delimiter)
        if i >= 0:
            return pos + i + len(delimiter)
        keep = len(delimiter) - 1
        pos += len(data) - keep if keep else len(data)
        carry = data[len(data) - keep:] if keep else b""


def _byte_chunks(source: TextSource, delimiter: bytes) -> Iterator[bytes]:
    """The (decompressed) bytes of ``source``, ``CHUNK_BYTES`` at a time."""
    with source.fs.open(source.path, "rb") as raw:
        if source.end is None:
            with open_decompressed(raw, source.compression) as f:
                read = f.read
                while True:
                    chunk = read(CHUNK_BYTES)
                    if not chunk:
                        return
                    yield chunk
        begin = _line_start_at_or_after(raw, source.start, delimiter)
        stop = _line_start_at_or_after(raw, source.end, delimiter)
        raw.seek(begin)
        remaining = stop - begin
        while remaining > 0:
            chunk = raw.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


# --- splitting text into lines ------------------------------------------------------------------

_ODD_ASCII = "\r\x0b\x0c\x1c\x1d\x1e"  # str.splitlines also splits at these; '\n' lines do not
_ODD_OTHER = "\x85\u2028\u2029"


def _split_newlines(text: str) -> list:
    """Lines of ``text`` ending at ``'\\n'`` (kept); the text ends with ``'\\n'`` unless it is the last."""
    if not any(c in text for c in _ODD_ASCII) and (text.isascii() or not any(c in text for c in _ODD_OTHER)):
        return text.splitlines(True)
    return _split_keep(text, "\n")


def _split_keep(text: str, delimiter: str) -> list:
    parts = text.split(delimiter)
    last = parts.pop()
    out = [p + delimiter for p in parts]
    if last:
        out.append(last)
    return out


class LineStream:
    """The lines of ``sources`` (see the module docstring), read when iterated.

    Parameters
    ----------
    sources:
        :class:`TextSource` objects, read one after another.
    encoding, errors:
        As for :func:`open`.
    linedelimiter:
        None (Python's universal newlines: ``\\r\\n`` and ``\\r`` become
        ``\\n``), ``''`` (split at any of them, untranslated), ``'\\n'``,
        ``'\\r'``, ``'\\r\\n'``, or any other string to split at.
    include_path:
        Yield ``(line, path)`` pairs.
    """

    __slots__ = ("sources", "encoding", "errors", "linedelimiter", "include_path")

    def __init__(self, sources: list, encoding: str = "utf-8", errors: str = "strict",
                 linedelimiter: str | None = None, include_path: bool = False):
        self.sources = sources
        self.encoding = encoding
        self.errors = errors
        self.linedelimiter = linedelimiter
        self.include_path = include_path

    def __iter__(self):
        return itertools.chain.from_iterable(self._line_lists())

    def _line_lists(self):
        for source in self.sources:
            split = self._splitter()
            if self.include_path:
                path = source.path
                for piece in self._pieces(source):
                    yield [(line, path) for line in split(piece)]
            else:
                for piece in self._pieces(source):
                    yield split(piece)

    def count_lines(self) -> int:
        """The number of lines, without making a string per line."""
        mode = self.linedelimiter
        n = 0
        for source in self.sources:
            if mode == "":
                n += sum(len(io.StringIO(p, newline="").readlines()) for p in self._pieces(source))
                continue
            delimiter = "\n" if mode is None else mode
            last = ""
            for piece in self._pieces(source):
                n += piece.count(delimiter)
                last = piece
            if last and not last.endswith(delimiter):
                n += 1  # the final line has no line end
        return n

    def _splitter(self):
        mode = self.linedelimiter
        if mode is None or mode == "\n":
            return _split_newlines
        if mode == "":
            return lambda piece: io.StringIO(piece, newline="").readlines()
        return lambda piece: _split_keep(piece, mode)

    def _pieces(self, source: TextSource) -> Iterator[str]:
        """Decoded text of ``source`` in pieces that end at line ends (all but maybe the last)."""
        mode = self.linedelimiter
        delimiter = "\n" if mode in (None, "") else mode
        translate = mode is None
        holds_cr = mode in (None, "", "\r")  # a '\r' at a chunk's end may be the start of '\r\n'
        decoder = codecs.getincrementaldecoder(self.encoding)(self.errors)
        decode = decoder.decode
        rest = ""
        raw_delimiter = (delimiter if mode != "" else "\n").encode(self.encoding)
        for chunk in _byte_chunks(source, raw_delimiter):
            text = decode(chunk)
            if rest:
                text = rest + text
            if holds_cr and text.endswith("\r"):
                text, hold = text[:-1], "\r"
            else:
                hold = ""
            if translate and "\r" in text:
                text = text.replace("\r\n", "\n").replace("\r", "\n")
            if mode == "":
                cut = max(text.rfind("\n"), text.rfind("\r")) + 1
            else:
                cut = text.rfind(delimiter)
                cut = cut + len(delimiter) if cut >= 0 else 0
            if cut:
                yield text[:cut] if cut < len(text) else text
                rest = text[cut:] + hold
            else:
                rest = text + hold
        text = rest + decode(b"", True)
        if translate and "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if text:
            yield text

    def __repr__(self) -> str:
        return f"LineStream({self.sources!r})"
