"""Reductions as trees: sum, mean, var/std, min/max, prod, any/all, argmin/argmax and nan*.

Theory of operation
-------------------
A reduction has three steps, each a plain function of numpy values:

1. ``chunk(block, axis)`` reduces one block to a small *intermediate* (an
   array, or a tuple of arrays such as ``(count, mean, M2)`` for variances)
   whose reduced axes have length 1.  One task per block; the graph optimizer
   fuses it with the task that makes the block, so a generated chunk is
   reduced and freed in the same task.
2. ``combine(parts)`` merges intermediates of neighbouring blocks along the
   reduced axes into one.  Groups of at most ``split_every`` blocks are
   combined level by level (a tree), so partial results are merged as soon as
   their group is done and no task ever gathers all blocks at once.
3. ``finalize(intermediate)`` turns the last intermediate into the result
   (for ``mean``, total / count), dropping the reduced axes unless ``keepdims``.

Intermediates of one group all have the same shape (length 1 on the reduced
axes, the block's length on the others), so combining is elementwise.
"""

from __future__ import annotations

import builtins
import math
from functools import partial
from functools import reduce as _reduce
from itertools import product
from typing import Any, Callable

import numpy as np

from teem.core.task import Ref, RefSeq, Task
from teem.core.tokenize import tokenize
from teem.array.chunks import chunk_offsets
from teem.array.core import Array, new_array

__all__ = ["reduction", "sum", "mean", "std", "var", "min", "max", "prod", "any", "all", "argmin",
           "argmax", "nansum", "nanmean", "nanstd", "nanvar", "nanmin", "nanmax", "nanprod",
           "count_nonzero", "DEFAULT_SPLIT_EVERY"]

DEFAULT_SPLIT_EVERY = 16


def _normalize_axis(axis: Any, ndim: int) -> tuple:
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    out = []
    for a in axis:
        if not -ndim <= a < builtins.max(ndim, 1):
            raise np.exceptions.AxisError(f"axis {a} is out of bounds for an array of dimension {ndim}")
        out.append(int(a) % ndim if ndim else 0)
    if len(set(out)) != len(out):
        raise ValueError(f"duplicate value in axis: {axis}")
    return tuple(sorted(out))


def _split_factors(split_every: Any, axes: tuple) -> dict:
    if isinstance(split_every, dict):
        return {a: builtins.max(int(split_every.get(a, 2)), 2) for a in axes}
    n = split_every or DEFAULT_SPLIT_EVERY
    per_axis = builtins.max(int(round(n ** (1.0 / builtins.max(len(axes), 1)))), 2)
    return {a: per_axis for a in axes}


def _combine_step(combine: Callable, parts: list):
    return parts[0] if len(parts) == 1 else combine(parts)


def _aggregate_step(combine: Callable, finalize: Callable, parts: list, axes: tuple, keepdims: bool,
                    kwargs: dict):
    value = parts[0] if len(parts) == 1 else combine(parts)
    out = finalize(value, **kwargs)
    if not keepdims:
        out = np.squeeze(out, axis=axes)
    return out


def _chunk_with_offsets(chunk: Callable, block, axis, offsets, shape, **kwargs):
    return chunk(block, axis=axis, offsets=offsets, shape=shape, **kwargs)


