"""``SSHCluster``: a scheduler on the first host and workers on the others, started over SSH.

Theory of operation
-------------------
1. Each remote process is one ``ssh HOST python -c BOOTSTRAP teem ARGS...`` run by the
   OpenSSH client (no extra dependency, and it honours ``~/.ssh/config``, agents, jump
   hosts and ControlMaster, which HPC users already have set up).
2. The cluster's secret (and TLS settings, and the log level) never appear on a command
   line: this process writes them as one JSON line on the SSH channel's stdin; the bootstrap
   reads that line, puts it in the environment of ``teem scheduler``/``teem worker`` (which
   read ``$TEEM_SECRET``/``$TEEM_TLS`` as usual) and starts it in a process group of its own.
3. The bootstrap then keeps reading stdin. End of file means the cluster closed the channel
   or the SSH connection dropped (sshd closes the pipe): it ends the whole process group,
   so nothing is left on the hosts.  If the teem process exits first, the bootstrap exits
   with its status and the ssh client ends.
4. The scheduler listens on ``0.0.0.0`` (or loopback for ``localhost``); the address the
   client gets is ``tcp://IP:PORT`` with the IP this machine reached the first host at over SSH
   (sshd's ``$SSH_CONNECTION``), so ssh-config aliases and ``HostName`` work.
   Workers listen on ``0.0.0.0`` and advertise their address on the route to the scheduler.
"""

from __future__ import annotations

import ipaddress
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from teem.distributed.cluster.base import Cluster
from teem.distributed.cluster.scheduler_handle import SchedulerHandle
from teem.distributed.cluster.subprocesses import wait_or_kill
from teem.distributed.loop import LoopThread
from teem.distributed.security import Security, new_secret

__all__ = ["SSHCluster", "RemoteProcess", "ssh_command"]

# Runs on the remote host (`python -c BOOTSTRAP teem-args...`); see the module docstring, 2-3.
BOOTSTRAP = r"""
import json, os, signal, subprocess, sys, threading, time
env = dict(os.environ, **json.loads(sys.stdin.readline() or "{}"))
print("SSH server address:", (os.environ.get("SSH_CONNECTION", "").split() + ["", "", ""])[2], flush=True)
child = subprocess.Popen([sys.executable, "-m", "teem"] + sys.argv[1:], env=env,
                         stdin=subprocess.DEVNULL, start_new_session=True)
def stop(signum=None, frame=None):
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 0)):
        try:
            os.killpg(child.pid, sig)
        except OSError:
            return
        deadline = time.monotonic() + wait
        while child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
def watch():
    while sys.stdin.readline():
        pass
    stop()
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGHUP, stop)
threading.Thread(target=watch, daemon=True).start()
sys.exit(child.wait())
"""

_LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


def _is_loopback(host: str) -> bool:
    if host in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def ssh_command(host: str, options: dict | None = None) -> list[str]:
    """The ``ssh`` argument list that logs in to ``host`` in batch mode.

    Parameters
    ----------
    host:
        A host name, address or ``~/.ssh/config`` alias (``user@host`` works too).
    options:
        asyncssh-style connect options: ``port``, ``username``, ``client_keys`` (a path or a
        list of paths), ``known_hosts`` (a file, or None to skip host-key checking), and
        ``options`` (a dict of extra ``ssh -o`` settings).
    """
    options = dict(options or {})
    command = ["ssh", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=5",
               "-o", "ServerAliveCountMax=3"]
    if "port" in options and options["port"] is not None:
        command += ["-p", str(options.pop("port"))]
    options.pop("port", None)
    if options.get("username"):
        command += ["-l", str(options.pop("username"))]
    options.pop("username", None)
    keys = options.pop("client_keys", None)
    for key in ([keys] if isinstance(keys, (str, os.PathLike)) else keys or []):
        command += ["-i", str(key)]
    if "known_hosts" in options:
        known = options.pop("known_hosts")
        if known is None:
            command += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                        "-o", "LogLevel=ERROR"]
        else:
            command += ["-o", f"UserKnownHostsFile={known}"]
    for key, value in dict(options.pop("options", None) or {}).items():
        command += ["-o", f"{key}={value}"]
    if options:
        raise TypeError(f"connect_options {sorted(options)} are not supported; use port, username, "
                        "client_keys, known_hosts or options={'SshOption': value}")
    return command + [host]


