"""Tests for teem.distributed.worker.spill.SpillBuffer."""

import logging
import os
import random
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

from teem.distributed.worker.spill import SpillBuffer


def weight_of_len(value):
    """A predictable sizeof for tests: the length of the value."""
    return len(value)


@pytest.fixture
def make_buffer(tmp_path):
    buffers = []

    def make(target, sizeof=weight_of_len, directory=None):
        buffer = SpillBuffer(directory or tmp_path / "spill", target, sizeof=sizeof)
        buffers.append(buffer)
        return buffer

    yield make
    for buffer in buffers:
        buffer.validate()
        buffer.close()


def spill_files(buffer):
    if not os.path.isdir(buffer.directory):
        return []
    return sorted(os.listdir(buffer.directory))


def test_values_stay_in_memory_under_target(make_buffer):
    buffer = make_buffer(target=100)
    buffer["a"] = "x" * 40
    buffer["b"] = "y" * 60
    assert buffer.fast_bytes == 100 and buffer.slow_bytes == 0 and buffer.spilled_count == 0
    assert spill_files(buffer) == []
    assert dict(buffer) == {"a": "x" * 40, "b": "y" * 60}


def test_least_recently_used_values_spill_first(make_buffer):
    buffer = make_buffer(target=100)
    buffer["a"] = "a" * 40
    buffer["b"] = "b" * 40
    buffer["a"]  # "b" is now the least recently used
    buffer["c"] = "c" * 40
    assert buffer.slow_keys() == ["b"]
    assert buffer.fast_keys() == ["a", "c"]
    assert buffer.fast_bytes == 80 and buffer.spilled_count == 1
    assert buffer.slow_bytes == os.path.getsize(os.path.join(buffer.directory, spill_files(buffer)[0]))
    buffer.validate()


def test_reading_a_spilled_value_loads_it_and_evicts_others(make_buffer):
    buffer = make_buffer(target=100)
    for key in "abcd":
        buffer[key] = key * 40
    assert buffer.slow_keys() == ["a", "b"]
    assert buffer["a"] == "a" * 40
    assert set(buffer.slow_keys()) == {"b", "c"}  # "c" was least recently used
    assert buffer.fast_keys() == ["d", "a"]
    assert len(spill_files(buffer)) == 2
    buffer.validate()


def test_a_value_over_target_goes_straight_to_disk(make_buffer):
    buffer = make_buffer(target=100)
    buffer["small"] = "s" * 10
    buffer["big"] = "b" * 500
    assert buffer.slow_keys() == ["big"] and buffer.fast_keys() == ["small"]
    assert buffer["big"] == "b" * 500
    assert buffer.slow_keys() == ["big"]  # too heavy to load into memory: stays on disk
    assert buffer.fast_bytes == 10
    buffer.validate()


def test_overwrite_and_delete_remove_files(make_buffer):
    buffer = make_buffer(target=10)
    buffer["k"] = "v" * 50
    assert len(spill_files(buffer)) == 1
    buffer["k"] = "w" * 5
    assert spill_files(buffer) == [] and buffer["k"] == "w" * 5 and buffer.slow_bytes == 0
    buffer["k2"] = "z" * 50
    del buffer["k2"]
    assert spill_files(buffer) == [] and "k2" not in buffer
    del buffer["k"]
    assert len(buffer) == 0 and buffer.fast_bytes == 0
    with pytest.raises(KeyError):
        del buffer["k"]
    with pytest.raises(KeyError):
        buffer["missing"]
    assert buffer.get("missing", 3) == 3


def test_tuple_and_awkward_keys_make_safe_file_names(make_buffer):
    buffer = make_buffer(target=0)
    keys = [("x-abc", 0, 1), "../../etc/passwd", "a/b\\c:d*?\0", ("x-abc", "0", 1), "(\'x-abc\', 0, 1)"]
    for i, key in enumerate(keys):
        buffer[key] = "v" * (i + 1)
    names = spill_files(buffer)
    assert len(names) == len(keys)
    assert all(set(name) <= set("0123456789abcdef.spill") for name in names)
    for i, key in enumerate(keys):
        assert buffer[key] == "v" * (i + 1)


def test_target_none_never_spills_on_its_own(make_buffer):
    buffer = make_buffer(target=None)
    for i in range(20):
        buffer[i] = "x" * 1000
    assert buffer.spilled_count == 0 and buffer.fast_bytes == 20_000


