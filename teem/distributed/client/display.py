"""How a :class:`~teem.distributed.Client` shows itself: its repr, its notebook HTML and its dashboard link."""

from __future__ import annotations

import html
import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from teem.core import config
from teem.core.sizes import format_bytes

if TYPE_CHECKING:
    from teem.distributed.client.client import Client

__all__ = ["client_repr", "client_html", "dashboard_link_for"]


def client_repr(client: "Client") -> str:
    """``repr(client)``: its scheduler, workers, threads, memory and dashboard in one line."""
    if client.status != "running":
        return f"<Client: {client.status}>"
    try:
        workers = client.scheduler_info()["workers"].values()
    except Exception:
        return f"<Client: {client.scheduler_address!r}>"
    memory = sum(w.get("memory_limit") or 0 for w in workers)
    link = _shown_link(client)
    dashboard = f" dashboard={link}" if link else ""
    return (f"<Client: {client.scheduler_address!r} processes={len(workers)} "
            f"threads={sum(w['nthreads'] for w in workers)}, memory={format_bytes(memory)}{dashboard}>")


def client_html(client: "Client") -> str:
    """``client._repr_html_()``: the notebook's summary of the client and its cluster."""
    info = client.scheduler_info()["workers"].values()
    memory = sum(w.get("memory_limit") or 0 for w in info)
    link = _shown_link(client)
    dashboard = (f'<br>Dashboard: <a href="{html.escape(link)}" target="_blank">{html.escape(link)}</a>'
                 if link else "")
    return (f"<div><b>Client</b> {client.id}<br>Scheduler: {client.scheduler_address}{dashboard}<br>"
            f"Workers: {len(info)}, Cores: {sum(w['nthreads'] for w in info)}, "
            f"Memory: {format_bytes(memory)}</div>")


def _shown_link(client: "Client") -> str | None:
    try:
        return client.dashboard_link
    except ValueError:  # a broken link template: said when asked for the link, not in a repr
        return None


def dashboard_link_for(client: "Client") -> str | None:
    """``client.dashboard_link``: the cluster's or scheduler's link, through the config's template."""
    link = getattr(client.cluster, "dashboard_link", None) or client._scheduler_dashboard
    return _dashboard_link(link) if link else None


def _dashboard_link(link: str) -> str:
    """``link`` through the ``distributed.dashboard.link`` template, if one is configured."""
    template = config.get("distributed.dashboard.link", None)
    if not template:
        return link
    parts = urlsplit(link)
    try:
        return template.format(**{**os.environ, "scheme": parts.scheme, "host": parts.hostname,
                                  "port": parts.port})
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"config distributed.dashboard.link={template!r} cannot be filled in ({exc!r}): "
                         "it may use {scheme}, {host}, {port} and environment variables") from None
