"""The :class:`Array` collection: a grid of numpy blocks described by a task graph.

An Array is four things: a :class:`~teem.core.graph.Graph` whose tasks compute
its blocks, a ``name`` (block ``(i, j)`` is the result of key ``(name, i, j)``),
``chunks`` (block lengths per dimension) and a ``dtype``.  Every operation
builds a new layer of tasks -- one per output block -- on top of its inputs'
graphs and never runs anything; ``compute()`` runs the graph on a scheduler
and joins the blocks into one numpy array.

Operations live in sibling modules (elementwise, reductions, slicing, ...);
the methods here only forward to them, importing on first use.
"""

from __future__ import annotations

import math
import operator
from functools import reduce
from itertools import product
from typing import Any, Iterable

import numpy as np

from teem.core.base import compute, persist
from teem.core.graph import Graph
from teem.core.operators import install_operators
from teem.core.sizes import format_bytes
from teem.core.task import Ref, Task
from teem.array.chunks import check_known, has_unknown
from teem.array.blocks import BlockView, _nested_blocks, finalize_blocks

__all__ = ["Array", "new_array", "is_array", "block_keys", "finalize_blocks"]


def is_array(obj: Any) -> bool:
    return isinstance(obj, Array)


def block_keys(name: str, numblocks: tuple) -> list:
    """All block keys ``(name, i, j, ...)`` in C order."""
    return [(name, *idx) for idx in product(*map(range, numblocks))]


def new_array(layer: dict, name: str, chunks: tuple, dtype: Any, dependencies: Iterable = ()) -> "Array":
    """An Array whose blocks are the tasks of ``layer``, built on ``dependencies`` (Arrays or graphs)."""
    graphs = tuple(d._graph if isinstance(d, Array) else d.__teem_graph__() for d in dependencies)
    return Array(Graph(layer, graphs), name, chunks, dtype)


def _rebuild(graph: Graph, name: str, chunks: tuple, dtype: Any) -> "Array":
    return Array(graph, name, chunks, dtype)


def _block_info_shapes(block) -> tuple:
    return np.shape(block)


# --- the Array --------------------------------------------------------------------------------