def test_evict_frees_least_recently_used_bytes(make_buffer):
    buffer = make_buffer(target=None)
    for key in "abcde":
        buffer[key] = key * 10
    assert buffer.evict(25) == 30
    assert buffer.slow_keys() == ["a", "b", "c"]
    assert buffer.evict(1000) == 20
    assert buffer.fast_bytes == 0 and buffer.evict(10) == 0
    assert [buffer[k] for k in "abcde"] == [k * 10 for k in "abcde"]


def test_lowering_the_target_spills_at_once(make_buffer):
    buffer = make_buffer(target=None)
    for key in "abcd":
        buffer[key] = key * 10
    buffer.target = 20
    assert buffer.slow_keys() == ["a", "b"]
    with pytest.raises(ValueError):
        buffer.target = -1


class Unpicklable:
    def __init__(self, n):
        self.lock = threading.Lock()
        self.n = n

    def __len__(self):
        return self.n


def test_unpicklable_values_stay_in_memory_and_are_logged_once(make_buffer, caplog):
    buffer = make_buffer(target=100)
    with caplog.at_level(logging.WARNING, logger="teem.distributed.worker.spill"):
        locked = [Unpicklable(60) for _ in range(3)]
        for i, value in enumerate(locked):
            buffer[("hold-0123456789abcdef", i)] = value
        buffer["ok"] = "o" * 30
    assert buffer.unspillable_count == 3
    assert buffer.fast_bytes == 180
    assert buffer.slow_keys() == ["ok"]  # spillable values still go to disk
    assert all(buffer[("hold-0123456789abcdef", i)] is locked[i] for i in range(3))
    messages = [r.getMessage() for r in caplog.records if "cannot be pickled" in r.getMessage()]
    assert len(messages) == 1 and "_thread.lock" in messages[0]
    assert buffer.evict(1000) == 0
    del buffer[("hold-0123456789abcdef", 0)]
    assert buffer.fast_bytes == 120


def test_a_value_over_target_that_cannot_be_pickled_stays_in_memory(make_buffer):
    buffer = make_buffer(target=10)
    value = Unpicklable(500)
    buffer["big"] = value
    assert buffer["big"] is value and buffer.spilled_count == 0 and buffer.fast_bytes == 500


def test_lambdas_and_local_classes_spill_with_cloudpickle(make_buffer):
    buffer = make_buffer(target=0, sizeof=lambda v: 1)
    offset = 10
    buffer["f"] = lambda x: x + offset

    class Local:
        value = 3

    buffer["c"] = Local()
    assert buffer.spilled_count == 2
    assert buffer["f"](1) == 11 and buffer["c"].value == 3


@pytest.mark.parametrize("make", [
    lambda: np.arange(1_000_000, dtype=np.float64),
    lambda: np.asfortranarray(np.arange(120).reshape(10, 12)),
    lambda: np.arange(100)[::3],  # not contiguous: pickled in band
    lambda: np.array([1, "a", None], dtype=object),
    lambda: np.zeros((0, 3)),
    lambda: np.array([(1, 2.5)], dtype=[("a", "i4"), ("b", "f8")]),
    lambda: {"x": np.ones(1000), "y": [np.zeros(10), b"raw" * 1000]},
])
def test_numpy_round_trips(make_buffer, make):
    buffer = make_buffer(target=0, sizeof=lambda value: 1)
    buffer["k"] = make()
    assert buffer.spilled_count == 1
    buffer.target = None
    value = buffer["k"]
    expected = make()
    if isinstance(expected, dict):
        np.testing.assert_array_equal(value["x"], expected["x"])
        np.testing.assert_array_equal(value["y"][0], expected["y"][0])
        assert value["y"][1] == expected["y"][1]
    else:
        np.testing.assert_array_equal(value, expected)
        assert value.dtype == expected.dtype
        if expected.flags.f_contiguous and not expected.flags.c_contiguous:
            assert value.flags.f_contiguous
        value[...] = value  # comes back writable


def test_loaded_arrays_own_their_memory_and_are_aligned(make_buffer):
    buffer = make_buffer(target=0)
    buffer["a"] = np.arange(10_000, dtype=np.complex128)
    buffer["b"] = np.arange(10_000, dtype=np.int8)
    buffer.target = None
    a, b = buffer["a"], buffer["b"]
    assert a.flags.aligned and a.flags.writeable
    a[0] = 5
    assert b[0] == 0  # separate buffers
    assert buffer.spilled_count == 0 and spill_files(buffer) == []


