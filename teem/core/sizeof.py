"""Estimate how many bytes of memory an object holds, quickly.

``sizeof(obj)`` is what the distributed worker uses to account for the data it
keeps (and to decide what to spill to disk), so it must be cheap -- a few
microseconds for a numpy array or a numeric DataFrame, bounded time for
anything -- and it must never raise.  It is an estimate, not an audit:

- numpy arrays count ``nbytes`` (an array broadcast with zero strides counts
  only the memory it really spans; an object array also counts a sample of
  its elements);
- pandas objects count their buffers; columns of Python objects (``object``
  or python-backed strings) are estimated from up to 100 evenly spaced cells
  per column, so a million-row string column costs 100 measurements;
- lists, tuples, sets, frozensets and dicts measure up to 10 elements (keys
  and values) recursively and extrapolate to their length; containers that
  contain themselves are counted once, and one call visits a bounded number
  of nested containers;
- everything else uses ``sys.getsizeof``.

The function is chosen by type, like ``normalize_token``: the first class in
``type(obj).__mro__`` with a registered function wins.  Support for pandas
and pyarrow is registered lazily, the first time an object whose class comes
from those packages is measured, so ``sizeof`` never imports them itself.
If a measuring function raises, ``sizeof`` falls back to ``sys.getsizeof``,
and to a fixed 1 KiB if that fails too.
"""

from __future__ import annotations

import itertools
import sys
import threading

from teem.core.dispatch import TypeRegistry

__all__ = ["sizeof"]

#: What ``sizeof`` returns when an object cannot be measured at all.
FALLBACK_NBYTES = 1024

#: Elements of a Python container measured before extrapolating.
CONTAINER_SAMPLE = 10

#: Cells of a column of Python objects measured before extrapolating.
OBJECT_SAMPLE = 100

#: Nested containers one top-level call measures element by element; deeper
#: or further ones count only their own ``sys.getsizeof``.
MAX_CONTAINER_VISITS = 1000


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------


# A broken optional package must not break measuring: its types are measured generically.
_registry = TypeRegistry(ignore_lazy_errors=True)
_cache = _registry.cache


def sizeof(obj) -> int:
    """Return an estimate of the bytes of memory *obj* holds.

    Fast (it samples large collections of Python objects, see the module
    docstring) and never raises: an object that cannot be measured counts as
    ``sys.getsizeof(obj)``, or 1 KiB if even that fails.

    Extend it with ``sizeof.register(type)`` (a decorator) and
    ``sizeof.register_lazy("module")``.

    Parameters
    ----------
    obj : object
        Anything.

    Returns
    -------
    int
        A non-negative number of bytes.

    Example
    -------
    >>> import numpy as np
    >>> sizeof(np.zeros(1000))
    8000
    """
    try:
        func = _cache.get(type(obj))
        if func is None:
            func = _registry.dispatch(type(obj))
        return max(int(func(obj)), 0)
    except Exception:
        try:
            return sys.getsizeof(obj)
        except Exception:
            return FALLBACK_NBYTES


sizeof.register = _registry.register
sizeof.register_lazy = _registry.register_lazy
sizeof.dispatch = _registry.dispatch


# ---------------------------------------------------------------------------
# Python builtins
# ---------------------------------------------------------------------------

_state = threading.local()


def _guarded(obj, measure_contents):
    """Return ``measure_contents(obj)``, bounding recursion and breaking cycles.

    A container already being measured further up the stack counts 0 (its
    bytes are counted there).  Once a top-level call has visited
    ``MAX_CONTAINER_VISITS`` containers, further ones count only their own
    ``sys.getsizeof``.
    """
    active = getattr(_state, "active", None)
    if active is None:
        active = _state.active = set()
    key = id(obj)  # identifies objects on the stack only; they stay alive meanwhile
    if key in active:
        return 0
    if not active:
        _state.visits = 0
    elif _state.visits >= MAX_CONTAINER_VISITS:
        return sys.getsizeof(obj)
    _state.visits += 1
    active.add(key)
    try:
        return measure_contents(obj)
    finally:
        active.discard(key)


