"""Writing and reading arrays block by block: ``store``, npy stacks and zarr.

``store`` writes each block into its region of a target as soon as the block
is computed, so an array larger than memory streams to disk.  Targets are
anything supporting ``target[region] = block`` (numpy arrays and memmaps in
the threads scheduler, zarr arrays on any scheduler, h5py datasets with a lock).
"""

from __future__ import annotations

import os
import pickle
import threading
import uuid
from itertools import product
from typing import Any

import numpy as np

from teem.core.delayed import Delayed
from teem.core.graph import Graph
from teem.core.task import Ref, RefSeq, Task
from teem.core.tokenize import tokenize
from teem.array.chunks import chunk_offsets, normalize_chunks
from teem.array.core import Array, new_array

__all__ = ["store", "to_npy_stack", "from_npy_stack", "to_zarr", "from_zarr", "SerializableLock"]


class SerializableLock:
    """A lock that can travel to worker processes: equal tokens share one lock per process."""

    _locks: dict = {}
    _registry_lock = threading.Lock()

    def __init__(self, token: str | None = None):
        self.token = token or uuid.uuid4().hex
        with self._registry_lock:
            self.lock = self._locks.setdefault(self.token, threading.Lock())

    def __enter__(self):
        self.lock.acquire()
        return self

    def __exit__(self, *exc):
        self.lock.release()

    def __reduce__(self):
        return SerializableLock, (self.token,)

    def __teem_tokenize__(self):
        return ("SerializableLock", self.token)


def _store_block(block, target, where, lock, return_stored):
    if lock is not None:
        with lock:
            target[where] = block
    else:
        target[where] = block
    return block if return_stored else None


def _done(*_):
    return None


def store(sources: Any, targets: Any, lock: Any = True, regions: Any = None, compute: bool = True,
          return_stored: bool = False, **kwargs: Any) -> Any:
    """Write arrays into array-like targets, each block into its region.

    Parameters
    ----------
    sources:
        An Array or a list of them.
    targets:
        Objects supporting ``target[region] = block``, one per source.
    lock:
        True (one lock shared by all writes), False/None (no lock: fine for
        numpy targets and zarr targets chunked like the source), or a lock.
    regions:
        Where in each target to write (a tuple of slices per target).
    compute:
        Write now (default) or return a Delayed that writes when computed.
    return_stored:
        Return Arrays of the stored values instead.

    Returns
    -------
    None, a Delayed, or Arrays (with ``return_stored``).
    """
    single = isinstance(sources, Array)
    sources = [sources] if single else list(sources)
    targets = [targets] if single or not isinstance(targets, (list, tuple)) else list(targets)
    if len(sources) != len(targets):
        raise ValueError(f"store got {len(sources)} sources but {len(targets)} targets; give one target per source")
    if regions is None or isinstance(regions, tuple) and all(isinstance(r, slice) for r in regions):
        regions = [regions] * len(sources)
    if lock is True:
        lock = SerializableLock()
    elif lock is False:
        lock = None
    stored, all_keys = [], []
    for src, target, region in zip(sources, targets, regions):
        if tuple(getattr(target, "shape", src.shape)) != tuple(src.shape) and region is None:
            raise ValueError(f"cannot store an array of shape {src.shape} into a target of shape "
                             f"{getattr(target, 'shape', None)}; pass regions= to write part of it")
        name = f"store-{tokenize(src.name, id(target), region)}"
        offsets = [chunk_offsets(c) for c in src.chunks]
        starts = [r.start or 0 for r in region] if region else [0] * src.ndim
        layer = {}
        for idx in product(*map(range, src.numblocks)):
            where = tuple(slice(starts[d] + offsets[d][i], starts[d] + offsets[d][i + 1]) for d, i in enumerate(idx))
            block_key = (src.name, *idx)
            key = (name, *idx)
            layer[key] = Task(key, _store_block, (Ref(block_key), target, where, lock, return_stored), None,
                              (block_key,))
            all_keys.append(key)
        stored.append(new_array(layer, name, src.chunks, src.dtype, (src,)))
    if return_stored:
        if compute:
            from teem.core.base import persist
            stored = list(persist(*stored, **kwargs))
        return stored[0] if single else stored
    final = f"store-all-{tokenize(all_keys)}"
    keys = tuple(all_keys)
    value = Delayed(final, Task(final, _done, (RefSeq(list, keys),), None, keys),
                    tuple(s.__teem_graph__() for s in stored))
    if compute:
        value.compute(**kwargs)
        return None
    return value


# --- npy stacks -------------------------------------------------------------------------------


def _save_block(block, path):
    np.save(path, block)
    return None


