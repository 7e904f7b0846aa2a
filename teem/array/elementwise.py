"""Elementwise operations: operators, numpy ufuncs, ``where``, ``clip``, ``isnan`` ...

``elemwise(op, *args)`` follows numpy's broadcasting rules: dimensions are
aligned from the right, a dimension of length 1 stretches, and arrays chunked
differently along a shared dimension are first rechunked to a common
refinement of their chunks.  Scalars and 0-d values are passed to every task
as they are.  ``numpy.sin(x)`` on a teem Array comes here through
``__array_ufunc__``; ``numpy.mean(x)`` goes to ``teem.array.mean`` through
``__array_function__``.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Callable

import numpy as np

from teem.core.task import funcname
from teem.core.tokenize import tokenize
from teem.array.blockwise import align_chunks, blockwise_layer, infer_dtype
from teem.array.core import Array, new_array

__all__ = ["elemwise", "where", "clip", "array_ufunc", "array_function", "broadcast_shapes",
           "isclose", "nan_to_num", "around", "UFUNC_NAMES"]


def _as_operand(arg: Any) -> Any:
    """Arrays and array-likes become Arrays; scalars stay scalars."""
    if isinstance(arg, Array):
        return arg
    if isinstance(arg, (list, tuple)):
        arg = np.asarray(arg)
    if isinstance(arg, np.ndarray) and arg.ndim > 0:
        from teem.array.creation import from_array
        return from_array(arg, chunks=-1)
    if hasattr(arg, "shape") and hasattr(arg, "dtype") and len(arg.shape) > 0 and \
            hasattr(arg, "__getitem__") and not np.isscalar(arg):
        from teem.array.creation import from_array
        return from_array(arg, chunks=-1)
    return arg


def broadcast_shapes(*shapes: tuple) -> tuple:
    """numpy's broadcast of ``shapes``; unknown (nan) lengths pass through."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for d in range(ndim):
        sizes = [s[len(s) - ndim + d] for s in shapes if len(s) - ndim + d >= 0]
        known = [n for n in sizes if not (isinstance(n, float) and math.isnan(n))]
        big = {n for n in known if n != 1}
        if len(big) > 1:
            raise ValueError(f"operands could not be broadcast together with shapes "
                             f"{' '.join(map(str, shapes))}")
        if len(known) < len(sizes):
            out.append(math.nan)
        else:
            out.append(big.pop() if big else 1)
    return tuple(out)


def elemwise(op: Callable, *args: Any, dtype: Any = None, name: str | None = None, **kwargs: Any) -> Array:
    """Apply ``op`` elementwise (block by block) with numpy broadcasting.

    Parameters
    ----------
    op:
        A function of numpy arrays that works elementwise (a ufunc, an operator).
    *args:
        Arrays, array-likes and scalars.
    dtype:
        The result's dtype (inferred from ``op`` on empty blocks if omitted).

    Returns
    -------
    Array
    """
    args = tuple(_as_operand(a) for a in args)
    arrays = [a for a in args if isinstance(a, Array)]
    if not arrays:
        return op(*args, **kwargs)
    shape = broadcast_shapes(*(a.shape for a in arrays))
    ndim = len(shape)
    pairs = [(a, tuple(range(ndim - a.ndim, ndim))) if isinstance(a, Array) else (a, None) for a in args]
    chunks_by_letter, _, pairs = align_chunks(pairs)
    out_ind = tuple(range(ndim))
    out_chunks = tuple(chunks_by_letter[d] for d in out_ind)
    if dtype is None:
        dtype = infer_dtype(op, [a for a, _ in pairs], kwargs, what="the operation")
    token = tokenize(op, [(a.name if i is not None else a) for a, i in pairs], kwargs)
    name = name or f"{funcname(op)}-{token}"
    numblocks = {d: len(c) for d, c in zip(out_ind, out_chunks)}
    layer = blockwise_layer(op, name, out_ind, pairs, numblocks, kwargs)
    return new_array(layer, name, out_chunks, dtype, [a for a, i in pairs if i is not None])


