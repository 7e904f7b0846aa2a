"""Making arrays: from numpy and array-likes, from Delayed values, and from formulas.

Blocks of constant arrays (``zeros``, ``ones``, ``full``, ``arange``,
``linspace``, ``eye``, ``fromfunction``) are made by their tasks when they run:
a graph of an 80 GB array of ones holds a few bytes per block.  ``from_array``
on a numpy array makes each block a view of it (no copy); on other
array-likes (zarr, h5py, memmaps) each block task reads its region.
"""

from __future__ import annotations

import math
from itertools import product
from typing import Any, Callable

import numpy as np

from teem.core.task import DataNode, Ref, Task
from teem.core.tokenize import tokenize
from teem.core.delayed import Delayed, unique_token
from teem.array.chunks import chunk_offsets, normalize_chunks, normalize_shape
from teem.array.core import Array, new_array

__all__ = ["from_array", "asarray", "asanyarray", "from_delayed", "zeros", "ones", "full", "empty",
           "zeros_like", "ones_like", "full_like", "empty_like", "arange", "linspace", "eye",
           "fromfunction", "constant_blocks"]


def _slices(chunks: tuple, idx: tuple) -> tuple:
    out = []
    for d, i in enumerate(idx):
        start = sum(chunks[d][:i])
        out.append(slice(start, start + chunks[d][i]))
    return tuple(out)


def _all_slices(chunks: tuple):
    offsets = [chunk_offsets(c) for c in chunks]
    for idx in product(*map(range, map(len, chunks))):
        yield idx, tuple(slice(offsets[d][i], offsets[d][i + 1]) for d, i in enumerate(idx))


def _getter(source: Any, where: tuple) -> np.ndarray:
    return np.asarray(source[where])


def from_array(x: Any, chunks: Any = "auto", name: str | bool | None = None, lock: Any = False,
               asarray: bool | None = None, fancy: bool = True, getitem: Callable | None = None,
               meta: Any = None, inline_array: bool = False) -> Array:
    """A chunked array over ``x``: a numpy array or anything with ``shape``, ``dtype`` and slicing.

    Parameters
    ----------
    x:
        A numpy array (blocks are views of it), or an array-like such as a
        zarr array, an h5py dataset or a memmap (blocks read their region).
    chunks:
        Block lengths (int, tuple, ``'auto'``, ``'100MB'`` ...).
    name:
        The key name; by default a token of the data (hashed once; pass
        ``name=False`` for a random name and no hashing).

    Returns
    -------
    Array
    """
    if isinstance(x, Array):
        return x if chunks == "auto" else x.rechunk(chunks)
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        x = np.asarray(x)
    shape = normalize_shape(x.shape)
    dtype = np.dtype(x.dtype)
    previous = getattr(x, "chunks", None)
    previous = normalize_chunks(previous, shape) if isinstance(previous, tuple) and \
        len(previous) == len(shape) and all(isinstance(c, int) for c in previous) else None
    chunks = normalize_chunks(chunks, shape, dtype=dtype, previous_chunks=previous)
    if name is None or name is True:
        token = tokenize(x, chunks)
        name = f"array-{token}"
    elif name is False:
        name = f"array-{unique_token()}"
    layer: dict = {}
    if type(x) is np.ndarray:
        for idx, where in _all_slices(chunks):
            key = (name, *idx)
            layer[key] = DataNode(key, x[where])
        return new_array(layer, name, chunks, dtype)
    source_key = f"original-{name}"
    layer[source_key] = DataNode(source_key, x)
    get = getitem or _getter
    for idx, where in _all_slices(chunks):
        key = (name, *idx)
        layer[key] = Task(key, get, (Ref(source_key), where), None, (source_key,))
    return new_array(layer, name, chunks, dtype)


def asarray(a: Any, dtype: Any = None, order: Any = None, chunks: Any = "auto", **kwargs) -> Array:
    """``a`` as a teem Array (an Array is returned as is).

    Parameters
    ----------
    a:
        An Array, a numpy array, a list, a scalar, or any array-like.

    Returns
    -------
    Array
    """
    if isinstance(a, Array):
        return a if dtype is None else a.astype(dtype)
    if isinstance(a, (list, tuple)) and any(isinstance(i, Array) for i in a):
        from teem.array.manipulation import stack
        return stack([asarray(i) for i in a])
    if not hasattr(a, "shape") or not hasattr(a, "dtype"):
        a = np.asarray(a, dtype=dtype)
    elif dtype is not None and isinstance(a, np.ndarray):
        a = a.astype(dtype, copy=False)
    return from_array(a, chunks=chunks, **kwargs)


asanyarray = asarray


