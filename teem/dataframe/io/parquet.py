"""read_parquet with pyarrow: one partition per file, hive folders, divisions from statistics.

- ``columns=`` and ``filters=`` go to pyarrow, which reads only those columns
  and skips row groups whose statistics rule the filter out; projection
  pushdown (:mod:`teem.dataframe.optimize`) narrows the columns further to
  what the graph uses.
- Hive folders (``root/year=2013/part.0.parquet``): the folder values come
  back as categorical columns, as ``pandas.read_parquet`` gives them, and
  filters on them drop whole files before any is opened
  (:mod:`teem.dataframe.io.hive`).
- ``calculate_divisions=True`` reads every file's footer: the min and max of
  the index column over its row groups give known divisions when the files
  are in order and do not overlap (a frame written by ``to_parquet`` with
  known divisions comes back with them).

Writing is :mod:`teem.dataframe.io.parquet_write`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Task
from teem.core.tokenize import tokenize
from teem.dataframe.io.hive import discover, has_hive_folders, normalize_filters, split_filters
from teem.dataframe.optimize import register_reader

__all__ = ["read_parquet", "ParquetPiece", "read_piece"]


class ParquetPiece:
    """One file to read.

    Attributes
    ----------
    path, fs:
        The file and its fsspec filesystem.
    columns:
        The output columns in order: the file's own and hive partition columns.
    filters:
        pyarrow filters for this file's own columns (None: every row).
    partition:
        ``{column: (CategoricalDtype, value)}`` given by the file's hive folders.
    index:
        A column to make the index (None: the index stored by pandas, if any).
    """

    __slots__ = ("path", "fs", "columns", "filters", "partition", "index")

    def __init__(self, path: str, fs, columns: list, filters: Any, partition: dict | None = None,
                 index: str | None = None):
        self.path, self.fs, self.columns, self.filters = path, fs, columns, filters
        self.partition, self.index = partition or {}, index

    def __reduce__(self):
        return ParquetPiece, (self.path, self.fs, self.columns, self.filters, self.partition, self.index)

    def __teem_tokenize__(self):
        return ("parquet-piece", self.path, self.columns, self.filters, self.index,
                sorted((k, str(v[1])) for k, v in self.partition.items()))

    def __repr__(self) -> str:
        return f"<ParquetPiece {self.path} columns={self.columns}>"


def read_piece(piece: ParquetPiece) -> pd.DataFrame:
    """Read one file's wanted columns and rows (the function of every read_parquet task)."""
    import pyarrow.parquet as pq
    own = [c for c in piece.columns if c not in piece.partition]
    if piece.index is not None and piece.index not in own:
        own.append(piece.index)
    with piece.fs.open(piece.path, "rb") as f:
        table = pq.read_table(f, columns=own, filters=piece.filters, use_pandas_metadata=True)
    frame = table.to_pandas()
    for column in piece.columns:
        if column in piece.partition:
            dtype, value = piece.partition[column]
            codes = np.full(len(frame), dtype.categories.get_loc(value), dtype=np.int32)
            frame[column] = pd.Categorical.from_codes(codes, dtype=dtype)
    if piece.index is not None:
        frame = frame.set_index(piece.index)
    return frame[[c for c in piece.columns if c != piece.index]]


def _narrow(task: Task, columns: set) -> Task:
    piece = task.args[0]
    available = piece.columns
    keep = [c for c in available if c in columns] or available[:1]
    if len(keep) == len(available):
        return task
    narrowed = ParquetPiece(piece.path, piece.fs, keep, piece.filters, piece.partition, piece.index)
    return Task(task.key, task.func, (narrowed,), None, ())


register_reader(read_piece, _narrow)


