"""DataFrame/Series/Index structure, element-wise operations and reductions against pandas."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import teem
import teem.dataframe as ddf
from teem.dataframe.meta import MetaInferenceError


def test_structure_and_repr(pdf):
    df = ddf.from_pandas(pdf, npartitions=4)
    assert df.npartitions == 4 and df.known_divisions
    assert df.divisions == (0, 25, 50, 75, 99)
    assert list(df.columns) == list(pdf.columns)
    pdt.assert_series_equal(df.dtypes, pdf.dtypes)
    assert len(df._meta) == 0
    text = repr(df)
    assert text.startswith("teem DataFrame Structure:") and "npartitions=4" in text and "float64" in text
    assert "..." in text and "from_pandas" in text
    s = repr(df.x)
    assert s.startswith("teem Series Structure:") and "Name: x, dtype: float64" in s
    assert df.x.dtype == np.float64 and df.x.name == "x"
    unsorted = ddf.from_pandas(pdf.iloc[::-1], npartitions=3, sort=False)
    assert not unsorted.known_divisions and unsorted.divisions == (None,) * 4
    pdt.assert_frame_equal(unsorted.compute(), pdf.iloc[::-1])


def test_from_pandas_chunksize_and_equal_index_values():
    pdf = pd.DataFrame({"a": range(10)}, index=[0, 0, 0, 1, 1, 2, 3, 3, 3, 3])
    df = ddf.from_pandas(pdf, chunksize=2)
    parts = [p.index for p in df.to_delayed()]
    assert df.divisions[0] == 0 and df.divisions[-1] == 3
    computed = [p.compute() for p in parts]
    for a, b in zip(computed, computed[1:]):  # no index value straddles two partitions
        assert a.max() < b.min()
    pdt.assert_frame_equal(df.compute(), pdf)


def test_compute_on_every_scheduler(pdf, scheduler):
    df = ddf.from_pandas(pdf, npartitions=4)
    sub = df[(df.k == "p") & (df.i > 3)]
    pdt.assert_frame_equal(sub.compute(scheduler=scheduler), pdf[(pdf.k == "p") & (pdf.i > 3)])
    assert df.x.max().compute(scheduler=scheduler) == pdf.x.max()


def test_column_access_filter_arithmetic(pdf):
    df = ddf.from_pandas(pdf, npartitions=3)
    pdt.assert_series_equal(df.x.compute(), pdf.x)
    pdt.assert_series_equal(df["i"].compute(), pdf["i"])
    pdt.assert_frame_equal(df[["i", "x"]].compute(), pdf[["i", "x"]])
    pdt.assert_series_equal((df.i * 2 + df.x / 3 - 1).compute(), pdf.i * 2 + pdf.x / 3 - 1)
    pdt.assert_series_equal((1 - df.x).compute(), 1 - pdf.x)
    pdt.assert_series_equal((df.i >= 5).compute(), pdf.i >= 5)
    pdt.assert_series_equal((-df.x).abs().compute(), (-pdf.x).abs())
    pdt.assert_series_equal(df.x[df.x > 0].compute(), pdf.x[pdf.x > 0])
    pdt.assert_series_equal((df.i == 3).compute(), pdf.i == 3)
    pdt.assert_series_equal((df.i % 3).compute(), pdf.i % 3)
    pdt.assert_series_equal(df.x.add(df.i, fill_value=0).compute(), pdf.x.add(pdf.i, fill_value=0))
    with pytest.raises(KeyError, match="not in this DataFrame"):
        df["nope"]
    with pytest.raises(AttributeError):
        df.nope
    with pytest.raises(TypeError, match="assign"):
        df["z"] = 1


def test_elementwise_methods(pdf):
    df = ddf.from_pandas(pdf, npartitions=3)
    pdt.assert_frame_equal(df.assign(y=df.x * 2, z=1, w=lambda d: d.i + 1).compute(),
                           pdf.assign(y=pdf.x * 2, z=1, w=lambda d: d.i + 1))
    pdt.assert_series_equal(df.i.astype("float32").compute(), pdf.i.astype("float32"))
    pdt.assert_frame_equal(df.astype({"i": "int32"}).compute(), pdf.astype({"i": "int32"}))
    pdt.assert_series_equal(df.x.fillna(0).compute(), pdf.x.fillna(0))
    pdt.assert_frame_equal(df.fillna({"x": -1, "s": "?"}).compute(), pdf.fillna({"x": -1, "s": "?"}))
    pdt.assert_frame_equal(df.dropna().compute(), pdf.dropna())
    pdt.assert_frame_equal(df.dropna(subset=["x"]).compute(), pdf.dropna(subset=["x"]))
    pdt.assert_series_equal(df.x.dropna().compute(), pdf.x.dropna())
    pdt.assert_series_equal(df.s.isin(["a", "b"]).compute(), pdf.s.isin(["a", "b"]))
    pdt.assert_series_equal(df.x.where(df.x > 0, 0).compute(), pdf.x.where(pdf.x > 0, 0))
    pdt.assert_series_equal(df.x.mask(df.x > 0).compute(), pdf.x.mask(pdf.x > 0))
    pdt.assert_series_equal(df.x.isna().compute(), pdf.x.isna())
    pdt.assert_frame_equal(df.drop(columns=["t"]).compute(), pdf.drop(columns=["t"]))
    pdt.assert_frame_equal(df.rename(columns={"i": "I"}).compute(), pdf.rename(columns={"i": "I"}))


def test_accessors(pdf):
    df = ddf.from_pandas(pdf, npartitions=3)
    pdt.assert_series_equal(df.s.str.upper().compute(), pdf.s.str.upper())
    pdt.assert_series_equal(df.s.str.len().compute(), pdf.s.str.len())
    pdt.assert_series_equal(df.s.str.contains("a").compute(), pdf.s.str.contains("a"))
    pdt.assert_series_equal(df.t.dt.hour.compute(), pdf.t.dt.hour)
    pdt.assert_series_equal(df.t.dt.floor("D").compute(), pdf.t.dt.floor("D"))
    with pytest.raises(AttributeError, match="datetime"):
        df.x.dt


def test_map_partitions_and_apply(pdf):
    df = ddf.from_pandas(pdf, npartitions=4)
    out = df.map_partitions(lambda p: p.assign(r=p.i * 10))
    pdt.assert_frame_equal(out.compute(), pdf.assign(r=pdf.i * 10))
    lengths = ddf.map_partitions(len, df).compute()
    assert lengths.tolist() == [25, 25, 25, 25]
    rows = df.apply(lambda r: r.i * 2 + 1, axis=1, meta=("r", "int64"))
    pdt.assert_series_equal(rows.compute(), pdf.apply(lambda r: r.i * 2 + 1, axis=1).rename("r"))
    pdt.assert_series_equal(df.i.apply(lambda v: v + 1).compute(), pdf.i.apply(lambda v: v + 1))
    with pytest.raises(MetaInferenceError, match="meta="):
        df.map_partitions(lambda p: p["missing"])


def test_head_reads_only_the_first_partition(pdf):
    calls = []

    def load(i):
        calls.append(i)
        return pdf.iloc[i * 25:(i + 1) * 25]
    parts = [teem.delayed(load)(i) for i in range(4)]
    df = ddf.from_delayed(parts, meta=pdf.iloc[:0])
    pdt.assert_frame_equal(df.head(3, compute=True), pdf.head(3))
    assert calls == [0]
    with pytest.warns(UserWarning, match="npartitions=-1"):
        df.head(30)
    pdt.assert_frame_equal(df.head(30, npartitions=-1), pdf.head(30))


def test_len_shape_reductions(pdf, scheduler):
    df = ddf.from_pandas(pdf, npartitions=5)
    assert len(df) == 100 and len(df.x) == 100
    n, ncols = df.shape
    assert n.compute() == 100 and ncols == 5
    opts = {"scheduler": scheduler}
    for how in ["sum", "mean", "min", "max", "count", "std", "var"]:
        got = getattr(df.x, how)().compute(**opts)
        assert got == pytest.approx(getattr(pdf.x, how)()), how
        got = getattr(df.i, how)().compute(**opts)
        want = getattr(pdf.i, how)()
        assert got == pytest.approx(want) and type(got) is type(want), how
    assert df.s.max().compute(**opts) == pdf.s.max()
    assert df.s.nunique().compute(**opts) == pdf.s.nunique()
    num = df[["i", "x"]]
    for how in ["sum", "mean", "min", "max", "count", "std", "var"]:
        pdt.assert_series_equal(getattr(num, how)().compute(**opts), getattr(pdf[["i", "x"]], how)())
    pdt.assert_series_equal(df.count().compute(**opts), pdf.count())
    pdt.assert_series_equal(df.mean(numeric_only=True).compute(**opts), pdf.mean(numeric_only=True))
    pdt.assert_series_equal(df.nunique().compute(**opts), pdf.nunique())
    with pytest.raises(TypeError, match="numeric_only"):
        df.mean()


def test_tree_reduction_many_partitions():
    s = pd.Series(np.arange(1000, dtype="float64"))
    ds = ddf.from_pandas(s, npartitions=100)
    total = ds.sum(split_every=4)
    assert total.compute() == s.sum()
    names = {k[0].rsplit("-", 1)[0] for k in total.dask}
    assert {"sum-combine1", "sum-combine2", "sum-combine3"} <= names
    assert ds.var(split_every=3).compute() == pytest.approx(s.var())


def test_empty_partitions_keep_dtypes(pdf):
    df = ddf.from_pandas(pdf, npartitions=4)
    sub = df[df.i > 100]
    assert np.isnan(sub.i.max().compute()) and np.isnan(pdf.i[pdf.i > 100].max())
    df = ddf.from_pandas(pdf.assign(pos=np.arange(100)), npartitions=4)
    few = df[df.pos < 10]  # three empty partitions
    got = few.i.max().compute()
    assert got == pdf.i[:10].max() and isinstance(got, np.integer)
    assert few.x.var().compute() == pytest.approx(pdf.x[:10].var())


def test_value_counts_and_unique(pdf, scheduler):
    df = ddf.from_pandas(pdf, npartitions=4)
    got = df.s.value_counts().compute(scheduler=scheduler)
    want = pdf.s.value_counts()
    pdt.assert_series_equal(got.sort_index(), want.sort_index())
    assert got.is_monotonic_decreasing
    pdt.assert_series_equal(df.k.value_counts(normalize=True).compute().sort_index(),
                            pdf.k.value_counts(normalize=True).sort_index())
    pdt.assert_series_equal(df.s.value_counts(dropna=False).compute().sort_index(),
                            pdf.s.value_counts(dropna=False).sort_index())
    assert sorted(df.k.unique().compute()) == ["p", "q"]


def test_scalars_combine(pdf):
    df = ddf.from_pandas(pdf, npartitions=3)
    rng = df.i.max() - df.i.min()
    assert rng.compute() == pdf.i.max() - pdf.i.min()
    centered = df.x - df.x.mean()
    pdt.assert_series_equal(centered.compute(), pdf.x - pdf.x.mean(), check_exact=False)
    mn, mx = teem.compute(df.x.min(), df.x.max())
    assert (mn, mx) == (pdf.x.min(), pdf.x.max())
    with pytest.raises(TypeError, match="compute"):
        bool(df.x.max())


def test_from_dict_from_delayed_persist_index(pdf):
    df = ddf.from_dict({"a": [1, 2, 3, 4], "b": [5.0, 6, 7, 8]}, npartitions=2)
    pdt.assert_frame_equal(df.compute(), pd.DataFrame({"a": [1, 2, 3, 4], "b": [5.0, 6, 7, 8]}))
    parts = [teem.delayed(lambda i: pdf.iloc[i * 50:(i + 1) * 50])(i) for i in range(2)]
    d = ddf.from_delayed(parts)
    assert d.npartitions == 2
    pdt.assert_frame_equal(d.compute(), pdf)
    bad = ddf.from_delayed([teem.delayed(lambda: pdf[["i"]])()], meta=pdf.iloc[:0])
    with pytest.raises(ValueError, match="columns"):
        bad.compute()
    p = ddf.from_pandas(pdf, npartitions=3).x.persist()
    assert all(type(t).__name__ == "DataNode" for t in p.dask.values())
    pdt.assert_series_equal(p.compute(), pdf.x)
    idx = ddf.from_pandas(pdf, npartitions=3).index
    pdt.assert_index_equal(idx.compute(), pdf.index)
    assert idx.max().compute() == 99


def test_misaligned_partitions_raise(pdf):
    a = ddf.from_pandas(pdf, npartitions=3)
    b = ddf.from_pandas(pdf, npartitions=4)
    with pytest.raises(ValueError, match="repartition"):
        a.x + b.x
    pdt.assert_frame_equal(ddf.concat([a, b]).compute(), pd.concat([pdf, pdf]))
