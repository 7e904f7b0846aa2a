"""The local engine behind every scheduler name: same answers, errors, memory, order, pools."""

import ctypes
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from operator import add

import numpy as np
import pytest

import teem as dask
from teem import delayed
from teem.core.errors import (
    CycleError, RemoteTraceback, SchedulerNameError, SerializationError, TeemError, WorkerDiedError,
)
from teem.core.order import MissingDependencyError
from teem.core.task import Ref, Task

ALL_NAMES = ["sync", "synchronous", "single-threaded", "threads", "threading",
             "processes", "multiprocessing"]
SCHEDULERS = ["sync", "threads", "processes"]


def inc(x):
    return x + 1


def double(x):
    return 2 * x


def dec(x):
    return x - 1


def where_am_i(_=None):
    """(process id, thread name) of the caller."""
    return os.getpid(), threading.current_thread().name


# --- same answers everywhere ------------------------------------------------------------------


def diamond(start):
    a = delayed(inc)(start)
    b = delayed(double)(a)
    c = delayed(dec)(a)
    return delayed(add)(b, c)


def tree_sum(values):
    layer = [delayed(inc)(v) for v in values]
    while len(layer) > 1:
        layer = [delayed(add)(layer[i], layer[i + 1]) if i + 1 < len(layer) else layer[i]
                 for i in range(0, len(layer), 2)]
    return layer[0]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_every_scheduler_name_gives_the_same_answers(name):
    assert diamond(5).compute(scheduler=name) == 2 * 6 + 5
    assert tree_sum(range(37)).compute(scheduler=name) == sum(range(1, 38))
    assert dask.compute(diamond(1), tree_sum(range(8)), scheduler=name) == (5, 36)


@pytest.mark.parametrize("name", ["SYNC", "Threads", "Processes"])
def test_scheduler_names_ignore_case(name):
    assert diamond(0).compute(scheduler=name) == 2


def test_thread_pool_executor_as_pool():
    with ThreadPoolExecutor(2) as pool:
        assert diamond(5).compute(pool=pool) == 17
        assert tree_sum(range(20)).compute(scheduler=pool) == sum(range(1, 21))
        pids = dask.compute([delayed(where_am_i)(i) for i in range(4)], pool=pool)[0]
    assert {pid for pid, _ in pids} == {os.getpid()}


def test_process_pool_executor_with_a_lambda():
    with ProcessPoolExecutor(2) as pool:
        squares = [delayed(lambda x: x * x)(i) for i in range(6)]
        assert dask.compute(squares, pool=pool) == ([0, 1, 4, 9, 16, 25],)
        total = delayed(lambda xs: sum(xs))(squares)
        assert total.compute(scheduler=pool) == 55
        assert diamond(5).compute(pool=pool) == 17
        pids = dask.compute([delayed(lambda i: os.getpid())(i) for i in range(4)], pool=pool)[0]
    assert os.getpid() not in pids


def test_process_pool_executor_reraises_task_errors():
    def fail_in_pool(x):
        raise KeyError(f"missing {x}")

    with ProcessPoolExecutor(1) as pool:
        with pytest.raises(KeyError) as info:
            delayed(fail_in_pool)(3).compute(pool=pool)
    assert isinstance(info.value.__cause__, RemoteTraceback)
    assert "fail_in_pool" in str(info.value.__cause__)


# --- teem.config steers compute ---------------------------------------------------------------


def test_config_set_globally_steers_compute():
    dask.config.set(scheduler="processes", num_workers=2)
    pid, _ = delayed(where_am_i)().compute()
    assert pid != os.getpid()
    dask.config.set(scheduler="sync")
    assert delayed(where_am_i)().compute() == (os.getpid(), threading.current_thread().name)


def test_config_context_manager_steers_compute_and_restores():
    dask.config.set(scheduler="sync")
    with dask.config.set(scheduler="processes"):
        pid, _ = delayed(where_am_i)().compute()
        assert pid != os.getpid()
    with dask.config.set(scheduler="threads"):
        pid, name = delayed(where_am_i)().compute()
        assert pid == os.getpid() and name != threading.current_thread().name
    assert delayed(where_am_i)().compute() == (os.getpid(), threading.current_thread().name)


def test_compute_argument_beats_config():
    with dask.config.set(scheduler="processes"):
        assert delayed(where_am_i)().compute(scheduler="sync")[0] == os.getpid()


def test_config_num_workers_for_threads():
    barrier = threading.Barrier(3, timeout=10)

    def meet(i):
        barrier.wait()  # passes only if 3 tasks run at once
        return threading.current_thread().name

    with dask.config.set(scheduler="threads", num_workers=3):
        names = dask.compute([delayed(meet)(i) for i in range(3)])[0]
    assert len(set(names)) == 3


