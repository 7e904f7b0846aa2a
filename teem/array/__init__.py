"""teem.array: chunked numpy arrays computed by task graphs (``import teem.array as da``).

The public names follow ``dask.array``.  Modules, one job each: ``core``
(the Array class), ``chunks`` (chunk specifications), ``creation``,
``random``, ``elementwise``, ``blockwise`` (``blockwise``, ``map_blocks``),
``reductions``, ``cumulative``, ``blocks``, ``slicing``, ``rechunk``, ``reshape``, ``manipulation``,
``linalg``, ``overlap``, ``store`` and ``optimize`` (block fusion).
"""

from teem.core.base import compute, persist
from teem.array.core import Array
from teem.array.chunks import UnknownChunksError, normalize_chunks
from teem.array.creation import (
    arange, asanyarray, asarray, empty, empty_like, eye, from_array, from_delayed, fromfunction, full,
    full_like, linspace, ones, ones_like, zeros, zeros_like,
)
from teem.array.elementwise import UFUNCS as _UFUNCS
from teem.array.elementwise import around, clip, elemwise, isclose, nan_to_num, where
from teem.array.blockwise import blockwise, map_blocks
from teem.array.reductions import (
    all, any, argmax, argmin, count_nonzero, max, mean, min, nanmax, nanmean, nanmin, nanprod, nanstd, nansum, nanvar, prod, reduction, std, sum, var,
)
from teem.array.cumulative import cumprod, cumsum, nancumprod, nancumsum
from teem.array.rechunk import rechunk
from teem.array.reshape import reshape
from teem.array.manipulation import (
    atleast_1d, atleast_2d, broadcast_to, concatenate, expand_dims, hstack, moveaxis, squeeze, stack,
    swapaxes, transpose, vstack,
)
from teem.array.slicing import nonzero, take
from teem.array.linalg import dot, matmul, outer, tensordot, vdot
from teem.array.overlap import map_overlap, overlap
from teem.array.store import from_npy_stack, from_zarr, store, to_npy_stack, to_zarr
from teem.array import random

globals().update(_UFUNCS)
amin, amax = min, max
round = around


def ravel(a):
    """The flattened array (C order)."""
    return asarray(a).reshape(-1)


def shape(a):
    return asarray(a).shape


def ndim(a):
    return asarray(a).ndim


__all__ = [
    "Array", "UnknownChunksError", "normalize_chunks", "compute", "persist",
    "arange", "asanyarray", "asarray", "empty", "empty_like", "eye", "from_array", "from_delayed",
    "fromfunction", "full", "full_like", "linspace", "ones", "ones_like", "zeros", "zeros_like",
    "around", "round", "clip", "elemwise", "isclose", "nan_to_num", "where", "blockwise", "map_blocks",
    "all", "any", "argmax", "argmin", "count_nonzero", "cumprod", "cumsum", "max", "mean", "min",
    "amin", "amax", "nancumprod", "nancumsum", "nanmax", "nanmean", "nanmin", "nanprod", "nanstd",
    "nansum", "nanvar", "prod", "reduction", "std", "sum", "var", "rechunk", "reshape", "ravel",
    "atleast_1d", "atleast_2d", "broadcast_to", "concatenate", "expand_dims", "hstack", "moveaxis",
    "squeeze", "stack", "swapaxes", "transpose", "vstack", "nonzero", "take", "dot", "matmul", "outer",
    "tensordot", "vdot", "map_overlap", "overlap", "from_npy_stack", "from_zarr", "store",
    "to_npy_stack", "to_zarr", "random", "shape", "ndim", *sorted(_UFUNCS),
]
