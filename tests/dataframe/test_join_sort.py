"""merge/join (broadcast and hash), set_index/sort_values (sampled ranges + shuffle), loc, repartition."""

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest

import teem.dataframe as ddf
from teem.core.graph import flatten


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.fixture
def sides():
    rng = np.random.default_rng(3)
    left = pd.DataFrame({"k": rng.integers(0, 25, 120), "j": rng.choice(["u", "v"], 120),
                         "a": rng.normal(size=120).round(3)})
    right = pd.DataFrame({"k": np.arange(0.0, 30.0), "j": ["u", "v"] * 15, "b": np.arange(30)})
    return left, right


@pytest.mark.parametrize("how", ["inner", "left", "right", "outer"])
def test_hash_merge_every_how(sides, how, scheduler):
    left, right = sides
    l, r = ddf.from_pandas(left, npartitions=4), ddf.from_pandas(right, npartitions=3)
    got = l.merge(r, on="k", how=how).compute(scheduler=scheduler)  # int keys meet float keys
    pdt.assert_frame_equal(_sorted(got), _sorted(left.merge(right, on="k", how=how)))
    got = ddf.merge(l, r, left_on=["k", "j"], right_on=["k", "j"], how=how, suffixes=("_l", "_r"))
    pdt.assert_frame_equal(_sorted(got.compute(scheduler=scheduler)),
                           _sorted(left.merge(right, on=["k", "j"], how=how, suffixes=("_l", "_r"))))


def test_broadcast_when_one_side_is_small(sides):
    left, right = sides
    l = ddf.from_pandas(left, npartitions=4)
    for small in (right, ddf.from_pandas(right, npartitions=1)):
        joined = l.merge(small, on="k", how="left")
        assert not any("shuffle" in str(k) or "split" in str(k) for k in flatten([joined._graph]))
        assert joined.npartitions == 4
        pdt.assert_frame_equal(_sorted(joined.compute()), _sorted(left.merge(right, on="k", how="left")))
    got = ddf.merge(ddf.from_pandas(right, npartitions=1), l, on="k", how="right", suffixes=("_r", "_l"))
    pdt.assert_frame_equal(_sorted(got.compute()), _sorted(right.merge(left, on="k", how="right",
                                                                       suffixes=("_r", "_l"))))
    outer = l.merge(right, on="k", how="outer")  # cannot broadcast: the small side's rows must stay
    assert any("split" in str(k) for k in flatten([outer._graph]))
    pdt.assert_frame_equal(_sorted(outer.compute()), _sorted(left.merge(right, on="k", how="outer")))


def test_a_side_of_few_partitions_is_broadcast(sides, scheduler):
    """The flights merge with planes in 2 partitions: broadcast, as one whole, to 12 partitions."""
    left, right = sides
    l, r = ddf.from_pandas(left, npartitions=12), ddf.from_pandas(right, npartitions=2)
    for how in ("inner", "left"):
        joined = l.merge(r, on="k", how=how)
        assert not any("split" in str(k) for k in flatten([joined._graph])) and joined.npartitions == 12
        pdt.assert_frame_equal(_sorted(joined.compute(scheduler=scheduler)),
                               _sorted(left.merge(right, on="k", how=how)))
    assert any("split" in str(k) for k in flatten([l.merge(r, on="k", how="outer")._graph]))
    assert any("split" in str(k) for k in flatten([l.merge(r, on="k", broadcast=False)._graph]))
    wide = ddf.from_pandas(right, npartitions=5)  # more than a few: hashed
    assert any("split" in str(k) for k in flatten([l.merge(wide, on="k")._graph]))


def test_index_joins(sides, scheduler):
    left, right = sides
    rix = right.set_index("k")
    l, r = ddf.from_pandas(left, npartitions=3), ddf.from_pandas(rix, npartitions=2)
    got = l.join(r, on="k", suffixes=("", "_r")).compute(scheduler=scheduler)
    want = left.join(rix, on="k", suffixes=("", "_r"))
    pdt.assert_frame_equal(l.join(r, on="k", rsuffix="_r").compute(scheduler=scheduler).sort_index(),
                           want.sort_index())
    pdt.assert_frame_equal(got.sort_index(), want.sort_index())
    lix = left.drop_duplicates("k").set_index("k")[["a"]]
    got = ddf.from_pandas(lix, npartitions=3).join(r, how="inner").compute(scheduler=scheduler)
    pdt.assert_frame_equal(got.sort_index(), lix.join(rix, how="inner").sort_index())
    got = ddf.merge(ddf.from_pandas(lix, npartitions=2), r, left_index=True, right_index=True, how="outer")
    pdt.assert_frame_equal(got.compute().sort_index(), lix.merge(rix, left_index=True, right_index=True,
                                                                 how="outer").sort_index())


@pytest.fixture
def messy():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"x": rng.integers(0, 40, 300).astype(float), "s": rng.choice(list("abcdefgh"), 300),
                          "v": rng.normal(size=300)})
    frame.loc[::17, "x"] = np.nan
    return frame


def test_sort_values_equals_pandas_stable_sort(messy, scheduler):
    d = ddf.from_pandas(messy, npartitions=6)
    cases = [dict(by="x"), dict(by="x", ascending=False), dict(by="x", na_position="first"),
             dict(by=["s", "x"], ascending=[False, True]), dict(by="s")]
    for kw in cases:
        got = d.sort_values(**kw).compute(scheduler=scheduler)
        pdt.assert_frame_equal(got, messy.sort_values(kind="stable", **kw))
    pdt.assert_series_equal(d.v.sort_values().compute(scheduler=scheduler), messy.v.sort_values(kind="stable"))


