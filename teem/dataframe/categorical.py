"""Categoricals: known and unknown categories, and the ``.cat`` accessor.

A categorical column's meta either *knows* its categories (``from_pandas``,
hive partition columns, ``as_known()``) or does not (``astype('category')``:
every partition makes categories from its own values).  Unknown categories
are written as the one placeholder category :data:`UNKNOWN_CATEGORIES`, as
Dask does.  Computing a frame whose partitions disagree on categories joins
them over the union of categories, sorted as ``astype('category')`` sorts
them, so the result equals pandas'.

``.cat.as_known()`` computes the categories now (the distinct values of
every partition, a tree reduction) and gives every partition those;
``.cat.codes`` and ``.cat.categories`` need known categories, since codes
of partitions with different categories mean different things.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from teem.dataframe.partitionwise import partitionwise

__all__ = ["UNKNOWN_CATEGORIES", "has_known_categories", "with_unknown_categories", "concat_categoricals",
           "CategoricalAccessor"]

UNKNOWN_CATEGORIES = "__UNKNOWN_CATEGORIES__"


def has_known_categories(dtype) -> bool:
    """Whether a categorical dtype's categories are real (not the placeholder)."""
    cats = dtype.categories
    return not (len(cats) == 1 and cats[0] == UNKNOWN_CATEGORIES)


def _unknown(ordered: bool) -> pd.CategoricalDtype:
    return pd.CategoricalDtype([UNKNOWN_CATEGORIES], ordered=ordered)


def _asks_new_categories(dtype) -> bool:
    if isinstance(dtype, str):
        return dtype == "category"
    return isinstance(dtype, pd.CategoricalDtype) and dtype.categories is None


def with_unknown_categories(meta, dtype):
    """``meta`` after ``astype(dtype)``, with placeholder categories where partitions choose their own."""
    if isinstance(meta, pd.Series):
        return meta.astype(_unknown(bool(getattr(dtype, "ordered", False)))) if _asks_new_categories(dtype) else meta
    if not isinstance(meta, pd.DataFrame):
        return meta
    asked = dtype if isinstance(dtype, dict) else {c: dtype for c in meta.columns}
    columns = {c: _unknown(bool(getattr(d, "ordered", False))) for c, d in asked.items() if _asks_new_categories(d)}
    return meta.astype(columns) if columns else meta


def _union_dtype(dtypes: list) -> pd.CategoricalDtype:
    cats = pd.Index(pd.concat([pd.Series(d.categories) for d in dtypes], ignore_index=True).unique())
    try:
        cats = cats.sort_values()
    except TypeError:
        pass  # values that do not compare: order of appearance
    return pd.CategoricalDtype(cats, ordered=dtypes[0].ordered)


def concat_categoricals(parts: list) -> list:
    """``parts`` with every categorical column (or Series) over the union of the parts' categories,
    when they disagree (else unchanged)."""
    first = parts[0]
    if isinstance(first, pd.Series):
        if isinstance(first.dtype, pd.CategoricalDtype) and any(p.dtype != first.dtype for p in parts):
            dtype = _union_dtype([p.dtype for p in parts])
            return [p.astype(dtype) for p in parts]
        return parts
    if not isinstance(first, pd.DataFrame):
        return parts
    changes = {}
    for j, dtype in enumerate(first.dtypes):
        if isinstance(dtype, pd.CategoricalDtype) and any(p.dtypes.iloc[j] != dtype for p in parts):
            changes[first.columns[j]] = _union_dtype([p.dtypes.iloc[j] for p in parts])
    return [p.astype(changes) for p in parts] if changes else parts


# --- the accessor ---------------------------------------------------------------------------


def _cat_method(part, name: str, args: tuple, kwargs: dict):
    return getattr(part.cat, name)(*args, **kwargs)


def _codes(part):
    return part.cat.codes


def _present_categories(part):
    codes = part.cat.codes.to_numpy()
    return pd.Series(part.cat.categories[np.unique(codes[codes >= 0])])


def _union_of(parts: list):
    return pd.concat(parts, ignore_index=True).drop_duplicates()


def _sorted_categories(values):
    cats = pd.Index(values)
    try:
        return cats.sort_values()
    except TypeError:
        return cats


class CategoricalAccessor:
    """``s.cat``: categories, codes, known/unknown categories, ordering (per partition)."""

    def __init__(self, series):
        if not isinstance(series._meta.dtype, pd.CategoricalDtype):
            raise AttributeError(f"the .cat accessor needs a categorical Series; this one has dtype "
                                 f"{series._meta.dtype}; use .astype('category') first")
        self._series = series

    @property
    def _dtype(self) -> pd.CategoricalDtype:
        return self._series._meta.dtype

    @property
    def known(self) -> bool:
        """Whether the categories are known without computing (see the module docstring)."""
        return has_known_categories(self._dtype)

    @property
    def ordered(self) -> bool:
        return self._dtype.ordered

    def _need_known(self, what: str) -> None:
        if not self.known:
            raise NotImplementedError(f".cat.{what} needs known categories, and every partition of this "
                                      "Series chose its own; call .cat.as_known() first")

    @property
    def categories(self) -> pd.Index:
        """The categories (known ones only)."""
        self._need_known("categories")
        return self._dtype.categories

    @property
    def codes(self):
        """The category codes, per partition (known categories only)."""
        self._need_known("codes")
        meta = pd.Series([], dtype=self._series._meta.cat.codes.dtype, name=self._series._meta.name,
                         index=self._series._meta.index)
        return partitionwise(_codes, self._series, meta=meta, name="cat-codes")

    def as_known(self, split_every: int | None = None):
        """The same values with known categories: computes the distinct values of every partition now
        (sorted, as ``astype('category')`` sorts them) and gives every partition those."""
        if self.known:
            return self._series
        from teem.core.base import compute
        from teem.dataframe.reductions import tree_reduce
        found = tree_reduce(self._series, _present_categories, _union_of, _sorted_categories,
                            pd.Index([]), "cat-categories", split_every)
        (categories,) = compute(found)
        return self.set_categories(categories)

    def as_unknown(self):
        """The same values, with categories marked unknown (nothing is computed)."""
        meta = self._series._meta.astype(_unknown(self.ordered))
        return partitionwise(_same, self._series, meta=meta, name="cat-as-unknown")

    def _apply(self, name: str, *args, **kwargs):
        meta = getattr(self._series._meta.cat, name)(*args, **kwargs)
        return partitionwise(_cat_method, self._series, name, args, kwargs, meta=meta, name=f"cat-{name}")

    def as_ordered(self):
        return self._apply("as_ordered")

    def as_unordered(self):
        return self._apply("as_unordered")

    def set_categories(self, new_categories, ordered=None, rename: bool = False):
        """New categories for every partition (values not among them become missing)."""
        return self._apply("set_categories", list(new_categories), ordered=ordered, rename=rename)

    def reorder_categories(self, new_categories, ordered=None):
        self._need_known("reorder_categories")
        return self._apply("reorder_categories", list(new_categories), ordered=ordered)

    def rename_categories(self, new_categories):
        self._need_known("rename_categories")
        return self._apply("rename_categories", new_categories)


def _same(x):
    return x
