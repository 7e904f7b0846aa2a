"""The length-prefixed framing: whole, byte by byte, with trailing bytes, limits, and a fuzzer."""

import random
import struct
import tracemalloc

import pytest

from teem.core.errors import TeemError
from teem.distributed.protocol.framing import FrameDecoder, ProtocolError, encode

LIMIT = 1 << 20


def wire(frames) -> bytes:
    return b"".join(bytes(chunk) for chunk in encode(frames))


def as_bytes(messages):
    return [[bytes(f) for f in frames] for frames in messages]


CASES = [
    [],
    [b""],
    [b"", b"", b""],
    [b"hello"],
    [b"a", b"", b"bc", b"x" * 5000],
    [bytes(range(256)) * 20, b"tail"],
    [b"%d" % i for i in range(100)],
]


def test_wire_format_is_as_documented():
    data = wire([b"ab", b"", b"cde"])
    n = 3
    assert data[:8] == struct.pack("<Q", 4 + 8 * n + 5)
    assert data[8:12] == struct.pack("<I", n)
    assert data[12:36] == struct.pack("<3Q", 2, 0, 3)
    assert data[36:] == b"abcde"


def test_protocol_error_types():
    assert issubclass(ProtocolError, TeemError) and issubclass(ProtocolError, ValueError)


@pytest.mark.parametrize("frames", CASES)
def test_round_trip_whole(frames):
    decoder = FrameDecoder(LIMIT)
    assert as_bytes(decoder.feed(wire(frames))) == [frames]
    assert decoder.pending_bytes == 0


@pytest.mark.parametrize("frames", CASES)
def test_round_trip_byte_by_byte(frames):
    decoder = FrameDecoder(LIMIT)
    data = wire(frames)
    got = []
    for i in range(len(data)):
        got += decoder.feed(data[i : i + 1])
        if i < len(data) - 1:
            assert got == []
    assert as_bytes(got) == [frames]


def test_several_messages_in_one_feed_and_trailing_partial_bytes_kept():
    decoder = FrameDecoder(LIMIT)
    data = b"".join(wire(f) for f in CASES)
    extra = wire([b"next message"])
    got = decoder.feed(data + extra[:5])
    assert as_bytes(got) == CASES
    assert decoder.pending_bytes == 5
    assert decoder.feed(extra[5:11]) == []
    assert as_bytes(decoder.feed(extra[11:])) == [[b"next message"]]


def test_random_cuts_give_the_same_messages():
    rng = random.Random(7)
    data = b"".join(wire(f) for f in CASES * 3)
    for _ in range(50):
        decoder = FrameDecoder(LIMIT)
        got, pos = [], 0
        while pos < len(data):
            step = rng.randint(1, 300)
            got += decoder.feed(memoryview(data)[pos : pos + step])
            pos += step
        assert as_bytes(got) == CASES * 3


def test_large_frame_is_not_copied_by_encode_and_copied_once_by_the_decoder():
    big = bytearray(64 * 2**20)
    big[::4096] = b"\x07" * len(big[::4096])
    chunks = encode([b"head", big, memoryview(b"x" * 3000)])
    assert any(chunk is big for chunk in chunks)
    decoder = FrameDecoder(65 * 2**20)
    got = []
    for chunk in chunks:
        view = memoryview(chunk)
        for i in range(0, len(view), 2**20):  # the network cuts it into pieces
            got += decoder.feed(view[i : i + 2**20])
    [frames] = got
    assert [len(f) for f in frames] == [4, len(big), 3000]
    assert frames[1] == big
    # every frame is a view into one buffer: the body allocated once
    assert all(isinstance(f, memoryview) for f in frames)
    assert frames[0].obj is frames[1].obj is frames[2].obj


def test_encode_accepts_any_contiguous_buffer_and_rejects_others():
    import numpy as np

    a = np.arange(10, dtype="f8")
    decoder = FrameDecoder(LIMIT)
    [[frame]] = decoder.feed(wire([a]))
    assert bytes(frame) == a.tobytes()
    with pytest.raises(TypeError):
        encode([a[::2]])


def header(size, n=None, lengths=()):
    data = struct.pack("<Q", size)
    if n is not None:
        data += struct.pack("<I", n) + struct.pack(f"<{len(lengths)}Q", *lengths)
    return data


