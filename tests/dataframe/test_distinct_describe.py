"""drop_duplicates (keep=False, subset=, split_out=) and describe of datetime, timedelta and mixed
frames (include=/exclude=): against pandas."""

import warnings

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import teem.dataframe as ddf
from teem.core.graph import flatten


@pytest.fixture
def rows():
    rng = np.random.default_rng(11)
    n = 200
    return pd.DataFrame({"i": rng.integers(0, 40, n), "k": rng.choice(list("pqr"), n),
                         "x": rng.integers(0, 3, n).astype("float64")}, index=rng.permutation(n))


def _sorted(frame):
    return frame.sort_index()


def test_drop_duplicates_keep_false_first_last(rows, scheduler):
    d = ddf.from_pandas(rows, npartitions=7, sort=False)
    every = scheduler == "sync"  # every combination once; the other schedulers run two
    for subset in (None, ["i"], "i", ["i", "k"]) if every else (["i", "k"],):
        for keep in (False, "first", "last") if every else (False, "last"):
            got = d.drop_duplicates(subset=subset, keep=keep, split_every=3).compute(scheduler=scheduler)
            pdt.assert_frame_equal(got, rows.drop_duplicates(subset=subset, keep=keep))  # pandas' order
    pdt.assert_series_equal(d.i.drop_duplicates(keep=False).compute(scheduler=scheduler),
                            rows.i.drop_duplicates(keep=False))
    pdt.assert_frame_equal(d.drop_duplicates(subset="i", keep=False, ignore_index=True).compute(),
                           rows.drop_duplicates(subset="i", keep=False, ignore_index=True))
    # a row unique inside every partition but repeated across them is dropped
    two = pd.DataFrame({"a": [1, 2, 3, 1]})
    pdt.assert_frame_equal(ddf.from_pandas(two, npartitions=2).drop_duplicates(keep=False).compute(),
                           two.drop_duplicates(keep=False))


def test_drop_duplicates_split_out_shuffles(rows, scheduler):
    d = ddf.from_pandas(rows, npartitions=5, sort=False)
    for keep in (False, "first", "last") if scheduler == "sync" else (False,):
        out = d.drop_duplicates(subset=["i", "k"], keep=keep, split_out=3)
        assert out.npartitions == 3
        assert any("drop-duplicates-shuffle-split" in str(k) for k in flatten([out._graph]))
        pdt.assert_frame_equal(_sorted(out.compute(scheduler=scheduler)),
                               _sorted(rows.drop_duplicates(subset=["i", "k"], keep=keep)))
    got = d.k.drop_duplicates(split_out=2).compute(scheduler=scheduler)
    assert sorted(got) == sorted(rows.k.unique())
    with pytest.raises(KeyError, match="not columns"):
        d.drop_duplicates(subset=["nope"])


@pytest.fixture
def mixed():
    rng = np.random.default_rng(5)
    n = 90
    out = pd.DataFrame({
        "a": rng.normal(size=n).round(3), "i": rng.integers(0, 9, n),
        "t": pd.date_range("2013-01-01", periods=n, freq="D"),
        "s": rng.choice(["x", "y", "z"], n), "b": rng.choice([True, False], n),
        "c": pd.Categorical(rng.choice(["u", "v"], n), categories=["u", "v", "w"]),
        "tz": pd.date_range("2021-03-01", periods=n, freq="h", tz="Europe/Paris"),
        "d": pd.to_timedelta(rng.integers(0, 100, n), unit="s"),
        "ns": pd.date_range("2020-01-01", periods=n, freq="7h").astype("datetime64[ns]"),
    })
    out.loc[::5, "a"] = np.nan
    out.loc[::7, "t"] = pd.NaT
    return out


@pytest.mark.parametrize("options", [
    {}, {"include": "all"}, {"include": ["datetime"]}, {"include": ["datetimetz", "number"]},
    {"include": ["object", "category"]}, {"exclude": ["number"]}, {"include": ["timedelta"]},
    {"include": "all", "percentiles": [0.1, 0.5, 0.95]},
])
def test_describe_mixed_frames(mixed, options):
    d = ddf.from_pandas(mixed, npartitions=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas 3's notice that 'object' also selects 'str' columns
        want = mixed.describe(**options)
        got = d.describe(**options)
    assert list(got.columns) == list(want.columns)
    pdt.assert_frame_equal(got.compute(scheduler="sync"), want)


def test_describe_series_of_every_kind(mixed, scheduler):
    d = ddf.from_pandas(mixed, npartitions=3)
    for column in ("t", "tz", "d", "b", "c", "ns"):
        pdt.assert_series_equal(d[column].describe().compute(scheduler=scheduler), mixed[column].describe())
    pdt.assert_frame_equal(d.describe(include="all").compute(scheduler=scheduler), mixed.describe(include="all"))


def test_describe_reads_each_partition_once_and_names_errors(mixed):
    d = ddf.from_pandas(mixed, npartitions=4)
    out = d.describe(include="all")
    graph = out.__teem_optimize__(out.dask, out.__teem_keys__())
    roots = [k for k in graph if isinstance(k, tuple) and str(k[0]).startswith("from_pandas")]
    fused = [k for k, t in graph.items() if getattr(t, "func", None) is not None
             and getattr(t.func, "__name__", "") == "run_fused"]
    assert len(roots) == 4 and len(fused) == 4  # one task runs every statistic's chunk of a partition
    with pytest.raises(ValueError, match="no column has those dtypes"):
        d[["a"]].describe(include=["datetime"])
    with pytest.raises(ValueError, match="exclude"):
        d.describe(include="all", exclude=["number"])
    with pytest.raises(ValueError, match="duplicates"):
        d.describe(percentiles=[0.5, 0.5])
