"""Array basics: chunk specifications, attributes, repr, blocks, creation, compute on every scheduler."""

import math

import numpy as np
import pytest

import teem
import teem.array as da
from teem.array.chunks import UnknownChunksError, normalize_chunks

SCHEDULERS = ["sync", "threads", "processes"]


def test_import_teem_does_not_load_array():
    import subprocess
    import sys
    code = "import sys, teem; print('teem.array' in sys.modules, 'teem.array.core' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
    assert teem.array is da  # lazy attribute access loads it


@pytest.mark.parametrize("chunks, shape, expected", [
    (3, (7,), ((3, 3, 1),)),
    ((3, 2), (7, 4), ((3, 3, 1), (2, 2))),
    (((4, 3), (2, 2)), (7, 4), ((4, 3), (2, 2))),
    (-1, (7, 4), ((7,), (4,))),
    (None, (7, 4), ((7,), (4,))),
    ({0: 2}, (4, 4), ((2, 2), (4,))),
    ((2, -1), (4, 5), ((2, 2), (5,))),
    ((2.0, 5.0), (4.0, 5), ((2, 2), (5,))),  # the tutorials pass floats
    ((5, 5, 2), (12,), ((5, 5, 2),)),
    (3, (0,), ((0,),)),
])
def test_normalize_chunks(chunks, shape, expected):
    assert normalize_chunks(chunks, shape, dtype=float) == expected


def test_normalize_chunks_auto_and_bytes():
    chunks = normalize_chunks("auto", (10000, 10000), dtype=np.float64, limit="8MB")
    assert max(chunks[0]) * max(chunks[1]) * 8 <= 8e6 and len(chunks[0]) > 1
    chunks = normalize_chunks("100MB", (100000, 1000), dtype=np.float64)
    assert max(chunks[0]) * max(chunks[1]) * 8 <= 100e6
    chunks = normalize_chunks(("auto", -1), (100000, 1000), dtype=np.float64, limit="8MB")
    assert chunks[1] == (1000,) and max(chunks[0]) * 1000 * 8 <= 8e6


def test_normalize_chunks_errors_name_the_problem():
    with pytest.raises(ValueError, match="add up to"):
        normalize_chunks(((3, 3),), (7,))
    with pytest.raises(ValueError, match="dimension"):
        normalize_chunks((3, 3, 3), (7, 7))


def test_attributes_and_repr():
    x = da.ones((10, 12), chunks=(4, 5), dtype="f4")
    assert x.shape == (10, 12) and x.ndim == 2 and x.size == 120 and x.nbytes == 480
    assert x.chunks == ((4, 4, 2), (5, 5, 2)) and x.chunksize == (4, 5)
    assert x.numblocks == (3, 3) and x.npartitions == 9 and x.dtype == np.float32
    r = repr(x)
    assert "shape=(10, 12)" in r and "float32" in r and "chunksize=(4, 5)" in r and "480 B" in r
    assert isinstance(np.asarray(x), np.ndarray) and np.asarray(x).sum() == 120
    assert len(x) == 10 and x.T.shape == (12, 10)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_compute_on_every_scheduler(scheduler):
    a = np.arange(60.0).reshape(6, 10)
    x = da.from_array(a, chunks=(4, 3))
    np.testing.assert_array_equal(x.compute(scheduler=scheduler), a)
    np.testing.assert_allclose((x * 2 + 1).sum(axis=0).compute(scheduler=scheduler), (a * 2 + 1).sum(0))


def test_blocks():
    a = np.arange(24).reshape(4, 6)
    x = da.from_array(a, chunks=(2, 3))
    np.testing.assert_array_equal(x.blocks[1, 0].compute(), a[2:4, 0:3])
    np.testing.assert_array_equal(x.blocks[:, 1].compute(), a[:, 3:])
    np.testing.assert_array_equal(x.blocks[0].compute(), a[:2])
    assert x.blocks.shape == (2, 2) and len(x.blocks.ravel()) == 4


def test_creation_functions():
    np.testing.assert_array_equal(da.zeros((5, 4), chunks=2).compute(), np.zeros((5, 4)))
    np.testing.assert_array_equal(da.ones(7, chunks=3, dtype=int).compute(), np.ones(7, int))
    np.testing.assert_array_equal(da.full((3, 3), 7, chunks=2).compute(), np.full((3, 3), 7))
    assert da.empty((4,), chunks=2).shape == (4,)
    x = da.ones((6, 4), chunks=(2, 2))
    for like, ref in ((da.zeros_like, np.zeros), (da.ones_like, np.ones)):
        y = like(x)
        assert y.chunks == x.chunks
        np.testing.assert_array_equal(y.compute(), ref((6, 4)))
    np.testing.assert_array_equal(da.full_like(x, 3).compute(), np.full((6, 4), 3.0))
    np.testing.assert_array_equal(da.arange(17, chunks=5).compute(), np.arange(17))
    np.testing.assert_array_equal(da.arange(3, 40, 4, chunks=3).compute(), np.arange(3, 40, 4))
    np.testing.assert_allclose(da.arange(0, 1, 0.1, chunks=4).compute(), np.arange(0, 1, 0.1))
    np.testing.assert_allclose(da.linspace(0, 1, 11, chunks=4).compute(), np.linspace(0, 1, 11))
    np.testing.assert_allclose(da.linspace(2, 5, 7, endpoint=False, chunks=3).compute(),
                               np.linspace(2, 5, 7, endpoint=False))
    np.testing.assert_array_equal(da.eye(7, chunks=3).compute(), np.eye(7))
    np.testing.assert_array_equal(da.eye(5, chunks=2, M=7, k=2).compute(), np.eye(5, 7, k=2))
    f = da.fromfunction(lambda i, j: i * 10 + j, (5, 6), chunks=(2, 4), dtype=int)
    np.testing.assert_array_equal(f.compute(), np.fromfunction(lambda i, j: i * 10 + j, (5, 6), dtype=int))


