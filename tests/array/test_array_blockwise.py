"""dot/matmul/tensordot, map_blocks, blockwise, map_overlap, and storage (store, npy stacks, zarr)."""

import numpy as np
import pytest

import teem
import teem.array as da
from test_array_ops import SCHEDULERS, random_chunks


@pytest.mark.parametrize("seed", range(9))
def test_dot_matmul(seed):
    rng = np.random.default_rng(seed)
    n, k, m = (int(v) for v in rng.integers(1, 12, size=3))
    a, b = rng.standard_normal((n, k)), rng.standard_normal((k, m))
    x = da.from_array(a, chunks=random_chunks(rng, a.shape))
    y = da.from_array(b, chunks=random_chunks(rng, b.shape))
    sched = SCHEDULERS[seed % 3]
    np.testing.assert_allclose((x @ y).compute(scheduler=sched), a @ b)
    np.testing.assert_allclose(da.dot(x, y).compute(scheduler=sched), a.dot(b))
    v = rng.standard_normal(k)
    vv = da.from_array(v, chunks=random_chunks(rng, v.shape))
    np.testing.assert_allclose((x @ vv).compute(), a @ v)
    np.testing.assert_allclose(da.dot(vv, vv).compute(), v.dot(v))
    np.testing.assert_allclose((a @ y).compute(), a @ b)  # numpy on the left
    batch = rng.standard_normal((3, n, k))
    bx = da.from_array(batch, chunks=random_chunks(rng, batch.shape))
    np.testing.assert_allclose(da.matmul(bx, y).compute(), np.matmul(batch, b))


@pytest.mark.parametrize("axes", [1, 2, ([0, 2], [1, 0]), ([2], [1])])
def test_tensordot(axes):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((4, 5, 6))
    b = rng.standard_normal((6, 4, 3)) if axes != 2 else rng.standard_normal((5, 6, 3))
    if axes == ([2], [1]):
        b = rng.standard_normal((3, 6, 2))
    x = da.from_array(a, chunks=random_chunks(rng, a.shape))
    y = da.from_array(b, chunks=random_chunks(rng, b.shape))
    if axes == 1:
        b = rng.standard_normal((6, 2))
        y = da.from_array(b, chunks=(4, 1))
    np.testing.assert_allclose(da.tensordot(x, y, axes=axes).compute(), np.tensordot(a, b, axes=axes))
    np.testing.assert_allclose(da.outer(x[0, 0], y.ravel()).compute(), np.outer(a[0, 0], b.ravel()))


def test_map_blocks():
    a = np.arange(24.0).reshape(4, 6)
    x = da.from_array(a, chunks=(2, 3))
    np.testing.assert_array_equal(x.map_blocks(lambda b: b * 2).compute(), a * 2)
    y = x.map_blocks(lambda b, c: b + c, 10, dtype=float)
    np.testing.assert_array_equal(y.compute(), a + 10)
    ids = x.map_blocks(lambda b, block_id=None: np.full(b.shape, block_id[0] * 10 + block_id[1]), dtype=int)
    assert ids.compute()[3, 5] == 11
    s = x.map_blocks(lambda b: b.sum(axis=1), drop_axis=1, dtype=float)
    np.testing.assert_array_equal(s.compute(), a.sum(axis=1))
    n = x.map_blocks(lambda b: b[..., None], new_axis=2, dtype=float)
    assert n.shape == (4, 6, 1)
    np.testing.assert_array_equal(n.compute(), a[..., None])
    c = x.map_blocks(lambda b: b[:1], chunks=(1, 3), dtype=float)
    assert c.shape == (2, 6)
    np.testing.assert_array_equal(c.compute(), a[::2])
    z = da.map_blocks(np.add, x, da.from_array(a[0], chunks=2), dtype=float)  # aligned & broadcast
    np.testing.assert_array_equal(z.compute(), a + a[0])
    info = x.map_blocks(lambda b, block_info=None: np.full(b.shape, block_info[None]["array-location"][0][0]),
                        dtype=int)
    assert info.compute()[3, 0] == 2


