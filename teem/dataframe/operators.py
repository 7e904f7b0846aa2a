"""Operators of the collections: ``+``, ``<``, ``&``, ... and their named forms (``add``, ``lt``).

Installed on the classes of :mod:`teem.dataframe.core` when it is imported.
Between partitioned collections and values, an operator is one task per
partition (:func:`~teem.dataframe.partitionwise.partitionwise`); between
Scalars and values it is one task (:func:`~teem.dataframe.core.scalar_op`).
An Index compares into a boolean Index (pandas gives a numpy array), so
``df[df.index > 5]`` filters.
"""

from __future__ import annotations

import operator

import pandas as pd

from teem.core.operators import ARITHMETIC, install_operators
from teem.dataframe.core import DataFrame, Frame, Index, Scalar, Series, _method, scalar_op
from teem.dataframe.partitionwise import partitionwise

__all__: list = []


def _binary(op, reflected: bool = False):
    def method(self, other):
        if isinstance(other, (pd.DataFrame, pd.Series)) and len(other) > 0:
            raise TypeError("cannot combine a teem collection with an in-memory pandas object row by "
                            "row; convert it with teem.dataframe.from_pandas first")
        args = (other, self) if reflected else (self, other)
        if isinstance(self, Scalar) and not isinstance(other, Frame):
            return scalar_op(op, *args)
        return partitionwise(op, *args, name=op.__name__.strip("_"))
    method.__name__ = f"__{'r' if reflected else ''}{op.__name__.strip('_')}__"
    return method


def _unary(op):
    def method(self):
        if isinstance(self, Scalar):
            return scalar_op(op, self)
        return partitionwise(op, self, name=op.__name__.strip("_"))
    return method


for _cls in (Frame, Scalar):
    install_operators(_cls, _binary, _unary, arithmetic=ARITHMETIC[:-2])  # (no shifts in pandas)
    _cls.__hash__ = lambda self: hash(self._name)


def _named_op(op):
    def method(self, other, fill_value=None):
        if fill_value is None:
            return _binary(op)(self, other)
        return partitionwise(_method(op.__name__.strip("_")), self, other, fill_value=fill_value,
                             name=op.__name__)
    return method


for _op_name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow"):
    setattr(Frame, _op_name, _named_op(getattr(operator, _op_name)))
for _op_name in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(Frame, _op_name, _binary(getattr(operator, _op_name)))
Frame.div = Frame.truediv


class _IndexOp:
    """``op(index, other)`` as a pandas Index (comparisons of an Index give numpy arrays)."""

    __slots__ = ("op",)

    def __init__(self, op):
        self.op = op

    def __call__(self, a, b):
        out = self.op(a, b)
        return out if isinstance(out, pd.Index) else pd.Index(out)

    def __reduce__(self):
        return _IndexOp, (self.op,)

    def __teem_tokenize__(self):
        return ("index-op", self.op)

    @property
    def __name__(self) -> str:
        return self.op.__name__


def _index_binary(op, reflected: bool = False):
    def method(self, other):
        if isinstance(other, (DataFrame, Series)):
            raise TypeError("cannot combine a teem Index with a DataFrame or Series row by row; compare "
                            "the index with a value, or use a column")
        args = (other, self) if reflected else (self, other)
        return partitionwise(_IndexOp(op), *args, name=op.__name__.strip("_"))
    return method


for _op_name in ("lt", "le", "eq", "ne", "gt", "ge", "add", "sub", "mul", "truediv", "floordiv", "mod",
                 "and_", "or_", "xor"):
    _op = getattr(operator, _op_name)
    setattr(Index, f"__{_op_name.rstrip('_')}__", _index_binary(_op))
