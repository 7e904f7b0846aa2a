"""``teem worker``: start workers for a scheduler (also installed as ``teem-worker``).

    teem worker tcp://host:8786                  # secret from $TEEM_SECRET or ~/.config/teem
    teem worker --scheduler-file sched.json      # address and secret from the scheduler's file
    teem worker ADDRESS --nworkers 4 --nthreads 2 --memory-limit 8GB

Each worker runs in its own process under a nanny that starts a new one if
it dies (``--no-nanny``: the worker runs without one, in this process when
there is one worker).  The secret reaches worker processes through their
environment, never their command line.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys

from teem.distributed.cli.tls import add_tls_arguments, tls_from_arguments

__all__ = ["main", "console_main", "build_parser"]


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Start teem workers and connect them to a scheduler. The cluster's "
        "secret comes from the scheduler file, else $TEEM_SECRET, else the secret remembered for "
        "that address under ~/.config/teem/clusters.")
    parser.add_argument("address", nargs="?", help="the scheduler's address, tcp://host:port")
    parser.add_argument("--scheduler-file", metavar="FILE",
                        help="read the scheduler's address and secret from FILE (waits for it to "
                             "appear, up to --death-timeout)")
    parser.add_argument("--nthreads", type=int, default=None, metavar="N",
                        help="threads per worker (default: this machine's cores / --nworkers)")
    parser.add_argument("--nworkers", type=int, default=1, metavar="N",
                        help="worker processes to start (default: 1)")
    parser.add_argument("--memory-limit", default="auto", metavar="LIMIT",
                        help="memory per worker: 'auto' (this machine's memory shared by thread), "
                             "bytes like 4GB, a fraction like 0.5, or 0 for no limit (default: auto)")
    parser.add_argument("--local-directory", metavar="DIR",
                        help="where workers spill data and keep uploaded files "
                             "(default: the system's temporary directory)")
    parser.add_argument("--name", help="the worker's name (with --nworkers N: NAME-0, NAME-1, ...)")
    parser.add_argument("--no-nanny", dest="nanny", action="store_false",
                        help="do not restart workers that die")
    parser.add_argument("--death-timeout", type=float, default=None, metavar="SECONDS",
                        help="exit when the scheduler cannot be reached for this long "
                             "(default: keep trying)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface workers listen on for their peers (default: 127.0.0.1, "
                             "this machine only; use 0.0.0.0 or this host's address when workers "
                             "run on several machines)")
    add_tls_arguments(parser)
    parser.add_argument("--heartbeat-interval", type=float, default=1.0, metavar="SECONDS",
                        help=argparse.SUPPRESS)
    return parser


def _fail(message: str) -> int:
    print(f"teem worker: error: {message}", file=sys.stderr)
    return 2


def _resolve(args):
    """``(address, Security)`` from the arguments, or an exit status after printing the problem."""
    from teem.distributed.security import SECRET_VARIABLE, Security, find_secret, read_scheduler_file

    if bool(args.address) == bool(args.scheduler_file):
        return _fail("give the scheduler's ADDRESS or --scheduler-file FILE (one of them)")
    try:
        tls = tls_from_arguments(args)
    except ValueError as exc:
        return _fail(str(exc))
    secret = None
    address = args.address
    if args.scheduler_file:
        if not os.path.exists(args.scheduler_file):
            print(f"waiting for the scheduler file {args.scheduler_file} ...", file=sys.stderr, flush=True)
        try:
            info = read_scheduler_file(args.scheduler_file, timeout=args.death_timeout)
        except TimeoutError as exc:
            print(f"teem worker: {exc}", file=sys.stderr)
            return 69
        address = info.get("address")
        secret = info.get("secret")
        tls = tls or info.get("security", {})
        if not address:
            return _fail(f"the scheduler file {args.scheduler_file} has no 'address'")
    if not secret:
        secret = os.environ.get(SECRET_VARIABLE) or find_secret(address)
    if not secret:
        return _fail(
            f"no secret for the scheduler at {address}: start the worker with --scheduler-file FILE "
            f"(the file the scheduler wrote), or set {SECRET_VARIABLE} to the cluster's secret "
            "(on the scheduler's machine, `teem scheduler` remembers it for its user)")
    try:
        return address, Security(secret=secret, **tls)
    except ValueError as exc:
        return _fail(f"TLS settings: {exc}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str], prog: str = "teem worker") -> int:
    args = build_parser(prog).parse_args(argv)
    from teem.core.sizes import cpu_count, parse_memory_limit
    from teem.distributed.comm import parse_address

    resolved = _resolve(args)
    if isinstance(resolved, int):
        return resolved
    address, security = resolved
    try:
        _, scheduler_host, _ = parse_address(address)
    except ValueError as exc:
        return _fail(str(exc))
    if args.nworkers < 1:
        return _fail(f"--nworkers must be at least 1, not {args.nworkers}")
    nthreads = args.nthreads or max(1, cpu_count() // args.nworkers)
    if nthreads < 1:
        return _fail(f"--nthreads must be at least 1, not {nthreads}")
    try:
        memory_limit = parse_memory_limit(args.memory_limit, nthreads,
                                          total_threads=args.nworkers * nthreads) or 0
    except ValueError as exc:
        return _fail(f"--memory-limit: {exc}")
    if _is_loopback(args.host) and not _is_loopback(scheduler_host):
        print(f"note: workers listen on {args.host} only, so workers on other machines cannot fetch "
              "data from them; pass --host with this machine's address (or 0.0.0.0) if there are any",
              file=sys.stderr)

    commands = []
    for i in range(args.nworkers):
        command = [sys.executable, "-m", "teem.distributed.worker.process", address,
                   "--nthreads", str(nthreads), "--memory-limit", str(memory_limit),
                   "--host", args.host, "--heartbeat-interval", str(args.heartbeat_interval)]
        if args.name:
            command += ["--name", args.name if args.nworkers == 1 else f"{args.name}-{i}"]
        if args.local_directory:
            command += ["--local-directory", args.local_directory]
        if args.death_timeout is not None:
            command += ["--death-timeout", str(args.death_timeout)]
        if args.nanny:
            command.append("--nanny")
        commands.append(command)
    env = dict(os.environ, **security.to_environment())
    env.pop("TEEM_NANNY_PID", None)  # (set by the nanny for its own children only)
    if not args.nanny and args.nworkers == 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, commands[0], env)  # this process becomes the worker
    from teem.distributed.logs import configure_process_logging
    from teem.distributed.worker.nanny import Nanny

    configure_process_logging()
    return Nanny(commands, env=env, restart=args.nanny).run()


def console_main() -> None:
    sys.exit(main(sys.argv[1:], prog="teem-worker"))
