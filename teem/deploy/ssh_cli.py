"""``teem ssh``: a scheduler and workers on hosts over SSH, until Ctrl-C (Dask's ``dask-ssh``).

    teem ssh --scheduler node1 node2 node3       # scheduler on node1, a worker on node2 and node3
    teem ssh node1 node2 node3                   # the same: the first host runs the scheduler
    teem ssh --hostfile hosts.txt                # one host per line; the first runs the scheduler

The address is printed; with ``--scheduler-file F`` the address and the cluster's secret are
also written to ``F`` (mode 0600) for ``Client(scheduler_file=F)``.  Otherwise the secret is
remembered for this user (``~/.config/teem/clusters``), so ``Client(ADDRESS)`` works here.
SIGINT or SIGTERM stops everything on every host.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

__all__ = ["main", "build_parser", "read_hostfile"]


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Start a teem scheduler and workers on "
                                     "hosts over SSH; stop them all with Ctrl-C.")
    parser.add_argument("hosts", nargs="*", metavar="HOST",
                        help="worker hosts (the first runs the scheduler if --scheduler is not given)")
    parser.add_argument("--scheduler", metavar="HOST", help="the host that runs the scheduler")
    parser.add_argument("--hostfile", metavar="FILE",
                        help="hosts, one per line ('#' comments); the first runs the scheduler")
    parser.add_argument("--scheduler-port", type=int, default=8786, metavar="PORT",
                        help="the scheduler's port (default: 8786; 0 picks a free one)")
    parser.add_argument("--nthreads", type=int, default=None, metavar="N", help="threads per worker")
    parser.add_argument("--nworkers", "--nprocs", type=int, default=1, metavar="N",
                        help="worker processes per host (default: 1)")
    parser.add_argument("--memory-limit", default="auto", metavar="LIMIT", help="memory per worker")
    parser.add_argument("--local-directory", metavar="DIR", help="workers' spill directory")
    parser.add_argument("--ssh-port", type=int, default=None, metavar="PORT", help="sshd's port")
    parser.add_argument("--ssh-username", default=None, metavar="USER", help="log in as USER")
    parser.add_argument("--ssh-private-key", default=None, metavar="FILE", help="the private key")
    parser.add_argument("--ssh-known-hosts", default=None, metavar="FILE",
                        help="check host keys against FILE (default: ssh's own settings)")
    parser.add_argument("--remote-python", default=None, metavar="PATH",
                        help="the Python with teem on the hosts (default: this interpreter's path)")
    parser.add_argument("--scheduler-file", metavar="FILE",
                        help="write the scheduler's address and secret to FILE (mode 0600)")
    parser.add_argument("--no-remember", dest="remember", action="store_false",
                        help="do not remember the secret under ~/.config/teem/clusters")
    return parser


def read_hostfile(path: str) -> list[str]:
    """Host names from ``path``: one per line, blank lines and ``#`` comments skipped."""
    with open(path) as f:
        return [line.split("#", 1)[0].strip() for line in f if line.split("#", 1)[0].strip()]


def main(argv: list[str], prog: str = "teem ssh") -> int:
    args = build_parser(prog).parse_args(argv)
    hosts = list(args.hosts)
    if args.hostfile:
        try:
            hosts = read_hostfile(args.hostfile) + hosts
        except OSError as exc:
            print(f"{prog}: error: cannot read --hostfile {args.hostfile}: {exc.strerror}", file=sys.stderr)
            return 2
    if args.scheduler:
        hosts = [args.scheduler] + hosts
    if len(hosts) < 1:
        print(f"{prog}: error: no hosts: give HOST ..., --scheduler HOST or --hostfile FILE",
              file=sys.stderr)
        return 2
    connect = {"port": args.ssh_port, "username": args.ssh_username}
    if args.ssh_private_key:
        connect["client_keys"] = [args.ssh_private_key]
    if args.ssh_known_hosts:
        connect["known_hosts"] = args.ssh_known_hosts
    workers = {"n_workers": args.nworkers, "memory_limit": args.memory_limit}
    if args.nthreads:
        workers["nthreads"] = args.nthreads
    if args.local_directory:
        workers["local_directory"] = args.local_directory
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    from teem.deploy.ssh import SSHCluster
    from teem.distributed.security import forget_secret, remember_secret, write_scheduler_file
    try:
        cluster = SSHCluster(hosts, connect_options=connect, worker_options=workers,
                             scheduler_options={"port": args.scheduler_port},
                             remote_python=args.remote_python, log_level="INFO")
    except (RuntimeError, TimeoutError) as exc:
        print(f"{prog}: could not start the cluster: {exc}", file=sys.stderr)
        return 1
    try:
        if args.scheduler_file:
            info = {"type": "Scheduler", "address": cluster.scheduler_address,
                    "secret": cluster.security.secret}
            tls = {k: v for k, v in cluster.security.to_dict().items() if k != "secret" and v}
            if tls:
                info["security"] = tls
            write_scheduler_file(args.scheduler_file, info)
        if args.remember:
            remember_secret(cluster.scheduler_address, cluster.security.secret)
        print(f"Scheduler at: {cluster.scheduler_address}", flush=True)
        print(f"Workers: {len(cluster.scheduler.workers)} on {', '.join(cluster.worker_hosts)}", flush=True)
        while not stop.wait(1.0):
            if not cluster._scheduler_process.running():
                print(f"{prog}: the scheduler on {hosts[0]} exited", file=sys.stderr)
                return 1
    finally:
        print("stopping the cluster ...", file=sys.stderr, flush=True)
        if args.remember:
            forget_secret(cluster.scheduler_address)
        cluster.close()
    return 0
