"""teem's configuration: one nested dict of settings, read the way ``dask.config`` is.

Values come from four layers; a later layer wins over an earlier one:

1. ``defaults`` -- this module's dict, which other modules extend with ``update_defaults``;
2. YAML files (``*.yaml``/``*.yml``) in ``~/.config/teem/`` and in ``$TEEM_CONFIG``,
   read only if PyYAML is installed;
3. environment variables ``TEEM_<KEY>``, where ``__`` separates nested keys;
4. explicit ``set(...)`` calls.

Layers 1-3 are read at import and again by ``refresh()``. Keys use dots for nesting
(``'distributed.worker.memory.target'``), and hyphens and underscores in a key name are
interchangeable. Per STYLE.md habit 7, only entry points should read this module; engines
take explicit arguments. This module imports nothing else from teem.
"""

from __future__ import annotations

import ast
import copy
import difflib
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["config", "defaults", "get", "merge", "refresh", "set", "update", "update_defaults"]

ENV_PREFIX = "TEEM_"
CONFIG_DIR_VARIABLE = "TEEM_CONFIG"

defaults: dict = {
    "scheduler": None,
    "num_workers": None,
    "temporary-directory": None,
    "array": {"chunk-size": "128MiB"},
    "tokenize": {"ensure-deterministic": False},
    "optimization": {"fuse": {"active": True}},
}
config: dict = {}  # the live settings; always mutated in place, never rebound

_lock = threading.RLock()
_NO_DEFAULT = object()
_MISSING = object()


def canonical_name(key: str, mapping: Mapping) -> str:
    """Return the spelling of ``key`` already used in ``mapping``, trying ``-`` and ``_`` swaps.

    If no spelling is present, ``key`` is returned unchanged.
    """
    if key in mapping or not isinstance(key, str):
        return key
    for variant in (key.replace("_", "-"), key.replace("-", "_")):
        if variant in mapping:
            return variant
    return key


def update(old: dict, new: Mapping, priority: str = "new") -> dict:
    """Merge ``new`` into ``old`` recursively, in place.

    Parameters
    ----------
    old : dict
        The dict to modify.
    new : Mapping
        Values to merge in; nested mappings merge key by key.
    priority : {'new', 'old'}
        Which side wins when both hold a value for the same key.

    Returns
    -------
    dict
        ``old``, modified.

    Raises
    ------
    ValueError
        If ``priority`` is neither ``'new'`` nor ``'old'``.
    """
    if priority not in ("new", "old"):
        raise ValueError(f"update() priority must be 'new' or 'old', not {priority!r}")
    for key, value in new.items():
        key = canonical_name(key, old)
        existing = old.get(key)
        if isinstance(value, Mapping) and (existing is None or isinstance(existing, dict)):
            if existing is None:
                old[key] = {}
            update(old[key], value, priority)
        elif priority == "new" or key not in old:
            old[key] = copy.deepcopy(value)
    return old


def merge(*dicts: Mapping) -> dict:
    """Return a new dict with ``dicts`` merged left to right (later ones win)."""
    result: dict = {}
    for d in dicts:
        update(result, d)
    return result


def _parse_env_value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    # YAML spellings people write in shells; everything else stays a string.
    return {"none": None, "null": None, "true": True, "false": False}.get(text.lower(), text)


def _collect_env(environ: Mapping[str, str]) -> dict:
    result: dict = {}
    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_DIR_VARIABLE:
            continue
        dotted = name[len(ENV_PREFIX):].lower().replace("__", ".")
        if dotted:
            _assign(result, dotted.split("."), _parse_env_value(text), records=None)
    return result


def _yaml_files(environ: Mapping[str, str]) -> list[Path]:
    places = [Path.home() / ".config" / "teem"]
    if environ.get(CONFIG_DIR_VARIABLE):
        places.append(Path(environ[CONFIG_DIR_VARIABLE]))
    files: list[Path] = []
    for place in places:
        if place.is_file():
            files.append(place)
        elif place.is_dir():
            files.extend(sorted(p for p in place.iterdir() if p.suffix in (".yaml", ".yml")))
    return files


def _collect_yaml(environ: Mapping[str, str]) -> dict:
    files = _yaml_files(environ)
    if not files:
        return {}
    try:
        import yaml
    except ImportError:
        return {}  # PyYAML is optional: without it, config files are skipped
    result: dict = {}
    for path in files:
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as e:
            raise ValueError(f"cannot read teem config file {path}: {e}") from e
        if data is None:
            continue
        if not isinstance(data, Mapping):
            raise ValueError(f"teem config file {path} must hold a mapping of settings, "
                             f"not a {type(data).__name__}")
        update(result, data)
    return result


def refresh() -> None:
    """Rebuild ``config`` from defaults, YAML files and ``TEEM_*`` environment variables.

    Values given to ``set`` since import are discarded.

    Raises
    ------
    ValueError
        If a YAML config file cannot be parsed or does not hold a mapping.
    """
    fresh = merge(defaults, _collect_yaml(os.environ), _collect_env(os.environ))
    with _lock:
        config.clear()
        config.update(fresh)


