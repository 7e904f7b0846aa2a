"""SeedSequence trees: independent streams named by a path of integers.

A :class:`SeedTree` stores only the root entropy and a spawn key, so a graph
of a million random chunks holds a million small tuples, not a million
SeedSequence objects; each task builds its own SeedSequence when it runs.
"""

from __future__ import annotations

import itertools
import threading

import numpy as np

__all__ = ["SeedTree", "block_generator", "block_random_state", "BIT_GENERATORS"]

#: Bit generators a tree can drive, by name (names travel in tasks; classes need not).
BIT_GENERATORS = {
    "PCG64": np.random.PCG64,
    "PCG64DXSM": np.random.PCG64DXSM,
    "MT19937": np.random.MT19937,
    "Philox": np.random.Philox,
    "SFC64": np.random.SFC64,
}


class SeedTree:
    """The root of a family of independent random streams.

    Parameters
    ----------
    seed:
        None (fresh entropy from the OS), an int, a sequence of ints, a
        ``numpy.random.SeedSequence``, or a ``numpy.random.Generator`` /
        ``BitGenerator`` (its seed sequence is used).

    Example
    -------
    >>> tree = SeedTree(1234)
    >>> branch = tree.next_branch()         # one per random call
    >>> ss = branch.leaf(7)                 # chunk number 7 of that call
    """

    __slots__ = ("entropy", "spawn_key", "pool_size", "_counter", "_lock")

    def __init__(self, seed=None, *, spawn_key: tuple = (), pool_size: int = 4):
        if isinstance(seed, np.random.Generator):
            seed = seed.bit_generator
        if isinstance(seed, np.random.BitGenerator):
            seed = getattr(seed, "seed_seq", None) or np.random.SeedSequence(
                np.asarray(seed.random_raw(4), dtype=np.uint64))
        if isinstance(seed, np.random.SeedSequence):
            entropy, spawn_key, pool_size = seed.entropy, tuple(seed.spawn_key) + spawn_key, seed.pool_size
        elif isinstance(seed, SeedTree):
            entropy, spawn_key, pool_size = seed.entropy, seed.spawn_key + spawn_key, seed.pool_size
        else:
            entropy = np.random.SeedSequence(seed).entropy
        self.entropy = entropy
        self.spawn_key = tuple(int(k) for k in spawn_key)
        self.pool_size = pool_size
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def next_branch(self) -> "SeedTree":
        """A new independent sub-tree: the next child in spawn order."""
        with self._lock:
            i = next(self._counter)
        return SeedTree(self.entropy, spawn_key=self.spawn_key + (i,), pool_size=self.pool_size)

    def leaf(self, index: int) -> np.random.SeedSequence:
        """The seed sequence of child ``index`` (as ``spawn`` would have made it)."""
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key + (int(index),),
                                      pool_size=self.pool_size)

    def state(self) -> tuple:
        """A small picklable description of this tree (entropy, spawn key, pool size)."""
        return (self.entropy, self.spawn_key, self.pool_size)

    def __teem_tokenize__(self):
        return ("teem.SeedTree",) + self.state()

    def __repr__(self) -> str:
        return f"SeedTree(entropy={self.entropy}, spawn_key={self.spawn_key})"


def _leaf(state: tuple, index: int) -> np.random.SeedSequence:
    entropy, spawn_key, pool_size = state
    return np.random.SeedSequence(entropy, spawn_key=spawn_key + (index,), pool_size=pool_size)


def block_generator(state: tuple, index: int, bit_generator: str = "PCG64") -> np.random.Generator:
    """A ``numpy.random.Generator`` for block ``index`` of the tree described by ``state``."""
    return np.random.Generator(BIT_GENERATORS[bit_generator](_leaf(state, index)))


def block_random_state(state: tuple, index: int) -> np.random.RandomState:
    """A legacy ``numpy.random.RandomState`` (MT19937) for block ``index`` of the tree."""
    return np.random.RandomState(np.random.MT19937(_leaf(state, index)))
