"""``teem top``: the renderer on hand-made status documents, ``--once`` and the full screen
(under a real tmux) against a running LocalCluster, and the command's errors."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time

import pytest

from teem.distributed import Client, LocalCluster
from teem.distributed.cli import top
from teem.distributed.cli.top import SORT_KEYS, render, render_styled
from teem.distributed.dashboard.views import totals_view
from teem.distributed.security import write_scheduler_file

pytestmark = pytest.mark.timeout(120)

TMUX = "/usr/bin/tmux"


# --- hand-made documents ------------------------------------------------------------------------


def worker(i: int, **overrides) -> dict:
    row = {"name": f"w-{i}", "address": f"tcp://10.0.0.{i % 250}:{40000 + i}", "host": "h", "pid": i,
           "nthreads": 2, "cpu": 10.0 * i, "memory": (100 + i) * 2**20, "memory_limit": 4 * 2**30,
           "managed": i * 2**20, "spilled": i * 7 * 2**10, "executing": i % 3, "ready": i,
           "processing": 2, "nkeys": 10 * i, "paused": False, "last_seen": 0.0}
    row.update(overrides)
    return row


def prefix(name: str, total: int, done: int, erred: int = 0, processing: int = 0) -> dict:
    return {"prefix": name, "total": total, "done": done, "memory": done, "erred": erred,
            "processing": processing, "waiting": total - done - erred - processing}


def document(workers: list[dict], progress: list[dict]) -> dict:
    return {"time": 1000.0, "scheduler": {"address": "tcp://127.0.0.1:8786", "id": "s", "started": 100.0,
                                          "clients": 1, "dashboard": None},
            "workers": workers, "progress": progress, "totals": totals_view(progress, workers),
            "finished": 0, "stream": []}


def three_workers() -> dict:
    return document([worker(i) for i in range(3)],
                    [prefix("slow_inc", 100, 40, processing=4), prefix("calc_mean", 10, 5, erred=2, processing=1),
                     prefix("finished", 10, 10)])


def fits(lines: list[str], width: int, height: int | None) -> bool:
    return all(len(line) <= width for line in lines) and (height is None or len(lines) <= height)


def progress_count(lines: list[str], name: str) -> tuple[int, int] | None:
    """(done, total) on the progress line of prefix ``name``, if shown."""
    for line in lines:
        match = re.match(rf"{re.escape(name)}\s+(?:\[[#X>\-]*\]\s+)?(\d+)/(\d+)", line.strip())
        if match:
            return int(match[1]), int(match[2])
    return None


# --- the renderer ---------------------------------------------------------------------------------


def test_render_wide_shows_everything():
    lines = render(three_workers(), 200, 40, "name")
    assert fits(lines, 200, 40)
    assert lines[0] == ("teem top tcp://127.0.0.1:8786  up 0:15:00  workers 3  threads 6  memory 303M/12.0G  "
                        "tasks 55/120 done  running 5  erred 2")
    assert progress_count(lines, "slow_inc") == (40, 100)
    assert progress_count(lines, "calc_mean") == (5, 10)
    # unfinished prefixes first, then finished ones
    order = [line.split()[0] for line in lines if re.match(r"\w+\s+\[", line)]
    assert order == ["calc_mean", "slow_inc", "finished"]
    heading = next(line for line in lines if line.startswith("NAME"))
    assert heading.split() == ["NAME", "ADDRESS", "THR", "CPU%", "MEMORY/LIMIT", "RESULTS", "SPILLED",
                               "EXEC", "READY"]
    rows = [line.split() for line in lines if line.startswith("w-")]
    assert rows[2] == ["w-2", "tcp://10.0.0.2:40002", "2", "20", "102M/4.0G", "20", "2.0M", "14.0K", "2", "2"]


def test_render_bars_line_up_and_show_erred():
    lines = render(three_workers(), 80, 40)
    bars = {line.split()[0]: re.search(r"\[[^\]]*\]", line) for line in lines if "[" in line}
    assert {name: m.span() for name, m in bars.items()} == {name: bars["slow_inc"].span() for name in bars}
    calc_mean = bars["calc_mean"][0][1:-1]
    width = len(calc_mean)
    assert calc_mean.count("#") == round(5 * width / 10)   # done
    assert calc_mean.count("X") == round(2 * width / 10)   # erred
    assert calc_mean.count(">") == round(1 * width / 10)   # processing
    assert set(bars["finished"][0][1:-1]) == {"#"}
    assert next(line for line in lines if line.startswith("calc_mean")).endswith("5/10  erred 2")
    assert "erred" not in next(line for line in lines if line.startswith("slow_inc"))


def test_render_one_erred_task_among_many_is_visible():
    lines = render(document([worker(0)], [prefix("big", 10_000, 9_000, erred=1)]), 80, 20)
    bar = re.search(r"\[([^\]]*)\]", next(line for line in lines if line.startswith("big")))[1]
    assert bar.count("X") == 1 and lines[-1] != ""


@pytest.mark.parametrize("width", [40, 80, 200])
def test_render_fits_each_width(width):
    doc = three_workers()
    for height in (None, 40, 24, 12, 8, 3):
        lines = render(doc, width, height, "cpu")
        assert fits(lines, width, height), (width, height, lines)
        assert lines[0].startswith("teem top")
    lines = render(doc, width, 40)
    names = [line.split()[0] for line in lines if line.startswith("w-")]
    assert names == ["w-0", "w-1", "w-2"]  # every worker fits in 40 lines, whatever the width
    table = "\n".join(lines[lines.index(next(line for line in lines if line.startswith("NAME"))):])
    if width >= 80:  # numbers come before addresses: at 80 columns the address goes first
        assert "MEMORY/LIMIT" in table and "102M/4.0G" in table
        assert ("ADDRESS" in table) == (width == 200)
    else:
        assert "CPU%" in table and "ADDRESS" not in table


def test_render_many_workers_truncated_with_a_count():
    doc = document([worker(i) for i in range(200)], [prefix("slow_inc", 1000, 10, processing=400)])
    lines = render(doc, 80, 24)
    assert fits(lines, 80, 24) and len(lines) == 24
    # a tight screen loses its blank lines: 6 lines above the rows, and 1 for the count
    assert lines[5].startswith("NAME") and lines[-1] == f"... {200 - (24 - 6 - 1)} more workers"
    shown = [line.split()[0] for line in lines if line.startswith("w-")]
    assert shown == [f"w-{i}" for i in range(len(shown))]  # natural order: w-2 before w-10
    assert len(render(doc, 80, None)) == 8 + 200  # no height: every worker, and the blank lines


def test_render_many_prefixes_share_the_room_with_workers():
    doc = document([worker(i) for i in range(30)], [prefix(f"p{i:02d}", 10, i % 11) for i in range(30)])
    lines = render(doc, 100, 30)
    assert fits(lines, 100, 30)
    assert any(line.startswith("... ") and line.endswith(" more prefixes") for line in lines)
    assert lines[-1].endswith(" more workers")
    worker_rows = [line for line in lines if line.startswith("w-")]
    prefix_rows = [line for line in lines if re.match(r"p\d\d ", line)]
    assert len(worker_rows) >= 5 and len(prefix_rows) >= 5


def test_render_zero_workers_and_no_tasks():
    lines = render(document([], []), 80, 24)
    assert lines == ["teem top tcp://127.0.0.1:8786  up 0:15:00  workers 0  threads 0",
                     "memory 0B/no limit  tasks 0/0 done  running 0  erred 0", "", "PROGRESS", "no tasks", "",
                     "WORKERS 0  sort: name (s: next, q: quit)", "no workers connected"]


def test_render_sort_keys():
    workers = [worker(0, cpu=5.0, memory=900), worker(1, cpu=80.0, memory=100),
               worker(2, cpu=40.0, memory=500), worker(10, cpu=40.0, memory=500)]
    doc = document(workers, [])

    def names(key):
        return [line.split()[0] for line in render(doc, 120, None, key) if line.startswith("w-")]

    assert names("name") == ["w-0", "w-1", "w-2", "w-10"]
    assert names("cpu") == ["w-1", "w-2", "w-10", "w-0"]  # ties keep name order
    assert names("memory") == ["w-0", "w-2", "w-10", "w-1"]
    assert names("ready") == ["w-10", "w-2", "w-1", "w-0"]
    assert "sort: memory" in "\n".join(render(doc, 120, None, "memory"))
    for key in SORT_KEYS:
        assert len(names(key)) == 4
    with pytest.raises(ValueError, match="unknown sort key 'bogus'"):
        render(doc, 80, 24, "bogus")


def test_render_paused_worker_marked():
    lines = render(document([worker(0, paused=True), worker(1)], []), 120, None)
    assert any(line.startswith("w-0 [paused]") for line in lines)
    assert any(re.match(r"w-1\s", line) for line in lines)


def test_render_any_size_without_error():
    doc = document([worker(i) for i in range(20)], [prefix("a" * 50, 10, 3, erred=1), prefix("b", 5, 5)])
    for width in range(0, 45):
        for height in range(0, 15):
            lines = render(doc, width, height, "spilled", problem="scheduler unreachable: retrying")
            assert fits(lines, width, height)
            if width and height:
                assert lines[0] == "scheduler unreachable: retrying"[:width]


def test_render_problem_without_a_document():
    assert render(None, 80, 24, problem="scheduler unreachable: retrying (refused)") == [
        "scheduler unreachable: retrying (refused)"]
    styled = render_styled(three_workers(), 80, 24, problem="scheduler unreachable: retrying")
    assert styled[0] == ("scheduler unreachable: retrying", "warning")
    assert styled[1][1] == "title"  # the last document stays below the warning


# --- the command's errors ----------------------------------------------------------------------------


@pytest.fixture
def no_secrets(tmp_path, monkeypatch):
    monkeypatch.delenv("TEEM_SECRET", raising=False)
    monkeypatch.setenv("TEEM_CONFIG_DIR", str(tmp_path / "config"))


def test_no_secret_for_address_exits_2(no_secrets, capsys):
    assert top.main(["tcp://127.0.0.1:1", "--once"]) == 2
    err = capsys.readouterr().err
    assert "no secret known for the scheduler at tcp://127.0.0.1:1" in err and "--scheduler-file" in err


def test_scheduler_file_problems_exit_2(no_secrets, tmp_path, capsys):
    missing = tmp_path / "missing.json"
    assert top.main(["--scheduler-file", str(missing), "--once"]) == 2
    assert f"the scheduler file {missing} does not exist" in capsys.readouterr().err
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert top.main(["--scheduler-file", str(garbage), "--once"]) == 2
    assert str(garbage) in capsys.readouterr().err
    no_secret = tmp_path / "no-secret.json"
    no_secret.write_text(json.dumps({"address": "tcp://127.0.0.1:1"}))
    assert top.main(["--scheduler-file", str(no_secret), "--once"]) == 2
    assert f"the scheduler file {no_secret} has no 'address' or no 'secret'" in capsys.readouterr().err
    assert top.main(["--once"]) == 2
    assert "give the scheduler's ADDRESS or --scheduler-file FILE" in capsys.readouterr().err
    assert top.main(["--scheduler-file", str(missing), "--interval", "0"]) == 2
    assert "--interval must be more than 0" in capsys.readouterr().err


def closed_port_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"  # nothing listens once closed


def test_once_unreachable_exits_1_naming_the_address(tmp_path, capsys):
    address = closed_port_address()
    path = tmp_path / "scheduler.json"
    write_scheduler_file(path, {"address": address, "secret": "s" * 32})
    assert top.main(["--scheduler-file", str(path), "--once", "--timeout", "0.3"]) == 1
    assert f"cannot reach the scheduler at {address}" in capsys.readouterr().err


def test_full_screen_needs_a_terminal(tmp_path, capsys):
    path = tmp_path / "scheduler.json"
    write_scheduler_file(path, {"address": closed_port_address(), "secret": "s" * 32})
    result = subprocess.run([sys.executable, "-m", "teem", "top", "--scheduler-file", str(path)],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "use --once" in result.stderr


# --- against a real cluster ---------------------------------------------------------------------------


def slow_inc(i):
    time.sleep(0.2)
    return i + 1


def calc_mean(i):
    time.sleep(0.25)
    return i / 2


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster) as client:
        yield cluster, client


def worker_rows(client) -> dict:
    return {str(w["name"]): address for address, w in client.scheduler_info()["workers"].items()}


def test_once_against_a_cluster(cluster):
    cluster, client = cluster
    scheduler_file = cluster._scheduler_process.scheduler_file
    futures = client.map(slow_inc, range(20))
    try:
        time.sleep(0.5)
        result = subprocess.run([sys.executable, "-m", "teem", "top", "--scheduler-file", scheduler_file, "--once"],
                                capture_output=True, text=True, timeout=60, env=dict(os.environ, COLUMNS="120"))
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert fits(lines, 120, None)
        assert lines[0].startswith(f"teem top {cluster.scheduler_address}  up ") and "workers 2  threads 2" in lines[0]
        done, total = progress_count(lines, "slow_inc")
        assert total == 20 and 0 < done < 20
        for name, address in worker_rows(client).items():
            assert any(re.match(rf"{name}\s+{re.escape(address)}\s+1\s", line) for line in lines), (name, lines)
        assert client.gather(futures) == list(range(1, 21))
    finally:
        client.cancel(futures)


SOCKET = ""  # the tmux server of the running test, set by the tmux_server fixture


def tmux(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([TMUX, "-S", SOCKET, *args], capture_output=True, text=True, check=check, timeout=20)


@pytest.fixture
def tmux_server(tmp_path, monkeypatch):
    """A tmux server of our own (its socket in tmp_path), killed whole at the end."""
    if not os.path.exists(TMUX):
        pytest.fail(f"tmux is needed at {TMUX}: `make test` installs Debian's tmux")
    monkeypatch.setattr(sys.modules[__name__], "SOCKET", str(tmp_path / "tmux.sock"))
    yield
    tmux("kill-server", check=False)
    if os.path.exists(SOCKET):
        os.unlink(SOCKET)


def capture(session: str) -> list[str]:
    return tmux("capture-pane", "-p", "-t", session).stdout.splitlines()


def wait_screen(session: str, predicate, timeout: float = 20.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = capture(session)
        if predicate(lines):
            return lines
        if time.monotonic() > deadline:
            raise AssertionError("the screen never showed what was expected:\n" + "\n".join(lines))
        time.sleep(0.2)


def start_top(session: str, scheduler_file: str, exit_file, *extra: str) -> None:
    command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "teem", "top", "--scheduler-file",
                                                scheduler_file, *extra))
    # bash outlives a Ctrl-C given to teem top (its trap runs once the child has exited), so
    # the exit status of teem top reaches the file in every case.
    shell = f"trap true INT; {command}; echo EXIT=$? > {shlex.quote(str(exit_file))}"
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "40", "-c", os.getcwd(), "bash", "-c", shell)


def quit_and_check_exit(session: str, exit_file, key: str = "q") -> None:
    tmux("send-keys", "-t", session, key)
    deadline = time.monotonic() + 15
    while not (exit_file.exists() and exit_file.read_text().strip()):
        assert time.monotonic() < deadline, f"teem top did not exit on {key}:\n" + "\n".join(capture(session))
        time.sleep(0.1)
    assert exit_file.read_text().strip() == "EXIT=0"
    deadline = time.monotonic() + 10
    while tmux("has-session", "-t", session, check=False).returncode == 0:
        assert time.monotonic() < deadline, "the tmux session outlived teem top"
        time.sleep(0.1)


def test_full_screen_under_tmux(cluster, tmp_path, tmux_server):
    cluster, client = cluster
    names = worker_rows(client)
    futures = client.map(calc_mean, range(60))
    session = "top"
    exit_file = tmp_path / "exit"
    try:
        start_top(session, cluster._scheduler_process.scheduler_file, exit_file, "--interval", "0.3")

        def ready(lines):
            return (progress_count(lines, "calc_mean") is not None
                    and all(any(re.match(rf"{n}\s+{re.escape(a)}\s", line) for line in lines)
                            for n, a in names.items()))

        first = wait_screen(session, ready)
        assert first[0].startswith(f"teem top {cluster.scheduler_address}")
        assert fits(first, 120, 40)
        done, total = progress_count(first, "calc_mean")
        assert total == 60
        later = wait_screen(session, lambda lines: (progress_count(lines, "calc_mean") or (0, 0))[0] > done)
        assert progress_count(later, "calc_mean")[1] == 60

        # `s` cycles the sort column
        assert any("sort: name" in line for line in later)
        tmux("send-keys", "-t", session, "s")
        wait_screen(session, lambda lines: any("sort: cpu" in line for line in lines), timeout=5)

        # smaller, then tiny: still drawn, within the new size
        tmux("resize-window", "-t", session, "-x", "50", "-y", "14")
        small = wait_screen(session, lambda lines: any(line.startswith("PROGRESS") for line in lines)
                            and len(capture(session)) <= 14 and progress_count(lines, "calc_mean") is not None)
        assert small[0].startswith("teem top") and fits(small, 50, 14)
        tmux("resize-window", "-t", session, "-x", "12", "-y", "3")
        wait_screen(session, lambda lines: lines and lines[0].startswith("teem top"), timeout=5)
        tmux("resize-window", "-t", session, "-x", "100", "-y", "30")
        wait_screen(session, lambda lines: any(line.startswith("NAME") for line in lines), timeout=5)
        quit_and_check_exit(session, exit_file)
    finally:
        tmux("kill-session", "-t", session, check=False)
        client.cancel(futures)


def test_full_screen_scheduler_unreachable_keeps_retrying(tmp_path, tmux_server):
    path = tmp_path / "scheduler.json"
    write_scheduler_file(path, {"address": closed_port_address(), "secret": "s" * 32})
    session = "gone"
    exit_file = tmp_path / "exit"
    try:
        start_top(session, str(path), exit_file, "--interval", "0.2", "--timeout", "0.3")
        wait_screen(session, lambda lines: lines and lines[0].startswith("scheduler unreachable: retrying"))
        time.sleep(1)  # a few more attempts: still running, still saying so
        assert capture(session)[0].startswith("scheduler unreachable: retrying")
        assert not exit_file.exists()
        quit_and_check_exit(session, exit_file, "C-c")  # Ctrl-C: a clean exit too
    finally:
        tmux("kill-session", "-t", session, check=False)


def test_feed_finds_a_restarted_scheduler_again(cluster, tmp_path):
    """Unreachable, then the scheduler file names a live scheduler: the feed reconnects by itself."""
    import asyncio

    from teem.distributed.loop import LoopThread
    from teem.distributed.security import read_scheduler_file

    cluster, client = cluster
    path = tmp_path / "scheduler.json"
    write_scheduler_file(path, {"address": closed_port_address(), "secret": "s" * 32})
    feed = top.StatusFeed(None, str(path), timeout=0.3)
    loop = LoopThread("test-top-feed")
    try:
        asyncio.run_coroutine_threadsafe(feed.run(0.1), loop.loop)
        deadline = time.monotonic() + 10
        while not (feed.snapshot()[2] or "").startswith("scheduler unreachable: retrying"):
            assert time.monotonic() < deadline, feed.snapshot()
            time.sleep(0.05)
        assert feed.snapshot()[1] is None
        write_scheduler_file(path, read_scheduler_file(cluster._scheduler_process.scheduler_file, timeout=0))
        while feed.snapshot()[2] is not None:
            assert time.monotonic() < deadline, feed.snapshot()
            time.sleep(0.05)
        _, document, _ = feed.snapshot()
        assert document["scheduler"]["address"] == cluster.scheduler_address
        assert {w["name"] for w in document["workers"]} == set(worker_rows(client))
    finally:
        loop.call_soon(feed.close)
        loop.stop()


def test_docstring_examples():
    import doctest

    assert doctest.testmod(top).failed == 0
