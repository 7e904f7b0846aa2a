"""read_parquet and to_parquet with pyarrow: one partition per file.

``columns=`` and ``filters=`` go to pyarrow, which reads only those columns
and skips row groups whose statistics rule the filter out; projection
pushdown (:mod:`teem.dataframe.optimize`) narrows the columns further to what
the graph uses.  ``to_parquet`` writes ``part.<i>.parquet`` per partition with
one schema (a partition whose column is all missing keeps the column's type).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Ref, Task
from teem.core.tokenize import tokenize
from teem.dataframe.optimize import register_reader

__all__ = ["read_parquet", "to_parquet", "ParquetPiece", "read_piece"]


class ParquetPiece:
    """One file to read: path, filesystem, columns (None: all), pyarrow filters."""

    __slots__ = ("path", "fs", "columns", "filters")

    def __init__(self, path: str, fs, columns: list | None, filters: Any):
        self.path, self.fs, self.columns, self.filters = path, fs, columns, filters

    def __reduce__(self):
        return ParquetPiece, (self.path, self.fs, self.columns, self.filters)

    def __repr__(self) -> str:
        return f"<ParquetPiece {self.path} columns={self.columns}>"


def read_piece(piece: ParquetPiece) -> pd.DataFrame:
    """Read one file's wanted columns and rows (the function of every read_parquet task)."""
    import pyarrow.parquet as pq
    with piece.fs.open(piece.path, "rb") as f:
        table = pq.read_table(f, columns=piece.columns, filters=piece.filters, use_pandas_metadata=True)
    return table.to_pandas()


def _narrow(task: Task, columns: set) -> Task:
    piece = task.args[0]
    available = piece.columns
    if available is None:
        return task
    keep = [c for c in available if c in columns] or available[:1]
    if len(keep) == len(available):
        return task
    return Task(task.key, task.func, (ParquetPiece(piece.path, piece.fs, keep, piece.filters),), None, ())


register_reader(read_piece, _narrow)


def _natural(path: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path)]


def _expand(fs, urlpath) -> list:
    paths = []
    for p in ([urlpath] if isinstance(urlpath, str) else list(urlpath)):
        p = fs._strip_protocol(p)
        if fs.isdir(p):
            found = [f for f in fs.find(p) if f.endswith((".parquet", ".parq")) or
                     (not f.rsplit("/", 1)[-1].startswith(("_", ".")) and "." not in f.rsplit("/", 1)[-1])]
            paths.extend(sorted(found, key=_natural))
        elif any(ch in p for ch in "*?["):
            paths.extend(sorted(fs.glob(p), key=_natural))
        else:
            paths.append(p)
    return paths


def read_parquet(path, columns=None, filters=None, storage_options: dict | None = None, engine: str = "pyarrow",
                 **kwargs: Any):
    """Read Parquet files (a file, a directory of them, a glob or a list) into a DataFrame.

    Parameters
    ----------
    path:
        Local or fsspec URL(s).
    columns:
        Column names to read (a str gives a Series); the index stored by pandas is always restored.
    filters:
        pyarrow filters, e.g. ``[('year', '>=', 2013)]`` or a list of such lists (OR of ANDs);
        rows failing them are never materialized, row groups are skipped by their statistics.

    Returns
    -------
    DataFrame (or Series), one partition per file, divisions unknown.
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
    paths = _expand(fs, path)
    if not paths:
        raise FileNotFoundError(f"read_parquet: no files found at {path!r}")
    series = isinstance(columns, str)
    wanted = [columns] if series else (list(columns) if columns is not None else None)
    with fs.open(paths[0], "rb") as f:
        schema = pq.read_schema(f)
    meta = schema.empty_table().to_pandas()
    if wanted is not None:
        missing = [c for c in wanted if c not in meta.columns]
        if missing:
            raise KeyError(f"read_parquet: columns {missing} are not in {paths[0]}; it has {list(meta.columns)}")
        meta = meta[wanted]
    cols = wanted if wanted is not None else list(meta.columns)
    infos = [fs.info(p) for p in paths]
    identity = [(p, i.get("size"), i.get("mtime", i.get("LastModified"))) for p, i in zip(paths, infos)]
    name = "read-parquet-" + tokenize(identity, cols, filters)
    layer = {}
    for i, p in enumerate(paths):
        layer[(name, i)] = Task((name, i), read_piece, (ParquetPiece(p, fs, cols, filters),), None, ())
    out = new_collection(Graph(layer), name, meta, (None,) * (len(paths) + 1))
    return out[columns] if series else out


def _reference_schema(meta, preserve_index):
    import pyarrow as pa
    from teem.dataframe.meta import nonempty
    try:
        return pa.Schema.from_pandas(nonempty(meta), preserve_index=preserve_index)
    except (pa.ArrowException, TypeError, ValueError):
        return None


def write_piece(part: pd.DataFrame, fs, path: str, preserve_index, reference, kwargs: dict) -> str:
    """Write one partition (columns that are all missing here take the reference type)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    if isinstance(part, pd.Series):
        part = part.to_frame()
    table = pa.Table.from_pandas(part, preserve_index=preserve_index)
    if reference is not None:
        for i, field in enumerate(table.schema):
            if pa.types.is_null(field.type) and field.name in reference.names:
                target = reference.field(field.name).type
                table = table.set_column(i, pa.field(field.name, target), table.column(i).cast(target))
    with fs.open(path, "wb") as f:
        pq.write_table(table, f, **kwargs)
    return path


def to_parquet(df, path: str, write_index: bool = True, name_function=None, compute: bool = True,
               storage_options: dict | None = None, compute_kwargs: dict | None = None, **kwargs: Any):
    """Write every partition to ``path/part.<i>.parquet`` (``name_function(i)`` names files instead).

    Returns
    -------
    The list of paths written (``compute=False``: a Delayed computing it).
    """
    import fsspec
    from teem.core.delayed import Delayed
    if kwargs.get("partition_on"):
        raise NotImplementedError("to_parquet(partition_on=...) is not supported; write one folder per "
                                  "value with df[df.key == value].to_parquet(...)")
    fs, root = fsspec.core.url_to_fs(path, **(storage_options or {}))
    fs.makedirs(root, exist_ok=True)
    preserve_index = bool(write_index)  # an index kept as a column survives filters= (a range would not)
    reference = _reference_schema(df._meta if df.ndim == 2 else df._meta.to_frame(), preserve_index)
    name = "to-parquet-" + tokenize(df._name, root, write_index, kwargs)
    layer = {}
    keys = []
    for i in range(df.npartitions):
        file = f"{root}/{name_function(i) if name_function else f'part.{i}.parquet'}"
        src, key = (df._name, i), (name, i)
        layer[key] = Task(key, write_piece, (Ref(src), fs, file, preserve_index, reference, kwargs), None, (src,))
        keys.append(key)
    from teem.core.task import RefSeq
    final = (name + "-all", 0)
    layer[final] = Task(final, list, (RefSeq(list, tuple(keys)),), None, tuple(keys))
    out = Delayed(final, {}, (Graph(layer, (df._graph,)),))
    return out.compute(**(compute_kwargs or {})) if compute else out
