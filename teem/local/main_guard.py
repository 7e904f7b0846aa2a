"""Scripts without ``if __name__ == '__main__':`` and process pools that import them again.

teem's own worker processes start with ``subprocess`` and never import the
user's script, so the ``processes`` scheduler needs no guard.  A
``ProcessPoolExecutor`` given as ``pool=`` is different: with the ``spawn`` or
``forkserver`` start method, every worker it starts imports the main script
again, and an unguarded compute at the script's top level would run again in
each worker, which multiprocessing stops with an obscure bootstrapping error.
:func:`check_main_guard` finds that situation before any worker starts and
raises :class:`MainGuardError`, which says what to change.
"""

from __future__ import annotations

import ast
import functools
import multiprocessing
import sys
from concurrent.futures import Executor, ProcessPoolExecutor

from teem.core.errors import MainGuardError

__all__ = ["check_main_guard", "unguarded_call_site"]

# Start methods whose workers import the main script again.
REIMPORTING = ("spawn", "forkserver")


def check_main_guard(executor: Executor) -> None:
    """Raise :class:`MainGuardError` if ``executor``'s workers would re-run this script."""
    if not isinstance(executor, ProcessPoolExecutor):
        return
    context = getattr(executor, "_mp_context", None) or multiprocessing.get_context()
    method = context.get_start_method()
    if method not in REIMPORTING:
        return
    site = unguarded_call_site()
    if site is None:
        return
    path, line = site
    raise MainGuardError(
        f"this compute runs on a ProcessPoolExecutor whose workers start with the {method!r} "
        f"method: each worker imports {path} again, and line {line}, which started this "
        "compute, is not inside an `if __name__ == '__main__':` block, so every worker would "
        "start it again. Put the script's top-level work under\n\n"
        "    if __name__ == '__main__':\n        ...\n\n"
        "or use scheduler='processes': teem's own worker processes never import your script.")


def unguarded_call_site() -> tuple[str, int] | None:
    """``(script, line)`` of the script's top-level statement running now, if unguarded.

    None when there is no script file (interactive sessions, ``python -c``),
    when the call does not come from the script's top level, or when that
    statement is inside an ``if __name__ == '__main__':`` block.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    if not path or not path.endswith(".py"):
        return None
    line = None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals is main.__dict__ and frame.f_code.co_name == "<module>":
            line = frame.f_lineno
        frame = frame.f_back
    if line is None:
        return None
    guarded = _guarded_ranges(path)
    if guarded is None or any(start <= line <= end for start, end in guarded):
        return None
    return path, line


@functools.lru_cache(maxsize=8)
def _guarded_ranges(path: str) -> tuple | None:
    """Line ranges of the script's ``if __name__ == '__main__':`` bodies (None if unreadable)."""
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None  # cannot tell: stay silent rather than raise a wrong error
    return tuple((node.body[0].lineno, node.end_lineno) for node in tree.body
                 if isinstance(node, ast.If) and _is_main_test(node.test))


def _is_main_test(test: ast.expr) -> bool:
    """Whether ``test`` is ``__name__ == '__main__'`` (either way round)."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = (test.left, test.comparators[0])
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    values = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return len(names) == 1 and len(values) == 1
