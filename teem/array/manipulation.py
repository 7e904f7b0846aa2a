"""Shape changes that move whole blocks: transpose, squeeze, expand_dims, broadcast_to,
concatenate and stack.

None of these copies data by itself: each output block is a numpy view or a
reference to one input block.
"""

from __future__ import annotations

from itertools import product
from typing import Any, Sequence

import numpy as np

from teem.core.task import Ref, Task
from teem.core.tokenize import tokenize
from teem.array.blockwise import align_chunks
from teem.array.chunks import check_known
from teem.array.core import Array, new_array

__all__ = ["transpose", "swapaxes", "moveaxis", "squeeze", "expand_dims", "broadcast_to",
           "concatenate", "stack", "hstack", "vstack", "atleast_1d", "atleast_2d"]


def _as_array(x) -> Array:
    from teem.array.creation import asarray
    return asarray(x)


def _block_map(x: Array, name: str, chunks: tuple, func, source_index, extra: tuple = ()) -> Array:
    """One task per output block: ``func(input_block, *extra)`` with the input block at ``source_index(idx)``."""
    layer = {}
    for idx in product(*map(range, map(len, chunks))):
        src = (x.name, *source_index(idx))
        key = (name, *idx)
        layer[key] = Task(key, func, (Ref(src), *extra), None, (src,))
    return new_array(layer, name, chunks, x.dtype, (x,))


def transpose(a: Any, axes: Sequence | None = None) -> Array:
    """Permute the dimensions (reverse them when ``axes`` is None).

    Returns
    -------
    Array
    """
    a = _as_array(a)
    if axes is None:
        axes = tuple(range(a.ndim))[::-1]
    axes = tuple(int(ax) % a.ndim for ax in axes)
    if sorted(axes) != list(range(a.ndim)):
        raise ValueError(f"axes {axes} are not a permutation of the {a.ndim} dimensions")
    if axes == tuple(range(a.ndim)):
        return a
    chunks = tuple(a.chunks[ax] for ax in axes)
    name = f"transpose-{tokenize(a.name, axes)}"
    inverse = np.argsort(axes)
    return _block_map(a, name, chunks, np.transpose, lambda idx: tuple(idx[i] for i in inverse), (axes,))


def swapaxes(a: Any, axis1: int, axis2: int) -> Array:
    """Exchange two dimensions."""
    a = _as_array(a)
    axes = list(range(a.ndim))
    axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
    return transpose(a, axes)


def moveaxis(a: Any, source: Any, destination: Any) -> Array:
    """Move axes to new positions (as ``numpy.moveaxis``)."""
    a = _as_array(a)
    src = np.atleast_1d(source) % a.ndim
    dst = np.atleast_1d(destination) % a.ndim
    rest = [i for i in range(a.ndim) if i not in src]
    perm = [None] * a.ndim
    for s, d in zip(src, dst):
        perm[d] = int(s)
    it = iter(rest)
    perm = [p if p is not None else next(it) for p in perm]
    return transpose(a, perm)


def _squeeze_block(block, axis):
    return np.squeeze(block, axis=axis)


def squeeze(a: Any, axis: Any = None) -> Array:
    """Drop dimensions of length 1 (all of them, or those in ``axis``).

    Raises
    ------
    ValueError
        If an axis in ``axis`` does not have length 1.
    """
    a = _as_array(a)
    if axis is None:
        axis = tuple(i for i, n in enumerate(a.shape) if n == 1)
    elif isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axis = tuple(int(ax) % a.ndim for ax in axis)
    for ax in axis:
        if a.shape[ax] != 1:
            raise ValueError(f"cannot squeeze axis {ax}: its length is {a.shape[ax]}, not 1")
    if not axis:
        return a
    chunks = tuple(c for i, c in enumerate(a.chunks) if i not in axis)
    name = f"squeeze-{tokenize(a.name, axis)}"

    def source(idx):
        it = iter(idx)
        return tuple(0 if i in axis else next(it) for i in range(a.ndim))
    return _block_map(a, name, chunks, _squeeze_block, source, (axis,))


def expand_dims(a: Any, axis: Any) -> Array:
    """Insert dimensions of length 1 at ``axis`` (an int or a tuple)."""
    a = _as_array(a)
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out_ndim = a.ndim + len(axis)
    axis = tuple(sorted(int(ax) % out_ndim for ax in axis))
    chunks = []
    it = iter(a.chunks)
    for i in range(out_ndim):
        chunks.append((1,) if i in axis else next(it))
    name = f"expand-dims-{tokenize(a.name, axis)}"
    return _block_map(a, name, tuple(chunks), np.expand_dims,
                      lambda idx: tuple(i for d, i in enumerate(idx) if d not in axis), (axis,))


def _broadcast_block(block, shape):
    return np.broadcast_to(block, shape)