def from_delayed(value: Any, shape: tuple, dtype: Any = None, meta: Any = None,
                 name: str | None = None) -> Array:
    """A one-block Array whose block is the result of a Delayed value.

    Parameters
    ----------
    value:
        A Delayed (or any teem collection) computing a numpy array.
    shape, dtype:
        What the value will be: they are not checked until it runs.

    Returns
    -------
    Array
    """
    from teem.core.delayed import delayed as make_delayed
    if not isinstance(value, Delayed):
        value = make_delayed(value)
    if dtype is None:
        dtype = meta.dtype if meta is not None else np.float64
    shape = normalize_shape(shape)
    name = name or f"from-value-{tokenize(value.key, shape)}"
    key = (name,) + (0,) * len(shape)
    from teem.core.task import identity
    layer = {key: Task(key, identity, (Ref(value.key),), None, (value.key,))}
    return new_array(layer, name, tuple((s,) for s in shape), dtype, [value])


def constant_blocks(func: Callable, prefix: str, shape: Any, chunks: Any, dtype: Any,
                    extra: tuple = (), token: Any = None) -> Array:
    """An Array whose block ``idx`` is ``func(block_shape, *extra)``."""
    shape = normalize_shape(shape)
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, shape, dtype=dtype)
    name = f"{prefix}-{tokenize(prefix, shape, chunks, dtype, extra, token)}"
    layer = {}
    for idx in product(*map(range, map(len, chunks))):
        key = (name, *idx)
        block_shape = tuple(chunks[d][i] for d, i in enumerate(idx))
        layer[key] = Task(key, func, (block_shape, *extra), None, ())
    return new_array(layer, name, chunks, dtype)


def _full_block(shape, value, dtype):
    return np.full(shape, value, dtype=dtype)


def _zeros_block(shape, dtype):
    return np.zeros(shape, dtype=dtype)


def _ones_block(shape, dtype):
    return np.ones(shape, dtype=dtype)


def _empty_block(shape, dtype):
    return np.empty(shape, dtype=dtype)


def zeros(shape: Any, dtype: Any = float, chunks: Any = "auto", name: str | None = None, **kwargs) -> Array:
    """An array of zeros; ``shape``, ``dtype`` and ``chunks`` as in numpy plus chunking."""
    return constant_blocks(_zeros_block, "zeros", shape, chunks, dtype, (np.dtype(dtype),))


def ones(shape: Any, dtype: Any = float, chunks: Any = "auto", name: str | None = None, **kwargs) -> Array:
    """An array of ones; ``shape``, ``dtype`` and ``chunks`` as in numpy plus chunking."""
    return constant_blocks(_ones_block, "ones", shape, chunks, dtype, (np.dtype(dtype),))


def empty(shape: Any, dtype: Any = float, chunks: Any = "auto", name: str | None = None, **kwargs) -> Array:
    """An uninitialised array (blocks are ``numpy.empty``)."""
    return constant_blocks(_empty_block, "empty", shape, chunks, dtype, (np.dtype(dtype),))


def full(shape: Any, fill_value: Any, dtype: Any = None, chunks: Any = "auto", name: str | None = None,
         **kwargs) -> Array:
    """An array filled with ``fill_value`` (its dtype unless ``dtype`` is given)."""
    if np.ndim(fill_value) != 0:
        raise ValueError(f"fill_value must be a scalar, not an array of shape {np.shape(fill_value)}")
    dtype = np.dtype(dtype) if dtype is not None else np.asarray(fill_value).dtype
    return constant_blocks(_full_block, "full", shape, chunks, dtype, (fill_value, dtype))


def _like(maker, a, dtype, chunks, shape, *extra):
    a_shape = np.shape(a) if not isinstance(a, Array) else a.shape
    dtype = dtype if dtype is not None else getattr(a, "dtype", np.asarray(a).dtype)
    if chunks is None:
        chunks = a.chunks if isinstance(a, Array) and (shape is None or tuple(shape) == a_shape) else "auto"
    return maker(shape if shape is not None else a_shape, *extra, dtype=dtype, chunks=chunks)


def zeros_like(a: Any, dtype: Any = None, chunks: Any = None, shape: Any = None, **kwargs) -> Array:
    """Zeros with the shape, dtype and (by default) chunks of ``a``."""
    return _like(zeros, a, dtype, chunks, shape)


def ones_like(a: Any, dtype: Any = None, chunks: Any = None, shape: Any = None, **kwargs) -> Array:
    """Ones with the shape, dtype and (by default) chunks of ``a``."""
    return _like(ones, a, dtype, chunks, shape)


def empty_like(a: Any, dtype: Any = None, chunks: Any = None, shape: Any = None, **kwargs) -> Array:
    """An uninitialised array with the shape, dtype and chunks of ``a``."""
    return _like(empty, a, dtype, chunks, shape)


def full_like(a: Any, fill_value: Any, dtype: Any = None, chunks: Any = None, shape: Any = None,
              **kwargs) -> Array:
    """``fill_value`` everywhere, with the shape, dtype and chunks of ``a``."""
    return _like(full, a, dtype, chunks, shape, fill_value)


# --- ranges -----------------------------------------------------------------------------------


