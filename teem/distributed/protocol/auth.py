"""Mutual proof of a shared secret, done before anything from the peer is decoded (no I/O).

The listening side (server) speaks first; every message has a fixed size::

    server -> client   b"TEEM\\x01" + server_nonce                                   37 bytes
    client -> server   client_nonce + HMAC(secret, b"client" + server_nonce + client_nonce)   64
    server -> client   HMAC(secret, b"server" + server_nonce + client_nonce)         32 bytes

HMAC is HMAC-SHA256; nonces are 32 random bytes. Each side proves the secret over a nonce the
other side chose, so a recorded handshake cannot be replayed, and the ``client``/``server``
labels keep one side's proof from being reflected back as the other's. Proofs are compared
with ``hmac.compare_digest``. The server checks the client's proof before it sends its own,
so a client with the wrong secret learns nothing from the server but a closed connection.

Both classes are sans-I/O: ``feed`` takes whatever bytes arrived and returns the bytes to
send. Once ``done`` is true, ``leftover`` holds the bytes that followed the handshake (the
start of the message stream). After a failure the object raises again on every ``feed``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from teem.core.errors import TeemError

__all__ = ["AuthenticationError", "ServerHandshake", "ClientHandshake", "VERSION_TAG"]

VERSION_TAG = b"TEEM\x01"
NONCE_BYTES = 32
MAC_BYTES = 32
_HELLO_BYTES = len(VERSION_TAG) + NONCE_BYTES
_PROOF_BYTES = NONCE_BYTES + MAC_BYTES
_ADVICE = (
    "the secret differs: pass the scheduler file, or Security(secret=...) / TEEM_SECRET, "
    "so that both sides use the cluster's secret"
)


class AuthenticationError(TeemError, PermissionError):
    """The peer did not prove it knows the cluster's secret, or does not speak teem."""


def _secret_bytes(secret) -> bytes:
    if isinstance(secret, str):
        secret = secret.encode()
    if not isinstance(secret, (bytes, bytearray)):
        raise TypeError(f"the secret must be bytes or str, not {type(secret).__name__}")
    if not secret:
        raise ValueError("the secret is empty: use teem.distributed.security.new_secret()")
    return bytes(secret)


def _mac(secret: bytes, label: bytes, server_nonce: bytes, client_nonce: bytes) -> bytes:
    return hmac.new(secret, label + server_nonce + client_nonce, hashlib.sha256).digest()


class _Handshake:
    """What both sides share: a receive buffer, the outcome, and fail-once-fail-always."""

    def __init__(self, secret):
        self._secret = _secret_bytes(secret)
        self._buffer = bytearray()
        self._error: AuthenticationError | None = None
        self.done = False
        self.leftover = b""

    def feed(self, data) -> bytes:
        """Take bytes from the peer; return bytes to send to it (possibly ``b""``).

        Raises
        ------
        AuthenticationError
            If the peer sent a wrong version tag or a wrong proof of the secret (now or on
            an earlier call).
        RuntimeError
            If called after the handshake is done (pass further bytes to the message
            decoder, starting with ``leftover``), or on the server before ``start()``.
        """
        if self._error is not None:
            raise AuthenticationError(f"the handshake already failed: {self._error}")
        if self.done:
            raise RuntimeError(
                "the handshake is done: read .leftover and give further bytes to the "
                "message decoder"
            )
        self._buffer += data
        try:
            return self._step()
        except AuthenticationError as exc:
            self._error = exc
            self._buffer.clear()
            raise

    def _finish(self, used: int) -> None:
        self.leftover = bytes(self._buffer[used:])
        self._buffer.clear()
        self.done = True

    def _step(self) -> bytes:  # pragma: no cover - overridden
        raise NotImplementedError


class ServerHandshake(_Handshake):
    """The listening side: sends the hello, checks the client's proof, sends its own.

    Example
    -------
    >>> server, client = ServerHandshake(b"s3cret"), ClientHandshake(b"s3cret")
    >>> proof = client.feed(server.start())
    >>> client.feed(server.feed(proof))
    b''
    >>> server.done and client.done
    True
    """

    def __init__(self, secret: bytes):
        super().__init__(secret)
        self._nonce: bytes | None = None

    def start(self) -> bytes:
        """Return the hello to send first: the version tag and a fresh nonce."""
        if self._nonce is not None:
            raise RuntimeError("start() was already called on this handshake")
        self._nonce = secrets.token_bytes(NONCE_BYTES)
        return VERSION_TAG + self._nonce

    def _step(self) -> bytes:
        if self._nonce is None:
            raise RuntimeError("call start() and send its hello before feeding bytes")
        if len(self._buffer) < _PROOF_BYTES:
            return b""
        client_nonce = bytes(self._buffer[:NONCE_BYTES])
        proof = bytes(self._buffer[NONCE_BYTES:_PROOF_BYTES])
        expected = _mac(self._secret, b"client", self._nonce, client_nonce)
        if not hmac.compare_digest(proof, expected):
            raise AuthenticationError(
                f"a client failed to prove it knows this cluster's secret: {_ADVICE}"
            )
        self._finish(_PROOF_BYTES)
        return _mac(self._secret, b"server", self._nonce, client_nonce)


class ClientHandshake(_Handshake):
    """The connecting side: answers the hello with its proof, then checks the server's."""

    def __init__(self, secret: bytes):
        super().__init__(secret)
        self._server_nonce: bytes | None = None
        self._nonce: bytes | None = None

    def _step(self) -> bytes:
        if self._server_nonce is None:
            got = bytes(self._buffer[: len(VERSION_TAG)])
            if got != VERSION_TAG[: len(got)]:
                raise AuthenticationError(
                    f"the peer is not a teem scheduler or worker speaking protocol version 1 "
                    f"(it sent {got!r}, not {VERSION_TAG!r}): check the address and that both "
                    "sides run the same teem version"
                )
            if len(self._buffer) < _HELLO_BYTES:
                return b""
            self._server_nonce = bytes(self._buffer[len(VERSION_TAG) : _HELLO_BYTES])
            del self._buffer[:_HELLO_BYTES]
            self._nonce = secrets.token_bytes(NONCE_BYTES)
            reply = self._nonce + _mac(self._secret, b"client", self._server_nonce, self._nonce)
            return reply + self._check_server_proof()
        return self._check_server_proof()

    def _check_server_proof(self) -> bytes:
        if len(self._buffer) < MAC_BYTES:
            return b""
        expected = _mac(self._secret, b"server", self._server_nonce, self._nonce)
        if not hmac.compare_digest(bytes(self._buffer[:MAC_BYTES]), expected):
            raise AuthenticationError(f"the server failed to prove it knows the secret: {_ADVICE}")
        self._finish(MAC_BYTES)
        return b""