class Array:
    """A chunked n-dimensional array: numpy blocks computed lazily by a task graph.

    Build arrays with :func:`teem.array.from_array`, :func:`teem.array.zeros`,
    :mod:`teem.array.random` and the like; operators, ufuncs, reductions and
    slicing build new arrays; ``compute()`` returns a numpy array.

    Parameters
    ----------
    graph:
        The graph holding a task for every block key ``(name, i, j, ...)``.
    name:
        The name of the blocks' keys.
    chunks:
        Block lengths per dimension, already normalized.
    dtype:
        The dtype of the blocks.
    """

    __slots__ = ("_graph", "_name", "_chunks", "_dtype", "__weakref__")
    __teem_scheduler__ = "threads"
    __array_priority__ = 11  # numpy defers binary operators to us

    def __init__(self, graph: Graph, name: str, chunks: tuple, dtype: Any):
        self._graph = graph
        self._name = name
        self._chunks = tuple(tuple(c) for c in chunks)
        self._dtype = np.dtype(dtype)

    # --- collection protocol ---
    def __teem_graph__(self) -> Graph:
        return self._graph

    def __teem_keys__(self) -> list:
        name, numblocks = self._name, self.numblocks
        if not numblocks:
            return [(name,)]

        def keys(prefix: tuple, dims: tuple) -> list:
            if len(dims) == 1:
                return [(name, *prefix, i) for i in range(dims[0])]
            return [keys(prefix + (i,), dims[1:]) for i in range(dims[0])]
        return keys((), numblocks)

    def __teem_postcompute__(self):
        return finalize_blocks, (self._chunks,)

    def __teem_postpersist__(self):
        return _rebuild, (self._name, self._chunks, self._dtype)

    @staticmethod
    def __teem_optimize__(graph: dict, keys: list) -> dict:
        from teem.array.optimize import fuse_blocks
        return fuse_blocks(graph, keys)

    def __teem_tokenize__(self):
        return ("teem.Array", self._name, self._chunks, str(self._dtype))

    # --- attributes ---
    @property
    def name(self) -> str:
        return self._name

    @property
    def chunks(self) -> tuple:
        return self._chunks

    @property
    def dtype(self) -> np.dtype:
        return self._dtype

    @property
    def shape(self) -> tuple:
        return tuple(sum(c) if not _nan_in(c) else math.nan for c in self._chunks)

    @property
    def ndim(self) -> int:
        return len(self._chunks)

    @property
    def size(self):
        return reduce(operator.mul, self.shape, 1)

    @property
    def nbytes(self):
        return self.size * self._dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._dtype.itemsize

    @property
    def numblocks(self) -> tuple:
        return tuple(len(c) for c in self._chunks)

    @property
    def npartitions(self) -> int:
        return reduce(operator.mul, self.numblocks, 1)

    @property
    def chunksize(self) -> tuple:
        return tuple(max(c) if c else 0 for c in self._chunks)

    @property
    def dask(self) -> dict:
        """The task graph as a dict of key -> task."""
        return self._graph.to_dict()

    @property
    def blocks(self) -> "BlockView":
        """Index blocks instead of elements: ``x.blocks[0, 1]`` is an Array of one block."""
        return BlockView(self)

    @property
    def T(self) -> "Array":
        return self.transpose()

    @property
    def real(self) -> "Array":
        return self.map_blocks(np.real, dtype=np.real(np.empty(0, self._dtype)).dtype)

    @property
    def imag(self) -> "Array":
        return self.map_blocks(np.imag, dtype=np.imag(np.empty(0, self._dtype)).dtype)

    def __len__(self) -> int:
        if not self._chunks:
            raise TypeError("len() of a 0-d array")
        check_known(self._chunks[:1], "len()")
        return sum(self._chunks[0])

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        name = self._name.rsplit("-", 1)[0] if "-" in self._name else self._name
        nbytes = self.nbytes
        chunk_bytes = reduce(operator.mul, self.chunksize, 1) * self.itemsize
        size = "unknown" if isinstance(nbytes, float) and math.isnan(nbytes) else format_bytes(nbytes)
        return (f"teem.array<{name}, shape={self.shape}, dtype={self._dtype}, "
                f"chunksize={self.chunksize}, nbytes={size}, chunk nbytes={format_bytes(chunk_bytes)}, "
                f"numblocks={self.numblocks}>")

    def _key_array(self) -> np.ndarray:
        keys = np.empty(self.numblocks, dtype=object)
        for idx in product(*map(range, self.numblocks)):
            keys[idx] = (self._name, *idx)
        return keys

    # --- computing ---
    def compute(self, **kwargs: Any) -> np.ndarray:
        """Compute the array; keyword arguments as for :func:`teem.compute` (``scheduler=``...).

        Returns
        -------
        numpy.ndarray
        """
        return compute(self, **kwargs)[0]

    def persist(self, **kwargs: Any) -> "Array":
        """Compute the blocks and return an Array whose graph holds them."""
        return persist(self, **kwargs)[0]

    def visualize(self, filename: str | None = "mydask", format: str | None = None, **kwargs):
        from teem.core.visualize import visualize
        return visualize(self, filename=filename, format=format, **kwargs)

    def __array__(self, dtype=None, copy=None):
        x = self.compute()
        if dtype is not None and x.dtype != dtype:
            x = x.astype(dtype)
        return np.asarray(x)

    def _scalar(self, kind):
        if self.size != 1:
            raise TypeError(f"only arrays of one element can be converted to {kind.__name__}; "
                            f"this one has shape {self.shape}")
        return kind(self.compute().reshape(()))

    def __bool__(self):
        return self._scalar(bool)

    def __int__(self):
        return self._scalar(int)

    def __float__(self):
        return self._scalar(float)

    def __complex__(self):
        return self._scalar(complex)

    def __index__(self):
        return operator.index(self.compute().reshape(()).item())

    def __setitem__(self, key, value):
        raise TypeError("teem arrays are immutable; build a new one with teem.array.where(mask, "
                        "value, x) instead of assigning x[mask] = value")

    def __getitem__(self, index):
        from teem.array.slicing import getitem
        return getitem(self, index)

    def to_delayed(self, optimize_graph: bool = True) -> np.ndarray:
        """An object array of Delayed, one per block."""
        from teem.core.delayed import Delayed
        graph = self._graph
        out = np.empty(self.numblocks, dtype=object)
        for idx in product(*map(range, self.numblocks)):
            out[idx] = Delayed((self._name, *idx), {}, (graph,))
        return out

    def compute_chunk_sizes(self) -> "Array":
        """Compute unknown chunk sizes (after boolean indexing) and store them in this array.

        Returns
        -------
        Array
            ``self``, now with known chunks.
        """
        if not has_unknown(self._chunks):
            return self
        name = "chunk-shapes-" + self._name
        layer = {}
        for idx in product(*map(range, self.numblocks)):
            key = (name, *idx)
            layer[key] = Task(key, _block_info_shapes, (Ref((self._name, *idx)),), None,
                              ((self._name, *idx),))
        shapes_array = Array(Graph(layer, (self._graph,)), name, self._chunks, object)
        keys = shapes_array.__teem_keys__()
        (values,) = compute(_Raw(shapes_array, keys))
        flat = _nested_blocks(values, self.ndim)
        numblocks = self.numblocks
        strides = [reduce(operator.mul, numblocks[d + 1:], 1) for d in range(self.ndim)]
        self._chunks = tuple(tuple(int(flat[i * strides[d]][d]) for i in range(numblocks[d]))
                             for d in range(self.ndim))
        return self

    # --- forwarding to the operation modules ---
    def astype(self, dtype, **kwargs) -> "Array":
        """Cast to ``dtype`` (block by block)."""
        dtype = np.dtype(dtype)
        if dtype == self._dtype:
            return self
        return self.map_blocks(_astype, dtype=dtype, target=dtype, **kwargs)

    def map_blocks(self, func, *args, **kwargs) -> "Array":
        from teem.array.blockwise import map_blocks
        return map_blocks(func, self, *args, **kwargs)

    def map_overlap(self, func, depth, boundary=None, trim=True, **kwargs) -> "Array":
        from teem.array.overlap import map_overlap
        return map_overlap(func, self, depth=depth, boundary=boundary, trim=trim, **kwargs)

    def rechunk(self, chunks="auto", **kwargs) -> "Array":
        from teem.array.rechunk import rechunk
        return rechunk(self, chunks, **kwargs)

    def reshape(self, *shape, **kwargs) -> "Array":
        from teem.array.reshape import reshape
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return reshape(self, shape, **kwargs)

    def ravel(self) -> "Array":
        return self.reshape(-1)

    flatten = ravel

    def transpose(self, *axes) -> "Array":
        from teem.array.manipulation import transpose
        if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (tuple, list))):
            axes = axes[0]
        return transpose(self, axes or None)

    def swapaxes(self, axis1, axis2) -> "Array":
        from teem.array.manipulation import swapaxes
        return swapaxes(self, axis1, axis2)

    def squeeze(self, axis=None) -> "Array":
        from teem.array.manipulation import squeeze
        return squeeze(self, axis)

    def dot(self, other) -> "Array":
        from teem.array.linalg import dot
        return dot(self, other)

    def store(self, target, **kwargs):
        from teem.array.store import store
        return store(self, target, **kwargs)

    def to_zarr(self, *args, **kwargs):
        from teem.array.store import to_zarr
        return to_zarr(self, *args, **kwargs)

    def copy(self) -> "Array":
        return self  # immutable: a copy is the same graph

    def round(self, decimals: int = 0) -> "Array":
        return self.map_blocks(np.round, decimals=decimals, dtype=self._dtype)

    def clip(self, min=None, max=None) -> "Array":
        from teem.array.elementwise import clip
        return clip(self, min, max)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from teem.array.elementwise import array_ufunc
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from teem.array.elementwise import array_function
        return array_function(func, types, args, kwargs)


