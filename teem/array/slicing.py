"""Indexing: basic slicing, integer lists and boolean masks.

Theory of operation
-------------------
1. The index is normalized to one entry per input dimension (``Ellipsis``
   expanded; ``None`` inserts a new axis).
2. Basic entries (ints, slices, ``None``) are resolved with arithmetic on the
   chunk offsets -- never by materialising ``arange(n)`` -- into, per
   dimension, the blocks the selection touches and the slice within each.
   Every output block is then one task ``block[local_index]`` (a numpy view).
3. One integer list (or 1-d boolean numpy array, turned into one) on an axis
   becomes a ``take``: output blocks of about the input's block length along
   that axis, each gathering its positions from the input blocks holding
   them, in the order asked.
4. A boolean teem Array selects data-dependent counts: the result's chunk
   lengths along the masked axis are unknown (``nan``) until computed.
   Operations that need them raise :class:`UnknownChunksError`, which says to
   call ``compute_chunk_sizes()``.
"""

from __future__ import annotations

import math
from itertools import product
from numbers import Integral
from typing import Any

import numpy as np

from teem.core.task import Ref, RefSeq, Task
from teem.core.tokenize import tokenize
from teem.array.chunks import UnknownChunksError, check_known, chunk_offsets
from teem.array.core import Array, new_array

__all__ = ["getitem", "take", "nonzero", "slice_pieces"]


def _getitem_block(block, index):
    return block[index]