def reduction(x: Array, chunk: Callable, combine: Callable, finalize: Callable, axis: Any = None,
              keepdims: bool = False, dtype: Any = None, split_every: Any = None,
              name: str = "reduce", chunk_kwargs: dict | None = None, finalize_kwargs: dict | None = None,
              with_offsets: bool = False) -> Array:
    """Build a tree reduction of ``x`` (see the module docstring).

    Parameters
    ----------
    x:
        The array to reduce.
    chunk, combine, finalize:
        ``chunk(block, axis=axes, **chunk_kwargs)``, ``combine(list_of_parts)``,
        ``finalize(part, **finalize_kwargs)``.
    axis:
        Axes to reduce (None: all).
    keepdims:
        Keep reduced axes with length 1.
    dtype:
        The result's dtype.
    split_every:
        Blocks combined per task (int, spread over the reduced axes, or ``{axis: n}``).
    with_offsets:
        Also pass ``offsets=`` (the block's start per axis) and ``shape=`` to ``chunk``.

    Returns
    -------
    Array
    """
    if not isinstance(x, Array):
        from teem.array.creation import asarray
        x = asarray(x)
    axes = _normalize_axis(axis, x.ndim)
    factors = _split_factors(split_every, axes)
    token = tokenize(x.name, name, axes, keepdims, dtype, split_every, chunk, combine, finalize,
                     chunk_kwargs, finalize_kwargs)
    chunk_kwargs = dict(chunk_kwargs or {})
    layer: dict = {}
    level_name = f"{name}-chunk-{token}"
    offsets = [chunk_offsets(c) for c in x.chunks] if with_offsets else None
    for idx in product(*map(range, x.numblocks)):
        key = (level_name, *idx)
        src = (x.name, *idx)
        if with_offsets:
            offs = tuple(offsets[d][i] for d, i in enumerate(idx))
            layer[key] = Task(key, _chunk_with_offsets, (chunk, Ref(src), axes, offs, x.shape),
                              chunk_kwargs or None, (src,))
        else:
            layer[key] = Task(key, chunk, (Ref(src),), {"axis": axes, **chunk_kwargs}, (src,))
    nb = list(x.numblocks)
    level = 0
    while builtins.any(nb[a] > factors[a] for a in axes):
        level += 1
        new_name = f"{name}-combine{level}-{token}"
        new_nb = [math.ceil(n / factors[d]) if d in axes else n for d, n in enumerate(nb)]
        for idx in product(*map(range, new_nb)):
            groups = [range(i * factors[d], builtins.min((i + 1) * factors[d], nb[d])) if d in axes else (i,)
                      for d, i in enumerate(idx)]
            keys = tuple((level_name, *g) for g in product(*groups))
            key = (new_name, *idx)
            layer[key] = Task(key, _combine_step, (combine, RefSeq(list, keys)), None, keys)
        level_name, nb = new_name, new_nb
    out_name = f"{name}-{token}"
    finalize_kwargs = finalize_kwargs or {}
    out_nb = [1 if d in axes else n for d, n in enumerate(nb)]
    for idx in product(*map(range, out_nb)):
        groups = [range(nb[d]) if d in axes else (i,) for d, i in enumerate(idx)]
        keys = tuple((level_name, *g) for g in product(*groups))
        out_idx = idx if keepdims else tuple(i for d, i in enumerate(idx) if d not in axes)
        key = (out_name, *out_idx)
        layer[key] = Task(key, _aggregate_step,
                          (combine, finalize, RefSeq(list, keys), axes, keepdims, finalize_kwargs), None, keys)
    if keepdims:
        chunks = tuple((1,) if d in axes else c for d, c in enumerate(x.chunks))
    else:
        chunks = tuple(c for d, c in enumerate(x.chunks) if d not in axes)
    if dtype is None:
        dtype = x.dtype
    return new_array(layer, out_name, chunks, dtype, (x,))


# --- building blocks --------------------------------------------------------------------------


def _fold(op: Callable) -> Callable:
    def combine(parts):
        return _reduce(op, parts)
    combine.__name__ = f"fold_{op.__name__}"
    return combine


def _same(value):
    return value


def _result_dtype(func, x: Array, **kwargs) -> np.dtype:
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(func(np.ones((1,) * builtins.max(x.ndim, 1), dtype=x.dtype), **kwargs)).dtype


_add, _mul = _fold(np.add), _fold(np.multiply)
_minimum, _maximum = _fold(np.minimum), _fold(np.maximum)
_fmin, _fmax = _fold(np.fmin), _fold(np.fmax)
_or, _and = _fold(np.logical_or), _fold(np.logical_and)


def _simple(npfunc, combine, default_name):
    def func(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None, **kwargs):
        if out is not None:
            raise ValueError(f"{default_name}(out=...) is not supported: teem arrays are immutable")
        a = _as_array(a)
        kw = {"keepdims": True}
        if dtype is not None:
            kw["dtype"] = dtype
        out_dtype = _result_dtype(npfunc, a, **({"dtype": dtype} if dtype is not None else {}))
        return reduction(a, partial(_keep, npfunc), combine, _same, axis=axis, keepdims=keepdims,
                         dtype=out_dtype, split_every=split_every, name=default_name,
                         chunk_kwargs={"kw": kw})
    func.__name__ = default_name
    func.__doc__ = (f"``numpy.{default_name}`` as a tree reduction.\n\n    Parameters\n    ----------\n"
                    "    a: the array\n    axis: axes to reduce (None: all)\n    dtype: accumulator / result dtype\n"
                    "    keepdims: keep reduced axes with length 1\n    split_every: blocks combined per task\n\n"
                    "    Returns\n    -------\n    Array\n")
    return func


def _keep(npfunc, block, axis, kw):
    return npfunc(block, axis=axis, **kw)


def _as_array(a) -> Array:
    if isinstance(a, Array):
        return a
    from teem.array.creation import asarray
    return asarray(a)


