"""Client, Future and LocalCluster end to end: real scheduler, real worker processes, loopback."""

import concurrent.futures as cf
import os
import threading
import time
import zipfile

import numpy as np
import pytest

import teem
from teem.distributed import (Client, FutureCancelledError, LocalCluster, as_completed, wait)

pytestmark = pytest.mark.timeout(180)


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def slow_inc(x, delay=0.2):
    time.sleep(delay)
    return x + 1


def fail(x):
    raise ZeroDivisionError(f"no {x}")


def count_call(path):
    """Append a line to ``path`` (a side effect the tests can count) and return the count."""
    with open(path, "a") as f:
        f.write("x\n")
    with open(path) as f:
        return len(f.readlines())


def pid(*args):
    time.sleep(0.2)
    return os.getpid()


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        yield c


def test_submit_result_map_gather(client):
    assert client.submit(inc, 1).result() == 2
    futures = client.map(inc, range(100))
    assert client.gather(futures) == list(range(1, 101))
    assert client.gather({"a": futures[0], "b": [futures[1], 5]}) == {"a": 1, "b": [2, 5]}
    assert client.submit(add, futures[0], y=futures[2]).result() == 4  # futures as arguments


def test_seed_3_2_map_of_tuples(client):
    from calc_mean import calc_mean_vargs, expected
    inputs = [(i, 1000) for i in range(4)]
    results = client.gather(client.map(calc_mean_vargs, inputs))
    for i, (mean, std) in enumerate(results):
        assert [mean, std] == pytest.approx(expected(i, 1000))


def test_pure_calls_run_once_and_impure_calls_rerun(client, tmp_path):
    path = str(tmp_path / "calls")
    first = client.submit(count_call, path)
    assert first.result() == 1
    again = client.submit(count_call, path)
    assert again is first and again.result() == 1  # cached: same future, not rerun
    assert client.submit(count_call, path, pure=False).result() == 2
    assert client.submit(count_call, path, pure=False).result() == 3


def test_exception_keeps_its_type_and_the_worker_traceback(client):
    future = client.submit(fail, 3)
    with pytest.raises(ZeroDivisionError, match="no 3") as info:
        future.result()
    assert future.status == "error"
    assert "in fail" in "".join(getattr(info.value, "__notes__", []))
    assert isinstance(future.exception(), ZeroDivisionError)
    downstream = client.submit(inc, future)
    with pytest.raises(ZeroDivisionError):
        downstream.result()


def test_future_protocol_wait_as_completed_and_callbacks(client):
    futures = client.map(slow_inc, range(4), delay=0.05)
    done, not_done = wait(futures)
    assert len(done) == 4 and not not_done
    assert all(f.done() and f.status == "finished" for f in futures)
    assert sorted(f.result() for f in as_completed(client.map(inc, range(10)))) == list(range(1, 11))
    pairs = list(as_completed(client.map(inc, range(5), key=[f"ac-{i}" for i in range(5)]),
                              with_results=True))
    assert sorted(r for _, r in pairs) == [1, 2, 3, 4, 5]
    # concurrent.futures' own wait works: a teem Future is a concurrent.futures.Future
    assert len(cf.wait(client.map(inc, range(3), pure=False)).done) == 3
    seen = []
    event = threading.Event()

    def callback(f):
        seen.append((f.result(), threading.current_thread().name))
        event.set()
    client.submit(inc, 41).add_done_callback(callback)
    assert event.wait(10)
    assert seen[0][0] == 42 and "loop" not in seen[0][1]


def test_cancel_and_result_timeout(client):
    future = client.submit(slow_inc, 1, delay=3, pure=False)
    with pytest.raises(TimeoutError):
        future.result(timeout=0.1)
    assert future.cancel() and future.cancelled() and future.status == "cancelled"
    with pytest.raises(FutureCancelledError):
        future.result()


def test_scatter_list_dict_broadcast(client):
    data = np.arange(1_000_000, dtype=np.float64)
    [remote] = client.scatter([data])
    assert client.submit(np.sum, remote).result() == data.sum()
    d = client.scatter({"x": 1, "y": 2})
    assert client.submit(add, d["x"], d["y"]).result() == 3
    b = client.scatter(data, broadcast=True)
    assert len(client.who_has([b])[b.key]) == 2
    assert client.gather(b).shape == data.shape


def test_compute_persist_and_the_default_client(client):
    x = teem.delayed(inc)(1)
    y = teem.delayed(add)(x, 10)
    assert teem.compute(y) == (12,)  # runs on the active client
    assert y.compute(scheduler="distributed") == 12
    future = client.compute(y)
    assert future.result() == 12
    persisted = client.persist(y)
    assert persisted.compute() == 12
    assert teem.delayed(inc)(persisted).compute() == 13