def test_shuffle_pieces_are_separate_tasks(messy):
    d = ddf.from_pandas(messy, npartitions=6)
    graph = flatten([d.sort_values("x")._graph])
    pieces = [k for k in graph if isinstance(k, tuple) and k[0].startswith("sort-values-piece")]
    assert len(pieces) == 36  # one per input and output partition
    outputs = [k for k in graph if isinstance(k, tuple) and k[0].startswith("sort-values-") and len(k) == 2
               and "split" not in k[0] and "piece" not in k[0]]
    assert all(len(graph[k].dependencies) == 6 for k in outputs)


def test_set_index_divisions_and_loc(messy, scheduler):
    d = ddf.from_pandas(messy, npartitions=5)
    s = d.set_index("s")
    assert s.known_divisions and s.divisions[0] == "a" and s.divisions[-1] == "h"
    want = messy.set_index("s").sort_index(kind="stable")
    pdt.assert_frame_equal(s.compute(scheduler=scheduler), want)
    part = s.loc["c":"d"]
    assert part.npartitions < s.npartitions  # only the partitions that can hold c..d
    pdt.assert_frame_equal(part.compute(scheduler=scheduler), want.loc["c":"d"])
    pdt.assert_frame_equal(s.loc["e"].compute(scheduler=scheduler), want.loc[["e"]])
    assert s.loc["e"].npartitions == 1
    pdt.assert_frame_equal(s.loc[["b", "g"], ["v"]].compute(scheduler=scheduler), want.loc[["b", "g"], ["v"]])
    unknown = ddf.from_pandas(messy, npartitions=3, sort=False)  # no divisions: every partition asked
    pdt.assert_frame_equal(unknown.loc[40:60].compute(), messy.loc[40:60])
    x = d.set_index("x", npartitions=3)
    assert x.npartitions <= 3
    pdt.assert_frame_equal(x.compute(), messy.set_index("x").sort_index(kind="stable"))


def test_set_index_sorted_and_given_divisions():
    frame = pd.DataFrame({"t": np.arange(50), "v": np.arange(50.0) ** 2})
    d = ddf.from_pandas(frame, npartitions=4, sort=False)
    fast = d.set_index("t", sorted=True)
    assert fast.divisions == (0, 13, 26, 39, 49)
    pdt.assert_frame_equal(fast.compute(), frame.set_index("t"))
    given = d.set_index("t", divisions=[0, 10, 20, 49])
    assert given.npartitions == 3
    pdt.assert_frame_equal(given.loc[12:25].compute(), frame.set_index("t").loc[12:25])
    shuffled = ddf.from_pandas(frame.sample(frac=1, random_state=1), npartitions=3, sort=False)
    with pytest.raises(ValueError, match="not sorted"):
        shuffled.set_index("t", sorted=True)


def test_hash_shuffle_groups_equal_keys(messy):
    d = ddf.from_pandas(messy, npartitions=4)
    shuffled = d.shuffle("s", npartitions=3)
    parts = [shuffled.get_partition(i).compute() for i in range(3)]
    assert sum(len(p) for p in parts) == len(messy)
    seen = [set(p.s) for p in parts]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1:])  # each key in one partition
    pdt.assert_frame_equal(shuffled.compute().sort_index(), messy)


def test_repartition(messy):
    d = ddf.from_pandas(messy, npartitions=6)
    for n in (1, 4, 6, 13):
        r = d.repartition(npartitions=n)
        assert r.npartitions == n
        pdt.assert_frame_equal(r.compute(), messy)
    assert d.repartition(npartitions=3).divisions == (0, 100, 200, 299)
    r = d.repartition(divisions=[0, 50, 51, 299])
    assert [len(r.get_partition(i).compute()) for i in range(3)] == [50, 1, 249]
    pdt.assert_frame_equal(r.compute(), messy)
    with pytest.raises(ValueError, match="set_index"):
        ddf.from_pandas(messy, npartitions=2, sort=False).repartition(divisions=[0, 5])


def test_disk_shuffle_spills_pieces_and_cleans_up(messy, sides, tmp_path, scheduler):
    import os
    import teem
    d = ddf.from_pandas(messy, npartitions=5)
    with teem.config.set({"temporary-directory": str(tmp_path)}):
        s = d.set_index("s", shuffle_method="disk")
        pdt.assert_frame_equal(s.compute(scheduler=scheduler), messy.set_index("s").sort_index(kind="stable"))
        got = d.sort_values(["x", "v"], shuffle_method="disk").compute(scheduler=scheduler)
        pdt.assert_frame_equal(got, messy.sort_values(["x", "v"], kind="stable"))
        left, right = sides
        m = ddf.from_pandas(left, npartitions=3).merge(ddf.from_pandas(right, npartitions=2), on="k",
                                                       how="outer", shuffle_method="disk")
        pdt.assert_frame_equal(_sorted(m.compute(scheduler=scheduler)), _sorted(left.merge(right, on="k", how="outer")))
    leftover = [f for _, _, files in os.walk(tmp_path) for f in files]
    assert leftover == []  # every piece file was read once and removed
    with pytest.raises(ValueError, match="'tasks'"):
        d.sort_values("x", shuffle_method="magic")
