"""Reductions, foldby and groupby against pure Python, on every local scheduler."""

import heapq
import math
import statistics
from collections import Counter
from functools import reduce

import pytest

import teem.bag as db
from teem.bag.groupby import stable_hash

SCHEDULERS = ["sync", "threads", "processes"]

DATA = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4, 6]
WORDS = "the quick brown fox jumps over the lazy dog the end fox".split()


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


def bags():
    yield db.from_sequence(DATA, npartitions=1)
    yield db.from_sequence(DATA, npartitions=5)
    yield db.from_sequence(DATA, partition_size=1)  # 21 partitions: a tree of three levels


def test_simple_reductions(scheduler):
    for b in bags():
        assert b.count().compute(scheduler=scheduler) == len(DATA)
        assert b.sum().compute(scheduler=scheduler) == sum(DATA)
        assert b.min().compute(scheduler=scheduler) == min(DATA)
        assert b.max().compute(scheduler=scheduler) == max(DATA)
        assert b.all().compute(scheduler=scheduler) is True
        assert b.map(lambda x: x > 8).any().compute(scheduler=scheduler) is True
        assert b.mean().compute(scheduler=scheduler) == pytest.approx(statistics.fmean(DATA))
        assert b.var().compute(scheduler=scheduler) == pytest.approx(statistics.pvariance(DATA))
        assert b.var(ddof=1).compute(scheduler=scheduler) == pytest.approx(statistics.variance(DATA))
        assert b.std().compute(scheduler=scheduler) == pytest.approx(statistics.pstdev(DATA))


def test_split_every_builds_a_tree():
    b = db.from_sequence(DATA, partition_size=1)
    item = b.sum(split_every=2)
    names = {k[0].split("-")[1] for k in item.dask if "combine" in k[0]}
    assert names == {f"combine{i}" for i in range(1, 5)}  # 21 -> 11 -> 6 -> 3 -> 2 -> 1
    assert item.compute(scheduler="sync") == sum(DATA)


def test_empty_partitions_and_empty_bags(scheduler):
    holes = db.concat([db.from_sequence([]), db.from_sequence([4, 2], npartitions=1), db.from_sequence([])])
    assert holes.max().compute(scheduler=scheduler) == 4  # an empty last partition does not fail max
    assert holes.min().compute(scheduler=scheduler) == 2
    empty = db.from_sequence([])
    assert empty.count().compute(scheduler=scheduler) == 0
    assert empty.sum().compute(scheduler=scheduler) == 0
    with pytest.raises(ValueError):  # as max([]) does
        empty.max().compute(scheduler=scheduler)
    with pytest.raises(ZeroDivisionError, match="empty"):
        empty.mean().compute(scheduler=scheduler)


def test_reduction_fold_with_user_functions(scheduler):
    for b in bags():
        assert b.reduction(sum, sum).compute(scheduler=scheduler) == sum(DATA)
        counted = b.reduction(lambda part: Counter(part), lambda cs: sum(cs, Counter()), out_type=db.Bag)
        assert sorted(counted.compute(scheduler=scheduler)) == sorted(Counter(DATA))
        assert b.fold(lambda a, x: a + x).compute(scheduler=scheduler) == sum(DATA)
        assert b.fold(lambda a, x: a + [x], lambda a, c: a + c, initial=[]).compute(scheduler=scheduler) == DATA
        assert b.fold(max).compute(scheduler=scheduler) == reduce(max, DATA)


def test_frequencies_topk_distinct(scheduler):
    for b in bags():
        assert dict(b.frequencies().compute(scheduler=scheduler)) == Counter(DATA)
        freq = b.frequencies(sort=True).compute(scheduler=scheduler)
        assert [c for _, c in freq] == sorted(Counter(DATA).values(), reverse=True)
        assert b.topk(4).compute(scheduler=scheduler) == heapq.nlargest(4, DATA)
        assert b.topk(3, key=lambda x: -x).compute(scheduler=scheduler) == heapq.nsmallest(3, DATA)
        assert b.distinct().compute(scheduler=scheduler) == list(dict.fromkeys(DATA))
        assert b.topk(2).npartitions == 1
    words = db.from_sequence(WORDS, npartitions=3)
    first_of_each_length: dict = {}
    for w in WORDS:
        first_of_each_length.setdefault(len(w), w)
    assert words.distinct(key=len).compute(scheduler=scheduler) == list(first_of_each_length.values())


