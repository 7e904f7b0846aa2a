"""Python's operators on lazy collections: which dunder methods, installed one way for all.

``Delayed``, ``Array`` and the dataframe collections each build one task per operator call;
:func:`install_operators` gives a class ``__add__``/``__radd__`` ..., comparisons and unary
operators from two factories the class provides (``binary(op, reflected=False)`` and
``unary(op)``, each returning a method).
"""

from __future__ import annotations

import operator
from typing import Callable

__all__ = ["ARITHMETIC", "COMPARISONS", "UNARY", "install_operators"]

ARITHMETIC = ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "and", "or", "xor",
              "lshift", "rshift")
COMPARISONS = ("lt", "le", "eq", "ne", "gt", "ge")
UNARY = ("neg", "pos", "abs", "invert")


def install_operators(cls: type, binary: Callable, unary: Callable, arithmetic=ARITHMETIC,
                      comparisons=COMPARISONS, unary_names=UNARY) -> None:
    """Set ``cls``'s operator methods: arithmetic both ways, then comparisons, then unary ones."""
    for name in arithmetic:
        op = getattr(operator, name + "_" if name in ("and", "or") else name)
        setattr(cls, f"__{name}__", binary(op))
        setattr(cls, f"__r{name}__", binary(op, reflected=True))
    for name in comparisons:
        setattr(cls, f"__{name}__", binary(getattr(operator, name)))
    for name in unary_names:
        setattr(cls, f"__{name}__", unary(getattr(operator, name)))
