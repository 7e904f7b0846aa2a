"""Lossless compact storage of parsed frames, for the parsed-partition cache.

A parsed CSV partition is mostly int64 and float64 columns holding small
numbers, and text columns repeating a few values (carriers, airports, tail
numbers).  Kept as parsed, twelve months of flights take ~850 MB; stored
compactly they take a third of that, and come back *identical* (same dtypes,
same values, same missing values):

- an int64 (or other integer) column whose values fit a narrower integer type
  is stored in it;
- a float64 column of whole numbers (delays, times, distances) is stored as
  the smallest integer type holding them, its minimum standing for NaN;
  else, if every value survives a round trip through float32 (NaN
  included), as float32;
- a text column with at most half as many distinct values as rows is stored as
  codes plus the distinct values (an object column only when every value is a
  ``str`` and every missing value is NaN, so nothing is lost).

Those numbers and codes are then zstd-packed (level 1) when that saves a
quarter or more: about 2x on the real flights (29k rows a month), at ~1 ms a
column to unpack.  Other columns and the index are kept as they are.
:meth:`CompactFrame.restore` rebuilds only the columns asked for, so a hit
for one column costs one column's conversion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CompactFrame", "Packed"]

_INTS = (np.int8, np.int16, np.int32)
_CODEC: list = []


def zstd_codec():
    """pyarrow's zstd codec at level 1 (~200 MB/s packing text, ~3.4x on CSV), or None without it."""
    if not _CODEC:
        try:
            import pyarrow
            _CODEC.append(pyarrow.Codec("zstd", compression_level=1))
        except (ImportError, ValueError):  # no pyarrow, or one built without zstd
            _CODEC.append(None)
    return _CODEC[0]


class Packed:
    """Bytes or a 1-d numpy array, zstd-packed if that saves a quarter or more; ``unpack`` gives it back."""

    __slots__ = ("payload", "size", "dtype", "packed")

    def __init__(self, data):
        self.dtype = getattr(data, "dtype", None)  # None: bytes
        if self.dtype is not None:
            data = np.ascontiguousarray(data)
        self.size = memoryview(data).nbytes
        codec = zstd_codec()
        packed = None if codec is None else codec.compress(data, asbytes=True)
        self.packed = packed is not None and len(packed) * 4 <= self.size * 3
        self.payload = packed if self.packed else data

    @property
    def nbytes(self) -> int:
        return len(self.payload) if self.packed else self.size

    def unpack(self):
        """The data (an array read-only when it was packed)."""
        if not self.packed:
            return self.payload
        raw = zstd_codec().decompress(self.payload, decompressed_size=self.size, asbytes=True)
        return raw if self.dtype is None else np.frombuffer(raw, dtype=self.dtype)


class _Narrow:
    """A numeric column stored in a smaller dtype; ``restore`` casts back."""

    __slots__ = ("values", "dtype")

    def __init__(self, values: np.ndarray, dtype):
        self.values, self.dtype = Packed(values), dtype

    @property
    def nbytes(self) -> int:
        return self.values.nbytes

    def restore(self, index, name) -> pd.Series:
        return pd.Series(self.values.unpack().astype(self.dtype), index=index, name=name, copy=False)


class _WholeFloats:
    """A float64 column of whole numbers (and NaN) as small integers; NaN is the type's minimum."""

    __slots__ = ("values",)

    def __init__(self, values: np.ndarray):
        self.values = Packed(values)

    @property
    def nbytes(self) -> int:
        return self.values.nbytes

    def restore(self, index, name) -> pd.Series:
        values = self.values.unpack()
        out = values.astype(np.float64)
        out[values == np.iinfo(values.dtype).min] = np.nan
        return pd.Series(out, index=index, name=name, copy=False)


def _whole_floats(values: np.ndarray):
    """``values`` (float64) as small integers if they are whole numbers (no -0.0, no inf), else None."""
    present = values[~np.isnan(values)]
    if not len(present):
        return None
    low, high = present.min(), present.max()
    for t in _INTS:
        info = np.iinfo(t)
        if info.min < low and high <= info.max:  # the minimum itself stands for NaN
            break
    else:
        return None
    if not np.array_equal(present, np.trunc(present)) or np.signbit(present[present == 0]).any():
        return None
    return np.where(np.isnan(values), np.iinfo(t).min, values).astype(t)


