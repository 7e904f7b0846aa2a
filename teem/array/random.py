"""Random arrays whose every chunk has its own independent stream.

``default_rng(seed)`` gives a :class:`Generator` with numpy's Generator
methods (``normal``, ``uniform``, ``integers``, ``choice`` ...) plus
``chunks=``; ``RandomState(seed)`` gives numpy's legacy methods (``randint``,
``random_sample`` ...) and their distributions; module functions
(``normal``, ``uniform``, ``random``, ``randint`` ...) use a module-wide
Generator seeded from the OS (``seed(n)`` reseeds it).

Each call takes the next branch of the object's :class:`teem.random.SeedTree`
and chunk ``i`` (C order over blocks) draws from leaf ``i`` of that branch:
streams spawned from one ``SeedSequence``, so chunks never share numbers, and
the same seed and chunks give the same array on every scheduler and worker
count.  Nothing is drawn while the graph is built.
"""

from __future__ import annotations

import math
import threading
from itertools import product
from typing import Any

import numpy as np

from teem.core.task import Ref, Task
from teem.core.tokenize import tokenize
from teem.random import SeedTree, block_generator, block_random_state
from teem.array.chunks import normalize_chunks, normalize_shape
from teem.array.core import Array, new_array

__all__ = ["Generator", "RandomState", "default_rng", "seed"]

_REQUIRED = object()

# name -> parameters before ``size`` (with defaults; _REQUIRED if none)
_COMMON = {
    "normal": (("loc", 0.0), ("scale", 1.0)),
    "uniform": (("low", 0.0), ("high", 1.0)),
    "standard_normal": (),
    "exponential": (("scale", 1.0),),
    "standard_exponential": (),
    "poisson": (("lam", 1.0),),
    "binomial": (("n", _REQUIRED), ("p", _REQUIRED)),
    "beta": (("a", _REQUIRED), ("b", _REQUIRED)),
    "gamma": (("shape", _REQUIRED), ("scale", 1.0)),
    "standard_gamma": (("shape", _REQUIRED),),
    "lognormal": (("mean", 0.0), ("sigma", 1.0)),
    "chisquare": (("df", _REQUIRED),),
    "geometric": (("p", _REQUIRED),),
    "laplace": (("loc", 0.0), ("scale", 1.0)),
    "logistic": (("loc", 0.0), ("scale", 1.0)),
    "gumbel": (("loc", 0.0), ("scale", 1.0)),
    "pareto": (("a", _REQUIRED),),
    "power": (("a", _REQUIRED),),
    "rayleigh": (("scale", 1.0),),
    "standard_cauchy": (),
    "standard_t": (("df", _REQUIRED),),
    "triangular": (("left", _REQUIRED), ("mode", _REQUIRED), ("right", _REQUIRED)),
    "vonmises": (("mu", _REQUIRED), ("kappa", _REQUIRED)),
    "wald": (("mean", _REQUIRED), ("scale", _REQUIRED)),
    "weibull": (("a", _REQUIRED),),
    "zipf": (("a", _REQUIRED),),
    "negative_binomial": (("n", _REQUIRED), ("p", _REQUIRED)),
    "noncentral_chisquare": (("df", _REQUIRED), ("nonc", _REQUIRED)),
    "f": (("dfnum", _REQUIRED), ("dfden", _REQUIRED)),
    "noncentral_f": (("dfnum", _REQUIRED), ("dfden", _REQUIRED), ("nonc", _REQUIRED)),
    "hypergeometric": (("ngood", _REQUIRED), ("nbad", _REQUIRED), ("nsample", _REQUIRED)),
    "logseries": (("p", _REQUIRED),),
}
_GENERATOR_ONLY = {
    "random": (),
    "integers": (("low", _REQUIRED), ("high", None)),
}
_LEGACY_ONLY = {
    "random_sample": (),
    "randint": (("low", _REQUIRED), ("high", None)),
}


def _random_block(state, index, legacy, bit_generator, method, shape, kwargs, *args):
    rng = block_random_state(state, index) if legacy else block_generator(state, index, bit_generator)
    return getattr(rng, method)(*args, size=shape, **kwargs)


def _choice_block(state, index, legacy, bit_generator, shape, a, replace, p, kwargs):
    rng = block_random_state(state, index) if legacy else block_generator(state, index, bit_generator)
    return rng.choice(a, size=shape, replace=replace, p=p, **kwargs)


