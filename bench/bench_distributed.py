"""The distributed runtime: teem vs Dask distributed on a LocalCluster of 2 workers x 1 thread.

    python bench/bench_distributed.py             # all cases
    python bench/bench_distributed.py --quick     # map of 5,000 only, and the round trip
    python bench/bench_distributed.py --repeat 3  # best of 3 fresh runs per library and case
    python bench/bench_distributed.py --only 6.4  # the cases whose name contains "6.4"

Cases (issue 3): client.gather(client.map(inc, range(N))) for N = 5,000 and 100,000
(tasks/s); submit(...).result() round trips (mean of 100; the median is printed in
the check column); seed 001 section 6.4 on the cluster (20 means of one shared
40,000,000-element delayed array). Cluster start-up is outside the timing. Peak
memory is the client process's.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _harness import compare  # noqa: E402

CLUSTER = """
import importlib, statistics, time
import numpy as np
distributed = importlib.import_module(lib_name + ".distributed")
def inc(x):
    return x + 1
def start():
    global cluster, client
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True)
    client = distributed.Client(cluster)
    client.gather(client.map(inc, range(-20, 0)))  # warm: connections open, functions known
"""

MAP = CLUSTER + """
def setup():
    start()
def run():
    out = client.gather(client.map(inc, range({n})))
    assert out[-1] == {n}
    return len(out)
"""

ROUND_TRIP = CLUSTER + """
def setup():
    start()
def run():
    times = []
    for i in range(100):
        t0 = time.perf_counter()
        assert client.submit(inc, i, pure=False).result() == i + 1
        times.append(time.perf_counter() - t0)
    return f"median {statistics.median(times) * 1e3:.2f} ms"
"""

SHARED_ARRAY = CLUSTER + """
def calc(x, i):
    return np.mean(x)
def setup():
    global x
    start()
    x = lib.delayed(np.random.default_rng(0).normal(size=40_000_000))
def run():
    out = lib.compute([lib.delayed(calc)(x, i) for i in range(20)])
    return round(float(out[0][0]), 6)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--teem-only", action="store_true", help="skip Dask")
    parser.add_argument("--repeat", type=int, default=1,
                        help="fresh runs per library and case; the fastest is reported (default 1)")
    parser.add_argument("--only", default="", help="run cases whose name contains this")
    args = parser.parse_args()
    libs = ("teem",) if args.teem_only else ("teem", "dask")
    cases = [(f"map+gather of {n:,} inc (2 workers x 1 thread)", MAP.format(n=n), n)
             for n in ([5000] if args.quick else [5000, 100_000])]
    cases.append(("submit().result() round trip x 100", ROUND_TRIP, 100))
    if not args.quick:
        cases.append(("seed 6.4: 20 means of a shared 40M array", SHARED_ARRAY, None))
    for name, code, count in cases:
        if args.only in name:
            compare(name, code, libs=libs, unit_count=count, repeat=args.repeat,
                    show_check="round trip" in name)  # (the median of the 100)


if __name__ == "__main__":
    main()
