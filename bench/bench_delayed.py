"""Per-task overhead of delayed graphs: teem vs Dask, side by side.

    python bench/bench_delayed.py            # all cases
    python bench/bench_delayed.py --quick    # small sizes only
    python bench/bench_delayed.py --repeat 3 # best of 3 fresh runs per library and case

Cases (issue 2): compute([delayed(inc)(i) for i in range(N)]) on threads for
N = 2,000 / 32,000 / 1,000,000 (build included); sync sum of 32,000 incs; a
chain of 100,000 dependent tasks; seed 001 section 6.4 on processes.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _harness import compare  # noqa: E402

LIST_OF_INCS = """
def inc(x):
    return x + 1
def run():
    out = lib.compute([lib.delayed(inc)(i) for i in range({n})], scheduler="threads", num_workers=2)
    assert out[0][-1] == {n}
    return out[0][-1]
"""

SUM_OF_INCS = """
def inc(x):
    return x + 1
def run():
    return lib.delayed(sum)([lib.delayed(inc)(i) for i in range({n})]).compute(scheduler="sync")
"""

CHAIN = """
def inc(x):
    return x + 1
def run():
    x = lib.delayed(0)
    for _ in range({n}):
        x = lib.delayed(inc)(x)
    return x.compute(scheduler="threads", num_workers=2)
"""

SHARED_ARRAY = """
import numpy as np
def calc(x, i):
    return np.mean(x)
def setup():
    global x
    x = lib.delayed(np.random.default_rng(0).normal(size=40_000_000))
    # start the worker pool outside the timing, as an interactive session would have
    lib.compute([lib.delayed(calc)(1, i) for i in range(2)], scheduler="processes", num_workers=2)
def run():
    out = lib.compute([lib.delayed(calc)(x, i) for i in range(20)], scheduler="processes", num_workers=2)
    return round(float(out[0][0]), 6)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--teem-only", action="store_true", help="skip Dask")
    parser.add_argument("--repeat", type=int, default=1,
                        help="fresh runs per library and case; the fastest is reported (default 1)")
    args = parser.parse_args()
    libs = ("teem",) if args.teem_only else ("teem", "dask")
    sizes = [2000] if args.quick else [2000, 32000, 1_000_000]
    for n in sizes:
        # Dask's graph handling is quadratic: at 1,000,000 it would run for hours.
        run_libs = ("teem",) if n > 32000 else libs
        compare(f"threads: compute(list of {n:,} delayed inc)", LIST_OF_INCS.format(n=n),
                libs=run_libs, unit_count=n,
                repeat=args.repeat)
    n = 2000 if args.quick else 32000
    compare(f"sync: delayed(sum)({n:,} delayed inc)", SUM_OF_INCS.format(n=n), libs=libs, unit_count=n,
            repeat=args.repeat)
    n = 10000 if args.quick else 100_000
    compare(f"threads: chain of {n:,} dependent tasks", CHAIN.format(n=n), libs=("teem",), unit_count=n,
            repeat=args.repeat)
    compare("processes(2): 20 means of a shared 40M array", SHARED_ARRAY, libs=libs, repeat=args.repeat)


if __name__ == "__main__":
    main()
