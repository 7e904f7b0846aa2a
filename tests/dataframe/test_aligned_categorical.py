"""Merges of frames with known divisions (no shuffle), categorical sort order and the .cat accessor:
against pandas."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import teem.dataframe as ddf
from teem.core.graph import flatten


def _shuffle_keys(collection) -> list:
    return [k for k in flatten([collection._graph]) if "split" in str(k) or "shuffle" in str(k)]


@pytest.fixture
def indexed():
    rng = np.random.default_rng(1)
    left = pd.DataFrame({"a": rng.normal(size=60).round(3)}, index=rng.choice(300, 60, replace=False))
    right = pd.DataFrame({"b": np.arange(90)}, index=rng.choice(300, 90, replace=False))
    return left.sort_index(), right.sort_index()


def test_merge_on_known_divisions_needs_no_shuffle(indexed, scheduler):
    left, right = indexed
    lt, rt = ddf.from_pandas(left, npartitions=4), ddf.from_pandas(right, npartitions=3)
    for how in ("inner", "left", "right", "outer") if scheduler == "sync" else ("outer",):
        merged = lt.merge(rt, left_index=True, right_index=True, how=how)
        assert not _shuffle_keys(merged)
        assert merged.known_divisions and merged.divisions == tuple(sorted(set(lt.divisions) | set(rt.divisions)))
        want = left.merge(right, left_index=True, right_index=True, how=how).sort_index()
        pdt.assert_frame_equal(merged.compute(scheduler=scheduler), want)
        joined = lt.join(rt, how=how)  # join() is index to index too
        assert not _shuffle_keys(joined)
        pdt.assert_frame_equal(joined.compute(scheduler=scheduler), left.join(right, how=how).sort_index())


def test_unknown_divisions_still_shuffle(indexed):
    left, right = indexed
    lt = ddf.from_pandas(left, npartitions=4, sort=False)
    lt = ddf.from_delayed(lt.to_delayed(), meta=left.iloc[:0])  # divisions forgotten
    merged = lt.merge(ddf.from_pandas(right, npartitions=3), left_index=True, right_index=True)
    assert _shuffle_keys(merged)
    pdt.assert_frame_equal(merged.compute().sort_index(), left.merge(right, left_index=True, right_index=True))


@pytest.fixture
def graded():
    rng = np.random.default_rng(8)
    levels = ["low", "mid", "high", "zzz", "aaa"]  # category order is not alphabetical
    return pd.DataFrame({"c": pd.Categorical(rng.choice(levels, 150), categories=levels, ordered=True),
                         "x": np.arange(150)})


@pytest.mark.parametrize("ordered", [True, False])
def test_sort_and_set_index_follow_category_order(graded, ordered, scheduler):
    frame = graded.assign(c=graded.c.cat.as_ordered() if ordered else graded.c.cat.as_unordered())
    d = ddf.from_pandas(frame, npartitions=5)
    pdt.assert_frame_equal(d.sort_values("c").compute(scheduler=scheduler), frame.sort_values("c", kind="stable"))
    pdt.assert_frame_equal(d.sort_values(["c", "x"], ascending=[False, True]).compute(scheduler=scheduler),
                           frame.sort_values(["c", "x"], ascending=[False, True], kind="stable"))
    indexed = d.set_index("c")
    levels = list(frame.c.cat.categories)
    assert [levels.index(v) for v in indexed.divisions] == sorted(levels.index(v) for v in indexed.divisions)
    pdt.assert_frame_equal(indexed.compute(scheduler=scheduler), frame.set_index("c").sort_index(kind="stable"))
    pdt.assert_series_equal(d.c.sort_values().compute(), frame.c.sort_values(kind="stable"))


def test_cat_accessor_known_and_unknown_categories(scheduler):
    values = pd.Series(np.random.default_rng(2).choice(["b", "a", "c"], 60), name="s")
    d = ddf.from_pandas(values, npartitions=4).astype("category")
    assert not d.cat.known
    with pytest.raises(NotImplementedError, match="as_known"):
        d.cat.codes
    pdt.assert_series_equal(d.compute(scheduler=scheduler), values.astype("category"))  # categories joined
    known = d.cat.as_known()
    assert known.cat.known and list(known.cat.categories) == ["a", "b", "c"]
    pdt.assert_series_equal(known.compute(scheduler=scheduler), values.astype("category"))
    pdt.assert_series_equal(known.cat.codes.compute(scheduler=scheduler), values.astype("category").cat.codes)
    ordered = known.cat.as_ordered()
    assert ordered.cat.ordered and not ordered.cat.as_unordered().cat.ordered
    pdt.assert_series_equal(ordered.compute(), values.astype("category").cat.as_ordered())
    assert not known.cat.as_unknown().cat.known
    frame = pd.DataFrame({"s": values, "n": np.arange(60)})
    df = ddf.from_pandas(frame, npartitions=3).astype({"s": "category"})
    pdt.assert_frame_equal(df.compute(), frame.astype({"s": "category"}))
    with pytest.raises(AttributeError, match="astype"):
        ddf.from_pandas(frame, npartitions=3).n.cat


def test_read_csv_category_dtype_has_unknown_categories(tmp_path, scheduler):
    """Each file has its own values: the sample cannot know the categories (Dask marks them unknown)."""
    from teem.dataframe.categorical import has_known_categories
    (tmp_path / "a.csv").write_text("k,v\nx,1\ny,2\n")
    (tmp_path / "b.csv").write_text("k,v\nz,3\nx,4\n")
    df = ddf.read_csv(str(tmp_path / "*.csv"), dtype={"k": "category"})
    assert not has_known_categories(df._meta.k.dtype)
    want = pd.concat([pd.read_csv(tmp_path / n) for n in ("a.csv", "b.csv")], ignore_index=True)
    want = want.astype({"k": "category"})
    got = df.compute(scheduler=scheduler).reset_index(drop=True)
    pdt.assert_frame_equal(got, want)
    assert list(df.k.cat.as_known().cat.categories) == ["x", "y", "z"]
    assert df.k.value_counts().compute(scheduler=scheduler).sort_index().tolist() == [2, 1, 1]