def test_run_upload_file_and_scheduler_info(client, tmp_path):
    pids = client.run(os.getpid)
    assert len(pids) == 2 and len(set(pids.values())) == 2
    info = client.scheduler_info()
    assert set(info["workers"]) == set(pids)
    for w in info["workers"].values():
        assert w["nthreads"] == 1 and w["memory_limit"] > 0
    module = tmp_path / "teem_uploaded_mod.py"
    module.write_text("def triple(x):\n    return 3 * x\n")
    client.upload_file(str(module))

    def use_module(x):
        import teem_uploaded_mod
        return teem_uploaded_mod.triple(x)
    assert client.submit(use_module, 5).result() == 15
    archive = tmp_path / "teem_zipped.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("teem_zipped_mod.py", "VALUE = 7\n")
    client.upload_file(str(archive))

    def use_zip():
        import teem_zipped_mod
        return teem_zipped_mod.VALUE
    assert client.submit(use_zip).result() == 7


def test_executor_and_joblib_backend(client):
    with client.get_executor() as executor:
        assert isinstance(executor, cf.Executor)
        assert executor.submit(inc, 1).result() == 2
        assert list(executor.map(inc, range(5))) == [1, 2, 3, 4, 5]
    import joblib
    with joblib.parallel_config(backend="teem"):
        out = joblib.Parallel()(joblib.delayed(inc)(i) for i in range(20))
    assert out == list(range(1, 21))


def test_twenty_equal_tasks_spread_over_four_workers():
    with LocalCluster(n_workers=4, threads_per_worker=1) as cluster, Client(cluster) as c:
        assert len(cluster.scheduler.workers) == 4
        pids = c.gather(c.map(pid, range(20)))
        assert len(set(pids)) == 4


def test_local_cluster_repr_scale_and_old_option_names():
    with LocalCluster(n_workers=1, threads_per_worker=1, diagnostics_port=None,
                      memory_limit="1GB") as cluster:
        assert "workers=1" in repr(cluster)
        assert "Workers: 1, Cores: 1, Memory:" in cluster._repr_html_()
        cluster.scale(3)
        cluster.wait_for_workers(3, timeout=30)
        assert len(cluster.scheduler.workers) == 3
        cluster.scale(1)
        deadline = time.monotonic() + 20
        while len(cluster.scheduler.workers) != 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(cluster.scheduler.workers) == 1


def test_threads_cluster_without_processes():
    with Client(processes=False, n_workers=1, threads_per_worker=2) as c:
        assert c.submit(inc, 1).result() == 2
        assert c.run(os.getpid) == {next(iter(c.scheduler_info()["workers"])): os.getpid()}


def test_restart_cancels_futures_and_workers_come_back():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        before = c.run(os.getpid)
        kept = c.submit(inc, 1)
        assert kept.result() == 2
        slow = c.submit(slow_inc, 1, 30)
        c.restart(timeout=60)
        after = c.run(os.getpid)
        assert len(after) == 2 and not set(after.values()) & set(before.values())  # new processes
        with pytest.raises(FutureCancelledError):
            slow.result(timeout=30)
        assert c.submit(inc, 10).result(timeout=60) == 11  # the cluster works on


def test_retire_workers_by_count_and_egg_upload(tmp_path):
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        egg = tmp_path / "teem_egg_mod-1.0-py3.egg"  # an .egg is a zip archive on sys.path
        with zipfile.ZipFile(egg, "w") as z:
            z.writestr("teem_egg_mod/__init__.py", "NAME = 'from an egg'\n")
        c.upload_file(str(egg))

        def use_egg():
            import teem_egg_mod
            return teem_egg_mod.NAME
        assert c.submit(use_egg, pure=False).result() == "from an egg"
        retired = c.retire_workers(n=1)
        assert len(retired) == 1
        deadline = time.monotonic() + 30
        while len(c.scheduler_info()["workers"]) != 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(c.scheduler_info()["workers"]) != retired
        assert c.submit(inc, 41).result(timeout=60) == 42


def test_retiring_a_worker_moves_the_data_only_it_holds(tmp_path):
    counter = str(tmp_path / "calls")
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as c:
        scattered = c.scatter(list(range(10)))
        computed = c.map(count_call, [counter] * 4, pure=False)
        c.gather(computed)
        holders = {a for hs in c.who_has([*scattered, *computed]).values() for a in hs}
        assert len(holders) == 2  # spread over both workers
        leaving = sorted(holders)[0]
        assert list(c.retire_workers([leaving])) == [leaving]
        assert leaving not in c.scheduler_info()["workers"]
        assert c.gather(scattered) == list(range(10))  # scattered data cannot be recomputed: moved
        assert sorted(c.gather(computed)) == [1, 2, 3, 4]
        with open(counter) as f:
            assert len(f.readlines()) == 4  # moved, not recomputed
