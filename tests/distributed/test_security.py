"""Security: secrets, scheduler files, remembered secrets, and TLS contexts that really work."""

import os
import ssl
import stat
import sys
import threading
import time

import pytest
import trustme

from teem.distributed import security
from teem.distributed.security import (
    Security,
    find_secret,
    forget_secret,
    new_secret,
    read_scheduler_file,
    remember_secret,
    secret_path,
    write_scheduler_file,
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path):
    monkeypatch.delenv("TEEM_SECRET", raising=False)
    monkeypatch.setenv("TEEM_CONFIG_DIR", str(tmp_path / "config"))


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- secrets ---------------------------------------------------------------------------------


def test_new_secret_is_random_url_safe_text():
    a, b = new_secret(), new_secret()
    assert a != b and len(a) >= 43
    assert set(a) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_security_secret_explicit_env_and_missing(monkeypatch):
    assert Security(secret="abc").secret_bytes() == b"abc"
    monkeypatch.setenv("TEEM_SECRET", "from-env")
    assert Security().secret == "from-env"
    assert Security(secret="explicit").secret == "explicit"
    monkeypatch.delenv("TEEM_SECRET")
    with pytest.raises(ValueError, match="TEEM_SECRET"):
        Security().secret_bytes()


def test_repr_hides_the_secret():
    text = repr(Security(secret="hunter2", tls_ca_file="/ca.pem"))
    assert "hunter2" not in text and "<hidden>" in text and "/ca.pem" in text


def test_to_dict_from_dict_round_trip():
    sec = Security(secret="s", tls_ca_file="ca.pem", tls_worker_cert="w.pem",
                   require_encryption=True)
    data = sec.to_dict()
    assert data == {"secret": "s", "tls_ca_file": "ca.pem", "tls_worker_cert": "w.pem",
                    "require_encryption": True}
    assert Security.from_dict(data) == sec
    with pytest.raises(ValueError, match="tls_typo"):
        Security.from_dict({"tls_typo": 1})


# --- scheduler files -------------------------------------------------------------------------


def test_scheduler_file_mode_and_content(tmp_path):
    path = tmp_path / "scheduler.json"
    info = {"address": "tcp://127.0.0.1:8786", "security": {"secret": "s"}}
    write_scheduler_file(path, info)
    assert mode(path) == 0o600
    assert read_scheduler_file(path, timeout=0) == info
    write_scheduler_file(str(path), {"address": "new"})  # replaced, still 0600
    assert mode(path) == 0o600 and read_scheduler_file(path) == {"address": "new"}
    assert [p.name for p in tmp_path.iterdir()] == ["scheduler.json"]  # no temp files left


def test_scheduler_file_is_never_seen_half_written(tmp_path, monkeypatch):
    """Readers see the old or the new file; the temp file is private before any byte is written."""
    path = tmp_path / "scheduler.json"
    write_scheduler_file(path, {"v": 0})
    seen_modes = []
    real_fdopen = os.fdopen

    def spying_fdopen(fd, *args, **kwargs):
        seen_modes.append(stat.S_IMODE(os.fstat(fd).st_mode))
        assert read_scheduler_file(path, timeout=0) == {"v": 0}  # old content meanwhile
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(security.os, "fdopen", spying_fdopen)
    write_scheduler_file(path, {"v": 1, "pad": "x" * 100_000})
    assert seen_modes == [0o600]
    assert read_scheduler_file(path, timeout=0)["v"] == 1


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "scheduler.json"
    write_scheduler_file(path, {"v": 0})
    with pytest.raises(TypeError):
        write_scheduler_file(path, {"v": object()})
    assert read_scheduler_file(path, timeout=0) == {"v": 0}
    assert len(list(tmp_path.iterdir())) == 1


def test_read_scheduler_file_waits_for_it(tmp_path):
    path = tmp_path / "later.json"
    writer = threading.Timer(0.3, write_scheduler_file, (path, {"address": "tcp://h:1"}))
    writer.start()
    try:
        start = time.monotonic()
        assert read_scheduler_file(path, timeout=10) == {"address": "tcp://h:1"}
        assert 0.25 <= time.monotonic() - start < 5
    finally:
        writer.join()


