"""Callbacks: hooks into local runs, on every local scheduler."""

import logging
import threading
from collections import Counter

import pytest

import teem as dask
import teem.callbacks
import teem.local
from teem import delayed

SCHEDULERS = ["sync", "threads", "processes"]


def inc(x):
    return x + 1


def fail(x):
    raise ValueError("task failed")


def graph_of_seven_tasks():
    """1 value + 5 calls + 1 sum = 7 tasks, result 55."""
    x = delayed(10)
    return delayed(sum)([delayed(inc)(x) for _ in range(5)])


class Recorder(teem.local.Callback):
    """Counts every hook call and keeps what the hooks were given."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()
        self.calls = Counter()
        self.pre_keys = []
        self.post_keys = []
        self.nfinished_seen = []
        self.finish_args = None
        self.threads = set()

    def _count(self, hook):
        with self.lock:
            self.calls[hook] += 1
            self.threads.add(threading.current_thread().name)

    def start(self, graph):
        self._count("start")
        self.graph_size = len(graph)

    def start_state(self, graph, state):
        self._count("start_state")
        self.ntasks = state.ntasks

    def pretask(self, key, graph, state):
        self._count("pretask")
        self.pre_keys.append(key)

    def posttask(self, key, result, graph, state, worker_id):
        self._count("posttask")
        self.post_keys.append(key)
        self.nfinished_seen.append(state.nfinished)

    def finish(self, graph, state, errored):
        self._count("finish")
        self.finish_args = (state.ntasks, state.nfinished, errored)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_hooks_are_called_with_the_right_counts(scheduler):
    total = graph_of_seven_tasks()
    with Recorder() as rec:
        assert total.compute(scheduler=scheduler) == 55
    assert rec.calls == Counter(start=1, start_state=1, pretask=7, posttask=7, finish=1)
    assert rec.ntasks == 7
    assert sorted(rec.pre_keys, key=str) == sorted(rec.post_keys, key=str) == sorted(total.dask, key=str)
    assert rec.post_keys[-1] == total.key
    assert rec.nfinished_seen == list(range(1, 8))
    assert rec.finish_args == (7, 7, False)
    assert rec.threads == {threading.current_thread().name}  # hooks run on the calling thread


@pytest.mark.parametrize("scheduler", [
    "sync",
    "threads",
    "processes",
])
def test_posttask_sees_results_in_this_process(scheduler):
    results = {}

    def posttask(key, result, graph, state, worker_id):
        results[key] = result

    d = delayed(inc)(41)
    with teem.callbacks.Callback(posttask=posttask):
        assert d.compute(scheduler=scheduler) == 42
    assert set(results) == {d.key}
    if scheduler != "processes":  # on processes the value may live in a worker (documented)
        assert results[d.key] == 42


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_functions_as_hooks(scheduler):
    seen = Counter()
    cb = teem.callbacks.Callback(
        start=lambda graph: seen.update(["start"]),
        pretask=lambda key, graph, state: seen.update(["pretask"]),
        posttask=lambda key, result, graph, state, worker_id: seen.update(["posttask"]),
        finish=lambda graph, state, errored: seen.update(["finish"]),
    )
    with cb:
        assert dask.compute([delayed(inc)(i) for i in range(4)], scheduler=scheduler) == (
            [1, 2, 3, 4],)
    # four calls plus the task rebuilding the list
    assert seen == Counter(start=1, pretask=5, posttask=5, finish=1)


def test_teem_callbacks_and_teem_local_are_the_same_class():
    assert teem.callbacks.Callback is teem.local.Callback


def test_register_and_unregister():
    rec = Recorder()
    rec.register()
    try:
        delayed(inc)(1).compute(scheduler="sync")
        assert rec.calls["start"] == 1
    finally:
        rec.unregister()
    delayed(inc)(1).compute(scheduler="sync")
    assert rec.calls["start"] == 1  # not called after unregister


def test_callback_only_active_inside_with_block():
    rec = Recorder()
    with rec:
        delayed(inc)(1).compute(scheduler="threads")
    delayed(inc)(2).compute(scheduler="threads")
    assert rec.calls["finish"] == 1


def test_two_callbacks_at_once():
    a, b = Recorder(), Recorder()
    with a, b:
        graph_of_seven_tasks().compute(scheduler="sync")
    assert a.calls == b.calls == Counter(start=1, start_state=1, pretask=7, posttask=7, finish=1)


class Raising(teem.local.Callback):
    def start(self, graph):
        raise RuntimeError("broken start hook")

    def pretask(self, key, graph, state):
        raise RuntimeError("broken pretask hook")

    def posttask(self, key, result, graph, state, worker_id):
        raise RuntimeError("broken posttask hook")

    def finish(self, graph, state, errored):
        raise RuntimeError("broken finish hook")


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_raising_callback_does_not_break_the_compute(scheduler, caplog):
    rec = Recorder()
    with caplog.at_level(logging.ERROR, logger="teem.callbacks"):
        with Raising(), rec:
            assert graph_of_seven_tasks().compute(scheduler=scheduler) == 55
    # the other callback still saw everything
    assert rec.calls == Counter(start=1, start_state=1, pretask=7, posttask=7, finish=1)
    # and the failures were reported, not swallowed silently
    messages = " ".join(r.getMessage() for r in caplog.records)
    for hook in ("start", "pretask", "posttask", "finish"):
        assert f"{hook}()" in messages


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_finish_is_called_when_a_task_fails(scheduler):
    rec = Recorder()
    with rec:
        with pytest.raises(ValueError, match="task failed"):
            delayed(inc)(delayed(fail)(1)).compute(scheduler=scheduler)
    assert rec.calls["start"] == 1
    assert rec.calls["finish"] == 1
    assert rec.finish_args[2] is True


def test_compute_callbacks_argument_is_active_for_that_run_only():
    seen = []
    cb = teem.callbacks.Callback(posttask=lambda key, *_: seen.append(key))
    d = teem.delayed(abs)(-3)
    assert teem.compute(d, scheduler="sync", callbacks=[cb]) == (3,)
    assert seen == [d.key]
    teem.delayed(abs)(-4).compute(scheduler="sync")
    assert seen == [d.key]  # no longer registered
