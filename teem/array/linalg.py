"""Products: ``tensordot``, ``dot``, ``matmul`` (``@``) and ``outer``.

Each output block is one task that sums the products of the block pairs along
the contracted dimensions (which are first aligned to common chunks), so one
pair of blocks is multiplied at a time and no block of partial products is
kept per pair.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from teem.array.blockwise import blockwise
from teem.array.core import Array

__all__ = ["tensordot", "dot", "matmul", "outer", "vdot"]


def _flatten(nested) -> list:
    if type(nested) is not list:
        return [nested]
    out = []
    for item in nested:
        out.extend(_flatten(item))
    return out


def _tensordot_sum(a_blocks, b_blocks, axes):
    total = None
    for x, y in zip(_flatten(a_blocks), _flatten(b_blocks)):
        part = np.tensordot(x, y, axes=axes)
        total = part if total is None else total + part
    return total


def _matmul_sum(a_blocks, b_blocks):
    total = None
    for x, y in zip(a_blocks, b_blocks):
        part = np.matmul(x, y)
        total = part if total is None else total + part
    return total


def _as_array(x) -> Array:
    from teem.array.creation import asarray
    return asarray(x)


def tensordot(a: Any, b: Any, axes: Any = 2) -> Array:
    """Sum products over the given axes (as ``numpy.tensordot``).

    Parameters
    ----------
    a, b:
        Arrays.
    axes:
        An int n (the last n axes of ``a`` with the first n of ``b``) or a
        pair of axis sequences.

    Returns
    -------
    Array
    """
    a, b = _as_array(a), _as_array(b)
    if isinstance(axes, (int, np.integer)):
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    ax_a = [int(x) % a.ndim for x in ax_a]
    ax_b = [int(x) % b.ndim for x in ax_b]
    if len(ax_a) != len(ax_b):
        raise ValueError(f"tensordot axes {ax_a} and {ax_b} must have the same length")
    for i, j in zip(ax_a, ax_b):
        if a.shape[i] != b.shape[j]:
            raise ValueError(f"shape mismatch for sum: axis {i} of a has length {a.shape[i]}, axis {j} of b "
                             f"has length {b.shape[j]}")
    pairs = sorted(zip(ax_a, ax_b))
    ax_a = [p[0] for p in pairs]
    ax_b = [p[1] for p in pairs]
    free_b = [d for d in range(b.ndim) if d not in ax_b]
    from teem.array.manipulation import transpose
    b = transpose(b, ax_b + free_b) if ax_b + free_b != list(range(b.ndim)) else b
    ax_b = list(range(len(ax_b)))
    a_ind = tuple(("c", ax_a.index(d)) if d in ax_a else ("a", d) for d in range(a.ndim))
    b_ind = tuple(("c", d) if d < len(ax_b) else ("b", d) for d in range(b.ndim))
    out_ind = tuple(i for i in a_ind if i[0] == "a") + tuple(i for i in b_ind if i[0] == "b")
    dtype = np.result_type(a.dtype, b.dtype)
    return blockwise(_tensordot_sum, out_ind, a, a_ind, b, b_ind, dtype=dtype, axes=(ax_a, ax_b))


def dot(a: Any, b: Any) -> Array:
    """``numpy.dot``: matrix product for 2-d, inner product for 1-d, last axis × second-to-last.

    Returns
    -------
    Array
    """
    a, b = _as_array(a), _as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, axes=((a.ndim - 1,), (b.ndim - 2 if b.ndim >= 2 else 0,)))


def vdot(a: Any, b: Any) -> Array:
    """The dot product of the flattened arrays (the first conjugated)."""
    a, b = _as_array(a), _as_array(b)
    return dot(a.ravel().conj() if a.dtype.kind == "c" else a.ravel(), b.ravel())


def outer(a: Any, b: Any) -> Array:
    """The outer product of the flattened arrays."""
    a, b = _as_array(a).ravel(), _as_array(b).ravel()
    return blockwise(np.multiply.outer, "ij", a, "i", b, "j", dtype=np.result_type(a.dtype, b.dtype))


def matmul(a: Any, b: Any) -> Array:
    """``numpy.matmul`` (``a @ b``), with batch dimensions broadcast.

    Returns
    -------
    Array
    """
    a, b = _as_array(a), _as_array(b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: input operands must not be scalars; use * for scalar products")
    drop = []
    if a.ndim == 1:
        from teem.array.manipulation import expand_dims
        a = expand_dims(a, 0)
        drop.append(-2)
    if b.ndim == 1:
        from teem.array.manipulation import expand_dims
        b = expand_dims(b, 1)
        drop.append(-1)
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match on the contracted "
                         f"dimension ({a.shape[-1]} != {b.shape[-2]})")
    nbatch = max(a.ndim, b.ndim) - 2
    batch = tuple(("batch", d) for d in range(nbatch))
    a_ind = batch[nbatch - (a.ndim - 2):] + ("i", "k")
    b_ind = batch[nbatch - (b.ndim - 2):] + ("k", "j")
    dtype = np.result_type(a.dtype, b.dtype)
    out = blockwise(_matmul_sum, batch + ("i", "j"), a, a_ind, b, b_ind, dtype=dtype)
    if drop:
        from teem.array.manipulation import squeeze
        out = squeeze(out, axis=tuple(d % out.ndim for d in drop))
    return out
