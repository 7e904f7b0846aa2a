"""The parsed-partition cache: hits across computes, column subsets, stale files, limits, no mutation."""

import glob
import os
import time

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import teem
import teem.dataframe as ddf
from teem.dataframe.io.cache import PartitionCache, cache_limit, frame_nbytes, partition_cache


def _frame(i: int, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(i)
    return pd.DataFrame({"id": np.arange(i * n, (i + 1) * n), "v": rng.normal(size=n).round(3),
                         "k": rng.choice(["a", "b"], n)})


@pytest.fixture
def csvs(tmp_path):
    for i in range(3):
        (tmp_path / f"p{i}.csv.gz").write_bytes(__import__("gzip").compress(_frame(i).to_csv(index=False).encode()))
    return str(tmp_path / "*.csv.gz"), pd.concat([_frame(i) for i in range(3)], ignore_index=True)


@pytest.fixture(autouse=True)
def fresh_cache():
    partition_cache().clear()
    with teem.config.set({"dataframe.cache-size": "64MiB"}):
        yield partition_cache()
    partition_cache().clear()


def test_second_compute_and_column_subsets_are_hits(csvs, fresh_cache):
    path, want = csvs
    df = ddf.read_csv(path)
    pdt.assert_frame_equal(df.compute(scheduler="sync").reset_index(drop=True), want)
    assert (fresh_cache.hits, fresh_cache.misses, len(fresh_cache)) == (0, 3, 3)
    assert df.v.max().compute(scheduler="threads") == want.v.max()  # a subset of the cached frames
    got = df[df.k == "a"].groupby("k").v.sum().compute(scheduler="sync")
    pdt.assert_series_equal(got, want[want.k == "a"].groupby("k").v.sum())
    assert (fresh_cache.hits, fresh_cache.misses) == (6, 3)


def test_narrow_reads_widen_when_new_columns_come(csvs, fresh_cache):
    path, want = csvs
    df = ddf.read_csv(path)
    assert df.v.max().compute(scheduler="sync") == want.v.max()
    assert fresh_cache.misses == 3
    assert df.id.sum().compute(scheduler="sync") == want.id.sum()  # new column: parsed with v
    assert fresh_cache.misses == 6 and len(fresh_cache) == 3       # the narrow entries were replaced
    assert {k[1] for k in fresh_cache._entries} == {frozenset({"id", "v"})}
    assert (df.v + df.id).sum().compute(scheduler="sync") == (want.v + want.id).sum()
    assert fresh_cache.hits == 3
    pdt.assert_frame_equal(df.compute(scheduler="sync").reset_index(drop=True), want)
    assert df.k.nunique().compute(scheduler="sync") == 2
    assert (fresh_cache.hits, fresh_cache.misses) == (6, 9)


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_changed_file_is_never_served_stale(tmp_path, scheduler):
    path = tmp_path / "a.csv"
    path.write_text("x,y\n1,2\n3,4\n")
    df = ddf.read_csv(str(path))
    assert df.x.sum().compute(scheduler=scheduler) == 4
    assert df.x.sum().compute(scheduler=scheduler) == 4
    path.write_text("x,y\n5,2\n7,4\n")  # same size, new content
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert df.x.sum().compute(scheduler=scheduler) == 12  # the graph built before the change, re-read
    assert ddf.read_csv(str(path)).x.sum().compute(scheduler=scheduler) == 12


def test_results_and_partitions_never_mutate_the_cache(csvs, fresh_cache):
    path, want = csvs
    df = ddf.read_csv(path)
    first = df.compute(scheduler="sync")
    first.loc[first.index[0], "v"] = 1e9
    first["new"] = 1

    def scribble(part):
        part.iloc[0, 1] = -1e9  # in place: the cached frame must not see it
        part["w"] = 0
        return part
    df.map_partitions(scribble).compute(scheduler="sync")
    df.assign(w=df.v * 2).compute(scheduler="threads")
    again = df.compute(scheduler="sync")
    assert fresh_cache.hits >= 6
    pdt.assert_frame_equal(again.reset_index(drop=True), want)


def test_limit_evicts_least_recently_used_and_zero_disables(csvs):
    path, want = csvs
    one = frame_nbytes(_frame(0))
    with teem.config.set({"dataframe.cache-size": int(one * 2.5)}):
        df = ddf.read_csv(path)
        pdt.assert_frame_equal(df.compute(scheduler="sync").reset_index(drop=True), want)
        cache = partition_cache()
        assert len(cache) == 2 and cache.nbytes <= one * 2.5
        assert sorted(os.path.basename(k[0][0]) for k in cache._entries) == ["p1.csv.gz", "p2.csv.gz"]
    with teem.config.set({"dataframe.cache-size": 0}):
        df = ddf.read_csv(path)
        assert df.id.sum().compute(scheduler="sync") == want.id.sum()
        assert len(partition_cache()) == 0 and partition_cache().hits == 0


def test_cache_limit_forms_and_errors():
    assert cache_limit(0) == 0 and cache_limit(False) == 0
    assert cache_limit("2 MiB") == 2 * 2**20 and cache_limit(1000) == 1000
    assert 0 < cache_limit(0.1) < cache_limit(0.5)
    with teem.config.set({"dataframe.cache-size": "1kB"}):
        assert cache_limit() == 1000
    with pytest.raises(ValueError, match="fraction of memory"):
        cache_limit("lots")


def test_cache_object_directly():
    cache = PartitionCache(10**6)
    calls = []

    def parse(columns):
        calls.append(columns)
        frame = pd.DataFrame({"a": [1, 2], "b": [3.0, 4.0], "c": ["x", "y"]})
        return frame if columns is None else frame[[c for c in frame.columns if c in columns]]
    ident = [(1, 1)]
    got = cache.get_or_parse("f", lambda: ident[0], (0, None, None), "t", ["b"], parse)
    assert list(got.columns) == ["b"] and calls == [["b"]]
    got = cache.get_or_parse("f", lambda: ident[0], (0, None, None), "t", ["a", "c"], parse)
    assert list(got.columns) == ["a", "c"] and sorted(calls[1]) == ["a", "b", "c"]  # widened
    assert len(cache) == 1
    assert list(cache.get_or_parse("f", lambda: ident[0], (0, None, None), "t", ["b"], parse).columns) == ["b"]
    assert len(calls) == 2
    ident[0] = (1, 2)  # the file changed
    cache.get_or_parse("f", lambda: ident[0], (0, None, None), "t", ["b"], parse)
    assert len(calls) == 3 and len(cache) == 1

    def changing(columns):  # the file changes while it is read: the result is not kept
        ident[0] = (time.time_ns(), 0)
        return parse(columns)
    cache.get_or_parse("g", lambda: ident[0], (0, None, None), "t", None, changing)
    assert not any(k[0][0] == "g" for k in cache._entries)


@pytest.fixture
def bz2_csvs(tmp_path):
    import bz2
    for i in range(3):
        (tmp_path / f"p{i}.csv.bz2").write_bytes(bz2.compress(_frame(i).to_csv(index=False).encode()))
    return str(tmp_path / "*.csv.bz2"), pd.concat([_frame(i) for i in range(3)], ignore_index=True)


def _texts(cache) -> int:
    return sum(1 for key in cache._entries if key[1] == "text")


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_slow_decoders_are_decoded_once_per_session(bz2_csvs, fresh_cache, scheduler):
    """Seed 4.1: max() of one column, then a filter on others, then every column: one decode per file."""
    path, want = bz2_csvs
    df = ddf.read_csv(path)
    assert df.v.max().compute(scheduler=scheduler) == want.v.max()
    assert fresh_cache.decodes == 3 and _texts(fresh_cache) == 3  # narrow parses keep the text
    got = df[df.k == "a"].groupby("k").id.sum().compute(scheduler=scheduler)
    pdt.assert_series_equal(got, want[want.k == "a"].groupby("k").id.sum())
    assert fresh_cache.decodes == 3                               # new columns: parsed from the texts
    pdt.assert_frame_equal(df.compute(scheduler=scheduler).reset_index(drop=True), want)
    assert fresh_cache.decodes == 3 and _texts(fresh_cache) == 0  # frames of every column replace them
    assert df.count().compute(scheduler=scheduler).tolist() == [600, 600, 600]
    assert fresh_cache.decodes == 3


def test_every_column_first_keeps_frames_not_texts(bz2_csvs, fresh_cache):
    path, want = bz2_csvs
    pdt.assert_frame_equal(ddf.read_csv(path).compute(scheduler="sync").reset_index(drop=True), want)
    assert fresh_cache.decodes == 3 and _texts(fresh_cache) == 0 and len(fresh_cache) == 3
    assert ddf.read_csv(path).v.max().compute(scheduler="sync") == want.v.max()
    assert fresh_cache.decodes == 3 and fresh_cache.hits == 3


def test_files_too_big_for_the_cache_stream_without_text(bz2_csvs):
    path, want = bz2_csvs
    sizes = [os.path.getsize(p) for p in glob.glob(path)]
    smallest, biggest = min(sizes), max(sizes)
    with teem.config.set({"dataframe.cache-size": smallest * 16 - 1}):
        partition_cache().clear()
        assert ddf.read_csv(path).v.max().compute(scheduler="sync") == want.v.max()
        assert partition_cache().decodes == 0 and _texts(partition_cache()) == 0
    with teem.config.set({"dataframe.cache-size": biggest * 16}):
        partition_cache().clear()
        assert ddf.read_csv(path).v.max().compute(scheduler="sync") == want.v.max()
        assert partition_cache().decodes == 3 and _texts(partition_cache()) == 3


def test_decoded_text_follows_the_file_and_the_limit():
    cache = PartitionCache(10**6)
    ident = [(1, 1)]
    calls = []

    def decode():
        calls.append(1)
        return b"a,b\n" + b"1,2\n" * 1000
    source = (0, None, "bz2")
    first = cache.decoded("f", lambda: ident[0], source, decode, keep=False)
    assert _texts(cache) == 0 and len(calls) == 1                        # decoded, not kept
    assert cache.decoded("f", lambda: ident[0], source, decode) == first and len(calls) == 2
    assert cache.decoded("f", lambda: ident[0], source, decode, keep=False) == first and len(calls) == 2
    assert 0 < cache.nbytes < len(first)                                 # kept compressed
    ident[0] = (1, 2)                                                    # the file changed
    assert cache.decoded("f", lambda: ident[0], source, decode) == first and len(calls) == 3
    assert _texts(cache) == 1 and cache.decodes == 3
    cache.resize(10)                                                     # too small to keep it
    assert cache.decoded("f", lambda: ident[0], source, decode) == first and _texts(cache) == 0
    assert PartitionCache(0).decoded("f", lambda: ident[0], source, decode) == first


def _pid_after(part: pd.DataFrame, seconds: float, pattern: int) -> pd.DataFrame:
    i = int(part["id"].iloc[0]) // 200
    time.sleep(seconds * (1 + (i * pattern) % 4))  # uneven, differently per pattern: placement differs
    return pd.DataFrame({"first": [int(part["id"].iloc[0])], "pid": [os.getpid()]})


def test_processes_send_a_file_back_to_the_worker_that_cached_it(tmp_path):
    """Seed 6.3 on the processes scheduler: the second compute finds every partition in its worker's cache."""
    for i in range(8):
        (tmp_path / f"p{i}.csv").write_text(_frame(i).to_csv(index=False))
    df = ddf.read_csv(str(tmp_path / "p*.csv"))
    with teem.config.set({"dataframe.cache-size": "64MiB"}):
        first = df.map_partitions(_pid_after, 0.05, 1).compute(scheduler="processes", num_workers=2)
        # (tasks of 20 ms and more go one by one: tinier ones share batches, each batch one worker)
        second = df.map_partitions(_pid_after, 0.02, 3).compute(scheduler="processes", num_workers=2)
        third = df.v.max().compute(scheduler="processes", num_workers=2)
    assert third == pd.concat([_frame(i) for i in range(8)]).v.max()
    assert len(set(first.pid)) == 2  # both workers read files
    # a different computation over the same files: each partition back where it was read
    pdt.assert_frame_equal(first.sort_values("first").reset_index(drop=True),
                           second.sort_values("first").reset_index(drop=True))
