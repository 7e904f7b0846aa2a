"""progress(): a bar that follows futures and persisted collections to the end."""

import io
import time

import pytest

import teem
from teem.distributed import Client, LocalCluster, futures_of, progress

pytestmark = pytest.mark.timeout(120)


def slow_inc(x):
    time.sleep(0.05)
    return x + 1


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        yield c


def test_progress_of_futures_ends_at_100_percent(client):
    futures = client.map(slow_inc, range(20))
    out = io.StringIO()
    progress(futures, out=out, interval=0.02)
    assert all(f.done() for f in futures)
    lines = out.getvalue().split("\r")
    assert "100% Completed" in lines[-1] and out.getvalue().endswith("\n")
    assert any("% Completed" in line and "100%" not in line for line in lines)  # it moved


def test_progress_of_a_persisted_collection_and_a_dict(client):
    values = [teem.delayed(slow_inc)(i) for i in range(6)]
    total = teem.delayed(sum)(values)
    persisted = client.persist(total)
    assert len(futures_of(persisted)) == 1
    out = io.StringIO()
    progress({"total": persisted}, out=out, interval=0.02)
    assert "100% Completed" in out.getvalue()
    assert persisted.compute() == sum(range(1, 7))


def test_progress_of_nothing_says_what_to_do():
    with pytest.raises(TypeError, match="persist"):
        progress([teem.delayed(slow_inc)(1)])
