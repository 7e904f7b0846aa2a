"""read_parquet/to_parquet (columns and filters pushed into pyarrow), to_csv, read_json/to_json."""

import glob

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import teem.dataframe as ddf
from teem.dataframe.io.parquet import ParquetPiece
from teem.dataframe.optimize import pushdown


@pytest.fixture
def frame():
    rng = np.random.default_rng(2)
    n = 120
    out = pd.DataFrame({"i": np.arange(n), "a": rng.normal(size=n), "s": rng.choice(list("abc"), n),
                        "t": pd.date_range("2020-01-01", periods=n, freq="h")})
    out.loc[::9, "s"] = None
    return out


def test_parquet_round_trip_columns_and_filters(frame, tmp_path, scheduler):
    d = ddf.from_pandas(frame, npartitions=4)
    written = d.to_parquet(str(tmp_path / "pq"), compute_kwargs={"scheduler": scheduler})
    assert [p.rsplit("/", 1)[1] for p in written] == [f"part.{i}.parquet" for i in range(4)]
    back = ddf.read_parquet(str(tmp_path / "pq"))
    assert back.npartitions == 4 and list(back.columns) == list(frame.columns)
    pdt.assert_frame_equal(back.compute(scheduler=scheduler), frame)
    some = ddf.read_parquet(str(tmp_path / "pq"), columns=["a", "s"], filters=[("i", ">=", 50), ("s", "==", "b")])
    want = frame.loc[(frame.i >= 50) & (frame.s == "b"), ["a", "s"]]
    pdt.assert_frame_equal(some.compute(scheduler=scheduler), want)
    pdt.assert_series_equal(ddf.read_parquet(str(tmp_path / "pq"), columns="a").compute(), frame.a)


def test_parquet_projection_pushdown_and_all_missing_partition(frame, tmp_path):
    frame = frame.assign(s=frame.s.where(frame.i >= 30))  # partition 0 has no value in s
    ddf.from_pandas(frame, npartitions=4).to_parquet(str(tmp_path / "pq"))
    back = ddf.read_parquet(str(tmp_path / "pq"))
    keys = [(back.a.max()._name, 0)]
    graph = pushdown(back.a.max().dask, keys)
    pieces = [t.args[0] for t in graph.values() if t.args and isinstance(t.args[0], ParquetPiece)]
    assert {tuple(p.columns) for p in pieces} == {("a",)}
    assert back.a.max().compute() == frame.a.max()
    pdt.assert_frame_equal(back.compute(), frame)


def test_to_csv_files_name_function_and_single_file(frame, tmp_path, scheduler):
    d = ddf.from_pandas(frame, npartitions=3)
    paths = d.to_csv(str(tmp_path / "out" / "part-*.csv"), index=False, name_function=lambda i: f"{i:03d}",
                     compute_kwargs={"scheduler": scheduler})
    assert [p.rsplit("/", 1)[1] for p in paths] == ["part-000.csv", "part-001.csv", "part-002.csv"]
    back = ddf.read_csv(str(tmp_path / "out" / "*.csv"), parse_dates=["t"]).compute(scheduler=scheduler)
    pdt.assert_frame_equal(back.reset_index(drop=True), frame)
    (one,) = d.to_csv(str(tmp_path / "all.csv.gz"), single_file=True, compute_kwargs={"scheduler": scheduler})
    pdt.assert_frame_equal(pd.read_csv(one, index_col=0, parse_dates=["t"]), frame)
    folder = d.to_csv(str(tmp_path / "folder"))
    assert sorted(p.rsplit("/", 1)[1] for p in folder) == ["0.part", "1.part", "2.part"]


def test_json_lines_round_trip_and_blocks(frame, tmp_path, scheduler):
    d = ddf.from_pandas(frame, npartitions=3)
    paths = d.to_json(str(tmp_path / "js" / "*.json"), date_format="iso")
    assert len(paths) == 3
    want = pd.concat([pd.read_json(p, lines=True) for p in sorted(glob.glob(str(tmp_path / "js" / "*.json")))],
                     ignore_index=True)
    for blocksize in (None, 700):
        got = ddf.read_json(str(tmp_path / "js" / "*.json"), blocksize=blocksize)
        assert got.npartitions == (3 if blocksize is None else got.npartitions) and got.npartitions >= 3
        pdt.assert_frame_equal(got.compute(scheduler=scheduler).reset_index(drop=True), want)
    assert want.i.tolist() == frame.i.tolist()
    d.to_json(str(tmp_path / "gz" / "*.json.gz"), date_format="iso")
    pdt.assert_frame_equal(ddf.read_json(str(tmp_path / "gz" / "*.json.gz")).compute().reset_index(drop=True),
                           pd.concat([pd.read_json(p, lines=True) for p in
                                      sorted(glob.glob(str(tmp_path / "gz" / "*.json.gz")))], ignore_index=True))
