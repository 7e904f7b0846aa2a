"""to_csv and to_json: one file per partition, or one file written partition after partition.

File names: a ``'*'`` in the path is replaced by ``name_function(i)`` (default
``i``); a path without ``'*'`` is a folder that receives ``<i>.part`` files.
``single_file=True`` (to_csv) writes every partition into one file, in
order: each task appends after the previous one (a chain of dependencies),
so only one partition is in the writer at a time.  Compression follows the
file suffix (or ``compression=``), through fsspec.
"""

from __future__ import annotations

from typing import Any, Callable

from teem.core.graph import Graph
from teem.core.task import Ref, RefSeq, Task
from teem.core.tokenize import tokenize

__all__ = ["to_csv", "to_json", "output_paths"]


def output_paths(fs, urlpath: str, n: int, name_function: Callable | None) -> list:
    """The ``n`` file paths for ``urlpath`` (see the module docstring)."""
    name_function = name_function or str
    if "*" in urlpath:
        if urlpath.count("*") > 1:
            raise ValueError(f"output path {urlpath!r} has more than one '*'; use one")
        names = [urlpath.replace("*", name_function(i)) for i in range(n)]
        if len(set(names)) != n:
            raise ValueError("name_function gives the same name to several partitions; make it unique")
        for parent in {fs._parent(p) for p in names}:
            fs.makedirs(parent, exist_ok=True)
        return names
    fs.makedirs(urlpath, exist_ok=True)
    return [f"{urlpath.rstrip('/')}/{name_function(i)}.part" for i in range(n)]


def _write_csv(part, fs, path: str, mode: str, header: bool, compression, kwargs: dict, *_after) -> str:
    with fs.open(path, mode, compression=compression, encoding=kwargs.pop("encoding", "utf-8"),
                 newline="") as f:
        part.to_csv(f, header=header if kwargs.get("header", True) is not False else False,
                    **{k: v for k, v in kwargs.items() if k != "header"})
    return path


def _write_json(part, fs, path: str, compression, kwargs: dict) -> str:
    with fs.open(path, "w", compression=compression, encoding=kwargs.pop("encoding", "utf-8")) as f:
        part.to_json(f, **kwargs)
    return path


def _finish(df, name: str, layer: dict, keys: list, compute: bool, compute_kwargs):
    from teem.core.delayed import Delayed
    final = (name + "-all", 0)
    layer[final] = Task(final, _unique_paths, (RefSeq(list, tuple(keys)),), None, tuple(keys))
    out = Delayed(final, {}, (Graph(layer, (df._graph,)),))
    return out.compute(**(compute_kwargs or {})) if compute else out


def _unique_paths(paths: list) -> list:
    return list(dict.fromkeys(paths))


def _fs_for(urlpath: str, storage_options):
    import fsspec
    fs, _ = fsspec.core.url_to_fs(urlpath, **(storage_options or {}))
    return fs


def _compression_for(path: str, compression):
    from fsspec.utils import infer_compression
    return infer_compression(path) if compression == "infer" else compression


def to_csv(df, filename: str, single_file: bool = False, name_function: Callable | None = None,
           compression: Any = "infer", compute: bool = True, storage_options: dict | None = None,
           compute_kwargs: dict | None = None, **kwargs: Any):
    """Write CSV text: one file per partition, or ``single_file=True`` for one file.

    Parameters
    ----------
    filename:
        ``'out/part-*.csv'`` (``*`` becomes ``name_function(i)``), a folder, or with
        ``single_file=True`` the one file.
    **kwargs:
        pandas ``to_csv`` options (``index``, ``sep``, ``encoding``, ``header``, ...).

    Returns
    -------
    The list of files written (``compute=False``: a Delayed computing it).
    """
    fs = _fs_for(filename, storage_options)
    name = "to-csv-" + tokenize(df._name, filename, single_file, name_function, compression, kwargs)
    layer: dict = {}
    keys = []
    if single_file:
        if "*" in filename:
            raise ValueError("to_csv(single_file=True) writes one file; remove the '*' from the path")
        comp = _compression_for(filename, compression)
        fs.makedirs(fs._parent(filename), exist_ok=True)
        previous: tuple = ()
        for i in range(df.npartitions):
            src, key = (df._name, i), (name, i)
            args = (Ref(src), fs, filename, "wt" if i == 0 else "at", i == 0, comp, dict(kwargs),
                    *[Ref(k) for k in previous])
            layer[key] = Task(key, _write_csv, args, None, (src, *previous))
            previous = (key,)
            keys.append(key)
    else:
        for i, path in enumerate(output_paths(fs, filename, df.npartitions, name_function)):
            src, key = (df._name, i), (name, i)
            args = (Ref(src), fs, path, "wt", True, _compression_for(path, compression), dict(kwargs))
            layer[key] = Task(key, _write_csv, args, None, (src,))
            keys.append(key)
    return _finish(df, name, layer, keys, compute, compute_kwargs)


def to_json(df, url_path: str, orient: str = "records", lines: bool | None = None,
            name_function: Callable | None = None, compression: Any = "infer", compute: bool = True,
            storage_options: dict | None = None, compute_kwargs: dict | None = None, **kwargs: Any):
    """Write JSON, one file per partition (``lines=True``, the default for ``orient='records'``:
    one object per line).

    Returns
    -------
    The list of files written (``compute=False``: a Delayed computing it).
    """
    lines = orient == "records" if lines is None else lines
    if lines and orient != "records":
        raise ValueError("to_json(lines=True) needs orient='records'")
    fs = _fs_for(url_path, storage_options)
    options = dict(kwargs, orient=orient, lines=lines)
    name = "to-json-" + tokenize(df._name, url_path, name_function, compression, options)
    layer: dict = {}
    keys = []
    for i, path in enumerate(output_paths(fs, url_path, df.npartitions, name_function)):
        src, key = (df._name, i), (name, i)
        layer[key] = Task(key, _write_json, (Ref(src), fs, path, _compression_for(path, compression),
                                              dict(options)), None, (src,))
        keys.append(key)
    return _finish(df, name, layer, keys, compute, compute_kwargs)
