"""Authenticated connections over real loopback sockets: messages, batching, refusals, garbage."""

import asyncio
import os
import random
import socket

import numpy as np
import pytest

from teem.distributed import comm as comm_module
from teem.distributed.comm import CommClosedError, connect, listen, parse_address
from teem.distributed.protocol.auth import AuthenticationError
from teem.distributed.protocol.messages import Pickled

SECRET = b"s" * 32


class EchoServer:
    """Replies to requests with what they carried, records other messages as batches."""

    def __init__(self):
        self.batches = []
        self.connected = 0

    def on_connect(self, comm):
        self.connected += 1

    def on_message(self, comm, msgs):
        self.batches.append(msgs)
        for msg in msgs:
            if "rid" in msg:
                comm.reply(msg, result=Pickled(msg.get("payload")))

    def on_close(self, comm):
        pass

    async def start(self, secret=SECRET):
        self.server, self.address = await listen(
            "tcp://127.0.0.1:0", secret, on_connect=self.on_connect, on_message=self.on_message,
            on_close=self.on_close)
        return self


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_parse_address():
    assert parse_address("tcp://127.0.0.1:8786") == ("tcp", "127.0.0.1", 8786)
    assert parse_address("10.0.0.1:1") == ("tcp", "10.0.0.1", 1)
    assert parse_address("tls://[::1]:99") == ("tls", "::1", 99)
    with pytest.raises(ValueError, match="no port"):
        parse_address("tcp://host")
    with pytest.raises(ValueError, match="unsupported"):
        parse_address("udp://host:1")


def test_listens_on_loopback_by_default_address_and_round_trips_requests():
    async def main():
        server = await EchoServer().start()
        assert server.address.startswith("tcp://127.0.0.1:")
        comm = await connect(server.address, SECRET)
        array = np.arange(1_000_000, dtype="f8")
        assert await comm.request({"op": "echo", "payload": "hi"}) == "hi"
        back = await comm.request({"op": "echo", "payload": Pickled(array)})
        assert np.array_equal(back, array)
        assert await comm.request({"op": "echo", "payload": ("x", 1, 2)}) == ("x", 1, 2)
        comm.close()
        server.server.close()

    run(main())


def test_messages_sent_in_one_loop_turn_arrive_as_one_batch():
    async def main():
        server = await EchoServer().start()
        comm = await connect(server.address, SECRET)
        for i in range(100):
            comm.send({"op": "note", "i": i})
        await comm.request({"op": "echo"})  # the request travels after the notes
        notes = [m["i"] for batch in server.batches for m in batch if m["op"] == "note"]
        assert notes == list(range(100))
        assert len(server.batches[0]) >= 100
        comm.close()
        server.server.close()

    run(main())


def test_wrong_secret_is_refused_and_the_server_keeps_serving():
    async def main():
        server = await EchoServer().start()
        with pytest.raises((AuthenticationError, CommClosedError)):
            await connect(server.address, b"w" * 32)
        comm = await connect(server.address, SECRET)
        assert await comm.request({"op": "echo", "payload": 1}) == 1
        assert server.connected == 1
        comm.close()
        server.server.close()

    run(main())


def test_nothing_answers_gives_a_timeout_naming_the_address():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nobody listens there now

    async def main():
        with pytest.raises(TimeoutError, match=f"127.0.0.1:{port}"):
            await connect(f"tcp://127.0.0.1:{port}", SECRET, timeout=0.5)

    run(main())


def test_silent_peer_is_dropped_after_the_handshake_timeout(monkeypatch):
    monkeypatch.setattr(comm_module, "HANDSHAKE_TIMEOUT", 0.3)

    async def main():
        server = await EchoServer().start()
        _, host, port = parse_address(server.address)
        reader, writer = await asyncio.open_connection(host, port)
        hello = await reader.readexactly(37)
        assert hello.startswith(b"TEEM")
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        writer.close()
        server.server.close()

    run(main())


def test_thousands_of_garbage_connections_leave_the_server_working():
    rng = random.Random(1234)

    async def main():
        server = await EchoServer().start()
        _, host, port = parse_address(server.address)
        for i in range(2000):
            reader, writer = await asyncio.open_connection(host, port)
            kind = i % 4
            if kind == 0:
                payload = rng.randbytes(rng.randrange(1, 300))
            elif kind == 1:  # a huge length prefix where the handshake reply belongs
                payload = (2**63).to_bytes(8, "little") + os.urandom(56)
            elif kind == 2:  # a truncated handshake reply
                payload = os.urandom(rng.randrange(1, 63))
            else:
                payload = b""
            writer.write(payload)
            await writer.drain()
            writer.close()
        assert server.connected == 0
        comm = await connect(server.address, SECRET)
        assert await comm.request({"op": "echo", "payload": "still here"}) == "still here"
        comm.close()
        server.server.close()

    run(main())


def test_a_message_that_cannot_be_packed_fails_its_own_request_only():
    async def main():
        server = await EchoServer().start()
        comm = await connect(server.address, SECRET)
        ok = asyncio.ensure_future(comm.request({"op": "echo", "payload": "fine"}))
        with pytest.raises(Exception, match="numpy.ndarray"):
            await comm.request({"op": "echo", "payload": np.zeros(3)})  # not wrapped in Pickled
        assert await ok == "fine"
        comm.close()
        server.server.close()

    run(main())


def test_a_closed_connection_fails_pending_requests():
    async def main():
        got = asyncio.get_running_loop().create_future()

        def on_message(comm, msgs):
            comm.close()  # never reply
            got.set_result(True)

        server, address = await listen("tcp://127.0.0.1:0", SECRET, on_connect=lambda c: None,
                                       on_message=on_message, on_close=lambda c: None)
        comm = await connect(address, SECRET)
        with pytest.raises(CommClosedError):
            await comm.request({"op": "anything"})
        with pytest.raises(CommClosedError):
            comm.send({"op": "after close"})
        server.close()

    run(main())
