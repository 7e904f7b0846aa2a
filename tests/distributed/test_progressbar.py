"""progress(): a bar that follows futures and persisted collections to the end."""

import io
import sys
import time

import pytest

import teem
import teem.distributed
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


# --- Jupyter widgets -----------------------------------------------------------------------------

def fail_if_odd(x):
    time.sleep(0.02)
    if x % 2:
        raise ValueError(f"odd {x}")
    return x


def test_widget_bars_reach_their_totals(client):
    pytest.importorskip("ipywidgets")
    from teem.distributed.progressbar import ProgressWidget
    futures = client.map(slow_inc, range(6)) + client.map(fail_if_odd, [0, 2, 4, 6])
    widget = ProgressWidget(futures)
    assert list(widget.bars) == ["slow_inc", "fail_if_odd", None]  # one per prefix, then the total
    assert [b.max for b in widget.bars.values()] == [6, 4, 10]
    widget.follow(interval=0.02)
    widget.thread.join(timeout=30)
    assert not widget.thread.is_alive()
    assert [b.value for b in widget.bars.values()] == [6, 4, 10]
    assert {b.bar_style for b in widget.bars.values()} == {"success"}
    assert widget.labels["slow_inc"].value == "6 / 6"
    assert widget.labels[None].value.startswith("10 / 10 in ")
    assert "slow_inc" in widget.widget.children[0].children[0].value


def test_widget_turns_red_and_counts_errors(client):
    pytest.importorskip("ipywidgets")
    from teem.distributed.progressbar import ProgressWidget
    futures = client.map(fail_if_odd, range(5)) + client.map(slow_inc, [10, 11])
    widget = ProgressWidget(futures, complete=False)
    teem.distributed.wait(futures)
    assert widget.update() is True
    assert widget.bars["fail_if_odd"].value == 5 and widget.bars["fail_if_odd"].bar_style == "danger"
    assert "2 erred" in widget.labels["fail_if_odd"].value
    assert widget.bars[None].bar_style == "danger" and "2 erred" in widget.labels[None].value
    assert widget.bars["slow_inc"].bar_style == "success"
    assert widget.rows["slow_inc"].layout.display == "none"  # complete=False hides finished groups


def test_notebook_true_returns_a_live_widget(client):
    pytest.importorskip("ipywidgets")
    futures = client.map(slow_inc, range(100, 110))
    widget = progress(futures, notebook=True, multi=False, interval=0.02)
    assert list(widget.bars) == [None]  # multi=False: the total only
    widget.thread.join(timeout=30)
    assert widget.bars[None].value == 10 and widget.bars[None].bar_style == "success"


def test_notebook_is_chosen_inside_a_kernel_only(client, monkeypatch):
    pytest.importorskip("ipywidgets")
    from teem.distributed import progressbar
    futures = client.map(slow_inc, range(200, 204))
    out = io.StringIO()
    assert progressbar._in_jupyter_kernel() is False  # pytest is no Jupyter kernel
    assert progress(futures, out=out, interval=0.02) is None and "100% Completed" in out.getvalue()
    monkeypatch.setattr(progressbar, "_in_jupyter_kernel", lambda: True)
    widget = progress(futures, out=out, interval=0.02)
    widget.thread.join(timeout=30)
    assert widget.bars[None].value == 4


def test_without_ipywidgets(client, monkeypatch):
    futures = client.map(slow_inc, range(300, 303))
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    with pytest.raises(ImportError, match="pip install ipywidgets"):
        progress(futures, notebook=True)
    from teem.distributed import progressbar
    monkeypatch.setattr(progressbar, "_in_jupyter_kernel", lambda: True)
    out = io.StringIO()
    assert progress(futures, out=out, interval=0.02) is None  # falls back to the text bar
    assert "100% Completed" in out.getvalue()
