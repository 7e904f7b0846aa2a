"""Indexing, rechunk, reshape, transpose, concatenate/stack, squeeze, expand_dims against numpy."""

import math

import numpy as np
import pytest

import teem.array as da
from test_array_ops import SCHEDULERS, random_array, random_chunks


def random_slice(rng, n):
    start = int(rng.integers(-n - 2, n + 2)) if rng.random() < 0.7 else None
    stop = int(rng.integers(-n - 2, n + 2)) if rng.random() < 0.7 else None
    step = int(rng.choice([1, 1, 2, 3, -1, -2])) if rng.random() < 0.6 else None
    return slice(start, stop, step)


@pytest.mark.parametrize("seed", range(40))
def test_basic_slicing(seed):
    rng = np.random.default_rng(seed)
    a, x = random_array(rng, high=12)
    index = []
    for n in a.shape:
        r = rng.random()
        if r < 0.25:
            index.append(int(rng.integers(-n, n)))
        elif r < 0.35:
            index.append(None)
            index.append(random_slice(rng, n))
        else:
            index.append(random_slice(rng, n))
    if rng.random() < 0.3:
        index = index[:1] + [Ellipsis]
    index = tuple(index)
    expected = a[index]
    got = x[index]
    assert got.shape == expected.shape, index
    np.testing.assert_array_equal(got.compute(scheduler=SCHEDULERS[seed % 3]), expected)


@pytest.mark.parametrize("seed", range(12))
def test_integer_list_and_numpy_bool_indexing(seed):
    rng = np.random.default_rng(seed)
    a, x = random_array(rng, high=10)
    axis = int(rng.integers(0, a.ndim))
    n = a.shape[axis]
    idx = rng.integers(-n, n, size=int(rng.integers(0, 2 * n + 1)))
    if rng.random() < 0.3:
        idx = np.sort(idx)
    index = (slice(None),) * axis + (idx.tolist(),)
    np.testing.assert_array_equal(x[index].compute(scheduler=SCHEDULERS[seed % 3]), a[index])
    mask = rng.random(n) < 0.5
    index = (slice(None),) * axis + (mask,)
    got = x[index]
    assert got.shape == a[index].shape  # a numpy mask: sizes known
    np.testing.assert_array_equal(got.compute(), a[index])
    # a list with slices in other dims
    sl = tuple(slice(1, None) if d != axis else idx.tolist() for d in range(a.ndim))
    np.testing.assert_array_equal(x[sl].compute(), a[sl])


@pytest.mark.parametrize("seed", range(8))
def test_boolean_teem_mask(seed):
    rng = np.random.default_rng(seed)
    a, x = random_array(rng, high=9)
    got = x[x > 0]
    assert math.isnan(got.shape[0])
    np.testing.assert_array_equal(got.compute(scheduler=SCHEDULERS[seed % 3]), a[a > 0])
    m = a[(0,) * (a.ndim - 1)] > 0 if a.ndim > 1 else a > 0
    mask = da.from_array(m, chunks=random_chunks(rng, m.shape))
    index = (slice(None),) * (a.ndim - 1) + (mask,)
    np.testing.assert_array_equal(x[index].compute(), a[(slice(None),) * (a.ndim - 1) + (m,)])
    assert got.compute_chunk_sizes().shape == a[a > 0].shape
    idx = da.nonzero(x > 0)
    np.testing.assert_array_equal(np.stack([i.compute() for i in idx]), np.stack(np.nonzero(a > 0)))


def test_index_errors():
    x = da.ones((4, 5), chunks=2)
    with pytest.raises(IndexError, match="out of bounds"):
        x[4]
    with pytest.raises(IndexError, match="too many"):
        x[0, 0, 0]
    with pytest.raises(TypeError, match="immutable"):
        x[0] = 1


@pytest.mark.parametrize("seed", range(12))
def test_rechunk(seed):
    rng = np.random.default_rng(seed)
    a, x = random_array(rng, high=15)
    new = random_chunks(rng, a.shape)
    y = x.rechunk(new)
    assert y.chunks == new
    np.testing.assert_array_equal(y.compute(scheduler=SCHEDULERS[seed % 3]), a)
    z = x.rechunk({0: -1})
    assert z.chunks[0] == (a.shape[0],)
    assert x.rechunk(x.chunks) is x
    np.testing.assert_array_equal(x.rechunk("auto").compute(), a)


