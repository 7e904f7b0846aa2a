"""``rechunk``, and the window assembly it shares with overlaps and alignment.

Every output block is one task that copies the pieces of the input blocks it
covers into a new array (a single piece that is a whole input block is passed
on without a copy).  Input blocks are read by as many output tasks as cover
them; the scheduler frees each once its last reader has run.
"""

from __future__ import annotations

from itertools import product
from typing import Any, Sequence

import numpy as np

from teem.core.task import RefSeq, Task
from teem.core.tokenize import tokenize
from teem.array.chunks import (check_known, chunk_offsets, normalize_chunks, window_pieces)
from teem.array.core import Array, new_array

__all__ = ["rechunk", "assemble", "windows_layer"]


def assemble(grid: tuple, slices: tuple, blocks: list) -> np.ndarray:
    """Join ``blocks[k][slices...]`` laid out on ``grid`` (pieces per dimension) into one array.

    ``slices`` holds, per dimension, the slice taken from each piece along it.
    """
    if len(blocks) == 1:
        b = blocks[0]
        where = tuple(s[0] for s in slices)
        out = b[where] if where else b
        return out
    ndim = len(grid)
    sizes = [[s.stop - s.start for s in slices[d]] for d in range(ndim)]
    shape = tuple(sum(s) for s in sizes)
    out = np.empty(shape, dtype=np.result_type(*blocks) if len({b.dtype for b in blocks}) > 1
                   else blocks[0].dtype)
    starts = [chunk_offsets(s) for s in sizes]
    for k, idx in enumerate(product(*map(range, grid))):
        src = tuple(slices[d][i] for d, i in enumerate(idx))
        dst = tuple(slice(starts[d][i], starts[d][i + 1]) for d, i in enumerate(idx))
        out[dst] = blocks[k][src]
    return out


def windows_layer(x: Array, name: str, windows: Sequence[Sequence[tuple]]) -> dict:
    """Tasks making block ``idx`` from the window ``windows[d][idx[d]] = (start, stop)`` of ``x``."""
    offsets = [chunk_offsets(c) for c in x.chunks]
    per_dim = [[window_pieces(x.chunks[d], lo, hi, offsets[d]) for lo, hi in windows[d]]
               for d in range(x.ndim)]
    layer = {}
    xname = x.name
    for idx in product(*(range(len(w)) for w in windows)):
        pieces = [per_dim[d][i] for d, i in enumerate(idx)]
        grid = tuple(len(p) for p in pieces)
        slices = tuple(tuple(s for _, s in p) for p in pieces)
        keys = tuple((xname, *bidx) for bidx in product(*([b for b, _ in p] for p in pieces)))
        key = (name, *idx)
        layer[key] = Task(key, assemble, (grid, slices, RefSeq(list, keys)), None, keys)
    return layer


def rechunk(x: Array, chunks: Any = "auto", threshold: Any = None, block_size_limit: Any = None,
            balance: bool = False, method: Any = None) -> Array:
    """The same values in blocks of new shapes.

    Parameters
    ----------
    x:
        The array.
    chunks:
        The new chunks: int, tuple, dict ``{axis: spec}`` (other axes keep
        theirs), ``-1`` for whole axes, ``'auto'`` or a byte size.
    block_size_limit:
        Bytes per block for ``'auto'``.

    Returns
    -------
    Array

    Raises
    ------
    UnknownChunksError
        If ``x`` has unknown chunk sizes (call ``x.compute_chunk_sizes()``).
    """
    if isinstance(chunks, dict):
        chunks = {k % x.ndim if x.ndim else k: v for k, v in chunks.items()}
        if all(v is None for v in chunks.values()):
            return x
    new = normalize_chunks(chunks, _known_shape(x), dtype=x.dtype, limit=block_size_limit,
                           previous_chunks=x.chunks)
    if new == x.chunks:
        return x
    check_known(x.chunks, "rechunk")
    name = f"rechunk-{tokenize(x.name, new)}"
    windows = []
    for c in new:
        off = chunk_offsets(c)
        windows.append([(off[i], off[i + 1]) for i in range(len(c))])
    return new_array(windows_layer(x, name, windows), name, new, x.dtype, (x,))


def _known_shape(x: Array) -> tuple:
    check_known(x.chunks, "rechunk")
    return x.shape