def test_blockwise_index_notation():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((5, 7)), rng.standard_normal((7, 4))
    x = da.from_array(a, chunks=(2, 3))
    y = da.from_array(b, chunks=(4, 2))
    out = da.blockwise(lambda l, r: sum(np.dot(p, q) for p, q in zip(l, r)), "ik", x, "ij", y, "jk", dtype=float)
    np.testing.assert_allclose(out.compute(), a @ b)
    t = da.blockwise(np.transpose, "ji", x, "ij", dtype=float)
    np.testing.assert_array_equal(t.compute(), a.T)
    c = da.blockwise(lambda blk: blk.sum(axis=1), "i", x, "ij", concatenate=True, dtype=float)
    np.testing.assert_allclose(c.compute(), a.sum(axis=1))


@pytest.mark.parametrize("boundary", ["none", "reflect", "periodic", "nearest", 0, -1.5])
def test_map_overlap_moving_window(boundary):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(23)
    x = da.from_array(a, chunks=(5, 1, 9, 8))
    depth = 2
    pads = {"none": None, "reflect": "symmetric", "periodic": "wrap", "nearest": "edge"}

    def moving_sum(b):
        return np.convolve(b, np.ones(2 * depth + 1), mode="same")
    got = x.map_overlap(moving_sum, depth=depth, boundary=boundary).compute()
    if boundary == "none":
        expected = np.convolve(a, np.ones(5), mode="same")
    else:
        mode = pads.get(boundary, "constant")
        kw = {"constant_values": boundary} if mode == "constant" else {}
        padded = np.pad(a, depth, mode=mode, **kw)
        expected = np.convolve(padded, np.ones(5), mode="valid")
    np.testing.assert_allclose(got, expected)


def test_map_overlap_2d_and_depth_larger_than_blocks():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((12, 10))
    x = da.from_array(a, chunks=(3, 4))

    def smooth(b):
        from numpy.lib.stride_tricks import sliding_window_view
        out = np.zeros_like(b)
        win = sliding_window_view(np.pad(b, 1, mode="constant"), (3, 3)).sum(axis=(-1, -2))
        out[:] = win
        return out
    got = da.map_overlap(smooth, x, depth=1, boundary=0).compute()
    np.testing.assert_allclose(got, smooth(a))
    wide = x.map_overlap(lambda b: b.cumsum(axis=0), depth={0: 5}, boundary="none").compute()
    assert wide.shape == a.shape


def test_store_numpy_and_delayed():
    a = np.arange(30.0).reshape(5, 6)
    x = da.from_array(a, chunks=(2, 4)) * 2
    target = np.zeros((5, 6))
    assert da.store(x, target) is None
    np.testing.assert_array_equal(target, a * 2)
    target2 = np.zeros((5, 6))
    d = x.store(target2, compute=False)
    assert isinstance(d, teem.Delayed) and target2.sum() == 0
    d.compute()
    np.testing.assert_array_equal(target2, a * 2)
    big = np.zeros((7, 6))
    da.store([x], [big], regions=(slice(2, 7), slice(0, 6)))
    np.testing.assert_array_equal(big[2:], a * 2)
    stored = da.store(x, np.zeros((5, 6)), return_stored=True)
    np.testing.assert_array_equal(stored.compute(), a * 2)


def test_npy_stack_roundtrip(tmp_path):
    a = np.arange(60).reshape(10, 6)
    x = da.from_array(a, chunks=(3, 4))
    da.to_npy_stack(str(tmp_path / "stack"), x, axis=0)
    y = da.from_npy_stack(str(tmp_path / "stack"))
    assert y.chunks == ((3, 3, 3, 1), (6,))
    np.testing.assert_array_equal(y.compute(), a)


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_zarr_roundtrip(tmp_path, scheduler):
    pytest.importorskip("zarr")
    a = np.random.default_rng(0).standard_normal((9, 7))
    x = da.from_array(a, chunks=(4, 3))
    path = str(tmp_path / f"data-{scheduler}.zarr")
    with teem.config.set(scheduler=scheduler):
        x.to_zarr(path)
        y = da.from_zarr(path)
        assert y.chunks == x.chunks
        np.testing.assert_array_equal(y.compute(), a)
        np.testing.assert_allclose((y + 1).sum(axis=0).compute(), (a + 1).sum(axis=0))
    with pytest.raises(ValueError, match="rechunk"):
        da.from_array(a, chunks=((4, 5), (3, 4))).to_zarr(str(tmp_path / "bad.zarr"))
