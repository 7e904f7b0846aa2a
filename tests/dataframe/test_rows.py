"""Row selections: loc on a datetime index with partial date strings, loc[a:b] reading only the
partitions it needs, iloc[:, positions], head(npartitions=-1) and tail."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import teem.dataframe as ddf


@pytest.fixture
def daily():
    index = pd.date_range("2013-01-01", "2013-06-30 18:00", freq="6h", name="when")
    rng = np.random.default_rng(9)
    return pd.DataFrame({"delay": rng.normal(size=len(index)).round(3), "n": np.arange(len(index)),
                         "dest": rng.choice(["ORD", "LAX"], len(index))}, index=index)


def _sources(frame) -> set:
    """The input partitions (from_pandas keys) the graph of ``frame`` reads."""
    return {k[1] for k in frame.dask if isinstance(k, tuple) and str(k[0]).startswith("from_pandas")
            and k in _needed(frame)}


def _needed(frame) -> set:
    from teem.core.order import order
    return set(order(frame.dask, frame.__teem_keys__()))


def test_loc_partial_date_strings(daily, scheduler):
    d = ddf.from_pandas(daily, npartitions=6)
    for key in [slice("2013-01-05", "2013-02-10"), slice("2013-02", "2013-03"), slice(None, "2013-01-03"),
                slice("2013-06-30", None), slice("2013-03-15 06:00", "2013-03-16")]:
        got = d.loc[key]
        pdt.assert_frame_equal(got.compute(scheduler=scheduler), daily.loc[key], check_freq=False)
    pdt.assert_frame_equal(d.loc["2013-02-10"].compute(scheduler=scheduler), daily.loc["2013-02-10"],
                           check_freq=False)
    pdt.assert_frame_equal(d.loc["2013-02"].compute(), daily.loc["2013-02"], check_freq=False)
    pdt.assert_series_equal(d.loc["2013-01-05":"2013-02-10", "delay"].compute(),
                            daily.loc["2013-01-05":"2013-02-10", "delay"], check_freq=False)
    # only the partitions whose divisions meet the range are read
    starts = d.divisions
    needed = {i for i in range(6) if not (starts[i + 1] < pd.Timestamp("2013-01-05")
                                          or starts[i] > pd.Timestamp("2013-02-10 23:59"))}
    assert _sources(d.loc["2013-01-05":"2013-02-10"]) == needed and len(needed) < 6


def test_loc_range_reads_only_needed_partitions(scheduler):
    frame = pd.DataFrame({"x": np.arange(100) * 2}, index=np.arange(100) * 10)
    d = ddf.from_pandas(frame, npartitions=10)
    got = d.loc[205:412]
    assert _sources(got) == {2, 3, 4}
    assert got.divisions[0] == 205 and got.divisions[-1] == 412
    pdt.assert_frame_equal(got.compute(scheduler=scheduler), frame.loc[205:412])
    pdt.assert_frame_equal(d.loc[:35].compute(), frame.loc[:35])
    assert _sources(d.loc[:35]) == {0}


def test_iloc_columns_only(daily):
    d = ddf.from_pandas(daily, npartitions=3)
    pdt.assert_frame_equal(d.iloc[:, [0, 2]].compute(), daily.iloc[:, [0, 2]], check_freq=False)
    pdt.assert_frame_equal(d.iloc[:, 1:].compute(), daily.iloc[:, 1:], check_freq=False)
    pdt.assert_series_equal(d.iloc[:, 1].compute(), daily.iloc[:, 1], check_freq=False)
    with pytest.raises(NotImplementedError, match=r"df.iloc\[:, column_positions\]"):
        d.iloc[3]
    with pytest.raises(NotImplementedError, match="iloc selects columns only"):
        d.iloc[2:5, [0]]


def test_head_all_partitions_and_tail():
    frame = pd.DataFrame({"x": np.arange(30)})
    d = ddf.from_pandas(frame, npartitions=6)  # 5 rows each
    with pytest.warns(UserWarning, match="npartitions=-1"):
        assert len(d.head(8)) == 5
    pdt.assert_frame_equal(d.head(8, npartitions=-1), frame.head(8))
    pdt.assert_frame_equal(d.head(12, npartitions=3), frame.head(12))
    pdt.assert_frame_equal(d.tail(3), frame.tail(3))
    pdt.assert_frame_equal(d.tail(13, npartitions=-1), frame.tail(13))
    with pytest.warns(UserWarning, match="npartitions=-1"):
        assert len(d.tail(7)) == 5
    lazy = d.x.tail(2, compute=False)
    assert lazy.npartitions == 1
    pdt.assert_series_equal(lazy.compute(), frame.x.tail(2))
    with pytest.raises(ValueError, match="between 1 and"):
        d.tail(2, npartitions=9)
