"""Sizes as users write them, printed sizes, and worker memory limits."""

import pytest

from teem.core import sizes
from teem.core.sizes import format_bytes, parse_bytes, parse_memory_limit


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2000M", 2_000_000_000),
        ("24GB", 24_000_000_000),
        ("3.5 GiB", int(3.5 * 2**30)),
        ("100MB", 100_000_000),
        ("1e6", 1_000_000),
        ("512 kiB", 512 * 1024),
        ("10 B", 10),
        ("5kb", 5000),
        ("5KB", 5000),
        ("5 k", 5000),
        ("2 MiB", 2 * 2**20),
        ("2mib", 2 * 2**20),
        ("1 TiB", 2**40),
        ("1 PB", 10**15),
        ("1.5e3 KiB", 1536000),
        (".5k", 500),
        ("  7  ", 7),
        ("123", 123),
        ("9007199254740993", 9007199254740993),  # exact, not rounded through a float
    ],
)
def test_parse_bytes_strings(text, expected):
    assert parse_bytes(text) == expected


def test_parse_bytes_numbers_pass_through():
    assert parse_bytes(10) == 10
    assert parse_bytes(2.7) == 2
    assert parse_bytes(1e9) == 10**9


@pytest.mark.parametrize(
    "bad", ["", "MB", "5 XB", "1eB", "five MB", "-1 MB", "1.2.3", "nan", "inf", None, True,
            [1], float("nan"), float("inf"), -3]
)
def test_parse_bytes_rejects_with_the_value_and_forms(bad):
    with pytest.raises(ValueError) as info:
        parse_bytes(bad)
    assert repr(bad) in str(info.value)


def test_parse_bytes_error_shows_accepted_forms():
    with pytest.raises(ValueError, match="GiB"):
        parse_bytes("12 parsecs")


@pytest.mark.parametrize(
    "n, text",
    [
        (1610612736, "1.50 GiB"),
        (int(335.28 * 2**30), "335.28 GiB"),
        (999, "999 B"),
        (0, "0 B"),
        (1024, "1.00 kiB"),
        (1234, "1.21 kiB"),
        (12345678, "11.77 MiB"),
        (1234567890000, "1.12 TiB"),
        (2**50, "1.00 PiB"),
    ],
)
def test_format_bytes(n, text):
    assert format_bytes(n) == text


def test_format_parse_round_trip():
    for n in (1, 999, 2**20, 3 * 2**30 + 17, 2**45):
        assert abs(parse_bytes(format_bytes(n)) - n) <= n * 0.005


@pytest.fixture
def machine_16g(monkeypatch):
    monkeypatch.setattr(sizes, "machine_memory", lambda: 16 * 2**30)
    monkeypatch.setattr(sizes, "cpu_count", lambda: 8)


@pytest.mark.parametrize("value", [None, 0, "0", 0.0])
def test_memory_limit_none(machine_16g, value):
    assert parse_memory_limit(value, nthreads=2) is None


def test_memory_limit_auto(machine_16g):
    assert parse_memory_limit("auto", nthreads=2) == 4 * 2**30
    assert parse_memory_limit("auto", nthreads=2, total_threads=4) == 8 * 2**30
    assert parse_memory_limit("auto", nthreads=16) == 16 * 2**30  # never above the machine


def test_memory_limit_fraction(machine_16g):
    assert parse_memory_limit(0.5, nthreads=1) == 8 * 2**30
    assert parse_memory_limit("0.25", nthreads=1) == 4 * 2**30
    assert parse_memory_limit(1.0, nthreads=1) == 16 * 2**30


def test_memory_limit_sizes_and_cap(machine_16g):
    assert parse_memory_limit("4GiB", nthreads=1) == 4 * 2**30
    assert parse_memory_limit(2**30, nthreads=1) == 2**30
    assert parse_memory_limit("1 TB", nthreads=1) == 16 * 2**30  # capped, no error
    with pytest.raises(ValueError):
        parse_memory_limit("lots", nthreads=1)


def test_machine_memory_is_positive_and_at_most_physical():
    import psutil

    assert 0 < sizes.machine_memory() <= psutil.virtual_memory().total


def test_cgroup_limits(tmp_path):
    root = tmp_path / "cg"
    (root / "job" / "step").mkdir(parents=True)
    (root / "memory.max").write_text("max\n")
    (root / "job" / "memory.max").write_text(str(3 * 2**30))
    (root / "job" / "step" / "memory.max").write_text("max\n")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/job/step\n")
    assert sizes._cgroup_memory_limit(str(root), str(proc)) == 3 * 2**30

    v1 = tmp_path / "v1"
    (v1 / "memory" / "slurm").mkdir(parents=True)
    (v1 / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712\n")
    (v1 / "memory" / "slurm" / "memory.limit_in_bytes").write_text(str(2**30))
    proc.write_text("4:memory:/slurm\n0::/\n")
    assert sizes._cgroup_memory_limit(str(v1), str(proc)) == 2**30

    assert sizes._cgroup_memory_limit(str(tmp_path / "none"), str(tmp_path / "missing")) is None
