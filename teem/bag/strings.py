"""``Bag.str``: string methods applied to every element, as in ``dask.bag``.

``b.str.lower()`` is ``b.map(str.lower)``; any method of ``str`` works the same
way (``strip``, ``split``, ``startswith``, ``replace``, ...).  ``match`` is the
one exception, kept from Dask: it *filters*, keeping the strings matching a
shell-style pattern (``fnmatch``).
"""

from __future__ import annotations

import fnmatch
from operator import methodcaller

__all__ = ["StringAccessor"]


def _matches(s: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(s, pattern)


class StringAccessor:
    """String methods over the elements of a bag (see the module docstring)."""

    __slots__ = ("_bag",)

    def __init__(self, bag):
        self._bag = bag

    def __dir__(self):
        return sorted(set(dir(type(self))) | {m for m in dir(str) if not m.startswith("_")})

    def __getattr__(self, name: str):
        if name.startswith("_") or not hasattr(str, name):
            raise AttributeError(f"'str' has no method {name!r}, so Bag.str has none either")
        bag = self._bag

        def method(*args, **kwargs):
            return bag.map(methodcaller(name, *args, **kwargs))
        method.__name__ = name
        method.__doc__ = f"``str.{name}`` of every element (see :meth:`str.{name}`)."
        return method

    def match(self, pattern: str):
        """Keep the strings matching the shell-style ``pattern`` (``fnmatch``, case-sensitive).

        Example
        -------
        >>> import teem.bag as db
        >>> db.from_sequence(["Alice", "Bob", "Alan"]).str.match("Al*").compute(scheduler="sync")
        ['Alice', 'Alan']
        """
        return self._bag.filter(_matches, pattern)
