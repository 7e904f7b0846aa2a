"""Cluster secrets, TLS settings, and the private files that carry them between machines.

* :class:`Security` holds a cluster's shared secret (checked by the handshake of
  :mod:`teem.distributed.protocol.auth` on every connection) and, optionally, TLS files, with
  Dask's argument names. It builds the ``ssl`` contexts each role needs.
* :func:`write_scheduler_file` / :func:`read_scheduler_file` store the scheduler's address
  and secret in a JSON file readable only by its owner (mode 0600), written atomically, and
  let workers wait for it to appear (on HPC they often start before the scheduler).
* :func:`remember_secret` / :func:`find_secret` keep a secret per scheduler address under
  ``~/.config/teem/clusters/`` (or ``$TEEM_CONFIG_DIR/clusters/``), so
  ``Client('tcp://host:port')`` works without credentials on any node that shares the home.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import secrets
import shutil
import ssl
import tempfile
import time
from typing import Any

__all__ = [
    "Security",
    "new_secret",
    "write_scheduler_file",
    "read_scheduler_file",
    "remember_secret",
    "forget_secret",
    "find_secret",
    "secret_path",
]

SECRET_VARIABLE = "TEEM_SECRET"
TLS_VARIABLE = "TEEM_TLS"  # JSON of the TLS settings, for processes a cluster starts
CONFIG_DIR_VARIABLE = "TEEM_CONFIG_DIR"
_ROLES = ("client", "scheduler", "worker")
_FIELDS = (
    "secret",
    "tls_ca_file",
    "tls_client_cert",
    "tls_client_key",
    "tls_scheduler_cert",
    "tls_scheduler_key",
    "tls_worker_cert",
    "tls_worker_key",
    "require_encryption",
)


def new_secret() -> str:
    """Return a new random cluster secret: 32 random bytes as url-safe text."""
    return secrets.token_urlsafe(32)


class Security:
    """A cluster's shared secret and TLS settings.

    Parameters
    ----------
    secret:
        The cluster's shared secret (text); defaults to ``$TEEM_SECRET`` if set.
    tls_ca_file:
        PEM file of the certificate authority that signed every certificate below.
    tls_client_cert, tls_client_key, tls_scheduler_cert, tls_scheduler_key,
    tls_worker_cert, tls_worker_key:
        PEM certificate and key of each role; a key may be omitted if the certificate file
        also holds it.
    require_encryption:
        Refuse to build unencrypted connections: :meth:`get_ssl_context` raises instead of
        returning None when TLS is not configured.

    Example
    -------
    >>> sec = Security(secret=new_secret())
    >>> Security.from_dict(sec.to_dict()).secret == sec.secret
    True
    """

    def __init__(
        self,
        secret: str | None = None,
        tls_ca_file: str | None = None,
        tls_client_cert: str | None = None,
        tls_client_key: str | None = None,
        tls_scheduler_cert: str | None = None,
        tls_scheduler_key: str | None = None,
        tls_worker_cert: str | None = None,
        tls_worker_key: str | None = None,
        require_encryption: bool = False,
    ):
        if secret is None:
            secret = os.environ.get(SECRET_VARIABLE) or None
        if isinstance(secret, (bytes, bytearray)):
            secret = bytes(secret).decode()
        if secret is not None and not isinstance(secret, str):
            raise TypeError(f"secret must be a str, not {type(secret).__name__}")
        self.secret = secret
        self.tls_ca_file = _path(tls_ca_file)
        self.tls_client_cert = _path(tls_client_cert)
        self.tls_client_key = _path(tls_client_key)
        self.tls_scheduler_cert = _path(tls_scheduler_cert)
        self.tls_scheduler_key = _path(tls_scheduler_key)
        self.tls_worker_cert = _path(tls_worker_cert)
        self.tls_worker_key = _path(tls_worker_key)
        self.require_encryption = bool(require_encryption)

    def __repr__(self) -> str:
        shown = ["secret=" + ("<hidden>" if self.secret else "None")]
        shown += [f"{f}={getattr(self, f)!r}" for f in _FIELDS[1:] if getattr(self, f)]
        return f"Security({', '.join(shown)})"

    def __eq__(self, other) -> bool:
        return type(other) is Security and self.to_dict() == other.to_dict()

    def secret_bytes(self) -> bytes:
        """Return the secret as bytes, for the handshake.

        Raises
        ------
        ValueError
            If there is no secret, with what to do about it.
        """
        if not self.secret:
            raise ValueError(
                "no cluster secret: pass the scheduler file, or Security(secret=...), or set "
                f"${SECRET_VARIABLE}"
            )
        return self.secret.encode()

    @property
    def tls_configured(self) -> bool:
        """Whether any TLS file is set."""
        return any(getattr(self, f) for f in _FIELDS[1:-1])

    def get_ssl_context(self, role: str) -> tuple[ssl.SSLContext, ssl.SSLContext] | None:
        """Return ``(server_context, client_context)`` for ``role``, or None without TLS.

        Both contexts use ``role``'s certificate and trust only ``tls_ca_file``: the server
        context requires the peer to present a certificate signed by that CA, and the
        client context verifies the server's certificate against it (not its host name:
        cluster certificates name the cluster, not each machine). TLS 1.2 at least.

        Parameters
        ----------
        role:
            ``'client'``, ``'scheduler'`` or ``'worker'``.

        Raises
        ------
        ValueError
            For an unknown role, TLS configured without a CA file or without this role's
            certificate, or ``require_encryption`` without TLS.
        """
        if role not in _ROLES:
            raise ValueError(f"unknown role {role!r}: expected one of {', '.join(_ROLES)}")
        if not self.tls_configured:
            if self.require_encryption:
                raise ValueError(
                    "require_encryption=True but no TLS files are set: pass tls_ca_file and "
                    f"tls_{role}_cert/tls_{role}_key, or use Security.temporary()"
                )
            return None
        cert = getattr(self, f"tls_{role}_cert")
        key = getattr(self, f"tls_{role}_key")
        if not self.tls_ca_file or not cert:
            missing = [name for name, v in (("tls_ca_file", self.tls_ca_file),
                                            (f"tls_{role}_cert", cert)) if not v]
            raise ValueError(f"TLS for the {role} needs {' and '.join(missing)}")
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        for ctx in (server, client):
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(cert, key)
            ctx.load_verify_locations(cafile=self.tls_ca_file)
            ctx.verify_mode = ssl.CERT_REQUIRED
        client.check_hostname = False
        return server, client

    def to_environment(self) -> dict[str, str]:
        """Return the environment variables that carry these settings to a child process.

        The secret goes in ``$TEEM_SECRET`` and TLS settings as JSON in ``$TEEM_TLS``:
        never on a command line, which other users of the machine can read.
        """
        env = {SECRET_VARIABLE: self.secret} if self.secret else {}
        tls = {k: v for k, v in self.to_dict().items() if k != "secret"}
        if tls:
            env[TLS_VARIABLE] = json.dumps(tls)
        return env

    @classmethod
    def from_environment(cls) -> Security:
        """Build the Security that :meth:`to_environment` passed to this process.

        Raises
        ------
        ValueError
            If ``$TEEM_TLS`` is not a JSON object of known settings.
        """
        raw = os.environ.get(TLS_VARIABLE)
        try:
            tls = json.loads(raw) if raw else {}
        except ValueError as exc:
            raise ValueError(f"${TLS_VARIABLE} is not valid JSON: {exc}") from None
        if not isinstance(tls, dict):
            raise ValueError(f"${TLS_VARIABLE} must be a JSON object of TLS settings")
        tls.pop("secret", None)
        return cls.from_dict(tls)  # the secret: $TEEM_SECRET, read by the constructor

    @classmethod
    def for_cluster_certificate(cls, secret: str | None, ca_file: str | None, cert: str | None,
                                key: str | None = None, require_encryption: bool = False) -> Security:
        """A Security in which every role uses one cluster certificate (the CLIs' ``--tls-*``)."""
        if bool(ca_file) != bool(cert):
            raise ValueError("TLS needs both --tls-ca-file and --tls-cert (and --tls-key unless the "
                             "certificate file also holds the key)")
        roles = {f"tls_{role}_{part}": value for role in _ROLES
                 for part, value in (("cert", cert), ("key", key))}
        return cls(secret=secret, tls_ca_file=ca_file, require_encryption=require_encryption, **roles)

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as a JSON-ready dict for the scheduler file, unset ones left out."""
        return {f: getattr(self, f) for f in _FIELDS if getattr(self, f)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Security:
        """Build a Security from :meth:`to_dict` output.

        Raises
        ------
        ValueError
            If ``data`` has keys Security does not know.
        """
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown Security settings {unknown}; known: {list(_FIELDS)}")
        return cls(**data)

    @classmethod
    def temporary(cls, secret: str | None = None) -> Security:
        """Return a Security with a new secret and new self-signed TLS certificates.

        A certificate authority and one certificate it signs (used by every role, valid
        for ``localhost``, ``127.0.0.1`` and ``::1``, for 365 days) are written to a new
        private temporary directory (mode 0700, keys 0600) that is removed when this
        process exits. ``require_encryption`` is set. The files are local: for machines
        that do not share this directory, copy them or use your own certificates.

        Raises
        ------
        ImportError
            If the ``cryptography`` package is not installed.
        """
        try:
            import cryptography  # noqa: F401  (checked before any directory is made)
        except ImportError as exc:
            raise ImportError(
                "Security.temporary() needs the 'cryptography' package to make certificates: "
                "pip install cryptography"
            ) from exc
        directory = tempfile.mkdtemp(prefix="teem-tls-")  # mode 0700
        atexit.register(shutil.rmtree, directory, True)
        ca, cert, key = _write_temporary_certificates(directory)
        return cls(
            secret=secret or new_secret(),
            tls_ca_file=ca,
            tls_client_cert=cert,
            tls_client_key=key,
            tls_scheduler_cert=cert,
            tls_scheduler_key=key,
            tls_worker_cert=cert,
            tls_worker_key=key,
            require_encryption=True,
        )


def _write_temporary_certificates(directory: str) -> tuple[str, str, str]:
    """Write a new CA and one certificate it signs into ``directory``; return their paths.

    Needs ``cryptography``: :meth:`Security.temporary` checks for it first.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
    import datetime
    import ipaddress

    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=365)

    def build(subject, issuer, public_key, signing_key, is_ca: bool, extensions):
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signing_key, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "teem temporary CA")])
    ca_cert = build(ca_name, ca_name, ca_key.public_key(), ca_key, True, [
        (x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                       crl_sign=True, encipher_only=False, decipher_only=False), True),
        (x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False),
    ])
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    cert = build(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "teem")]), ca_name,
        key.public_key(), ca_key, False, [
            (x509.SubjectAlternativeName(names), False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                    ExtendedKeyUsageOID.CLIENT_AUTH]), False),
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False),
        ],
    )
    pem = serialization.Encoding.PEM
    files = {
        "ca.pem": ca_cert.public_bytes(pem),
        "cert.pem": cert.public_bytes(pem),
        "key.pem": key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()),
    }
    paths = []
    for name, data in files.items():
        path = os.path.join(directory, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        paths.append(path)
    return paths[0], paths[1], paths[2]


def _path(value) -> str | None:
    return None if value is None else os.fspath(value)


# --- private files -------------------------------------------------------------------------


def _write_private(path: str, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable only by its owner (0600).

    The text goes to a temporary file created with mode 0600 in the same directory, which is
    then renamed over ``path``: readers see the old file or the whole new one, never a part.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_scheduler_file(path: str | os.PathLike, info: dict) -> None:
    """Write ``info`` as JSON to ``path``, atomically and with mode 0600.

    Raises
    ------
    TypeError
        If ``info`` does not convert to JSON.
    OSError
        If the directory is missing or not writable.
    """
    _write_private(os.fspath(path), json.dumps(info, indent=2, sort_keys=True) + "\n")


def read_scheduler_file(path: str | os.PathLike, timeout: float | None = None) -> dict:
    """Return the JSON content of ``path``, waiting for the file to appear.

    Parameters
    ----------
    timeout:
        Seconds to wait for the file (polled every 0.1 s); None waits forever, 0 looks once.

    Raises
    ------
    TimeoutError
        If the file has not appeared (or is still not valid JSON) after ``timeout`` seconds.
    """
    path = os.fspath(path)
    deadline = None if timeout is None else time.monotonic() + timeout
    problem = "does not exist"
    while True:
        try:
            with open(path) as f:
                info = json.load(f)
            if isinstance(info, dict):
                return info
            problem = f"holds a {type(info).__name__}, not a JSON object"
        except FileNotFoundError:
            problem = "does not exist"
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # written by a non-atomic tool
            problem = f"is not valid JSON ({exc})"
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(
                f"scheduler file {path!r} {problem} after waiting {timeout} s: start the "
                "scheduler with --scheduler-file pointing at the same path (on a filesystem "
                "every node sees), or wait longer"
            )
        time.sleep(0.1 if deadline is None else max(0.0, min(0.1, deadline - time.monotonic())))


# --- secrets remembered by address ---------------------------------------------------------


def _config_dir() -> str:
    return os.environ.get(CONFIG_DIR_VARIABLE) or os.path.join(
        os.path.expanduser("~"), ".config", "teem"
    )


def _host_port(address: str) -> tuple[str, str]:
    """``('host', 'port')`` of 'tcp://host:port', 'tls://[::1]:port' or 'host:port'."""
    rest = address.split("://", 1)[-1].rstrip("/")
    match = re.fullmatch(r"\[(?P<v6>[^\]]+)\]:(?P<port>\d+)|(?P<host>[^:/]+):(?P<p>\d+)", rest)
    if not match:
        raise ValueError(f"cannot read {address!r} as an address like 'tcp://host:port'")
    if match["v6"]:
        return match["v6"], match["port"]
    return match["host"], match["p"]


def secret_path(address: str) -> str:
    """Return the file where :func:`remember_secret` keeps the secret of ``address``."""
    host, port = _host_port(address)
    safe_host = re.sub(r"[^A-Za-z0-9.\-]", "-", host)
    return os.path.join(_config_dir(), "clusters", f"{safe_host}_{port}.secret")


def remember_secret(address: str, secret: str) -> str:
    """Store ``secret`` for the scheduler at ``address``; return the file's path.

    The file is ``<config dir>/clusters/<host>_<port>.secret`` (config dir ``~/.config/teem``
    or ``$TEEM_CONFIG_DIR``), in a directory of mode 0700, with mode 0600, written
    atomically. Nodes of an HPC cluster that share the home directory then all find it.
    """
    path = secret_path(address)
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    _write_private(path, secret + "\n")
    return path


def forget_secret(address: str) -> None:
    """Delete the secret stored for ``address``, if any."""
    try:
        os.unlink(secret_path(address))
    except FileNotFoundError:
        pass


def find_secret(address: str) -> str | None:
    """Return the secret for ``address``: ``$TEEM_SECRET``, else the remembered one, else None."""
    secret = os.environ.get(SECRET_VARIABLE)
    if secret:
        return secret
    try:
        with open(secret_path(address)) as f:
            return f.read().strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None
