"""The scheduler's network shell with real sockets: registration, caching, release, bad input."""

import gc
import os
import random
import socket
import struct
import time

import pytest

from teem.core.errors import SerializationError
from teem.distributed import Client, Security
from teem.distributed.loop import LoopThread
from teem.distributed.scheduler.server import Scheduler
from teem.distributed.security import read_scheduler_file

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def scheduler(tmp_path):
    loop = LoopThread("test-scheduler")
    s = Scheduler(scheduler_file=str(tmp_path / "scheduler.json"))
    loop.run(s.start())
    yield s
    loop.run(s.close())
    loop.stop()


def until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_listens_on_loopback_and_writes_a_private_scheduler_file(scheduler, tmp_path):
    assert scheduler.address.startswith("tcp://127.0.0.1:")
    path = tmp_path / "scheduler.json"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    info = read_scheduler_file(path)
    assert info["address"] == scheduler.address and info["secret"] == scheduler.security.secret


def test_client_by_scheduler_file_submits_with_pure_caching_and_releases(scheduler, tmp_path):
    with Client(scheduler_file=str(tmp_path / "scheduler.json")) as client:
        info = client.scheduler_info()
        assert info["type"] == "Scheduler" and info["workers"] == {}
        a = client.submit(sum, [1, 2])
        b = client.submit(sum, [1, 2])
        assert a is b and a.status == "pending"  # same call, same future (Dask's caching)
        c = client.submit(sum, [1, 2], pure=False)
        assert c.key != a.key
        until(lambda: len(scheduler.state.tasks) == 2)
        del a, b, c
        gc.collect()
        until(lambda: len(scheduler.state.tasks) == 0)  # releases reached the scheduler


def test_unpicklable_function_or_argument_fails_at_submit(scheduler):
    import threading
    with Client(scheduler.address, security=scheduler.security) as client:
        with pytest.raises(SerializationError, match="lock"):
            client.submit(len, threading.Lock())
        with pytest.raises(TypeError, match="not callable"):
            client.submit(42)


def test_cluster_options_for_an_existing_scheduler_warn_once_and_are_not_errors(scheduler, tmp_path):
    with pytest.warns(UserWarning, match="local_directory, memory_limit, nthreads"):
        client = Client(scheduler_file=str(tmp_path / "scheduler.json"), nthreads=1,
                        local_directory=str(tmp_path), memory_limit="2000M")
    client.close()


def test_wrong_secret_and_unreachable_address_give_clear_errors(scheduler):
    from teem.distributed.protocol.auth import AuthenticationError
    with pytest.raises(AuthenticationError, match="secret"):
        Client(scheduler.address, security=Security(secret="wrong"), timeout=5)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TimeoutError, match=f"127.0.0.1:{port}"):
        Client(f"tcp://127.0.0.1:{port}", security=Security(secret="x"), timeout=0.5)


def test_address_without_secret_names_the_ways_to_give_it(monkeypatch, tmp_path):
    monkeypatch.delenv("TEEM_SECRET", raising=False)
    monkeypatch.setenv("TEEM_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="scheduler_file"):
        Client("tcp://127.0.0.1:1", timeout=0.5)


def _garbage(rng: random.Random) -> bytes:
    kind = rng.randrange(5)
    if kind == 0:
        return os.urandom(rng.randrange(1, 200))
    if kind == 1:  # an oversized length prefix
        return struct.pack("<Q", rng.randrange(1 << 40, 1 << 63)) + os.urandom(8)
    if kind == 2:  # a truncated frame
        return struct.pack("<Q", 1000) + os.urandom(10)
    if kind == 3:  # a plausible handshake start, then junk
        return b"TEEM\x01" + os.urandom(rng.randrange(0, 64))
    return b""  # connect and hang up


def send_garbage(address: str, count: int, rng: random.Random) -> None:
    """``count`` connections to ``address``, each sending garbage (or nothing) and hanging up."""
    host, port = address.rsplit("//", 1)[1].rsplit(":", 1)
    for _ in range(count):
        with socket.create_connection((host, int(port)), timeout=5) as s:
            payload = _garbage(rng)
            if payload:
                try:
                    s.sendall(payload)
                except OSError:
                    pass


def test_fuzz_garbage_and_unauthenticated_connections_do_not_harm_the_scheduler(scheduler):
    send_garbage(scheduler.address, 2000, random.Random(7))
    with Client(scheduler.address, security=scheduler.security) as client:
        assert client.scheduler_info()["address"] == scheduler.address
    until(lambda: not scheduler.clients)
