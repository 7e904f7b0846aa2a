"""``blockwise`` and ``map_blocks``: one task per output block, in index notation.

``blockwise(f, 'ij', x, 'ij', y, 'jk')`` calls ``f`` once per output block
``(i, j)``; an index that appears in an input but not in the output
(``k`` in matmul-like calls) is *contracted*: the function receives the list
of all blocks along it (or, with ``concatenate=True``, one block joined from
them).  Indexes shared by several inputs are aligned first: chunkings that
differ are refined to a common one (by ``rechunk``), and a dimension of
length 1 broadcasts against any length (block 0 is used for every output
block), as numpy broadcasting does.

Elementwise operations, ``map_blocks``, random arrays, transposes and the
reductions' first step are all built on :func:`blockwise_layer`.
"""

from __future__ import annotations

import inspect
import warnings
from itertools import product
from typing import Any, Callable, Sequence

import numpy as np

from teem.core.task import Packed, Ref, RefSeq, Task, funcname
from teem.core.tokenize import tokenize
from teem.array.chunks import chunk_offsets, common_chunks
from teem.array.core import Array, new_array

__all__ = ["blockwise", "map_blocks", "infer_dtype", "blockwise_layer", "align_chunks"]


def infer_dtype(func: Callable, args: Sequence, kwargs: dict, what: str = "the function") -> np.dtype:
    """The dtype ``func`` returns, found by calling it on empty (then one-element) blocks.

    Raises
    ------
    ValueError
        If ``func`` fails on both; the message asks for ``dtype=``.
    """
    last_error = None
    for size in (0, 1):
        metas = [np.ones((size,) * a.ndim, dtype=a.dtype) if isinstance(a, Array) else a for a in args]
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = func(*metas, **kwargs)
            return np.asarray(out).dtype if not hasattr(out, "dtype") else np.dtype(out.dtype)
        except Exception as exc:  # noqa: BLE001 - any failure means "try the next way"
            last_error = exc
    raise ValueError(f"could not find the dtype that {what} ({funcname(func)}) returns by calling it "
                     f"on small blocks ({type(last_error).__name__}: {last_error}); pass dtype=")


def align_chunks(pairs: Sequence) -> tuple[dict, dict, list]:
    """Common chunks per index, the (array, dim) pairs that broadcast, and the aligned arrays.

    ``pairs`` is a list of ``(arg, index)``; ``index`` is None for constants.
    """
    sizes: dict = {}
    for arg, ind in pairs:
        if ind is None:
            continue
        for d, letter in enumerate(ind):
            sizes.setdefault(letter, []).append(arg.chunks[d])
    chunks: dict = {}
    for letter, cs in sizes.items():
        real = [c for c in cs if not (len(c) == 1 and c[0] == 1)]
        chunks[letter] = common_chunks(*real) if real else (1,)
    aligned = []
    for arg, ind in pairs:
        if ind is None:
            aligned.append((arg, ind))
            continue
        want = tuple(arg.chunks[d] if (len(arg.chunks[d]) == 1 and arg.chunks[d][0] == 1)
                     else chunks[letter] for d, letter in enumerate(ind))
        if want != arg.chunks:
            arg = arg.rechunk(want)
        aligned.append((arg, ind))
    return chunks, sizes, aligned


def _concat_nested(blocks: Any, axes: tuple) -> np.ndarray:
    """Join nested lists of blocks along ``axes`` (outermost list = first axis)."""
    if not axes:
        return blocks
    if type(blocks) is not list:
        return blocks
    parts = [_concat_nested(b, axes[1:]) for b in blocks]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=axes[0])


def _call_concatenated(func, spec, *args, **kwargs):
    """``func`` with the arguments marked in ``spec`` (index -> axes) joined first."""
    args = list(args)
    for i, axes in spec:
        args[i] = _concat_nested(args[i], axes)
    return func(*args, **kwargs)


