"""Type -> function tables with lazy registration: the mechanism behind
``normalize_token`` (tokenize) and ``sizeof``.

A function registered for a type also serves its subclasses, unless a
subclass has its own.  Registrations for optional libraries (numpy, pandas,
pyarrow) are deferred with :meth:`TypeRegistry.register_lazy` until an object
from that library is first seen, so the library is never imported on its
behalf.  Resolved functions are cached by exact type; the callers read
:attr:`TypeRegistry.cache` directly on their hot path and call
:meth:`TypeRegistry.dispatch` only on a miss.
"""

from __future__ import annotations

import threading
from typing import Callable

__all__ = ["TypeRegistry"]


class TypeRegistry:
    """A type -> function table.

    Parameters
    ----------
    ignore_lazy_errors:
        Whether a lazy registration that raises is skipped (the types then get
        the generic function) rather than propagated to the caller.
    """

    def __init__(self, ignore_lazy_errors: bool = False):
        self.functions: dict[type, Callable] = {}  # as registered
        self.lazy: dict[str, Callable] = {}  # module prefix -> function that registers
        self.cache: dict[type, Callable] = {}  # exact type -> resolved; cleared by registrations
        self.lock = threading.RLock()
        self.ignore_lazy_errors = ignore_lazy_errors

    def register(self, types, func: Callable | None = None):
        """Register ``func`` for ``types`` (a type or tuple of types).

        Returns ``func``, or, if it is omitted, a decorator that registers
        and returns its argument.
        """

        def decorator(func):
            with self.lock:
                for cls in types if isinstance(types, tuple) else (types,):
                    self.functions[cls] = func
                self.cache.clear()
            return func

        return decorator if func is None else decorator(func)

    def register_lazy(self, module: str):
        """Decorator deferring a no-argument registering function until an object
        whose class (or a base) is defined in ``module`` or a submodule is first seen."""

        def decorator(func):
            with self.lock:
                self.lazy[module] = func
                self.cache.clear()
            return func

        return decorator

    def dispatch(self, cls: type) -> Callable:
        """The function for instances of ``cls`` (running due lazy registrations)."""
        with self.lock:
            self._run_lazy_registrations(cls)
            func = self.resolve(cls)
            self.cache[cls] = func
            return func

    def resolve(self, cls: type) -> Callable:
        """The registered function of the nearest class in ``cls``'s MRO.

        Subclasses may override it to consult hooks on the class first.
        """
        for base in cls.__mro__:
            if base in self.functions:
                return self.functions[base]
        raise LookupError(f"nothing registered for {cls!r}, not even for object")

    def _run_lazy_registrations(self, cls: type) -> None:
        # Loop: a registration may itself add lazy registrations for this class's modules.
        while self.lazy:
            modules = [getattr(base, "__module__", None) or "" for base in cls.__mro__]
            due = [prefix for prefix in self.lazy
                   if any(m == prefix or m.startswith(prefix + ".") for m in modules)]
            if not due:
                return
            for prefix in due:
                register = self.lazy.pop(prefix)
                try:
                    register()
                except Exception:
                    if not self.ignore_lazy_errors:
                        raise
