"""Which columns of their inputs the partition-wise tasks use (for projection pushdown).

Each rule gets a task and the set of its own output columns used downstream
(or ``ALL``) and yields ``(input key, columns used)``; see
:mod:`teem.dataframe.optimize`.
"""

from __future__ import annotations

import operator

from teem.core.task import Ref
from teem.dataframe.core import _MethodCall, _assign, _astype, _filter, _index_of, _project
from teem.dataframe.optimize import ALL, register_rule
from teem.dataframe.indexing import _loc_columns, _loc_labels, _loc_slice
from teem.dataframe.manipulation import _head, _tail
from teem.dataframe.reductions import _length_chunk
from teem.dataframe.repartition import _index_range, _split_rows

__all__: list = []


def _as_set(columns) -> set:
    return set(columns) if isinstance(columns, list) else {columns}


def _project_rule(task, need):
    src, columns = task.args
    yield src.key, _as_set(columns)


def _filter_rule(task, need):
    frame, mask = task.args
    yield frame.key, need
    if type(mask) is Ref:
        yield mask.key, ALL


def _assign_rule(task, need):
    frame, column, value = task.args
    yield frame.key, need if need is ALL else need - {column}
    if type(value) is Ref:
        yield value.key, ALL


def _length_rule(task, need):
    yield task.args[0].key, set()


def _passthrough_rule(task, need):
    """Column-wise operations with one collection input: they use the columns that are used."""
    refs = [a for a in task.args if type(a) is Ref]
    if len(refs) != 1 or task.kwargs:
        for dep in task.dependencies:
            yield dep, ALL
        return
    yield refs[0].key, need


def _astype_rule(task, need):
    src, dtype = task.args
    if isinstance(dtype, dict) and need is not ALL:
        yield src.key, need | set(dtype)
    else:
        yield src.key, need if not isinstance(dtype, dict) else ALL


def _loc_columns_rule(task, need):
    src, columns = task.args
    if isinstance(columns, (list, str)) or not hasattr(columns, "__iter__"):
        yield src.key, _as_set(columns)
    else:
        yield src.key, ALL


register_rule(_project, _project_rule)
register_rule(_loc_columns, _loc_columns_rule)
# row selections by position or index: they use the columns that are used
for _func in (_loc_slice, _loc_labels, _split_rows, _index_range, _head, _tail):
    register_rule(_func, _passthrough_rule)
register_rule(_filter, _filter_rule)
register_rule(_assign, _assign_rule)
register_rule(_length_chunk, _length_rule)
register_rule(_index_of, _length_rule)  # the index needs no column
register_rule(_astype, _astype_rule)
for _name in ("fillna", "isna", "notna", "round", "clip"):
    register_rule(_MethodCall(_name), _passthrough_rule)
for _op in (operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod,
            operator.pow, operator.lt, operator.le, operator.eq, operator.ne, operator.gt, operator.ge,
            operator.neg, operator.abs, operator.invert):
    register_rule(_op, _passthrough_rule)
