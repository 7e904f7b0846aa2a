"""to_parquet: one file per partition, or hive folders per value of ``partition_on`` columns.

- Plain: partition ``i`` becomes ``path/part.<i>.parquet``, every file with one
  schema (a partition whose column is all missing keeps the column's type).
  The index is stored as a column, so its statistics let ``read_parquet(...,
  calculate_divisions=True)`` know the divisions again.
- ``partition_on=[c1, c2]``: partition ``i``'s rows are grouped by those
  columns and each group is written to ``path/c1=v1/c2=v2/part.<i>.parquet``
  without them (``pandas.read_parquet`` and ``teem.dataframe.read_parquet``
  give them back as categoricals).  A task writes only its own files, so
  tasks never share a file.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from teem.core.graph import Graph
from teem.core.task import Ref, RefSeq, Task
from teem.core.tokenize import tokenize
from teem.dataframe.io.hive import hive_folder

__all__ = ["to_parquet", "write_piece"]


def _reference_schema(meta, preserve_index):
    import pyarrow as pa
    from teem.dataframe.meta import nonempty
    try:
        return pa.Schema.from_pandas(nonempty(meta), preserve_index=preserve_index)
    except (pa.ArrowException, TypeError, ValueError):
        return None


def _write_table(part: pd.DataFrame, fs, path: str, preserve_index, reference, kwargs: dict) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq
    table = pa.Table.from_pandas(part, preserve_index=preserve_index)
    if reference is not None:
        for i, field in enumerate(table.schema):
            if pa.types.is_null(field.type) and field.name in reference.names:
                target = reference.field(field.name).type
                table = table.set_column(i, pa.field(field.name, target), table.column(i).cast(target))
    with fs.open(path, "wb") as f:
        pq.write_table(table, f, **kwargs)
    return path


def write_piece(part, fs, root: str, filename: str, preserve_index, reference, partition_on, kwargs: dict) -> list:
    """Write one partition: one file, or one file per group of ``partition_on`` values."""
    if isinstance(part, pd.Series):
        part = part.to_frame()
    if not partition_on:
        return [_write_table(part, fs, f"{root}/{filename}", preserve_index, reference, kwargs)]
    written = []
    groups = part.groupby(partition_on, observed=True, sort=True, dropna=False)
    for values, rows in groups:
        values = values if isinstance(values, tuple) else (values,)
        folder = f"{root}/{hive_folder(partition_on, values)}"
        fs.makedirs(folder, exist_ok=True)
        written.append(_write_table(rows.drop(columns=partition_on), fs, f"{folder}/{filename}",
                                    preserve_index, reference, kwargs))
    return written


def _all_paths(lists: list) -> list:
    return [p for paths in lists for p in paths]


def to_parquet(df, path: str, write_index: bool = True, partition_on=None, name_function=None,
               compute: bool = True, storage_options: dict | None = None, compute_kwargs: dict | None = None,
               **kwargs: Any):
    """Write every partition to ``path/part.<i>.parquet`` (see the module docstring).

    Parameters
    ----------
    write_index:
        Store the index as a column (default).
    partition_on:
        Column(s) whose values name hive folders (``col=value/``).
    name_function:
        ``name_function(i)`` names partition ``i``'s file(s) instead of ``part.<i>.parquet``.
    **kwargs:
        pyarrow ``write_table`` options (``compression=``, ``row_group_size=``, ...).

    Returns
    -------
    The list of paths written (``compute=False``: a Delayed computing it).
    """
    import fsspec
    from teem.core.delayed import Delayed
    if partition_on is not None:
        partition_on = [partition_on] if isinstance(partition_on, str) else list(partition_on)
        if df.ndim != 2:
            raise TypeError("to_parquet(partition_on=...) needs a DataFrame; call .to_frame() first")
        missing = [c for c in partition_on if c not in df._meta.columns]
        if missing:
            raise KeyError(f"to_parquet(partition_on={partition_on}): {missing} are not columns; the columns "
                           f"are {list(df._meta.columns)}")
    fs, root = fsspec.core.url_to_fs(path, **(storage_options or {}))
    fs.makedirs(root, exist_ok=True)
    preserve_index = bool(write_index)  # an index kept as a column survives filters= (a range would not)
    meta = df._meta if df.ndim == 2 else df._meta.to_frame()
    if partition_on:
        meta = meta.drop(columns=partition_on)
    reference = _reference_schema(meta, preserve_index)
    name = "to-parquet-" + tokenize(df._name, root, write_index, partition_on, kwargs)
    layer = {}
    keys = []
    for i in range(df.npartitions):
        filename = name_function(i) if name_function else f"part.{i}.parquet"
        src, key = (df._name, i), (name, i)
        layer[key] = Task(key, write_piece, (Ref(src), fs, root, filename, preserve_index, reference,
                                             partition_on, kwargs), None, (src,))
        keys.append(key)
    final = (name + "-all", 0)
    layer[final] = Task(final, _all_paths, (RefSeq(list, tuple(keys)),), None, tuple(keys))
    out = Delayed(final, {}, (Graph(layer, (df._graph,)),))
    return out.compute(**(compute_kwargs or {})) if compute else out
