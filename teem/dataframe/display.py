"""Text shown for a collection: its structure (columns, dtypes, divisions), never its data."""

from __future__ import annotations

import pandas as pd

__all__ = ["frame_repr"]


def _division_labels(frame) -> list:
    if frame.known_divisions:
        return [str(d) for d in frame.divisions]
    return [""] * len(frame.divisions)


def _task_count(frame) -> int:
    return len(frame._graph.to_dict())


def _short_name(name: str) -> str:
    return name.rsplit("-", 1)[0] if "-" in name else name


def frame_repr(frame) -> str:
    """Dask's layout: a table of dtypes over the division boundaries, with ``...`` for the data."""
    labels = _division_labels(frame)
    rows = len(labels)
    index = pd.Index(labels, name=f"npartitions={frame.npartitions}")
    meta = frame._meta
    footer = f"teem Name: {_short_name(frame._name)}, {_task_count(frame)} tasks"
    if isinstance(meta, pd.DataFrame):
        data = {}
        for i, (column, dtype) in enumerate(meta.dtypes.items()):
            data[i] = [str(dtype)] + ["..."] * (rows - 1)
        table = pd.DataFrame(data, index=index)
        table.columns = meta.columns
        return f"teem DataFrame Structure:\n{table.to_string()}\n{footer}"
    if isinstance(meta, pd.Series):
        values = [str(meta.dtype)] + ["..."] * (rows - 1)
        text = pd.Series(values, index=index, name=meta.name).to_string()
        name = f"Name: {meta.name}, " if meta.name is not None else ""
        return f"teem Series Structure:\n{text}\n{name}dtype: {meta.dtype}\n{footer}"
    return (f"teem.dataframe.Index<{_short_name(frame._name)}, npartitions={frame.npartitions}, "
            f"dtype={meta.dtype}>")
