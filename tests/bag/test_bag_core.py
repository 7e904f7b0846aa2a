"""Bag creation and element-wise operations, against pure Python, on every local scheduler."""

import itertools
import json
import operator

import pytest

import teem
import teem.bag as db

SCHEDULERS = ["sync", "threads", "processes"]

DATA = list(range(23))
RECORDS = [{"name": f"n{i}", "x": i, "tags": [i, i + 1]} for i in range(17)]


def inc(x):
    return x + 1


def is_odd(x):
    return x % 2 == 1


def add(x, y):
    return x + y


@pytest.fixture(params=SCHEDULERS)
def scheduler(request):
    return request.param


def test_from_sequence_partitioning():
    assert db.from_sequence(DATA, npartitions=4).npartitions == 4
    assert db.from_sequence(DATA, partition_size=5).npartitions == 5
    assert db.from_sequence(range(3), npartitions=10).npartitions == 3  # never empty partitions
    assert db.from_sequence(range(5)).npartitions == 5  # Dask: one element per partition up to 100
    assert db.from_sequence(range(10_000)).npartitions == 1000  # Dask: sqrt(n) / 10 per partition
    assert db.from_sequence([]).compute(scheduler="sync") == []
    with pytest.raises(ValueError, match="not both"):
        db.from_sequence(DATA, npartitions=2, partition_size=3)


def test_repr_npartitions_and_list_result(scheduler):
    b = db.from_sequence(DATA, npartitions=4)
    assert repr(b) == "teem.bag<from_sequence, npartitions=4>"
    out = b.compute(scheduler=scheduler)
    assert type(out) is list and out == DATA
    assert repr(b.count()).startswith("teem.bag.Item<count")


def test_default_scheduler_is_processes():
    assert db.Bag.__teem_scheduler__ == "processes"
    assert db.from_sequence(DATA).map(inc).compute() == [x + 1 for x in DATA]


def test_map_filter_remove_chain(scheduler):
    b = db.from_sequence(DATA, npartitions=5)
    out = b.map(inc).filter(is_odd).remove(lambda x: x > 15).compute(scheduler=scheduler)
    assert out == [y for y in (x + 1 for x in DATA) if y % 2 == 1 and not y > 15]


def test_map_with_extra_arguments_items_and_delayed(scheduler):
    b = db.from_sequence(DATA, npartitions=3)
    total = b.sum()
    ten = teem.delayed(int)(10)
    out = b.map(lambda x, y, z=0: x + y + z, total, z=ten).compute(scheduler=scheduler)
    assert out == [x + sum(DATA) + 10 for x in DATA]
    assert b.filter(lambda x, lim: x < lim, 5).compute(scheduler=scheduler) == [0, 1, 2, 3, 4]


def test_map_over_several_bags(scheduler):
    a = db.from_sequence(DATA, npartitions=3)
    b = a.map(inc)
    assert a.map(add, b).compute(scheduler=scheduler) == [x + x + 1 for x in DATA]
    assert db.map(add, a, y=b).compute(scheduler=scheduler) == [x + x + 1 for x in DATA]
    with pytest.raises(ValueError, match="same number of partitions"):
        a.map(add, db.from_sequence(DATA, npartitions=2))


def test_starmap_pluck_flatten(scheduler):
    pairs = db.from_sequence([(i, i * i) for i in range(9)], npartitions=2)
    assert pairs.starmap(add).compute(scheduler=scheduler) == [i + i * i for i in range(9)]
    assert pairs.starmap(lambda a, b, c: a + b + c, c=1).compute(scheduler=scheduler) == [
        i + i * i + 1 for i in range(9)]
    recs = db.from_sequence(RECORDS, npartitions=3)
    assert recs.pluck("x").compute(scheduler=scheduler) == [r["x"] for r in RECORDS]
    assert recs.pluck(["name", "x"]).compute(scheduler=scheduler) == [(r["name"], r["x"]) for r in RECORDS]
    assert recs.pluck("missing", default=0).compute(scheduler=scheduler) == [0] * len(RECORDS)
    assert recs.pluck("tags").flatten().compute(scheduler=scheduler) == [t for r in RECORDS for t in r["tags"]]


