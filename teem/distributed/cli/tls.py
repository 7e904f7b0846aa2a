"""The ``--tls-*`` options of ``teem scheduler`` and ``teem worker`` (Dask's names).

One cluster certificate serves every role: the scheduler file then carries the paths, so
``teem worker --scheduler-file F`` and ``Client(scheduler_file=F)`` need no options of their own.
"""

from __future__ import annotations

import argparse
import os

__all__ = ["add_tls_arguments", "tls_from_arguments"]


def add_tls_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--tls-*`` options shared by ``teem scheduler`` and ``teem worker`` (Dask's names)."""
    parser.add_argument("--tls-ca-file", metavar="PEM",
                        help="certificate authority that signed the cluster's certificates; with "
                             "--tls-cert, every connection uses TLS")
    parser.add_argument("--tls-cert", metavar="PEM", help="this process's certificate")
    parser.add_argument("--tls-key", metavar="PEM",
                        help="its private key (if not in the certificate file)")


def tls_from_arguments(args) -> dict:
    """The TLS settings the ``--tls-*`` options ask for, as Security keyword arguments."""
    from teem.distributed.security import Security

    if not (args.tls_ca_file or args.tls_cert or args.tls_key):
        return {}
    paths = [os.path.abspath(p) if p else None for p in (args.tls_ca_file, args.tls_cert, args.tls_key)]
    security = Security.for_cluster_certificate(None, *paths, require_encryption=True)
    return {k: v for k, v in security.to_dict().items() if k != "secret"}