class _Base:
    """What Generator and RandomState share: turning a method call into chunked tasks."""

    _legacy = False

    def __init__(self, seed: Any = None, bit_generator: str = "PCG64"):
        self._tree = SeedTree(seed)
        self._bit_generator = bit_generator if isinstance(bit_generator, str) else bit_generator.__name__

    def seed(self, seed: Any = None) -> None:
        """Start over from ``seed``: the same calls then give the same arrays again."""
        self._tree = SeedTree(seed)

    def _meta_dtype(self, method: str, args: list, kwargs: dict) -> np.dtype:
        rng = np.random.RandomState(0) if self._legacy else np.random.default_rng(0)
        metas = [np.ones((), a.dtype) if isinstance(a, Array) else
                 (np.asarray(a).reshape(-1)[:1].reshape(()) if np.ndim(a) else a) for a in args]
        try:
            return np.asarray(getattr(rng, method)(*metas, size=(1,), **kwargs)).dtype
        except Exception:  # noqa: BLE001 - a parameter outside its domain in the probe
            return np.dtype(np.float64) if method not in ("integers", "randint") else np.dtype(np.int64)

    def _wrap(self, method: str, params: tuple, args: tuple, kwargs: dict) -> Array:
        args = list(args)
        values = []
        for i, (pname, default) in enumerate(params):
            if i < len(args):
                values.append(args[i])
            elif pname in kwargs:
                values.append(kwargs.pop(pname))
            elif default is _REQUIRED:
                raise TypeError(f"{method}() is missing its required argument {pname!r}")
            else:
                values.append(default)
        rest = args[len(params):]
        size = rest[0] if rest else kwargs.pop("size", None)
        chunks = rest[1] if len(rest) > 1 else kwargs.pop("chunks", "auto")
        if method in ("integers", "randint") and values[1] is None:
            values = [0, values[0]]
        arrays = [v for v in values if isinstance(v, Array) or (isinstance(v, np.ndarray) and v.ndim)]
        if size is None:
            shapes = [np.shape(v) if not isinstance(v, Array) else v.shape for v in arrays]
            size = np.broadcast_shapes(*shapes) if shapes else ()
        size = normalize_shape(size)
        dtype = self._meta_dtype(method, values, kwargs)
        chunks = normalize_chunks(chunks, size, dtype=dtype)
        operands = []
        deps_arrays = []
        for v in values:
            if isinstance(v, (Array, np.ndarray)) and np.ndim(v):
                from teem.array.creation import asarray
                from teem.array.manipulation import broadcast_to
                v = broadcast_to(asarray(v), size).rechunk(chunks)
                deps_arrays.append(v)
            operands.append(v)
        branch = self._tree.next_branch()
        state = branch.state()
        name = f"{method}-{tokenize(state, self._legacy, self._bit_generator, method, [v.name if isinstance(v, Array) else v for v in operands], size, chunks, kwargs)}"
        numblocks = tuple(len(c) for c in chunks)
        layer = {}
        for flat, idx in enumerate(product(*map(range, numblocks))):
            key = (name, *idx)
            shape = tuple(chunks[d][i] for d, i in enumerate(idx))
            task_args = []
            deps = []
            for v in operands:
                if isinstance(v, Array):
                    k = (v.name, *idx)
                    deps.append(k)
                    task_args.append(Ref(k))
                else:
                    task_args.append(v)
            layer[key] = Task(key, _random_block, (state, flat, self._legacy, self._bit_generator, method,
                                                   shape, kwargs, *task_args), None, tuple(deps))
        return new_array(layer, name, chunks, dtype, deps_arrays)

    def choice(self, a: Any, size: Any = None, replace: bool = True, p: Any = None, chunks: Any = "auto",
               **kwargs) -> Array:
        """Random samples from ``a`` (an int n means ``arange(n)``), chunk by chunk.

        Raises
        ------
        NotImplementedError
            For ``replace=False`` over more than one chunk (samples of
            different chunks could repeat); pass ``chunks=-1``.
        """
        if isinstance(a, Array):
            a = a.compute()
        if isinstance(p, Array):
            p = p.compute()
        if np.ndim(a) == 0:
            dtype = np.dtype(np.int64)
        else:
            a = np.asarray(a)
            dtype = a.dtype
        size = normalize_shape(size) if size is not None else ()
        chunks = normalize_chunks(chunks, size, dtype=dtype)
        if not replace and math.prod(len(c) for c in chunks) > 1:
            raise NotImplementedError("choice(replace=False) over several chunks could repeat values "
                                      "across chunks; pass chunks=-1 to sample in one chunk")
        state = self._tree.next_branch().state()
        name = f"choice-{tokenize(state, self._legacy, a, size, replace, p, chunks)}"
        layer = {}
        for flat, idx in enumerate(product(*map(range, map(len, chunks)))):
            key = (name, *idx)
            shape = tuple(chunks[d][i] for d, i in enumerate(idx))
            layer[key] = Task(key, _choice_block, (state, flat, self._legacy, self._bit_generator, shape, a,
                                                   replace, p, kwargs), None, ())
        return new_array(layer, name, chunks, dtype)

    def permutation(self, x: Any) -> Array:
        """A random permutation of ``arange(x)`` (an int) or of the first axis of ``x``."""
        from teem.array.creation import arange, asarray
        if isinstance(x, (int, np.integer)):
            x = arange(int(x))
        x = asarray(x)
        state = self._tree.next_branch().state()
        rng = block_random_state(state, 0) if self._legacy else block_generator(state, 0, self._bit_generator)
        index = np.arange(len(x))
        rng.shuffle(index)
        return x[index]