def test_map_partitions_gets_lists(scheduler):
    b = db.from_sequence(DATA, npartitions=4).map(inc)  # a fused, lazy partition underneath
    out = b.map_partitions(lambda part: [type(part).__name__, len(part)]).compute(scheduler=scheduler)
    assert out[::2] == ["list"] * 4 and sum(out[1::2]) == len(DATA)
    other = db.from_sequence(DATA, npartitions=4)
    zipped = db.map_partitions(lambda p, q, k: [a + b + k for a, b in zip(p, q)], b, other, 100)
    assert zipped.compute(scheduler=scheduler) == [2 * x + 101 for x in DATA]


def test_zip_product_concat_range(scheduler):
    a = db.from_sequence(DATA, npartitions=3)
    assert db.zip(a, a.map(str)).compute(scheduler=scheduler) == [(x, str(x)) for x in DATA]
    left, right = db.from_sequence([1, 2, 3], npartitions=2), db.from_sequence("ab", npartitions=2)
    prod = left.product(right)
    assert prod.npartitions == 4
    assert sorted(prod.compute(scheduler=scheduler)) == sorted(itertools.product([1, 2, 3], "ab"))
    both = db.concat([a, left])
    assert both.npartitions == 5 and both.compute(scheduler=scheduler) == DATA + [1, 2, 3]
    r = db.range(17, npartitions=4)
    assert r.npartitions == 4 and r.compute(scheduler=scheduler) == list(range(17))


def test_from_delayed_and_to_delayed(scheduler):
    parts = [teem.delayed(list)(range(i, i + 3)) for i in (0, 10, 20)]
    b = db.from_delayed(parts)
    assert b.npartitions == 3
    assert b.map(inc).compute(scheduler=scheduler) == [x + 1 for i in (0, 10, 20) for x in range(i, i + 3)]
    delayed_parts = b.map(inc).to_delayed()
    assert [d.compute(scheduler=scheduler) for d in delayed_parts] == [
        [x + 1 for x in range(i, i + 3)] for i in (0, 10, 20)]
    item = b.count().to_delayed()
    assert item.compute(scheduler=scheduler) == 9
    with pytest.raises(TypeError, match="Delayed"):
        db.from_delayed([[1, 2]])


def test_accumulate_and_repartition(scheduler):
    b = db.from_sequence(DATA, npartitions=4)
    assert b.accumulate(operator.add).compute(scheduler=scheduler) == list(itertools.accumulate(DATA))
    assert b.accumulate(operator.add, initial=-5).compute(scheduler=scheduler) == list(
        itertools.accumulate(DATA, initial=-5))
    with_empty = db.concat([db.from_sequence([1, 2]), db.from_sequence([]), db.from_sequence([3])])
    assert with_empty.accumulate(operator.add).compute(scheduler=scheduler) == [1, 3, 6]
    for n in (1, 2, 7, 11):
        r = b.repartition(n)
        assert r.npartitions == n and r.compute(scheduler=scheduler) == DATA


def test_str_accessor(scheduler):
    b = db.from_sequence(["Alice Smith ", " Bob", "alan", "ALBERT x"], npartitions=2)
    assert b.str.lower().compute(scheduler=scheduler) == ["alice smith ", " bob", "alan", "albert x"]
    assert b.str.strip().str.split(" ").compute(scheduler=scheduler) == [
        ["Alice", "Smith"], ["Bob"], ["alan"], ["ALBERT", "x"]]
    assert b.str.match("Al*").compute(scheduler=scheduler) == ["Alice Smith "]
    assert b.str.startswith("al").compute(scheduler=scheduler) == [False, False, True, False]
    with pytest.raises(AttributeError, match="no method"):
        b.str.not_a_method


