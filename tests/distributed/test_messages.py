"""Control messages: msgpack with out-of-band buffers and pickles, and a fuzzer for frame 0."""

import pickle
import random

import msgpack
import numpy as np
import pytest

from teem.core.errors import SerializationError
from teem.distributed.protocol.framing import FrameDecoder, ProtocolError, encode
from teem.distributed.protocol.messages import (
    OUT_OF_BAND_BYTES,
    Pickled,
    dumps,
    loads,
    pack,
    unpack,
)


def through_the_wire(frames):
    """Frames as the receiving side sees them: memoryviews from a FrameDecoder."""
    data = b"".join(bytes(c) for c in encode(frames))
    [received] = FrameDecoder(len(data)).feed(data)
    return received


def test_round_trip_nested_with_tuple_keys():
    msg = {
        "op": "compute",
        ("x", 0, 1): [1, 2.5, None, True, False, "é", b"small", {"deep": [(1, 2), []]}],
        "n": -(2**63),
        "big": 2**64 - 1,
    }
    frames = pack(msg)
    assert len(frames) == 1
    out = unpack(through_the_wire(frames), allow_pickle=False)
    assert out == {
        "op": "compute",
        ("x", 0, 1): (1, 2.5, None, True, False, "é", b"small", {"deep": ((1, 2), ())}),
        "n": -(2**63),
        "big": 2**64 - 1,
    }
    assert hash(next(k for k in out if isinstance(k, tuple))) is not None


def test_large_buffers_travel_out_of_band_without_copies():
    big = b"a" * OUT_OF_BAND_BYTES
    array = bytearray(b"b" * (OUT_OF_BAND_BYTES * 3))
    view = memoryview(array)[10:]
    just_under = b"c" * (OUT_OF_BAND_BYTES - 1)
    msg = {"data": [big, {"v": view}], "small": just_under}
    frames = pack(msg)
    assert len(frames) == 3
    assert frames[1] is big and frames[2] is view  # not copied
    assert len(frames[0]) < OUT_OF_BAND_BYTES + 100  # only the small one is inline
    out = unpack(frames, allow_pickle=False)
    assert out["data"][0] is big and out["data"][1]["v"] is view
    assert out["small"] == just_under
    received = through_the_wire(frames)
    out = unpack(received, allow_pickle=False)
    assert out["data"][0] is received[1]  # the frame itself, a view into the decoder's buffer
    assert bytes(out["data"][1]["v"]) == bytes(view)


def test_pickled_objects_and_lambdas():
    msg = {"op": "run", "function": Pickled(lambda x: x * 2), "args": Pickled((1, {2, 3}))}
    out = unpack(through_the_wire(pack(msg)), allow_pickle=True)
    assert out["function"](21) == 42
    assert out["args"] == (1, {2, 3})


def test_numpy_in_pickled_arrives_equal_and_without_copies():
    a = np.arange(1_000_000, dtype="f8").reshape(1000, 1000)
    f = np.asfortranarray(np.ones((300, 300)))
    frames = pack({"a": Pickled(a), "f": Pickled(f), "tiny": Pickled(np.arange(3))})
    # the array's own memory is a frame: no pickling copy
    assert any(np.shares_memory(np.frombuffer(fr, dtype="u1"), a) for fr in frames[1:])
    assert any(np.shares_memory(np.frombuffer(fr, dtype="u1"), f) for fr in frames[1:])
    received = through_the_wire(frames)
    out = unpack(received, allow_pickle=True)
    np.testing.assert_array_equal(out["a"], a)
    np.testing.assert_array_equal(out["f"], f)
    np.testing.assert_array_equal(out["tiny"], np.arange(3))
    # the received array uses the received frame in place
    assert any(np.shares_memory(out["a"], np.frombuffer(fr, dtype="u1")) for fr in received[1:])


def test_allow_pickle_false_refuses_pickled():
    frames = pack({"op": "x", "f": Pickled(print)})
    with pytest.raises(ProtocolError, match="unpickle"):
        unpack(frames, allow_pickle=False)


