"""Every operation against numpy, on random shapes and chunkings, on the three local schedulers.

Each case draws a shape and a chunking from a seeded generator (so failures
reproduce), builds the teem expression and the numpy one, and compares.
"""

import numpy as np
import pytest

import teem.array as da

SCHEDULERS = ["sync", "threads", "processes"]


def random_chunks(rng, shape):
    """A random chunking of ``shape``: irregular block lengths, sometimes one block."""
    out = []
    for n in shape:
        if n == 0 or rng.random() < 0.2:
            out.append((n,))
            continue
        cuts = sorted(set(rng.integers(1, n, size=rng.integers(0, min(n, 4))).tolist())) if n > 1 else []
        edges = [0, *cuts, n]
        out.append(tuple(b - a for a, b in zip(edges, edges[1:])))
    return tuple(out)


def random_array(rng, ndim=None, dtype=float, low=1, high=9):
    ndim = rng.integers(1, 4) if ndim is None else ndim
    shape = tuple(int(s) for s in rng.integers(low, high, size=ndim))
    a = rng.standard_normal(shape).astype(dtype) if dtype != int else rng.integers(-5, 5, size=shape)
    return a, da.from_array(a, chunks=random_chunks(rng, shape))


def cases(n):
    return [(seed, SCHEDULERS[seed % 3]) for seed in range(n)]


@pytest.mark.parametrize("seed, scheduler", cases(12))
def test_elementwise_broadcasting_across_chunkings(seed, scheduler):
    rng = np.random.default_rng(seed)
    a, x = random_array(rng, ndim=rng.integers(1, 4))
    # b broadcasts against a: trailing dims, some of length 1, chunked differently
    bshape = tuple(1 if rng.random() < 0.3 else n for n in a.shape[rng.integers(0, a.ndim):])
    b = rng.standard_normal(bshape)
    y = da.from_array(b, chunks=random_chunks(rng, bshape))
    expr = (x + y) * 2 - abs(x) / (1 + y ** 2) + 3
    out = expr.compute(scheduler=scheduler)
    np.testing.assert_allclose(out, (a + b) * 2 - abs(a) / (1 + b ** 2) + 3)
    np.testing.assert_allclose(da.exp(np.sin(x)).compute(scheduler=scheduler), np.exp(np.sin(a)))
    np.testing.assert_array_equal(da.where(x > 0, x, y).compute(scheduler=scheduler), np.where(a > 0, a, b))
    np.testing.assert_array_equal((x > y).compute(scheduler=scheduler), a > b)
    np.testing.assert_array_equal(x.clip(-0.5, 0.5).compute(scheduler=scheduler), a.clip(-0.5, 0.5))
    np.testing.assert_array_equal(x.astype("f4").compute(scheduler=scheduler), a.astype("f4"))
    np.testing.assert_array_equal((x + b).compute(scheduler=scheduler), a + b)  # numpy operand
    np.testing.assert_array_equal((b - x).compute(scheduler=scheduler), b - a)


