"""The scheduler's state machine, driven by events alone: no sockets, no threads, no clock.

Every SchedulerState here runs validate_state() after each handle() call.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict

import pytest

from teem.distributed.scheduler import (AddReplicas, AddWorker, CancelKeys, CloseWorker, Execute, FreeKeys,
                                        Heartbeat, InvalidSchedulerState, MissingData, ReleaseKeys,
                                        RemoveClient, RemoveWorker, Report, RetireWorker, SchedulerState,
                                        TaskErred, TaskFinished, TaskSpec, Tick, UpdateGraph)
from teem.distributed.scheduler.placement import occupancy_depth


def addr(i) -> str:
    return f"tcp://w{i}"


def spec(key, *deps, **kwargs) -> TaskSpec:
    return TaskSpec(key, tuple(deps), run_spec=f"run {key}".encode(), **kwargs)


class Run:
    """A SchedulerState that validates itself after every call, plus shorthands."""

    def __init__(self, nworkers=0, nthreads=1, **kwargs):
        self.s = SchedulerState(validate=True, **kwargs)
        self.now = 0.0
        for i in range(nworkers):
            self(AddWorker(addr(i), f"w{i}", nthreads, 2**30, now=0.0))

    def __call__(self, *events) -> list:
        out = self.s.handle(*events)
        self.last = out
        return out

    def submit(self, specs, wanted, client="c1") -> list:
        return self(UpdateGraph(client, tuple(specs), tuple(wanted), now=self.now))

    def finish(self, worker, key, nbytes=1, duration=1.0) -> list:
        return self(TaskFinished(worker, key, nbytes, duration, now=self.now))

    def state(self, key) -> str:
        return self.s.task_state(key)


def executes(out) -> dict:
    """worker -> [keys] of the Execute instructions in ``out``."""
    found = {}
    for ins in out:
        if isinstance(ins, Execute):
            assert ins.worker not in found, "two Execute for one worker in one call"
            found[ins.worker] = [t.key for t in ins.tasks]
    return found


def frees(out) -> dict:
    found = {}
    for ins in out:
        if isinstance(ins, FreeKeys):
            assert ins.worker not in found
            found[ins.worker] = set(ins.keys)
    return found


def reports(out) -> dict:
    """client -> {key: status}."""
    found = {}
    for ins in out:
        if isinstance(ins, Report):
            assert ins.client not in found
            found[ins.client] = {u.key: u.status for u in ins.updates}
    return found


def updates(out, client="c1") -> list:
    return [u for ins in out if isinstance(ins, Report) and ins.client == client for u in ins.updates]


def assert_empty(s: SchedulerState) -> None:
    assert s.tasks == {}
    assert s.prefix_counts() == {}
    for ws in s.workers.values():
        assert not ws.processing and not ws.has_what and ws.load == 0 and ws.nbytes == 0
    assert s._restricted == {}


# ---------------------------------------------------------------------- basics


def test_chain_runs_in_order_and_frees_intermediates():
    r = Run(1)
    out = r.submit([spec("a"), spec("b", "a"), spec("c", "b")], ["c"])
    assert executes(out) == {addr(0): ["a"]}
    assert (r.state("a"), r.state("b"), r.state("c")) == ("processing", "waiting", "waiting")
    out = r.finish(addr(0), "a")
    assert executes(out) == {addr(0): ["b"]}
    [task] = out[-1].tasks
    assert task.who_has == {"a": (addr(0),)} and task.nbytes == {"a": 1}
    out = r.finish(addr(0), "b")
    assert frees(out) == {addr(0): {"a"}}
    assert executes(out) == {addr(0): ["c"]}
    out = r.finish(addr(0), "c")
    assert frees(out) == {addr(0): {"b"}}
    assert reports(out) == {"c1": {"c": "memory"}}
    assert r.state("a") == "released" and r.state("c") == "memory"
    out = r(ReleaseKeys("c1", ("c",)))
    assert frees(out) == {addr(0): {"c"}}
    assert_empty(r.s)


def test_diamond():
    r = Run(2)
    out = r.submit([spec("a"), spec("b", "a"), spec("c", "a"), spec("d", "b", "c")], ["d"])
    assert executes(out) == {addr(0): ["a"]}
    out = r.finish(addr(0), "a", nbytes=100)
    placed = executes(out)
    assert sorted(k for keys in placed.values() for k in keys) == ["b", "c"]
    assert addr(0) in placed  # one of them runs where its input is
    for worker, keys in placed.items():
        for key in keys:
            out = r.finish(worker, key)
    assert executes(out) and list(executes(out).values()) == [["d"]]
    worker = list(executes(out))[0]
    out = r.finish(worker, "d")
    assert reports(out) == {"c1": {"d": "memory"}}
    assert set(r.s.tasks) == {"a", "b", "c", "d"}
    assert r.state("b") == r.state("c") == r.state("a") == "released"
    r(ReleaseKeys("c1", ("d",)))
    assert_empty(r.s)


def test_instructions_are_merged_per_worker_and_client():
    r = Run(2, nthreads=4)
    out = r.submit([spec(f"x-{i}") for i in range(8)], [f"x-{i}" for i in range(8)])
    placed = executes(out)
    assert sorted(len(v) for v in placed.values()) == [4, 4]
    out = r(*[TaskFinished(w, k, 1, 1.0, 0.0) for w, keys in placed.items() for k in keys])
    assert [type(i) for i in out] == [Report]
    assert len(out[0].updates) == 8


def test_unknown_wanted_key_and_missing_dependency():
    r = Run(1)
    out = r.submit([spec("b", "nope")], ["b", "ghost"])
    assert reports(out) == {"c1": {"b": "erred", "ghost": "lost"}}
    [u] = [u for u in updates(out) if u.key == "b"]
    assert u.exception == ("MissingDependency", "b", "nope")
    r(ReleaseKeys("c1", ("b",)))
    assert_empty(r.s)


def test_unknown_events_are_refused():
    with pytest.raises(TypeError, match="not a scheduler event"):
        SchedulerState().handle("hello")


def test_validate_state_catches_corruption():
    r = Run(1)
    r.submit([spec("a"), spec("b", "a")], ["b"])
    r.s.tasks["b"].waiting_on = 5
    with pytest.raises(InvalidSchedulerState, match="waiting_on"):
        r.s.validate_state()


def test_duplicate_dependencies_count_once():
    r = Run(1)
    r.submit([spec("a"), spec("b", "a", "a")], ["b"])
    out = r.finish(addr(0), "a")
    assert executes(out) == {addr(0): ["b"]}
    assert r.s.tasks["b"].dependencies == (r.s.tasks["a"],)


def test_read_only_views():
    r = Run(2, nthreads=2)
    r.submit([spec("inc-1"), spec("inc-2"), spec("sum-1", "inc-1", "inc-2")], ["sum-1"])
    assert r.s.prefix_counts() == {"inc": {"processing": 2}, "sum": {"waiting": 1}}
    assert r.s.task_state("sum-1") == "waiting" and r.s.task_state("nope") == "forgotten"
    r.finish(addr(0), "inc-1", nbytes=40)
    ws = r.s.workers[addr(0)]
    assert (ws.address, ws.name, ws.nthreads, ws.memory_limit) == (addr(0), "w0", 2, 2**30)
    assert {ts.key for ts in ws.has_what} == {"inc-1"} and ws.nbytes == 40
    r(Heartbeat(addr(0), 3.0, {"cpu": 50}))
    assert ws.last_seen == 3.0 and ws.metrics == {"cpu": 50}
    assert r.s.prefixes["inc"].mean_duration == 1.0


def test_ready_queue_runs_and_singles():
    from teem.distributed.scheduler.placement import ReadyQueue

    class T:
        queue_entry = None

    q = ReadyQueue()
    tasks = [T() for _ in range(6)]
    entries = [((i,), i, t) for i, t in enumerate(tasks)]
    for e in entries:
        e[2].queue_entry = e
    q.push_sorted([entries[0], entries[2], entries[4]])
    q.push(entries[3])
    q.push_sorted([entries[1], entries[5]])
    tasks[2].queue_entry = None  # left the queue: skipped
    got = []
    while (e := q.top()) is not None:
        got.append(e[1])
        q.pop()
    assert got == [0, 1, 3, 4, 5]
    assert len(q) == 0 and q.entries() == []


# ---------------------------------------------------------------------- occupancy and placement


def test_depth_policy():
    assert occupancy_depth(None) == 1
    assert occupancy_depth(1.0) == 1
    assert occupancy_depth(0.001) == 5
    assert occupancy_depth(0.0001) == 50
    assert occupancy_depth(1e-9) == 1000
    assert occupancy_depth(0.0) == 1000


def drain(r: Run, out, duration=1.0, nbytes=1):
    """Finish everything that runs, all workers at once per step; return worker -> keys run."""
    ran = defaultdict(list)
    running = executes(out)
    while running:
        for worker, keys in running.items():
            assert len(r.s.workers[worker].processing) <= r.s.workers[worker].nthreads * 1000
            ran[worker].extend(keys)
        out = r(*[TaskFinished(w, k, nbytes, duration, r.now) for w, keys in running.items() for k in keys])
        running = executes(out)
    return ran


def test_twenty_equal_tasks_spread_over_four_workers():
    r = Run(4)
    out = r.submit([spec(f"long-{i}", priority=(0, i)) for i in range(20)], [f"long-{i}" for i in range(20)])
    assert {w: len(k) for w, k in executes(out).items()} == {addr(i): 1 for i in range(4)}
    assert r.s.nqueued == 16
    ran = drain(r, out, duration=2.0)
    assert {w: len(k) for w, k in ran.items()} == {addr(i): 5 for i in range(4)}
    assert all(r.state(f"long-{i}") == "memory" for i in range(20))


def test_priority_order_of_queued_tasks():
    r = Run(1)
    out = r.submit([spec(f"t-{i}", priority=(0, -i)) for i in range(5)], [f"t-{i}" for i in range(5)])
    order = [k for _, keys in sorted(drain(r, out).items()) for k in keys]
    assert order == [f"t-{i}" for i in reversed(range(5))]


def test_depth_grows_once_tasks_are_measured_short():
    r = Run(2)
    n = 2000
    out = r.submit([spec(f"tiny-{i}", priority=(i,)) for i in range(n)], [f"tiny-{i}" for i in range(n)])
    assert {w: len(k) for w, k in executes(out).items()} == {addr(0): 1, addr(1): 1}
    out = r(*[TaskFinished(w, keys[0], 8, 0.0001, 0.0) for w, keys in executes(out).items()])
    # 0.1 ms each: depth ceil(5 ms / 0.1 ms) = 50 per thread
    assert {w: len(k) for w, k in executes(out).items()} == {addr(0): 50, addr(1): 50}
    assert all(len(ws.processing) == 50 for ws in r.s.workers.values())
    ran = drain(r, out, duration=0.0001)
    assert sum(len(k) for k in ran.values()) == n - 2
    assert r.s.prefix_counts() == {"tiny": {"memory": n}}


def test_locality_most_bytes_wins_then_least_occupied():
    r = Run(3)
    out = r.submit([spec("x"), spec("y")], ["x", "y"])
    placed = executes(out)
    wx = next(w for w, k in placed.items() if k == ["x"])
    wy = next(w for w, k in placed.items() if k == ["y"])
    r.finish(wx, "x", nbytes=1000)
    r.finish(wy, "y", nbytes=10)
    out = r.submit([spec("z", "x", "y")], ["z"])
    assert executes(out) == {wx: ["z"]}
    # a holder without room loses to a free worker; equal bytes go to the least occupied
    r.submit([spec("p", priority=(-1,))], ["p"])  # keeps one worker busy
    busy = next(w for w, ws in r.s.workers.items() if ws.processing and w != wx)
    free = ({addr(0), addr(1), addr(2)} - {wx, busy}).pop()
    r(AddReplicas(busy, ("y",), (10,), 0.0), AddReplicas(free, ("y",), (10,), 0.0))
    out = r.submit([spec("q", "y")], ["q"])
    assert executes(out) == {free: ["q"]}


def test_restricted_tasks_run_only_on_allowed_workers():
    r = Run(2)
    out = r.submit([spec("r-1", workers=("w1",)), spec("r-2", workers=(addr(1),)), spec("r-3", workers=("w1",))],
                   ["r-1", "r-2", "r-3"])
    assert executes(out) == {addr(1): ["r-1"]}
    assert r.state("r-2") == r.state("r-3") == "queued"
    assert r.s.workers[addr(0)].load == 0  # w0 may not run them: it stays idle
    out = r.finish(addr(1), "r-1")
    assert executes(out) == {addr(1): ["r-2"]}
    out = r.finish(addr(1), "r-2")
    assert executes(out) == {addr(1): ["r-3"]}
    # restricted to a worker that does not exist yet: it waits, then runs there
    out = r.submit([spec("later", workers=("w9",))], ["later"])
    assert executes(out) == {} and r.state("later") == "queued"
    out = r(AddWorker(addr(9), "w9", 1, 2**30, 0.0))
    assert executes(out) == {addr(9): ["later"]}


def test_restricted_task_released_before_its_worker_exists():
    r = Run(1)
    r.submit([spec("r", workers=("nobody",))], ["r"])
    r(ReleaseKeys("c1", ("r",)))
    assert_empty(r.s)


def test_worker_added_later_takes_queued_work():
    r = Run(1)
    out = r.submit([spec(f"t-{i}", priority=(i,)) for i in range(10)], [f"t-{i}" for i in range(10)])
    assert executes(out) == {addr(0): ["t-0"]}
    out = r(AddWorker(addr(1), "w1", 2, 2**30, 0.0))
    assert executes(out) == {addr(1): ["t-1", "t-2"]}
    out = r(AddWorker(addr(2), "w2", 1, 2**30, 0.0))
    assert executes(out) == {addr(2): ["t-3"]}


def test_root_tasks_never_pile_up_on_one_worker():
    r = Run(2)
    out = r.submit([spec(f"load-{i}", priority=(i,)) for i in range(100)], [f"load-{i}" for i in range(100)])
    assert all(len(k) == 1 for k in executes(out).values())
    out = r.finish(addr(0), executes(out)[addr(0)][0])  # measured 1 s: depth stays 1
    assert executes(out) == {addr(0): ["load-2"]}


# ---------------------------------------------------------------------- freeing and caching


def test_release_forgets_tasks_not_started_yet():
    r = Run(1)
    r.submit([spec("a"), spec("b", "a"), spec("c", "b"), spec("other")], ["c", "other"])
    assert r.state("a") == "processing"
    out = r(ReleaseKeys("c1", ("c",)))
    assert frees(out) == {addr(0): {"a"}}  # the running input is cancelled
    assert set(r.s.tasks) == {"other"}
    assert executes(out) == {addr(0): ["other"]}
    r(ReleaseKeys("c1", ("other",)))
    assert_empty(r.s)


def test_no_leak_after_everything_released():
    r = Run(3, nthreads=2)
    specs = [spec(f"a-{i}") for i in range(10)] + [spec(f"b-{i}", f"a-{i}", f"a-{(i + 1) % 10}") for i in range(10)]
    specs.append(spec("total", *[f"b-{i}" for i in range(10)]))
    out = r.submit(specs, ["total", "a-3"])
    drain(r, out)
    assert r.state("total") == "memory" and r.state("a-3") == "memory"
    r(ReleaseKeys("c1", ("total",)))
    assert set(r.s.tasks) == {"a-3"}
    r(RemoveClient("c1", 0.0))
    assert_empty(r.s)


def test_wide_fan_out_freed_as_dependents_are_released():
    r = Run(2)
    out = r.submit([spec("src")] + [spec(f"use-{i}", "src") for i in range(10)], [f"use-{i}" for i in range(10)])
    assert type(r.s.tasks["src"].dependents) is set
    drain(r, out)
    r(ReleaseKeys("c1", tuple(f"use-{i}" for i in range(9))))
    assert list(r.s.tasks["src"].dependents) == [r.s.tasks["use-9"]]
    r(ReleaseKeys("c1", ("use-9",)))
    assert_empty(r.s)


def test_unneeded_submitted_tasks_are_culled():
    r = Run(1)
    out = r.submit([spec("a"), spec("b", "a"), spec("unused")], ["b"])
    assert set(r.s.tasks) == {"a", "b"}
    assert executes(out) == {addr(0): ["a"]}


def test_pure_caching_same_key_computed_once():
    r = Run(1)
    r.submit([spec("x")], ["x"])
    r.finish(addr(0), "x")
    out = r.submit([spec("x"), spec("y", "x")], ["x", "y"], client="c2")
    assert executes(out) == {addr(0): ["y"]}
    assert reports(out) == {"c2": {"x": "memory"}}
    # submitted again while running: no second run, both clients hear once
    out = r.submit([spec("y", "x")], ["y"], client="c3")
    assert executes(out) == {}
    out = r.finish(addr(0), "y")
    assert reports(out) == {"c2": {"y": "memory"}, "c3": {"y": "memory"}}
    r(ReleaseKeys("c1", ("x",)))
    assert r.state("x") == "memory"  # c2 still wants it
    r(RemoveClient("c2", 0.0), RemoveClient("c3", 0.0))
    assert_empty(r.s)


def test_released_intermediate_wanted_later_is_recomputed():
    r = Run(1)
    out = r.submit([spec("a"), spec("b", "a")], ["b"])
    drain(r, out)
    assert r.state("a") == "released"
    out = r.submit([], ["a"], client="c2")
    assert executes(out) == {addr(0): ["a"]}
    out = r.finish(addr(0), "a")
    assert reports(out) == {"c2": {"a": "memory"}}


def test_cancel():
    r = Run(1)
    r.submit([spec("a"), spec("b", "a")], ["b"])
    r.submit([], ["b"], client="c2")
    out = r(CancelKeys("c1", ("b",)))
    assert reports(out) == {"c1": {"b": "cancelled"}, "c2": {"b": "cancelled"}}
    assert frees(out) == {addr(0): {"a"}}
    assert_empty(r.s)
    # a cancelled key that another pending task needs keeps running
    r.submit([spec("a"), spec("b", "a")], ["a", "b"])
    out = r(CancelKeys("c1", ("a",)))
    assert reports(out) == {"c1": {"a": "cancelled"}}
    assert r.state("a") == "processing" and not r.s.tasks["a"].wanted_by
    out = r.finish(addr(0), "a")
    assert executes(out) == {addr(0): ["b"]}


def test_finished_report_for_cancelled_task_is_ignored():
    r = Run(1)
    r.submit([spec("a")], ["a"])
    r(CancelKeys("c1", ("a",)))
    assert r.finish(addr(0), "a") == []
    assert_empty(r.s)


# ---------------------------------------------------------------------- errors


def test_error_spreads_to_all_dependents():
    r = Run(2)
    r.submit([spec("a"), spec("b", "a"), spec("c", "b"), spec("d", "a"), spec("e")], ["c", "d", "e"])
    r.submit([], ["b"], client="c2")
    out = r(TaskErred(addr(0), "a", "ZeroDivisionError()", "tb", 0.1, 0.0))
    got = {u.key: (u.status, u.exception, u.traceback) for u in updates(out)}
    assert got == {"c": ("erred", "ZeroDivisionError()", "tb"), "d": ("erred", "ZeroDivisionError()", "tb")}
    assert reports(out)["c2"] == {"b": "erred"}
    assert {k: r.state(k) for k in "abcd"} == dict.fromkeys("abcd", "erred")
    assert r.s.tasks["b"].erred_on == addr(0)
    # a new task depending on an erred one errs at once
    out = r.submit([spec("f", "c")], ["f"])
    assert reports(out) == {"c1": {"f": "erred"}}
    r(ReleaseKeys("c1", ("c", "d", "f")), RemoveClient("c2", 0.0))
    assert set(r.s.tasks) == {"e"}


def test_retries():
    r = Run(1)
    r.submit([spec("flaky", retries=2)], ["flaky"])
    for _ in range(2):
        out = r(TaskErred(addr(0), "flaky", "OSError", None, 0.1, 0.0))
        assert executes(out) == {addr(0): ["flaky"]}
    out = r.finish(addr(0), "flaky")
    assert reports(out) == {"c1": {"flaky": "memory"}}
    r.submit([spec("bad", retries=1)], ["bad"])
    r(TaskErred(addr(0), "bad", "E1", None, 0.1, 0.0))
    out = r(TaskErred(addr(0), "bad", "E2", None, 0.1, 0.0))
    assert [(u.key, u.status, u.exception) for u in updates(out)] == [("bad", "erred", "E2")]


def test_erred_report_from_stale_worker_is_ignored():
    r = Run(2)
    r.submit([spec("a")], ["a"])
    assert r(TaskErred(addr(1), "a", "E", None, 0.1, 0.0)) == []
    assert r.state("a") == "processing"


# ---------------------------------------------------------------------- resilience


def test_worker_death_reschedules_and_recomputes_lost_keys():
    r = Run(2)
    r.submit([spec("a", priority=(0,)), spec("z", priority=(1,)), spec("b", "a", "z"), spec("c", "b")], ["c"])
    r.finish(addr(0), "a", nbytes=100)
    wz = next(w for w, ws in r.s.workers.items() if any(ts.key == "z" for ts in ws.processing))
    out = r.finish(wz, "z", nbytes=1)
    assert executes(out) == {addr(0): ["b"]}
    r(AddReplicas(addr(1), ("z",), (1,), 0.0))
    # w0 dies while running b and holding the only copy of a
    out = r(RemoveWorker(addr(0), 0.0, "connection lost"))
    assert executes(out) == {addr(1): ["a"]}  # a is recomputed first, b waits for it
    assert r.state("b") == "waiting" and r.s.tasks["b"].suspicious == 1
    assert r.state("z") == "memory" and r.s.tasks["z"].who_has == {addr(1)}
    out = r.finish(addr(1), "a")
    assert executes(out) == {addr(1): ["b"]}
    out = r.finish(addr(1), "b")
    out = r.finish(addr(1), "c")
    assert reports(out) == {"c1": {"c": "memory"}}


def test_lost_wanted_key_is_recomputed_without_a_new_report():
    r = Run(2)
    r.submit([spec("a")], ["a"])
    r.finish(addr(0), "a")
    out = r(RemoveWorker(addr(0), 0.0, "gone"))
    assert executes(out) == {addr(1): ["a"]} and updates(out) == []
    out = r.finish(addr(1), "a")
    assert updates(out) == []  # the client was told once already


def test_lost_key_not_needed_is_forgotten():
    r = Run(2)
    r.submit([spec("a"), spec("b", "a")], ["b"])
    r.finish(addr(0), "a")
    r.finish(addr(0), "b")
    r(AddReplicas(addr(1), ("b",), (1,), 0.0))
    out = r(RemoveWorker(addr(0), 0.0, "gone"))
    assert executes(out) == {}
    assert r.state("a") == "released" and r.s.tasks["b"].who_has == {addr(1)}


def test_killed_worker_after_three_deaths():
    r = Run(0)
    r.submit([spec("crash"), spec("after", "crash")], ["after"])
    for i in range(3):
        out = r(AddWorker(addr(i), f"w{i}", 1, 2**30, 0.0))
        assert executes(out) == {addr(i): ["crash"]}
        out = r(RemoveWorker(addr(i), 0.0, "killed"))
    [u] = updates(out)
    assert (u.key, u.status) == ("after", "erred")
    assert u.exception == ("KilledWorker", "crash", addr(2), 3)
    assert r.state("crash") == "erred"


def test_heartbeat_timeout_via_tick():
    r = Run(2, heartbeat_timeout=10)
    r.submit([spec("a"), spec("b")], ["a", "b"])
    r(Heartbeat(addr(1), 8.0, {"memory": 123}))
    assert r.s.workers[addr(1)].metrics == {"memory": 123}
    assert r(Tick(9.0)) == []
    out = r(Tick(12.0))
    assert CloseWorker(addr(0), "heartbeat timeout") in out
    assert set(r.s.workers) == {addr(1)}
    assert r.s.workers[addr(1)].nprocessing == 1 and r.s.nqueued == 1
    assert r(Tick(17.0)) == []
    out = r(Tick(19.0))
    assert CloseWorker(addr(1), "heartbeat timeout") in out and not r.s.workers


def test_retire_worker():
    r = Run(2)
    r.submit([spec("a")], ["a"])
    r.finish(addr(0), "a")
    out = r(RetireWorker(addr(0), 0.0))
    assert CloseWorker(addr(0), "retired") in out
    assert executes(out) == {addr(1): ["a"]}  # MVP: recomputed rather than copied first


def test_scatter_and_loss_of_scattered_data():
    r = Run(2)
    out = r(AddReplicas(addr(0), ("data",), (5000,), 0.0))
    assert r.state("data") == "memory" and r.s.tasks["data"].run_spec is None
    out = r.submit([spec("use", "data")], ["data", "use"])
    assert reports(out) == {"c1": {"data": "memory"}}
    assert executes(out) == {addr(0): ["use"]}
    out = r(RemoveWorker(addr(0), 0.0, "gone"))
    got = {u.key: u for u in updates(out)}
    assert set(got) == {"data", "use"}
    assert got["data"].status == "erred" and got["data"].exception[:2] == ("LostData", "data")
    assert "scatter it again" in got["data"].exception[2]
    assert got["use"].exception == got["data"].exception
    r(ReleaseKeys("c1", ("data", "use")))
    assert_empty(r.s)


def test_scattered_input_freed_after_use_and_scattered_again():
    r = Run(1)
    r(AddReplicas(addr(0), ("d",), (8,), 0.0))
    r.submit([spec("use", "d")], ["use"])
    out = r.finish(addr(0), "use")
    assert frees(out) == {addr(0): {"d"}} and r.state("d") == "released"
    r(AddReplicas(addr(0), ("d",), (8,), 0.0))
    assert r.state("d") == "memory"
    out = r.submit([], ["d"], client="c2")
    assert reports(out) == {"c2": {"d": "memory"}}


def test_add_replicas_and_missing_data():
    r = Run(3)
    r.submit([spec("a"), spec("b", "a")], ["a"])
    r.finish(addr(0), "a", nbytes=10)
    r(AddReplicas(addr(1), ("a",), (10,), 0.0))
    assert r.s.tasks["a"].who_has == {addr(0), addr(1)}
    r(MissingData(addr(2), "a", addr(0), 0.0))
    assert r.s.tasks["a"].who_has == {addr(1)} and not r.s.workers[addr(0)].has_what
    out = r(MissingData(addr(2), "a", addr(1), 0.0))  # the last copy: recompute (wanted)
    assert r.state("a") == "processing" and updates(out) == []
    assert sum(len(k) for k in executes(out).values()) == 1


def test_replica_of_unneeded_key_is_freed():
    r = Run(2)
    r.submit([spec("a"), spec("b", "a")], ["b"])
    r.finish(addr(0), "a")
    r.finish(addr(0), "b")
    out = r(AddReplicas(addr(1), ("a",), (1,), 0.0))
    assert frees(out) == {addr(1): {"a"}}


# ---------------------------------------------------------------------- randomized


class SimCluster:
    """Workers that do what they are told and finish tasks in random order."""

    join_rate = 0.03
    kill_rate = 0.03
    max_workers = 30

    def __init__(self, rng: random.Random, failing: set):
        self.rng = rng
        self.failing = failing
        self.s = SchedulerState(validate=True, allowed_failures=3)
        self.running: dict = {}   # worker -> list of keys
        self.data: dict = {}      # worker -> set of keys
        self.status: dict = {}    # key -> last status reported to c1
        self.nworkers = 0
        self.now = 0.0

    def handle(self, *events):
        out = self.s.handle(*events)
        for ins in out:
            if isinstance(ins, FreeKeys):
                running = self.running.get(ins.worker, [])
                for key in ins.keys:
                    if key in running:
                        running.remove(key)
                    self.data[ins.worker].discard(key)
            elif isinstance(ins, Execute):
                for task in ins.tasks:
                    for dep, holders in task.who_has.items():
                        assert holders, f"{task.key} sent with no holder of {dep}"
                        assert any(dep in self.data.get(h, ()) for h in holders), (task.key, dep, holders)
                    assert task.key not in self.running[ins.worker]
                    self.running[ins.worker].append(task.key)
            elif isinstance(ins, Report):
                for u in ins.updates:
                    self.status[u.key] = (u.status, u.exception)
        for key, ts in self.s.tasks.items():
            for holder in ts.who_has:
                assert key in self.data[holder]
        return out

    def add_worker(self):
        address = addr(self.nworkers)
        self.nworkers += 1
        self.running[address] = []
        self.data[address] = set()
        self.handle(AddWorker(address, address[6:], self.rng.choice([1, 1, 2, 4]), 2**30, self.now))

    def kill_worker(self, address):
        del self.running[address]
        del self.data[address]
        self.handle(RemoveWorker(address, self.now, "killed"))

    def step(self):
        rng = self.rng
        self.now += 0.01
        busy = [(w, k) for w, keys in self.running.items() for k in keys]
        roll = rng.random()
        if roll < self.join_rate or not self.running:
            self.add_worker()
        elif roll < self.join_rate + self.kill_rate and len(self.running) > 1 and self.nworkers < self.max_workers:
            self.kill_worker(rng.choice(sorted(self.running)))
        elif roll < self.join_rate + self.kill_rate + 0.02 and busy:
            worker, key = rng.choice(busy)
            ts = self.s.tasks[key]
            deps = [d.key for d in ts.dependencies if d.state == "memory" and worker not in d.who_has]
            if deps:  # the worker fetched an input: it now holds a replica
                self.data[worker].update(deps)
                self.handle(AddReplicas(worker, tuple(deps), tuple(1 for _ in deps), self.now))
        elif roll < self.join_rate + self.kill_rate + 0.03:
            held = [(h, k) for h in sorted(self.data) for k in sorted(self.data[h])]
            if held:  # a holder lost a result (disk gone): a peer tells the scheduler
                holder, key = rng.choice(held)
                self.data[holder].discard(key)
                self.handle(MissingData(rng.choice(sorted(self.running)), key, holder, self.now))
        elif busy:
            batch = rng.sample(busy, min(len(busy), rng.randint(1, 5)))
            events = []
            for worker, key in batch:
                self.running[worker].remove(key)
                if key in self.failing:
                    events.append(TaskErred(worker, key, f"boom {key}", None, 0.01, self.now))
                else:
                    self.data[worker].add(key)
                    events.append(TaskFinished(worker, key, rng.randint(1, 100), rng.random() * 0.01, self.now))
            self.handle(*events)
        else:
            return False  # nothing runs
        return True


def random_graph(rng: random.Random, n: int, tag: str):
    specs, keys = [], []
    for i in range(n):
        key = f"{tag}{rng.choice('fgh')}-{i}"
        deps = rng.sample(keys, min(len(keys), rng.choice([0, 0, 1, 1, 2, 3])))
        specs.append(TaskSpec(key, tuple(deps), b"run", priority=(i,), retries=rng.choice([0, 0, 1])))
        keys.append(key)
    return specs, keys


@pytest.mark.parametrize("seed", range(12))
def test_random_graphs_workers_joining_and_dying(seed):
    rng = random.Random(seed)
    failing: set = set()
    sim = SimCluster(rng, failing)
    for _ in range(rng.randint(1, 4)):
        sim.add_worker()
    wanted_all = []
    for round_ in range(3):
        specs, keys = random_graph(rng, rng.randint(5, 60), f"r{round_}")
        failing.update(k for k in keys if rng.random() < 0.05)
        wanted = rng.sample(keys, max(1, len(keys) // 4)) + [keys[-1]]
        wanted_all.extend(wanted)
        sim.handle(UpdateGraph("c1", tuple(specs), tuple(wanted), sim.now))
        for _ in range(20):
            sim.step()
    for _ in range(20000):
        if not sim.step():
            break
    else:
        pytest.fail("the simulated cluster did not finish")
    for key in wanted_all:
        status, exception = sim.status[key]
        assert status in ("memory", "erred"), (key, status)
        if status == "memory":
            assert sim.s.task_state(key) == "memory"
        else:
            assert exception[0] == "KilledWorker" or exception.startswith("boom ")
    assert all(sim.s.task_state(k) in ("memory", "erred") for k in wanted_all)
    sim.handle(ReleaseKeys("c1", tuple(wanted_all)))
    assert_empty(sim.s)
    assert all(not keys for keys in sim.data.values())


def test_many_workers_many_tasks_run_to_completion():
    """500 workers, 20,000 tasks, one handle() per wave (bench/bench_scheduler_state.py measures speed)."""
    r = SchedulerState()
    r.handle(*[AddWorker(addr(i), f"w{i}", 1, 2**30, 0.0) for i in range(500)])
    out = r.handle(UpdateGraph("c", tuple(TaskSpec(f"t-{i}", (), b"", (i,)) for i in range(20000)),
                               tuple(f"t-{i}" for i in range(20000)), 0.0))
    done = 0
    while out:
        events = [TaskFinished(i.worker, t.key, 8, 0.0001, 0.0) for i in out if isinstance(i, Execute)
                  for t in i.tasks]
        done += len(events)
        out = r.handle(*events) if events else []
    assert done == 20000
    assert Counter(ts.state for ts in r.tasks.values()) == {"memory": 20000}
    r.handle(RemoveClient("c", 0.0))
    assert r.tasks == {}
