"""teem.diagnostics.ProgressBar on real computes with every local scheduler."""

import io
import re
import time

import pytest

import teem as dask
from teem.diagnostics import Callback, ProgressBar
from teem.diagnostics.progress import format_time
from teem.local.callbacks import active_callbacks

SCHEDULERS = ["sync", "threads", "processes"]
LINE = re.compile(r"^\[(?P<bar>[# ]*)\] \| (?P<percent>\d+)% Completed \| +[\d.]+s$")


def slow_inc(x, seconds=0.02):
    time.sleep(seconds)
    return x + 1


def fail(x):
    raise ValueError(f"bad input {x}")


def nested_compute(x):
    return dask.delayed(slow_inc)(x, 0).compute(scheduler="sync")


def many_incs(n, seconds=0.02):
    return [dask.delayed(slow_inc)(i, seconds) for i in range(n)]


def drawn_lines(text: str) -> list:
    """The lines as a terminal shows them: what follows the last carriage return."""
    return [line.rsplit("\r", 1)[-1] for line in text.split("\n") if line]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_final_line_is_100_percent(scheduler):
    out = io.StringIO()
    with ProgressBar(out=out):
        (result,) = dask.compute(many_incs(10), scheduler=scheduler)
    assert result == list(range(1, 11))
    text = out.getvalue()
    assert text.endswith("\n") and text.count("\n") == 1
    (line,) = drawn_lines(text)
    m = LINE.match(line)
    assert m, line
    assert m["percent"] == "100"
    assert m["bar"] == "#" * 40


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_redraws_while_running(scheduler):
    out = io.StringIO()
    with ProgressBar(dt=0.01, out=out):
        dask.compute(many_incs(20, 0.02), scheduler=scheduler, num_workers=2)
    frames = out.getvalue().rstrip("\n").split("\r")[1:]
    assert len(frames) >= 3  # some redraws, then the final line
    percents = [int(LINE.match(f)["percent"]) for f in frames]
    assert percents == sorted(percents)
    assert percents[0] < 100 and percents[-1] == 100
    for f in frames:
        m = LINE.match(f)
        assert len(m["bar"]) == 40
        assert abs(m["bar"].count("#") - 0.4 * int(m["percent"])) <= 1


def test_width():
    out = io.StringIO()
    with ProgressBar(width=10, out=out):
        dask.delayed(slow_inc)(1).compute(scheduler="sync")
    (line,) = drawn_lines(out.getvalue())
    assert line.startswith("[##########] | 100% Completed |")


def test_minimum_hides_short_runs():
    out = io.StringIO()
    pbar = ProgressBar(minimum=5.0, dt=0.01, out=out)
    with pbar:
        assert dask.delayed(slow_inc)(1, 0.05).compute(scheduler="threads") == 2
    assert out.getvalue() == ""
    assert 0.04 < pbar.last_duration < 5.0


def test_minimum_shows_long_runs():
    out = io.StringIO()
    pbar = ProgressBar(minimum=0.05, dt=0.01, out=out)
    with pbar:
        dask.compute(many_incs(10, 0.02), scheduler="sync")
    assert pbar.last_duration >= 0.05
    (line,) = drawn_lines(out.getvalue())
    assert "100% Completed" in line


def test_context_manager_registers_only_inside():
    pbar = ProgressBar(out=io.StringIO())
    assert pbar not in active_callbacks()
    with pbar as entered:
        assert entered is pbar
        assert pbar in active_callbacks()
    assert pbar not in active_callbacks()


def test_register_and_unregister():
    out = io.StringIO()
    pbar = ProgressBar(out=out)
    pbar.register()
    try:
        dask.delayed(slow_inc)(1).compute(scheduler="threads")
        dask.delayed(slow_inc)(2).compute(scheduler="sync")
    finally:
        pbar.unregister()
    assert out.getvalue().count("100% Completed") == 2
    dask.delayed(slow_inc)(3).compute(scheduler="threads")
    assert out.getvalue().count("100% Completed") == 2
    pbar.unregister()  # unregistering twice is harmless


def test_error_shows_progress_so_far_and_propagates():
    out = io.StringIO()
    with ProgressBar(out=out):
        with pytest.raises(ValueError, match="bad input 1"):
            dask.delayed(fail)(dask.delayed(slow_inc)(0)).compute(scheduler="sync")
    (line,) = drawn_lines(out.getvalue())
    m = LINE.match(line)
    assert m and int(m["percent"]) < 100


@pytest.mark.parametrize("scheduler", ["sync", "threads"])
def test_nested_compute_draws_one_bar(scheduler):
    out = io.StringIO()
    with ProgressBar(out=out):
        result = dask.compute([dask.delayed(nested_compute)(i) for i in range(4)],
                              scheduler=scheduler)
    assert result == ([1, 2, 3, 4],)
    assert out.getvalue().count("\n") == 1
    assert drawn_lines(out.getvalue())[0].startswith("[" + "#" * 40 + "] | 100%")


def test_broken_output_never_breaks_the_run():
    out = io.StringIO()
    out.close()
    with ProgressBar(dt=0.001, out=out):
        assert dask.compute(many_incs(5, 0.01), scheduler="threads") == ([1, 2, 3, 4, 5],)


def test_bar_can_be_reused():
    out = io.StringIO()
    pbar = ProgressBar(out=out)
    for scheduler in SCHEDULERS:
        with pbar:
            dask.delayed(slow_inc)(1).compute(scheduler=scheduler)
    assert [LINE.match(x)["percent"] for x in drawn_lines(out.getvalue())] == ["100"] * 3


def test_default_out_is_stdout(capsys):
    with ProgressBar():
        dask.delayed(slow_inc)(1).compute(scheduler="sync")
    assert "100% Completed" in capsys.readouterr().out


def test_exports():
    import teem.diagnostics
    from teem.local.callbacks import Callback as LocalCallback
    assert Callback is LocalCallback
    assert issubclass(ProgressBar, Callback)
    assert set(teem.diagnostics.__all__) == {"Callback", "ProgressBar", "ResourceProfiler", "ResourceData",
                                             "Profiler", "TaskData", "visualize"}
    assert dask.diagnostics is teem.diagnostics


@pytest.mark.parametrize("seconds, text", [
    (0.04, " 0.0s"), (1.23, " 1.2s"), (10.44, "10.4s"), (125.0, " 2min  5.0s"),
    (3725.0, " 1hr  2min  5.0s"),
])
def test_format_time(seconds, text):
    assert format_time(seconds) == text