def broadcast_to(x: Any, shape: Any, chunks: Any = None) -> Array:
    """``x`` broadcast to ``shape`` (read-only views per block; new dimensions are one block).

    Returns
    -------
    Array
    """
    from teem.array.chunks import normalize_shape
    x = _as_array(x)
    shape = normalize_shape(shape)
    if shape == x.shape:
        return x
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"cannot broadcast an array of shape {x.shape} to fewer dimensions {shape}")
    out_chunks = []
    for d, n in enumerate(shape):
        if d < lead:
            out_chunks.append((n,))
            continue
        m = x.shape[d - lead]
        if m == n:
            out_chunks.append(x.chunks[d - lead])
        elif m == 1:
            out_chunks.append((n,))
        else:
            raise ValueError(f"cannot broadcast an array of shape {x.shape} to {shape}")
    out_chunks = tuple(out_chunks)
    if chunks is not None:
        from teem.array.chunks import normalize_chunks
        out = broadcast_to(x, shape)
        return out.rechunk(normalize_chunks(chunks, shape, dtype=x.dtype))
    name = f"broadcast-to-{tokenize(x.name, shape)}"
    layer = {}
    for idx in product(*map(range, map(len, out_chunks))):
        src = (x.name, *(0 if x.shape[d] == 1 and shape[d + lead] != 1 else idx[d + lead]
                         for d in range(x.ndim)))
        bshape = tuple(out_chunks[d][i] for d, i in enumerate(idx))
        key = (name, *idx)
        layer[key] = Task(key, _broadcast_block, (Ref(src), bshape), None, (src,))
    return new_array(layer, name, out_chunks, x.dtype, (x,))


def _same(block):
    return block


def _cast(block, dtype):
    return block.astype(dtype, copy=False)


def concatenate(seq: Sequence, axis: int = 0, allow_unknown_chunksizes: bool = False) -> Array:
    """Join arrays along an existing axis; other axes are aligned to common chunks.

    Returns
    -------
    Array
    """
    arrays = [_as_array(a) for a in seq]
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    ndim = arrays[0].ndim
    if any(a.ndim != ndim for a in arrays):
        raise ValueError(f"all arrays must have the same number of dimensions to concatenate; got "
                         f"{[a.ndim for a in arrays]}")
    if ndim == 0:
        raise ValueError("zero-dimensional arrays cannot be concatenated")
    axis = int(axis) % ndim
    dtype = np.result_type(*(a.dtype for a in arrays))
    if len(arrays) == 1:
        return arrays[0]
    letters = tuple(range(ndim))
    pairs = [(a, tuple(d if d != axis else ("cat", i) for d in letters)) for i, a in enumerate(arrays)]
    for a in arrays:
        for d in range(ndim):
            if d != axis and a.shape[d] != arrays[0].shape[d]:
                if not allow_unknown_chunksizes:
                    check_known(a.chunks, "concatenate")
                raise ValueError(f"cannot concatenate along axis {axis}: shapes "
                                 f"{[x.shape for x in arrays]} differ on axis {d}")
    _, _, pairs = align_chunks(pairs)
    arrays = [a for a, _ in pairs]
    name = f"concatenate-{tokenize([a.name for a in arrays], axis)}"
    out_chunks = list(arrays[0].chunks)
    out_chunks[axis] = tuple(c for a in arrays for c in a.chunks[axis])
    layer = {}
    start = 0
    for a in arrays:
        for idx in product(*map(range, a.numblocks)):
            out_idx = list(idx)
            out_idx[axis] += start
            key = (name, *out_idx)
            src = (a.name, *idx)
            if a.dtype == dtype:
                layer[key] = Task(key, _same, (Ref(src),), None, (src,))
            else:
                layer[key] = Task(key, _cast, (Ref(src), dtype), None, (src,))
        start += a.numblocks[axis]
    return new_array(layer, name, tuple(out_chunks), dtype, arrays)


def stack(seq: Sequence, axis: int = 0) -> Array:
    """Join arrays of the same shape along a new axis.

    Returns
    -------
    Array
    """
    arrays = [_as_array(a) for a in seq]
    if not arrays:
        raise ValueError("need at least one array to stack")
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"stack needs arrays of one shape; got {sorted(shapes)}")
    axis = int(axis) % (arrays[0].ndim + 1)
    return concatenate([expand_dims(a, axis) for a in arrays], axis=axis)


def atleast_1d(*arrays):
    """Arrays with at least one dimension (0-d arrays become length-1 arrays)."""
    out = [_as_array(a) if _as_array(a).ndim >= 1 else expand_dims(_as_array(a), 0) for a in arrays]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arrays):
    """Arrays with at least two dimensions (new leading axes of length 1)."""
    out = []
    for a in arrays:
        a = _as_array(a)
        while a.ndim < 2:
            a = expand_dims(a, 0)
        out.append(a)
    return out[0] if len(out) == 1 else out


def hstack(seq: Sequence) -> Array:
    """Join along the second axis (the first for 1-d arrays)."""
    arrays = [atleast_1d(a) for a in seq]
    return concatenate(arrays, axis=0 if arrays[0].ndim == 1 else 1)


def vstack(seq: Sequence) -> Array:
    """Join along the first axis, as rows."""
    return concatenate([atleast_2d(a) for a in seq], axis=0)
