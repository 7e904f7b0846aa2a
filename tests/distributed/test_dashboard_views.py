"""The dashboard's pure pieces: activity recording, coalescing, views, address parsing."""

import pytest

from teem.distributed.dashboard.activity import Activity, coalesce
from teem.distributed.dashboard.service import parse_dashboard_address
from teem.distributed.dashboard.views import (STATE_CODES, graph_view, progress_view,
                                              status_document, workers_view)
from teem.distributed.scheduler import events as ev
from teem.distributed.scheduler.state import SchedulerState


def test_coalesce_merges_back_to_back_tasks_of_one_prefix_per_row():
    entries = [("a/0", "inc", 0.0, 1.0, False), ("a/0", "inc", 1.0005, 2.0, False),
               ("a/0", "inc", 3.0, 4.0, False),             # a gap: new rectangle
               ("a/1", "inc", 0.5, 1.5, False),             # another row
               ("a/0", "add", 4.0, 5.0, False),             # another prefix
               ("a/0", "add", 5.0, 6.0, True)]              # erred: drawn apart
    assert coalesce(list(reversed(entries))) == [
        ("a/0", "inc", 0.0, 2.0, 2, False), ("a/0", "inc", 3.0, 4.0, 1, False),
        ("a/0", "add", 4.0, 5.0, 1, False), ("a/0", "add", 5.0, 6.0, 1, True),
        ("a/1", "inc", 0.5, 1.5, 1, False)]
    assert coalesce([]) == []


def test_activity_stream_since_reads_only_new_batches_and_respects_the_bound():
    activity = Activity(batches_kept=3)
    activity.finished("w1", [("inc-1", 8, 0.0, 1.0, 0, None), ("inc-2", 8, 1.0, 2.0, 0, None)])
    rects, cursor = activity.stream_since(0, {"w1": "one"})
    assert rects == [("one/0", "inc", 0.0, 2.0, 2, False)] and cursor == 1
    assert activity.stream_since(cursor, {}) == ([], 1)
    activity.erred("w1", ("add-9", 3), 2.0, 2.5)
    rects, cursor = activity.stream_since(cursor, {"w1": "one"})
    assert rects == [("one/0", "add", 2.0, 2.5, 1, True)] and cursor == 2
    for i in range(5):  # more than kept: a reader far behind gets what is left
        activity.finished("w1", [(f"x-{i}", 1, 10.0 + i, 10.5 + i, 1, None)])
    rects, cursor = activity.stream_since(0, {})
    assert [r[2] for r in rects] == [12.0, 13.0, 14.0] and cursor == 7
    assert activity.oldest_cursor == 4 and activity.stream_since(4, {})[0] == rects
    assert activity.nfinished == 8 and activity.nerred == 1
    rects, _ = activity.stream_since(0, {}, oldest=13.2)
    assert [r[2] for r in rects] == [13.0, 14.0]


def test_recordings_keep_every_task_and_heartbeat_until_collected():
    activity = Activity(batches_kept=1)
    activity.finished("w", [("a-1", 1, 0.0, 1.0, 0, None)])   # before: not recorded
    rid = activity.start_recording(5.0)
    activity.heartbeat(5.5, "w", {"memory": 10})
    for i in range(10):
        activity.finished("w", [(f"a-{i}", 1, 6.0 + i, 6.5 + i, 1, None)])
    activity.erred("w", "b-1", 20.0, 21.0)
    recording = activity.stop_recording(rid)
    assert recording.start == 5.0 and len(recording.tasks) == 11
    assert recording.tasks[-1] == ("b-1", "w", 0, 20.0, 21.0, True)
    assert recording.samples == [(5.5, "w", {"memory": 10})]
    activity.heartbeat(30.0, "w", {})  # no recording open: nothing kept
    with pytest.raises(KeyError):
        activity.stop_recording(rid)


def _state_with_graph():
    state = SchedulerState()
    state.handle(ev.AddWorker("tcp://w:1", "w1", 2, 1000, 0.0))
    tasks = [ev.TaskSpec(("inc-1", i), (), "run", (0, i), 0, None) for i in range(3)]
    tasks.append(ev.TaskSpec("sum-1", tuple(("inc-1", i) for i in range(3)), "run", (1,), 0, None))
    state.handle(ev.UpdateGraph("c", tuple(tasks), ("sum-1",), 0.0))
    return state


def test_progress_and_graph_views_follow_the_state():
    state = _state_with_graph()
    rows = {r["prefix"]: r for r in progress_view(state)}
    assert rows["inc"]["total"] == 3 and rows["inc"]["done"] == 0
    assert rows["inc"]["processing"] + rows["inc"]["waiting"] == 3
    assert rows["sum"] == {"prefix": "sum", "total": 1, "memory": 0, "done": 0, "erred": 0,
                           "processing": 0, "waiting": 1}
    state.handle(ev.TaskFinished("tcp://w:1", ("inc-1", 0), 8, 0.1, 1.0))
    assert {r["prefix"]: r["done"] for r in progress_view(state)}["inc"] == 1

    graph = graph_view(state)
    assert graph["ntasks"] == 4 and len(graph["nodes"]) == 4 and len(graph["edges"]) == 3
    by_key = {n[4]: n for n in graph["nodes"]}
    assert by_key["sum-1"][0] == 1 and all(by_key[str(("inc-1", i))][0] == 0 for i in range(3))
    assert by_key[str(("inc-1", 0))][2] == STATE_CODES["memory"]
    assert graph["prefixes"] == ["inc", "sum"]
    assert graph_view(state, limit=3) == {"ntasks": 4, "limit": 3, "nodes": [], "edges": [], "prefixes": []}


def test_workers_view_and_status_document():
    state = _state_with_graph()
    state.handle(ev.Heartbeat("tcp://w:1", 1.0, {"memory": 500, "cpu": 50.0, "spilled": 7,
                                                 "executing": 2, "ready": 1}))
    info = {"tcp://w:1": {"name": "w1", "nthreads": 2, "memory_limit": 1000, "host": "w"}}
    (row,) = workers_view(state, info)
    assert row["name"] == "w1" and row["memory"] == 500 and row["cpu"] == 50.0
    assert row["spilled"] == 7 and row["executing"] == 2 and row["processing"] == 2
    doc = status_document(state, info, {"address": "tcp://s:1"}, 123.0, 5, [("w1/0", "inc", 1, 2, 1, False)])
    assert doc["totals"]["workers"] == 1 and doc["totals"]["threads"] == 2 and doc["totals"]["tasks"] == 4
    assert doc["time"] == 123.0 and doc["finished"] == 5 and len(doc["stream"]) == 1


@pytest.mark.parametrize("given, expected", [
    (":8787", ("127.0.0.1", 8787)), ("8790", ("127.0.0.1", 8790)), (9000, ("127.0.0.1", 9000)),
    ("0.0.0.0:81", ("0.0.0.0", 81)), ("[::1]:8787", ("::1", 8787)), (":0", ("127.0.0.1", 0)),
    ("localhost:", ("localhost", 8787)), (None, None), (False, None), ("", None),
])
def test_parse_dashboard_address(given, expected):
    assert parse_dashboard_address(given, "127.0.0.1") == expected


@pytest.mark.parametrize("bad", ["host:port", ":99999", "abc"])
def test_parse_dashboard_address_rejects_bad_values_with_the_fix(bad):
    with pytest.raises(ValueError, match="dashboard address"):
        parse_dashboard_address(bad, "127.0.0.1")
