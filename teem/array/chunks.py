"""Chunk shapes: normalising what users write, and mapping windows onto blocks.

An array's ``chunks`` is a tuple with one tuple of block lengths per
dimension, e.g. ``((5, 5, 2), (4, 4))`` for a 12 × 8 array.  A length may be
``nan`` when it is not known before computing (after boolean indexing).

Users may write chunks as an int (every dimension), a tuple of ints or of
tuples, a dict ``{axis: spec}``, ``-1`` / ``None`` (the whole dimension),
``'auto'``, or a byte size such as ``'100MB'`` (``'auto'`` with that limit).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from teem.core.sizes import parse_bytes

__all__ = ["normalize_chunks", "normalize_shape", "blockdims_from_blockshape", "chunk_offsets",
           "window_pieces", "common_chunks", "has_unknown", "UnknownChunksError",
           "check_known"]


class UnknownChunksError(ValueError):
    """An operation needs chunk sizes that are not known yet."""


def has_unknown(chunks: tuple) -> bool:
    return any(isinstance(c, float) and math.isnan(c) for dim in chunks for c in dim)


def check_known(chunks: tuple, operation: str) -> None:
    """Raise :class:`UnknownChunksError` naming ``operation`` if some sizes are unknown."""
    if has_unknown(chunks):
        raise UnknownChunksError(
            f"{operation} needs the array's chunk sizes, which are unknown (the array comes from "
            "boolean indexing or another operation whose output size depends on the data); "
            "call x.compute_chunk_sizes() first, which computes them once")


def _as_int(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer, not {value!r}")
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            raise ValueError(f"{what} must be a finite number, not {value!r}")
        return int(value)  # the tutorials pass sizes like ``size / 2``
    try:
        return int(value)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be an integer, not {value!r}") from None


def normalize_shape(shape: Any) -> tuple:
    """``shape`` as a tuple of ints (an int means a 1-d shape; integral floats are accepted)."""
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer, float, np.floating)):
        shape = (shape,)
    out = tuple(_as_int(s, "a dimension of the shape") for s in shape)
    if any(s < 0 for s in out):
        raise ValueError(f"negative dimensions are not allowed: shape {out}")
    return out


def blockdims_from_blockshape(shape: tuple, blockshape: tuple) -> tuple:
    """Chunks of equal ``blockshape`` blocks (the last one smaller) covering ``shape``."""
    out = []
    for n, b in zip(shape, blockshape):
        if n == 0:
            out.append((0,))
            continue
        b = max(1, min(b, n))
        full, rest = divmod(n, b)
        out.append((b,) * full + ((rest,) if rest else ()))
    return tuple(out)


def _auto_dims(shape: tuple, fixed: list, auto: list, itemsize: int, limit: int) -> list:
    """Block lengths for the ``auto`` dimensions so that one block is about ``limit`` bytes."""
    fixed_bytes = itemsize
    for i in range(len(shape)):
        if i not in auto:
            fixed_bytes *= max(fixed[i], 1)
    room = max(limit // max(fixed_bytes, 1), 1)  # elements left for the auto dimensions
    sizes = {i: shape[i] for i in auto}
    result = {}
    # Dimensions smaller than an even share take all of it; the rest share what is left.
    pending = sorted(auto, key=lambda i: sizes[i])
    while pending:
        share = room ** (1.0 / len(pending))
        i = pending[0]
        if sizes[i] <= share:
            result[i] = max(sizes[i], 1)
            room = max(room // max(sizes[i], 1), 1)
            pending.pop(0)
            continue
        for i in pending:
            b = max(int(share), 1)
            nblocks = math.ceil(sizes[i] / b)
            result[i] = math.ceil(sizes[i] / nblocks)  # even blocks rather than a small last one
        break
    return [result[i] for i in auto]


def normalize_chunks(chunks: Any, shape: tuple, dtype: Any = None, limit: Any = None,
                     previous_chunks: tuple | None = None) -> tuple:
    """Turn any accepted chunk specification into a tuple of tuples of block lengths.

    Parameters
    ----------
    chunks:
        int, tuple (of ints, ``-1``, ``None``, ``'auto'`` or tuples), dict
        ``{axis: spec}``, ``'auto'``, ``-1``, ``None`` or a byte size string.
    shape:
        The array's shape.
    dtype:
        Needed for ``'auto'``: the item size decides how many elements make a block.
    limit:
        Bytes per block for ``'auto'`` (default: the ``array.chunk-size`` setting).
    previous_chunks:
        Chunks the array has now (for ``rechunk``): dict entries and ``None`` left out keep them.

    Returns
    -------
    tuple
        One tuple of block lengths per dimension.

    Raises
    ------
    ValueError
        If the chunks do not fit the shape; the message shows both.
    """
    shape = normalize_shape(shape)
    ndim = len(shape)
    if isinstance(chunks, str) and chunks != "auto":
        limit, chunks = parse_bytes(chunks), "auto"
    if isinstance(chunks, dict):
        spec = []
        for i in range(ndim):
            c = chunks.get(i, chunks.get(i - ndim, None))
            if c is None and previous_chunks is not None:
                c = previous_chunks[i]
            elif c is None:
                c = -1
            spec.append(c)
        chunks = tuple(spec)
    if chunks is None or chunks == -1 or (isinstance(chunks, (int, np.integer)) and not isinstance(chunks, bool)):
        chunks = (chunks,) * ndim if chunks is not None else (-1,) * ndim
    elif isinstance(chunks, (float, np.floating)):
        chunks = (_as_int(chunks, "a chunk length"),) * ndim
    elif chunks == "auto":
        chunks = ("auto",) * ndim
    chunks = tuple(chunks)
    if len(chunks) != ndim:
        if ndim == 1 and all(isinstance(c, (int, np.integer, float)) for c in chunks) and \
                sum(chunks) == shape[0]:
            chunks = (chunks,)  # (5, 5, 2) for a 1-d array of length 12
        else:
            raise ValueError(f"chunks {chunks!r} have {len(chunks)} dimension(s) but the shape "
                             f"{shape} has {ndim}; give one entry per dimension")
    blockshape: list = []
    explicit: dict = {}
    auto: list = []
    for i, (c, n) in enumerate(zip(chunks, shape)):
        if isinstance(c, str) and c != "auto":
            limit, c = parse_bytes(c), "auto"
        if c == "auto" and not isinstance(c, (tuple, list)):
            auto.append(i)
            blockshape.append(None)
        elif c is None and previous_chunks is not None:
            explicit[i] = tuple(previous_chunks[i])
            blockshape.append(max(previous_chunks[i]) if previous_chunks[i] else 0)
        elif c is None or (not isinstance(c, (tuple, list)) and c == -1):
            blockshape.append(max(n, 1) if n else 0)
        elif isinstance(c, (tuple, list)):
            explicit[i] = tuple(c)
            blockshape.append(max(c) if c else 0)
        else:
            b = _as_int(c, "a chunk length")
            if b <= 0:
                raise ValueError(f"chunk length {c!r} for axis {i} must be positive (or -1 for "
                                 "the whole axis)")
            blockshape.append(b)
    if auto:
        if dtype is None:
            raise ValueError("chunks='auto' needs the dtype to size blocks; pass dtype=")
        if limit is None:
            from teem.core import config
            limit = config.get("array.chunk-size", "128MiB")
        limit = parse_bytes(limit)
        fixed = [b if b is not None else 1 for b in blockshape]
        for i, b in zip(auto, _auto_dims(shape, fixed, auto, np.dtype(dtype).itemsize, limit)):
            blockshape[i] = b
    out = []
    for i, n in enumerate(shape):
        if i in explicit:
            c = tuple(explicit[i])
            c = tuple(x if (isinstance(x, float) and math.isnan(x)) else _as_int(x, "a chunk length")
                      for x in c)
            known = not any(isinstance(x, float) for x in c)
            if known and sum(c) != n:
                raise ValueError(f"chunks {c} along axis {i} add up to {sum(c)}, but the shape "
                                 f"has {n} there (shape {shape})")
            out.append(c)
        else:
            out.append(blockdims_from_blockshape((n,), (blockshape[i],))[0])
    return tuple(out)


def chunk_offsets(dim_chunks: Sequence) -> list:
    """Start offset of every block along one dimension (plus the total at the end)."""
    out = [0]
    for c in dim_chunks:
        out.append(out[-1] + c)
    return out


def window_pieces(dim_chunks: Sequence, start: int, stop: int, offsets: list | None = None) -> list:
    """The blocks covering ``[start, stop)`` along one dimension.

    Returns a list of ``(block_index, slice_within_block)`` in order.
    """
    if offsets is None:
        offsets = chunk_offsets(dim_chunks)
    if stop <= start:
        # an empty window: an empty slice of the nearest block keeps dtypes and other axes
        b = min(max(np.searchsorted(offsets, start, side="right") - 1, 0), len(dim_chunks) - 1)
        return [(int(b), slice(0, 0))]
    first = int(np.searchsorted(offsets, start, side="right")) - 1
    out = []
    b = first
    while b < len(dim_chunks) and offsets[b] < stop:
        lo = max(start, offsets[b]) - offsets[b]
        hi = min(stop, offsets[b + 1]) - offsets[b]
        if hi > lo:
            out.append((b, slice(lo, hi)))
        b += 1
    return out


def common_chunks(*dim_chunks: tuple) -> tuple:
    """The coarsest chunking along one dimension that refines all of ``dim_chunks``.

    Raises
    ------
    ValueError
        If the chunkings do not cover the same length.
    """
    dim_chunks = [tuple(c) for c in dim_chunks]
    if all(c == dim_chunks[0] for c in dim_chunks):
        return dim_chunks[0]
    for c in dim_chunks:
        if any(isinstance(x, float) and math.isnan(x) for x in c):
            raise UnknownChunksError(
                "cannot align arrays whose chunk sizes are unknown with differently chunked "
                "arrays; call x.compute_chunk_sizes() first")
    totals = {sum(c) for c in dim_chunks}
    if len(totals) != 1:
        raise ValueError(f"cannot align chunks {dim_chunks}: they cover different lengths")
    cuts = sorted(set().union(*(chunk_offsets(c)[1:] for c in dim_chunks)))
    out, prev = [], 0
    for cut in cuts:
        if cut > prev:
            out.append(cut - prev)
            prev = cut
    return tuple(out) if out else (0,)
