"""One worker process: ``python -m teem.distributed.worker.process SCHEDULER_ADDRESS [options]``.

What a nanny starts (and ``teem worker --no-nanny`` runs).  The cluster's
secret comes from ``$TEEM_SECRET``, never from the command line (which other
users can read).  The process exits with the worker's status (see
:mod:`teem.distributed.worker.nanny`): 0 when told to close, 75 when told to
restart, 69 when the scheduler is gone for good, 1 after a crash or a memory
kill.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

__all__ = ["main", "run_worker", "build_parser"]

logger = logging.getLogger("teem.distributed.worker")


def build_parser(prog: str = "python -m teem.distributed.worker.process") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Run one teem worker process "
                                     "(the secret comes from $TEEM_SECRET).")
    parser.add_argument("scheduler", help="the scheduler's address, tcp://host:port")
    parser.add_argument("--nthreads", type=int, default=1)
    parser.add_argument("--memory-limit", type=int, default=0, help="bytes (0: no limit)")
    parser.add_argument("--name", default=None)
    parser.add_argument("--local-directory", default=None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--death-timeout", type=float, default=None)
    parser.add_argument("--heartbeat-interval", type=float, default=1.0)
    parser.add_argument("--nanny", action="store_true", help="a nanny supervises this process")
    return parser


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this process if its nanny dies (a SIGKILLed nanny leaves no orphan)."""
    nanny_pid = os.environ.get("TEEM_NANNY_PID")
    if not nanny_pid or not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except Exception:  # not essential
        return
    if str(os.getppid()) != nanny_pid:  # the nanny died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


async def run_worker(args, security=None) -> int:
    """Start a worker as ``args`` say, run it until it closes; return its exit status."""
    from teem.distributed.security import Security
    from teem.distributed.worker.nanny import EXIT_CLOSED, EXIT_ERROR, EXIT_NO_SCHEDULER
    from teem.distributed.worker.server import Worker
    from teem.distributed.protocol.auth import AuthenticationError

    try:
        worker = Worker(args.scheduler, security=security or Security.from_environment(), nthreads=args.nthreads,
                        memory_limit=args.memory_limit or None, name=args.name,
                        local_directory=args.local_directory, host=args.host, port=args.port,
                        heartbeat_interval=args.heartbeat_interval, death_timeout=args.death_timeout,
                        nanny=args.nanny)
    except ValueError as exc:
        logger.error("cannot start a worker: %s", exc)
        return EXIT_NO_SCHEDULER
    loop = asyncio.get_running_loop()
    starting = asyncio.ensure_future(worker.start())
    signals: list = []

    def on_signal(signum: int) -> None:
        signals.append(signal.Signals(signum).name)
        if not starting.done():
            starting.cancel()  # (a cancellation can be lost when start() just finished: see below)
        else:
            asyncio.ensure_future(worker.close(f"{signals[0]} received"))

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        await starting
    except asyncio.CancelledError:
        return EXIT_CLOSED
    except (TimeoutError, AuthenticationError) as exc:
        logger.error("%s", exc)
        return EXIT_NO_SCHEDULER
    except OSError as exc:
        logger.error("cannot listen on %s:%s: %s", args.host, args.port, exc)
        return EXIT_ERROR
    if signals:
        await worker.close(f"{signals[0]} received")
        return EXIT_CLOSED
    print(f"Worker at: {worker.address}", flush=True)
    await worker.finished()
    return worker.exit_status if worker.exit_status is not None else EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from teem.distributed.logs import configure_process_logging
    configure_process_logging()
    _die_with_parent()
    from teem.core.gcfreeze import tune_for_server
    tune_for_server(20_000)  # (tasks may make cyclic garbage: collected sooner than the scheduler's)
    # Not asyncio.run(): it would wait for threads still running tasks or `run` functions.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop.run_until_complete(run_worker(args))


if __name__ == "__main__":
    status = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)  # threads still running a task do not hold the exit up
