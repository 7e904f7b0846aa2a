"""``map_overlap``: functions that need neighbouring values (moving windows, stencils).

Each block is extended by ``depth`` elements from its neighbours (or from the
boundary rule at the array's edges), the function runs on the extended
block, and the margin is trimmed from the result.  The extended blocks are
assembled from windows of the (boundary-padded) array, so any depth works,
even one larger than a block.

Boundaries: ``'reflect'`` (mirror, the edge element included, as Dask),
``'periodic'`` (wrap around), ``'nearest'`` (repeat the edge value),
``'none'`` (edge blocks get no margin on the outside), or a constant.
"""

from __future__ import annotations

from itertools import product
from typing import Any, Callable

from teem.core.task import Ref, Task
from teem.core.tokenize import tokenize
from teem.array.chunks import check_known, chunk_offsets
from teem.array.core import Array, new_array
from teem.array.rechunk import windows_layer

__all__ = ["map_overlap", "overlap", "trim_internal"]


def _per_axis(value: Any, ndim: int, default: Any) -> list:
    if isinstance(value, dict):
        return [value.get(d, value.get(d - ndim, default)) for d in range(ndim)]
    if isinstance(value, (tuple, list)):
        if len(value) != ndim:
            raise ValueError(f"{value!r} has {len(value)} entries for an array of {ndim} dimensions")
        return list(value)
    return [value if value is not None else default] * ndim


def _pad_axis(x: Array, axis: int, depth: int, boundary: Any) -> Array:
    from teem.array.manipulation import broadcast_to, concatenate
    from teem.array.creation import full
    n = x.shape[axis]

    def sl(s):
        return x[(slice(None),) * axis + (s,)]
    if boundary == "reflect":
        if depth > n:
            raise ValueError(f"depth {depth} on axis {axis} is larger than the axis ({n}) for 'reflect'")
        left, right = sl(slice(depth - 1, None, -1) if depth else slice(0, 0)), sl(slice(n - 1, n - depth - 1 if n - depth - 1 >= 0 else None, -1))
    elif boundary == "periodic":
        if depth > n:
            raise ValueError(f"depth {depth} on axis {axis} is larger than the axis ({n}) for 'periodic'")
        left, right = sl(slice(n - depth, n)), sl(slice(0, depth))
    elif boundary == "nearest":
        shape = list(x.shape)
        shape[axis] = depth
        left = broadcast_to(sl(slice(0, 1)), tuple(shape))
        right = broadcast_to(sl(slice(n - 1, n)), tuple(shape))
    else:
        shape = list(x.shape)
        shape[axis] = depth
        chunks = tuple((depth,) if d == axis else c for d, c in enumerate(x.chunks))
        left = right = full(tuple(shape), boundary, dtype=x.dtype, chunks=chunks)
    return concatenate([left, x, right], axis=axis)


def overlap(x: Array, depth: Any, boundary: Any = "none") -> tuple[Array, list]:
    """``x`` with every block extended by ``depth`` neighbours; also the margins added per block.

    Returns
    -------
    (Array, list)
        The extended array and, per axis, a list of ``(left, right)`` margins per block.
    """
    check_known(x.chunks, "map_overlap")
    depths = [int(d) for d in _per_axis(depth, x.ndim, 0)]
    bounds = _per_axis(boundary, x.ndim, "none")
    padded = x
    for axis, (d, b) in enumerate(zip(depths, bounds)):
        if d and b != "none":
            padded = _pad_axis(padded, axis, d, b)
    windows, margins = [], []
    for axis, (d, b) in enumerate(zip(depths, bounds)):
        offs = chunk_offsets(x.chunks[axis])
        n = offs[-1]
        w, m = [], []
        for i in range(len(x.chunks[axis])):
            s, e = offs[i], offs[i + 1]
            if d and b != "none":
                w.append((s, e + 2 * d))
                m.append((d, d))
            else:
                lo, hi = max(0, s - d), min(n, e + d)
                w.append((lo, hi))
                m.append((s - lo, hi - e))
        windows.append(w)
        margins.append(m)
    name = f"overlap-{tokenize(x.name, depths, bounds)}"
    chunks = tuple(tuple(hi - lo for lo, hi in w) for w in windows)
    return new_array(windows_layer(padded, name, windows), name, chunks, x.dtype, (padded,)), margins


def _trim_block(block, where):
    return block[where]


def trim_internal(x: Array, margins: list, chunks: tuple) -> Array:
    """Cut the ``margins`` (per axis, per block) off the blocks of ``x``."""
    name = f"trim-{tokenize(x.name, margins)}"
    layer = {}
    for idx in product(*map(range, x.numblocks)):
        where = tuple(slice(margins[d][i][0], x.chunks[d][i] - margins[d][i][1]) for d, i in enumerate(idx))
        src = (x.name, *idx)
        key = (name, *idx)
        layer[key] = Task(key, _trim_block, (Ref(src), where), None, (src,))
    return new_array(layer, name, chunks, x.dtype, (x,))


def map_overlap(func: Callable, *args: Any, depth: Any = None, boundary: Any = None, trim: bool = True,
                align_arrays: bool = True, allow_rechunk: bool = True, dtype: Any = None, **kwargs: Any) -> Array:
    """Apply ``func`` to blocks extended by ``depth`` neighbouring elements, then trim.

    Parameters
    ----------
    func:
        Takes the extended block(s); must return an array of the same shape
        when ``trim`` is true.
    *args:
        Arrays (aligned to common chunks) and constants.
    depth:
        Elements borrowed from each neighbour: an int, one per axis, or ``{axis: n}``.
    boundary:
        ``'none'`` (default), ``'reflect'``, ``'periodic'``, ``'nearest'`` or a
        constant (per axis as a dict or tuple).
    trim:
        Cut the margins from the results.

    Returns
    -------
    Array

    Example
    -------
    >>> import numpy as np, teem.array as da
    >>> x = da.arange(10, chunks=4)
    >>> def moving_sum(b):
    ...     return np.convolve(b, np.ones(3), mode="same")
    >>> x.map_overlap(moving_sum, depth=1, boundary=0).compute()[:3]
    array([1., 3., 6.])
    """
    from teem.array.blockwise import align_chunks, map_blocks
    if isinstance(func, Array):  # the older map_overlap(x, func, depth) order
        func, args = args[0], (func,) + args[1:]
    arrays = [a for a in args if isinstance(a, Array)]
    if not arrays:
        raise TypeError("map_overlap needs at least one teem array")
    ndim = arrays[0].ndim
    if any(a.ndim != ndim for a in arrays):
        raise ValueError("map_overlap needs arrays of one number of dimensions")
    if depth is None:
        depth = 0
    boundary = "none" if boundary is None else boundary
    if align_arrays and len(arrays) > 1:
        pairs = [(a, tuple(range(ndim))) if isinstance(a, Array) else (a, None) for a in args]
        _, _, pairs = align_chunks(pairs)
        args = tuple(a for a, _ in pairs)
    extended = []
    margins = chunks = None
    for a in args:
        if isinstance(a, Array):
            ext, margins = overlap(a, depth, boundary)
            chunks = a.chunks
            extended.append(ext)
        else:
            extended.append(a)
    out = map_blocks(func, *extended, dtype=dtype, **kwargs)
    if not trim:
        return out
    return trim_internal(out, margins, chunks)