def test_config_num_workers_for_processes():
    def slow_pid(i):
        time.sleep(0.2)
        return os.getpid()

    with dask.config.set(scheduler="processes", num_workers=3):
        pids = dask.compute([delayed(slow_pid)(i) for i in range(6)])[0]
    assert len(set(pids)) == 3
    assert os.getpid() not in pids


def test_unknown_scheduler_name_lists_valid_names():
    with pytest.raises(SchedulerNameError) as info:
        diamond(1).compute(scheduler="gpu-cluster")
    message = str(info.value)
    assert "gpu-cluster" in message
    for name in ("sync", "threads", "processes"):
        assert repr(name) in message
    assert isinstance(info.value, (TeemError, ValueError))
    with dask.config.set(scheduler="nope"):
        with pytest.raises(SchedulerNameError, match="nope"):
            diamond(1).compute()


# --- Dask-style get functions and tuple graphs -------------------------------------------------


def test_dask_style_get_functions():
    import teem.local
    import teem.multiprocessing
    import teem.threaded

    dsk = {"x": 1, "y": (inc, "x"), "z": (add, "y", 10)}
    for module in (teem.threaded, teem.multiprocessing, teem.local):
        assert module.get(dsk, "z") == 12
        assert module.get(dsk, "x") == 1
        assert module.get(dsk, ["y", "z"]) == [2, 12]
        assert module.get(dsk, [["z"], ["x", ["y"]]]) == [[12], [1, [2]]]


def test_tuple_graph_with_nested_tasks_lists_and_literals():
    import teem.local
    import teem.multiprocessing
    import teem.threaded

    dsk = {
        "a": 2,
        "b": (add, (inc, "a"), 10),         # a task inside a task
        "c": (sum, ["a", "b", 100]),        # a list of keys and literals
        "d": "a",                           # an alias
        "e": (add, "not-a-key", "!"),       # strings that are not keys stay strings
        ("chunk", 0): (double, "a"),        # tuple keys
        ("chunk", 1): (add, ("chunk", 0), "c"),
    }
    for module in (teem.threaded, teem.multiprocessing, teem.local):
        assert module.get(dsk, ["b", "c", "d", "e"]) == [13, 115, "not-a-key!"][:2] + [2, "not-a-key!"]
        assert module.get(dsk, ("chunk", 1)) == 4 + 115


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_cyclic_graph_raises_cycle_error_naming_the_keys(scheduler):
    from teem.core.base import get_scheduler

    get, _ = get_scheduler(scheduler)
    dsk = {"a": (inc, "c"), "b": (inc, "a"), "c": (inc, "b"), "out": (inc, "c"), "free": 1}
    with pytest.raises(CycleError) as info:
        get(dsk, "out")
    assert set(info.value.cycle) == {"a", "b", "c"}
    assert info.value.cycle[0] == info.value.cycle[-1]
    for key in ("'a'", "'b'", "'c'"):
        assert key in str(info.value)
    assert isinstance(info.value, ValueError)
    with pytest.raises(CycleError):
        get({"self": (inc, "self")}, "self")


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_missing_dependency_raises_a_clear_error(scheduler):
    from teem.core.base import get_scheduler

    get, _ = get_scheduler(scheduler)
    graph = {"a": Task("a", inc, (Ref("ghost"),))}
    with pytest.raises(MissingDependencyError) as info:
        get(graph, "a")
    assert "'a'" in str(info.value) and "'ghost'" in str(info.value)
    assert isinstance(info.value, KeyError)
    with pytest.raises(MissingDependencyError, match="'nowhere'"):
        get({"x": 1}, "nowhere")


# --- task errors ------------------------------------------------------------------------------


class CustomTaskError(Exception):
    pass


def fail_with_zero_division(x):
    return x / 0


def fail_with_custom_error(x):
    raise CustomTaskError(f"custom failure on {x}")


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_task_exception_keeps_its_type(scheduler):
    with pytest.raises(ZeroDivisionError):
        delayed(fail_with_zero_division)(1).compute(scheduler=scheduler)
    with pytest.raises(CustomTaskError, match="custom failure on 7"):
        delayed(inc)(delayed(fail_with_custom_error)(7)).compute(scheduler=scheduler)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_exception_class_defined_in_a_function_keeps_its_identity(scheduler):
    class LocalError(ValueError):
        pass

    def fail_locally(x):
        raise LocalError("local")

    with pytest.raises(LocalError):
        delayed(fail_locally)(1).compute(scheduler=scheduler)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_task_exception_notes_the_task_key(scheduler):
    d = delayed(fail_with_zero_division)(1)
    with pytest.raises(ZeroDivisionError) as info:
        d.compute(scheduler=scheduler)
    assert any(d.key in note for note in getattr(info.value, "__notes__", []))


