"""Tests for teem.distributed.worker.memory: the pure policy, then the monitor."""

import os

import numpy as np
import pytest

from teem.distributed.worker.memory import Decision, MemoryMonitor, MemoryPolicy, psutil_rss
from teem.distributed.worker.spill import SpillBuffer

LIMIT = 1000  # bytes; thresholds 600 / 700 / 800 (unpause 700) / 950


def actions(decision):
    """Decision -> (evict_bytes, pause, unpause, terminate)."""
    return decision.evict_bytes, decision.pause, decision.unpause, decision.terminate


# process memory, managed bytes, paused -> evict, pause, unpause, terminate
DEFAULT_TABLE = [
    (0, 0, False, (0, False, False, False)),
    (600, 500, False, (0, False, False, False)),
    (700, 500, False, (0, False, False, False)),  # thresholds are strict: "over" spill
    (701, 500, False, (101, False, False, False)),  # back to target (600)
    (750, 500, False, (150, False, False, False)),
    (750, 100, False, (100, False, False, False)),  # capped by what is managed
    (750, 0, False, (0, False, False, False)),  # nothing to evict: unmanaged memory
    (800, 500, False, (200, False, False, False)),
    (801, 500, False, (201, True, False, False)),
    (801, 500, True, (201, False, False, False)),  # already paused
    (790, 500, True, (190, False, False, False)),  # hysteresis: stays paused
    (700, 500, True, (0, False, False, False)),
    (699, 500, True, (0, False, True, False)),  # under unpause (0.7)
    (100, 0, True, (0, False, True, False)),
    (950, 900, False, (350, True, False, False)),
    (951, 900, False, (351, True, False, True)),
    (2000, 900, True, (900, False, False, True)),
]


@pytest.mark.parametrize("process, managed, paused, expected", DEFAULT_TABLE)
def test_default_thresholds(process, managed, paused, expected):
    decision = MemoryPolicy(LIMIT).decide(process, managed, paused)
    assert actions(decision) == expected
    assert decision.process_memory == process and decision.memory_limit == LIMIT
    assert decision.evicted_bytes == 0


# (keyword arguments, process memory, managed, paused) -> actions
DISABLED_TABLE = [
    ({"spill": False}, 900, 500, False, (0, True, False, False)),
    ({"spill": None, "pause": None}, 900, 500, False, (0, False, False, False)),
    ({"pause": False}, 900, 500, True, (300, False, True, False)),  # paused, pausing off
    ({"terminate": None}, 5000, 0, True, (0, False, False, False)),
    ({"target": False}, 750, 500, False, (50, False, False, False)),  # back to spill
    ({"target": 0.9}, 750, 500, False, (50, False, False, False)),  # target above spill
    ({"target": 0.5, "spill": 0.6}, 650, 500, False, (150, False, False, False)),
    ({"pause": 0.5}, 450, 0, True, (0, False, False, False)),  # unpause at 0.4
    ({"pause": 0.5}, 399, 0, True, (0, False, True, False)),
    ({"pause": 0.1}, 60, 0, True, (0, False, False, False)),  # unpause at pause/2
    ({"pause": 0.1}, 49, 0, True, (0, False, True, False)),
    ({"unpause": 0.3}, 350, 0, True, (0, False, False, False)),
    ({"unpause": 0.3}, 299, 0, True, (0, False, True, False)),
]


@pytest.mark.parametrize("kwargs, process, managed, paused, expected", DISABLED_TABLE)
def test_configured_and_disabled_thresholds(kwargs, process, managed, paused, expected):
    assert actions(MemoryPolicy(LIMIT, **kwargs).decide(process, managed, paused)) == expected


@pytest.mark.parametrize("limit", [None, 0])
def test_no_memory_limit_disables_everything(limit):
    policy = MemoryPolicy(limit)
    assert policy.target_bytes is None and policy.terminate_bytes is None
    assert actions(policy.decide(10**12, 10**11, False)) == (0, False, False, False)
    assert actions(policy.decide(10**12, 10**11, True)) == (0, False, True, False)


def test_threshold_bytes():
    policy = MemoryPolicy(2**30)
    assert policy.target_bytes == int(0.6 * 2**30)
    assert policy.spill_bytes == int(0.7 * 2**30)
    assert policy.pause_bytes == int(0.8 * 2**30)
    assert policy.unpause_bytes == int(0.7 * 2**30)
    assert policy.terminate_bytes == int(0.95 * 2**30)
    assert "memory_limit=1073741824" in repr(policy)