sum = _simple(np.sum, _add, "sum")
prod = _simple(np.prod, _mul, "prod")
min = _simple(np.min, _minimum, "min")
max = _simple(np.max, _maximum, "max")
any = _simple(np.any, _or, "any")
all = _simple(np.all, _and, "all")
nansum = _simple(np.nansum, _add, "nansum")
nanprod = _simple(np.nanprod, _mul, "nanprod")
nanmin = _simple(np.nanmin, _fmin, "nanmin")
nanmax = _simple(np.nanmax, _fmax, "nanmax")
amin, amax = min, max


def count_nonzero(a, axis=None, keepdims=False, split_every=None) -> Array:
    """The number of non-zero values along ``axis``."""
    a = _as_array(a)
    return sum(a != 0, axis=axis, keepdims=keepdims, split_every=split_every, dtype=np.intp)


# --- mean -------------------------------------------------------------------------------------


def _mean_chunk(block, axis, dtype, skipna):
    if skipna:
        mask = np.isnan(block)
        total = np.sum(np.where(mask, 0, block), axis=axis, keepdims=True, dtype=dtype)
        count = np.sum(~mask, axis=axis, keepdims=True)
    else:
        total = np.sum(block, axis=axis, keepdims=True, dtype=dtype)
        count = math.prod(block.shape[a] for a in axis)
    return total, count


def _mean_combine(parts):
    return _reduce(np.add, (p[0] for p in parts)), _reduce(np.add, (p[1] for p in parts))


def _mean_finalize(part, dtype):
    total, count = part
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.true_divide(total, count)
    return out.astype(dtype, copy=False) if hasattr(out, "astype") else np.asarray(out, dtype)


def _mean_dtype(x: Array, dtype) -> np.dtype:
    if dtype is not None:
        return np.dtype(dtype)
    if x.dtype.kind in "biu":
        return np.dtype(np.float64)
    return x.dtype


def _mean(a, axis=None, dtype=None, keepdims=False, split_every=None, skipna=False, name="mean"):
    a = _as_array(a)
    out_dtype = _mean_dtype(a, dtype)
    acc = out_dtype if out_dtype.kind in "fc" else np.float64
    return reduction(a, _mean_chunk, _mean_combine, _mean_finalize, axis=axis, keepdims=keepdims,
                     dtype=out_dtype, split_every=split_every, name=name,
                     chunk_kwargs={"dtype": acc, "skipna": skipna}, finalize_kwargs={"dtype": out_dtype})


def mean(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None) -> Array:
    """The arithmetic mean along ``axis`` (a tree of partial sums and counts).

    Parameters
    ----------
    a: the array; axis: axes to reduce (None: all); dtype: result dtype;
    keepdims: keep reduced axes; split_every: blocks combined per task.

    Returns
    -------
    Array
    """
    return _mean(a, axis, dtype, keepdims, split_every, False, "mean")


def nanmean(a, axis=None, dtype=None, keepdims=False, split_every=None, out=None) -> Array:
    """The mean ignoring NaNs (see :func:`mean`)."""
    return _mean(a, axis, dtype, keepdims, split_every, True, "nanmean")


# --- var / std: (count, mean, M2) merged with Chan's parallel formula -------------------------


def _moment_chunk(block, axis, dtype, skipna):
    if skipna:
        mask = np.isnan(block)
        n = np.sum(~mask, axis=axis, keepdims=True)
        values = np.where(mask, 0, block)
    else:
        n = np.full((1,) * block.ndim, math.prod(block.shape[a] for a in axis), dtype=np.int64)
        values = block
    with np.errstate(invalid="ignore", divide="ignore"):
        m = np.sum(values, axis=axis, keepdims=True, dtype=dtype) / n
        dev = np.abs(values - m) ** 2
        if skipna:
            dev = np.where(mask, 0, dev)
        m2 = np.sum(dev, axis=axis, keepdims=True, dtype=dtype if dtype.kind != "c" else None)
    return n, m, m2


def _moment_merge(a, b):
    na, ma, m2a = a
    nb, mb, m2b = b
    n = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = mb - ma
        m = ma + delta * (nb / n)
        m2 = m2a + m2b + np.abs(delta) ** 2 * (na * nb / n)
    m = np.where(na == 0, mb, np.where(nb == 0, ma, m))
    m2 = np.where(na == 0, m2b, np.where(nb == 0, m2a, m2))
    return n, m, m2


def _moment_combine(parts):
    return _reduce(_moment_merge, parts)


def _var_finalize(part, ddof, dtype, root):
    n, _, m2 = part
    with np.errstate(invalid="ignore", divide="ignore"):
        out = m2 / np.maximum(n - ddof, 0)
    if root:
        out = np.sqrt(out)
    return np.asarray(out).astype(dtype, copy=False)