class _Coded:
    """A text column as codes into its distinct values (-1: missing)."""

    __slots__ = ("codes", "uniques", "dtype")

    def __init__(self, codes: np.ndarray, uniques, dtype):
        self.codes, self.uniques, self.dtype = Packed(codes), uniques, dtype

    @property
    def nbytes(self) -> int:
        size = sum(len(u) + 49 for u in self.uniques) if isinstance(self.uniques, np.ndarray) else \
            self.uniques.nbytes
        return self.codes.nbytes + int(size)

    def restore(self, index, name) -> pd.Series:
        codes = self.codes.unpack().astype(np.intp)
        if isinstance(self.uniques, np.ndarray):  # object: NaN where missing
            if len(self.uniques):
                values = self.uniques.take(np.maximum(codes, 0))
                values[codes < 0] = np.nan
            else:
                values = np.full(len(codes), np.nan, dtype=object)
        else:
            values = self.uniques.take(codes, allow_fill=True)
        return pd.Series(values, index=index, name=name, dtype=self.dtype, copy=False)


class _Kept:
    """A column stored as it is."""

    __slots__ = ("series",)

    def __init__(self, series: pd.Series):
        self.series = series

    @property
    def nbytes(self) -> int:
        return _series_nbytes(self.series)

    def restore(self, index, name) -> pd.Series:
        return self.series.copy(deep=False)


def _series_nbytes(s: pd.Series) -> int:
    if s.dtype == object and len(s):
        values = s.to_numpy()
        step = max(len(values) // 256, 1)
        sample = values[::step]
        per = sum(v.__sizeof__() for v in sample) / len(sample)
        return int(len(values) * (per + 8))
    return int(s.memory_usage(index=False, deep=True))


def _smallest_int(values: np.ndarray):
    if not len(values):
        return None
    low, high = values.min(), values.max()
    for t in _INTS:
        if np.dtype(t).itemsize >= values.dtype.itemsize:
            return None
        info = np.iinfo(t)
        if info.min <= low and high <= info.max:
            return t
    return None


def _codes_dtype(n: int):
    for t in _INTS:
        if n < np.iinfo(t).max:
            return t
    return np.int64


def _compact_column(s: pd.Series):
    dtype = s.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iu":
        values = s.to_numpy()
        small = _smallest_int(values) if dtype.kind == "i" else None
        return _Narrow(values.astype(small), dtype) if small is not None else _Kept(s)
    if isinstance(dtype, np.dtype) and dtype == np.float64:
        values = s.to_numpy()
        whole = _whole_floats(values)
        if whole is not None:
            return _WholeFloats(whole)
        narrow = values.astype(np.float32)
        with np.errstate(invalid="ignore"):
            exact = np.array_equal(narrow.astype(np.float64), values, equal_nan=True)
        return _Narrow(narrow, dtype) if exact else _Kept(s)
    if dtype == object or isinstance(dtype, pd.StringDtype):
        return _code_text(s)
    return _Kept(s)


def _code_text(s: pd.Series):
    n = len(s)
    if n < 16:
        return _Kept(s)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    if len(uniques) * 2 > n:
        return _Kept(s)
    if s.dtype == object:
        if not all(type(u) is str for u in uniques):
            return _Kept(s)  # numbers, bytes, mixed: equal values of different types would merge
        missing = codes < 0
        if missing.any() and not set(map(type, s.to_numpy()[missing])) <= {float}:
            return _Kept(s)  # None or pd.NA would come back as NaN
        uniques = np.asarray(uniques, dtype=object)
    return _Coded(codes.astype(_codes_dtype(len(uniques))), uniques, s.dtype)


class CompactFrame:
    """A DataFrame stored compactly and losslessly (see the module docstring)."""

    __slots__ = ("index", "columns", "parts", "nbytes")

    def __init__(self, index: pd.Index, columns: pd.Index, parts: list):
        self.index, self.columns, self.parts = index, columns, parts
        self.nbytes = int(index.memory_usage(deep=False)) + sum(p.nbytes for p in parts)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> "CompactFrame":
        """``frame`` in compact form (the frame itself is not changed)."""
        if not frame.columns.is_unique:
            return cls(frame.index, frame.columns, [_Kept(frame.iloc[:, j]) for j in range(frame.shape[1])])
        return cls(frame.index, frame.columns, [_compact_column(frame[c]) for c in frame.columns])

    def restore(self, columns: list | None = None) -> pd.DataFrame:
        """The frame, or only ``columns`` of it, in their given order."""
        if columns is None:
            positions = range(len(self.columns))
        else:
            where = {c: j for j, c in enumerate(self.columns)}
            positions = [where[c] for c in columns]
        data = {}
        for k, j in enumerate(positions):
            data[k] = self.parts[j].restore(self.index, self.columns[j])
        out = pd.DataFrame(data, index=self.index, copy=False)
        out.columns = self.columns[list(positions)] if columns is not None else self.columns
        return out
