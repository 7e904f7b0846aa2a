"""SSHCluster across three isolated hosts (network namespaces, ../shared/tools/make-test-hosts).

The scheduler runs in hostA, workers in hostB and hostC, each started over SSH from this (root)
namespace, which is joined to the hosts' bridge as 10.123.0.254.  The root namespace cannot
resolve the host names, so ssh is told each host's address with ``-o HostName=``, as a user's
``~/.ssh/config`` would.
"""

import os
import subprocess
import time

import pytest

from teem.deploy.ssh import SSHCluster
from teem.distributed import Client

from .conftest import SHARED_TOOLS, SSH_KNOWN_HOSTS

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")]

ADDRESSES = {"hostA": "10.123.0.1", "hostB": "10.123.0.2", "hostC": "10.123.0.3"}


@pytest.fixture(scope="module")
def ssh_hosts():
    subprocess.run([SHARED_TOOLS / "make-test-hosts", "3"], check=True, timeout=120, capture_output=True,
                   env={**os.environ, "TEEM_HOSTS_ROOT": "1"})
    try:
        for host in ADDRESSES:
            subprocess.run([SHARED_TOOLS / "start-sshd", host], check=True, timeout=600, capture_output=True)
        yield list(ADDRESSES)
    finally:
        for host in ADDRESSES:
            subprocess.run([SHARED_TOOLS / "stop-sshd", host], timeout=60, capture_output=True)
        subprocess.run([SHARED_TOOLS / "remove-test-hosts", "--kill"], timeout=120, capture_output=True)


def test_sshcluster_across_hosts(ssh_hosts):
    def where(x):  # nested: it travels by value, as the hosts cannot import this test module
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect(("10.123.0.254", 9))  # no packet is sent: this only picks the source address
        return x * 2, s.getsockname()[0]

    connect = [{"known_hosts": SSH_KNOWN_HOSTS, "options": {"HostName": ADDRESSES[h]}} for h in ssh_hosts]
    with SSHCluster(ssh_hosts, connect_options=connect, worker_options={"nthreads": 1}) as cluster:
        assert cluster.scheduler_address.startswith("tcp://10.123.0.1:")
        with Client(cluster) as client:
            workers = client.scheduler_info()["workers"]
            assert {a.split("//")[1].rsplit(":", 1)[0] for a in workers} == {"10.123.0.2", "10.123.0.3"}
            results = client.gather(client.map(where, range(40), pure=False))
            assert [r[0] for r in results] == [2 * i for i in range(40)]
            assert {r[1] for r in results} == {"10.123.0.2", "10.123.0.3"}
            # worker-to-worker: a result made in hostB feeds a task pinned to hostC
            b_addr, c_addr = sorted(workers)
            b = client.submit(where, 1, workers=[b_addr])
            c = client.submit(lambda pair: (pair, where(0)[1]), b, workers=[c_addr])
            assert c.result() == ((2, "10.123.0.2"), "10.123.0.3")
    # every teem process in the hosts has ended (zombies aside: PID 1 reaps them late)
    deadline = time.monotonic() + 20
    while (left := teem_processes(ssh_hosts)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left


def teem_processes(hosts) -> list:
    found = []
    for host in hosts:
        for pid in subprocess.run(["ip", "netns", "pids", host], capture_output=True, text=True).stdout.split():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    command = f.read().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if "python" in command:
                found.append((host, command[:120]))
    return found
