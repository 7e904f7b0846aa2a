"""Fusion of per-partition steps: one streaming task per partition, shared work computed once."""

import itertools

import pytest

import teem
import teem.bag as db
from teem.bag.optimize import fuse_partitions
from teem.bag.text import LineStream
from teem.core.task import DataNode


def inc(x):
    return x + 1


def optimized(collection):
    return fuse_partitions(collection.dask, collection.__teem_keys__())


def test_chain_becomes_one_task_per_partition():
    b = db.from_sequence(range(100), npartitions=4)
    chain = b.map(inc).filter(lambda x: x % 3).map(str).pluck(0)
    graph = optimized(chain)
    tasks = [t for t in graph.values() if type(t) is not DataNode]
    assert len(tasks) == 4 and len(graph) == 8  # the 4 data partitions stay shared data
    assert chain.compute(scheduler="sync") == [str(x + 1)[0] for x in range(100) if (x + 1) % 3]
    assert len(optimized(db.range(100, 5).map(inc).filter(bool).count())) == 5 + 1


def test_fused_steps_stream_lazily():
    b = db.from_sequence(range(10), npartitions=2).map(inc).filter(lambda x: x > 2)
    seen = b.reduction(lambda part: [type(part).__name__], lambda parts: sorted(sum(parts, [])))
    kinds = seen.compute(scheduler="sync")
    assert kinds and "list" not in kinds  # reductions receive the iterator, as in Dask
    # a long lazy pipeline: the range is never materialized as a list (this would take 8 GB)
    big = db.range(10**9, npartitions=1).map(inc).filter(lambda x: x % 2).take(3)
    assert big == (1, 3, 5)


def test_shared_partitions_are_computed_once():
    calls = itertools.count()

    def counted(x):
        next(calls)
        return x

    b = db.from_sequence(range(30), npartitions=3).map(counted)
    total, n, values = teem.compute(b.sum(), b.count(), b, scheduler="sync")
    assert (total, n, values) == (sum(range(30)), 30, list(range(30)))
    assert next(calls) == 30  # not 90: a partition with several consumers is not inlined
    zipped = db.zip(b, b)  # one consumer using the partition twice: not inlined either
    assert zipped.compute(scheduler="sync") == [(x, x) for x in range(30)]


def test_count_of_text_does_not_make_lines(tmp_path, monkeypatch):
    path = tmp_path / "t.txt"
    path.write_text("a\nbb\nccc\n" * 100)
    wiki = db.read_text(str(path))

    def no_lines(self):
        raise AssertionError("count() should not split the text into lines")

    monkeypatch.setattr(LineStream, "__iter__", no_lines)
    assert wiki.count().compute(scheduler="sync") == 300
    with pytest.raises(AssertionError, match="should not split"):
        wiki.filter(bool).count().compute(scheduler="sync")


def test_to_delayed_is_fused_unless_asked_not_to():
    b = db.from_sequence(range(10), npartitions=2).map(inc).filter(bool)
    fused = b.to_delayed()
    assert len(fused[0].dask) == 4  # one task per partition, and the two data partitions
    assert len(b.to_delayed(optimize_graph=False)[0].dask) == 6
    assert teem.compute(*fused, scheduler="sync") == ([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])


def test_optimize_graph_false_gives_the_same_answer():
    b = db.from_sequence(range(50), npartitions=5).map(inc).filter(lambda x: x % 2).frequencies()
    assert b.compute(scheduler="sync", optimize_graph=False) == b.compute(scheduler="sync")


def test_take_of_text_reads_only_the_first_chunk(tmp_path, monkeypatch):
    from teem.bag import text
    path = tmp_path / "big.txt"
    path.write_text("".join(f"{i}\n" for i in range(20000)))
    chunks = []
    real = text._byte_chunks

    def counting(source, delimiter):
        for chunk in real(source, delimiter):
            chunks.append(len(chunk))
            yield chunk

    monkeypatch.setattr(text, "CHUNK_BYTES", 1000)
    monkeypatch.setattr(text, "_byte_chunks", counting)
    assert db.read_text(str(path)).take(3, compute=False).compute(scheduler="sync") == ["0\n", "1\n", "2\n"]
    assert len(chunks) == 1  # of about 110
