"""Drawing task graphs with graphviz."""

import shutil
import xml.etree.ElementTree as ET

import pytest

import teem as dask
from teem import delayed
from teem.core.visualize import GraphvizMissingError

graphviz = pytest.importorskip("graphviz")
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="graphviz's 'dot' program is not installed")


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def small_graph():
    x = delayed(inc)(1)
    y = delayed(inc)(2)
    return x, y, delayed(add)(x, y)


@needs_dot
def test_visualize_writes_a_valid_svg_naming_the_functions(tmp_path):
    _, _, z = small_graph()
    path = tmp_path / "task_graph.svg"
    result = z.visualize(filename=str(path))
    assert isinstance(result, graphviz.Digraph)
    text = path.read_text()
    root = ET.fromstring(text)  # well-formed XML
    assert root.tag.endswith("svg")
    assert ">inc<" in text and ">add<" in text
    assert z.compute() == 5  # drawing does not disturb computing


@needs_dot
def test_visualize_format_from_argument_and_extension(tmp_path):
    _, _, z = small_graph()
    z.visualize(filename=str(tmp_path / "graph"), format="svg")
    assert (tmp_path / "graph.svg").read_text().lstrip().startswith("<?xml")
    z.visualize(filename=str(tmp_path / "graph.png"))
    assert (tmp_path / "graph.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_dot
def test_module_level_visualize_of_several_collections(tmp_path):
    x, y, z = small_graph()
    path = tmp_path / "both.svg"
    dask.visualize(x, z, filename=str(path))
    assert ">add<" in path.read_text()


def test_visualize_without_filename_returns_a_digraph():
    x, y, z = small_graph()
    dot = dask.visualize(x, z, filename=None)
    assert isinstance(dot, graphviz.Digraph)
    source = dot.source
    assert "inc" in source and "add" in source
    # three results (boxes) and three calls (circles), two edges into add plus one per call
    assert source.count("shape=box") == 3
    assert source.count("shape=circle") == 3
    assert source.count("->") == 5


def test_visualize_of_a_value_draws_no_function():
    dot = dask.visualize(delayed([1, 2, 3], name="data"), filename=None)
    assert "shape=circle" not in dot.source
    assert "data" in dot.source


def test_visualize_rejects_non_collections():
    with pytest.raises(TypeError, match="int"):
        dask.visualize(5, filename=None)


def test_missing_dot_program_names_the_package_to_install(tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    _, _, z = small_graph()
    with pytest.raises(GraphvizMissingError) as info:
        z.visualize(filename=str(tmp_path / "task_graph.svg"))
    assert "apt-get install graphviz" in str(info.value)
    assert not (tmp_path / "task_graph.svg").exists()
