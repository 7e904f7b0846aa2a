"""The futures one client holds, by key, without keeping them alive."""

from __future__ import annotations

from weakref import ref

__all__ = ["FutureRegistry"]


class FutureRegistry:
    """``key -> weak reference to the live Future``; one live future per key.

    Cheaper than ``weakref.WeakValueDictionary`` (no callback per entry): an entry
    whose future died stays until :meth:`prune` is called for its key, which the
    client does when it releases that key.  Reads need no lock; callers
    serialise ``add`` with their own lock where check-then-add must be atomic.
    """

    __slots__ = ("_refs",)

    def __init__(self):
        self._refs: dict = {}

    def get(self, key):
        r = self._refs.get(key)
        if r is None:
            return None
        future = r()
        # A future being finalized is still reachable through its weak reference (which
        # is cleared only after __del__): it counts as gone.
        return None if future is None or future._dying else future

    def add(self, future) -> None:
        self._refs[future.key] = ref(future)

    def remove(self, future) -> None:
        """Forget ``future`` (if it is the one registered for its key)."""
        r = self._refs.get(future.key)
        if r is not None and r() is future:
            del self._refs[future.key]

    def prune(self, keys) -> list:
        """Drop dead entries of ``keys``; return those keys no live future holds."""
        out = []
        refs = self._refs
        for key in keys:
            r = refs.get(key)
            if r is None:
                out.append(key)
                continue
            future = r()
            if future is None or future._dying:
                del refs[key]
                out.append(key)
        return out

    def live(self) -> list:
        return [f for f in (r() for r in list(self._refs.values())) if f is not None and not f._dying]

    def __contains__(self, key) -> bool:
        return self.get(key) is not None
