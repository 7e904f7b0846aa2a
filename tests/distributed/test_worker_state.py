"""The worker's state machine, driven by events alone: no sockets, no threads, no clock.

Every WorkerState here runs validate_state() after each handle() call.
"""

from __future__ import annotations

import random

import pytest

from teem.distributed.worker.events import (AddReplicasMsg, Compute, ExecuteFailure, ExecuteSuccess, Fetch,
                                            FetchDone, FetchFailed, FreeKeys, MissingDataMsg, Pause, PutData,
                                            Release, Run, TaskErredMsg, TaskFinishedMsg, Unpause)
from teem.distributed.worker.state import InvalidWorkerState, WorkerState

pytestmark = pytest.mark.timeout(60)

ME = "tcp://me:1"
A, B, C, D = "tcp://a:1", "tcp://b:1", "tcp://c:1", "tcp://d:1"


def entry(key, who_has=None, nbytes=None, priority=0):
    """An execute entry as it comes off the wire: who_has maps each dependency to its holders."""
    who_has = who_has or {}
    return (key, f"spec {key}".encode(), who_has, nbytes or {k: 10 for k in who_has}, (priority,))


class W:
    """A validating WorkerState plus shorthands."""

    def __init__(self, nthreads=1, **kwargs):
        self.s = WorkerState(ME, nthreads, validate=True, **kwargs)

    def __call__(self, *events) -> list:
        self.last = self.s.handle(*events)
        return self.last

    def compute(self, *entries) -> list:
        return self(Compute(tuple(entries)))

    def done(self, key, nbytes=8) -> list:
        return self(ExecuteSuccess(key, nbytes, 1.0, 2.0, 1))

    def state(self, key) -> str:
        return self.s.task_state(key)


def of(out, kind) -> list:
    return [i for i in out if type(i) is kind]


def runs(out) -> list:
    return [i.key for i in of(out, Run)]


def fetches(out) -> dict:
    return {i.holder: set(i.keys) for i in of(out, Fetch)}


def released(out) -> set:
    return {k for i in of(out, Release) for k in i.keys}


def finished(out) -> list:
    return [i.key for i in of(out, TaskFinishedMsg)]


def missing(out) -> set:
    return {(i.key, i.holder) for i in of(out, MissingDataMsg)}


# ---------------------------------------------------------------------------------------- running


def test_run_report_and_free():
    w = W()
    assert w.compute(entry("x")) == [Run("x", b"spec x")]
    assert w.state("x") == "executing"
    assert w.done("x", nbytes=28) == [TaskFinishedMsg("x", 28, 1.0, 2.0, 1)]
    assert w.state("x") == "memory"
    assert w(FreeKeys(("x",))) == [Release(("x",))]
    assert w.state("x") == "forgotten"
    assert w(FreeKeys(("x", "unknown"))) == []


def test_ready_tasks_run_by_priority_at_most_nthreads():
    w = W(nthreads=2)
    out = w.compute(entry("a", priority=5), entry("b", priority=1), entry("c", priority=3),
                    entry("d", priority=0))
    assert runs(out) == ["d", "b"]
    assert w.s.executing == 2 and w.s.nready == 2
    assert runs(w.done("b")) == ["c"]
    assert runs(w.done("d")) == ["a"]
    assert runs(w.done("c")) == []
    assert runs(w.done("a")) == []
    assert w.s.executing == 0


def test_a_batch_of_results_starts_as_many_tasks():
    w = W(nthreads=2)
    w.compute(*(entry(f"t{i}", priority=i) for i in range(6)))
    out = w(ExecuteSuccess("t0", 1, 0, 0, 1), ExecuteSuccess("t1", 1, 0, 0, 2))
    assert finished(out) == ["t0", "t1"]
    assert runs(out) == ["t2", "t3"]