class RemoteProcess:
    """One ``teem`` command running on ``host`` through an ``ssh`` child process.

    ``environment`` (the secret, TLS settings) travels on the channel's stdin, never on a
    command line. Closing the channel (:meth:`stop`) or losing the connection ends the
    remote process group.
    """

    def __init__(self, host: str, teem_args: list[str], environment: dict[str, str],
                 connect_options: dict | None = None, remote_python: str | None = None):
        self.host = host
        remote = [remote_python or sys.executable, "-c", BOOTSTRAP, *teem_args]
        self.command = ssh_command(host, connect_options) + [shlex.join(remote)]
        self._stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=self._stderr, start_new_session=True)
        self.process.stdin.write((json.dumps(environment) + "\n").encode())
        self.process.stdin.flush()
        self.lines: list[str] = []  # what the remote process printed
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True, name=f"ssh-{host}").start()

    def _read(self) -> None:
        for raw in self.process.stdout:
            with self._changed:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_line(self, prefix: str, timeout: float) -> str:
        """The first printed line starting with ``prefix`` (without it).

        Raises
        ------
        RuntimeError
            If the remote process or the ssh client exits first, or after ``timeout`` s,
            with the end of ssh's error output.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if line.startswith(prefix):
                        return line[len(prefix):].strip()
                if self.process.poll() is not None:
                    raise RuntimeError(f"ssh to {self.host} exited with status {self.process.returncode} "
                                       f"before printing {prefix!r}:\n{self.error_output()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"{self.host} did not print {prefix!r} within {timeout:g} s:\n"
                                       f"{self.error_output()}")
                self._changed.wait(min(left, 0.2))

    def error_output(self, limit: int = 4000) -> str:
        """The end of what ssh and the remote process wrote to standard error."""
        try:
            self._stderr.seek(0)
            return self._stderr.read().decode(errors="replace")[-limit:]
        except ValueError:  # closed
            return ""

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Close the channel (the remote side ends its processes), wait, then end ssh."""
        try:
            self.process.stdin.close()
        except OSError:
            pass
        wait_or_kill(self.process, timeout)  # ending ssh drops the connection: the remote side ends too
        self._stderr.close()


def _per_host(options: Any, n: int, what: str) -> list[dict]:
    """One options dict per host from a dict (shared) or a list (one each)."""
    if isinstance(options, (list, tuple)):
        if len(options) != n:
            raise ValueError(f"{what} is a list of {len(options)} entries but there are {n} hosts")
        return [dict(o or {}) for o in options]
    return [dict(options or {}) for _ in range(n)]