def update_defaults(new: Mapping) -> None:
    """Add default values, as a module that owns new settings does at import.

    A setting takes the new default only if it is missing or still equals its previous
    default, so values from ``set``, the environment or YAML files are never overridden.
    """
    with _lock:
        previous = copy.deepcopy(defaults)
        update(defaults, new)
        _apply_defaults(config, new, previous)


def _apply_defaults(current: dict, new: Mapping, previous: Mapping) -> None:
    for key, value in new.items():
        key = canonical_name(key, current)
        old_default = previous.get(canonical_name(key, previous), _MISSING)
        if isinstance(value, Mapping) and isinstance(current.get(key), dict):
            _apply_defaults(current[key], value,
                            old_default if isinstance(old_default, Mapping) else {})
        elif key not in current or current[key] == old_default:
            current[key] = copy.deepcopy(value)


def _assign(d: dict, keys: list[str], value: Any, records: list | None) -> None:
    """Set ``d[keys[0]]...[keys[-1]] = value``, noting prior state in ``records`` for undo."""
    path = []
    for i, key in enumerate(keys):
        key = canonical_name(key, d)
        path.append(key)
        if i == len(keys) - 1:
            if records is not None:
                records.append((tuple(path), d.get(key, _MISSING)))
            d[key] = value
        elif key not in d:
            if records is not None:
                records.append((tuple(path), _MISSING))
            records = None  # everything below is new; deleting this key undoes it all
            d[key] = {}
            d = d[key]
        elif isinstance(d[key], dict):
            d = d[key]
        else:
            raise TypeError(f"cannot set config key {'.'.join(keys)!r}: {'.'.join(path)!r} "
                            f"holds {d[key]!r}, not a dict of settings")


class _Restorer:
    """What ``set`` returns: a context manager that undoes that one ``set`` on exit."""

    def __init__(self, records: list) -> None:
        self._records = records

    def __enter__(self) -> dict:
        return config

    def __exit__(self, *exc_info: object) -> None:
        with _lock:
            for path, old in reversed(self._records):
                d = config
                for key in path[:-1]:
                    d = d.setdefault(key, {})
                if old is _MISSING:
                    d.pop(path[-1], None)
                else:
                    d[path[-1]] = old


def set(arg: Mapping | None = None, /, **kwargs: Any) -> _Restorer:
    """Change settings now; as a context manager, undo the change on exit.

    Parameters
    ----------
    arg : Mapping, optional
        Settings to change; keys may be dotted (``'array.chunk-size'``).
    **kwargs
        More settings; a double underscore in a name means a dot (``array__chunk_size``).

    Returns
    -------
    context manager
        On exit it restores the previous values, deleting keys that did not exist.
        Ignore it to keep the change for the rest of the session.

    Raises
    ------
    TypeError
        If a dotted key would descend into a setting that is not a dict.

    Example
    -------
    >>> with set({'scheduler': 'threads'}):
    ...     get('scheduler')
    'threads'
    >>> set(scheduler='processes', num_workers=4)  # doctest: +SKIP

    Without ``with`` the second call stays in effect.
    """
    changes = dict(arg or {})
    changes.update((name.replace("__", "."), value) for name, value in kwargs.items())
    records: list = []
    with _lock:
        for dotted, value in changes.items():
            _assign(config, dotted.split("."), value, records)
    return _Restorer(records)


def get(key: str, default: Any = _NO_DEFAULT, override_with: Any = None) -> Any:
    """Return the setting at ``key``, a dotted path such as ``'array.chunk-size'``.

    Parameters
    ----------
    key : str
        Dotted path; hyphens and underscores are interchangeable.
    default : optional
        Returned when ``key`` is missing; without it a missing key raises.
    override_with : optional
        If not None, returned as is -- lets an entry point prefer an explicit argument.

    Returns
    -------
    The setting's value (nested settings come back as the live dict).

    Raises
    ------
    KeyError
        If ``key`` is missing and no ``default`` was given; the message lists close matches.

    Example
    -------
    >>> get('array.chunk-size')
    '128MiB'
    >>> get('no-such-setting', default=None) is None
    True
    """
    if override_with is not None:
        return override_with
    with _lock:
        node: Any = config
        for part in key.split("."):
            if not isinstance(node, Mapping) or canonical_name(part, node) not in node:
                if default is not _NO_DEFAULT:
                    return default
                raise KeyError(_missing_key_message(key))
            node = node[canonical_name(part, node)]
        return node


def _missing_key_message(key: str) -> str:
    def dotted_keys(d: Mapping, prefix: str = ""):
        for name, value in d.items():
            yield prefix + str(name)
            if isinstance(value, Mapping):
                yield from dotted_keys(value, prefix + str(name) + ".")

    known = {k.replace("_", "-"): k for k in dotted_keys(config)}
    close = difflib.get_close_matches(key.replace("_", "-"), known, n=5, cutoff=0.6)
    hint = (f"close matches: {', '.join(repr(known[c]) for c in close)}" if close
            else f"top-level keys are: {', '.join(map(repr, config))}")
    return (f"teem config has no key {key!r}; {hint}. "
            f"Pass default=... to get() to allow a missing key.")


refresh()