RESHAPES = [((4, 6), (24,)), ((24,), (4, 6)), ((24,), (2, 3, 4)), ((2, 3, 4), (6, 4)), ((2, 3, 4), (2, 12)),
            ((4, 6), (6, 4)), ((4, 6, 5), (24, 5)), ((3, 1, 4), (12,)), ((12,), (3, 1, 4)), ((6, 4), (-1, 2)),
            ((1, 8), (8, 1)), ((5, 4, 3), (5, 12)), ((0, 3), (3, 0))]


@pytest.mark.parametrize("old, new", RESHAPES)
def test_reshape(old, new):
    rng = np.random.default_rng(len(old) * 7 + len(new))
    a = np.arange(int(np.prod(old))).reshape(old)
    for _ in range(3):
        x = da.from_array(a, chunks=random_chunks(rng, old))
        got = x.reshape(new)
        assert got.shape == a.reshape(new).shape
        np.testing.assert_array_equal(got.compute(), a.reshape(new))
    np.testing.assert_array_equal(da.ravel(x).compute(), a.ravel())


@pytest.mark.parametrize("seed", range(6))
def test_transpose_swap_move(seed):
    rng = np.random.default_rng(seed)
    a, x = random_array(rng, ndim=3)
    axes = tuple(rng.permutation(3).tolist())
    np.testing.assert_array_equal(x.transpose(axes).compute(scheduler=SCHEDULERS[seed % 3]), a.transpose(axes))
    np.testing.assert_array_equal(x.T.compute(), a.T)
    np.testing.assert_array_equal(da.swapaxes(x, 0, 2).compute(), np.swapaxes(a, 0, 2))
    np.testing.assert_array_equal(da.moveaxis(x, 0, -1).compute(), np.moveaxis(a, 0, -1))


@pytest.mark.parametrize("seed", range(6))
def test_concatenate_stack(seed):
    rng = np.random.default_rng(seed)
    a, x = random_array(rng)
    axis = int(rng.integers(0, a.ndim))
    shape_b = list(a.shape)
    shape_b[axis] = int(rng.integers(1, 6))
    b = rng.integers(0, 9, size=shape_b)  # another dtype: result_type applies
    y = da.from_array(b, chunks=random_chunks(rng, b.shape))
    np.testing.assert_array_equal(da.concatenate([x, y, x], axis=axis).compute(scheduler=SCHEDULERS[seed % 3]),
                                  np.concatenate([a, b, a], axis=axis))
    z = da.from_array(a * 2, chunks=random_chunks(rng, a.shape))
    s_axis = int(rng.integers(-a.ndim - 1, a.ndim + 1))
    np.testing.assert_array_equal(da.stack([x, z], axis=s_axis).compute(), np.stack([a, a * 2], axis=s_axis))
    np.testing.assert_array_equal(da.vstack([x, z]).compute(), np.vstack([a, a * 2]))
    np.testing.assert_array_equal(da.hstack([x, z]).compute(), np.hstack([a, a * 2]))


def test_squeeze_expand_dims_broadcast_to():
    a = np.arange(12).reshape(3, 1, 4, 1)
    x = da.from_array(a, chunks=(2, 1, 3, 1))
    np.testing.assert_array_equal(x.squeeze().compute(), a.squeeze())
    np.testing.assert_array_equal(da.squeeze(x, axis=1).compute(), a.squeeze(axis=1))
    with pytest.raises(ValueError, match="length is 3"):
        da.squeeze(x, axis=0)
    np.testing.assert_array_equal(da.expand_dims(x, (0, 3)).compute(), np.expand_dims(a, (0, 3)))
    b = da.from_array(np.arange(4), chunks=3)
    np.testing.assert_array_equal(da.broadcast_to(b, (3, 4)).compute(), np.broadcast_to(np.arange(4), (3, 4)))
    np.testing.assert_array_equal(x[:, None, 0, ..., 0].compute(), a[:, None, 0, ..., 0])