@pytest.mark.parametrize("kwargs, match", [
    ({"memory_limit": -1}, "memory_limit"),
    ({"memory_limit": 100, "target": 0}, "target"),
    ({"memory_limit": 100, "spill": -0.5}, "spill"),
    ({"memory_limit": 100, "pause": "0.8"}, "pause"),
    ({"memory_limit": 100, "terminate": True}, "terminate"),
    ({"memory_limit": 100, "unpause": 0.9}, "unpause"),
])
def test_invalid_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MemoryPolicy(**kwargs)


def test_messages():
    assert Decision(500, 1000).message == ""
    decision = MemoryPolicy(2**30).decide(int(0.99 * 2**30), 2**28, False)
    message = decision.message
    assert "99% of the 1.0 GiB limit" in message
    assert "terminate" in message and "pausing" in message and "spilling 256.0 MiB" in message
    assert "resuming" in MemoryPolicy(LIMIT).decide(10, 0, True).message


# ---------------------------------------------------------------------------
# MemoryMonitor
# ---------------------------------------------------------------------------


class FakeProcess:
    """Process memory = unmanaged bytes + what the buffer holds in memory."""

    def __init__(self, buffer, unmanaged):
        self.buffer = buffer
        self.unmanaged = unmanaged
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return self.unmanaged + (self.buffer.fast_bytes if self.buffer is not None else 0)


@pytest.fixture
def buffer(tmp_path):
    buffer = SpillBuffer(tmp_path / "spill", target=None, sizeof=len)
    yield buffer
    buffer.validate()
    buffer.close()


def test_monitor_evicts_back_to_target(buffer):
    for i in range(10):
        buffer[i] = b"x" * 50  # 500 managed
    process = FakeProcess(buffer, unmanaged=300)  # 800: over spill (700), not over pause
    monitor = MemoryMonitor(MemoryPolicy(LIMIT), buffer, process)
    decision = monitor.check()
    assert decision.evict_bytes == 200 and decision.evicted_bytes == 200
    assert buffer.slow_keys() == [0, 1, 2, 3] and process() == 600
    assert not decision.pause and not monitor.paused
    assert actions(monitor.check()) == (0, False, False, False)


def test_monitor_does_not_pause_when_spilling_is_enough(buffer):
    for i in range(10):
        buffer[i] = b"x" * 50
    process = FakeProcess(buffer, unmanaged=350)  # 850: over pause before spilling
    monitor = MemoryMonitor(MemoryPolicy(LIMIT), buffer, process)
    decision = monitor.check()
    assert decision.evicted_bytes == 250 and not decision.pause and not monitor.paused
    assert process.calls == 2  # measured again after evicting


def test_monitor_pauses_and_unpauses_when_memory_is_unmanaged(buffer):
    process = FakeProcess(buffer, unmanaged=900)
    monitor = MemoryMonitor(MemoryPolicy(LIMIT), buffer, process)
    assert actions(monitor.check()) == (0, True, False, False) and monitor.paused
    assert actions(monitor.check()) == (0, False, False, False) and monitor.paused
    process.unmanaged = 750
    assert not monitor.check().unpause and monitor.paused
    process.unmanaged = 500
    assert monitor.check().unpause and not monitor.paused


def test_monitor_terminates_when_nothing_helps(buffer):
    buffer["x"] = b"x" * 100
    process = FakeProcess(buffer, unmanaged=990)
    decision = MemoryMonitor(MemoryPolicy(LIMIT), buffer, process).check()
    assert decision.evicted_bytes == 100 and decision.terminate and decision.pause


def test_monitor_without_a_buffer():
    process = FakeProcess(None, unmanaged=900)
    monitor = MemoryMonitor(MemoryPolicy(LIMIT), None, process)
    assert actions(monitor.check()) == (0, True, False, False)


def test_monitor_spills_a_real_buffer_on_real_rss(tmp_path):
    rss = psutil_rss()
    assert isinstance(rss, int) and rss > 10 * 2**20
    buffer = SpillBuffer(tmp_path / "spill", target=None)
    try:
        for i in range(4):
            buffer[i] = np.ones(2**20)  # 4 x 8 MiB
        # a limit that puts the process over spill, by (about) 16 MiB of data
        limit = int((psutil_rss() - 16 * 2**20) / 0.7)
        monitor = MemoryMonitor(MemoryPolicy(limit, target=0.7), buffer)
        decision = monitor.check()
        assert decision.evicted_bytes >= 8 * 2**20 and buffer.spilled_count >= 1
        assert len(os.listdir(tmp_path / "spill")) == buffer.spilled_count
        assert all((buffer[i] == 1).all() for i in range(4))
    finally:
        buffer.close()
