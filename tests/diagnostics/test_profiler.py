"""Profiler: real start/stop times of each task, where it ran, on every local scheduler."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

import teem
import teem.array as da
from teem.core.graph import flatten
from teem.diagnostics import Callback, ProgressBar, Profiler, TaskData
from teem.diagnostics.profile import task_prefix
from teem.local.callbacks import wants_timings
from teem.local.engine import execute
from teem.local.threads import ThreadBackend, get_pool

SLEEP = 0.05


def nap(x):
    time.sleep(SLEEP)
    return x + 1


def total(values):
    return sum(values)


def graph_keys(collection):
    return set(flatten([collection.__teem_graph__()]))


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_times_are_real_ordered_and_inside_the_compute(scheduler):
    result = teem.delayed(total)([teem.delayed(nap)(i) for i in range(6)])
    with Profiler() as prof:
        before = time.perf_counter()
        assert result.compute(scheduler=scheduler, num_workers=2) == sum(range(1, 7))
        after = time.perf_counter()
    records = {r.key: r for r in prof.results}
    assert len(records) == len(prof.results) == 7
    assert set(records) == graph_keys(result)
    for r in prof.results:
        assert isinstance(r, TaskData) and r.task.key == r.key
        assert before <= r.start_time <= r.end_time <= after
    naps = [r for r in prof.results if r.key != result.key]
    for r in naps:
        # Measured where the task ran: its own sleep, not time spent queued behind others.
        assert SLEEP * 0.9 <= r.end_time - r.start_time < SLEEP + 0.04
    last = records[result.key]
    assert last.start_time >= max(r.end_time for r in naps)  # a dependent starts after its inputs
    workers = {r.worker_id for r in naps}
    if scheduler == "sync":
        assert workers == {threading.get_ident()}
    elif scheduler == "threads":
        assert len(workers) == 2 and threading.get_ident() not in workers
        assert workers <= {t.ident for t in threading.enumerate()}
    else:
        assert len(workers) == 2 and os.getpid() not in workers  # worker pids


def test_parallel_tasks_on_threads_overlap_in_time():
    with Profiler() as prof:
        teem.compute([teem.delayed(nap)(i) for i in range(4)], scheduler="threads", num_workers=4)
    naps = [r for r in prof.results if task_prefix(r.key) == "nap"]
    assert len(naps) == 4 and len({r.worker_id for r in naps}) == 4
    assert max(r.start_time for r in naps) < min(r.end_time for r in naps)  # all ran at once


def test_any_executor_reports_times():
    with Profiler() as prof, ThreadPoolExecutor(2) as pool:
        teem.compute([teem.delayed(nap)(i) for i in range(4)], scheduler=pool)
    naps = [r for r in prof.results if task_prefix(r.key) == "nap"]
    assert len(naps) == 4 and len({r.worker_id for r in naps}) == 2
    assert all(r.end_time - r.start_time >= SLEEP * 0.9 for r in naps)


def test_fused_tasks_report_the_outer_task():
    x = da.ones(20, chunks=5)
    y = ((x + 1) * 2).sum()
    finished = []
    with Profiler() as prof, Callback(posttask=lambda key, *_: finished.append(key)):
        assert y.compute(scheduler="threads") == 80.0
    keys = [r.key for r in prof.results]
    assert sorted(map(str, keys)) == sorted(map(str, finished))
    assert len(keys) == 5  # 4 fused chunk tasks and the final sum, not the 17 unfused ones
    assert {k[0].rsplit("-", 1)[0] for k in keys} == {"sum-chunk", "sum"}


def test_several_runs_append_clear_and_reenter():
    prof = Profiler()
    with prof:
        teem.compute(teem.delayed(nap)(1), scheduler="threads")
        teem.compute(teem.delayed(nap)(2), scheduler="sync")
    assert len(prof.results) == 2
    assert prof.start_time <= prof.results[0].start_time <= prof.results[1].end_time <= prof.end_time
    teem.compute(teem.delayed(nap)(3), scheduler="sync")  # outside the block: not recorded
    assert len(prof.results) == 2
    prof.clear()
    assert prof.results == []
    with prof:
        teem.compute(teem.delayed(nap)(4), scheduler="sync")
    assert len(prof.results) == 1
    prof.register()
    try:
        teem.compute(teem.delayed(nap)(5), scheduler="threads")
    finally:
        prof.unregister()
    assert len(prof.results) == 2
    with prof:  # entering again starts afresh, as in Dask
        pass
    assert prof.results == []


def boom(x):
    raise ValueError("boom")


@pytest.mark.parametrize("scheduler", ["sync", "threads", "processes"])
def test_a_failed_run_keeps_the_tasks_that_finished(scheduler):
    ok = teem.delayed(nap)(1)
    bad = teem.delayed(boom)(ok)
    with Profiler() as prof:
        with pytest.raises(ValueError, match="boom"):
            bad.compute(scheduler=scheduler)
    assert [r.key for r in prof.results] == [ok.key]


def test_timing_is_on_only_while_a_callback_asks_for_it():
    assert not wants_timings([ProgressBar(), Callback(posttask=print)])
    assert wants_timings([ProgressBar(), Profiler()])
    assert wants_timings([Callback(task_timing=print)])
    graph = flatten([teem.delayed(nap)(1).__teem_graph__()])
    keys = list(graph)
    plain = ThreadBackend(get_pool(2))
    assert execute(graph, keys, plain) == [2] and plain.record_times is False
    timed = ThreadBackend(get_pool(2))
    with Profiler() as prof:
        assert execute(graph, keys, timed) == [2]
    assert timed.record_times is True and len(prof.results) == 1


def test_values_given_in_advance_are_not_tasks():
    data = teem.delayed([1, 2, 3])  # a literal value, not a task
    result = teem.delayed(total)(data)
    for scheduler in ("sync", "threads", "processes"):
        with Profiler() as prof:
            assert result.compute(scheduler=scheduler) == 6
        assert [r.key for r in prof.results] == [result.key], scheduler
