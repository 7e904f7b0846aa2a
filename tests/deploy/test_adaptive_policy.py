"""The adaptive policy alone: sequences of observations -> decisions, no cluster."""

import math

import pytest

from teem.deploy.adaptive import Decision, Limits, Observation, PolicyState, decide, observe

pytestmark = pytest.mark.timeout(10)

LIMITS = Limits(minimum_jobs=0, maximum_jobs=3, threads_per_job=4, wait_count=3)


def run(observations, limits=LIMITS):
    """Feed (tasks, running, pending) tuples through decide(); return the targets."""
    state, targets = PolicyState(), []
    for t, (tasks, running, pending) in enumerate(observations):
        decision = decide(Observation(float(t), tasks, running, pending), state, limits)
        assert isinstance(decision, Decision)
        state = decision.state
        targets.append(decision.target_jobs)
    return targets


def test_grows_to_the_load_in_whole_jobs_within_bounds():
    assert run([(5, 0, 0)]) == [2]  # 5 tasks on 4-thread jobs: 2 jobs
    assert run([(200, 0, 0)]) == [3]  # capped at maximum_jobs
    assert run([(0, 0, 0)], Limits(minimum_jobs=1, threads_per_job=4)) == [1]  # minimum kept
    assert run([(10 ** 6, 0, 0)], Limits(threads_per_job=4)) == [250000]  # no maximum


def test_pending_jobs_count_as_capacity():
    # Two jobs submitted and still queued: more load does not submit more while they wait.
    assert run([(200, 0, 0), (200, 0, 2), (200, 1, 1), (200, 2, 0)], Limits(maximum_jobs=4,
               threads_per_job=4)) == [4, 2, 2, 4]


def test_never_shrinks_while_tasks_are_pending():
    # 2 jobs running; the load drops to 1 task for a long time: the jobs stay.
    assert run([(8, 2, 0)] + [(1, 2, 0)] * 20) == [2] * 21


def test_shrinks_only_after_wait_count_idle_observations_in_a_row():
    assert run([(8, 2, 0), (0, 2, 0), (0, 2, 0), (0, 2, 0)]) == [2, 2, 2, 0]
    # Load in between restarts the count.
    assert run([(0, 2, 0), (0, 2, 0), (3, 2, 0), (0, 2, 0), (0, 2, 0), (0, 2, 0)]) == [2, 2, 2, 2, 2, 0]


def test_no_flapping_on_bursty_load():
    """Seed 001 §9.1: bursts shorter than the patience never cancel jobs between bursts."""
    bursts = [(40, 3, 0), (0, 3, 0), (0, 3, 0)] * 10
    targets = run(bursts)
    assert targets == [3] * len(targets)


def test_observe_from_scheduler_info():
    info = {"nqueued": 7, "workers": {
        "a": {"metrics": {"nprocessing": 2}}, "b": {"metrics": {"nprocessing": 3}}, "c": {}}}
    obs = observe(info, {"1": ["a", "b"], "2": ["c"], "3": []}, now=5.0)
    assert obs == Observation(time=5.0, tasks=12, running_jobs=2, pending_jobs=1)
    assert decide(obs, PolicyState(), Limits(maximum_jobs=math.inf, threads_per_job=4)).target_jobs == 3