def test_elementwise_dtypes_follow_numpy():
    x = da.ones(4, chunks=2, dtype="f4")
    assert (x + 1).dtype == np.float32 and (x + 1).compute().dtype == np.float32
    assert (x > 0).dtype == bool
    i = da.arange(5, chunks=2)
    assert (i / 2).dtype == np.float64 and (i // 2).dtype == i.dtype
    assert da.isnan(x).dtype == bool
    n = da.from_array(np.array([1.0, np.nan, 3.0]), chunks=2)
    np.testing.assert_array_equal(da.isnan(n).compute(), [False, True, False])
    np.testing.assert_array_equal(da.nan_to_num(n).compute(), [1.0, 0.0, 3.0])
    assert da.isclose(x, 1).compute().all()


REDUCTIONS = ["sum", "mean", "std", "var", "min", "max", "prod", "any", "all", "argmin", "argmax",
              "nansum", "nanmean", "nanstd", "nanvar", "nanmin", "nanmax"]


def random_axis(rng, ndim, single=False):
    if single or rng.random() < 0.3:
        return None if rng.random() < 0.3 else int(rng.integers(-ndim, ndim))
    k = rng.integers(1, ndim + 1)
    return tuple(sorted(rng.choice(ndim, size=k, replace=False).tolist()))


@pytest.mark.parametrize("name", REDUCTIONS)
@pytest.mark.parametrize("seed", range(4))
def test_reductions_against_numpy(name, seed):
    rng = np.random.default_rng(seed * 100 + REDUCTIONS.index(name))
    a, x = random_array(rng)
    if name.startswith("nan"):
        a = a.copy()
        a[rng.random(a.shape) < 0.2] = np.nan
        x = da.from_array(a, chunks=x.chunks)
    axis = random_axis(rng, a.ndim, single=name.startswith("arg"))
    keepdims = bool(rng.random() < 0.3) and not name.startswith("arg")
    split_every = int(rng.integers(2, 5))
    scheduler = SCHEDULERS[seed % 3]
    kwargs = {"axis": axis}
    if keepdims:
        kwargs["keepdims"] = True
    result = getattr(da, name)(x, split_every=split_every, **kwargs)
    with np.errstate(all="ignore"), _nowarn():
        expected = getattr(np, name)(a, **kwargs)
        got = result.compute(scheduler=scheduler)
    assert result.shape == np.shape(expected)
    assert result.dtype == np.asarray(expected).dtype, (result.dtype, np.asarray(expected).dtype)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12, equal_nan=True)


class _nowarn:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        self._w.__exit__(*exc)


def test_reduction_dtype_and_ddof():
    a = np.arange(20, dtype="i4").reshape(4, 5)
    x = da.from_array(a, chunks=(3, 2))
    assert x.sum().dtype == a.sum().dtype
    assert x.sum(dtype="f4").compute().dtype == np.float32
    assert x.mean().dtype == np.float64
    np.testing.assert_allclose(x.std(ddof=1, axis=0).compute(), a.std(ddof=1, axis=0))
    np.testing.assert_allclose(da.var(x, ddof=2).compute(), a.var(ddof=2))
    f = da.ones((4, 4), chunks=2, dtype="f4")
    assert f.mean().dtype == np.float32 and f.std().dtype == np.float32
    assert da.count_nonzero(x).compute() == np.count_nonzero(a)


def test_argmin_ties_and_nan_like_numpy():
    a = np.array([[3.0, 1.0, 1.0, 5.0], [1.0, 7.0, np.nan, 1.0], [0.5, 0.5, 9.0, np.nan]])
    x = da.from_array(a, chunks=(2, 2))
    for axis in (None, 0, 1):
        assert np.array_equal(da.argmin(x, axis=axis).compute(), np.argmin(a, axis=axis))
        assert np.array_equal(da.argmax(x, axis=axis).compute(), np.argmax(a, axis=axis))
    b = np.array([[2, 1, 1], [1, 1, 0]])
    y = da.from_array(b, chunks=1)
    assert da.argmin(y).compute() == np.argmin(b) and da.argmax(y).compute() == np.argmax(b)


def test_reduction_tree_has_bounded_fan_in():
    x = da.ones((64, 64), chunks=(4, 4))
    s = x.sum(split_every=4)
    graph = s.dask
    assert max(len(t.dependencies) for t in graph.values()) <= 4
    assert s.compute() == 64 * 64


@pytest.mark.parametrize("seed", range(6))
def test_cumulative(seed):
    rng = np.random.default_rng(seed)
    a, x = random_array(rng, dtype=int)
    axis = int(rng.integers(0, a.ndim))
    scheduler = SCHEDULERS[seed % 3]
    np.testing.assert_array_equal(x.cumsum(axis=axis).compute(scheduler=scheduler), a.cumsum(axis=axis))
    np.testing.assert_array_equal(da.cumprod(x, axis=axis).compute(scheduler=scheduler), a.cumprod(axis=axis))
    np.testing.assert_array_equal(da.cumsum(x).compute(scheduler=scheduler), a.cumsum())
