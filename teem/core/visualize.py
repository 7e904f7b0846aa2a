"""Draw task graphs with graphviz.

Functions are drawn as circles, results as boxes, arrows follow the data.
The ``graphviz`` Python package builds the drawing; its ``dot`` program lays
it out.  Both are optional: a missing one gives an error saying what to install.
"""

from __future__ import annotations

import os
from typing import Any

from teem.core.errors import TeemError
from teem.core.graph import flatten
from teem.core.task import funcname

__all__ = ["visualize", "to_graphviz", "GraphvizMissingError"]


class GraphvizMissingError(TeemError, RuntimeError):
    """graphviz (the Python package or the ``dot`` program) is not installed."""


_DOT_MISSING = (
    "drawing the task graph needs the graphviz 'dot' program, which is not installed (or not on "
    "PATH). Install it with `apt-get install graphviz` (Debian/Ubuntu), `dnf install graphviz` "
    "(Fedora/RHEL), `brew install graphviz` (macOS) or `conda install graphviz`."
)


def _import_graphviz():
    try:
        import graphviz
    except ImportError:
        raise GraphvizMissingError(
            "drawing the task graph needs the graphviz Python package: "
            "`pip install graphviz` (or `pip install teem[diagnostics]`), plus the 'dot' program "
            "(`apt-get install graphviz` on Debian/Ubuntu)."
        ) from None
    return graphviz


def _label(key: Any) -> str:
    if type(key) is tuple:
        return f"{_short(key[0])}, " + ", ".join(map(str, key[1:]))
    return _short(str(key))


def _short(name: str) -> str:
    """'inc-3fa9c2e1b4d71a' -> 'inc': the prefix says more than the token."""
    prefix, _, token = name.rpartition("-")
    return prefix if prefix and len(token) >= 8 else name


def to_graphviz(graph: dict, rankdir: str = "BT", **graph_attr: Any):
    """A ``graphviz.Digraph`` of ``{key: task}``."""
    graphviz = _import_graphviz()
    g = graphviz.Digraph(graph_attr={"rankdir": rankdir, **graph_attr})
    ids: dict = {}

    def node_id(key: Any) -> str:
        nid = ids.get(key)
        if nid is None:
            nid = ids[key] = f"n{len(ids)}"
        return nid

    for key, task in graph.items():
        data_id = node_id(key)
        g.node(data_id, label=_label(key), shape="box")
        if task.func is None:
            continue  # a value known in advance: no function to draw
        func_id = data_id + "f"
        g.node(func_id, label=funcname(task.func), shape="circle")
        g.edge(func_id, data_id)
        for dep in task.dependencies:
            g.edge(node_id(dep), func_id)
    return g


def visualize(*args: Any, filename: str | None = "mydask", format: str | None = None,
              rankdir: str = "BT", **kwargs: Any):
    """Draw the task graph of one or more collections.

    Parameters
    ----------
    *args:
        Collections (Delayed, arrays, ...), or graphs as dicts.
    filename:
        Where to write the drawing; the extension (``.svg``, ``.png``, ``.pdf``)
        picks the format. ``None`` writes nothing.
    format:
        The format when ``filename`` has no extension (default ``png``).

    Returns
    -------
    graphviz.Digraph
        Displays itself in Jupyter.

    Raises
    ------
    GraphvizMissingError
        If the graphviz package or its ``dot`` program is missing.
    """
    graphs = []
    for a in args:
        if isinstance(a, dict):
            graphs.append(a)
        elif hasattr(a, "__teem_graph__"):
            graphs.append(flatten([a.__teem_graph__()]))
        else:
            raise TypeError(f"visualize() takes teem collections or graphs, not {type(a).__name__}")
    merged: dict = {}
    for g in graphs:
        merged.update(g)
    dot = to_graphviz(merged, rankdir=rankdir, **kwargs)
    if filename is None:
        return dot
    root, ext = os.path.splitext(filename)
    fmt = (ext[1:] if ext else None) or format or "png"
    graphviz = _import_graphviz()
    try:
        data = dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissingError(_DOT_MISSING) from None
    path = filename if ext else f"{filename}.{fmt}"
    with open(path, "wb") as f:
        f.write(data)
    return dot
