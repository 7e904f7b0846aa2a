"""Seed 001's examples on every local scheduler and a local cluster: ``python -m teem.demo``.

Runs, with a progress bar, each of these on ``sync``, ``threads``,
``processes`` and ``cluster`` (a ``LocalCluster`` of this machine with a
``Client``, as seed 001 §5.3 makes one; sizes cut down so the whole demo
takes a few seconds):

- §3.1  a loop of ``delayed(calc_mean)(i, n)`` calls, computed at once;
- §3.3  the ``inc``/``add`` task graph (also drawn to ``task_graph.svg``);
- §6.1  nested parameters: ``m`` replicates for each of 4 (mean, sd) pairs;
- §6.4  one delayed numpy array shared by 20 tasks;
- §8    independent random streams from ``SeedSequence.spawn``.

then prints a table of timings and whether every scheduler gave the same
answer.  The functions live in this module so worker processes import them.

    python -m teem.demo [--schedulers sync,threads,processes,cluster] [--graph FILE | --no-graph]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import time

import numpy as np

import teem as dask
from teem.diagnostics import ProgressBar

__all__ = ["calc_mean", "inc", "add", "calc_mean_vargs2", "calc", "myrandomfun", "EXAMPLES", "main"]

SCHEDULERS = ("sync", "threads", "processes", "cluster")

# Sizes: the seed's, divided so the demo stays short on a laptop.
CALC_MEAN_N, CALC_MEAN_P = 2_000_000, 10          # seed: n = 10,000,000, p = 10
NESTED_N, NESTED_M = 500_000, 10                  # seed: n = 10,000,000, m = 20
SHARED_SIZE, SHARED_TASKS = 10_000_000, 20        # seed: 40,000,000 values (320 MB), 20 tasks
RNG_TASKS, RNG_SIZE = 10, 1_000_000


# --- the seed's functions -------------------------------------------------------------------


def calc_mean(i, n):
    """§3 ``calc_mean.py``: mean and sd of ``n`` normal draws seeded with ``i``."""
    rng = np.random.default_rng(i)
    data = rng.normal(size=n)
    return [np.mean(data), np.std(data)]


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def calc_mean_vargs2(inputs, nobs):
    """§6.1: mean and sd of ``nobs`` draws from N(inputs[0], inputs[1]) (unseeded, as in the seed)."""
    rng = np.random.default_rng()
    data = rng.normal(inputs[0], inputs[1], nobs)
    return [np.mean(data), np.std(data)]


def calc(x, i):
    """§6.4: a cheap task on a big shared input."""
    return np.mean(x)


def myrandomfun(rng, size):
    """§8: draws from a generator handed to the task."""
    z = rng.normal(size=size)
    return float(np.mean(z))


# --- the examples: each builds its graph, computes it, and summarizes the result ------------


def example_calc_mean():
    futures = []
    for i in range(CALC_MEAN_P):
        futures.append(dask.delayed(calc_mean)(i, CALC_MEAN_N))
    (results,) = _compute(futures)
    mean = float(np.mean([r[0] for r in results]))
    return results, f"{len(results)} x [mean, sd]; average mean {mean:+.5f}"


def example_task_graph(graph_file=None):
    x = dask.delayed(inc)(1)
    y = dask.delayed(inc)(2)
    z = dask.delayed(add)(x, y)
    (result,) = _compute(z)
    note = ""
    if graph_file:
        try:
            z.visualize(filename=graph_file)
            note = f"; graph drawn to {graph_file}"
        except Exception as exc:  # graphviz missing: the demo goes on
            note = f"; graph not drawn ({type(exc).__name__}: {str(exc).split(';')[0]})"
    return result, f"add(inc(1), inc(2)) = {result}{note}"


def example_nested():
    params = zip([0, 0, 1, 1], [1, 2, 1, 2])
    out = []
    for param in params:
        out_single_param = []
        for _ in range(NESTED_M):
            out_single_param.append(dask.delayed(calc_mean_vargs2)(param, NESTED_N))
        out.append(out_single_param)
    (output,) = _compute(out)
    summary = ", ".join(
        f"({np.mean([r[0] for r in reps]):+.2f}, {np.mean([r[1] for r in reps]):.2f})"
        for reps in output)
    # Unseeded draws: the values differ from run to run; only their shape can be compared.
    return [len(reps) for reps in output], f"average (mean, sd) per parameter pair: {summary}"


_shared: dict = {}


def shared_array():
    """The §6.4 array, made once so that every scheduler gets the same one (seeded, to compare)."""
    x = _shared.get("x")
    if x is None:
        x = _shared["x"] = dask.delayed(np.random.default_rng(0).normal(size=SHARED_SIZE))
    return x


def example_shared_array():
    x = shared_array()
    out = [dask.delayed(calc)(x, i) for i in range(SHARED_TASKS)]
    (output,) = _compute(out)
    first = float(output[0])
    assert all(float(v) == first for v in output)
    mb = SHARED_SIZE * 8 / 1e6
    return round(first, 12), f"{SHARED_TASKS} tasks read one {mb:.0f} MB array; mean {first:+.6f}"


def example_random_streams():
    sg = np.random.SeedSequence(1)
    rngs = [np.random.Generator(np.random.PCG64(s)) for s in sg.spawn(RNG_TASKS)]
    out = [dask.delayed(myrandomfun)(rng, RNG_SIZE) for rng in rngs]
    (output,) = _compute(out)
    return output, f"{RNG_TASKS} streams; first means {output[0]:+.5f}, {output[1]:+.5f}, ..."


EXAMPLES = [
    ("§3.1 calc_mean loop", f"{CALC_MEAN_P} tasks, n={CALC_MEAN_N:,}", example_calc_mean),
    ("§3.3 inc/add graph", "3 tasks", example_task_graph),
    ("§6.1 nested parameters", f"4 x {NESTED_M} tasks, n={NESTED_N:,}", example_nested),
    ("§6.4 shared delayed array", f"{SHARED_TASKS} tasks, {SHARED_SIZE:,} values",
     example_shared_array),
    ("§8 SeedSequence streams", f"{RNG_TASKS} tasks, {RNG_SIZE:,} draws each",
     example_random_streams),
]


_compute_seconds: list = []


def _compute(*collections):
    """``dask.compute`` with a progress bar; the scheduler comes from ``teem.config``."""
    with ProgressBar():
        t0 = time.perf_counter()
        out = dask.compute(*collections)
        _compute_seconds.append(time.perf_counter() - t0)
    return out


# --- running and reporting ------------------------------------------------------------------


def _same(a, b) -> bool:
    try:
        return bool(np.array_equal(np.asarray(a, dtype=object), np.asarray(b, dtype=object)))
    except Exception:
        return a == b


def run(schedulers=SCHEDULERS, graph_file: str | None = "task_graph.svg", out=sys.stdout) -> dict:
    """Run every example on every scheduler and print a summary.

    Returns
    -------
    dict
        ``{(example title, scheduler): (seconds in compute, comparable value)}``.
    """
    def say(text=""):
        print(text, file=out, flush=True)

    ncores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    say(f"teem {dask.__version__} demo: seed 001's examples on the local schedulers and a local cluster")
    say(f"Python {platform.python_version()}, numpy {np.__version__}, {ncores} cores")
    shared_array()  # made here, outside the timings
    timings: dict = {}
    for scheduler in schedulers:
        say()
        say(f"== scheduler={scheduler!r} " + "=" * 50)
        cluster = _local_cluster(ncores, say) if scheduler == "cluster" else contextlib.nullcontext()
        with cluster, dask.config.set(scheduler="distributed" if scheduler == "cluster" else scheduler):
            if scheduler in ("processes", "multiprocessing"):
                t0 = time.perf_counter()
                dask.compute(dask.delayed(inc)(0))  # start the worker pool outside the timings
                say(f"(started {ncores} worker processes in {time.perf_counter() - t0:.2f} s; "
                    "they stay up for later computes)")
            for title, size, example in EXAMPLES:
                say(f"{title} ({size})")
                kwargs = {}
                if example is example_task_graph:
                    kwargs["graph_file"] = graph_file
                    graph_file = None  # draw it once
                _compute_seconds.clear()
                value, summary = example(**kwargs)
                timings[title, scheduler] = (sum(_compute_seconds), value)
                say(f"  -> {summary}")
    say()
    say("== summary: seconds in dask.compute " + "=" * 40)
    width = max(len(title) for title, _, _ in EXAMPLES) + 2
    say("example".ljust(width) + "".join(s.rjust(11) for s in schedulers) + "   same result")
    for title, _, example in EXAMPLES:
        row = title.ljust(width)
        values = []
        for scheduler in schedulers:
            seconds, value = timings[title, scheduler]
            row += f"{seconds:10.2f}s"
            values.append(value)
        if example is example_nested:
            same = "n/a (unseeded)"
        else:
            same = "yes" if all(_same(values[0], v) for v in values[1:]) else "NO"
        say(row + "   " + same)
    return timings


@contextlib.contextmanager
def _local_cluster(ncores: int, say):
    """A LocalCluster of this machine and a Client on it, started outside the timings."""
    from teem.distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with LocalCluster(n_workers=ncores, threads_per_worker=1) as cluster, Client(cluster) as client:
        say(f"(started {cluster!r} in {time.perf_counter() - t0:.2f} s)")
        yield client


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m teem.demo",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--schedulers", default=",".join(SCHEDULERS),
                        help="comma-separated scheduler names (default: %(default)s)")
    parser.add_argument("--graph", default="task_graph.svg", metavar="FILE",
                        help="where to draw the §3.3 task graph (default: %(default)s)")
    parser.add_argument("--no-graph", action="store_true", help="do not draw the task graph")
    args = parser.parse_args(argv)
    schedulers = [s.strip() for s in args.schedulers.split(",") if s.strip()]
    run(schedulers, graph_file=None if args.no_graph else args.graph)
    return 0


if __name__ == "__main__":
    # Run the functions of the importable module ``teem.demo``, not of this ``__main__``
    # copy, so worker processes import them by name instead of receiving them by value.
    from teem.demo import main as _main
    sys.exit(_main())
