"""A cluster across three isolated hosts (network namespaces made by ../shared/tools/make-test-hosts).

The scheduler runs in hostA, one worker in hostB and one in hostC; the client runs in this
(root) namespace, joined to the hosts' bridge as 10.123.0.254, and computes through them.
"""

import os
import pathlib
import subprocess
import sys

import pytest

from teem.distributed import Client
from teem.distributed.security import read_scheduler_file

TOOLS = pathlib.Path(os.environ.get("TEEM_TOOLS", pathlib.Path(__file__).parents[3] / "shared" / "tools"))

pytestmark = [pytest.mark.timeout(180),
              pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")]


@pytest.fixture(scope="module")
def hosts():
    subprocess.run([TOOLS / "make-test-hosts", "3"], check=True, timeout=120,
                   env={**os.environ, "TEEM_HOSTS_ROOT": "1"})
    yield ["hostA", "hostB", "hostC"]
    subprocess.run([TOOLS / "remove-test-hosts", "--kill"], timeout=120)


def in_host(host, *command):
    return subprocess.Popen(["ip", "netns", "exec", host, sys.executable, "-m", "teem", *command],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)})


def where(x):
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("10.123.0.254", 9))  # no packet is sent: this only picks the source address
    return x * 2, s.getsockname()[0]


def test_scheduler_in_host_a_workers_in_b_and_c(hosts, tmp_path):
    file = tmp_path / "scheduler.json"
    procs = [in_host("hostA", "scheduler", "--host", "10.123.0.1", "--port", "8786",
                     "--scheduler-file", str(file))]
    try:
        info = read_scheduler_file(file, timeout=60)
        assert info["address"] == "tcp://10.123.0.1:8786"
        procs.append(in_host("hostB", "worker", "--scheduler-file", str(file), "--host", "10.123.0.2",
                             "--nthreads", "1"))
        procs.append(in_host("hostC", "worker", "--scheduler-file", str(file), "--host", "10.123.0.3",
                             "--nthreads", "1"))
        with Client(scheduler_file=str(file)) as client:
            client.wait_for_workers(2, timeout=60)
            hosts_seen = {a.split("//")[1].rsplit(":", 1)[0] for a in client.scheduler_info()["workers"]}
            assert hosts_seen == {"10.123.0.2", "10.123.0.3"}
            results = client.gather(client.map(where, range(40)))
            assert [r[0] for r in results] == [2 * i for i in range(40)]
            assert {r[1] for r in results} <= {"10.123.0.2", "10.123.0.3"}
            # a result computed in hostB feeds a task in hostC (worker-to-worker transfer)
            b = client.submit(where, 1, workers=[next(a for a in client.scheduler_info()["workers"]
                                                      if "10.123.0.2" in a)])
            c = client.submit(lambda pair: pair[0] + 1, b,
                              workers=[next(a for a in client.scheduler_info()["workers"] if "10.123.0.3" in a)])
            assert c.result() == 3
            client.shutdown()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