def blockwise_layer(func: Callable, name: str, out_ind: Sequence, pairs: Sequence,
                    out_numblocks: dict, kwargs: dict | None = None, concatenate: bool = False,
                    block_kwargs: Callable | None = None) -> dict:
    """The tasks of a blockwise operation (arrays already aligned).

    Returns ``{(name, i, ...): Task}`` for every output block.
    """
    out_ind = tuple(out_ind)
    contracted: list = []
    for arg, ind in pairs:
        if ind is not None:
            for letter in ind:
                if letter not in out_ind and letter not in contracted:
                    contracted.append(letter)
    numblocks = dict(out_numblocks)
    for arg, ind in pairs:
        if ind is not None:
            for d, letter in enumerate(ind):
                if letter in contracted:
                    numblocks[letter] = max(numblocks.get(letter, 1), arg.numblocks[d])
    # per argument: for each of its dims, the output letter or contracted letter, and broadcasting
    plans = []
    concat_spec = []
    for pos, (arg, ind) in enumerate(pairs):
        if ind is None:
            plans.append(None)
            continue
        bcast = tuple(arg.numblocks[d] == 1 and numblocks.get(letter, 1) > 1 for d, letter in enumerate(ind))
        cdims = [d for d, letter in enumerate(ind) if letter in contracted]
        plans.append((arg.name, ind, bcast, cdims))
        if concatenate and cdims:
            concat_spec.append((pos, tuple(cdims)))
    layer = {}
    kwargs = kwargs or None
    target = func
    if concat_spec:
        target = _call_concatenated
    for idx in product(*(range(out_numblocks[letter]) for letter in out_ind)):
        where = dict(zip(out_ind, idx))
        args = []
        deps: list = []
        for (arg, ind), plan in zip(pairs, plans):
            if plan is None:
                args.append(arg)
                continue
            aname, ind, bcast, cdims = plan
            base = [0 if b else where.get(letter, 0) for letter, b in zip(ind, bcast)]
            if not cdims:
                key = (aname, *base)
                deps.append(key)
                args.append(Ref(key))
                continue
            args.append(_contracted_refs(aname, base, cdims, ind, bcast, numblocks, deps))
        key = (name, *idx)
        kw = kwargs
        if block_kwargs is not None:
            kw = {**(kwargs or {}), **block_kwargs(idx)}
        if concat_spec:
            args = [func, tuple(concat_spec), *args]
        layer[key] = Task(key, target, tuple(args), kw or None, tuple(dict.fromkeys(deps)))
    return layer


def _contracted_refs(aname, base, cdims, ind, bcast, numblocks, deps):
    """Nested lists of refs over the contracted dimensions of one argument."""
    def build(level: int, current: list):
        d = cdims[level]
        n = 1 if bcast[d] else numblocks[ind[d]]
        items = []
        for i in range(n):
            current[d] = i
            if level + 1 == len(cdims):
                key = (aname, *current)
                deps.append(key)
                items.append(key)
            else:
                items.append(build(level + 1, current))
        if level + 1 == len(cdims):
            return RefSeq(list, tuple(items))
        return Packed(list, tuple(items))
    return build(0, list(base))


