"""Partition fusion keeps memory at a partition per worker (seed 001 §6.3's count() blow-up)."""

import tracemalloc

import numpy as np
import pandas as pd
import pandas.testing as pdt

import teem
import teem.dataframe as ddf
from teem.dataframe.fuse import fuse_partitions

ROWS = 125_000  # 4 float columns: 4 MB per partition


def _make(i):
    rng = np.random.default_rng(i)
    return pd.DataFrame(rng.normal(size=(ROWS, 4)), columns=list("abcd"))


def _frame(n=16):
    meta = _make(0).iloc[:0]
    return ddf.from_delayed([teem.delayed(_make)(i) for i in range(n)], meta=meta)


def test_several_reductions_hold_one_partition_at_a_time():
    df = _frame()
    parts = [df.a.max(), df.a.min(), df.count(), df[df.b > 0].c.mean()]
    tracemalloc.start()
    try:
        mx, mn, counts, mean = teem.compute(*parts, scheduler="sync")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * 4e6, f"peak {peak / 1e6:.0f} MB for 4 MB partitions"  # 16 partitions = 64 MB
    full = pd.concat([_make(i) for i in range(16)])
    assert mx == full.a.max() and mn == full.a.min()
    pdt.assert_series_equal(counts, full.count())
    assert np.isclose(mean, full[full.b > 0].c.mean())


def test_fusion_structure_and_results(pdf):
    df = ddf.from_pandas(pdf, npartitions=4)
    a, b = df.x.max(), (df.i + 1).sum()
    keys = [a.key, b.key]
    graph = teem.core.graph.flatten([a.__teem_graph__(), b.__teem_graph__()])
    fused = fuse_partitions(graph, keys)
    runs = [t for t in fused.values() if getattr(t, "func", None).__class__.__name__ == "function"
            and t.func.__name__ == "run_fused"]
    assert len(runs) == 4  # one per partition: selection, +1 and both chunks together
    assert teem.compute(a, b, scheduler="sync") == (pdf.x.max(), (pdf.i + 1).sum())
    x = df.x
    pdt.assert_series_equal((x - x.mean()).compute(), pdf.x - pdf.x.mean())  # two passes, no cycle
    pdt.assert_frame_equal(teem.compute(df[df.i > 2], scheduler="threads")[0], pdf[pdf.i > 2])
