"""groupby aggregations against pandas: one and several keys, dict, list and named aggregations."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import teem.dataframe as ddf

ALL = ["mean", "sum", "count", "min", "max", "std", "var", "size", "first", "last", "nunique"]


@pytest.fixture
def frames(pdf):
    return pdf, ddf.from_pandas(pdf, npartitions=5)


@pytest.mark.parametrize("func", ALL)
def test_series_groupby_every_aggregation(frames, func):
    pdf, df = frames
    got = getattr(df.groupby("s").x, func)().compute()
    want = getattr(pdf.groupby("s").x, func)()
    pdt.assert_series_equal(got, want)
    pdt.assert_series_equal(df.groupby("k").i.agg(func).compute(), pdf.groupby("k").i.agg(func))


def test_several_keys_and_frame_methods(frames, scheduler):
    pdf, df = frames
    opts = {"scheduler": scheduler}
    pdt.assert_frame_equal(df.groupby(["k", "s"]).mean(numeric_only=True).compute(**opts),
                           pdf.groupby(["k", "s"]).mean(numeric_only=True))
    pdt.assert_frame_equal(df.groupby(["k", "i"]).count().compute(**opts), pdf.groupby(["k", "i"]).count())
    pdt.assert_series_equal(df.groupby(["k", "s"]).size().compute(**opts), pdf.groupby(["k", "s"]).size())
    pdt.assert_frame_equal(df.groupby("k")[["x", "i"]].std().compute(**opts), pdf.groupby("k")[["x", "i"]].std())
    pdt.assert_frame_equal(df.groupby("k").first().compute(**opts), pdf.groupby("k").first())
    with pytest.raises(TypeError, match="numeric_only"):
        df.groupby("k").mean()


def test_dict_list_and_named_aggregations(frames):
    pdf, df = frames
    spec = {"x": ["mean", "min", "std"], "i": "sum"}
    pdt.assert_frame_equal(df.groupby(["k", "s"]).agg(spec).compute(), pdf.groupby(["k", "s"]).agg(spec))
    flat = {"x": "max", "i": "nunique"}
    pdt.assert_frame_equal(df.groupby("s").agg(flat).compute(), pdf.groupby("s").agg(flat))
    pdt.assert_frame_equal(df.groupby("k")[["x", "i"]].agg(["sum", "var"]).compute(),
                           pdf.groupby("k")[["x", "i"]].agg(["sum", "var"]))
    pdt.assert_frame_equal(df.groupby("k").x.agg(["min", "max", "last"]).compute(),
                           pdf.groupby("k").x.agg(["min", "max", "last"]))
    named = dict(a=("x", "mean"), b=("i", "nunique"), c=("s", "first"), d=("x", "size"))
    pdt.assert_frame_equal(df.groupby("k").agg(**named).compute(), pdf.groupby("k").agg(**named))
    pdt.assert_frame_equal(df.groupby("k").x.agg(lo="min", hi="max").compute(),
                           pdf.groupby("k").x.agg(lo="min", hi="max"))
    with pytest.raises(NotImplementedError, match="median"):
        df.groupby("k").x.agg("median")
    with pytest.raises(KeyError, match="not columns"):
        df.groupby("nope")


def test_tree_and_dropna(pdf):
    df = ddf.from_pandas(pdf, npartitions=20)
    got = df.groupby("i").x.var(), df.groupby("s", dropna=False).x.mean()
    pdt.assert_series_equal(got[0].compute(), pdf.groupby("i").x.var())
    pdt.assert_series_equal(got[1].compute(), pdf.groupby("s", dropna=False).x.mean())
    names = {k[0].rsplit("-", 1)[0] for k in df.groupby("i", split_every=3).x.sum().dask}
    assert "groupby-agg-combine2" in names
    pdt.assert_series_equal(df.groupby("i", split_every=3).x.sum().compute(), pdf.groupby("i").x.sum())


def test_groupby_after_filter_with_empty_partitions(pdf):
    df = ddf.from_pandas(pdf.assign(pos=np.arange(len(pdf))), npartitions=4)
    sub = df[df.pos < 20]
    want = pdf.iloc[:20].groupby("k").x.mean()
    pdt.assert_series_equal(sub.groupby("k").x.mean().compute(), want)
    none = df[df.pos < 0].groupby("k").x.mean().compute()
    assert len(none) == 0 and none.dtype == np.float64
    assert isinstance(none, pd.Series)


def test_groupby_by_series_and_series_groupby(pdf, scheduler):
    d = ddf.from_pandas(pdf, npartitions=4)
    pdt.assert_frame_equal(d.groupby(d.x > 0)[["i", "x"]].sum().compute(scheduler=scheduler),
                           pdf.groupby(pdf.x > 0)[["i", "x"]].sum())
    num = d[["i", "x"]]
    pdt.assert_frame_equal(num.groupby(num.i).sum().compute(), pdf[["i", "x"]].groupby(pdf.i).sum())  # i left out
    pdt.assert_series_equal(d.groupby(["k", d.i % 2]).x.mean().compute(scheduler=scheduler),
                            pdf.groupby(["k", pdf.i % 2]).x.mean())
    pdt.assert_series_equal(d.x.groupby(d.k).std().compute(scheduler=scheduler), pdf.x.groupby(pdf.k).std())
    pdt.assert_series_equal(d.x.groupby([d.k, d.i]).size().compute(), pdf.x.groupby([pdf.k, pdf.i]).size())


def test_as_index_false(pdf):
    d = ddf.from_pandas(pdf, npartitions=4)
    pdt.assert_frame_equal(d.groupby("k", as_index=False).x.mean().compute(),
                           pdf.groupby("k", as_index=False).x.mean())
    pdt.assert_frame_equal(d.groupby(["k", "i"], as_index=False).size().compute(),
                           pdf.groupby(["k", "i"], as_index=False).size())
    pdt.assert_frame_equal(d.groupby("k", as_index=False).agg({"x": ["sum", "mean"]}).compute(),
                           pdf.groupby("k", as_index=False).agg({"x": ["sum", "mean"]}))
    pdt.assert_frame_equal(d[["k", "x"]].groupby("k", as_index=False).max().compute(),
                           pdf[["k", "x"]].groupby("k", as_index=False).max())


def test_index_comparisons_filter(pdf, scheduler):
    d = ddf.from_pandas(pdf.set_index(pdf.index * 3), npartitions=3)
    p = pdf.set_index(pdf.index * 3)
    pdt.assert_frame_equal(d[d.index > 100].compute(scheduler=scheduler), p[p.index > 100])
    pdt.assert_series_equal(d.x[d.index % 2 == 0].compute(scheduler=scheduler), p.x[p.index % 2 == 0])
    pdt.assert_frame_equal(d.loc[(d.index >= 30) & (d.index < 60)].compute(), p.loc[(p.index >= 30) & (p.index < 60)])
    pdt.assert_index_equal((d.index + 1).compute(), p.index + 1)
