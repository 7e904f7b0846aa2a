"""Parquet: hive folders (to_parquet(partition_on=), read_parquet as pandas reads them, filters that
prune whole files unopened) and divisions from row-group statistics."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import teem.dataframe as ddf
from teem.dataframe.io.parquet import ParquetPiece
from teem.dataframe.optimize import pushdown


@pytest.fixture
def frame():
    rng = np.random.default_rng(4)
    n = 96
    i = np.arange(n)  # every (year, carrier) pair in every third of the rows
    return pd.DataFrame({"a": i, "v": rng.normal(size=n).round(4), "year": 2013 + i % 3,
                         "carrier": np.array(["UA", "AA", "B6"])[(i // 3) % 3]})


def _by_a(frame):
    return frame.sort_values("a").reset_index(drop=True)


def test_partition_on_writes_hive_folders_read_as_pandas_reads_them(frame, tmp_path, scheduler):
    root = str(tmp_path / "hive")
    written = ddf.from_pandas(frame, npartitions=3).to_parquet(root, partition_on=["year", "carrier"],
                                                               compute_kwargs={"scheduler": scheduler})
    assert len(written) == 27 and all("/year=" in p and "/carrier=" in p for p in written)
    assert sorted({p.rsplit("/", 1)[1] for p in written}) == ["part.0.parquet", "part.1.parquet", "part.2.parquet"]
    want = pd.read_parquet(root)
    back = ddf.read_parquet(root)
    assert back.npartitions == 27
    pdt.assert_series_equal(back.dtypes, want.dtypes)  # year, carrier: categoricals, pandas' categories
    assert back._meta.year.dtype == want.year.dtype and back._meta.carrier.dtype == want.carrier.dtype
    got = back.compute(scheduler=scheduler)
    pdt.assert_frame_equal(got, want)  # same rows, order, index
    pdt.assert_frame_equal(_by_a(got[["a", "v"]]), _by_a(frame[["a", "v"]]))
    # columns=, and projection pushdown never asks a file for a folder column
    pdt.assert_frame_equal(ddf.read_parquet(root, columns=["a", "carrier"]).compute(),
                           pd.read_parquet(root, columns=["a", "carrier"]))
    total = back.a.sum()
    graph = pushdown(total.dask, [total.key])
    pieces = [t.args[0] for t in graph.values() if t.args and isinstance(t.args[0], ParquetPiece)]
    assert len(pieces) == 27 and {tuple(p.columns) for p in pieces} == {("a",)}
    assert total.compute(scheduler=scheduler) == frame.a.sum()


def test_filters_on_folder_columns_prune_files_unopened(frame, tmp_path, opened):
    root = str(tmp_path / "hive")
    ddf.from_pandas(frame, npartitions=2).to_parquet(root, partition_on=["year", "carrier"])
    cases = [
        [("year", ">=", 2014), ("carrier", "==", "UA")],
        [("year", "in", [2013, 2015]), ("v", ">", 0)],          # a folder column and a file column
        [[("year", "==", 2013)], [("carrier", "!=", "AA"), ("a", "<", 40)]],  # OR of ANDs
    ]
    for filters in cases:
        want = pd.read_parquet(root, filters=filters)
        got = ddf.read_parquet(root, filters=filters)
        opened.clear()
        result = got.compute(scheduler="sync")
        pdt.assert_frame_equal(_by_a(result), _by_a(want))
        assert len(set(opened)) == got.npartitions  # the files the folders rule out are never opened
    pruned = ddf.read_parquet(root, filters=[("year", "==", 2014), ("carrier", "==", "UA")])
    assert pruned.npartitions == 2  # one folder, one file per written partition
    opened.clear()
    assert len(pruned.compute()) == ((frame.year == 2014) & (frame.carrier == "UA")).sum()
    assert len(opened) == 2 and all("/year=2014/carrier=UA/" in p for p in opened)
    nothing = ddf.read_parquet(root, filters=[("year", "==", 1999)])
    assert nothing.npartitions == 1 and len(nothing.compute()) == 0


def test_divisions_from_row_group_statistics_round_trip(tmp_path, scheduler):
    index = pd.date_range("2013-01-01", periods=120, freq="D", name="day")
    frame = pd.DataFrame({"x": np.arange(120.0), "k": np.arange(120) % 7}, index=index)
    d = ddf.from_pandas(frame, npartitions=5)
    assert d.known_divisions
    d.to_parquet(str(tmp_path / "pq"), row_group_size=10, compute_kwargs={"scheduler": scheduler})
    back = ddf.read_parquet(str(tmp_path / "pq"), calculate_divisions=True)
    assert back.divisions == d.divisions
    assert not ddf.read_parquet(str(tmp_path / "pq")).known_divisions  # only when asked (reads footers)
    pdt.assert_frame_equal(back.compute(scheduler=scheduler), frame, check_freq=False)
    pdt.assert_frame_equal(back.loc["2013-02-03":"2013-03-01"].compute(), frame.loc["2013-02-03":"2013-03-01"],
                           check_freq=False)
    # index= a column: divisions of that column
    ddf.from_pandas(frame.reset_index(), npartitions=4).to_parquet(str(tmp_path / "flat"), write_index=False)
    by_k = ddf.read_parquet(str(tmp_path / "flat"), index="day", calculate_divisions=True)
    assert by_k.known_divisions and by_k.divisions[0] == index[0] and by_k.divisions[-1] == index[-1]
    pdt.assert_frame_equal(by_k.compute(), frame, check_freq=False)
    # overlapping files: divisions stay unknown rather than wrong
    ddf.from_pandas(frame.reset_index(), npartitions=3).to_parquet(str(tmp_path / "k"), write_index=False)
    assert not ddf.read_parquet(str(tmp_path / "k"), index="k", calculate_divisions=True).known_divisions