def _var(a, axis, dtype, keepdims, ddof, split_every, skipna, root, name):
    a = _as_array(a)
    if dtype is not None:
        out_dtype = np.dtype(dtype)
    elif a.dtype.kind in "biu":
        out_dtype = np.dtype(np.float64)
    elif a.dtype.kind == "c":
        out_dtype = np.abs(np.ones(1, a.dtype)).dtype
    else:
        out_dtype = a.dtype
    acc = np.dtype(np.float64) if a.dtype.kind in "biu" else (a.dtype if dtype is None else np.dtype(dtype))
    return reduction(a, _moment_chunk, _moment_combine, _var_finalize, axis=axis, keepdims=keepdims,
                     dtype=out_dtype, split_every=split_every, name=name,
                     chunk_kwargs={"dtype": acc, "skipna": skipna},
                     finalize_kwargs={"ddof": ddof, "dtype": out_dtype, "root": root})


def var(a, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None) -> Array:
    """The variance along ``axis``, merged pairwise (numerically stable).

    Parameters
    ----------
    a: the array; axis: axes (None: all); ddof: delta degrees of freedom;
    dtype, keepdims, split_every: as for :func:`mean`.

    Returns
    -------
    Array
    """
    return _var(a, axis, dtype, keepdims, ddof, split_every, False, False, "var")


def std(a, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None) -> Array:
    """The standard deviation along ``axis`` (see :func:`var`)."""
    return _var(a, axis, dtype, keepdims, ddof, split_every, False, True, "std")


def nanvar(a, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None) -> Array:
    """The variance ignoring NaNs (see :func:`var`)."""
    return _var(a, axis, dtype, keepdims, ddof, split_every, True, False, "nanvar")


def nanstd(a, axis=None, dtype=None, keepdims=False, ddof=0, split_every=None, out=None) -> Array:
    """The standard deviation ignoring NaNs (see :func:`var`)."""
    return _var(a, axis, dtype, keepdims, ddof, split_every, True, True, "nanstd")


# --- argmin / argmax: (value, global index) pairs ---------------------------------------------


def _arg_chunk(block, axis, offsets, shape, func, flat):
    if flat:
        local = func(block)
        values = block.reshape(-1)[local:local + 1].reshape((1,) * block.ndim)
        where = np.unravel_index(local, block.shape)
        index = np.ravel_multi_index(tuple(int(w) + o for w, o in zip(where, offsets)), shape)
        return values, np.full((1,) * block.ndim, index, dtype=np.intp)
    (a,) = axis
    local = np.expand_dims(func(block, axis=a), a)
    return np.take_along_axis(block, local, axis=a), local + offsets[a]


def _arg_merge(a, b, smaller):
    va, ia = a
    vb, ib = b
    better = (vb < va) if smaller else (vb > va)
    take_b = better | ((vb == va) & (ib < ia))
    if va.dtype.kind in "fc":
        na, nb = np.isnan(va), np.isnan(vb)
        take_b = (take_b & ~na) | (nb & ~na) | (nb & na & (ib < ia))
    return np.where(take_b, vb, va), np.where(take_b, ib, ia)


def _arg_combine_min(parts):
    return _reduce(partial(_arg_merge, smaller=True), parts)


def _arg_combine_max(parts):
    return _reduce(partial(_arg_merge, smaller=False), parts)


def _arg_finalize(part):
    return part[1]


def _arg(a, axis, keepdims, split_every, func, combine, name):
    a = _as_array(a)
    from teem.array.chunks import check_known
    check_known(a.chunks, name)
    flat = axis is None and a.ndim > 1
    if axis is not None and not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name} takes one axis (an int) or None, not {axis!r}")
    out = reduction(a, _arg_chunk, combine, _arg_finalize, axis=axis, keepdims=keepdims,
                    dtype=np.intp, split_every=split_every, name=name,
                    chunk_kwargs={"func": func, "flat": flat}, with_offsets=True)
    return out


def argmin(a, axis=None, keepdims=False, split_every=None, out=None) -> Array:
    """Indexes of the minimum along ``axis`` (flat indexes when ``axis`` is None).

    Returns
    -------
    Array
    """
    return _arg(a, axis, keepdims, split_every, np.argmin, _arg_combine_min, "argmin")


def argmax(a, axis=None, keepdims=False, split_every=None, out=None) -> Array:
    """Indexes of the maximum along ``axis`` (flat indexes when ``axis`` is None)."""
    return _arg(a, axis, keepdims, split_every, np.argmax, _arg_combine_max, "argmax")
