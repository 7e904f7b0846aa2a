"""TLS end to end: a LocalCluster of worker processes, and the CLIs with --tls-* options.

The certificate authority is made inside the test (trustme); nothing here is mocked:
real processes connect over real TLS sockets on loopback.
"""

import os
import socket
import ssl
import subprocess
import sys

import pytest
import trustme

from teem.distributed import Client, LocalCluster, Security
from teem.distributed.security import read_scheduler_file

pytestmark = pytest.mark.timeout(120)


def square(x):
    return x * x


def test_local_cluster_of_processes_over_tls():
    security = Security.temporary()
    with LocalCluster(n_workers=2, threads_per_worker=1, security=security) as cluster:
        assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
        with Client(cluster) as client:
            assert client.gather(client.map(square, range(20))) == [x * x for x in range(20)]
            workers = client.scheduler_info()["workers"]
            assert len(workers) == 2 and all(a.startswith("tls://") for a in workers)
            # a worker's result fetched from its peer listener, also over TLS
            big = client.submit(bytes, 2_000_000)
            assert client.submit(len, big).result() == 2_000_000


def test_plain_tcp_to_a_tls_scheduler_is_refused():
    with LocalCluster(n_workers=0, security=Security.temporary()) as cluster:
        host, port = cluster.scheduler_address.rsplit("//", 1)[1].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(b"\x00" * 64)  # not a TLS hello: the server drops us
            sock.settimeout(10)
            try:
                assert sock.recv(1024) == b""
            except ConnectionResetError:
                pass
        with pytest.raises(ValueError, match="require_encryption"):
            Client(cluster.scheduler_address.replace("tls://", "tcp://"),
                   security=Security(secret=cluster.security.secret, require_encryption=True))


def _pem_files(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ca_file, cert_file = tmp_path / "ca.pem", tmp_path / "cluster.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    return str(ca_file), str(cert_file)


def test_cli_scheduler_and_worker_with_tls_options(tmp_path):
    ca_file, cert_file = _pem_files(tmp_path)
    tls = ["--tls-ca-file", ca_file, "--tls-cert", cert_file]
    sched_file = tmp_path / "sched.json"
    env = {**os.environ, "TEEM_CONFIG_DIR": str(tmp_path / "config")}
    env.pop("TEEM_SECRET", None)
    scheduler = subprocess.Popen([sys.executable, "-m", "teem", "scheduler", "--port", "0",
                                  "--scheduler-file", str(sched_file), *tls], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    worker = None
    try:
        info = read_scheduler_file(sched_file, timeout=30)
        assert info["address"].startswith("tls://")
        assert info["security"]["tls_ca_file"] == ca_file
        # the worker takes its TLS settings from the scheduler file
        worker = subprocess.Popen([sys.executable, "-m", "teem", "worker", "--scheduler-file",
                                   str(sched_file), "--nthreads", "1", "--no-nanny"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        with Client(scheduler_file=str(sched_file)) as client:
            client.wait_for_workers(1, timeout=60)
            assert client.submit(pow, 12, 2).result(timeout=60) == 144  # (a builtin: the worker cannot import tests)
        # a client without the certificates cannot talk to it
        with pytest.raises((ssl.SSLError, OSError, TimeoutError)):
            Client(info["address"].replace("tls://", "tcp://"), security=Security(secret=info["secret"]),
                   timeout=5)
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.terminate()
                proc.wait(30)


def test_tls_options_need_both_ca_and_certificate(tmp_path):
    ca_file, _ = _pem_files(tmp_path)
    out = subprocess.run([sys.executable, "-m", "teem", "scheduler", "--port", "0",
                          "--tls-ca-file", ca_file], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--tls-cert" in out.stderr