def _nth(func: Callable, n: int, *args, **kwargs):
    return func(*args, **kwargs)[n]


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple, kwargs: dict) -> Any:
    """``__array_ufunc__`` of Array: numpy ufuncs on teem arrays build new arrays."""
    if "out" in kwargs:
        return NotImplemented
    if method == "__call__":
        if ufunc is np.matmul:
            from teem.array.linalg import matmul
            return matmul(*inputs)
        if ufunc.nout == 1:
            return elemwise(ufunc, *inputs, **kwargs)
        return tuple(elemwise(partial(_nth, ufunc, i), *inputs, **kwargs) for i in range(ufunc.nout))
    if method == "reduce":
        from teem.array import reductions
        by_ufunc = {np.add: reductions.sum, np.multiply: reductions.prod, np.minimum: reductions.min,
                    np.maximum: reductions.max, np.logical_and: reductions.all,
                    np.logical_or: reductions.any}
        if ufunc in by_ufunc:
            (x,) = inputs
            return by_ufunc[ufunc](x, **{k: v for k, v in kwargs.items() if k in ("axis", "keepdims", "dtype")})
    if method == "outer" and len(inputs) == 2:
        a, b = (_as_operand(i) for i in inputs)
        from teem.array.blockwise import blockwise
        ai = tuple(range(a.ndim))
        bi = tuple(range(a.ndim, a.ndim + b.ndim))
        return blockwise(ufunc.outer, ai + bi, a, ai, b, bi, **kwargs)
    return NotImplemented


def array_function(func: Callable, types: tuple, args: tuple, kwargs: dict) -> Any:
    """``__array_function__`` of Array: numpy functions use the teem.array version if there is one.

    Functions teem.array does not have compute their teem arguments first.
    """
    import teem.array as da
    ours = getattr(da, func.__name__, None)
    if callable(ours) and ours is not func and getattr(ours, "__module__", "").startswith("teem"):
        return ours(*args, **kwargs)
    def concrete(v):
        if isinstance(v, Array):
            return v.compute()
        if isinstance(v, (list, tuple)):
            return type(v)(concrete(i) for i in v)
        return v
    return func(*concrete(args), **{k: concrete(v) for k, v in kwargs.items()})


# --- module functions -------------------------------------------------------------------------

UFUNC_NAMES = [
    "add", "subtract", "multiply", "divide", "true_divide", "floor_divide", "power", "float_power",
    "mod", "remainder", "fmod", "negative", "positive", "absolute", "fabs", "sign", "rint",
    "conj", "conjugate", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "logaddexp",
    "logaddexp2", "sqrt", "cbrt", "square", "reciprocal", "sin", "cos", "tan", "arcsin", "arccos",
    "arctan", "arctan2", "hypot", "sinh", "cosh", "tanh", "arcsinh", "arccosh", "arctanh",
    "deg2rad", "rad2deg", "degrees", "radians", "greater", "greater_equal", "less", "less_equal",
    "not_equal", "equal", "logical_and", "logical_or", "logical_xor", "logical_not", "maximum",
    "minimum", "fmax", "fmin", "isfinite", "isinf", "isnan", "signbit", "copysign", "nextafter",
    "spacing", "ldexp", "floor", "ceil", "trunc", "bitwise_and", "bitwise_or", "bitwise_xor",
    "invert", "left_shift", "right_shift", "heaviside", "gcd", "lcm", "frexp", "modf", "divmod",
]


def _make_ufunc(np_ufunc: np.ufunc) -> Callable:
    def wrapper(*args, **kwargs):
        if any(isinstance(a, Array) for a in args):
            return array_ufunc(np_ufunc, "__call__", args, kwargs)
        return np_ufunc(*args, **kwargs)
    wrapper.__name__ = np_ufunc.__name__
    wrapper.__qualname__ = np_ufunc.__name__
    wrapper.__doc__ = f"numpy.{np_ufunc.__name__} on teem arrays, block by block."
    return wrapper


UFUNCS = {name: _make_ufunc(getattr(np, name)) for name in UFUNC_NAMES if hasattr(np, name)}
UFUNCS["abs"] = UFUNCS["absolute"]


def where(condition: Any, x: Any = None, y: Any = None) -> Array:
    """``x`` where ``condition`` holds, else ``y`` (broadcast together).

    ``where(condition)`` alone is ``nonzero(condition)``.
    """
    if x is None and y is None:
        from teem.array.slicing import nonzero
        return nonzero(condition)
    if x is None or y is None:
        raise ValueError("where takes either one argument (condition) or three (condition, x, y)")
    return elemwise(np.where, condition, x, y)


def clip(a: Any, a_min: Any = None, a_max: Any = None, **kwargs) -> Array:
    """Limit the values of ``a`` to ``[a_min, a_max]``."""
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    return elemwise(np.clip, a, a_min, a_max)


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Array:
    """Elementwise ``numpy.isclose``."""
    return elemwise(np.isclose, a, b, rtol=rtol, atol=atol, equal_nan=equal_nan, dtype=bool)


def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None, neginf: Any = None) -> Array:
    """Elementwise ``numpy.nan_to_num``."""
    return elemwise(np.nan_to_num, x, nan=nan, posinf=posinf, neginf=neginf)


def around(x: Any, decimals: int = 0) -> Array:
    """Elementwise ``numpy.around``."""
    return elemwise(np.around, x, decimals=decimals)
