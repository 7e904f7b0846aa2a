"""groupby(...).agg and friends as tree reductions (chunk -> combine -> aggregate).

Theory of operation
-------------------
A request (``gb.mean()``, ``gb.agg({'x': ['min', 'std']})``, named
aggregations, ...) is first normalized into *specs*: ``(output label,
column, function)``.  Each function needs some *partials* per group:

=========  ==================================
mean       sum, count
var, std   sum, count, sum of squares
size       size
nunique    the distinct (keys, value) rows
others     themselves (sum, count, min, max, first, last)
=========  ==================================

1. ``chunk``: per partition, one pandas ``groupby().agg()`` computes every
   partial (a small frame indexed by the group keys), plus the distinct
   (keys, value) rows for ``nunique``.  The task uses only the key and value
   columns, which projection pushdown passes on to the reader.
2. ``combine``: partials of up to ``split_every`` partitions are concatenated
   and grouped again (sums of sums, min of mins, first of firsts -- partitions
   stay in order).
3. ``aggregate``: the last combine, then the final values (mean = sum/count,
   var = (sumsq - sum²/count)/(count - ddof), ...), sorted by key as pandas does,
   shaped as pandas would (a Series, or a DataFrame with flat or two-level
   columns).  The result is one partition.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from teem.core.task import Ref
from teem.dataframe.meta import nonempty
from teem.dataframe.optimize import register_rule
from teem.dataframe.reductions import tree_reduce

__all__ = ["DataFrameGroupBy", "SeriesGroupBy"]

_PARTIALS = {"mean": ("sum", "count"), "var": ("sum", "count", "sumsq"), "std": ("sum", "count", "sumsq"),
             "sum": ("sum",), "count": ("count",), "min": ("min",), "max": ("max",), "first": ("first",),
             "last": ("last",), "size": ("size",), "nunique": ()}
_COMBINE = {"sum": "sum", "count": "sum", "sumsq": "sum", "size": "sum", "min": "min", "max": "max",
            "first": "first", "last": "last"}
SUPPORTED = tuple(_PARTIALS)


class _Plan:
    """What to compute: keys, partial columns, specs, output shape.  Picklable and tokenizable."""

    def __init__(self, by: list, specs: list, series_name: Any, as_series: bool, dropna: bool, sort: bool,
                 ddof: int, column_labels: Any, index_names: list | None = None):
        self.by, self.specs, self.series_name, self.as_series = by, specs, series_name, as_series
        self.index_names = list(by) if index_names is None else list(index_names)
        self.dropna, self.sort, self.ddof, self.column_labels = dropna, sort, ddof, column_labels
        self.values = list(dict.fromkeys(c for _, c, f in specs if c is not None))
        partials = []
        for _, col, func in specs:
            for kind in _PARTIALS[func]:
                partials.append((col if kind != "size" else None, kind))
        self.partials = list(dict.fromkeys(partials))
        self.unique_columns = list(dict.fromkeys(c for _, c, f in specs if f == "nunique"))

    def __teem_tokenize__(self):
        return ("groupby-plan", self.by, self.specs, self.series_name, self.as_series, self.dropna,
                self.sort, self.ddof, self.column_labels, self.index_names)

    # --- the three steps ---
    def _keys(self) -> list:
        return [f"k{i}" for i in range(len(self.by))]

    def chunk(self, part: pd.DataFrame):
        keys = self._keys()
        work = {k: part[b] for k, b in zip(keys, self.by)}
        for i, col in enumerate(self.values):
            work[f"v{i}"] = part[col]
            if any(p == (col, "sumsq") for p in self.partials):
                work[f"q{i}"] = part[col].astype("float64") ** 2
        work = pd.DataFrame(work, index=part.index)
        grouped = work.groupby(keys, sort=False, dropna=self.dropna, observed=True)
        named = {}
        for j, (col, kind) in enumerate(self.partials):
            if kind == "size":
                named[f"p{j}"] = (keys[0], "size")
            elif kind == "sumsq":
                named[f"p{j}"] = (f"q{self.values.index(col)}", "sum")
            else:
                named[f"p{j}"] = (f"v{self.values.index(col)}", kind)
        partial = grouped.agg(**named) if named else grouped.size().to_frame("size").iloc[:, :0]
        uniques = {col: work[keys + [f"v{self.values.index(col)}"]].drop_duplicates()
                   for col in self.unique_columns}
        return partial, uniques

    def combine(self, parts: list):
        frames = [p[0] for p in parts]
        joined = pd.concat(frames)
        levels = list(range(len(self.by)))
        how = {f"p{j}": _COMBINE[kind] for j, (_, kind) in enumerate(self.partials)}
        grouped = joined.groupby(level=levels, sort=False, dropna=self.dropna, observed=True)
        partial = grouped.agg(how) if how else grouped.size().to_frame("size").iloc[:, :0]
        uniques = {c: pd.concat([p[1][c] for p in parts]).drop_duplicates() for c in self.unique_columns}
        return partial, uniques

    def aggregate(self, combined):
        partial, uniques = combined
        keys = self._keys()
        col_of = {p: f"p{j}" for j, p in enumerate(self.partials)}
        results = {}
        for label, col, func in self.specs:
            if func == "nunique":
                u = uniques[col]
                value = u.groupby(keys, sort=False, dropna=self.dropna, observed=True)[
                    f"v{self.values.index(col)}"].nunique()
                value = value.reindex(partial.index) if len(partial.columns) else value
            elif func == "size":
                value = partial[col_of[(None, "size")]]
            elif func in ("mean", "var", "std"):
                total = partial[col_of[(col, "sum")]]
                count = partial[col_of[(col, "count")]]
                with np.errstate(all="ignore"):
                    if func == "mean":
                        value = total / count
                    else:
                        sumsq = partial[col_of[(col, "sumsq")]]
                        total = total.astype("float64")
                        value = ((sumsq - total * total / count) / (count - self.ddof)).clip(lower=0)
                        value = value.where(count - self.ddof > 0)
                        if func == "std":
                            value = np.sqrt(value)
            else:
                value = partial[col_of[(col, func)]]
            results[label] = value
        if self.as_series:
            out = next(iter(results.values())).rename(self.series_name)
        else:
            out = pd.DataFrame(results)
            out.columns = self.column_labels
        out.index.names = self.index_names
        return out.sort_index() if self.sort else out


class _GroupBy:
    """What DataFrameGroupBy and SeriesGroupBy share."""

    def __init__(self, frame, by, sort: bool = True, dropna: bool = True, observed: bool = True,
                 split_every: int | None = None, as_index: bool = True, _names: list | None = None,
                 _excluded: list | None = None):
        from teem.dataframe.core import Frame, Series
        self._as_index = as_index
        items = list(by) if isinstance(by, (list, tuple)) else [by]
        if _names is not None:  # a selection of an existing groupby: keys already prepared
            self._frame, self._by, self._names, self._excluded = frame, items, _names, _excluded
        else:
            self._prepare(frame, items, Frame, Series)
        columns = self._frame._meta.columns if self._frame.ndim == 2 else []
        missing = [b for b in self._by if b not in columns]
        if missing:
            raise KeyError(f"groupby: {missing} are not columns of this DataFrame; it has {list(columns)}")
        self._sort, self._dropna, self._split_every = sort, dropna, split_every

    def _prepare(self, frame, items: list, Frame, Series) -> None:
        """Keys that are teem Series become hidden columns (aligned partition by partition); the
        result's index levels take the Series' names, as in pandas."""
        by, names, excluded = [], [], []
        original = frame
        for i, item in enumerate(items):
            if isinstance(item, Series):
                hidden = f"__teem_by{i}__"
                frame = frame.assign(**{hidden: item})
                by.append(hidden)
                names.append(item.name)
                excluded.append(hidden)
                if original.ndim == 2 and item.name in original._meta.columns and \
                        original[item.name]._name == item._name:
                    excluded.append(item.name)  # the column itself: pandas leaves it out too
            elif isinstance(item, Frame):
                raise NotImplementedError("groupby() takes column names and teem Series, not a DataFrame")
            else:
                by.append(item)
                names.append(item)
                excluded.append(item)
        self._frame, self._by, self._names, self._excluded = frame, by, names, excluded

    def _state(self) -> dict:
        return dict(sort=self._sort, dropna=self._dropna, split_every=self._split_every,
                    as_index=self._as_index, _names=self._names, _excluded=self._excluded)

    def _run(self, specs: list, as_series: bool, series_name: Any, column_labels: Any, ddof: int,
             pandas_call):
        from teem.dataframe.core import DataFrame
        funcs = {f for _, _, f in specs}
        unknown = funcs - set(SUPPORTED)
        if unknown:
            raise NotImplementedError(f"groupby aggregation(s) {sorted(unknown)} are not supported; use "
                                      f"one of {', '.join(SUPPORTED)}")
        frame = self._frame
        assert isinstance(frame, DataFrame)
        try:
            meta = pandas_call(nonempty(frame._meta).groupby(self._by, sort=self._sort, dropna=self._dropna))
        except TypeError as e:
            raise TypeError(f"groupby: {e}; select numeric columns or pass numeric_only=True") from e
        meta = meta.iloc[:0]
        meta.index.names = self._names
        if as_series:
            meta = meta.rename(series_name)
        plan = _Plan(self._by, specs, series_name, as_series, self._dropna, self._sort, ddof, column_labels,
                     self._names)
        out = tree_reduce(frame, plan.chunk, plan.combine, plan.aggregate, meta, "groupby-agg",
                          self._split_every)
        if self._as_index:
            return out
        from teem.dataframe.partitionwise import partitionwise
        is_size = specs == [(None, None, "size")]
        return partitionwise(_flat_result, out, is_size, meta=_flat_result(meta, is_size), name="reset-index")

    # Aggregations spelled the same for a frame's and a column's groups.

    def count(self):
        return self._simple("count")

    def first(self):
        return self._simple("first")

    def last(self):
        return self._simple("last")

    def nunique(self):
        return self._simple("nunique")


def _flat_result(out, is_size: bool):
    """``as_index=False``: the keys as columns (a size Series becomes a 'size' column, as pandas)."""
    if isinstance(out, pd.Series):
        out = out.rename("size") if is_size else out
    return out.reset_index()


def _labels(labels: list):
    if labels and all(isinstance(x, tuple) for x in labels):
        return pd.MultiIndex.from_tuples(labels)
    return pd.Index(labels)


class DataFrameGroupBy(_GroupBy):
    """``df.groupby(by)``: select columns with ``[...]`` or attributes, then aggregate."""

    def __init__(self, frame, by, selection: list | None = None, **kwargs):
        super().__init__(frame, by, **kwargs)
        self._selection = selection

    @property
    def _columns(self) -> list:
        if self._selection is not None:
            return self._selection
        return [c for c in self._frame._meta.columns if c not in self._excluded]

    def __getitem__(self, key):
        kw = self._state()
        if isinstance(key, list):
            return DataFrameGroupBy(self._frame, self._by, selection=key, **kw)
        if key not in self._frame._meta.columns:
            raise KeyError(f"column {key!r} is not in this DataFrame")
        return SeriesGroupBy(self._frame, self._by, column=key, **kw)

    def __getattr__(self, attr: str):
        if not attr.startswith("_") and attr in self._frame._meta.columns:
            return self[attr]
        raise AttributeError(f"'DataFrameGroupBy' object has no attribute {attr!r}")

    def _simple(self, func: str, numeric_only: bool = False, ddof: int = 1):
        cols = self._columns
        if numeric_only:
            num = self._frame._meta[cols].select_dtypes(include=["number", "bool"]).columns
            cols = [c for c in cols if c in num]
        specs = [(c, c, func) for c in cols]

        def call(g):
            g = g[cols]
            return getattr(g, func)(ddof=ddof) if func in ("var", "std") else getattr(g, func)()
        return self._run(specs, False, None, _labels(cols), ddof, call)

    def agg(self, arg=None, split_every: int | None = None, **named):
        """Aggregate: ``'mean'``, a list of names, ``{column: name or names}``, or
        ``new=(column, name)`` named aggregations.

        Returns
        -------
        DataFrame (one partition)
        """
        if split_every is not None:
            self._split_every = split_every
        if arg is None and named:
            specs = [(label, col, func) for label, (col, func) in named.items()]
            return self._run(specs, False, None, _labels(list(named)), 1,
                             lambda g: g.agg(**named))
        if isinstance(arg, str):
            return self._simple(arg)
        cols = self._columns
        if isinstance(arg, (list, tuple)):
            specs = [((c, f), c, f) for c in cols for f in arg]
            return self._run(specs, False, None, _labels([s[0] for s in specs]), 1,
                             lambda g: g[cols].agg(list(arg)))
        if isinstance(arg, dict):
            nested = any(isinstance(v, (list, tuple)) for v in arg.values())
            specs = []
            for col, funcs in arg.items():
                for f in (funcs if isinstance(funcs, (list, tuple)) else [funcs]):
                    specs.append(((col, f) if nested else col, col, f))
            return self._run(specs, False, None, _labels([s[0] for s in specs]), 1, lambda g: g.agg(arg))
        raise TypeError(f"agg() takes a function name, a list, a dict or named aggregations, not {arg!r}")

    aggregate = agg

    def size(self):
        return self._run([(None, None, "size")], True, None, None, 1, lambda g: g.size())

    def mean(self, numeric_only: bool = False):
        return self._simple("mean", numeric_only)

    def sum(self, numeric_only: bool = False):
        return self._simple("sum", numeric_only)

    def var(self, ddof: int = 1, numeric_only: bool = False):
        return self._simple("var", numeric_only, ddof)

    def std(self, ddof: int = 1, numeric_only: bool = False):
        return self._simple("std", numeric_only, ddof)


    def min(self, numeric_only: bool = False):
        return self._simple("min", numeric_only)

    def max(self, numeric_only: bool = False):
        return self._simple("max", numeric_only)



class SeriesGroupBy(_GroupBy):
    """``df.groupby(by).column``: aggregations of one column per group."""

    def __init__(self, frame, by, column: Any = None, **kwargs):
        from teem.dataframe.core import Series
        self._label = column
        if isinstance(frame, Series):  # series.groupby(other_series): the values as a hidden column
            self._label = frame.name
            column = "__teem_values__"
            frame = frame.to_frame(column)
        super().__init__(frame, by, **kwargs)
        self._column = column

    def _simple(self, func: str, ddof: int = 1):
        col = self._column

        def call(g):
            g = g[col]
            return getattr(g, func)(ddof=ddof) if func in ("var", "std") else getattr(g, func)()
        return self._run([(col, col, func)], True, self._label, None, ddof, call)

    def agg(self, arg=None, split_every: int | None = None, **named):
        """Aggregate one column: a name (a Series), a list of names or named aggregations (a DataFrame)."""
        if split_every is not None:
            self._split_every = split_every
        col = self._column
        if arg is None and named:
            specs = [(label, col, func) for label, func in named.items()]
            return self._run(specs, False, None, _labels(list(named)), 1, lambda g: g[col].agg(**named))
        if isinstance(arg, str):
            return self._simple(arg)
        if isinstance(arg, (list, tuple)):
            specs = [(f, col, f) for f in arg]
            return self._run(specs, False, None, _labels(list(arg)), 1, lambda g: g[col].agg(list(arg)))
        raise TypeError(f"agg() takes a function name, a list or named aggregations, not {arg!r}")

    aggregate = agg

    def size(self):
        return self._run([(None, None, "size")], True, self._label, None, 1, lambda g: g[self._column].size())

    def mean(self):
        return self._simple("mean")

    def sum(self):
        return self._simple("sum")

    def var(self, ddof: int = 1):
        return self._simple("var", ddof)

    def std(self, ddof: int = 1):
        return self._simple("std", ddof)


    def min(self):
        return self._simple("min")

    def max(self):
        return self._simple("max")



def _chunk_rule(task, need):
    """A groupby chunk uses its keys and value columns only."""
    part = task.args[0]
    plan = getattr(task.func, "__self__", None)
    if isinstance(plan, _Plan) and type(part) is Ref:
        yield part.key, set(plan.by) | set(plan.values)
    else:
        for dep in task.dependencies:
            yield dep, None


register_rule(_Plan.chunk, _chunk_rule)
