"""Files sent to workers with ``upload_file``: written locally, then importable."""

from __future__ import annotations

import importlib
import os
import sys
import zipfile

__all__ = ["install_upload"]


def _zip_modules(path: str) -> list[str]:
    """Top-level modules and packages inside the zip or egg at ``path``."""
    names = set()
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            head, sep, rest = member.partition("/")
            if sep and rest == "__init__.py":
                names.add(head)
            elif not sep and head.endswith(".py"):
                names.add(head[:-3])
    return sorted(n for n in names if n.isidentifier())


def install_upload(directory: str, filename: str, data: bytes) -> list[str]:
    """Write ``data`` as ``directory/filename`` and make it importable; return its modules.

    A ``.py`` file is importable by its name (``directory`` goes on ``sys.path``);
    a ``.zip`` or ``.egg`` goes on ``sys.path`` itself.  Its modules are then
    imported -- reloaded if they were imported before -- so a broken upload
    fails here, with its error, rather than in a task later.  Other files are
    only written.

    Raises
    ------
    ValueError
        If ``filename`` names no file.
    Exception
        Whatever importing the uploaded module raises (a SyntaxError, ...).
    """
    name = os.path.basename(str(filename))
    if not name or name in (".", ".."):
        raise ValueError(f"upload_file: {filename!r} does not name a file")
    path = os.path.join(directory, name)
    tmp = path + ".part"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    if name.endswith(".py"):
        entry, modules = directory, [name[:-3]]
    elif name.endswith((".zip", ".egg")):
        entry, modules = path, _zip_modules(path)
    else:
        return []
    if entry not in sys.path:
        sys.path.insert(0, entry)
    importlib.invalidate_caches()
    for module in modules:
        if module in sys.modules:
            importlib.reload(sys.modules[module])
        else:
            importlib.import_module(module)
    return modules
