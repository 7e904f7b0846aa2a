"""The client side: ``Client``, ``Future``, ``wait`` and ``as_completed``."""

from teem.distributed.client.client import Client, default_client, get_client
from teem.distributed.client.future import (ALL_COMPLETED, FIRST_COMPLETED, FIRST_EXCEPTION, Future,
                                            as_completed, wait)

__all__ = ["Client", "Future", "wait", "as_completed", "default_client", "get_client",
           "ALL_COMPLETED", "FIRST_COMPLETED", "FIRST_EXCEPTION"]
