"""read_json: JSON files (one object per line, or whole documents) as a DataFrame.

With ``lines=True`` (the default for ``orient='records'``), an uncompressed
file larger than ``blocksize`` is cut into byte ranges that own the lines
starting in them (as :mod:`teem.dataframe.io.csv` does); compressed files and
``lines=False`` give one partition per file.  The structure comes from the
first lines of the first file.
"""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Task
from teem.core.tokenize import tokenize
from teem.io.compression import normalize_compression, open_decompressed
from teem.dataframe.io.csv import _block_bytes, _sample, expand_paths

__all__ = ["read_json", "JsonBlock", "read_json_block"]


class JsonBlock:
    """One partition: a file (or a byte range of it) and the pandas options."""

    __slots__ = ("path", "fs", "start", "length", "compression", "kwargs", "meta")

    def __init__(self, path, fs, start, length, compression, kwargs, meta):
        self.path, self.fs, self.start, self.length = path, fs, start, length
        self.compression, self.kwargs, self.meta = compression, kwargs, meta

    def __reduce__(self):
        return JsonBlock, tuple(getattr(self, s) for s in self.__slots__)


def read_json_block(block: JsonBlock) -> pd.DataFrame:
    """Parse one partition (the function of every read_json task)."""
    with block.fs.open(block.path, "rb") as raw:
        if block.length is None:
            with open_decompressed(raw, block.compression) as stream:
                data = stream.read()
        else:
            data = _block_bytes(raw, block.start, block.length)
    if not data.strip():
        return block.meta.copy()
    df = pd.read_json(io.BytesIO(data), **block.kwargs)
    if list(df.columns) != list(block.meta.columns) and block.kwargs.get("lines"):
        df = df.reindex(columns=block.meta.columns)  # keys absent from every line of this block
    return df


def read_json(url_path, orient: str = "records", lines: bool | None = None, blocksize: int | None = None,
              compression: str | None = "infer", storage_options: dict | None = None, sample: int = 256_000,
              **kwargs: Any):
    """Read JSON files into a teem DataFrame (Dask's ``read_json``).

    Parameters
    ----------
    url_path:
        A path, glob or list of paths (fsspec URLs work).
    orient, lines:
        As pandas; ``lines`` defaults to True for ``orient='records'``.
    blocksize:
        Bytes per partition for uncompressed line-delimited files (None: a file per partition).
    **kwargs:
        Other ``pandas.read_json`` options (``dtype``, ``convert_dates``, ...).
    """
    from teem.dataframe.core import DataFrame
    lines = orient == "records" if lines is None else lines
    if lines and orient != "records":
        raise ValueError("read_json(lines=True) needs orient='records'")
    fs, paths = expand_paths(url_path, storage_options, "read_json")
    compressions = [normalize_compression(compression, p) for p in paths]
    options = dict(kwargs, orient=orient, lines=lines)
    if lines:
        head = _sample(fs, paths[0], compressions[0], sample)
        meta = pd.read_json(io.BytesIO(head), **options).iloc[:0]
    else:
        with fs.open(paths[0], "rb") as raw, open_decompressed(raw, compressions[0]) as stream:
            meta = pd.read_json(io.BytesIO(stream.read()), **options).iloc[:0]
    infos = [fs.info(p) for p in paths]
    identity = [(p, i.get("size"), i.get("mtime", i.get("LastModified"))) for p, i in zip(paths, infos)]
    name = "read-json-" + tokenize(identity, compression, blocksize, options)
    layer = {}
    n = 0
    for path, comp, info in zip(paths, compressions, infos):
        size = info.get("size") or 0
        if lines and comp is None and blocksize and size > blocksize:
            ranges = [(s, int(blocksize)) for s in range(0, size, int(blocksize))]
        else:
            ranges = [(0, None)]
        for start, length in ranges:
            key = (name, n)
            layer[key] = Task(key, read_json_block, (JsonBlock(path, fs, start, length, comp, options, meta),),
                              None, ())
            n += 1
    return DataFrame(Graph(layer), name, meta, (None,) * (n + 1))