def to_npy_stack(dirname: str, x: Array, axis: int = 0) -> None:
    """Write ``x`` as one ``.npy`` file per block along ``axis`` plus an ``info`` file.

    Blocks along the other axes are joined first, so each file is a slab.
    """
    axis = int(axis) % x.ndim
    x = x.rechunk({d: -1 for d in range(x.ndim) if d != axis})
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, "info"), "wb") as f:
        pickle.dump({"chunks": x.chunks, "dtype": x.dtype, "axis": axis}, f)
    name = f"to-npy-stack-{tokenize(x.name, dirname)}"
    layer = {}
    for i in range(x.numblocks[axis]):
        idx = tuple(i if d == axis else 0 for d in range(x.ndim))
        src = (x.name, *idx)
        key = (name, *idx)
        layer[key] = Task(key, _save_block, (Ref(src), os.path.join(dirname, f"{i}.npy")), None, (src,))
    keys = tuple(layer)
    final = f"{name}-all"
    Delayed(final, Task(final, _done, (RefSeq(list, keys),), None, keys),
            (Graph(layer, (x.__teem_graph__(),)),)).compute()


def _load_block(path, mmap_mode):
    return np.load(path, mmap_mode=mmap_mode)


def from_npy_stack(dirname: str, mmap_mode: str | None = "r") -> Array:
    """Read a directory written by :func:`to_npy_stack` (memory-mapped by default).

    Returns
    -------
    Array
    """
    with open(os.path.join(dirname, "info"), "rb") as f:
        info = pickle.load(f)
    chunks, dtype, axis = info["chunks"], info["dtype"], info["axis"]
    stamps = [os.stat(os.path.join(dirname, f"{i}.npy")).st_mtime_ns for i in range(len(chunks[axis]))]
    name = f"from-npy-stack-{tokenize(os.path.abspath(dirname), stamps)}"
    layer = {}
    for i in range(len(chunks[axis])):
        idx = tuple(i if d == axis else 0 for d in range(len(chunks)))
        key = (name, *idx)
        layer[key] = Task(key, _load_block, (os.path.join(dirname, f"{i}.npy"), mmap_mode), None, ())
    return new_array(layer, name, chunks, dtype)


# --- zarr -------------------------------------------------------------------------------------


def _zarr():
    try:
        import zarr
    except ImportError:
        raise ImportError("to_zarr/from_zarr need the zarr package: pip install zarr") from None
    return zarr


def to_zarr(arr: Array, url: Any, component: str | None = None, storage_options: dict | None = None,
            overwrite: bool = False, region: Any = None, compute: bool = True, return_stored: bool = False,
            **kwargs: Any) -> Any:
    """Write ``arr`` to a zarr array (a path, a store, or an existing ``zarr.Array``).

    The zarr chunks are the array's blocks, so blocks are written without locks.

    Raises
    ------
    ValueError
        If the blocks are irregular (zarr chunks are all one shape): rechunk first.
    """
    zarr = _zarr()
    if isinstance(url, zarr.Array):
        return store(arr, url, lock=False, regions=region, compute=compute, return_stored=return_stored)
    for d, c in enumerate(arr.chunks):
        if len(set(c[:-1])) > 1 or (len(c) > 1 and c[-1] > c[0]):
            raise ValueError(f"zarr needs regular chunks, but axis {d} has blocks {c}; call "
                             f"arr.rechunk({arr.chunksize}) first")
    z = zarr.open_array(store=url, mode="w" if overwrite else "w-", path=component, shape=arr.shape,
                        chunks=tuple(max(c[0], 1) for c in arr.chunks), dtype=arr.dtype,
                        storage_options=storage_options, **kwargs)
    return store(arr, z, lock=False, compute=compute, return_stored=return_stored)


def from_zarr(url: Any, component: str | None = None, storage_options: dict | None = None,
              chunks: Any = None, name: str | None = None, inline_array: bool = False, **kwargs: Any) -> Array:
    """An Array reading a zarr array (a path, a store, or a ``zarr.Array``), block by block.

    Returns
    -------
    Array
    """
    from teem.array.creation import from_array
    zarr = _zarr()
    if isinstance(url, zarr.Array):
        z = url
    else:
        z = zarr.open_array(store=url, mode="r", path=component, storage_options=storage_options, **kwargs)
    chunks = chunks if chunks is not None else z.chunks
    if name is None:
        where = url if isinstance(url, (str, os.PathLike)) else id(z)
        name = f"from-zarr-{tokenize(str(where), component, normalize_chunks(chunks, z.shape, dtype=z.dtype))}"
    return from_array(z, chunks=chunks, name=name)
