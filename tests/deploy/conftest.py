# --- SSH (tests/deploy/test_ssh*.py) -------------------------------------------------
import os as _os
import pathlib as _pathlib
import subprocess as _subprocess

import pytest as _pytest

SHARED_TOOLS = _pathlib.Path(_os.environ.get(
    "TEEM_TOOLS", _pathlib.Path(__file__).resolve().parents[3] / "shared" / "tools"))
SSH_KNOWN_HOSTS = "/tmp/teem-ssh/known_hosts"


@_pytest.fixture(scope="session")
def sshd():
    """sshd on 127.0.0.1:2222 (../shared/tools/start-sshd), stopped at the end of the session."""
    if _os.geteuid() != 0:
        _pytest.skip("start-sshd needs root")
    _subprocess.run([SHARED_TOOLS / "start-sshd"], check=True, timeout=600, capture_output=True)
    yield {"port": 2222, "known_hosts": SSH_KNOWN_HOSTS}
    _subprocess.run([SHARED_TOOLS / "stop-sshd"], timeout=120, capture_output=True)


# --- SLURM (tests/deploy/test_jobqueue*.py, test_adaptive*.py) ------------------------
@_pytest.fixture(scope="session")
def slurm():
    """A one-node SLURM (../shared/tools/start-slurm, 8 CPUs, partition debug); stopped at the end."""
    if _os.geteuid() != 0:
        _pytest.skip("start-slurm needs root")
    _subprocess.run([SHARED_TOOLS / "start-slurm"], check=True, timeout=600, capture_output=True)
    yield "debug"
    left = _subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()
    _subprocess.run([SHARED_TOOLS / "stop-slurm"], timeout=120, capture_output=True)
    assert not left, f"jobs left in squeue after the tests: {left}"
