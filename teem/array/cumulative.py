"""Cumulative sums and products along an axis: ``cumsum``, ``cumprod`` and their nan versions.

Each block is accumulated on its own; then a chain of small *carry* tasks
passes the running total (the last slice of the previous blocks) along the
axis, and each block adds (or multiplies by) the carry it receives.  Only
one slice per block travels along the chain.
"""

from __future__ import annotations

from itertools import product

import numpy as np

from teem.core.task import Ref, Task
from teem.core.tokenize import tokenize
from teem.array.core import Array, new_array
from teem.array.reductions import _as_array, _normalize_axis

__all__ = ["cumsum", "cumprod", "nancumsum", "nancumprod"]


def _same(value):
    return value


def _cum_block(block, func, axis, dtype):
    return func(block, axis=axis, dtype=dtype)


def _last(cum, axis):
    return np.take(cum, [-1], axis=axis) if cum.shape[axis] else None


def _next_carry(carry, cum, axis, op):
    last = _last(cum, axis)
    if last is None:
        return carry
    return last if carry is None else op(carry, last)


def _apply_carry(cum, carry, op):
    return cum if carry is None else op(cum, carry)


def _cumulative(x, axis, dtype, func, op, name):
    x = _as_array(x)
    if axis is None:
        x = x.reshape(-1)
        axis = 0
    axis = _normalize_axis(axis, x.ndim)[0]
    if dtype is None:
        dtype = func(np.ones(1, x.dtype)).dtype
    dtype = np.dtype(dtype)
    token = tokenize(x.name, axis, dtype, name)
    cum_name, carry_name, out_name = f"{name}-block-{token}", f"{name}-carry-{token}", f"{name}-{token}"
    layer = {}
    for idx in product(*map(range, x.numblocks)):
        key = (cum_name, *idx)
        src = (x.name, *idx)
        layer[key] = Task(key, _cum_block, (Ref(src), func, axis, dtype), None, (src,))
        k = idx[axis]
        if k == 0:
            out = (out_name, *idx)
            layer[out] = Task(out, _same, (Ref(key),), None, (key,))
            continue
        prev_idx = idx[:axis] + (k - 1,) + idx[axis + 1:]
        prev_cum = (cum_name, *prev_idx)
        carry_key = (carry_name, *idx)
        prev_carry = (carry_name, *prev_idx)
        if k == 1:
            layer[carry_key] = Task(carry_key, _next_carry, (None, Ref(prev_cum), axis, op), None, (prev_cum,))
        else:
            layer[carry_key] = Task(carry_key, _next_carry, (Ref(prev_carry), Ref(prev_cum), axis, op), None,
                                    (prev_carry, prev_cum))
        out = (out_name, *idx)
        layer[out] = Task(out, _apply_carry, (Ref(key), Ref(carry_key), op), None, (key, carry_key))
    return new_array(layer, out_name, x.chunks, dtype, (x,))


def cumsum(x, axis=None, dtype=None, out=None, method="sequential") -> Array:
    """Cumulative sum along ``axis`` (the flattened array when None).

    Returns
    -------
    Array
    """
    return _cumulative(x, axis, dtype, np.cumsum, np.add, "cumsum")


def cumprod(x, axis=None, dtype=None, out=None, method="sequential") -> Array:
    """Cumulative product along ``axis`` (the flattened array when None)."""
    return _cumulative(x, axis, dtype, np.cumprod, np.multiply, "cumprod")


def nancumsum(x, axis=None, dtype=None, out=None, method="sequential") -> Array:
    """Cumulative sum treating NaN as zero."""
    return _cumulative(x, axis, dtype, np.nancumsum, np.add, "nancumsum")


def nancumprod(x, axis=None, dtype=None, out=None, method="sequential") -> Array:
    """Cumulative product treating NaN as one."""
    return _cumulative(x, axis, dtype, np.nancumprod, np.multiply, "nancumprod")