def test_processes_error_carries_the_remote_traceback():
    with pytest.raises(CustomTaskError) as info:
        delayed(fail_with_custom_error)(3).compute(scheduler="processes")
    cause = info.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "fail_with_custom_error" in str(cause)
    assert "custom failure on 3" in str(cause)


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_run_after_an_error_succeeds(scheduler):
    with pytest.raises(ZeroDivisionError):
        dask.compute([delayed(fail_with_zero_division)(1)] + [delayed(inc)(i) for i in range(10)],
                     scheduler=scheduler)
    assert tree_sum(range(10)).compute(scheduler=scheduler) == 55


def test_unpicklable_argument_on_processes_raises_serialization_error():
    def use_lock(lock):
        return 1

    task = delayed(use_lock)(threading.Lock())
    with pytest.raises(SerializationError) as info:
        task.compute(scheduler="processes")
    message = str(info.value)
    assert task.key in message
    assert "argument" in message
    assert isinstance(info.value, TypeError)
    assert diamond(1).compute(scheduler="processes") == 5  # the pool still works


class ErrorHoldingALock(Exception):
    def __init__(self):
        super().__init__("this error holds a lock")
        self.lock = threading.Lock()


def raise_unpicklable_error(x):
    raise ErrorHoldingALock()


def return_a_lock(x):
    return threading.Lock()


def test_unpicklable_task_exception_on_processes_still_reports_type_and_message():
    with pytest.raises(Exception) as info:
        delayed(raise_unpicklable_error)(1).compute(scheduler="processes")
    assert "ErrorHoldingALock" in str(info.value)
    assert "this error holds a lock" in str(info.value)
    assert "raise_unpicklable_error" in str(info.value.__cause__)


def test_unpicklable_result_on_processes_names_the_task():
    d = delayed(return_a_lock)(1)
    with pytest.raises(TypeError) as info:
        d.compute(scheduler="processes")
    assert d.key in str(info.value)
    assert diamond(1).compute(scheduler="processes") == 5


def test_unpicklable_argument_works_on_threads():
    def use_lock(lock):
        with lock:
            return 1

    assert delayed(use_lock)(threading.Lock()).compute(scheduler="threads") == 1


def exit_abruptly(x):
    os._exit(3)


def segfault(x):
    ctypes.string_at(0)


@pytest.mark.parametrize("crash", [exit_abruptly, segfault], ids=["os._exit", "segfault"])
def test_worker_that_dies_raises_and_the_next_compute_succeeds(crash):
    with pytest.raises(WorkerDiedError) as info:
        dask.compute([delayed(crash)(1), delayed(inc)(1)], scheduler="processes")
    message = str(info.value)
    assert "worker process" in message
    if crash is exit_abruptly:
        assert "code 3" in message
    else:
        assert "SIGSEGV" in message
    assert dask.compute([delayed(inc)(i) for i in range(6)], scheduler="processes") == (
        [1, 2, 3, 4, 5, 6],)


# --- memory is freed early --------------------------------------------------------------------

TEN_MB = 10 * 2**20


class Tracker:
    """Counts the :class:`Big` objects of one test that are alive, and the most at once."""

    def __init__(self):
        self.lock = threading.Lock()
        self.alive = 0
        self.most_alive = 0

    def born(self):
        with self.lock:
            self.alive += 1
            self.most_alive = max(self.most_alive, self.alive)

    def died(self):
        with self.lock:
            self.alive -= 1