def test_take_reads_first_partition_only():
    def boom(x):
        if x >= 10:
            raise RuntimeError("partition 1 was computed")
        return x

    b = db.from_sequence(range(20), npartitions=2).map(boom)
    assert b.take(3) == (0, 1, 2)  # on the default (processes) scheduler
    teem.config.set(scheduler="sync")
    assert b.take(3) == (0, 1, 2)
    with pytest.warns(UserWarning, match="Insufficient elements"):
        assert b.take(15) == tuple(range(10))
    with pytest.raises(RuntimeError, match="partition 1"):
        b.take(15, npartitions=2)
    assert db.from_sequence(range(20), npartitions=2).take(15, npartitions=-1) == tuple(range(15))
    with pytest.raises(ValueError, match="more partitions"):
        b.take(1, npartitions=3)
    lazy = b.take(2, compute=False)
    assert isinstance(lazy, db.Bag) and lazy.compute() == [0, 1]


def test_persist_keeps_results():
    b = db.from_sequence(DATA, npartitions=3).map(inc)
    p = b.persist(scheduler="sync")
    assert p.npartitions == 3 and p.compute(scheduler="sync") == [x + 1 for x in DATA]
    assert all(type(t).__name__ == "DataNode" for t in p.dask.values())


def test_compute_many_and_iterate():
    b = db.from_sequence(DATA, npartitions=3)
    total, items, n = teem.compute(b.sum(), b, b.count(), scheduler="threads")
    assert (total, items, n) == (sum(DATA), DATA, len(DATA))
    assert list(db.from_sequence([1, 2])) == [1, 2]


def test_generators_stay_inside_fused_tasks_on_processes():
    # map returns generators (unpicklable); fused with the next step they never leave the worker
    b = db.from_sequence([1, 2], npartitions=2).map(lambda x: (y for y in range(x)))
    assert json.dumps(b.map(list).compute(scheduler="processes")) == "[[0], [0, 1]]"


def test_join_random_sample_unzip(scheduler):
    people = db.from_sequence(["Alice", "Bob", "Charlie"], npartitions=2)
    fruit = ["Apple", "Apricot", "Banana"]
    expected = [("Apple", "Alice"), ("Apricot", "Alice"), ("Banana", "Bob")]  # Dask's docstring example
    assert people.join(fruit, lambda x: x[0]).compute(scheduler=scheduler) == expected
    assert people.join(db.from_sequence(fruit, npartitions=1), lambda x: x[0]).compute(
        scheduler=scheduler) == expected
    assert people.join(teem.delayed(tuple)(fruit), lambda x: x[0]).compute(scheduler=scheduler) == expected
    b = db.from_sequence(range(1000), npartitions=4)
    sample = b.random_sample(0.1, random_state=42).compute(scheduler=scheduler)
    assert sample == b.random_sample(0.1, random_state=42).compute(scheduler="sync")  # reproducible
    assert 50 < len(sample) < 150 and set(sample) <= set(range(1000)) and sample == sorted(sample)
    left, right = db.from_sequence([(1, "a"), (2, "b"), (3, "c")], npartitions=2).unzip(2)
    assert left.compute(scheduler=scheduler) == [1, 2, 3] and right.compute(scheduler=scheduler) == ["a", "b", "c"]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_to_dataframe_from_dicts_tuples_and_meta(scheduler):
    import pandas as pd
    from pandas.testing import assert_frame_equal

    rows = [{"name": f"n{i}", "amount": i * 1.5, "id": i} for i in range(10)]
    df = db.from_sequence(rows, npartitions=3).to_dataframe()
    assert df.npartitions == 3 and list(df.columns) == ["name", "amount", "id"]
    assert_frame_equal(df.compute(scheduler=scheduler).reset_index(drop=True), pd.DataFrame(rows))
    pairs = db.from_sequence([(i, str(i)) for i in range(6)], npartitions=2)
    assert pairs.to_dataframe(columns=["a", "b"]).a.sum().compute(scheduler=scheduler) == 15
    typed = pairs.to_dataframe(meta={"a": "float64", "b": "object"})
    assert typed.compute(scheduler=scheduler).a.dtype == "float64"
    with pytest.raises(ValueError, match="meta="):
        db.from_sequence([], npartitions=1).to_dataframe()
