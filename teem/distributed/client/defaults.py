"""The default Client: where ``teem.compute``, ``Future(key)`` and joblib's ``'teem'`` backend send work."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from teem.core import base

if TYPE_CHECKING:
    from teem.distributed.client.client import Client

__all__ = ["default_client", "get_client", "set_default", "register_joblib_backend"]

# Clients created with set_as_default, oldest first (weakly held): the default is the newest
# one still running, so closing a newer client hands the role back to the one before it.
_defaults: list = []


def _current() -> "Client | None":
    while _defaults:
        client = _defaults[-1]()
        if client is not None and client.status == "running":
            return client
        _defaults.pop()
    return None


def default_client() -> "Client":
    """The Client new work goes to by default (the last one created, until it closes).

    Raises
    ------
    ValueError
        If no Client is running.
    """
    client = _current()
    if client is None:
        raise ValueError("no teem Client is running: create one with teem.distributed.Client()")
    return client


get_client = default_client


def _default_get():
    client = _current()
    if client is not None and client.status == "running":
        return client.get
    return None


def set_default(client: "Client") -> None:
    """Make ``client`` the default (for ``teem.compute`` too) until it closes or a newer one is set."""
    _defaults.append(weakref.ref(client))
    base.register_default_client(_default_get)


_joblib_registered = False


def register_joblib_backend() -> None:
    """Make ``joblib.parallel_config(backend='teem')`` available (if joblib is installed)."""
    global _joblib_registered
    if _joblib_registered:
        return
    _joblib_registered = True
    try:
        from teem.distributed.client.joblib_backend import register
    except ImportError:  # joblib not installed
        return
    register()