def test_paused_worker_starts_nothing_until_unpaused():
    w = W()
    w(Pause())
    assert w.compute(entry("x"), entry("y", priority=1)) == []
    assert w.state("x") == "ready"
    assert runs(w(Unpause())) == ["x"]
    w(Pause())
    assert runs(w.done("x")) == []  # the running task finishes, nothing new starts
    assert runs(w(Unpause())) == ["y"]


def test_task_error_is_reported_and_forgotten():
    w = W()
    w.compute(entry("x"))
    out = w(ExecuteFailure("x", [b"frames"], "Traceback ...", 1.0, 2.0, 1))
    assert out == [TaskErredMsg("x", [b"frames"], "Traceback ...", 1.0, 2.0, 1)]
    assert w.state("x") == "forgotten"


def test_end_of_a_run_that_was_never_started_is_a_bug():
    w = W()
    with pytest.raises(ValueError, match="not executing"):
        w.done("nope")


def test_unknown_event_is_refused():
    with pytest.raises(TypeError, match="not a worker event"):
        W()("hello")


# ---------------------------------------------------------------------------------------- cancelling


def test_free_keys_cancels_a_queued_task():
    w = W()
    w.compute(entry("running"), entry("queued", priority=1))
    assert w(FreeKeys(("queued",))) == []
    assert w.state("queued") == "forgotten"
    assert runs(w.done("running")) == []  # the cancelled task never runs


def test_free_keys_on_a_running_task_drops_its_result_unreported():
    w = W()
    w.compute(entry("x"))
    assert w(FreeKeys(("x",))) == []
    assert w.state("x") == "executing"  # its end still comes back
    out = w.done("x")
    assert finished(out) == [] and released(out) == {"x"}
    assert w.state("x") == "forgotten"


def test_execute_again_while_running_after_free_reports_after_all():
    w = W()
    w.compute(entry("x"))
    w(FreeKeys(("x",)))
    assert w.compute(entry("x")) == []  # already running: not started twice
    assert finished(w.done("x")) == ["x"]
    assert w.state("x") == "memory"


def test_free_keys_on_a_waiting_task_drops_the_fetch_it_caused():
    w = W()
    out = w.compute(entry("y", {"x": (A,)}))
    assert fetches(out) == {A: {"x"}}
    assert w(FreeKeys(("y",))) == []
    assert w.state("x") == "flight"  # the answer still comes back ...
    out = w(FetchDone(A, ("x",), {"x": 10}))
    assert released(out) == {"x"}  # ... and is dropped, unreported
    assert of(out, AddReplicasMsg) == []
    assert w.state("x") == "forgotten"


def test_free_keys_forgets_a_dependency_not_yet_fetched():
    w = W(fetch_total=1)
    out = w.compute(entry("y1", {"x1": (A,)}, priority=0), entry("y2", {"x2": (B,)}, priority=1))
    assert fetches(out) == {A: {"x1"}}
    assert w.state("x2") == "fetch"
    w(FreeKeys(("y2",)))
    assert w.state("x2") == "forgotten"
    out = w(FetchDone(A, ("x1",), {"x1": 10}))
    assert fetches(out) == {} and runs(out) == ["y1"]


def test_computed_value_kept_for_a_local_dependent_after_free_keys():
    w = W(nthreads=2)
    w.compute(entry("x"))
    w.done("x")
    w.compute(entry("y", {"x": (ME,)}))  # the scheduler names us as the holder: it is here
    assert w.state("y") == "executing"
    assert w(FreeKeys(("x",))) == []  # y still reads it
    assert w.state("x") == "memory"
    out = w.done("y")
    assert released(out) == {"x"}
    assert w.state("x") == "forgotten"


def test_execute_for_a_value_already_here_reports_at_once():
    w = W(nthreads=2)
    w.compute(entry("x"))
    w.done("x")
    w.compute(entry("y", {"x": (ME,)}))
    w(FreeKeys(("x",)))
    out = w.compute(entry("x"))  # recomputation asked for: the value is still here
    assert finished(out) == ["x"] and runs(out) == []
    assert released(w.done("y")) == set()  # x is held for the scheduler again