def test_asarray_and_from_array_of_array_likes(tmp_path):
    assert da.asarray([1, 2, 3]).compute().tolist() == [1, 2, 3]
    x = da.ones(4, chunks=2)
    assert da.asarray(x) is x
    mm = np.lib.format.open_memmap(tmp_path / "m.npy", mode="w+", dtype="i8", shape=(10, 3))
    mm[:] = np.arange(30).reshape(10, 3)
    y = da.from_array(mm, chunks=(4, 3))
    assert y.numblocks == (3, 1)
    np.testing.assert_array_equal(y.compute(), np.arange(30).reshape(10, 3))
    assert da.from_array(np.ones(5), chunks=2).name == da.from_array(np.ones(5), chunks=2).name


def test_from_delayed_and_to_delayed():
    value = teem.delayed(np.arange)(6)
    x = da.from_delayed(value, shape=(6,), dtype=int)
    np.testing.assert_array_equal((x + 1).compute(), np.arange(1, 7))
    y = da.from_array(np.arange(10), chunks=4)
    parts = y.to_delayed()
    assert parts.shape == (3,)
    assert [p.compute().tolist() for p in parts] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    total = teem.delayed(sum)([p.sum() for p in parts])
    assert total.compute() == 45


def test_persist_and_zero_d_results():
    x = da.arange(10, chunks=3)
    p = (x * 2).persist()
    assert all(type(t).__name__ == "DataNode" for t in p.dask.values())
    np.testing.assert_array_equal(p.compute(), np.arange(10) * 2)
    s = x.sum()
    assert s.shape == () and s.compute() == 45 and float(s) == 45.0 and int(s) == 45


def test_unknown_chunks_error_says_what_to_do():
    x = da.from_array(np.arange(10), chunks=3)
    y = x[x > 4]
    assert math.isnan(y.shape[0])
    with pytest.raises(UnknownChunksError, match="compute_chunk_sizes"):
        y.rechunk(2)
    with pytest.raises(UnknownChunksError, match="compute_chunk_sizes"):
        y[1:3]
    y.compute_chunk_sizes()
    assert y.chunks == ((0, 1, 3, 1),)
    np.testing.assert_array_equal(y[1:3].compute(), [6, 7])


def test_fusion_streams_generation_into_reduction():
    x = da.random.default_rng(0).normal(size=(40, 40), chunks=(10, 10))
    m = x.mean(axis=1)
    from teem.array.optimize import fuse_blocks
    graph = fuse_blocks(m.__teem_graph__().to_dict(), m.__teem_keys__())
    assert not any(k[0].startswith("normal") for k in graph if type(k) is tuple)
    np.testing.assert_allclose(m.compute(), x.compute().mean(axis=1))
    assert m.compute(optimize_graph=False).tolist() == m.compute().tolist()


def test_numpy_functions_dispatch():
    x = da.from_array(np.arange(12.0).reshape(3, 4), chunks=2)
    assert isinstance(np.sin(x), da.Array)
    assert isinstance(np.mean(x, axis=0), da.Array)
    np.testing.assert_allclose(np.mean(x, axis=0).compute(), np.arange(12.0).reshape(3, 4).mean(0))
    q, r = np.divmod(x, 5)
    np.testing.assert_array_equal(q.compute(), np.arange(12.0).reshape(3, 4) // 5)
    assert isinstance(np.add.reduce(x), da.Array)


def test_fused_elementwise_writes_in_place_only_over_its_own_blocks():
    a = np.ones(10)
    x = da.from_array(a, chunks=5)
    np.testing.assert_array_equal((x + 1).compute(), np.full(10, 2.0))
    np.testing.assert_array_equal(a, np.ones(10))  # the user's array is untouched
    r = da.random.default_rng(0).random(1000, chunks=100)
    v = r.compute()
    np.testing.assert_array_equal(((r * 2) ** 2 < 1).compute(), (v * 2) ** 2 < 1)
    np.testing.assert_array_equal((1 - da.ones(6, chunks=2, dtype="i4") / 2).compute(), np.full(6, 0.5))
    y = r * r  # one block used twice: inlined once, not generated twice
    from teem.array.optimize import fuse_blocks
    graph = fuse_blocks(y.dask, y.__teem_keys__())
    assert sum(1 for k in graph if k[0].startswith("random")) == 10
    np.testing.assert_allclose(y.compute(), v * v)