def _make_method(name: str, params: tuple):
    def method(self, *args, **kwargs):
        return self._wrap(name, params, args, kwargs)
    method.__name__ = name
    plist = ", ".join(p if d is _REQUIRED else f"{p}={d!r}" for p, d in params)
    method.__doc__ = (f"numpy's ``{name}({plist}{', ' if plist else ''}size=None)`` with "
                      "``chunks=`` (int, tuple, 'auto' or a byte size).\n\n"
                      "    Returns\n    -------\n    Array\n")
    return method


class Generator(_Base):
    """numpy's ``Generator`` API for chunked arrays; use :func:`default_rng`.

    Parameters
    ----------
    seed:
        None (from the OS), an int, a SeedSequence or a numpy Generator.
    bit_generator:
        ``'PCG64'`` (default), ``'PCG64DXSM'``, ``'MT19937'``, ``'Philox'`` or ``'SFC64'``.
    """

    def __repr__(self) -> str:
        return f"teem.array.random.Generator({self._bit_generator}, {self._tree!r})"


class RandomState(_Base):
    """numpy's legacy ``RandomState`` API for chunked arrays (legacy distributions).

    Chunks draw from MT19937 streams spawned from ``SeedSequence(seed)``, so
    they are independent; the numbers differ from ``numpy.random.RandomState(seed)``'s.

    Parameters
    ----------
    seed:
        None (from the OS), an int or a SeedSequence.
    """

    _legacy = True

    def __init__(self, seed: Any = None, RandomState: Any = None):
        super().__init__(seed, "MT19937")

    def __repr__(self) -> str:
        return f"teem.array.random.RandomState({self._tree!r})"


for _name, _params in {**_COMMON, **_GENERATOR_ONLY}.items():
    setattr(Generator, _name, _make_method(_name, _params))
for _name, _params in {**_COMMON, **_LEGACY_ONLY}.items():
    setattr(RandomState, _name, _make_method(_name, _params))
RandomState.random = RandomState.random_sample
Generator.random_sample = Generator.random


def default_rng(seed: Any = None) -> Generator:
    """A :class:`Generator` seeded with ``seed`` (a teem Generator is returned as is).

    Example
    -------
    >>> import teem.array as da
    >>> rng = da.random.default_rng(42)
    >>> x = rng.normal(0, 1, size=(1000, 1000), chunks=(250, 1000))
    """
    if isinstance(seed, Generator):
        return seed
    return Generator(seed)


_module_rng: Generator | None = None
_module_lock = threading.Lock()


def _rng() -> Generator:
    global _module_rng
    with _module_lock:
        if _module_rng is None:
            _module_rng = Generator()
        return _module_rng


def seed(value: Any = None) -> None:
    """Reseed the generator behind the module functions (``normal``, ``uniform`` ...)."""
    global _module_rng
    with _module_lock:
        _module_rng = Generator(value)


def _module_function(name: str):
    def func(*args, **kwargs):
        return getattr(_rng(), name)(*args, **kwargs)
    func.__name__ = name
    func.__doc__ = getattr(Generator, name).__doc__
    return func


for _name in list(_COMMON) + ["random", "integers", "choice", "permutation"]:
    globals()[_name] = _module_function(_name)
    __all__.append(_name)
random_sample = globals()["random"]
__all__.append("random_sample")


def randint(low: Any, high: Any = None, size: Any = None, chunks: Any = "auto", dtype: Any = np.int64,
            **kwargs) -> Array:
    """Random integers in ``[low, high)`` (``[0, low)`` if ``high`` is None), chunk by chunk."""
    return _rng().integers(low, high, size=size, chunks=chunks, dtype=dtype, **kwargs)


__all__.append("randint")