def test_foldby(scheduler):
    for b in bags():
        out = b.foldby(lambda x: x % 3, lambda acc, x: acc + x, 0).compute(scheduler=scheduler)
        expected = {k: sum(x for x in DATA if x % 3 == k) for k in range(3)}
        assert dict(out) == expected and len(out) == 3
        out = b.foldby(lambda x: x % 2, lambda acc, x: max(acc, x), combine=max).compute(scheduler=scheduler)
        assert dict(out) == {0: max(x for x in DATA if x % 2 == 0), 1: max(x for x in DATA if x % 2 == 1)}
    records = db.from_sequence([{"k": w[0], "n": len(w)} for w in WORDS], npartitions=4)
    out = records.foldby("k", lambda acc, r: acc + r["n"], 0, lambda a, b: a + b, 0).compute(scheduler=scheduler)
    assert dict(out) == {c: sum(len(w) for w in WORDS if w[0] == c) for c in {w[0] for w in WORDS}}
    lists = db.from_sequence(WORDS, npartitions=3).foldby(len, lambda acc, w: acc + [w], list,
                                                          lambda a, b: a + b, [])
    assert {k: sorted(v) for k, v in lists.compute(scheduler=scheduler)} == {
        n: sorted(w for w in WORDS if len(w) == n) for n in {len(w) for w in WORDS}}


def test_groupby_hash_shuffle(scheduler):
    b = db.from_sequence(WORDS * 3, npartitions=4)
    for npartitions in (None, 1, 3, 7):
        g = b.groupby(len, npartitions=npartitions)
        assert g.npartitions == (npartitions or 4)
        out = g.compute(scheduler=scheduler)
        expected = {}
        for w in WORDS * 3:
            expected.setdefault(len(w), []).append(w)
        assert len(out) == len(expected)  # each key exactly once, across partitions
        assert {k: v for k, v in out} == expected  # elements keep their order
    by_word = b.groupby(lambda w: w).map(lambda kv: (kv[0], len(kv[1])))
    assert dict(by_word.compute(scheduler=scheduler)) == {w: 3 * c for w, c in Counter(WORDS).items()}
    pairs = db.from_sequence([(i % 4, i) for i in range(20)], npartitions=3)
    assert sorted(pairs.groupby(0).map(lambda kv: (kv[0], sorted(v for _, v in kv[1]))).compute(
        scheduler=scheduler)) == [(k, list(range(k, 20, 4))) for k in range(4)]


def test_stable_hash_is_the_same_in_every_process():
    import subprocess
    import sys
    from pathlib import Path
    import datetime
    keys = ["fox", b"fox", ("a", 1, (2.5, "b")), frozenset({"x", "y"}), 17, None, datetime.date(2008, 11, 13)]
    here = [stable_hash(k) for k in keys]
    code = ("from teem.bag.groupby import stable_hash; "
            f"import datetime; print([stable_hash(k) for k in {keys!r}])")
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={"PYTHONHASHSEED": seed, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}).stdout
        assert eval(out) == here
    assert stable_hash(1) == stable_hash(1.0) == stable_hash(True)  # equal keys, one group


def test_item_apply_and_use_in_map(scheduler):
    b = db.from_sequence(DATA, npartitions=3)
    mean = b.mean()
    centered = b.map(lambda x, m: x - m, mean)
    assert centered.sum().compute(scheduler=scheduler) == pytest.approx(0.0, abs=1e-9)
    assert b.count().apply(lambda n: n * 2).compute(scheduler=scheduler) == 2 * len(DATA)
    assert math.isclose(b.std().compute(scheduler=scheduler) ** 2, b.var().compute(scheduler=scheduler))
