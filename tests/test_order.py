"""Run order: every task after its dependencies, culled, cycles found, linear on long chains."""

import random

import pytest

from teem.core.errors import CycleError
from teem.core.order import MissingDependencyError, order, prioritize
from teem.core.task import Ref, Task


def add(*args):
    return sum(args)


def random_dag(ntasks: int, seed: int) -> dict:
    rng = random.Random(seed)
    graph = {}
    for i in range(ntasks):
        deps = rng.sample(range(i), k=min(i, rng.choice([0, 1, 1, 1, 2, 3, 5])))
        graph[f"t{i}"] = Task(f"t{i}", add, tuple(Ref(f"t{d}") for d in deps))
    return graph


def needed(graph: dict, outputs: list) -> set:
    seen, stack = set(), list(outputs)
    while stack:
        key = stack.pop()
        if key not in seen:
            seen.add(key)
            stack.extend(graph[key].dependencies)
    return seen


@pytest.mark.parametrize("seed", range(20))
def test_every_task_comes_after_its_dependencies_and_only_needed_tasks_appear(seed):
    graph = random_dag(300, seed)
    outputs = random.Random(seed).sample(sorted(graph), 3)
    ordered, place = prioritize(graph, outputs)
    assert set(ordered) == needed(graph, outputs)
    assert len(ordered) == len(set(ordered))
    assert place == {key: i for i, key in enumerate(ordered)}
    for key in ordered:
        for dep in graph[key].dependencies:
            assert place[dep] < place[key]


def test_chains_are_finished_before_the_next_one_starts():
    graph = {}
    for c in range(3):
        graph[f"a{c}"] = Task(f"a{c}", add, ())
        graph[f"b{c}"] = Task(f"b{c}", add, (Ref(f"a{c}"),))
        graph[f"c{c}"] = Task(f"c{c}", add, (Ref(f"b{c}"),))
    graph["total"] = Task("total", add, tuple(Ref(f"c{c}") for c in range(3)))
    assert order(graph, ["total"]) == ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2", "total"]


def test_a_chain_of_300000_tasks_needs_no_recursion():
    n = 300_000
    graph = {"k0": Task("k0", add, ())}
    for i in range(1, n):
        graph[f"k{i}"] = Task(f"k{i}", add, (Ref(f"k{i - 1}"),))
    ordered = order(graph, [f"k{n - 1}"])
    assert ordered[0] == "k0" and ordered[-1] == f"k{n - 1}" and len(ordered) == n


def test_a_cycle_through_chain_links_is_named_in_order():
    graph = {"a": Task("a", add, (Ref("b"),)), "b": Task("b", add, (Ref("c"),)),
             "c": Task("c", add, (Ref("a"),)), "out": Task("out", add, (Ref("a"), Ref("b")))}
    with pytest.raises(CycleError) as info:
        order(graph, ["out"])
    cycle = info.value.cycle
    assert cycle[0] == cycle[-1] and set(cycle) == {"a", "b", "c"}
    for x, y in zip(cycle, cycle[1:]):
        assert y in graph[x].dependencies


def test_a_missing_dependency_at_the_end_of_a_chain_names_both_keys():
    graph = {"a": Task("a", add, (Ref("b"),)), "b": Task("b", add, (Ref("ghost"),))}
    with pytest.raises(MissingDependencyError, match="'b' depends on 'ghost'"):
        order(graph, ["a"])


def test_outputs_shared_by_several_roots_are_listed_once():
    graph = {"x": Task("x", add, ()), "y": Task("y", add, (Ref("x"),))}
    assert order(graph, ["y", "x", "y"]) == ["x", "y"]
