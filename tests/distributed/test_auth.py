"""The shared-secret handshake, driven without sockets."""

import hashlib
import hmac
import random

import pytest

from teem.core.errors import TeemError
from teem.distributed.protocol.auth import (
    VERSION_TAG,
    AuthenticationError,
    ClientHandshake,
    ServerHandshake,
)

SECRET = b"correct horse battery staple"


def run(server, client, chunk=None):
    """Pump bytes between both sides, ``chunk`` bytes at a time (all at once if None)."""
    to_client, to_server = server.start(), b""
    while to_client or to_server:
        data, to_client = (to_client[:chunk], to_client[chunk:]) if chunk else (to_client, b"")
        if data:
            to_server += client.feed(data)
        data, to_server = (to_server[:chunk], to_server[chunk:]) if chunk else (to_server, b"")
        if data:
            to_client += server.feed(data)


@pytest.mark.parametrize("chunk", [None, 1, 2, 7, 33])
def test_success_whole_and_byte_by_byte(chunk):
    server, client = ServerHandshake(SECRET), ClientHandshake(SECRET)
    run(server, client, chunk)
    assert server.done and client.done
    assert server.leftover == b"" and client.leftover == b""


def test_message_sizes_and_format():
    server, client = ServerHandshake(SECRET), ClientHandshake(SECRET)
    hello = server.start()
    assert len(hello) == 37 and hello.startswith(VERSION_TAG)
    proof = client.feed(hello)
    assert len(proof) == 64
    client_nonce, mac = proof[:32], proof[32:]
    expected = hmac.new(SECRET, b"client" + hello[5:] + client_nonce, hashlib.sha256).digest()
    assert mac == expected
    answer = server.feed(proof)
    assert answer == hmac.new(SECRET, b"server" + hello[5:] + client_nonce, hashlib.sha256).digest()
    assert client.feed(answer) == b"" and client.done


def test_leftover_bytes_preserved_on_both_sides():
    server, client = ServerHandshake(SECRET), ClientHandshake(SECRET)
    proof = client.feed(server.start())
    answer = server.feed(proof + b"first message from client")
    assert server.done and server.leftover == b"first message from client"
    assert client.feed(answer + b"server speaks") == b""
    assert client.done and client.leftover == b"server speaks"
    with pytest.raises(RuntimeError, match="leftover"):
        client.feed(b"more")


def test_wrong_secret_rejected_by_the_server():
    server, client = ServerHandshake(SECRET), ClientHandshake(b"another secret")
    proof = client.feed(server.start())
    with pytest.raises(AuthenticationError, match="TEEM_SECRET") as info:
        server.feed(proof)
    assert isinstance(info.value, PermissionError) and isinstance(info.value, TeemError)
    assert not server.done
    with pytest.raises(AuthenticationError):  # and stays failed
        server.feed(b"")


def test_wrong_secret_rejected_by_the_client():
    """A fake server that does not know the secret cannot produce the server proof."""
    client = ClientHandshake(SECRET)
    fake_server = ServerHandshake(b"wrong")
    proof = client.feed(fake_server.start())
    client_nonce = proof[:32]
    forged = hmac.new(b"wrong", b"server" + fake_server._nonce + client_nonce,
                      hashlib.sha256).digest()
    with pytest.raises(AuthenticationError, match="Security\\(secret=...\\)"):
        client.feed(forged)
    assert not client.done


def test_client_proof_cannot_be_reflected_as_a_server_proof():
    server, client = ServerHandshake(SECRET), ClientHandshake(SECRET)
    proof = client.feed(server.start())
    with pytest.raises(AuthenticationError):
        client.feed(proof[32:])  # its own MAC sent back


def test_garbage_is_rejected_as_soon_as_the_tag_is_wrong():
    client = ClientHandshake(SECRET)
    with pytest.raises(AuthenticationError, match="protocol version 1"):
        client.feed(b"HTTP/1.1 400 Bad Request\r\n")
    client = ClientHandshake(SECRET)
    client.feed(b"TE")
    with pytest.raises(AuthenticationError):
        client.feed(b"X")
    client = ClientHandshake(SECRET)
    with pytest.raises(AuthenticationError):
        client.feed(b"TEEM\x02" + bytes(32))  # a future protocol version


def test_misuse():
    with pytest.raises(RuntimeError, match="start"):
        ServerHandshake(SECRET).feed(b"x")
    server = ServerHandshake(SECRET)
    server.start()
    with pytest.raises(RuntimeError):
        server.start()
    with pytest.raises(ValueError):
        ServerHandshake(b"")
    with pytest.raises(TypeError):
        ClientHandshake(123)
    assert ClientHandshake("text secret")._secret == b"text secret"


def test_fuzz_only_authentication_error_or_waiting():
    rng = random.Random(99)
    for _ in range(3000):
        server, client = ServerHandshake(SECRET), ClientHandshake(SECRET)
        hello = server.start()
        honest = client.feed(hello)
        for side, valid in ((server, honest), (ClientHandshake(SECRET), hello)):
            data = bytearray(valid + rng.randbytes(rng.randint(0, 40)))
            if rng.random() < 0.3:
                data = bytearray(rng.randbytes(rng.randint(0, 120)))
            else:
                data[rng.randrange(len(valid))] ^= 1 << rng.randrange(8)
            pos = 0
            try:
                while pos < len(data):
                    step = rng.randint(1, 50)
                    reply = side.feed(bytes(data[pos : pos + step]))
                    assert isinstance(reply, bytes)
                    pos += step
                    if side.done:
                        break
            except AuthenticationError:
                continue
            # only the client may accept a mutated hello (the nonce is not authenticated)
            assert isinstance(side, ClientHandshake) or not side.done
