"""Hive-partitioned Parquet folders: ``root/year=2013/carrier=UA/part.0.parquet``.

Reading
-------
:func:`discover` asks pyarrow's dataset discovery (the same one
``pandas.read_parquet`` uses) for the partition columns, their types and
all their values, and for every file the values its folders give.  A
partition column comes back as a pandas categorical whose categories are
*all* the values found in the folder names (as ``pandas.read_parquet`` gives
them, whatever is filtered out).

Filters are pyarrow's disjunctive normal form: a list of ``(column, op,
value)`` (all must hold) or a list of such lists (any may hold).
:func:`split_filters` decides each file from its folder values alone: a
conjunction with a false partition predicate is dropped, true ones are
removed, and what is left (predicates on the file's own columns) goes to
pyarrow for that file.  No conjunction left: the file is never opened.

Writing
-------
:func:`hive_folder` names the folder of one group of rows (values
URI-encoded, which pyarrow decodes on discovery).
"""

from __future__ import annotations

import operator
from typing import Any
from urllib.parse import quote

import pandas as pd

__all__ = ["HiveLayout", "discover", "split_filters", "normalize_filters", "hive_folder", "has_hive_folders"]

_OPS = {"==": operator.eq, "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
        ">": operator.gt, ">=": operator.ge}


class HiveLayout:
    """What discovery found: the files, each with its partition values, and the columns' dtypes.

    Attributes
    ----------
    files:
        ``[(path, {column: value})]`` in path order.
    columns:
        Partition column names, outermost folder first.
    dtypes:
        ``{column: pandas.CategoricalDtype}`` holding every value found.
    schema:
        The pyarrow schema of the files' own columns (first file).
    """

    def __init__(self, files: list, columns: list, dtypes: dict, schema):
        self.files, self.columns, self.dtypes, self.schema = files, columns, dtypes, schema


def has_hive_folders(paths: list, root: str) -> bool:
    """Whether the files below ``root`` sit in ``name=value`` folders."""
    prefix = root.rstrip("/") + "/"
    for p in paths:
        parts = p[len(prefix):].split("/")[:-1] if p.startswith(prefix) else []
        if parts and all("=" in part for part in parts):
            return True
    return False


def discover(fs, paths: list, root: str) -> HiveLayout:
    """The hive layout of ``paths`` (files below folder ``root``), found by pyarrow."""
    import pyarrow.dataset as ds
    factory = ds.HivePartitioning.discover(infer_dictionary=True)
    dataset = ds.dataset(paths, filesystem=fs, format="parquet", partitioning=factory,
                         partition_base_dir=root.rstrip("/"))
    names = list(dataset.partitioning.schema.names)
    dtypes = {}
    for name, values in zip(names, dataset.partitioning.dictionaries):
        dtypes[name] = pd.CategoricalDtype(pd.Index(values.to_pandas()), ordered=False)
    by_path = {f.path: ds.get_partition_keys(f.partition_expression) for f in dataset.get_fragments()}
    files = [(p, by_path.get(p, {})) for p in paths]
    file_fields = [f for f in dataset.schema if f.name not in names]
    import pyarrow as pa
    schema = pa.schema(file_fields, metadata=dataset.schema.metadata)
    return HiveLayout(files, names, dtypes, schema)


def normalize_filters(filters) -> list | None:
    """Filters as a list of conjunctions (lists of ``(column, op, value)``); None stays None."""
    if filters is None:
        return None
    filters = list(filters)
    if not filters:
        return None
    if all(isinstance(f, tuple) for f in filters):
        return [filters]
    if all(isinstance(f, list) for f in filters):
        return [list(c) for c in filters]
    raise ValueError(f"filters={filters!r}: pass a list of (column, op, value) tuples, or a list of such "
                     "lists (any of which may hold)")


def _holds(value: Any, op: str, target: Any) -> bool:
    """``value op target`` for a folder value, with the target cast to the value's type."""
    if op in ("in", "not in"):
        inside = any(_holds(value, "==", t) for t in target)
        return inside if op == "in" else not inside
    if op not in _OPS:
        raise ValueError(f"filter operator {op!r} is not supported; use one of {sorted(_OPS)}, 'in', 'not in'")
    if value is None:
        return False
    if not isinstance(target, type(value)):
        try:
            target = type(value)(target)
        except (TypeError, ValueError):
            return False
    return bool(_OPS[op](value, target))


def split_filters(conjunctions: list | None, values: dict, partition_columns: list):
    """The pyarrow filters to read one file with, or False if no row of it can pass.

    ``values`` are the file's folder values; predicates on ``partition_columns`` are decided here.
    Returns None when every row passes.
    """
    if conjunctions is None:
        return None
    left = []
    for conjunction in conjunctions:
        rest, possible = [], True
        for column, op, target in conjunction:
            if column in partition_columns:
                if not _holds(values.get(column), op, target):
                    possible = False
                    break
            else:
                rest.append((column, op, target))
        if not possible:
            continue
        if not rest:
            return None  # this conjunction holds for every row of the file
        left.append(rest)
    if not left:
        return False
    return left


def hive_folder(columns: list, values: tuple) -> str:
    """``'c1=v1/c2=v2'`` for one group of rows (values URI-encoded)."""
    parts = []
    for column, value in zip(columns, values):
        if pd.isna(value):
            raise ValueError(f"to_parquet(partition_on={columns}): column {column!r} has missing values, "
                             "which have no folder name; fill them first (df.fillna({...}))")
        parts.append(f"{column}={quote(str(value), safe='')}")
    return "/".join(parts)
