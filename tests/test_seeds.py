"""Seed 001 (the Berkeley SCF Dask tutorial), run with ``import teem as dask``.

Each test is one of the tutorial's examples, written as the user writes it,
with small sizes.  Where the tutorial needs something teem does not have yet
(dataframes), a delayed stand-in does the same job.
"""

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import teem as dask
import teem.multiprocessing  # noqa: F401  (the tutorial's "import dask.multiprocessing")
from calc_mean import calc_mean, calc_mean_vargs, expected

HERE = Path(__file__).parent
N = 100_000


def assert_calc_mean_results(results, p, n=N):
    assert isinstance(results, list) and len(results) == p
    for i, (mean, std) in enumerate(results):
        exp_mean, exp_std = expected(i, n)
        assert mean == pytest.approx(exp_mean, rel=1e-12, abs=1e-15)
        assert std == pytest.approx(exp_std, rel=1e-12)


# --- §3.1 a 'future' via 'delayed' ------------------------------------------------------------


def test_3_1_1_for_loop():
    dask.config.set(scheduler='processes', num_workers=4)

    futures = []
    n = N
    p = 10
    for i in range(p):
        futures.append(dask.delayed(calc_mean)(i, n))  # add lazy task

    futures
    results = dask.compute(futures)  # compute all in parallel

    assert type(results) is tuple and len(results) == 1
    assert_calc_mean_results(results[0], p)


def test_3_1_2_list_comprehension():
    dask.config.set(scheduler='processes', num_workers=4)

    n = N
    p = 10
    futures = [dask.delayed(calc_mean)(i, n) for i in range(p)]
    futures
    results = dask.compute(futures)
    assert_calc_mean_results(results[0], p)

    # "You could set the scheduler in the compute call"
    dask.config.set(scheduler='sync')
    results = dask.compute(futures, scheduler='processes')
    assert_calc_mean_results(results[0], p)


def test_3_2_vectorized_version_gives_the_same_numbers():
    """§3.2 maps ``calc_mean_vargs`` over (i, n) pairs: same numbers as calc_mean."""
    inputs = [(i, N) for i in range(4)]
    futures = [dask.delayed(calc_mean_vargs)(x) for x in inputs]
    assert_calc_mean_results(dask.compute(futures, scheduler='processes')[0], 4)


# --- §3.3 delayed evaluation and task graphs --------------------------------------------------