@pytest.mark.parametrize(
    "data, match",
    [
        (header(LIMIT + 1), "over the limit"),
        (header(2**64 - 1), "over the limit"),
        (header(3), "below 4"),
        (header(0), "below 4"),
        (header(1000, n=70000), "over the limit of 65536"),
        (header(20, n=3), "does not fit"),
        (header(4 + 16 + 10, n=2, lengths=(3, 3)), "add up"),
        (header(4 + 16 + 10, n=2, lengths=(2**63, 2**63)), "add up"),
    ],
)
def test_limit_violations_raise_protocol_error_early(data, match):
    decoder = FrameDecoder(LIMIT)
    with pytest.raises(ProtocolError, match=match):
        decoder.feed(data)  # raised as soon as the header arrives, not at the body's end
    with pytest.raises(ProtocolError):  # the decoder stays broken
        decoder.feed(wire([b"ok"]))


def test_max_frames_and_lowered_limit():
    decoder = FrameDecoder(LIMIT, max_frames=2)
    assert as_bytes(decoder.feed(wire([b"a", b"b"]))) == [[b"a", b"b"]]
    with pytest.raises(ProtocolError):
        decoder.feed(wire([b"a", b"b", b"c"]))

    decoder = FrameDecoder(64 * 1024)
    big = wire([b"x" * 100_000])
    with pytest.raises(ProtocolError):
        FrameDecoder(64 * 1024).feed(big)
    decoder.max_message_bytes = 2**20  # raised after authentication
    assert len(decoder.feed(big)) == 1
    decoder.max_message_bytes = 1000  # lowered again: applies to the next prefix
    with pytest.raises(ProtocolError):
        decoder.feed(big)
    with pytest.raises(ValueError):
        decoder.max_message_bytes = -1


def test_huge_prefix_allocates_nothing():
    decoder = FrameDecoder(2**20)
    tracemalloc.start()
    try:
        for size in (2**20 + 1, 2**40, 2**63):
            with pytest.raises(ProtocolError):
                FrameDecoder(2**20).feed(struct.pack("<Q", size) + b"\0" * 64)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024
    assert decoder.pending_bytes == 0


def mutations(rng, valid: bytes):
    """Truncated, bit-flipped, spliced and length-inflated variants of a valid stream."""
    data = bytearray(valid)
    kind = rng.randrange(5)
    if kind == 0 and data:
        del data[rng.randrange(len(data)) :]
    elif kind == 1 and data:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif kind == 2:
        at = rng.randrange(len(data) + 1)
        data[at:at] = rng.randbytes(rng.randint(1, 40))
    elif kind == 3 and len(data) >= 8:  # inflate or deflate a length field
        at = rng.randrange(0, len(data) - 7)
        data[at : at + 8] = struct.pack("<Q", rng.choice([0, 1, 2**31, 2**63, rng.getrandbits(64)]))
    else:
        data = bytearray(rng.randbytes(rng.randint(0, 200)))
    return bytes(data)


def test_fuzz_garbage_parses_or_raises_protocol_error():
    rng = random.Random(20240601)
    limit = 4096
    for case in range(4000):
        frames = [rng.randbytes(rng.choice([0, 1, 5, 50, 300])) for _ in range(rng.randint(0, 6))]
        valid = wire(frames) * rng.randint(1, 2)
        data = mutations(rng, valid)
        decoder = FrameDecoder(limit, max_frames=16)
        pos = 0
        try:
            while pos < len(data):
                step = rng.choice([1, 3, 17, 1000])
                for message in decoder.feed(data[pos : pos + step]):
                    assert all(isinstance(f, memoryview) for f in message)
                    assert 4 + 8 * len(message) + sum(len(f) for f in message) <= limit
                assert decoder._body is None or len(decoder._body) <= limit
                pos += step
        except ProtocolError:
            with pytest.raises(ProtocolError):
                decoder.feed(b"\0")


def test_encode_takes_any_iterable():
    decoder = FrameDecoder(LIMIT)
    frames = (f for f in [b"a", b"bb"])
    assert as_bytes(decoder.feed(b"".join(bytes(c) for c in encode(frames)))) == [[b"a", b"bb"]]
