"""Profiles drawn as self-contained HTML (inline SVG) or PNG, alone or on one time axis."""

import re
import sys
import time
import xml.etree.ElementTree as ET

import pytest

import teem
from teem.diagnostics import (Profiler, ResourceData, ResourceProfiler, TaskData, visualize)
from teem.diagnostics import svgplot

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def nap(x):
    time.sleep(0.02)
    return x + 1


def svgs_of(path):
    """Each inline <svg> of the page, parsed as XML."""
    text = open(path, encoding="utf-8").read()
    assert "<script" not in text and "http" not in text  # nothing to fetch, nothing to run
    return [ET.fromstring(s) for s in re.findall(r"<svg.*?</svg>", text, re.S)]


def task_rects(svg):
    return svg.findall("rect[@class='task']")


def test_profiler_page_has_one_rect_per_task_coloured_by_prefix(tmp_path):
    values = [teem.delayed(nap)(i) for i in range(6)]
    with Profiler() as prof:
        teem.compute(teem.delayed(sum)(values), scheduler="threads", num_workers=2)
    assert len(prof.results) == 7
    path = prof.visualize(str(tmp_path / "profile.html"))
    (svg,) = svgs_of(path)
    rects = task_rects(svg)
    assert len(rects) == 7
    tips = [r.find("title").text for r in rects]
    assert sum("nap-" in t for t in tips) == 6 and sum("sum-" in t for t in tips) == 1
    colors = {t.split("-")[0].strip("'"): r.get("fill") for t, r in zip(tips, rects)}
    assert len(set(colors.values())) == 2  # one colour per prefix
    legend = [t.text for t in svg.findall("text")]
    assert "nap" in legend and "sum" in legend
    rows = {r.get("y") for r in rects[:6]}
    assert len(rows) == 2  # one row per worker thread


def test_profiler_and_resources_share_one_time_axis(tmp_path):
    prof, rprof = Profiler(), ResourceProfiler()
    # Known times (perf_counter readings): tasks from 100 to 101 s, samples from 100 to 102 s.
    prof.results = [TaskData("a-1", None, 100.0, 100.5, 7), TaskData("b-1", None, 100.5, 101.0, 8)]
    rprof.results = [ResourceData(100.0, 50.0, 10.0), ResourceData(102.0, 60.0, 90.0)]
    path = visualize([prof, rprof], filename=str(tmp_path / "both.html"))
    tasks, cpu, mem = svgs_of(path)
    assert [s.get("aria-label") for s in (tasks, cpu, mem)] == ["Tasks", "CPU", "Memory"]
    plot_width = 900 - svgplot.LEFT - svgplot.RIGHT
    a, b = task_rects(tasks)
    assert float(a.get("x")) == pytest.approx(svgplot.LEFT)
    assert float(a.get("width")) == pytest.approx(plot_width / 4, abs=0.01)  # 0.5 s of 2 s
    assert float(b.get("x")) == pytest.approx(svgplot.LEFT + plot_width / 4, abs=0.01)
    for chart in (cpu, mem):
        points = chart.find("polyline").get("points").split()
        xs = [float(p.split(",")[0]) for p in points]
        assert xs == pytest.approx([svgplot.LEFT, svgplot.LEFT + plot_width], abs=0.1)


def test_resource_profiler_times_are_perf_counter_readings():
    before = time.perf_counter()
    with ResourceProfiler(dt=0.01) as rprof:
        teem.compute(teem.delayed(nap)(1), scheduler="sync")
    assert rprof.results and all(before <= r.time <= time.perf_counter() for r in rprof.results)


def test_png_of_the_same_charts(tmp_path):
    pytest.importorskip("matplotlib")
    with Profiler() as prof, ResourceProfiler(dt=0.01) as rprof:
        teem.compute([teem.delayed(nap)(i) for i in range(4)], scheduler="threads")
    for path in (prof.visualize(str(tmp_path / "tasks.png")),
                 rprof.visualize(str(tmp_path / "resources.png")),
                 visualize([prof, rprof], filename=str(tmp_path / "both.png"))):
        data = open(path, "rb").read()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5000