class Big:
    """10 MB of data whose life is counted by a :class:`Tracker`."""

    def __init__(self, seed, tracker):
        self.data = np.full(TEN_MB // 8, float(seed))
        self.tracker = tracker
        tracker.born()

    def __del__(self):
        self.tracker.died()


def make_big(seed, tracker):
    return Big(seed, tracker)


def grow(big):
    return Big(big.data[0] + 1, big.tracker)


def shrink(big):
    return float(big.data[0])


def big_chain(tracker, length=30):
    x = delayed(make_big)(0, tracker)
    for _ in range(length):
        x = delayed(grow)(x)
    return delayed(shrink)(x)


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_chain_of_10mb_results_keeps_only_a_few_alive(scheduler):
    tracker = Tracker()
    assert big_chain(tracker).compute(scheduler=scheduler) == 30.0
    assert tracker.most_alive <= 3


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_independent_10mb_results_are_freed_as_their_consumers_finish(scheduler):
    tracker = Tracker()
    total = delayed(sum)([delayed(shrink)(delayed(make_big)(i, tracker)) for i in range(30)])
    assert total.compute(scheduler=scheduler, num_workers=2) == sum(range(30))
    # sync holds one at a time; threads (2 workers, up to 3 batches in flight) measured 7-8
    assert tracker.most_alive <= (2 if scheduler == "sync" else 10)


@pytest.mark.parametrize("scheduler", [
    "sync",
    "threads",
])
def test_nothing_stays_alive_after_compute(scheduler):
    tracker = Tracker()
    assert big_chain(tracker, length=3).compute(scheduler=scheduler) == 3.0
    assert tracker.alive == 0


# --- run order --------------------------------------------------------------------------------


def test_sync_run_order_finishes_chains_first():
    log = []

    def f(i):
        log.append(f"f{i}")
        return i

    def g(x):
        log.append(f"g{x}")
        return x * 10

    total = delayed(sum)([delayed(g)(delayed(f)(i)) for i in range(3)])
    assert total.compute(scheduler="sync") == 30
    assert log == ["f0", "g0", "f1", "g1", "f2", "g2"]


def test_threads_run_real_work_on_the_pool_even_after_many_tiny_tasks():
    # Tiny tasks run on the engine's thread; the first long task must send the rest
    # of the run back to the pool, where the long tasks overlap.
    def slow(total, j):
        time.sleep(0.05)
        return threading.current_thread().name

    total = delayed(sum)([delayed(inc)(i) for i in range(500)])
    names = dask.compute([delayed(slow)(total, j) for j in range(6)], scheduler="threads",
                         num_workers=2)[0]
    on_pool = [n for n in names if n.startswith("teem-thread-")]
    assert len(on_pool) >= 5, names
    assert len(set(on_pool)) == 2, names


def test_a_long_chain_of_tiny_tasks_on_threads_gives_the_sync_answer():
    x = delayed(0)
    for _ in range(20_000):
        x = delayed(inc)(x)
    assert x.compute(scheduler="threads") == x.compute(scheduler="sync") == 20_000


def test_shared_dependency_runs_once_on_every_scheduler():
    def stamp(i):
        return time.perf_counter_ns() + i

    for scheduler in SCHEDULERS:
        s = delayed(stamp)(0)
        a, b = dask.compute(delayed(add)(s, 0), delayed(add)(s, 0), scheduler=scheduler)
        assert a == b


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_computes_from_several_threads_at_once(scheduler):
    results = {}
    errors = []

    def worker(n):
        try:
            results[n] = tree_sum(range(n)).compute(scheduler=scheduler)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in (10, 20, 30, 40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert results == {n: n * (n + 1) // 2 for n in (10, 20, 30, 40)}


# --- the processes pool -----------------------------------------------------------------------


def slow_pid(i):
    time.sleep(0.05)
    return os.getpid()


def test_processes_scheduler_reuses_its_workers():
    def run():
        tasks = [delayed(slow_pid)(i) for i in range(8)]
        return set(dask.compute(tasks, scheduler="processes", num_workers=2)[0])

    first = run()
    second = run()
    assert first == second
    assert len(first) == 2
    assert os.getpid() not in first
    assert run() == first


def mean_and_pid(x, i):
    return float(np.mean(x)) + i, os.getpid()


def test_delayed_numpy_array_shared_by_20_tasks_on_processes():
    x = np.random.default_rng(42).normal(size=500_000)
    dx = delayed(x)
    out = dask.compute([delayed(mean_and_pid)(dx, i) for i in range(20)], scheduler="processes",
                       num_workers=2)[0]
    expected_mean = float(np.mean(x))
    assert [m for m, _ in out] == pytest.approx([expected_mean + i for i in range(20)])
    pids = {pid for _, pid in out}
    assert len(pids) == 2
    assert os.getpid() not in pids


def test_large_results_come_back_from_processes():
    def big_array(i):
        return np.full(1_000_000, i, dtype=np.int32)

    arrays = dask.compute([delayed(big_array)(i) for i in range(3)], scheduler="processes")[0]
    for i, a in enumerate(arrays):
        assert a.shape == (1_000_000,) and int(a[0]) == i and int(a[-1]) == i
    total = delayed(lambda xs: int(sum(int(a.sum()) for a in xs)))(
        [delayed(big_array)(i) for i in range(3)])
    assert total.compute(scheduler="processes") == 3_000_000


def make_generator(n):
    return (i * i for i in range(n))


def test_unpicklable_intermediate_stays_in_its_worker_on_processes():
    # A generator cannot be pickled, but only the next task (on the same worker) needs it.
    total = delayed(sum)(delayed(make_generator)(4))
    assert total.compute(scheduler="processes") == 0 + 1 + 4 + 9
