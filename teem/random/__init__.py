"""Seedable, splittable random streams for the collections.

One :class:`SeedTree` per seeded object (``teem.array.random.default_rng(42)``).
Every call on it takes the next branch, and every chunk of that call the leaf
with its block number: ``SeedSequence(entropy, spawn_key=(call, block))``,
exactly what ``SeedSequence(entropy).spawn(...)`` would hand out.  The streams
are statistically independent (seed 001 section 8), and a chunk's numbers
depend only on the seed, the call's place and the block number -- never on
the scheduler, the worker count or the order the chunks run in.
"""

from teem.random.streams import SeedTree, block_generator, block_random_state

__all__ = ["SeedTree", "block_generator", "block_random_state"]