def test_png_without_matplotlib_says_what_to_install(tmp_path, monkeypatch):
    prof = Profiler()
    prof.results = [TaskData("a-1", None, 1.0, 2.0, 1)]
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match="pip install matplotlib"):
        prof.visualize(str(tmp_path / "x.png"))
    assert not (tmp_path / "x.png").exists()


def test_empty_profile_page_says_how_to_record(tmp_path):
    path = Profiler().visualize(str(tmp_path / "empty.html"))
    assert "Nothing was recorded" in open(path).read()


def test_visualize_rejects_other_objects(tmp_path):
    with pytest.raises(TypeError, match="teem profilers"):
        visualize([object()], filename=str(tmp_path / "x.html"))


# --- svgplot on plain tuples -------------------------------------------------------------------

def test_task_stream_svg_from_plain_tuples():
    rows = [("load", "w0", 0.0, 1.0), ("load", "w1", 0.0, 2.0),
            ("add<&>", "w0", 1.0, 1.5, "add <key> & more")]
    svg = ET.fromstring(svgplot.task_stream_svg(rows, t0=0.0, t1=2.0, width=530, title="T"))
    rects = task_rects(svg)
    assert len(rects) == 3
    assert rects[0].get("fill") == rects[1].get("fill") != rects[2].get("fill")
    assert [r.get("y") for r in rects] == ["29", "49", "29"]  # rows w0, w1, w0
    assert [float(r.get("width")) for r in rects] == pytest.approx([200.0, 400.0, 100.0])
    assert rects[2].find("title").text == "add <key> & more (500.0 ms)"  # escaped, then parsed back
    labels = [t.text for t in svg.findall("text")]
    assert {"w0", "w1", "load", "add<&>", "T", "seconds"} <= set(labels)
    assert len(svg.findall("rect[@class='legend']")) == 2


def test_lines_svg_scales_values_and_times():
    svg = ET.fromstring(svgplot.lines_svg([("a", [(0, 0), (1, 50)]), ("b", [(0, 100), (1, 100)])],
                                          t0=0.0, t1=1.0, width=530, height=100, ymax=100.0))
    a, b = svg.findall("polyline[@class='series']")
    left = svgplot.LEFT
    assert a.get("points") == f"{left}.0,{svgplot.TOP + 100}.0 {left + 400}.0,{svgplot.TOP + 50}.0"
    assert b.get("points").endswith(f",{svgplot.TOP}.0")
    assert a.find("title").text == "a" and a.get("stroke") != b.get("stroke")
    assert len(svg.findall("rect[@class='legend']")) == 2


@pytest.mark.parametrize("t0, t1, ticks", [
    (0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1.0]), (0, 7, [0, 2, 4, 6]), (0, 12, [0, 2, 4, 6, 8, 10, 12]),
    (0, 0.003, [0, 0.0005, 0.001, 0.0015, 0.002, 0.0025, 0.003]), (5, 5, [5]),
])
def test_time_ticks(t0, t1, ticks):
    assert svgplot.time_ticks(t0, t1) == pytest.approx(ticks)


def test_prefix_colors_are_stable_and_repeat():
    colors = svgplot.prefix_colors(["b", "a", "b"] + [f"p{i}" for i in range(25)])
    assert list(colors)[:2] == ["b", "a"] and colors["b"] == svgplot.PALETTE[0]
    assert colors["p24"] == svgplot.PALETTE[26 % len(svgplot.PALETTE)]


def test_many_tiny_tasks_are_merged_into_few_rects():
    # 30,000 tasks of 10 µs back to back on 2 workers, 2 prefixes alternating in blocks of 1000.
    rows = [("ab"[(i // 1000) % 2], f"w{i % 2}", i * 1e-5, i * 1e-5 + 9e-6) for i in range(30_000)]
    svg = ET.fromstring(svgplot.task_stream_svg(rows, max_rects=20_000))
    rects = task_rects(svg)
    assert 2 <= len(rects) <= 2 * 30 + 2  # a rect per worker per block of one prefix
    tips = [r.find("title").text for r in rects]
    assert sum(int(t.split()[0]) for t in tips) == 30_000  # "500 a tasks (...)": every task counted
    small = ET.fromstring(svgplot.task_stream_svg(rows[:100], max_rects=20_000))
    assert len(task_rects(small)) == 100  # below the limit: one rect per task
