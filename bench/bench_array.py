"""teem.array vs dask.array, side by side (threads, 2 workers), plus the raw numpy limit.

    python bench/bench_array.py             # the cheap cases
    python bench/bench_array.py --full      # also 100,000 x 100,000 row means (80 GB, minutes)
    python bench/bench_array.py --repeat 3  # best of 3 fresh runs per library and case

Cases (issue 4):
- 20,000 x 20,000 normal, chunks 5,000^2, mean(axis=1); against the raw limit:
  the same chunks generated (same generator: PCG64 streams spawned from one
  SeedSequence) and reduced by a plain ThreadPoolExecutor(2) over numpy.
  (Dask draws with the legacy RandomState, which is slower per number; its
  raw limit is printed too.)
- 100,000 x 100,000 normal, chunks 10,000^2, row means (--full): time and peak RSS.
- 4,000 x 4,000 in 100 x 100 chunks (1,600 chunks), (x + x.T).sum(): seconds per chunk.
- Seed 003's Monte-Carlo pi on 10 GB of virtual data in 200 MB chunks.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _harness import best_of_interleaved, compare  # noqa: E402

ROW_MEANS = """
import importlib
da = importlib.import_module(lib_name + ".array")
def run():
    x = da.random.normal(0, 1, size=({n}, {n}), chunks=({c}, {c}))
    rs = da.mean(x, axis=1).compute(scheduler="threads", num_workers=2)
    assert rs.shape == ({n},)
    return round(float(abs(rs).max()), 2)
"""

RAW_ROW_MEANS = """
import numpy as np
from concurrent.futures import ThreadPoolExecutor
LEGACY = {legacy}
N, C = {n}, {c}
def chunk(ij):
    i, j = ij
    if LEGACY:
        block = np.random.RandomState(i * 1000 + j).normal(0, 1, size=(C, C))
    else:
        ss = np.random.SeedSequence(1, spawn_key=(0, i * (N // C) + j))
        block = np.random.Generator(np.random.PCG64(ss)).normal(0, 1, size=(C, C))
    return i, block.sum(axis=1)
def run():
    sums = np.zeros(N)
    with ThreadPoolExecutor(2) as pool:
        for i, s in pool.map(chunk, [(i, j) for i in range(N // C) for j in range(N // C)]):
            sums[i * C:(i + 1) * C] += s
    rs = sums / N
    return round(float(abs(rs).max()), 2)
"""

TRANSPOSE_SUM = """
import importlib
da = importlib.import_module(lib_name + ".array")
def run():
    x = da.random.random((4000, 4000), chunks=(100, 100))
    return round(float((x + x.T).sum().compute(scheduler="threads", num_workers=2)) / 16e6, 2)
"""

CALC_PI = """
import importlib
da = importlib.import_module(lib_name + ".array")
def calc_pi_mc(size_in_bytes, chunksize_in_bytes=200e6):
    size = int(size_in_bytes / 8)
    chunksize = int(chunksize_in_bytes / 8)
    xy = da.random.uniform(0, 1, size=(size / 2, 2), chunks=(chunksize / 2, 2))
    in_circle = ((xy ** 2).sum(axis=-1) < 1)
    return 4 * in_circle.mean()
def run():
    return round(float(calc_pi_mc(10e9).compute(scheduler="threads", num_workers=2)), 3)
"""




def print_interleaved(name: str, res: dict, repeat: int) -> None:
    """The 20k case's lines: teem and Dask, then each raw limit with its ratio."""
    def fmt(r):
        return "ERROR " + r["error"] if "error" in r else f"{r['seconds']:.3f} s peak {r['peak_rss'] / 2**20:.0f} MiB"
    best = f" [best of {repeat}, run alternately]" if repeat > 1 else ""
    line = f"{name:<48} teem {fmt(res['teem'])}"
    if "dask" in res:
        line += f" | dask {fmt(res['dask'])}"
        if "seconds" in res["dask"] and "seconds" in res["teem"]:
            line += f" | dask/teem = {res['dask']['seconds'] / res['teem']['seconds']:.1f}x"
    print(line + best, flush=True)
    for label, text, against in (("raw", "  raw limit: ThreadPoolExecutor(2), same PCG64", "teem"),
                                 ("raw-legacy", "  raw limit with legacy RandomState (Dask's)", "dask")):
        r, other = res.get(label), res.get(against, {})
        if r is None:
            continue
        ratio = f" | {against}/raw = {other['seconds'] / r['seconds']:.3f}x" \
            if "seconds" in r and "seconds" in other else ""
        print(f"{text:<48} raw {fmt(r)}{ratio}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also the 80 GB row means")
    parser.add_argument("--teem-only", action="store_true", help="skip Dask")
    parser.add_argument("--repeat", type=int, default=1, help="fresh runs per library and case (best kept)")
    parser.add_argument("--only", default="", help="run cases whose name contains this")
    args = parser.parse_args()
    libs = ("teem",) if args.teem_only else ("teem", "dask")

    def wanted(name):
        return args.only in name

    name = "20k^2 normal, chunks 5k^2, mean(axis=1)"
    if wanted(name):
        # teem against its raw limit is a few-percent comparison: run them alternately.
        runs = {"teem": ("teem", ROW_MEANS.format(n=20000, c=5000)),
                "raw": ("teem", RAW_ROW_MEANS.format(n=20000, c=5000, legacy=False))}
        if "dask" in libs:
            runs["dask"] = ("dask", ROW_MEANS.format(n=20000, c=5000))
            runs["raw-legacy"] = ("teem", RAW_ROW_MEANS.format(n=20000, c=5000, legacy=True))
        res = best_of_interleaved(runs, 3600, args.repeat)
        print_interleaved(name, res, args.repeat)
    name = "4k^2 in 100^2 chunks (1,600), (x + x.T).sum()"
    if wanted(name):
        res = compare(name, TRANSPOSE_SUM, libs=libs, repeat=args.repeat, unit_count=1600)
    name = "seed 003 calc_pi_mc: 10 GB in 200 MB chunks"
    if wanted(name):
        compare(name, CALC_PI, libs=libs, repeat=args.repeat)
    name = "100k^2 normal (80 GB), chunks 10k^2, row means"
    if args.full and wanted(name):
        compare(name, ROW_MEANS.format(n=100000, c=10000), libs=libs, repeat=1)


if __name__ == "__main__":
    main()