def blockwise(func: Callable, out_ind: Sequence, *args: Any, name: str | None = None,
              token: str | None = None, dtype: Any = None, adjust_chunks: dict | None = None,
              new_axes: dict | None = None, align_arrays: bool = True, concatenate: bool | None = None,
              meta: Any = None, **kwargs: Any) -> Array:
    """Apply ``func`` block by block, with inputs and output described by index strings.

    Parameters
    ----------
    func:
        Called once per output block with the matching blocks (lists of blocks
        along contracted indexes, unless ``concatenate``).
    out_ind:
        The output's index, e.g. ``'ij'``.
    *args:
        Pairs ``array, index`` (``index`` None for a constant passed as is).
    dtype:
        The output dtype (inferred by calling ``func`` on small blocks when omitted).
    adjust_chunks:
        ``{index: callable | int | tuple}`` changing output chunk lengths.
    new_axes:
        ``{index: length}`` for output indexes no input has.
    concatenate:
        Join the blocks along contracted indexes before calling ``func``.

    Returns
    -------
    Array
    """
    from teem.array.creation import asarray
    if len(args) % 2:
        raise ValueError("blockwise takes pairs of (array, index) after out_ind; got an odd count")
    pairs = []
    for arg, ind in zip(args[::2], args[1::2]):
        if ind is not None:
            arg = asarray(arg)
            ind = tuple(ind)
            if len(ind) != arg.ndim:
                raise ValueError(f"index {ind!r} has {len(ind)} letters for an array of {arg.ndim} "
                                 "dimensions")
        pairs.append((arg, ind))
    if align_arrays:
        chunks_by_letter, _, pairs = align_chunks(pairs)
    else:
        chunks_by_letter = {}
        for arg, ind in pairs:
            if ind is not None:
                for d, letter in enumerate(ind):
                    chunks_by_letter.setdefault(letter, arg.chunks[d])
    for letter, size in (new_axes or {}).items():
        chunks_by_letter[letter] = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    out_ind = tuple(out_ind)
    out_chunks = []
    for letter in out_ind:
        if letter not in chunks_by_letter:
            raise ValueError(f"output index {letter!r} appears in no input; declare it in new_axes=")
        c = chunks_by_letter[letter]
        adj = (adjust_chunks or {}).get(letter)
        if callable(adj):
            c = tuple(adj(x) for x in c)
        elif isinstance(adj, (int, np.integer)):
            c = (int(adj),) * len(c)
        elif adj is not None:
            c = tuple(adj)
        out_chunks.append(c)
    if dtype is None:
        dtype = meta.dtype if meta is not None and hasattr(meta, "dtype") else None
    if dtype is None:
        dtype = _infer_blockwise_dtype(func, pairs, kwargs, concatenate)
    name = name or f"{funcname(func)}-{token or tokenize(func, out_ind, [(a if i is None else a.name, i) for a, i in pairs], kwargs, adjust_chunks, new_axes, concatenate)}"
    numblocks = {letter: len(c) for letter, c in zip(out_ind, out_chunks)}
    layer = blockwise_layer(func, name, out_ind, pairs, numblocks, kwargs, bool(concatenate))
    return new_array(layer, name, tuple(out_chunks), dtype, [a for a, i in pairs if i is not None])


def _infer_blockwise_dtype(func, pairs, kwargs, concatenate):
    args = [a for a, _ in pairs]
    try:
        return infer_dtype(func, args, kwargs)
    except ValueError:
        arrays = [a for a in args if isinstance(a, Array)]
        if arrays:
            return arrays[0].dtype
        raise


# --- map_blocks ------------------------------------------------------------------------------


def _accepts(func: Callable, name: str) -> bool:
    try:
        return name in inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False