def _natural(path: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def _is_data_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path.endswith((".parquet", ".parq")) or (not name.startswith(("_", ".")) and "." not in name)


def _expand(fs, urlpath) -> tuple:
    """The files to read, in natural order, and the folder they were found under (None: not one
    folder)."""
    paths, root = [], None
    sources = [urlpath] if isinstance(urlpath, str) else list(urlpath)
    for p in sources:
        p = fs._strip_protocol(p)
        if fs.isdir(p):
            paths.extend(sorted((f for f in fs.find(p) if _is_data_file(f)), key=_natural))
            root = p if len(sources) == 1 else None
        elif any(ch in p for ch in "*?["):
            paths.extend(sorted(fs.glob(p), key=_natural))
        else:
            paths.append(p)
    return paths, root


def _index_columns(schema) -> list:
    """The columns pandas stored its index in (from the schema's pandas metadata)."""
    meta = (schema.metadata or {}).get(b"pandas")
    if not meta:
        return []
    return [c for c in json.loads(meta).get("index_columns", []) if isinstance(c, str)]


def read_parquet(path, columns=None, filters=None, index: str | None = None, calculate_divisions: bool = False,
                 storage_options: dict | None = None, engine: str = "pyarrow", **kwargs: Any):
    """Read Parquet files (a file, a folder of them -- hive folders included -- a glob or a list).

    Parameters
    ----------
    path:
        Local or fsspec URL(s).
    columns:
        Column names to read (a str gives a Series); the index stored by pandas is always restored.
    filters:
        pyarrow filters, e.g. ``[('year', '>=', 2013)]`` or a list of such lists (OR of ANDs);
        rows failing them are never materialized, row groups are skipped by their statistics, and
        files whose hive folders fail them are never opened.
    index:
        A column to use as the index (default: the index pandas stored, if any).
    calculate_divisions:
        Read the footers' statistics of the index column to know the divisions.

    Returns
    -------
    DataFrame (or Series), one partition per file.

    Example
    -------
    >>> ddf.read_parquet("flights/", filters=[("Month", "in", [1, 2])])   # doctest: +SKIP
    """
    import fsspec
    import pyarrow.parquet as pq
    from teem.dataframe.core import new_collection
    if engine not in ("pyarrow", "auto"):
        raise ValueError(f"read_parquet(engine={engine!r}): only 'pyarrow' is supported")
    if kwargs:
        raise TypeError(f"read_parquet() got unsupported arguments {sorted(kwargs)}")
    probe = path if isinstance(path, str) else list(path)[0]
    fs, _, _ = fsspec.core.get_fs_token_paths(probe, storage_options=storage_options)
    paths, root = _expand(fs, path)
    if not paths:
        raise FileNotFoundError(f"read_parquet: no files found at {path!r}")
    conjunctions = normalize_filters(filters)
    if root is not None and has_hive_folders(paths, root):
        layout = discover(fs, paths, root)
        schema, files, partition_dtypes = layout.schema, layout.files, layout.dtypes
    else:
        with fs.open(paths[0], "rb") as f:
            schema = pq.read_schema(f)
        files, partition_dtypes = [(p, {}) for p in paths], {}
    meta = schema.empty_table().to_pandas()
    for column, dtype in partition_dtypes.items():
        meta[column] = pd.Series([], dtype=dtype, index=meta.index)
    if index is not None:
        if index not in meta.columns:
            raise KeyError(f"read_parquet(index={index!r}): not a column; the columns are {list(meta.columns)}")
        meta = meta.set_index(index)
    series = isinstance(columns, str)
    wanted = [columns] if series else (list(columns) if columns is not None else list(meta.columns))
    missing = [c for c in wanted if c not in meta.columns]
    if missing:
        raise KeyError(f"read_parquet: columns {missing} are not in {path!r}; it has {list(meta.columns)}")
    meta = meta[wanted]
    pieces = []
    for p, values in files:
        own_filters = split_filters(conjunctions, values, list(partition_dtypes))
        if own_filters is False:
            continue  # its folders rule every row out: never opened
        partition = {c: (partition_dtypes[c], values[c]) for c in partition_dtypes}
        pieces.append(ParquetPiece(p, fs, wanted, own_filters, partition, index))
    divisions = (None,) * (len(pieces) + 1)
    if calculate_divisions and pieces:
        divisions = _divisions_from_statistics(pieces, index or _stored_index(schema), meta.index.dtype)
    infos = [fs.info(piece.path) for piece in pieces]
    identity = [(piece.path, i.get("size"), i.get("mtime", i.get("LastModified"))) for piece, i in zip(pieces, infos)]
    name = "read-parquet-" + tokenize(identity, wanted, filters, index)
    layer = {(name, i): Task((name, i), read_piece, (piece,), None, ()) for i, piece in enumerate(pieces)}
    if not pieces:  # every file filtered out: one empty partition
        layer = {(name, 0): Task((name, 0), _empty_of, (meta,), None, ())}
        divisions = (None, None)
    out = new_collection(Graph(layer), name, meta, divisions)
    return out[columns] if series else out


def _empty_of(meta):
    return meta


def _stored_index(schema) -> str:
    stored = _index_columns(schema)
    if len(stored) != 1:
        raise ValueError("read_parquet(calculate_divisions=True) needs one index column: these files store "
                         f"{len(stored)}; pass index='<column>'")
    return stored[0]


def _divisions_from_statistics(pieces: list, column: str, dtype) -> tuple:
    """``(min_0, ..., min_last, max_last)`` from the footers, or unknown divisions when a file lacks
    statistics, is empty, or the files overlap or are out of order."""
    import pyarrow.parquet as pq
    unknown = (None,) * (len(pieces) + 1)
    spans = []
    for piece in pieces:
        with piece.fs.open(piece.path, "rb") as f:
            metadata = pq.ParquetFile(f).metadata
        lows, highs = [], []
        for g in range(metadata.num_row_groups):
            group = metadata.row_group(g)
            if group.num_rows == 0:
                continue
            stats = None
            for j in range(group.num_columns):
                if group.column(j).path_in_schema == column:
                    stats = group.column(j).statistics
            if stats is None or not stats.has_min_max:
                return unknown
            lows.append(stats.min)
            highs.append(stats.max)
        if not lows:
            return unknown
        spans.append((min(lows), max(highs)))
    for (_, high), (low, _) in zip(spans, spans[1:]):
        if not high < low:
            return unknown
    values = [s[0] for s in spans] + [spans[-1][1]]
    try:
        return tuple(pd.Index(values).astype(dtype))
    except (TypeError, ValueError):
        return tuple(values)
