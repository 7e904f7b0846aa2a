"""The tutorials' array snippets (seeds 001 §4.3 and §8, 003 calc_pi_mc, 000 §8), smaller, with asserted results.

They are run as written, with ``import teem as dask`` / ``import teem.array as da``.
"""

import io
import pydoc
import time

import numpy as np
import pytest

import teem as dask
import teem.array as da


def test_seed_001_row_means_square_chunks():
    dask.config.set(scheduler='threads', num_workers=4)
    x = da.random.normal(0, 1, size=(4000, 4000), chunks=(1000, 1000))
    # square 1k x 1k chunks
    mycalc = da.mean(x, axis=1)  # by row
    t0 = time.time()
    rs = mycalc.compute()
    assert time.time() - t0 < 10
    assert rs.shape == (4000,)
    # row means of 4000 standard normals: sd 1/sqrt(4000) = 0.0158
    assert abs(rs.mean()) < 0.005 and 0.013 < rs.std() < 0.019
    np.testing.assert_allclose(rs, x.compute().mean(axis=1))


def test_seed_001_row_means_row_chunks_and_from_array():
    dask.config.set(scheduler='threads', num_workers=4)
    x = da.random.normal(0, 1, size=(4000, 4000), chunks=(250, 4000))
    mycalc = da.mean(x, axis=1)  # row means
    rs = mycalc.compute()
    assert rs.shape == (4000,) and 0.013 < rs.std() < 0.019

    rng = np.random.default_rng()
    x = rng.normal(0, 1, size=(4000, 4000))
    t0 = time.time()
    dx = da.from_array(x, chunks=(250, 4000))
    assert time.time() - t0 < 1  # lazy: no copy, one hash of the buffer
    mycalc = da.mean(x, axis=1)  # the tutorial passes the numpy array here
    rs = mycalc.compute()
    np.testing.assert_allclose(rs, x.mean(axis=1))
    np.testing.assert_allclose(da.mean(dx, axis=1).compute(), x.mean(axis=1))


def test_seed_001_big_array_streams():
    # the 80 GB example in miniature: many chunks, bounded memory, rs[0:5]
    dask.config.set(scheduler='threads', num_workers=4)
    x = da.random.normal(0, 1, size=(6000, 6000), chunks=(1000, 1000))
    mycalc = da.mean(x, axis=1)  # row means
    rs = mycalc.compute()
    assert rs[0:5].shape == (5,) and np.all(np.abs(rs[0:5]) < 0.1)


def calc_pi_mc(size_in_bytes, chunksize_in_bytes=200e6):
    """Calculate PI using a Monte Carlo estimate."""

    size = int(size_in_bytes / 8)      # size= no. of random numbers to generate (x & y vals)
    chunksize = int(chunksize_in_bytes / 8)

    xy = da.random.uniform(0, 1,
                           size=(size / 2, 2),
                           chunks=(chunksize / 2, 2))

    in_circle = ((xy ** 2).sum(axis=-1) < 1)
    pi = 4 * in_circle.mean()

    return pi


def print_pi_stats(size, pi, time_delta, num_workers):
    """Print pi, calculate offset from true value, and print some stats."""
    return (f"{size / 1e9} GB\n"
            f"\tMC pi: {pi : 13.11f}"
            f"\tErr: {abs(pi - np.pi) : 10.3e}\n"
            f"\tWorkers: {num_workers}"
            f"\t\tTime: {time_delta : 7.3f}s")


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_seed_003_calc_pi_mc(scheduler):
    for size in (1e6 * n for n in (1, 10, 40)):
        start = time.time()
        pi = calc_pi_mc(size, min(size / 10, 4e6)).compute(scheduler=scheduler)
        elaps = time.time() - start
        assert abs(pi - np.pi) < 0.05
        text = print_pi_stats(size, pi, time_delta=elaps, num_workers=2)
        assert "MC pi:" in text
    x = calc_pi_mc(8e6, 8e5)
    assert x.shape == () and x.dtype == np.float64


def test_seed_000_random_state():
    state = da.random.RandomState(1234)
    out = io.StringIO()
    pydoc.Helper(output=out).help(state)  # help(state): the chunks argument is documented
    assert "chunks" in out.getvalue()
    a = state.normal(0, 1, size=(1000, 10), chunks=(100, 10)).compute()
    b = da.random.RandomState(1234).normal(0, 1, size=(1000, 10), chunks=(100, 10)).compute()
    np.testing.assert_array_equal(a, b)


def test_seed_001_section_8_streams_are_spawned_not_reseeded():
    # "sg = np.random.SeedSequence(1); rngs = [Generator(PCG64(s)) for s in sg.spawn(n_tasks)]"
    n_tasks = 10
    x = da.random.default_rng(1).normal(size=(n_tasks * 5,), chunks=5)
    sg = np.random.SeedSequence(1)
    branch = sg.spawn(1)[0]
    rngs = [np.random.Generator(np.random.PCG64(s)) for s in branch.spawn(n_tasks)]
    expected = np.concatenate([r.normal(size=5) for r in rngs])
    np.testing.assert_array_equal(x.compute(scheduler="processes"), expected)