def _evenly_spaced(n, k):
    """Up to *k* distinct indices spread evenly over ``range(n)``."""
    if n <= k:
        return range(n)
    return [i * n // k for i in range(k)]


def _sequence_contents(seq):
    n = len(seq)
    total = sys.getsizeof(seq)
    if n:
        sample = [seq[i] for i in _evenly_spaced(n, CONTAINER_SAMPLE)]
        total += sum(map(sizeof, sample)) * n // len(sample)
    return total


def _set_contents(items):
    n = len(items)
    total = sys.getsizeof(items)
    if n:
        sample = list(itertools.islice(items, CONTAINER_SAMPLE))
        total += sum(map(sizeof, sample)) * n // len(sample)
    return total


def _dict_contents(d):
    n = len(d)
    total = sys.getsizeof(d)
    if n:
        sample = list(itertools.islice(d.items(), CONTAINER_SAMPLE))
        measured = sum(sizeof(k) + sizeof(v) for k, v in sample)
        total += measured * n // len(sample)
    return total


@sizeof.register(object)
def _sizeof_object(obj):
    return sys.getsizeof(obj)


@sizeof.register((list, tuple))
def _sizeof_sequence(seq):
    return _guarded(seq, _sequence_contents) if seq else sys.getsizeof(seq)


@sizeof.register((set, frozenset))
def _sizeof_set(items):
    return _guarded(items, _set_contents) if items else sys.getsizeof(items)


@sizeof.register(dict)
def _sizeof_dict(d):
    return _guarded(d, _dict_contents) if d else sys.getsizeof(d)


@sizeof.register(memoryview)
def _sizeof_memoryview(view):
    return view.nbytes


# ``bytes``, ``bytearray`` and ``str`` are measured exactly by sys.getsizeof
# (the ``object`` function), which includes their payload.


# ---------------------------------------------------------------------------
# numpy
# ---------------------------------------------------------------------------


@sizeof.register_lazy("numpy")
def _register_numpy():
    import numpy as np

    @sizeof.register(np.ndarray)
    def _sizeof_ndarray(x):
        if 0 in x.strides:  # broadcast: count the memory the array really spans
            x = x[tuple(slice(None) if s else slice(1) for s in x.strides)]
        nbytes = int(x.nbytes)
        if x.dtype.hasobject and x.size:
            positions = np.asarray(_evenly_spaced(x.size, OBJECT_SAMPLE), dtype=np.intp)
            if x.dtype == object:
                nbytes += _object_payload([x.flat[positions].tolist()], [x.size])
            else:  # structured dtypes with object fields: just extrapolate sys.getsizeof
                sample = x.flat[positions]
                nbytes += sum(map(sys.getsizeof, sample.tolist())) * x.size // len(sample)
        return nbytes


def _object_payload(samples, lengths):
    """Estimate the bytes of the Python objects referenced by columns of cells.

    *samples* holds, per column, a list of sampled cells; *lengths* the
    column lengths.  Columns often reference a few objects many times (a
    column read with ``dtype=object`` from repeated strings): objects are
    deduplicated by identity, and if most sampled references are repeats the
    sample is assumed to contain every distinct object, so its size is not
    extrapolated.
    """
    unique = {}
    nsampled = 0
    for sample in samples:
        nsampled += len(sample)
        for cell in sample:
            unique[id(cell)] = cell
    if not nsampled:
        return 0
    measured = sum(map(sizeof, unique.values()))
    if 2 * len(unique) <= nsampled:
        return measured
    return measured * sum(lengths) // nsampled


# ---------------------------------------------------------------------------
# pandas
# ---------------------------------------------------------------------------


@sizeof.register_lazy("pandas")
def _register_pandas():
    import numpy as np
    import pandas as pd

    def holds_python_objects(dtype):
        if isinstance(dtype, np.dtype):
            return dtype == object
        return getattr(dtype, "storage", None) == "python"  # python-backed strings

    def sample_cells(values):
        """Sampled cells of an Index, Series or Categorical's categories."""
        positions = list(_evenly_spaced(len(values), OBJECT_SAMPLE))
        if isinstance(values, pd.Index):
            return values[positions].tolist()
        return values.iloc[positions].tolist()

    def payload(columns):
        """Bytes of the Python objects the object-like *columns* reference."""
        samples, lengths = [], []
        for column in columns:
            dtype = column.dtype
            if isinstance(dtype, pd.CategoricalDtype):
                column = dtype.categories
                dtype = column.dtype
            if holds_python_objects(dtype) and len(column):
                samples.append(sample_cells(column))
                lengths.append(len(column))
        return _object_payload(samples, lengths)

    @sizeof.register(pd.Index)
    def _sizeof_index(index):
        return int(index.memory_usage(deep=False)) + payload([index])

    @sizeof.register(pd.MultiIndex)
    def _sizeof_multiindex(index):
        return int(index.memory_usage(deep=False)) + payload(list(index.levels))

    @sizeof.register(pd.Series)
    def _sizeof_series(series):
        return (
            1000
            + sizeof(series.index)
            + int(series.memory_usage(index=False, deep=False))
            + payload([series])
        )

    @sizeof.register(pd.DataFrame)
    def _sizeof_dataframe(df):
        columns = [df.iloc[:, i] for i, dtype in enumerate(df.dtypes)
                   if holds_python_objects(dtype) or isinstance(dtype, pd.CategoricalDtype)]
        return (
            1000
            + sizeof(df.index)
            + sizeof(df.columns)
            + int(df.memory_usage(index=False, deep=False).sum())
            + payload(columns)
        )


# ---------------------------------------------------------------------------
# pyarrow
# ---------------------------------------------------------------------------


@sizeof.register_lazy("pyarrow")
def _register_pyarrow():
    import pyarrow as pa

    @sizeof.register((pa.Array, pa.ChunkedArray, pa.RecordBatch, pa.Table))
    def _sizeof_arrow(data):
        total = getattr(data, "get_total_buffer_size", None)
        return (total() if total is not None else data.nbytes) + 1000
