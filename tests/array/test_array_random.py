"""teem.array.random: independent per-chunk streams, reproducible on every scheduler and worker count."""

import numpy as np
import pytest

import teem.array as da


def test_same_seed_same_numbers_on_every_scheduler_and_worker_count():
    def make():
        return da.random.default_rng(42).normal(0, 1, size=(60, 50), chunks=(16, 20))
    ref = make().compute(scheduler="sync")
    for scheduler, n in (("threads", 1), ("threads", 2), ("threads", 4), ("processes", 2)):
        np.testing.assert_array_equal(make().compute(scheduler=scheduler, num_workers=n), ref)
    x = make()
    np.testing.assert_array_equal(x.compute(), x.compute())  # one graph, computed twice
    assert not np.array_equal(da.random.default_rng(43).normal(size=(60, 50), chunks=(16, 20)).compute(), ref)


def test_chunks_are_seedsequence_spawned_streams():
    rng = da.random.default_rng(7)
    rng.random(3)  # call 0
    x = rng.normal(size=(10, 6), chunks=(5, 3))  # call 1
    root = np.random.SeedSequence(7)
    branch = root.spawn(2)[1]
    leaves = branch.spawn(4)
    blocks = x.compute()
    for flat, (i, j) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        expected = np.random.Generator(np.random.PCG64(leaves[flat])).normal(size=(5, 3))
        np.testing.assert_array_equal(blocks[i * 5:(i + 1) * 5, j * 3:(j + 1) * 3], expected)


def test_calls_and_chunks_differ():
    rng = da.random.default_rng(0)
    a, b = rng.random(100, chunks=50), rng.random(100, chunks=50)
    va, vb = a.compute(), b.compute()
    assert not np.array_equal(va, vb)
    assert not np.array_equal(va[:50], va[50:])


def test_graph_holds_no_numbers():
    x = da.random.default_rng(0).normal(size=(10_000, 10_000), chunks=(1000, 1000))
    import pickle
    assert len(pickle.dumps(x.dask)) < 100_000


@pytest.mark.parametrize("method, args, kwargs, dtype", [
    ("normal", (2.0, 3.0), {}, np.float64),
    ("standard_normal", (), {}, np.float64),
    ("standard_normal", (), {"dtype": np.float32}, np.float32),
    ("uniform", (-1, 1), {}, np.float64),
    ("random", (), {}, np.float64),
    ("integers", (0, 10), {}, np.int64),
    ("integers", (5,), {"dtype": np.int32}, np.int32),
    ("exponential", (2.0,), {}, np.float64),
    ("poisson", (3.0,), {}, np.int64),
    ("binomial", (10, 0.3), {}, np.int64),
    ("gamma", (2.0,), {}, np.float64),
])
def test_generator_methods(method, args, kwargs, dtype):
    rng = da.random.default_rng(1)
    x = getattr(rng, method)(*args, size=(300, 40), chunks=(100, 20), **kwargs)
    assert x.dtype == dtype and x.shape == (300, 40) and x.chunks == ((100,) * 3, (20, 20))
    v = x.compute()
    assert v.dtype == dtype and v.shape == (300, 40)
    ref = getattr(np.random.default_rng(1), method)(*args, size=(300, 40), **kwargs)
    assert abs(v.mean() - ref.mean()) < 0.2 * (abs(ref.mean()) + ref.std() + 0.1)


def test_choice_and_permutation():
    rng = da.random.default_rng(3)
    c = rng.choice(5, size=1000, chunks=300)
    v = c.compute()
    assert set(np.unique(v)) <= set(range(5)) and len(v) == 1000
    c2 = rng.choice(np.array([1.5, 2.5]), size=10, chunks=5, p=[0.0, 1.0])
    assert (c2.compute() == 2.5).all()
    with pytest.raises(NotImplementedError, match="chunks=-1"):
        rng.choice(10, size=5, replace=False, chunks=2)
    assert sorted(rng.choice(10, size=5, replace=False, chunks=-1).compute().tolist()) != []
    p = rng.permutation(20)
    assert sorted(p.compute().tolist()) == list(range(20))
    x = da.arange(10, chunks=3)
    assert sorted(rng.permutation(x).compute().tolist()) == list(range(10))


def test_array_parameters_broadcast():
    loc = da.from_array(np.array([0.0, 100.0, 1000.0]), chunks=2)
    x = da.random.default_rng(0).normal(loc, 0.001, size=(4, 3), chunks=(2, 1))
    v = x.compute()
    np.testing.assert_allclose(v, np.broadcast_to([0.0, 100.0, 1000.0], (4, 3)), atol=0.01)
    y = da.random.default_rng(0).uniform(np.zeros(5), np.arange(1, 6))
    assert y.shape == (5,) and (y.compute() < np.arange(1, 6)).all()


def test_module_functions_and_seed():
    da.random.seed(11)
    a = da.random.normal(0, 1, size=(100,), chunks=30)
    da.random.seed(11)
    b = da.random.normal(0, 1, size=(100,), chunks=30)
    np.testing.assert_array_equal(a.compute(), b.compute())
    assert da.random.uniform(size=10, chunks=5).compute().max() < 1
    assert da.random.random(size=10, chunks=5).dtype == np.float64
    r = da.random.randint(0, 5, size=50, chunks=10).compute()
    assert r.min() >= 0 and r.max() < 5
    assert da.random.standard_normal(size=(5, 5), chunks=2).shape == (5, 5)
    assert da.random.random_sample((4,)).shape == (4,)


def test_random_state_legacy_api():
    state = da.random.RandomState(1234)
    x = state.normal(10, 2, size=(1000,), chunks=100)
    y = da.random.RandomState(1234).normal(10, 2, size=(1000,), chunks=100)
    np.testing.assert_array_equal(x.compute(), y.compute())
    assert abs(x.mean().compute() - 10) < 0.5
    r = state.randint(5, size=200, chunks=50).compute()
    assert r.min() >= 0 and r.max() < 5
    s = state.random_sample(size=(10, 10), chunks=5).compute()
    assert s.shape == (10, 10) and s.max() < 1
    assert state.uniform(size=3).compute().shape == (3,)
    state.seed(1234)
    np.testing.assert_array_equal(state.normal(10, 2, size=(1000,), chunks=100).compute(), y.compute())


def test_calc_sizes_as_floats_and_repr():
    x = da.random.uniform(0, 1, size=(1e3 / 2, 2), chunks=(1e2 / 2, 2))
    assert x.shape == (500, 2) and x.chunks[0] == (50,) * 10
    assert "uniform" in repr(x)
    assert "Generator" in repr(da.random.default_rng(0))