def test_3_3_delayed_function_calls(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def inc(x):
        return x + 1

    def add(x, y):
        return x + y

    x = dask.delayed(inc)(1)
    y = dask.delayed(inc)(2)
    z = dask.delayed(add)(x, y)
    assert z.compute() == 5

    try:
        z.visualize(filename='task_graph.svg')
    except Exception as exc:  # only a missing graphviz may stop the drawing
        from teem.core.visualize import GraphvizMissingError
        assert isinstance(exc, GraphvizMissingError)
        pytest.skip(f"graphviz missing: {exc}")
    svg = (tmp_path / 'task_graph.svg').read_text()
    assert "<svg" in svg and ">inc<" in svg and ">add<" in svg


def test_3_3_decorated_functions(tmp_path):
    @dask.delayed
    def inc(x):
        return x + 1

    @dask.delayed
    def add(x, y):
        return x + y

    x = inc(1)
    y = inc(2)
    z = add(x, y)
    assert z.compute() == 5
    for scheduler in ("sync", "threads", "processes"):
        assert z.compute(scheduler=scheduler) == 5

    pytest.importorskip("graphviz")
    try:
        z.visualize(filename=str(tmp_path / 'task_graph.svg'))
    except Exception as exc:
        from teem.core.visualize import GraphvizMissingError
        assert isinstance(exc, GraphvizMissingError)
        pytest.skip(f"graphviz missing: {exc}")
    assert ">add<" in (tmp_path / 'task_graph.svg').read_text()


# --- §5.1 threads -----------------------------------------------------------------------------


def test_5_1_threads():
    dask.config.set(scheduler='threads', num_workers=4)
    n = N
    p = 4

    ## Using current numpy random number generator
    futures = [dask.delayed(calc_mean)(i, n) for i in range(p)]

    t0 = time.time()
    results = dask.compute(futures)
    time.time() - t0
    assert_calc_mean_results(results[0], p)

    def calc_mean_old(i, n):
        import numpy as np
        data = np.random.normal(size=n)
        return ([np.mean(data), np.std(data)])

    ## Using deprecated numpy random number generator
    futures = [dask.delayed(calc_mean_old)(i, n) for i in range(p)]

    t0 = time.time()
    results = dask.compute(futures)
    time.time() - t0
    assert len(results[0]) == p
    for mean, std in results[0]:
        assert abs(mean) < 5 / np.sqrt(n)
        assert std == pytest.approx(1.0, abs=0.02)


# --- §5.2 multi-process parallelization, as a script ------------------------------------------

SCRIPT_BODY = """\
results = dask.compute(futures)
time.time() - t0  # 4.0 sec.
print("RESULT " + json.dumps([[float(m), float(s)] for m, s in results[0]]))
print("WORKERS " + json.dumps(sorted(set(dask.compute(
    [dask.delayed(os.getpid)() for _ in range(8)])[0]))))
"""

SCRIPT_WITHOUT_GUARD = """\
import json, os, time
print("SCRIPT-BODY-RAN pid=%d" % os.getpid())
import teem as dask
import teem.multiprocessing
from calc_mean import *
dask.config.set(scheduler='processes', num_workers = 4)
n = {n}
p = 4
futures = [dask.delayed(calc_mean)(i, n) for i in range(p)]


t0 = time.time()
""" + SCRIPT_BODY

SCRIPT_WITH_GUARD = """\
import json, os, time
print("SCRIPT-BODY-RAN pid=%d" % os.getpid())
import teem as dask
import teem.multiprocessing
from calc_mean import *

if __name__ == '__main__':
    dask.config.set(scheduler='processes', num_workers = 4)
    n = {n}
    p = 4
    futures = [dask.delayed(calc_mean)(i, n) for i in range(p)]

    t0 = time.time()
""" + textwrap.indent(SCRIPT_BODY, "    ")


@pytest.mark.parametrize("script", [SCRIPT_WITHOUT_GUARD, SCRIPT_WITH_GUARD],
                         ids=["without-main-guard", "with-main-guard"])
def test_5_2_processes_in_a_script(tmp_path, script):
    (tmp_path / "calc_mean.py").write_text((HERE / "calc_mean.py").read_text())
    path = tmp_path / "run_calc_mean.py"
    path.write_text(script.format(n=N))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEEM_")}
    env.pop("PYTHONPATH", None)  # the script must find calc_mean.py next to itself
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    # the workers never re-ran the script: its body printed once
    assert sum(line.startswith("SCRIPT-BODY-RAN") for line in lines) == 1, proc.stdout
    script_pid = int(lines[0].split("pid=")[1])
    result = json.loads(next(line for line in lines if line.startswith("RESULT "))[7:])
    assert_calc_mean_results(result, 4)
    workers = json.loads(next(line for line in lines if line.startswith("WORKERS "))[8:])
    assert script_pid not in workers and 1 <= len(workers) <= 4


# --- §6.1 nested parallelization and pipelines ------------------------------------------------


def test_6_1_nested_parallelization():
    dask.config.set(scheduler='processes', num_workers=4)

    @dask.delayed
    def calc_mean_vargs2(inputs, nobs):
        import numpy as np
        rng = np.random.default_rng()
        data = rng.normal(inputs[0], inputs[1], nobs)
        return ([np.mean(data), np.std(data)])

    params = zip([0, 0, 1, 1], [1, 2, 1, 2])
    m = 5
    n = 20_000
    out = list()
    for param in params:
        out_single_param = list()
        for i in range(m):
            out_single_param.append(calc_mean_vargs2(param, n))
        out.append(out_single_param)

    t0 = time.time()
    output = dask.compute(out)  # 7 sec. on 4 cores
    time.time() - t0

    (values,) = output
    assert len(values) == 4 and all(len(row) == m for row in values)
    for (mu, sigma), row in zip([(0, 1), (0, 2), (1, 1), (1, 2)], values):
        for mean, std in row:
            assert abs(mean - mu) < 5 * sigma / np.sqrt(n)
            assert std == pytest.approx(sigma, rel=0.05)
        assert len({mean for mean, _ in row}) == m  # unseeded: every replicate differs


# --- §6.3 one compute for several results over the same data ----------------------------------


@pytest.fixture
def delays_csv(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(2013)
    frame = pd.DataFrame({
        "UniqueCarrier": rng.choice(["UA", "AA", "DL"], size=2000),
        "Origin": rng.choice(["SFO", "JFK", "ORD"], size=2000),
        "DepDelay": rng.integers(-20, 300, size=2000).astype(float),
    })
    path = tmp_path / "flights.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_6_3_several_reductions_in_one_compute_read_the_data_once(delays_csv, tmp_path):
    path, frame = delays_csv
    reads_log = tmp_path / "reads.log"

    def read_csv(p):  # stands in for ddf.read_csv; logs every read (from any process)
        import pandas as pd
        with open(reads_log, "a") as f:
            f.write("read\n")
        return pd.read_csv(p)

    def reads():
        return len(reads_log.read_text().splitlines()) if reads_log.exists() else 0

    dask.config.set(scheduler='processes', num_workers=4)
    air = dask.delayed(read_csv)(str(path))

    assert air.DepDelay.min().compute() == frame.DepDelay.min()
    assert air.DepDelay.max().compute() == frame.DepDelay.max()
    assert reads() == 2  # separate computes read the data again each time

    (mn, mx) = dask.compute(air.DepDelay.max(), air.DepDelay.min())
    assert (mn, mx) == (frame.DepDelay.max(), frame.DepDelay.min())
    assert reads() == 3  # one compute, two reductions: one more read

    count = dask.delayed(len)(air)
    sub = air[(air.UniqueCarrier == 'UA') & (air.Origin == 'SFO')]
    by_dest = sub.DepDelay.mean()
    mx, mn, n, ua_sfo = dask.compute(air.DepDelay.max(), air.DepDelay.min(), count, by_dest)
    expected_sub = frame[(frame.UniqueCarrier == 'UA') & (frame.Origin == 'SFO')]
    assert (mx, mn, n) == (frame.DepDelay.max(), frame.DepDelay.min(), len(frame))
    assert ua_sfo == pytest.approx(expected_sub.DepDelay.mean())
    assert reads() == 4  # adding count (the tutorial's trouble case) still reads once


# --- §6.4 delaying the data -------------------------------------------------------------------


def test_6_4_delayed_numpy_array_shared_by_20_tasks():
    dask.config.set(scheduler='processes', num_workers=4)

    rng = np.random.default_rng()
    x = rng.normal(size=1_000_000)
    plain_mean = np.mean(x)
    x = dask.delayed(x)  # here we delay the data

    def calc(x, i):
        import os
        return (np.mean(x), os.getpid())

    out = [dask.delayed(calc)(x, i) for i in range(20)]
    t0 = time.time()
    output = dask.compute(out)
    time.time() - t0  # about 20 sec. = 80 total sec. across 4 workers, so ~4 sec. per task

    means = [m for m, _ in output[0]]
    assert means == [pytest.approx(plain_mean)] * 20
    pids = {pid for _, pid in output[0]}
    assert len(pids) >= 2 and os.getpid() not in pids

    ## "Actual computation is much faster": calling calc on the delayed data directly
    ## gives a lazy value (np.mean asks the Delayed for its .mean), as with Dask.
    lazy = np.mean(x)
    assert isinstance(lazy, dask.Delayed)
    assert lazy.compute() == pytest.approx(plain_mean)


# --- §6.5 parallel I/O ------------------------------------------------------------------------


def test_6_5_parallel_reads(tmp_path):
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(1988)
    lengths = {}
    for yr in range(1988, 1994):
        nrows = 200 + 10 * (yr - 1988)
        frame = pd.DataFrame({
            "Year": yr,
            "Distance": rng.integers(100, 3000, size=nrows).astype("float64"),
            "CRSElapsedTime": rng.integers(30, 400, size=nrows).astype("float64"),
            "TailNum": rng.choice(["N123", "N456", "N789"], size=nrows),
            "CancellationCode": rng.choice(["A", "B", ""], size=nrows),
        })
        frame.to_csv(tmp_path / f"{yr}.csv.bz2", index=False, encoding="latin1")
        lengths[yr] = nrows
    base = str(tmp_path) + "/"

    dask.config.set(scheduler='processes', num_workers=4)

    ## define a function that reads data but doesn't need to return entire
    ## dataset back to master process to avoid copying cost
    def readfun(yr):
        import pandas as pd
        out = pd.read_csv(base + str(yr) + '.csv.bz2',
                          header=0, encoding='latin1',
                          dtype={'Distance': 'float64', 'CRSElapsedTime': 'float64',
                                 'TailNum': 'object', 'CancellationCode': 'object'})
        return (len(out))   # just return length

    results = []
    for yr in range(1988, 1994):
        results.append(dask.delayed(readfun)(yr))

    t0 = time.time()
    output = dask.compute(results)  # parallel I/O
    time.time() - t0

    assert output == ([lengths[yr] for yr in range(1988, 1994)],)
    assert readfun(1988) == lengths[1988]


# --- §8 reliable random number generation -----------------------------------------------------


def test_8_pcg64_jumped_two_single_jumps_equal_one_double_jump():
    bitGen = np.random.PCG64(1)
    rng = np.random.Generator(bitGen)
    first = rng.random(size=3)
    assert first.shape == (3,)

    bitGen = np.random.PCG64(1)
    bitGen = bitGen.jumped(2)
    rng = np.random.Generator(bitGen)
    two = rng.normal(size=3)

    bitGen = np.random.PCG64(1)
    bitGen = bitGen.jumped(1)
    bitGen = bitGen.jumped(1)
    rng = np.random.Generator(bitGen)
    one_one = rng.normal(size=3)

    assert np.array_equal(two, one_one)

    # the same, with each step done in a delayed task on every scheduler
    @dask.delayed
    def jump(bit_gen, k):
        return bit_gen.jumped(k)

    @dask.delayed
    def draw(bit_gen):
        return np.random.Generator(bit_gen).normal(size=3)

    for scheduler in ("sync", "threads", "processes"):
        a, b = dask.compute(draw(jump(jump(np.random.PCG64(1), 1), 1)),
                            draw(jump(np.random.PCG64(1), 2)), scheduler=scheduler)
        assert np.array_equal(a, b) and np.array_equal(a, two)

    bitGen = np.random.MT19937(1)
    bitGen = bitGen.jumped(1)
    rng = np.random.Generator(bitGen)
    assert rng.normal(size=3).shape == (3,)


def myrandomfun(i):
    bitGen = np.random.PCG64(1)  # the tutorial's np.random.PCG is a typo for PCG64
    bitGen = bitGen.jumped(i)
    rng = np.random.Generator(bitGen)
    return rng.normal(size=5)


def test_8_jumped_streams_in_tasks_are_equal_on_every_scheduler():
    runs = {}
    for scheduler in ("sync", "threads", "processes"):
        tasks = [dask.delayed(myrandomfun)(i) for i in range(6)]
        runs[scheduler] = np.array(dask.compute(tasks, scheduler=scheduler)[0])
    assert np.array_equal(runs["sync"], runs["threads"])
    assert np.array_equal(runs["sync"], runs["processes"])
    assert np.array_equal(runs["sync"][2], myrandomfun(2))
    assert len({row[0] for row in runs["sync"]}) == 6  # every task has its own stream


def test_8_seed_sequence_spawn_in_tasks_is_equal_on_every_scheduler():
    from numpy.random import PCG64, Generator

    def myrandomfun(rng):
        z = rng.normal(size=5)
        return z

    runs = {}
    for scheduler in ("sync", "threads", "processes"):
        n_tasks = 10
        sg = np.random.SeedSequence(1)
        rngs = [Generator(PCG64(s)) for s in sg.spawn(n_tasks)]
        ## Now pass elements of `rngs` into your function that is being computed in parallel
        tasks = [dask.delayed(myrandomfun)(rng) for rng in rngs]
        runs[scheduler] = np.array(dask.compute(tasks, scheduler=scheduler)[0])
    assert np.array_equal(runs["sync"], runs["threads"])
    assert np.array_equal(runs["sync"], runs["processes"])
    children = np.random.SeedSequence(1).spawn(10)
    assert np.array_equal(runs["processes"][7], Generator(PCG64(children[7])).normal(size=5))
    assert len({row[0] for row in runs["sync"]}) == 10