def slice_pieces(dim_chunks: tuple, s: slice) -> list:
    """Blocks touched by slice ``s`` along one dimension.

    Returns a list of ``(block_index, local_slice, length)`` in output order
    (reversed for negative steps).
    """
    n = sum(dim_chunks)
    start, stop, step = s.indices(n)
    offsets = chunk_offsets(dim_chunks)
    out = []
    if step > 0:
        for b in range(len(dim_chunks)):
            b0, b1 = offsets[b], offsets[b + 1]
            if b1 <= start or b0 >= stop:
                continue
            first = start if start >= b0 else start + -(-(b0 - start) // step) * step
            last = min(b1, stop)
            if first >= last:
                continue
            count = -(-(last - first) // step)
            out.append((b, slice(first - b0, last - b0, step), count))
    else:
        for b in reversed(range(len(dim_chunks))):
            b0, b1 = offsets[b], offsets[b + 1]
            if b0 > start or b1 - 1 <= stop:
                continue
            first = start if start < b1 else start - -(-(start - (b1 - 1)) // -step) * -step
            lower = max(b0, stop + 1)
            if first < lower:
                continue
            count = (first - lower) // -step + 1
            end = lower - b0 - 1
            out.append((b, slice(first - b0, end if end >= 0 else None, step), count))
    return out


def _normalize_index(index: Any, ndim: int) -> tuple:
    if not isinstance(index, tuple):
        index = (index,)
    n_ellipsis = sum(1 for i in index if i is Ellipsis)
    if n_ellipsis > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    consumed = sum(1 for i in index if i is not None and i is not Ellipsis and not
                   (isinstance(i, (np.ndarray, Array)) and i.dtype == bool and i.ndim > 1))
    consumed += sum(i.ndim for i in index if isinstance(i, (np.ndarray, Array)) and i.dtype == bool and i.ndim > 1)
    if consumed > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but {consumed} were indexed")
    out = []
    for i in index:
        if i is Ellipsis:
            out.extend([slice(None)] * (ndim - consumed))
        else:
            out.append(i)
    if not n_ellipsis:
        out.extend([slice(None)] * (ndim - consumed))
    return tuple(out)


def getitem(x: Array, index: Any) -> Array:
    """``x[index]`` for teem arrays (see the module docstring for what is supported)."""
    index = _normalize_index(index, x.ndim)
    masks = [i for i in index if isinstance(i, Array)]
    if masks:
        return _getitem_mask(x, index)
    converted = []
    for i in index:
        if isinstance(i, list) or (isinstance(i, np.ndarray) and i.ndim > 0):
            arr = np.asarray(i)
            if arr.dtype == bool:
                if arr.ndim > 1:
                    from teem.array.creation import from_array
                    return _getitem_mask(x, tuple(from_array(arr, chunks=-1) if j is i else j for j in index))
                arr = np.nonzero(arr)[0]
            elif arr.size == 0:
                arr = arr.astype(np.intp)
            elif not np.issubdtype(arr.dtype, np.integer):
                raise IndexError(f"arrays used as indices must be of integer or boolean type, not {arr.dtype}")
            converted.append(arr)
        elif isinstance(i, np.ndarray):  # 0-d
            converted.append(i.item())
        else:
            converted.append(i)
    index = tuple(converted)
    fancy = [d for d, i in enumerate(index) if isinstance(i, np.ndarray)]
    if len(fancy) > 1:
        raise NotImplementedError("indexing with more than one integer array at once is not supported; "
                                  "index one axis at a time: x[rows][:, cols]")
    basic = tuple(slice(None) if isinstance(i, np.ndarray) else i for i in index)
    out = _getitem_basic(x, basic)
    if fancy:
        (pos,) = fancy
        # where the fancy axis landed after ints were removed and Nones inserted
        axis = sum(1 for i in basic[:pos] if not isinstance(i, Integral))
        out = take(out, index[pos], axis=axis)
    return out


def _getitem_basic(x: Array, index: tuple) -> Array:
    if all(isinstance(i, slice) and i == slice(None) for i in index):
        return x
    per_dim = []  # for each output dim: list of (block or None, local index, length)
    src_dims = []  # per input dim: position in per_dim, or the (block, local int) for ints
    d = 0
    for i in index:
        if i is None:
            per_dim.append([(None, None, 1)])
            continue
        chunks = x.chunks[d]
        if isinstance(i, slice):
            if i == slice(None):
                per_dim.append([(b, slice(None), c) for b, c in enumerate(chunks)])
            else:
                check_known((chunks,), "slicing")
                pieces = slice_pieces(chunks, i)
                if not pieces:
                    pieces = [(0, slice(0, 0), 0)]
                per_dim.append(pieces)
            src_dims.append(("dim", len(per_dim) - 1))
        elif isinstance(i, Integral):
            check_known((chunks,), "indexing with an integer")
            n = sum(chunks)
            j = int(i)
            if not -n <= j < n:
                raise IndexError(f"index {j} is out of bounds for axis {d} with size {n}")
            j %= n
            offsets = chunk_offsets(chunks)
            b = int(np.searchsorted(offsets, j, side="right")) - 1
            src_dims.append(("int", b, j - offsets[b]))
        else:
            raise IndexError(f"unsupported index {i!r} for axis {d}: use ints, slices, None, ..., "
                             "integer or boolean arrays")
        d += 1
    name = f"getitem-{tokenize(x.name, index)}"
    out_chunks = tuple(tuple(length for _, _, length in pieces) for pieces in per_dim)
    layer = {}
    for idx in product(*map(range, map(len, per_dim))):
        src = []
        local = []
        k = 0
        for i in index:
            if i is None:
                local.append(None)
                continue
            kind = src_dims[k]
            if kind[0] == "int":
                src.append(kind[1])
                local.append(kind[2])
            else:
                pos = kind[1]
                b, sl, _ = per_dim[pos][idx[pos]]
                src.append(b)
                local.append(sl)
            k += 1
        # Nones: their output position is in per_dim but consumes no input dim
        src_key = (x.name, *src)
        key = (name, *idx)
        local = tuple(local)
        if all(isinstance(s, slice) and s == slice(None) for s in local):
            layer[key] = Task(key, _same, (Ref(src_key),), None, (src_key,))
        else:
            layer[key] = Task(key, _getitem_block, (Ref(src_key), local), None, (src_key,))
    return new_array(layer, name, out_chunks, x.dtype, (x,))


def _same(block):
    return block


def _take_block(locals_: list, inverse, axis: int, blocks: list):
    parts = [np.take(b, loc, axis=axis) for b, loc in zip(blocks, locals_)]
    out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axis)
    return out if inverse is None else np.take(out, inverse, axis=axis)


def take(x: Array, indices: Any, axis: int = 0) -> Array:
    """Elements at integer ``indices`` along ``axis`` (in that order, repeats allowed).

    Returns
    -------
    Array
    """
    from teem.array.creation import asarray
    x = asarray(x)
    axis = int(axis) % x.ndim
    idx = np.asarray(indices)
    if idx.dtype == bool:
        idx = np.nonzero(idx)[0]
    shape_after = idx.shape
    idx = idx.reshape(-1).astype(np.intp)
    check_known((x.chunks[axis],), "indexing with an integer list")
    n = sum(x.chunks[axis])
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx[(idx < -n) | (idx >= n)][0]
        raise IndexError(f"index {bad} is out of bounds for axis {axis} with size {n}")
    idx = np.where(idx < 0, idx + n, idx)
    offsets = np.asarray(chunk_offsets(x.chunks[axis]))
    step = max(max(x.chunks[axis]) if x.chunks[axis] else 1, 1)
    pieces = [idx[i:i + step] for i in range(0, len(idx), step)] or [idx]
    name = f"take-{tokenize(x.name, idx, axis)}"
    out_axis_chunks = tuple(len(p) for p in pieces)
    other_ranges = [range(nb) if d != axis else [None] for d, nb in enumerate(x.numblocks)]
    layer = {}
    for p, positions in enumerate(pieces):
        owner = np.searchsorted(offsets, positions, side="right") - 1
        if len(positions) == 0:
            owner = np.zeros(0, dtype=np.intp)
            blocks_used = [0]
            locals_ = [positions]
            inverse = None
        else:
            order = np.argsort(owner, kind="stable")
            blocks_used = sorted(set(owner.tolist()))
            locals_ = [positions[owner == u] - offsets[u] for u in blocks_used]
            inverse = None if np.all(order == np.arange(len(order))) else np.argsort(order, kind="stable")
        for other in product(*other_ranges):
            keys = tuple((x.name, *(u if d == axis else other[d] for d in range(x.ndim))) for u in blocks_used)
            out_idx = tuple(p if d == axis else other[d] for d in range(x.ndim))
            key = (name, *out_idx)
            layer[key] = Task(key, _take_block, (locals_, inverse, axis, RefSeq(list, keys)), None, keys)
    chunks = tuple(out_axis_chunks if d == axis else c for d, c in enumerate(x.chunks))
    out = new_array(layer, name, chunks, x.dtype, (x,))
    if len(shape_after) != 1:
        new_shape = x.shape[:axis] + shape_after + x.shape[axis + 1:]
        out = out.reshape(new_shape)
    return out


# --- boolean teem masks: unknown output sizes -------------------------------------------------


def _mask_block(block, mask):
    return block[mask]


def _compress_block(block, mask, axis):
    return np.compress(mask, block, axis=axis)


def _getitem_mask(x: Array, index: tuple) -> Array:
    masks = [(d, i) for d, i in enumerate(index) if isinstance(i, Array)]
    rest_ok = all(isinstance(i, slice) and i == slice(None) for i in index if not isinstance(i, Array))
    if len(masks) != 1 or not rest_ok:
        raise NotImplementedError("boolean array indexing is supported as x[mask] or with one 1-d mask and "
                                  "':' elsewhere (x[:, mask]); apply other indexes separately")
    pos, mask = masks[0]
    if mask.dtype != bool:
        raise NotImplementedError("indexing with a teem array of integers is not supported; compute the "
                                  "indices first (idx.compute()) and index with the numpy array")
    if mask.ndim == 1:
        if mask.shape[0] != x.shape[pos] and not math.isnan(mask.shape[0]):
            raise IndexError(f"boolean index of length {mask.shape[0]} does not match axis {pos} of length "
                             f"{x.shape[pos]}")
        from teem.array.blockwise import align_chunks
        letters = tuple(range(x.ndim))
        _, _, pairs = align_chunks([(x, letters), (mask, (pos,))])
        (x, _), (mask, _) = pairs
        name = f"getitem-mask-{tokenize(x.name, mask.name, pos)}"
        layer = {}
        for idx in product(*map(range, x.numblocks)):
            src, msrc = (x.name, *idx), (mask.name, idx[pos])
            key = (name, *idx)
            layer[key] = Task(key, _compress_block, (Ref(src), Ref(msrc), pos), None, (src, msrc))
        chunks = tuple((math.nan,) * len(c) if d == pos else c for d, c in enumerate(x.chunks))
        return new_array(layer, name, chunks, x.dtype, (x, mask))
    if pos != 0:
        raise NotImplementedError("a multi-dimensional boolean mask must index the leading axes: x[mask]")
    k = mask.ndim
    if tuple(x.shape[:k]) != tuple(mask.shape):
        raise IndexError(f"boolean index of shape {mask.shape} does not match the array's leading shape "
                         f"{x.shape[:k]}")
    # Rows of blocks must hold whole rows of the masked axes so that results come in C order.
    x = x.rechunk({d: -1 for d in range(1, k)})
    mask = mask.rechunk({0: x.chunks[0], **{d: -1 for d in range(1, k)}})
    name = f"getitem-mask-{tokenize(x.name, mask.name)}"
    layer = {}
    for idx in product(*map(range, x.numblocks)):
        src, msrc = (x.name, *idx), (mask.name, idx[0], *([0] * (k - 1)))
        out_idx = (idx[0], *idx[k:])
        key = (name, *out_idx)
        layer[key] = Task(key, _mask_block, (Ref(src), Ref(msrc)), None, (src, msrc))
    chunks = ((math.nan,) * x.numblocks[0],) + x.chunks[k:]
    return new_array(layer, name, chunks, x.dtype, (x, mask))


def _nonzero_block(block, offset, dim):
    found = np.nonzero(block)
    return found[dim] + (offset if dim == 0 else 0)


def nonzero(a: Any) -> tuple:
    """Indexes of the non-zero elements, one array per dimension (lengths unknown until computed).

    Returns
    -------
    tuple of Array
    """
    from teem.array.creation import asarray
    a = asarray(a)
    if a.ndim == 0:
        raise ValueError("nonzero of a 0-d array is not supported; use atleast_1d first")
    a = a.rechunk({d: -1 for d in range(1, a.ndim)})
    offsets = chunk_offsets(a.chunks[0]) if not any(isinstance(c, float) for c in a.chunks[0]) else None
    if offsets is None:
        raise UnknownChunksError("nonzero needs the array's chunk sizes; call x.compute_chunk_sizes() first")
    out = []
    for dim in range(a.ndim):
        name = f"nonzero-{dim}-{tokenize(a.name)}"
        layer = {}
        for i in range(a.numblocks[0]):
            src = (a.name, i, *([0] * (a.ndim - 1)))
            key = (name, i)
            layer[key] = Task(key, _nonzero_block, (Ref(src), offsets[i], dim), None, (src,))
        out.append(new_array(layer, name, ((math.nan,) * a.numblocks[0],), np.intp, (a,)))
    return tuple(out)
