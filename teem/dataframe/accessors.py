"""``Series.str`` and ``Series.dt``: pandas' accessors applied partition by partition."""

from __future__ import annotations

from teem.dataframe.partitionwise import partitionwise

__all__ = ["StringAccessor", "DatetimeAccessor"]


def _accessor_attribute(part, accessor: str, attr: str):
    return getattr(getattr(part, accessor), attr)


def _accessor_method(part, accessor: str, attr: str, args: tuple, kwargs: dict):
    return getattr(getattr(part, accessor), attr)(*args, **kwargs)


class _Accessor:
    """Forwards attributes and methods to pandas' accessor of every partition."""

    _accessor = ""

    def __init__(self, series):
        meta = series._meta
        try:
            getattr(meta, self._accessor)
        except AttributeError as e:
            raise AttributeError(f"the .{self._accessor} accessor needs {self._what} values; this Series "
                                 f"has dtype {meta.dtype}: {e}") from e
        self._series = series

    def __getattr__(self, attr: str):
        if attr.startswith("_"):
            raise AttributeError(attr)
        pandas_accessor = type(getattr(self._series._meta, self._accessor))
        found = getattr(pandas_accessor, attr, None)
        if found is None:
            raise AttributeError(f"pandas' .{self._accessor} accessor has no attribute {attr!r}")
        if isinstance(found, property) or not callable(found):
            return partitionwise(_accessor_attribute, self._series, self._accessor, attr,
                                 name=f"{self._accessor}-{attr}")

        def method(*args, **kwargs):
            return partitionwise(_accessor_method, self._series, self._accessor, attr, args, kwargs,
                                 name=f"{self._accessor}-{attr}")
        method.__name__ = attr
        method.__doc__ = getattr(found, "__doc__", None)
        return method

    def __dir__(self):
        return [a for a in dir(type(getattr(self._series._meta, self._accessor))) if not a.startswith("_")]


class StringAccessor(_Accessor):
    """``s.str.upper()``, ``s.str.len()``, ``s.str.contains('x')``, ... per partition."""

    _accessor = "str"
    _what = "string"


class DatetimeAccessor(_Accessor):
    """``s.dt.year``, ``s.dt.floor('h')``, ... per partition."""

    _accessor = "dt"
    _what = "datetime"
