"""Blocks as a whole: joining computed blocks into one array, and ``x.blocks[...]``."""

from __future__ import annotations

import operator
from functools import reduce
from itertools import product
from typing import TYPE_CHECKING, Any

import numpy as np

from teem.core.task import Ref, Task

__all__ = ["finalize_blocks", "BlockView"]

if TYPE_CHECKING:
    from teem.array.core import Array


# --- joining blocks ---------------------------------------------------------------------------


def _nested_blocks(values: Any, ndim: int) -> list:
    """Flatten values nested ``ndim`` deep into a list in C order."""
    out = [values]
    for _ in range(ndim):
        out = [v for sub in out for v in sub]
    return out


def finalize_blocks(values: Any, chunks: tuple) -> np.ndarray:
    """Join computed blocks (nested lists, one level per dimension) into one numpy array."""
    ndim = len(chunks)
    if ndim == 0:
        value = values[0] if type(values) is list else values
        return value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value
    blocks = [np.asarray(b) for b in _nested_blocks(values, ndim)]
    if len(blocks) == 1:
        return blocks[0]
    numblocks = tuple(len(c) for c in chunks)
    if any(b.ndim != ndim for b in blocks):
        raise ValueError(f"a block has {next(b.ndim for b in blocks if b.ndim != ndim)} dimensions "
                         f"where the array has {ndim}; check the function given to map_blocks "
                         "(pass drop_axis=/new_axis= if it changes dimensions)")
    # Sizes as the blocks really are (chunks may be unknown): the first block of each row.
    sizes = []
    strides = [reduce(operator.mul, numblocks[d + 1:], 1) for d in range(ndim)]
    for d in range(ndim):
        sizes.append([blocks[i * strides[d]].shape[d] for i in range(numblocks[d])])
    shape = tuple(sum(s) for s in sizes)
    dtype = np.result_type(*blocks) if len({b.dtype for b in blocks}) > 1 else blocks[0].dtype
    out = np.empty(shape, dtype=dtype)
    starts = [np.concatenate([[0], np.cumsum(s)]).astype(int) for s in sizes]
    for flat, idx in enumerate(product(*map(range, numblocks))):
        where = tuple(slice(starts[d][i], starts[d][i + 1]) for d, i in enumerate(idx))
        out[where] = blocks[flat]
    return out


class BlockView:
    """``x.blocks[i, j]``: arrays made of whole blocks of ``x``."""

    def __init__(self, array):
        self._array = array

    @property
    def shape(self) -> tuple:
        return self._array.numblocks

    @property
    def size(self) -> int:
        return self._array.npartitions

    def __len__(self) -> int:
        return self.shape[0] if self.shape else 1

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def ravel(self) -> list:
        return [self[idx] for idx in product(*map(range, self.shape))]

    def __getitem__(self, index) -> "Array":
        x = self._array
        if not isinstance(index, tuple):
            index = (index,)
        if len(index) > x.ndim:
            raise IndexError(f"too many block indexes ({len(index)}) for an array of {x.ndim} dimensions")
        index = index + (slice(None),) * (x.ndim - len(index))
        selections = []
        for d, ix in enumerate(index):
            n = x.numblocks[d]
            if isinstance(ix, slice):
                sel = list(range(n))[ix]
            elif isinstance(ix, (int, np.integer)):
                if not -n <= ix < n:
                    raise IndexError(f"block index {ix} is out of range for {n} blocks along axis {d}")
                sel = [int(ix) % n]
            else:
                sel = [int(i) % n for i in ix]
            selections.append(sel)
        chunks = tuple(tuple(x.chunks[d][i] for i in sel) for d, sel in enumerate(selections))
        from teem.core.tokenize import tokenize
        from teem.array.core import new_array
        name = "blocks-" + tokenize(x._name, selections)
        layer = {}
        for idx in product(*map(range, map(len, selections))):
            src = (x._name, *(selections[d][i] for d, i in enumerate(idx)))
            key = (name, *idx)
            layer[key] = Task(key, _same, (Ref(src),), None, (src,))
        return new_array(layer, name, chunks, x.dtype, (x,))




def _same(x):
    return x