def test_read_scheduler_file_timeout_names_the_path(tmp_path):
    path = tmp_path / "never.json"
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="never.json"):
        read_scheduler_file(path, timeout=0.3)
    assert 0.25 <= time.monotonic() - start < 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(TimeoutError, match="not valid JSON"):
        read_scheduler_file(bad, timeout=0.1)


# --- secrets remembered by address ------------------------------------------------------------


def test_remember_find_forget(tmp_path, monkeypatch):
    address = "tcp://node12.cluster:8786"
    assert find_secret(address) is None
    path = remember_secret(address, "s3")
    assert path == str(tmp_path / "config" / "clusters" / "node12.cluster_8786.secret")
    assert mode(path) == 0o600 and mode(os.path.dirname(path)) == 0o700
    assert find_secret(address) == "s3"
    assert find_secret("node12.cluster:8786") == "s3"  # scheme optional
    assert find_secret("tls://node12.cluster:8786") == "s3"
    assert find_secret("tcp://node12.cluster:8787") is None
    monkeypatch.setenv("TEEM_SECRET", "env wins")
    assert find_secret(address) == "env wins"
    monkeypatch.delenv("TEEM_SECRET")
    forget_secret(address)
    forget_secret(address)  # already gone: fine
    assert find_secret(address) is None


def test_ipv6_and_bad_addresses():
    remember_secret("tcp://[::1]:9000", "six")
    assert find_secret("tcp://[::1]:9000") == "six"
    assert "[" not in secret_path("tcp://[::1]:9000")
    with pytest.raises(ValueError, match="host:port"):
        remember_secret("tcp://no-port", "x")


def test_default_config_dir_is_in_home(monkeypatch, tmp_path):
    monkeypatch.delenv("TEEM_CONFIG_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert secret_path("tcp://h:1") == str(
        tmp_path / "home" / ".config" / "teem" / "clusters" / "h_1.secret"
    )


# --- TLS ---------------------------------------------------------------------------------------


def handshake(server_ctx, client_ctx):
    """Run a TLS handshake in memory; return (server_error, client_error) (None if fine)."""
    s_in, s_out, c_in, c_out = (ssl.MemoryBIO() for _ in range(4))
    server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
    client = client_ctx.wrap_bio(c_in, c_out, server_side=False, server_hostname="localhost")
    errors = {"server": None, "client": None}
    done = {"server": False, "client": False}
    for _ in range(50):
        for name, end in (("client", client), ("server", server)):
            if done[name] or errors[name]:
                continue
            try:
                end.do_handshake()
                done[name] = True
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            except ssl.SSLError as exc:
                errors[name] = exc
        if c_out.pending:
            s_in.write(c_out.read())
        if s_out.pending:
            c_in.write(s_out.read())
        if all(done.values()):
            # TLS 1.3: the server's verdict on the client certificate reaches the client
            # with the first data; exchange one byte to surface it.
            try:
                client.write(b"x")
                s_in.write(c_out.read())
                assert server.read(1) == b"x"
                server.write(b"y")
                c_in.write(s_out.read())
                assert client.read(1) == b"y"
            except ssl.SSLError as exc:
                errors["server"] = errors["server"] or exc
            break
    return errors["server"], errors["client"]


def pem_files(tmp_path, ca, name):
    cert = ca.issue_cert("localhost", "127.0.0.1")
    cert_file, key_file = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
    cert.cert_chain_pems[0].write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    return str(cert_file), str(key_file)


@pytest.fixture
def cluster_ca(tmp_path):
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ca, str(ca_file)


def test_no_tls_configured_gives_none():
    assert Security(secret="s").get_ssl_context("worker") is None
    with pytest.raises(ValueError, match="require_encryption"):
        Security(secret="s", require_encryption=True).get_ssl_context("worker")
    with pytest.raises(ValueError, match="unknown role"):
        Security().get_ssl_context("nanny")