def test_close_removes_files_and_created_directory(tmp_path):
    directory = tmp_path / "new" / "spill"
    buffer = SpillBuffer(directory, target=0, sizeof=len)
    for i in range(5):
        buffer[i] = b"x" * 100
    assert len(os.listdir(directory)) == 5
    buffer.close()
    assert not directory.exists()
    buffer.close()
    with pytest.raises(RuntimeError, match="closed"):
        buffer["k"] = b"v"


def test_close_keeps_a_directory_it_did_not_create(tmp_path):
    (tmp_path / "other-file").write_text("keep me")
    with SpillBuffer(tmp_path, target=0, sizeof=len) as buffer:
        buffer["k"] = b"v" * 10
        assert len(os.listdir(tmp_path)) == 2
    assert os.listdir(tmp_path) == ["other-file"]


def test_disk_errors_keep_values_in_memory(make_buffer, tmp_path, caplog):
    buffer = make_buffer(target=10)
    buffer["a"] = "a" * 8
    os.rmdir(buffer.directory)  # writes now fail
    with caplog.at_level(logging.ERROR, logger="teem.distributed.worker.spill"):
        buffer["b"] = "b" * 8
        buffer["big"] = "c" * 100
    assert buffer.spilled_count == 0
    assert buffer["a"] == "a" * 8 and buffer["big"] == "c" * 100
    assert any("cannot spill" in r.getMessage() for r in caplog.records)
    os.makedirs(buffer.directory)
    assert buffer.evict(1000) == 116 and buffer.spilled_count == 3


def test_invalid_target(tmp_path):
    with pytest.raises(ValueError, match="target"):
        SpillBuffer(tmp_path, target=-5)


def test_default_sizeof_measures_numpy(make_buffer):
    buffer = make_buffer(target=10_000, sizeof=__import__("teem.core.sizeof", fromlist=["sizeof"]).sizeof)
    buffer["a"] = np.zeros(1000)  # 8000 bytes
    buffer["b"] = np.zeros(1000)
    assert buffer.fast_bytes == 8000 and buffer.slow_keys() == ["a"]


def test_threads_smoke(make_buffer):
    buffer = make_buffer(target=2_000, sizeof=lambda v: v.nbytes)
    errors = []

    def work(seed):
        rng = random.Random(seed)
        try:
            for _ in range(300):
                key = ("k", rng.randrange(40))
                action = rng.random()
                if action < 0.5:
                    buffer[key] = np.full(rng.randrange(1, 100), key[1], dtype=np.int64)
                elif action < 0.85:
                    try:
                        value = buffer[key]
                    except KeyError:
                        continue
                    assert (value == key[1]).all()
                else:
                    try:
                        del buffer[key]
                    except KeyError:
                        pass
                if rng.random() < 0.05:
                    buffer.evict(500)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    buffer.validate()
    assert len(spill_files(buffer)) == buffer.spilled_count
    for key in list(buffer):
        assert (buffer[key] == key[1]).all()


def test_process_memory_stays_bounded_while_spilling(tmp_path):
    """10 x 20 MB arrays under a 50 MB target: RSS stays well under 200 MB."""
    code = textwrap.dedent(f"""
        import numpy as np, psutil
        from teem.distributed.worker.spill import SpillBuffer

        MB = 2**20
        buffer = SpillBuffer({str(tmp_path / "spill")!r}, target=50 * MB)
        for i in range(10):
            buffer[("x", i)] = np.full(20 * MB // 8, i, dtype=np.float64)
        assert buffer.spilled_count == 8 and buffer.fast_bytes == 40 * MB, buffer
        for _ in range(2):
            for i in range(10):
                value = buffer[("x", i)]
                assert value.shape == (20 * MB // 8,) and (value == i).all(), i
                del value
        buffer.validate()
        rss = psutil.Process().memory_info().rss
        # VmHWM: this process's peak RSS (unlike ru_maxrss, not inherited across fork/exec)
        with open("/proc/self/status") as status:
            peak = next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmHWM"))
        buffer.close()
        print(rss // MB, peak // MB)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    rss_mb, peak_mb = map(int, result.stdout.split())
    assert peak_mb < 150, (rss_mb, peak_mb)
    assert not (tmp_path / "spill").exists()