def test_unpackable_things_raise_serialization_error_naming_the_type():
    with pytest.raises(SerializationError, match="set"):
        pack({"s": {1, 2}})
    with pytest.raises(SerializationError):
        pack(2**70)
    import threading

    with pytest.raises(SerializationError, match="lock"):
        pack({"f": Pickled(threading.Lock())})


def test_dumps_loads_plain_and_cloudpickle():
    frames = dumps({"k": [1, 2]})
    assert loads(frames) == {"k": [1, 2]}
    assert loads(dumps(lambda: 7))() == 7

    def closure():
        return frames

    assert loads(dumps(closure))() == frames


def test_dumps_uses_cloudpickle_for_main_objects():
    import __main__

    def f(x):
        return x + 1

    f.__module__ = "__main__"
    f.__qualname__ = "teem_test_main_function"
    __main__.teem_test_main_function = f
    try:
        data = dumps(f)
        del __main__.teem_test_main_function  # the receiving process has no such function
        assert loads(data)(1) == 2
    finally:
        if hasattr(__main__, "teem_test_main_function"):
            del __main__.teem_test_main_function


def test_dumps_error_names_the_type():
    import threading

    with pytest.raises(SerializationError, match=r"_thread\.lock|lock"):
        dumps(threading.Lock())


def test_loads_failure_is_a_serialization_error():
    with pytest.raises(SerializationError):
        loads([b"not a pickle"])
    payload = pickle.dumps(pickle.loads)  # valid pickle, then remove a module reference
    payload = payload.replace(b"_pickle", b"_nopkl")
    with pytest.raises(SerializationError):
        loads([payload])


@pytest.mark.parametrize(
    "frames",
    [
        [],
        [b""],
        [b"\xc1"],  # never-used msgpack byte
        [msgpack.packb([1, 2]) + b"trailing"],
        [msgpack.packb(msgpack.ExtType(9, b"\0\0\0\0"))],  # unknown ext code
        [msgpack.packb(msgpack.ExtType(1, b"\1\0\0"))],  # bad ext payload size
        [msgpack.packb(msgpack.ExtType(1, b"\1\0\0\0"))],  # points past the frames
        [msgpack.packb(msgpack.ExtType(1, b"\0\0\0\0")), b"x"],  # points at frame 0
        [msgpack.packb(msgpack.ExtType(2, b"\1\0\0\0\5\0\0\0")), b"x"],  # range too long
        [msgpack.packb(msgpack.ExtType(2, b"\1\0\0\0\0\0\0\0")), b"x"],  # empty range
        [b"\xa2\xff\xfe"],  # invalid utf-8 str
        [b"\x81\x80\x01"],  # a map as a map key: unhashable
    ],
)
def test_malformed_messages_raise_protocol_error(frames):
    with pytest.raises(ProtocolError):
        unpack(frames, allow_pickle=True)


def test_fuzz_frame0_only_protocol_error():
    rng = random.Random(1234)
    valid = [
        pack({"op": "x", "keys": [("a", i) for i in range(5)], "b": b"12"})[0],
        pack([1, 2.0, None, {"k": (True,)}])[0],
        msgpack.packb(msgpack.ExtType(1, b"\1\0\0\0")),
        msgpack.packb(msgpack.ExtType(2, b"\1\0\0\0\1\0\0\0")),
    ]
    extra = pack({"f": Pickled(len)})[1:]
    for _ in range(4000):
        if rng.random() < 0.5:
            data = rng.randbytes(rng.randint(0, 64))
        else:
            data = bytearray(rng.choice(valid))
            for _ in range(rng.randint(1, 3)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            data = bytes(data[: rng.randint(0, len(data))] if rng.random() < 0.3 else data)
        for allow in (False, True):
            try:
                unpack([data, *extra[: rng.randint(0, len(extra))]], allow_pickle=allow)
            except ProtocolError:
                pass
            except SerializationError:  # only a well-formed reference to a real pickle frame
                assert allow
