"""read_csv against pandas: globs and lists, compressions, encoding, dtype, usecols, parse_dates,
blocksize splitting, include_path_column, and projection pushdown."""

import bz2
import glob
import gzip
import lzma

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
import zstandard

import teem
import teem.dataframe as ddf
import teem.dataframe.reductions
from teem.dataframe.io.csv import CsvBlock
from teem.dataframe.optimize import pushdown

COMPRESSORS = {"bz2": (".bz2", bz2.compress), "gzip": (".gz", gzip.compress), "xz": (".xz", lzma.compress),
               "zstd": (".zst", lambda b: zstandard.ZstdCompressor().compress(b)), None: ("", lambda b: b)}


def _frame(i: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(i)
    v = rng.normal(size=n).round(3)
    v[::11] = np.nan
    return pd.DataFrame({
        "id": np.arange(i * n, (i + 1) * n), "v": v, "name": rng.choice(["Zoë", "Ana", "Bjørn"], n),
        "day": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
    })


@pytest.fixture
def files(tmp_path):
    """Three latin1 CSV files per compression and the pandas frame they hold."""
    made = {}
    for comp, (suffix, squeeze) in COMPRESSORS.items():
        folder = tmp_path / (comp or "plain")
        folder.mkdir()
        for i in range(3):
            text = _frame(i).to_csv(index=False).encode("latin1")
            (folder / f"part-{i}.csv{suffix}").write_bytes(squeeze(text))
        made[comp] = str(folder / f"*.csv{suffix}")
    want = pd.concat([_frame(i) for i in range(3)], ignore_index=True)
    return made, want


@pytest.mark.parametrize("comp", ["bz2", "gzip", "xz", "zstd", None])
def test_compressions_inferred_and_given(files, comp):
    paths, want = files
    df = ddf.read_csv(paths[comp], encoding="latin1")
    assert df.npartitions == 3
    got = df.compute().reset_index(drop=True)
    pdt.assert_frame_equal(got, want)
    if comp:
        given = ddf.read_csv(paths[comp], encoding="latin1", compression=comp).compute()
        pdt.assert_frame_equal(given.reset_index(drop=True), want)


def test_options_match_pandas(files, tmp_path, scheduler):
    paths, want = files
    one = sorted((tmp_path / "bz2").iterdir())[0]
    opts = dict(encoding="latin1", dtype={"v": "float32", "name": "object"}, usecols=["id", "v", "name", "day"],
                parse_dates=["day"])
    got = ddf.read_csv([str(one)], **opts)
    assert got._meta.dtypes["day"].kind == "M" and got._meta.dtypes["v"] == np.float32
    pdt.assert_frame_equal(got.compute(scheduler=scheduler), pd.read_csv(one, **opts))
    small = ddf.read_csv(paths["gzip"], encoding="latin1", usecols=["v", "id"])
    assert list(small.columns) == ["id", "v"]
    pdt.assert_frame_equal(small.compute(scheduler=scheduler).reset_index(drop=True), want[["id", "v"]])


def test_blocksize_splits_uncompressed_files(files, tmp_path):
    paths, want = files
    df = ddf.read_csv(paths[None], encoding="latin1", blocksize=1000)
    assert df.npartitions > 20
    got = df.compute().reset_index(drop=True)
    pdt.assert_frame_equal(got, want)
    parts = [len(p) for p in teem.compute(*[ddf.map_partitions(len, df.partitions[i]) for i in range(5)])]
    assert sum(parts) > 0
    whole = ddf.read_csv(paths[None], encoding="latin1", blocksize=None)
    assert whole.npartitions == 3
    assert ddf.read_csv(paths["bz2"], encoding="latin1", blocksize=1000).npartitions == 3


def test_engine_pyarrow_is_passed_on_for_every_block(files):
    """A user's engine='pyarrow' reaches every block, with a narrowed read of later blocks too."""
    paths, _ = files
    df = ddf.read_csv(paths[None], encoding="latin1", blocksize=2000, engine="pyarrow")
    assert df.npartitions > 6
    want = pd.concat([pd.read_csv(f, encoding="latin1", engine="pyarrow") for f in sorted(glob.glob(paths[None]))],
                     ignore_index=True)
    assert want.day.dtype == object  # pyarrow's own reading of dates: what the user asked for
    with teem.config.set({"dataframe.cache-size": 0}):  # every compute parses its blocks again
        pdt.assert_series_equal(df.groupby("name").v.sum().compute(), want.groupby("name").v.sum())
        assert df.v.max().compute() == want.v.max()
        pdt.assert_frame_equal(df.compute().reset_index(drop=True), want)


def test_block_boundaries_on_every_byte(tmp_path):
    text = "a,b\n" + "".join(f"{i},{'x' * (i % 5)}\n" for i in range(40))
    path = tmp_path / "t.csv"
    path.write_text(text)
    want = pd.read_csv(path)
    for blocksize in (1, 2, 3, 7, 13, 50, 1000):
        got = ddf.read_csv(str(path), blocksize=blocksize, dtype={"b": "object"}).compute()
        pdt.assert_frame_equal(got.reset_index(drop=True), pd.read_csv(path, dtype={"b": "object"}))
    assert len(want) == 40


def test_include_path_column_and_lists(files):
    paths, want = files
    import glob
    listed = sorted(glob.glob(paths["zstd"]))
    df = ddf.read_csv(listed[::-1], encoding="latin1", include_path_column=True)
    got = df.compute()
    assert isinstance(got.path.dtype, pd.CategoricalDtype)
    assert list(got.path.cat.categories) == listed[::-1]
    assert got.groupby("path", observed=True).size().tolist() == [300, 300, 300]
    pdt.assert_frame_equal(got.drop(columns="path").reset_index(drop=True),
                           pd.concat([want.iloc[600:], want.iloc[300:600], want.iloc[:300]]).reset_index(drop=True))
    named = ddf.read_csv(listed, encoding="latin1", include_path_column="file")
    assert named.file.compute().str.endswith(".zst").all()


def blocks(collection):
    """The CSV blocks a collection's graph reads, after column pushdown."""
    keys = collection.__teem_keys__()
    keys = keys if isinstance(keys, list) else [keys]
    graph = pushdown(collection.dask, keys)
    return [t.args[0] for t in graph.values() if t.args and isinstance(t.args[0], CsvBlock)]


def test_projection_pushdown_parses_only_used_columns(files):
    paths, want = files
    df = ddf.read_csv(paths["bz2"], encoding="latin1")
    assert {tuple(b.columns) for b in blocks(df.v.max())} == {("v",)}
    sub = df[df.name == "Ana"].groupby("day").v.mean()
    assert {tuple(b.columns) for b in blocks(sub)} == {("v", "name", "day")}
    assert {tuple(b.columns) for b in blocks(df.assign(w=df.v * 2)[["w", "id"]])} == {("id", "v")}
    assert all(b.columns is None for b in blocks(df))
    assert all(b.columns is None for b in blocks(df[df.v > 0]))
    assert {tuple(b.columns) for b in blocks(df.index)} == {("id",)}  # one column, to count rows
    (n,) = {tuple(b.columns) for b in blocks(ddf.reductions.length(df))}
    assert len(n) == 1
    assert len(df) == 900
    assert df.v.max().compute() == want.v.max()
    pdt.assert_series_equal(sub.compute(), want[want.name == "Ana"].groupby("day").v.mean())


def test_errors_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="no files match"):
        ddf.read_csv(str(tmp_path / "none-*.csv"))
    (tmp_path / "a.csv").write_text("x\n1\n")
    with pytest.raises(ValueError, match="blocksize"):
        ddf.read_csv(str(tmp_path / "a.csv"), chunksize=10)
    with pytest.raises(ValueError, match="compression="):
        ddf.read_csv(str(tmp_path / "a.csv"), compression="rar")


def test_pushdown_through_loc_and_repartition(files):
    paths, want = files
    df = ddf.read_csv(paths["bz2"], encoding="latin1")
    assert {tuple(b.columns) for b in blocks(df.loc[10:500].v.max())} == {("v",)}
    assert {tuple(b.columns) for b in blocks(df.repartition(npartitions=6).v.max())} == {("v",)}
    assert {tuple(b.columns) for b in blocks(df.loc[:, ["id", "v"]].v.sum())} == {("id", "v")}
    assert df.repartition(npartitions=6).v.max().compute() == want.v.max()
