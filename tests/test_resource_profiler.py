"""ResourceProfiler: CPU and memory sampled during local runs, and its HTML chart."""

import numpy as np
import pytest

import teem
from teem.diagnostics import ResourceData, ResourceProfiler


def busy(n):
    x = np.random.default_rng(n).random(2_000_000)
    for _ in range(20):
        x = np.sort(x)
    return float(x[0])


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_samples_during_runs_and_writes_a_chart(tmp_path, scheduler):
    with ResourceProfiler(dt=0.05) as rprof:
        teem.compute([teem.delayed(busy)(i) for i in range(4)], scheduler=scheduler, num_workers=2)
    results = rprof.results
    assert len(results) >= 3 and all(isinstance(r, ResourceData) for r in results)
    assert [r.time for r in results] == sorted(r.time for r in results)
    assert all(r.mem > 10 for r in results)  # MB: at least this interpreter
    assert max(r.cpu for r in results) > 20  # percent of one core: the sorts ran
    page = rprof.visualize(str(tmp_path / "profile.html"))
    text = open(page).read()
    assert "<svg" in text and "CPU" in text and "Memory" in text and "http" not in text
    n = len(results)
    teem.compute(teem.delayed(busy)(9), scheduler="sync")  # outside the block: not sampled
    assert len(rprof.results) == n
    rprof.clear()
    assert rprof.results == []


def test_dt_must_be_positive():
    with pytest.raises(ValueError, match="dt"):
        ResourceProfiler(dt=0)
