"""teem's wire protocol, without I/O: framing, messages and the shared-secret handshake."""

from teem.distributed.protocol.auth import AuthenticationError, ClientHandshake, ServerHandshake
from teem.distributed.protocol.framing import FrameDecoder, ProtocolError, encode
from teem.distributed.protocol.messages import Pickled, dumps, loads, pack, unpack

__all__ = [
    "AuthenticationError",
    "ClientHandshake",
    "FrameDecoder",
    "Pickled",
    "ProtocolError",
    "ServerHandshake",
    "dumps",
    "encode",
    "loads",
    "pack",
    "unpack",
]
