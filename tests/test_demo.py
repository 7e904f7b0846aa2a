"""`make demo`'s program: seed 001's examples agree on a local scheduler and a local cluster."""

import io

import pytest

from teem import demo

pytestmark = pytest.mark.timeout(300)


def test_demo_on_sync_and_a_local_cluster_gives_the_same_results():
    out = io.StringIO()
    timings = demo.run(["sync", "cluster"], graph_file=None, out=out)
    text = out.getvalue()
    assert "(started LocalCluster(" in text  # the cluster column ran on a real LocalCluster
    summary = text.split("== summary")[1]
    assert "NO" not in summary.split()
    assert summary.count("yes") == 4  # every seeded example; §6.1 is unseeded
    assert {s for _, s in timings} == {"sync", "cluster"}
