"""Shared-memory frames: one copy in, links onward, a copy again once a mapping was written."""

import gc
import glob
import os
import subprocess
import sys

import numpy as np
import pytest

from teem.distributed import shm
from teem.distributed.shm import SharedMemory, pristine

pytestmark = pytest.mark.skipif(not shm.available(), reason="needs /dev/shm")


def own_files() -> list:
    return sorted(glob.glob(f"{shm.DIRECTORY}/teem-{os.getpid()}-*"))


def test_offload_load_roundtrip_and_ownership():
    sender, receiver = SharedMemory(), SharedMemory()
    x = np.arange(300_000, dtype=np.float64)
    name = sender.offload(memoryview(x))
    view = receiver.load(name, x.nbytes)
    assert not os.path.exists(os.path.join(shm.DIRECTORY, name))  # renamed: the receiver owns it
    assert len(own_files()) == 1
    y = np.frombuffer(view, dtype=np.float64)
    assert np.array_equal(x, y)
    y[0] = 42.0  # copy-on-write: writable, and the file is not changed
    assert x[0] == 0.0
    del view, y
    gc.collect()
    assert own_files() == []  # unlinked when the last mapping went away


def test_passing_on_an_unwritten_mapping_links_instead_of_copying():
    a, b, c = SharedMemory(), SharedMemory(), SharedMemory()
    x = np.random.default_rng(1).normal(size=200_000)
    view = b.load(a.offload(memoryview(x)), x.nbytes)
    float(np.frombuffer(view).sum())  # reading keeps it pristine
    forwarded = b.offload(view)
    assert os.stat(os.path.join(shm.DIRECTORY, forwarded)).st_nlink == 2  # a second name, no copy
    again = c.load(forwarded, x.nbytes)
    assert np.array_equal(np.frombuffer(again), x)
    del view, again
    gc.collect()
    assert own_files() == []


def test_a_written_mapping_is_copied_with_its_new_content():
    a, b, c = SharedMemory(), SharedMemory(), SharedMemory()
    x = np.zeros(262_144)
    view = b.load(a.offload(memoryview(x)), x.nbytes)
    y = np.frombuffer(view)
    y[-1] = 7.0  # the task changed its input in place
    assert not pristine(shm._address(view), view.nbytes)
    sent = b.offload(view)
    assert os.stat(os.path.join(shm.DIRECTORY, sent)).st_nlink == 1  # a copy
    assert np.frombuffer(c.load(sent, x.nbytes))[-1] == 7.0


def test_part_of_a_mapping_is_copied():
    a, b = SharedMemory(), SharedMemory()
    x = np.arange(262_144, dtype=np.float64)
    view = b.load(a.offload(memoryview(x)), x.nbytes)
    sent = b.offload(view[8:])
    assert os.stat(os.path.join(shm.DIRECTORY, sent)).st_nlink == 1
    assert np.array_equal(np.frombuffer(SharedMemory().load(sent, x.nbytes - 8)), x[1:])


def test_bad_names_and_sizes_are_refused():
    with pytest.raises(ValueError, match="not a teem shared memory name"):
        SharedMemory().load("../etc/passwd", 10)
    name = SharedMemory().offload(b"x" * 100)
    with pytest.raises(ValueError, match="does not hold"):
        SharedMemory().load(name, 99)
    gc.collect()


def test_files_of_dead_owners_are_removed():
    code = ("from teem.distributed.shm import SharedMemory; import os; "
            "print(SharedMemory().offload(b'y' * 4096)); os._exit(0)")
    name = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert os.path.exists(os.path.join(shm.DIRECTORY, name))
    assert shm.remove_orphans() >= 1
    assert not os.path.exists(os.path.join(shm.DIRECTORY, name))
