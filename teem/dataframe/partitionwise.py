"""Operations applied to each partition on its own: one task per partition.

:func:`partitionwise` is the one builder behind column access, filtering,
operators, ``assign``, ``astype``, ``map_partitions`` and the accessors.  Its
arguments may be partitioned collections (partition ``i`` of each goes to task
``i``; they must have the same number of partitions), Scalars and Delayed
values (the same result goes to every task), or plain values.
"""

from __future__ import annotations

from typing import Any, Callable

from teem.core.delayed import Delayed
from teem.core.graph import Graph
from teem.core.task import Ref, Task, funcname
from teem.core.tokenize import tokenize
from teem.dataframe.meta import infer_meta, make_meta

__all__ = ["partitionwise", "map_partitions", "NO_META", "collection_token"]

NO_META = object()  # "infer it": None is a legal meta for Dask users (a scalar per partition)


def collection_token(obj: Any) -> Any:
    """What stands for ``obj`` in a token: a collection's name, else the object."""
    from teem.dataframe.core import Frame, Scalar
    if isinstance(obj, (Frame, Scalar)):
        return ("teem-collection", obj._name)
    if isinstance(obj, Delayed):
        return ("teem-delayed", obj.key)
    return obj


def _aligned(frames: list) -> tuple:
    """The common divisions of ``frames``; raises if their partitions do not line up."""
    first = frames[0]
    known = [f for f in frames if f.known_divisions]
    for f in frames[1:]:
        if f.npartitions != first.npartitions:
            raise ValueError(
                f"cannot combine partition by partition collections with {first.npartitions} and "
                f"{f.npartitions} partitions; call .repartition(npartitions={first.npartitions}) on "
                "one of them first")
    for f in known[1:]:
        if f.divisions != known[0].divisions:
            raise ValueError(
                "cannot combine partition by partition collections whose divisions differ "
                f"({known[0].divisions[:3]}... vs {f.divisions[:3]}...); repartition one with "
                "divisions=other.divisions first")
    return known[0].divisions if known else first.divisions


def partitionwise(func: Callable, *args: Any, meta: Any = NO_META, name: str | None = None,
                  divisions: tuple | None = None, **kwargs: Any):
    """A collection whose partition ``i`` is ``func(*args_i, **kwargs_i)``.

    Parameters
    ----------
    func:
        A function of pandas objects.
    *args, **kwargs:
        Partitioned collections (aligned partition by partition), Scalars, Delayed, or values.
    meta:
        The output's meta (inferred by running ``func`` on fake data when omitted).
    name:
        The prefix of the output's key name (default: ``func``'s name).
    divisions:
        The output's divisions (default: those of the inputs).

    Returns
    -------
    DataFrame, Series or Index (by the type of ``meta``).
    """
    from teem.dataframe.core import Frame, Scalar, new_collection
    frames = [a for a in args if isinstance(a, Frame)] + [v for v in kwargs.values() if isinstance(v, Frame)]
    if not frames:
        raise TypeError(f"{funcname(func)}: partitionwise needs at least one partitioned collection")
    common = _aligned(frames)
    if meta is NO_META:
        meta = infer_meta(func, args, kwargs, funcname(func))
    else:
        meta = make_meta(meta, getattr(frames[0]._meta, "index", None))
    token = tokenize(func, [collection_token(a) for a in args],
                     {k: collection_token(v) for k, v in kwargs.items()}, meta)
    out_name = f"{name or funcname(func)}-{token}"
    graphs: dict = {}
    for a in (*args, *kwargs.values()):
        if isinstance(a, (Frame, Scalar)):
            graphs[id(a._graph)] = a._graph
        elif isinstance(a, Delayed):
            graphs[id(a)] = a.__teem_graph__()
    layer = {}
    for i in range(frames[0].npartitions):
        deps: list = []
        targs = tuple(_partition_arg(a, i, deps) for a in args)
        tkwargs = {k: _partition_arg(v, i, deps) for k, v in kwargs.items()} if kwargs else None
        key = (out_name, i)
        layer[key] = Task(key, func, targs, tkwargs, tuple(dict.fromkeys(deps)))
    return new_collection(Graph(layer, tuple(graphs.values())), out_name, meta,
                          divisions if divisions is not None else common)


def _partition_arg(arg: Any, i: int, deps: list) -> Any:
    from teem.dataframe.core import Frame, Scalar
    if isinstance(arg, Frame):
        key = (arg._name, i)
    elif isinstance(arg, Scalar):
        key = arg.key
    elif isinstance(arg, Delayed):
        key = arg.key
    else:
        return arg
    deps.append(key)
    return Ref(key)


def apply_and_enforce(func: Callable, meta, *args, **kwargs):
    """``func(*args, **kwargs)``, with a Series renamed to ``meta``'s name and a DataFrame's
    columns checked against it (a user's ``meta=`` is a promise we keep)."""
    import pandas as pd
    out = func(*args, **kwargs)
    if isinstance(meta, pd.Series) and isinstance(out, pd.Series) and out.name != meta.name:
        return out.rename(meta.name)
    if isinstance(meta, pd.DataFrame) and isinstance(out, pd.DataFrame) and \
            list(out.columns) != list(meta.columns):
        raise ValueError(f"{funcname(func)} returned columns {list(out.columns)}, but meta= says "
                         f"{list(meta.columns)}; fix meta= or the function")
    return out


def _apply_and_wrap(func: Callable, *args, **kwargs):
    """``func`` returned a non-pandas value per partition: make it a one-row Series."""
    import pandas as pd
    out = func(*args, **kwargs)
    return out if isinstance(out, (pd.DataFrame, pd.Series, pd.Index)) else pd.Series([out])


def map_partitions(func: Callable, *args: Any, meta: Any = NO_META, token: str | None = None,
                   enforce_metadata: bool = True, transform_divisions: bool = True,
                   align_dataframes: bool = True, **kwargs: Any):
    """Apply ``func`` to every partition (Dask's ``map_partitions``).

    Parameters
    ----------
    func:
        Called as ``func(partition, *other_args, **kwargs)`` on pandas objects.
    *args:
        Collections (aligned partition by partition) and other arguments.
    meta:
        An empty pandas object (or dict of dtypes, or (name, dtype)) describing the
        result; inferred by running ``func`` on fake data when omitted.
    token:
        The prefix of the output's key names.

    Returns
    -------
    DataFrame or Series.  A ``func`` returning a scalar per partition gives a Series
    with one value per partition.

    Example
    -------
    >>> ddf.map_partitions(len, df).compute()  # doctest: +SKIP
    """
    import pandas as pd
    from teem.dataframe.meta import is_pandas
    user_meta = meta is not NO_META
    if meta is NO_META:
        meta = infer_meta(func, args, kwargs, f"map_partitions({funcname(func)})")
    elif meta is not None:
        meta = make_meta(meta)
    if not is_pandas(meta):  # a value per partition
        dtype = pd.Series([meta]).dtype if meta is not None else object
        return partitionwise(_apply_and_wrap, func, *args, meta=pd.Series([], dtype=dtype),
                             name=token or funcname(func), divisions=(None,) * (_nparts(args) + 1),
                             **kwargs)
    if user_meta:
        return partitionwise(apply_and_enforce, func, meta, *args, meta=meta,
                             name=token or funcname(func), **kwargs)
    return partitionwise(func, *args, meta=meta, name=token or funcname(func), **kwargs)


def _nparts(args: tuple) -> int:
    from teem.dataframe.core import Frame
    return next(a.npartitions for a in args if isinstance(a, Frame))
