"""Byte sizes as people write them ('24GB', '3.5 GiB') and memory limits for workers.

``parse_bytes`` reads the forms Dask users write; ``format_bytes`` prints sizes with binary
units, the way Dask prints them; ``parse_memory_limit`` turns a worker's ``memory_limit``
argument ('auto', a fraction, a size) into bytes, capped at what this machine (or its
container) actually has.
"""

from __future__ import annotations

import math
import os
import re
from decimal import Decimal, InvalidOperation

__all__ = ["parse_bytes", "format_bytes", "parse_memory_limit", "machine_memory", "cpu_count"]

_DECIMAL = {"k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}
_BINARY = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}

# Lower-cased unit -> multiplier: '', 'b', 'k', 'kb', 'ki', 'kib', 'm', 'mb', ...
_UNITS: dict[str, int] = {"": 1, "b": 1}
for _p, _m in _DECIMAL.items():
    _UNITS[_p] = _UNITS[_p + "b"] = _m
for _p, _m in _BINARY.items():
    _UNITS[_p + "i"] = _UNITS[_p + "ib"] = _m

_SIZE = re.compile(
    r"""\s*(?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
        \s*(?P<unit>[a-zA-Z]*)\s*""",
    re.VERBOSE,
)
_ACCEPTED = (
    "a number of bytes, optionally followed by a unit: '100MB', '24GB', '3.5 GiB', '512 kiB', "
    "'1e6', '10 B' (kB/MB/GB/TB/PB and k/M/G/T/P are powers of 1000, KiB/MiB/GiB/TiB/PiB "
    "powers of 1024; case does not matter)"
)


def parse_bytes(value: int | float | str) -> int:
    """Return the number of bytes ``value`` stands for.

    Parameters
    ----------
    value:
        An int or float (returned as ``int(value)``), or a string such as ``'2000M'``,
        ``'24GB'``, ``'3.5 GiB'``, ``'1e6'``, ``'512 kiB'`` or ``'5kb'``. Units are case
        insensitive; ``k``/``kB`` ... ``P``/``PB`` are powers of 1000 and ``KiB`` ...
        ``PiB`` powers of 1024; a bare number is bytes.

    Raises
    ------
    ValueError
        If ``value`` is not a size (unknown unit, no number, negative, not finite, a bool,
        or another type); the message names the value and the accepted forms.

    Example
    -------
    >>> parse_bytes("3.5 GiB")
    3758096384
    """
    if isinstance(value, bool):
        raise ValueError(f"cannot read {value!r} as a size: expected {_ACCEPTED}")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"cannot read {value!r} as a size: it is not finite")
        if value < 0:
            raise ValueError(f"cannot read {value!r} as a size: sizes are not negative")
        return int(value)
    if not isinstance(value, str):
        raise ValueError(
            f"cannot read {value!r} (a {type(value).__name__}) as a size: expected {_ACCEPTED}"
        )
    match = _SIZE.fullmatch(value)
    unit = match and _UNITS.get(match["unit"].lower())
    if unit is None:
        raise ValueError(f"cannot read {value!r} as a size: expected {_ACCEPTED}")
    try:
        number = Decimal(match["number"])
    except InvalidOperation:  # pragma: no cover - the pattern lets only numbers through
        raise ValueError(f"cannot read {value!r} as a size: expected {_ACCEPTED}") from None
    if number < 0:
        raise ValueError(f"cannot read {value!r} as a size: sizes are not negative")
    return int(number * unit)


def format_bytes(n: int | float) -> str:
    """Return ``n`` bytes in a short human form with binary units, as Dask prints them.

    One difference: a unit is used from one whole unit up (Dask switches at 0.9 of it, so it
    prints 999 bytes as '0.98 kiB'; teem prints '999 B').

    >>> format_bytes(1610612736), format_bytes(999), format_bytes(1024)
    ('1.50 GiB', '999 B', '1.00 kiB')
    """
    for prefix, k in (("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("ki", 2**10)):
        if n >= k:
            return f"{n / k:.2f} {prefix}B"
    return f"{n} B"


def cpu_count() -> int:
    """Return the number of CPUs this process may run on (its affinity mask, if known)."""
    if hasattr(os, "process_cpu_count"):  # Python >= 3.13
        return os.process_cpu_count() or 1
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _read_int(path: str) -> int | None:
    """The integer in a cgroup file, or None if it is missing, 'max' or unreadable."""
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    try:
        return int(text)
    except ValueError:  # 'max' means no limit
        return None


def _cgroup_memory_limit(root: str = "/sys/fs/cgroup", proc_cgroup: str = "/proc/self/cgroup"):
    """The smallest memory limit set by cgroup v2 or v1 on this process, or None.

    cgroup v2 limits are ``memory.max`` in this process's cgroup and in each parent; inside a
    container the process's cgroup is usually the namespace root itself. cgroup v1 keeps the
    limit in ``memory/memory.limit_in_bytes`` (a huge number when unlimited).
    """
    limits = []
    paths = {
        os.path.join(root, "memory.max"),
        os.path.join(root, "memory", "memory.limit_in_bytes"),
    }
    try:
        with open(proc_cgroup) as f:
            lines = f.read().splitlines()
    except OSError:
        lines = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, rel = parts
        rel = rel.strip("/")
        if controllers == "":  # cgroup v2: check the process's cgroup and its parents
            while rel:
                paths.add(os.path.join(root, rel, "memory.max"))
                rel = os.path.dirname(rel)
        elif "memory" in controllers.split(",") and rel:
            paths.add(os.path.join(root, "memory", rel, "memory.limit_in_bytes"))
    for path in paths:
        value = _read_int(path)
        if value is not None and value > 0:
            limits.append(value)
    return min(limits) if limits else None


def machine_memory() -> int:
    """Return this machine's memory in bytes, capped by a cgroup v2/v1 limit if one is set."""
    import psutil

    total = psutil.virtual_memory().total
    limit = _cgroup_memory_limit()
    return min(total, limit) if limit else total


def _fraction(value) -> float | None:
    """``value`` as a fraction in (0, 1] if it is a float (or a string like '0.5'), else None."""
    if isinstance(value, float):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*\d*\.\d*\s*", value) and value.strip() != ".":
        number = float(value)
    else:
        return None
    return number if 0 < number <= 1 else None


def parse_memory_limit(value, nthreads: int, total_threads: int | None = None) -> int | None:
    """Return a worker's memory limit in bytes, or None for no limit.

    Parameters
    ----------
    value:
        ``None``, ``0`` or ``'0'``: no limit (returns None). ``'auto'``: this machine's
        memory (see :func:`machine_memory`) times ``nthreads / total_threads``. A float in
        (0, 1], or a string written as one such as ``'0.5'``: that fraction of the machine's
        memory. Anything else is read by :func:`parse_bytes` (``'4GiB'``, ``4e9``, ``2**32``).
        The result is capped at the machine's memory, without an error.
    nthreads:
        Threads of this worker (used by ``'auto'``).
    total_threads:
        Threads of all workers sharing this machine; defaults to its CPU count.

    Raises
    ------
    ValueError
        If ``value`` is not one of the forms above.
    """
    if value is None or (isinstance(value, str) and value.strip() in ("0", "")):
        return None
    if isinstance(value, str) and value.strip().lower() == "auto":
        total = machine_memory()
        threads = total_threads or cpu_count()
        return int(total * min(1.0, max(nthreads, 1) / threads))
    fraction = _fraction(value)
    if fraction is not None:
        return int(fraction * machine_memory())
    limit = parse_bytes(value)
    if limit == 0:
        return None
    return min(limit, machine_memory())