def test_task_freed_while_local_dependents_wait_is_fetched_instead():
    w = W()
    w.compute(entry("busy"))
    w.compute(entry("x", priority=1))
    w.compute(entry("y", {"x": (A,)}, priority=2))  # (x is computed here, but A has it too)
    assert w.state("x") == "ready" and w.state("y") == "waiting"
    out = w(FreeKeys(("x",)))
    assert w.state("x") == "flight" and fetches(out) == {A: {"x"}}
    out = w(FetchDone(A, ("x",), {"x": 10}))
    assert of(out, AddReplicasMsg) == [AddReplicasMsg(("x",), (10,))]
    assert w.state("y") == "ready"
    assert runs(w.done("busy")) == ["y"]


# ---------------------------------------------------------------------------------------- fetching


def test_dependencies_are_fetched_batched_per_holder_then_the_task_runs():
    w = W()
    out = w.compute(entry("z", {"x1": (A,), "x2": (A,), "x3": (B,)}))
    assert fetches(out) == {A: {"x1", "x2"}, B: {"x3"}}
    assert w.state("z") == "waiting"
    out = w(FetchDone(A, ("x1", "x2"), {"x1": 5, "x2": 6}))
    assert of(out, AddReplicasMsg) == [AddReplicasMsg(("x1", "x2"), (5, 6))]
    assert runs(out) == []
    out = w(FetchDone(B, ("x3",), {"x3": 7}))
    assert runs(out) == ["z"]
    out = w.done("z")
    assert finished(out) == ["z"] and released(out) == set()  # replicas stay: the scheduler knows
    assert w(FreeKeys(("x1", "x2", "x3", "z"))) == [Release(("x1", "x2", "x3", "z"))]


def test_a_dependency_of_two_tasks_is_fetched_once():
    w = W(nthreads=2)
    out = w.compute(entry("y1", {"x": (A,)}), entry("y2", {"x": (A, B)}))
    assert fetches(out) == {A: {"x"}}
    assert runs(w(FetchDone(A, ("x",), {"x": 1}))) == ["y1", "y2"]


def test_fetch_bytes_limit_splits_batches():
    w = W(fetch_per_peer=1, fetch_bytes=25)
    nbytes = {"x1": 10, "x2": 10, "x3": 10}
    out = w.compute(entry("z", {k: (A,) for k in nbytes}, nbytes))
    assert fetches(out) == {A: {"x1", "x2"}}  # 30 bytes would pass the limit
    out = w(FetchDone(A, ("x1", "x2"), {"x1": 10, "x2": 10}))
    assert fetches(out) == {A: {"x3"}}


def test_fetch_limits_per_peer_and_overall():
    w = W(fetch_per_peer=1, fetch_total=2, fetch_bytes=10)
    out = w.compute(entry("z", {"a1": (A,), "a2": (A,), "b1": (B,), "c1": (C,)},
                          {"a1": 10, "a2": 10, "b1": 10, "c1": 10}))
    fetched = of(out, Fetch)
    assert len(fetched) == 2 and len({f.holder for f in fetched}) == 2
    assert w.s.nflights == 2
    first = fetched[0]
    out = w(FetchDone(first.holder, first.keys, {k: 10 for k in first.keys}))
    assert len(of(out, Fetch)) == 1


def test_urgent_dependencies_are_fetched_first():
    w = W(fetch_total=1)
    out = w.compute(entry("late", {"x_late": (A,)}, priority=9), entry("soon", {"x_soon": (B,)}, priority=1))
    assert fetches(out) == {B: {"x_soon"}}


def test_holder_without_the_key_is_reported_and_the_next_holder_tried():
    w = W()
    out = w.compute(entry("y", {"x": (A, B)}))
    assert fetches(out) == {A: {"x"}}
    out = w(FetchDone(A, ("x",), {}))
    assert missing(out) == {("x", A)}
    assert fetches(out) == {B: {"x"}}
    out = w(FetchFailed(B, ("x",)))  # unreachable
    assert missing(out) == {("x", B)}
    assert w.state("x") == "missing" and fetches(out) == {}
    out = w.compute(entry("y2", {"x": (C,)}, priority=1))  # new holders named
    assert fetches(out) == {C: {"x"}}
    assert runs(w(FetchDone(C, ("x",), {"x": 3}))) == ["y"]


