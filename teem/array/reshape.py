"""``reshape``: new shapes with the same C-order elements.

The old and new shapes are split into groups of consecutive dimensions with
equal products (``(4, 6, 5) -> (24, 5)`` has groups ``(4, 6) -> (24,)`` and
``(5,) -> (5,)``).  Within a group, blocks must be whole rows in C order:

- merging (many old dims -> one new): all but the group's first old
  dimension become one block; the new dimension's blocks are the first old
  dimension's blocks times the rest;
- splitting (one old dim -> many new): the old blocks are rechunked to
  multiples of the trailing new dimensions' product;
- anything else: the whole group becomes one block.

Then every block is reshaped on its own, one task each.
"""

from __future__ import annotations

import math
from itertools import product
from typing import Any

import numpy as np

from teem.core.task import Ref, Task
from teem.core.tokenize import tokenize
from teem.array.chunks import check_known
from teem.array.core import Array, new_array

__all__ = ["reshape"]


def _fill_shape(shape: tuple, size: int) -> tuple:
    shape = tuple(int(s) for s in shape)
    unknown = [i for i, s in enumerate(shape) if s == -1]
    if len(unknown) > 1:
        raise ValueError("can only specify one unknown dimension (-1) in a new shape")
    if unknown:
        known = math.prod(s for s in shape if s != -1)
        if known == 0 or size % known:
            raise ValueError(f"cannot reshape an array of size {size} into shape {shape}")
        shape = tuple(size // known if s == -1 else s for s in shape)
    if math.prod(shape) != size:
        raise ValueError(f"cannot reshape an array of size {size} into shape {shape}")
    return shape


def _groups(old: tuple, new: tuple) -> list:
    """Pairs (old dims, new dims) of consecutive dimensions with equal products."""
    groups = []
    i = j = 0
    while i < len(old) or j < len(new):
        oi, nj = [], []
        po = pn = 1
        if i < len(old):
            oi.append(i)
            po = old[i]
            i += 1
        if j < len(new):
            nj.append(j)
            pn = new[j]
            j += 1
        while po != pn:
            if po < pn and i < len(old):
                oi.append(i)
                po *= old[i]
                i += 1
            elif j < len(new):
                nj.append(j)
                pn *= new[j]
                j += 1
            else:
                break
        # trailing length-1 dimensions join this group
        while i < len(old) and old[i] == 1 and (j >= len(new) or new[j] != 1):
            oi.append(i)
            i += 1
        while j < len(new) and new[j] == 1 and (i >= len(old) or old[i] != 1):
            nj.append(j)
            j += 1
        groups.append((oi, nj))
    return groups


def _reshape_block(block, shape):
    return block.reshape(shape)


def reshape(x: Array, shape: Any, merge_chunks: bool = True, limit: Any = None) -> Array:
    """``x`` with a new shape (same elements in C order); one ``-1`` is inferred.

    Returns
    -------
    Array

    Raises
    ------
    UnknownChunksError
        If chunk sizes are unknown (call ``compute_chunk_sizes()``).
    """
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    check_known(x.chunks, "reshape")
    shape = _fill_shape(tuple(shape), x.size)
    if shape == x.shape:
        return x
    old = x.shape
    if x.size == 0 or x.ndim == 0 or len(shape) == 0 or x.npartitions == 1:
        x = x.rechunk(-1) if x.ndim else x
        return _blockwise_reshape(x, shape, tuple((n,) for n in shape), [None] * len(shape))
    groups = _groups(old, shape)
    rechunk_to = list(x.chunks)
    new_chunks: list = [None] * len(shape)
    source_dim: list = [None] * len(shape)  # new dim -> old dim whose block index it follows
    for oi, nj in groups:
        if not nj:
            for d in oi:
                rechunk_to[d] = (old[d],)
            continue
        if not oi:
            for d in nj:
                new_chunks[d] = (shape[d],)
            continue
        if len(oi) == 1 and len(nj) == 1:
            new_chunks[nj[0]] = x.chunks[oi[0]]
            source_dim[nj[0]] = oi[0]
        elif len(nj) == 1:  # merge
            rest = math.prod(old[d] for d in oi[1:])
            for d in oi[1:]:
                rechunk_to[d] = (old[d],)
            new_chunks[nj[0]] = tuple(c * rest for c in x.chunks[oi[0]])
            source_dim[nj[0]] = oi[0]
        elif len(oi) == 1:  # split
            trailing = math.prod(shape[d] for d in nj[1:])
            lead = shape[nj[0]]
            per_block = max(1, round(max(x.chunks[oi[0]]) / trailing))
            lead_chunks = tuple(min(per_block, lead - s) for s in range(0, lead, per_block))
            rechunk_to[oi[0]] = tuple(c * trailing for c in lead_chunks)
            new_chunks[nj[0]] = lead_chunks
            source_dim[nj[0]] = oi[0]
            for d in nj[1:]:
                new_chunks[d] = (shape[d],)
        else:
            for d in oi:
                rechunk_to[d] = (old[d],)
            for d in nj:
                new_chunks[d] = (shape[d],)
    x = x.rechunk(tuple(rechunk_to))
    return _blockwise_reshape(x, shape, tuple(new_chunks), source_dim)


def _blockwise_reshape(x: Array, shape: tuple, chunks: tuple, source_dim: list) -> Array:
    name = f"reshape-{tokenize(x.name, shape)}"
    layer = {}
    for idx in product(*map(range, map(len, chunks))):
        src = [0] * x.ndim
        for d, i in enumerate(idx):
            if source_dim[d] is not None:
                src[source_dim[d]] = i
        src_key = (x.name, *src)
        key = (name, *idx)
        bshape = tuple(chunks[d][i] for d, i in enumerate(idx))
        layer[key] = Task(key, _reshape_block, (Ref(src_key), bshape), None, (src_key,))
    return new_array(layer, name, chunks, x.dtype, (x,))