def _arange_block(start, step, i0, i1, dtype):
    if np.issubdtype(dtype, np.integer):
        return np.arange(start + i0 * step, start + i1 * step, step, dtype=dtype)
    return (start + np.arange(i0, i1) * step).astype(dtype, copy=False)


def arange(*args: Any, chunks: Any = "auto", dtype: Any = None, like: Any = None, **kwargs) -> Array:
    """``numpy.arange`` in blocks: ``arange([start,] stop[, step], chunks=...)``."""
    start, stop, step = 0, None, 1
    if len(args) == 1:
        stop = args[0]
    elif len(args) == 2:
        start, stop = args
    elif len(args) == 3:
        start, stop, step = args
    else:
        start, stop, step = kwargs.get("start", 0), kwargs.get("stop"), kwargs.get("step", 1)
    if stop is None:
        raise TypeError("arange needs a stop value: arange(stop) or arange(start, stop[, step])")
    if step == 0:
        raise ValueError("arange step must not be zero")
    num = max(int(math.ceil((stop - start) / step)), 0)
    if dtype is None:
        dtype = np.arange(start, start + step, step).dtype if num else np.arange(start, stop, step).dtype
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, (num,), dtype=dtype)
    name = f"arange-{tokenize(start, stop, step, chunks, dtype)}"
    layer = {}
    offsets = chunk_offsets(chunks[0])
    for i in range(len(chunks[0])):
        key = (name, i)
        layer[key] = Task(key, _arange_block, (start, step, offsets[i], offsets[i + 1], dtype), None, ())
    return new_array(layer, name, chunks, dtype)


def _linspace_block(start, step, i0, i1, last, stop, dtype):
    out = start + np.arange(i0, i1) * step
    if last is not None and i1 > i0:
        out[-1] = stop
    return out.astype(dtype, copy=False)


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             chunks: Any = "auto", dtype: Any = None) -> Array | tuple:
    """``numpy.linspace`` in blocks."""
    num = int(num)
    div = (num - 1) if endpoint else num
    step = (stop - start) / div if div > 0 else float("nan")
    dtype = np.dtype(dtype) if dtype is not None else np.linspace(start, stop, 2).dtype
    chunks = normalize_chunks(chunks, (num,), dtype=dtype)
    name = f"linspace-{tokenize(start, stop, num, endpoint, chunks, dtype)}"
    offsets = chunk_offsets(chunks[0])
    layer = {}
    for i in range(len(chunks[0])):
        key = (name, i)
        i0, i1 = offsets[i], offsets[i + 1]
        last = True if (endpoint and num > 1 and i1 == num) else None
        layer[key] = Task(key, _linspace_block, (start, step if div > 0 else 0, i0, i1, last, stop, dtype),
                          None, ())
    out = new_array(layer, name, chunks, dtype)
    return (out, step) if retstep else out


def _eye_block(shape, k, dtype):
    return np.eye(shape[0], shape[1], k=k, dtype=dtype)


def eye(N: int, chunks: Any = "auto", M: int | None = None, k: int = 0, dtype: Any = float) -> Array:
    """The identity-like ``N × M`` matrix with ones on diagonal ``k``, in blocks."""
    M = N if M is None else M
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, (N, M), dtype=dtype)
    name = f"eye-{tokenize(N, M, k, chunks, dtype)}"
    layer = {}
    for idx, where in _all_slices(chunks):
        key = (name, *idx)
        shape = (where[0].stop - where[0].start, where[1].stop - where[1].start)
        layer[key] = Task(key, _eye_block, (shape, k + where[0].start - where[1].start, dtype), None, ())
    return new_array(layer, name, chunks, dtype)


def _fromfunction_block(func, offsets, shape, dtype, kwargs):
    grids = np.indices(shape, dtype=dtype)
    for g, off in zip(grids, offsets):
        g += off
    return func(*grids, **kwargs)


def fromfunction(function: Callable, shape: Any, chunks: Any = "auto", dtype: Any = float,
                 **kwargs: Any) -> Array:
    """Each element is ``function(i, j, ...)`` of its indexes (called on index grids per block)."""
    shape = normalize_shape(shape)
    dtype = np.dtype(dtype)
    chunks = normalize_chunks(chunks, shape, dtype=dtype)
    name = f"fromfunction-{tokenize(function, shape, chunks, dtype, kwargs)}"
    layer = {}
    for idx, where in _all_slices(chunks):
        key = (name, *idx)
        offs = tuple(s.start for s in where)
        bshape = tuple(s.stop - s.start for s in where)
        layer[key] = Task(key, _fromfunction_block, (function, offs, bshape, dtype, kwargs), None, ())
    from teem.array.blockwise import infer_dtype
    try:
        out_dtype = infer_dtype(function, [np.zeros((1,) * len(shape), dtype)] * len(shape), kwargs)
    except ValueError:
        out_dtype = dtype
    return new_array(layer, name, chunks, out_dtype)