def test_who_has_naming_this_worker_for_a_key_it_lacks_is_missing_data():
    w = W()
    out = w.compute(entry("y", {"x": (ME, A)}))
    assert missing(out) == {("x", ME)}
    assert fetches(out) == {A: {"x"}}


def test_a_missing_dependency_is_cancelled_with_its_dependent():
    w = W()
    w.compute(entry("y", {"x": ()}))
    assert w.state("x") == "missing"
    w(FreeKeys(("y",)))
    assert w.state("x") == "forgotten"


def test_execute_for_a_key_in_flight_takes_the_fetched_value_or_computes():
    w = W(nthreads=2)
    w.compute(entry("y", {"x": (A,)}))
    assert w.compute(entry("x", {"w": (B,)})) == []  # x is in flight: wait for it
    out = w(FetchDone(A, ("x",), {}))
    assert missing(out) == {("x", A)}
    assert w.state("x") == "waiting" and fetches(out) == {B: {"w"}}  # computed here instead
    assert runs(w(FetchDone(B, ("w",), {"w": 1}))) == ["x"]
    out = w.done("x")
    assert finished(out) == ["x"] and runs(out) == ["y"]


def test_execute_for_a_dependency_waiting_to_be_fetched_computes_it():
    w = W(fetch_total=1)
    w.compute(entry("y1", {"x1": (A,)}), entry("y2", {"x2": (B,)}, priority=1))
    assert w.state("x2") == "fetch"
    out = w.compute(entry("x2", priority=1))
    assert runs(out) == ["x2"]
    out = w.done("x2")
    assert finished(out) == ["x2"] and runs(out) == ["y2"]


def test_results_arriving_for_a_dependency_scattered_meanwhile_are_kept_once():
    w = W()
    w.compute(entry("y", {"x": (A,)}))
    out = w(PutData(("x",), (4,)))
    assert w.state("x") == "memory" and runs(out) == ["y"]
    out = w(FetchDone(A, ("x",), {"x": 4}))  # the same value: nothing to drop
    assert released(out) == set() and of(out, AddReplicasMsg) == []


# ---------------------------------------------------------------------------------------- put-data


def test_put_data_is_held_until_freed():
    w = W()
    assert w(PutData(("s1", "s2"), (3, 4))) == []
    assert w.state("s1") == "memory"
    assert runs(w.compute(entry("y", {"s1": (ME,)}))) == ["y"]
    assert w(FreeKeys(("s1", "s2"))) == [Release(("s2",))]  # s1 is read by y
    assert released(w.done("y")) == {"s1"}


# ---------------------------------------------------------------------------------------- invariants


def test_validate_state_catches_a_broken_counter():
    w = W()
    w.compute(entry("x"))
    w.s.executing = 0
    with pytest.raises(InvalidWorkerState, match="executing counter"):
        w.s.validate_state()