def map_blocks(func: Callable, *args: Any, name: str | None = None, token: str | None = None,
               dtype: Any = None, chunks: Any = None, drop_axis: Any = (), new_axis: Any = None,
               meta: Any = None, enforce_ndim: bool = False, **kwargs: Any) -> Array:
    """Call ``func`` on every block of the arrays in ``args`` (aligned as numpy broadcasts).

    Parameters
    ----------
    func:
        Takes blocks (and the non-array ``args`` as they are); may take
        ``block_id=`` (the block's index) and ``block_info=``.
    dtype:
        The result's dtype; inferred from a call on empty blocks if omitted.
    chunks:
        The output's chunks when ``func`` changes block shapes: a block shape
        (tuple of ints) or full chunks (tuple of tuples).
    drop_axis, new_axis:
        Axes the function removes / adds.

    Returns
    -------
    Array

    Example
    -------
    >>> import teem.array as da
    >>> da.ones(10, chunks=5).map_blocks(lambda b: b * 2).sum().compute()
    20.0
    """
    arrays = [a for a in args if isinstance(a, Array)]
    if not arrays:
        raise TypeError("map_blocks needs at least one teem array among its arguments")
    ndim = max(a.ndim for a in arrays)
    if isinstance(drop_axis, (int, np.integer)):
        drop_axis = (drop_axis,)
    drop_axis = tuple(d % ndim for d in drop_axis) if ndim else ()
    if isinstance(new_axis, (int, np.integer)):
        new_axis = (new_axis,)
    new_axis = tuple(new_axis or ())
    pairs = []
    for a in args:
        if isinstance(a, Array):
            pairs.append((a, tuple(range(ndim - a.ndim, ndim))))
        else:
            pairs.append((a, None))
    chunks_by_letter, _, pairs = align_chunks(pairs)
    out_ind = [d for d in range(ndim) if d not in drop_axis]
    out_ndim = len(out_ind) + len(new_axis)
    new_axis = tuple(n % out_ndim for n in new_axis)
    letters = iter(out_ind)
    full_ind = []
    fresh = ndim
    new_letters = {}
    for pos in range(out_ndim):
        if pos in new_axis:
            full_ind.append(fresh)
            new_letters[fresh] = pos
            fresh += 1
        else:
            full_ind.append(next(letters))
    out_chunks = []
    for letter in full_ind:
        out_chunks.append((1,) if letter in new_letters else chunks_by_letter[letter])
    if chunks is not None:
        chunks = tuple(chunks)
        if len(chunks) != out_ndim:
            raise ValueError(f"chunks={chunks!r} has {len(chunks)} dimensions but the output has "
                             f"{out_ndim}; give one entry per output dimension")
        fixed = []
        for c, old in zip(chunks, out_chunks):
            fixed.append(tuple(c) if isinstance(c, (tuple, list)) else (int(c),) * len(old))
        out_chunks = fixed
    wants_id, wants_info = _accepts(func, "block_id"), _accepts(func, "block_info")
    if dtype is None:
        dtype = meta.dtype if meta is not None and hasattr(meta, "dtype") else None
    if dtype is None and not (wants_id or wants_info) and chunks is None and not drop_axis and not new_axis:
        dtype = _infer_blockwise_dtype(func, pairs, kwargs, False)
    elif dtype is None:
        dtype = arrays[0].dtype
    name = name or f"{funcname(func)}-{token or tokenize(func, [(a if i is None else a.name, i) for a, i in pairs], kwargs, chunks, drop_axis, new_axis)}"
    numblocks = {letter: len(c) for letter, c in zip(full_ind, out_chunks)}
    per_block = _block_arguments(out_chunks, dtype, wants_id, wants_info) if wants_id or wants_info else None
    layer = blockwise_layer(func, name, full_ind, pairs, numblocks, kwargs, concatenate=bool(drop_axis),
                            block_kwargs=per_block)
    out = new_array(layer, name, tuple(out_chunks), dtype, [a for a, i in pairs if i is not None])
    return out


def _block_arguments(out_chunks: list, dtype, wants_id: bool, wants_info: bool):
    """A function giving the ``block_id=`` / ``block_info=`` arguments of output block ``idx``."""
    shape = tuple(sum(c) for c in out_chunks)
    offsets = [chunk_offsets(c) for c in out_chunks]
    nblocks = tuple(len(c) for c in out_chunks)

    def per_block(idx):
        kw = {}
        if wants_id:
            kw["block_id"] = idx
        if wants_info:
            loc = [(offsets[d][i], offsets[d][i + 1]) for d, i in enumerate(idx)]
            kw["block_info"] = {None: {"shape": shape, "num-chunks": nblocks, "chunk-location": idx,
                                       "array-location": loc, "dtype": dtype}}
        return kw
    return per_block
