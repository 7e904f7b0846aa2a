"""``teem scheduler``: run a scheduler until interrupted (also installed as ``teem-scheduler``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

__all__ = ["main", "console_main"]

DEFAULT_PORT = 8786


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description="Start a teem scheduler. Workers join it with `teem worker ADDRESS` "
        "or `teem worker --scheduler-file FILE`; clients with Client(scheduler_file=FILE).")
    parser.add_argument("--host", default="127.0.0.1",
                        help="interface address to listen on (default: 127.0.0.1, this machine only; "
                             "use 0.0.0.0 or a host name to accept workers from other machines)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default: {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--scheduler-file", metavar="FILE",
                        help="write the address and the cluster's secret to FILE (JSON, mode 0600)")
    parser.add_argument("--dashboard-address", metavar="ADDRESS", default=":8787",
                        help="where to serve the web dashboard: ':PORT' on this scheduler's interface "
                             "(--host), or HOST:PORT (default: :8787; the next free port if taken)")
    parser.add_argument("--no-dashboard", dest="dashboard_address", action="store_const", const=None,
                        help="serve no dashboard")
    from teem.distributed.cli.tls import add_tls_arguments
    add_tls_arguments(parser)
    parser.add_argument("--heartbeat-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="drop a worker silent this long (default: 10)")
    parser.add_argument("--allowed-failures", type=int, default=3, metavar="N",
                        help="a task whose workers died this many times fails with KilledWorker "
                             "(default: 3)")
    # For clusters that start the scheduler as their child process:
    parser.add_argument("--no-remember", dest="remember", action="store_false", help=argparse.SUPPRESS)
    parser.add_argument("--parent-pid", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--tick-interval", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--validate", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str], prog: str = "teem scheduler") -> int:
    args = build_parser(prog).parse_args(argv)
    from teem.distributed.logs import configure_process_logging
    configure_process_logging()
    from teem.distributed.cli.tls import tls_from_arguments
    from teem.distributed.security import Security
    try:
        tls = tls_from_arguments(args)
        # The secret: $TEEM_SECRET, else a new one; TLS: the options, else $TEEM_TLS.
        security = Security(**tls) if tls else Security.from_environment()
    except ValueError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    from teem.core.gcfreeze import tune_for_server
    tune_for_server()
    return asyncio.run(_serve(args, security))


async def _serve(args, security) -> int:
    from teem.distributed.scheduler.server import Scheduler
    scheduler = Scheduler(security=security, host=args.host, port=args.port,
                          scheduler_file=args.scheduler_file, heartbeat_timeout=args.heartbeat_timeout,
                          allowed_failures=args.allowed_failures, tick_interval=args.tick_interval,
                          validate=args.validate, remember=args.remember,
                          dashboard_address=args.dashboard_address)
    try:
        await scheduler.start()
    except OSError as exc:
        print(f"{args.host}:{args.port} cannot be used ({exc.strerror or exc}): is another scheduler "
              "running there? Pick another --port (0 for any free port).", file=sys.stderr)
        return 1
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: asyncio.ensure_future(scheduler.close()))
    if args.parent_pid:
        asyncio.ensure_future(_close_when_orphaned(scheduler, args.parent_pid))
    print(f"Scheduler at: {scheduler.address}", flush=True)
    if scheduler.dashboard_link:
        print(f"Dashboard at: {scheduler.dashboard_link}", flush=True)
    if args.scheduler_file:
        print(f"Scheduler file: {args.scheduler_file}", flush=True)
    await scheduler.finished()
    return 0


async def _close_when_orphaned(scheduler, parent_pid: int) -> None:
    """Close the scheduler once the process that started it is gone (we are re-parented)."""
    while os.getppid() == parent_pid:
        await asyncio.sleep(0.5)
    logging.getLogger("teem.distributed.scheduler").warning(
        "the process that started this scheduler (pid %d) is gone: closing", parent_pid)
    await scheduler._shutdown(None, {})


def console_main() -> None:
    sys.exit(main(sys.argv[1:], prog="teem-scheduler"))