class Simulation:
    """A random shell around a WorkerState: ends runs and fetches in random order, frees keys,
    scatters, pauses; checks that values stored match what the state keeps in memory."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.s = WorkerState(ME, nthreads=self.rng.choice([1, 2, 3]), fetch_per_peer=self.rng.choice([1, 2]),
                             fetch_total=self.rng.choice([1, 3, 8]), fetch_bytes=25, validate=True)
        self.store: set = set()
        self.running: list = []
        self.fetching: list = []
        self.assigned: set = set()
        self.counter = 0

    def apply(self, out: list) -> None:
        for inst in out:
            kind = type(inst)
            if kind is Run:
                assert inst.key not in self.running
                self.running.append(inst.key)
            elif kind is Fetch:
                self.fetching.append(inst)
            elif kind is Release:
                for key in inst.keys:
                    assert key in self.store, f"released {key!r}, which was not stored"
                    self.store.discard(key)
            elif kind in (TaskFinishedMsg, TaskErredMsg):
                assert inst.key in self.assigned, f"reported {inst.key!r}, not asked for (or twice)"
                self.assigned.discard(inst.key)

    def handle(self, *events) -> None:
        self.apply(self.s.handle(*events))
        memory = {k for k, ts in self.s.tasks.items() if ts.state == "memory"}
        held_running = {k for k, ts in self.s.tasks.items() if ts.state == "executing" and ts.held}
        assert memory <= self.store <= memory | held_running, (memory, self.store)

    def step(self) -> None:
        rng = self.rng
        choice = rng.random()
        keys = [f"k{i}" for i in range(max(self.counter - 30, 0), self.counter)]
        if choice < 0.3:
            batch = []
            for _ in range(rng.randint(1, 4)):
                self.counter += 1
                key = f"k{self.counter}"
                deps = rng.sample(keys, min(len(keys), rng.randint(0, 3))) if keys else []
                who_has = {d: tuple(rng.sample([A, B, C, D, ME], rng.randint(0, 2))) for d in deps}
                batch.append((key, b"spec", who_has, {d: rng.randint(1, 20) for d in deps},
                              (rng.randint(0, 5),)))
            if keys and rng.random() < 0.2:  # an execute for a key that may exist already
                key = rng.choice(keys)
                batch.append((key, b"spec", {}, {}, (0,)))
            self.assigned.update(key for key, *_ in batch)
            self.handle(Compute(tuple(batch)))
        elif choice < 0.55 and self.running:
            key = self.running.pop(rng.randrange(len(self.running)))
            if rng.random() < 0.85:
                self.store.add(key)
                self.handle(ExecuteSuccess(key, rng.randint(1, 20), 0.0, 1.0, 1))
            else:
                self.handle(ExecuteFailure(key, [b"e"], "tb", 0.0, 1.0, 1))
        elif choice < 0.75 and self.fetching:
            fetch = self.fetching.pop(rng.randrange(len(self.fetching)))
            if rng.random() < 0.15:
                self.handle(FetchFailed(fetch.holder, fetch.keys))
            else:
                got = {k: 5 for k in fetch.keys if rng.random() < 0.8}
                self.store.update(got)
                self.handle(FetchDone(fetch.holder, fetch.keys, got))
        elif choice < 0.9 and keys:
            freed = tuple(rng.sample(keys, min(len(keys), rng.randint(1, 4))))
            for key in freed:
                self.assigned.discard(key)
            self.handle(FreeKeys(freed))
        elif choice < 0.95 and keys:
            key = rng.choice(keys)
            self.store.add(key)
            self.handle(PutData((key,), (7,)))  # (answers an execute still out: task-finished)
        else:
            self.handle(Pause() if rng.random() < 0.5 else Unpause())


@pytest.mark.parametrize("seed", range(25))
def test_random_sequences_keep_every_invariant(seed):
    sim = Simulation(seed)
    for _ in range(400):
        sim.step()
    # drain: unpause, end everything still out, free everything
    sim.handle(Unpause())
    while sim.running or sim.fetching:
        while sim.running:
            key = sim.running.pop()
            sim.store.add(key)
            sim.handle(ExecuteSuccess(key, 1, 0.0, 1.0, 1))
        while sim.fetching:
            fetch = sim.fetching.pop()
            sim.store.update(fetch.keys)
            sim.handle(FetchDone(fetch.holder, fetch.keys, {k: 1 for k in fetch.keys}))
        if not (sim.running or sim.fetching):
            sim.handle(FreeKeys(tuple(sim.s.tasks)))
    sim.handle(FreeKeys(tuple(sim.s.tasks)))
    missing_holders = [k for k, ts in sim.s.tasks.items() if ts.state == "missing"]
    assert not sim.s.tasks, (sim.s.tasks, missing_holders)
    assert not sim.store