def test_incomplete_tls_names_what_is_missing(cluster_ca):
    _, ca_file = cluster_ca
    with pytest.raises(ValueError, match="tls_worker_cert"):
        Security(tls_ca_file=ca_file).get_ssl_context("worker")


def test_tls_contexts_handshake_and_verify(tmp_path, cluster_ca):
    ca, ca_file = cluster_ca
    sched_cert, sched_key = pem_files(tmp_path, ca, "scheduler")
    worker_cert, worker_key = pem_files(tmp_path, ca, "worker")
    sec = Security(secret="s", tls_ca_file=ca_file, tls_scheduler_cert=sched_cert,
                   tls_scheduler_key=sched_key, tls_worker_cert=worker_cert,
                   tls_worker_key=worker_key)
    server_ctx, _ = sec.get_ssl_context("scheduler")
    _, client_ctx = sec.get_ssl_context("worker")
    assert server_ctx.verify_mode == ssl.CERT_REQUIRED
    assert client_ctx.verify_mode == ssl.CERT_REQUIRED
    assert handshake(server_ctx, client_ctx) == (None, None)


def test_tls_rejects_a_client_cert_from_another_ca(tmp_path, cluster_ca):
    ca, ca_file = cluster_ca
    sched_cert, sched_key = pem_files(tmp_path, ca, "scheduler")
    rogue_ca = trustme.CA()
    rogue_cert, rogue_key = pem_files(tmp_path, rogue_ca, "rogue")
    server_ctx, _ = Security(tls_ca_file=ca_file, tls_scheduler_cert=sched_cert,
                             tls_scheduler_key=sched_key).get_ssl_context("scheduler")
    # the rogue client trusts our CA (so it accepts the server) but its own cert is foreign
    _, rogue_client = Security(tls_ca_file=ca_file, tls_client_cert=rogue_cert,
                               tls_client_key=rogue_key).get_ssl_context("client")
    server_error, _ = handshake(server_ctx, rogue_client)
    assert server_error is not None and "certificate" in str(server_error).lower()


def test_tls_client_rejects_a_server_from_another_ca(tmp_path, cluster_ca):
    ca, ca_file = cluster_ca
    client_cert, client_key = pem_files(tmp_path, ca, "client")
    rogue_ca = trustme.CA()
    rogue_ca_file = tmp_path / "rogue-ca.pem"
    rogue_ca.cert_pem.write_to_path(str(rogue_ca_file))
    rogue_cert, rogue_key = pem_files(tmp_path, rogue_ca, "rogue")
    rogue_server, _ = Security(tls_ca_file=str(rogue_ca_file), tls_scheduler_cert=rogue_cert,
                               tls_scheduler_key=rogue_key).get_ssl_context("scheduler")
    _, client_ctx = Security(tls_ca_file=ca_file, tls_client_cert=client_cert,
                             tls_client_key=client_key).get_ssl_context("client")
    _, client_error = handshake(rogue_server, client_ctx)
    assert client_error is not None and "certificate verify failed" in str(client_error)


def test_temporary_makes_working_private_certificates():
    sec = Security.temporary()
    assert sec.secret and sec.require_encryption
    directory = os.path.dirname(sec.tls_ca_file)
    assert mode(directory) == 0o700 and mode(sec.tls_scheduler_key) == 0o600
    server_ctx, _ = sec.get_ssl_context("scheduler")
    _, client_ctx = sec.get_ssl_context("worker")
    assert handshake(server_ctx, client_ctx) == (None, None)
    other_server, _ = Security.temporary().get_ssl_context("scheduler")
    _, client_error = handshake(other_server, client_ctx)  # another temporary CA: refused
    assert client_error is not None
    assert Security.from_dict(sec.to_dict()) == sec


def test_temporary_without_cryptography_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cryptography", None)
    with pytest.raises(ImportError, match="pip install cryptography"):
        Security.temporary()
