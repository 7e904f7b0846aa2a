"""quantile (exact below summaries.EXACT values, approximate above), describe, nlargest/nsmallest:
against pandas (drop_duplicates and describe of mixed frames: test_distinct_describe.py)."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import teem.dataframe as ddf
from teem.dataframe import summaries


@pytest.fixture
def frame():
    rng = np.random.default_rng(7)
    out = pd.DataFrame({"i": rng.integers(0, 20, 300), "a": rng.normal(size=300),
                        "s": rng.choice(list("abcde"), 300)})
    out.loc[::7, "a"] = np.nan
    return out


def test_quantiles_are_exact_for_small_data(frame, scheduler):
    d = ddf.from_pandas(frame, npartitions=7)
    for q in (0.5, 0.1, 0.0, 1.0):
        assert d.a.quantile(q).compute(scheduler=scheduler) == frame.a.quantile(q)
        pdt.assert_series_equal(d.quantile(q, numeric_only=True).compute(scheduler=scheduler),
                                frame.quantile(q, numeric_only=True), check_exact=True)
    qs = [0.05, 0.25, 0.33, 0.9]
    pdt.assert_series_equal(d.i.quantile(qs).compute(scheduler=scheduler), frame.i.quantile(qs),
                            check_exact=True)
    pdt.assert_frame_equal(d[["i", "a"]].quantile(qs).compute(scheduler=scheduler),
                           frame[["i", "a"]].quantile(qs), check_exact=True)
    with pytest.raises(TypeError, match="numeric_only=True"):
        d.quantile(0.5)


def test_quantiles_of_big_data_are_close(monkeypatch):
    monkeypatch.setattr(summaries, "EXACT", 200)  # force thinning
    values = pd.Series(np.random.default_rng(1).normal(size=20_000))
    got = ddf.from_pandas(values, npartitions=12).quantile([0.1, 0.5, 0.9]).compute()
    assert np.abs(got.to_numpy() - values.quantile([0.1, 0.5, 0.9]).to_numpy()).max() < 0.05


def test_describe(frame, scheduler):
    d = ddf.from_pandas(frame, npartitions=5)
    pdt.assert_frame_equal(d.describe().compute(scheduler=scheduler), frame.describe())
    pdt.assert_series_equal(d.a.describe(percentiles=[0.1, 0.9]).compute(scheduler=scheduler),
                            frame.a.describe(percentiles=[0.1, 0.9]))
    pdt.assert_series_equal(d.s.describe().compute(scheduler=scheduler), frame.s.describe())
    pdt.assert_frame_equal(d[["s"]].describe().compute(scheduler=scheduler), frame[["s"]].describe())


def test_nlargest_nsmallest_drop_duplicates(frame, scheduler):
    d = ddf.from_pandas(frame, npartitions=6)
    pdt.assert_frame_equal(d.nlargest(12, "a").compute(scheduler=scheduler), frame.nlargest(12, "a"))
    pdt.assert_frame_equal(d.nsmallest(9, ["i", "a"]).compute(scheduler=scheduler), frame.nsmallest(9, ["i", "a"]))
    pdt.assert_series_equal(d.i.nlargest(15, keep="last").compute(scheduler=scheduler),
                            frame.i.nlargest(15, keep="last"))
    pdt.assert_series_equal(d.a.nsmallest(4).compute(scheduler=scheduler), frame.a.nsmallest(4))
    pdt.assert_frame_equal(d.nlargest(20, ["i", "s"][:1], keep="last").compute(), frame.nlargest(20, "i", keep="last"))
    pdt.assert_frame_equal(d.nsmallest(30, "i").compute(), frame.nsmallest(30, "i"))
    pdt.assert_frame_equal(d.drop_duplicates(subset=["i", "s"]).compute(scheduler=scheduler),
                           frame.drop_duplicates(subset=["i", "s"]))
    pdt.assert_frame_equal(d.drop_duplicates(subset="i", keep="last", split_every=2).compute(),
                           frame.drop_duplicates(subset="i", keep="last"))
    pdt.assert_series_equal(d.s.drop_duplicates().compute(), frame.s.drop_duplicates())
    pdt.assert_frame_equal(d[["s"]].drop_duplicates(ignore_index=True).compute(),
                           frame[["s"]].drop_duplicates(ignore_index=True))
    with pytest.raises(ValueError, match="keep"):
        d.drop_duplicates(keep="none")