class SSHCluster(Cluster):
    """A scheduler on ``hosts[0]`` and one ``teem worker`` on each of ``hosts[1:]``, over SSH.

    Parameters
    ----------
    hosts:
        Host names (or ``~/.ssh/config`` aliases). The first runs the scheduler, the others
        a worker each; a host may appear twice. With a single host it runs both.
    connect_options:
        For ``ssh``: ``port``, ``username``, ``client_keys``, ``known_hosts`` (None: do not
        check), ``options`` (extra ``-o`` settings). A dict for every host, or a list with
        one dict per host.
    worker_options:
        ``nthreads``, ``n_workers`` (processes per host), ``memory_limit``,
        ``local_directory``, ``death_timeout``, ``host`` (interface, default ``0.0.0.0``,
        or ``127.0.0.1`` for localhost), ``no_nanny``, ``name``.
    scheduler_options:
        ``port`` (default 0: any free port), ``host`` (interface), ``heartbeat_timeout``,
        ``allowed_failures``, ``dashboard_address`` (default ``':8787'`` on the scheduler's
        interface; None for no dashboard). The link is ``cluster.dashboard_link``.
    remote_python:
        The Python on the hosts that has teem (default: this interpreter's path); a string,
        or a list with one per host.
    security:
        Default: a new secret for this cluster.

    Example
    -------
    >>> cluster = SSHCluster(["node1", "node2", "node3"],  # doctest: +SKIP
    ...                      worker_options={"nthreads": 4})
    >>> client = Client(cluster)
    """

    def __init__(self, hosts: list[str], connect_options: Any = None, worker_options: dict | None = None,
                 scheduler_options: dict | None = None, remote_python: Any = None,
                 security: Security | None = None, timeout: float = 60.0, name: str | None = None,
                 log_level: str = "WARNING"):
        hosts = list(hosts)
        if not hosts:
            raise ValueError("SSHCluster needs at least one host: the first runs the scheduler")
        self.hosts = hosts
        self.name = name or "SSHCluster"
        self.worker_hosts = hosts[1:] or hosts[:1]
        self._connect = _per_host(connect_options, len(hosts), "connect_options")
        python = remote_python if isinstance(remote_python, (list, tuple)) else [remote_python] * len(hosts)
        if len(python) != len(hosts):
            raise ValueError(f"remote_python is a list of {len(python)} entries but there are "
                             f"{len(hosts)} hosts")
        self._python = list(python)
        self.worker_options = dict(worker_options or {})
        self.scheduler_options = dict(scheduler_options or {})
        self.dashboard_link = None
        self.status = "starting"
        self.security = security or Security()
        if not self.security.secret:
            self.security.secret = new_secret()
        self._environment = dict(self.security.to_environment(), TEEM_LOG_LEVEL=log_level)
        self._loop = LoopThread("teem-ssh-cluster")
        self._scheduler_process: RemoteProcess | None = None
        self._workers: dict[str, RemoteProcess] = {}  # name -> the ssh process running it
        self._counter = 0
        self.scheduler: SchedulerHandle | None = None
        self._address: str | None = None
        self._timeout = timeout
        try:
            self._start_scheduler(timeout)
            self.scale(len(hosts) - 1 if len(hosts) > 1 else 1)
            self.wait_for_workers(self._expected_workers(), timeout)
        except BaseException:
            self.close()
            raise
        self.status = "running"
        self._close_at_exit()

    # ------------------------------------------------------------------ the scheduler

    @property
    def scheduler_address(self) -> str:
        return self._address

    def _start_scheduler(self, timeout: float) -> None:
        host = self.hosts[0]
        options = dict(self.scheduler_options)
        bare = host.rsplit("@", 1)[-1]
        interface = options.pop("host", "127.0.0.1" if _is_loopback(bare) else "0.0.0.0")
        args = ["scheduler", "--host", interface, "--port", str(options.pop("port", 0)), "--no-remember"]
        dashboard = options.pop("dashboard_address", ":8787")
        args += ["--dashboard-address", str(dashboard)] if dashboard else ["--no-dashboard"]
        for key, value in options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        self._scheduler_process = RemoteProcess(host, args, self._environment, self._connect[0],
                                                self._python[0])
        printed = self._scheduler_process.wait_for_line("Scheduler at:", timeout)
        scheme, rest = printed.split("://", 1)
        listen_host, port = rest.rsplit(":", 1)
        if listen_host in ("0.0.0.0", "[::]", "::"):
            # the address this machine reached the host at (sshd's $SSH_CONNECTION), else its name
            reached = self._scheduler_process.wait_for_line("SSH server address:", 1)
            listen_host = (f"[{reached}]" if ":" in reached else reached) or bare
        self._address = f"{scheme}://{listen_host}:{port}"
        if dashboard:  # printed right after the address; its host as we reach the scheduler's
            link = self._scheduler_process.wait_for_line("Dashboard at:", 5)
            self.dashboard_link = f"http://{listen_host}:{link.rsplit(':', 1)[1]}"
        self.scheduler = SchedulerHandle(self._loop, self._address, self.security, timeout)

    # ------------------------------------------------------------------ workers

    def _expected_workers(self) -> int:
        return len(self._workers) * int(self.worker_options.get("n_workers", 1))

    def _worker_args(self, host: str, name: str) -> list[str]:
        options = dict(self.worker_options)
        bare = host.rsplit("@", 1)[-1]
        args = ["worker", self._address, "--name", str(options.pop("name", "ssh")) + f"-{name}",
                "--host", str(options.pop("host", "127.0.0.1" if _is_loopback(bare) else "0.0.0.0")),
                "--nworkers", str(options.pop("n_workers", 1)),
                "--death-timeout", str(options.pop("death_timeout", 30))]
        flags = {"nthreads": "--nthreads", "memory_limit": "--memory-limit",
                 "local_directory": "--local-directory", "no_nanny": "--no-nanny",
                 "nanny": None}
        for key, value in options.items():
            if key == "nanny":
                if not value:
                    args.append("--no-nanny")
                continue
            flag = flags.get(key) or f"--{key.replace('_', '-')}"
            if value is True:
                args.append(flag)
            elif value not in (False, None):
                args += [flag, str(value)]
        return args

    def scale(self, n: int) -> None:
        """Run ``n`` worker hosts' worth of ``teem worker`` (round-robin over ``hosts[1:]``)."""
        n = max(0, int(n))
        while len(self._workers) < n:
            index = self._counter % len(self.worker_hosts)
            host = self.worker_hosts[index]
            host_index = index + 1 if len(self.hosts) > 1 else 0
            name = str(self._counter)
            self._counter += 1
            self._workers[name] = RemoteProcess(host, self._worker_args(host, name), self._environment,
                                                self._connect[host_index], self._python[host_index])
        if len(self._workers) > n:
            names = list(self._workers)[n:]
            prefix = str(self.worker_options.get("name", "ssh"))
            mine = {f"{prefix}-{x}" for x in names}
            addresses = [a for a, w in self.scheduler.workers.items()
                         if w.get("name") in mine or str(w.get("name")).rsplit("-", 1)[0] in mine]
            if addresses:
                self.scheduler.retire_workers(addresses)
            for x in names:
                self._workers.pop(x).stop(10)

    def _check_start(self) -> None:
        for process in self._workers.values():
            if not process.running():
                raise RuntimeError(f"the worker on {process.host} exited (status "
                                   f"{process.process.returncode}):\n{process.error_output()}")

    # ------------------------------------------------------------------ closing

    def close(self, timeout: float = 10.0) -> None:
        """Stop the workers and the scheduler on every host. Safe to call twice."""
        if self.status == "closed":
            return
        self.status = "closing"
        if self.scheduler is not None and self._loop.running:
            try:
                self.scheduler.shutdown(timeout)
            except Exception:  # already gone
                pass
        for process in list(self._workers.values()):
            process.stop(timeout)
        self._workers.clear()
        if self._scheduler_process is not None:
            self._scheduler_process.stop(timeout)
        if self._loop.running:
            if self.scheduler is not None:
                self.scheduler.close()
            self._loop.stop()
        self.status = "closed"

    def _html_lines(self) -> list:
        return [f"Hosts: {', '.join(self.hosts)}"]
