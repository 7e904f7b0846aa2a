"""One reusable connection per peer address, for requests such as get-data."""

from __future__ import annotations

import asyncio
import ssl

from teem.distributed.comm import Comm, connect

__all__ = ["ConnectionPool"]


class ConnectionPool:
    """Open connections by address, opened on first use and reopened when closed.

    Concurrent ``get`` calls for the same address share one connection attempt.
    Use from one event loop only.
    """

    def __init__(self, secret: bytes, ssl_context: ssl.SSLContext | None = None,
                 timeout: float = 10.0):
        self._secret = secret
        self._ssl_context = ssl_context
        self._timeout = timeout
        self._comms: dict[str, Comm] = {}
        self._opening: dict[str, asyncio.Future] = {}

    async def get(self, address: str) -> Comm:
        """The open connection to ``address``; raises TimeoutError if it cannot be reached."""
        comm = self._comms.get(address)
        if comm is not None and not comm.closed:
            return comm
        opening = self._opening.get(address)
        if opening is None:
            opening = asyncio.ensure_future(connect(address, self._secret, ssl_context=self._ssl_context,
                                                    timeout=self._timeout))
            self._opening[address] = opening
            try:
                comm = await opening
            finally:
                del self._opening[address]
            self._comms[address] = comm
            return comm
        return await asyncio.shield(opening)

    async def request(self, address: str, msg: dict, timeout: float | None = None):
        comm = await self.get(address)
        return await comm.request(msg, timeout)

    def discard(self, address: str) -> None:
        comm = self._comms.pop(address, None)
        if comm is not None:
            comm.close()

    def close(self) -> None:
        for comm in self._comms.values():
            comm.close()
        self._comms.clear()