class _Raw:
    """Computes an Array's blocks without joining them (for compute_chunk_sizes)."""

    __teem_scheduler__ = "threads"

    def __init__(self, array: Array, keys: list):
        self._array, self._keys = array, keys

    def __teem_graph__(self):
        return self._array._graph

    def __teem_keys__(self):
        return self._keys

    def __teem_postcompute__(self):
        return _same, ()


def _same(x):
    return x


def _astype(block, target):
    return block.astype(target, copy=False)


def _nan_in(dim_chunks) -> bool:
    return any(isinstance(c, float) and math.isnan(c) for c in dim_chunks)


def _binary_method(op, reflected=False):
    if reflected:
        def method(self, other):
            from teem.array.elementwise import elemwise
            return elemwise(op, other, self)
    else:
        def method(self, other):
            from teem.array.elementwise import elemwise
            return elemwise(op, self, other)
    return method


def _unary_method(op):
    def method(self):
        from teem.array.elementwise import elemwise
        return elemwise(op, self)
    return method


install_operators(Array, _binary_method, _unary_method)
Array.__hash__ = lambda self: hash(self._name)


def _matmul(self, other):
    from teem.array.linalg import matmul
    return matmul(self, other)


def _rmatmul(self, other):
    from teem.array.linalg import matmul
    return matmul(other, self)


def _divmod(self, other):
    return self // other, self % other


Array.__matmul__ = _matmul
Array.__rmatmul__ = _rmatmul
Array.__divmod__ = _divmod


def _reduction_method(name):
    def method(self, *args, **kwargs):
        import teem.array as da
        return getattr(da, name)(self, *args, **kwargs)
    method.__name__ = name
    method.__doc__ = f"See :func:`teem.array.{name}`."
    return method


for _name in ("sum", "mean", "std", "var", "min", "max", "prod", "any", "all", "argmin", "argmax",
              "cumsum", "cumprod", "nansum", "nanmean"):
    setattr(Array, _name, _reduction_method(_name))
