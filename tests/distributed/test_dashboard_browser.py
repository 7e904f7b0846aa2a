"""The dashboard in a real browser (Debian's chromium, driven by Selenium), and its server over HTTP.

Seed 001 §7: open the dashboard at :8787 while 40 tasks run on a LocalCluster and watch them.
A screenshot of each page is saved under ``$TEEM_TEST_ARTIFACTS`` (default ``test-artifacts/``).
"""

import json
import os
import pathlib
import re
import shutil
import socket
import time
import urllib.error
import urllib.request

import psutil
import pytest

from teem.distributed import Client, LocalCluster

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = pathlib.Path(os.environ.get("TEEM_TEST_ARTIFACTS", "test-artifacts"))

pytestmark = pytest.mark.timeout(180)


def slow_mean(i, seconds=0.25):  # seed 001's calc_mean stand-in: a task that takes a while
    time.sleep(seconds)
    return i / 2


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers, response.read()


def base_of(link: str) -> str:
    return link.rsplit("/", 1)[0]


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=2) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail(f"chromium and chromedriver are needed ({CHROMIUM}, {CHROMEDRIVER}): `make test` "
                    "installs Debian's chromium and chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the page's console
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def progress_of(browser, prefix):
    """(done, total) of a prefix's bar, read in one script (the page redraws rows on each update)."""
    return browser.execute_script(
        "const r = document.querySelector(`.progress-row[data-prefix='${arguments[0]}']`);"
        "return r ? [+r.dataset.done, +r.dataset.total] : null;", prefix)


def attribute(browser, selector, name):
    return browser.execute_script("const e = document.querySelector(arguments[0]);"
                                  "return e ? e.getAttribute(arguments[1]) : null;", selector, name)


def wait_for(predicate, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def test_links_and_pages_over_http(cluster):
    link = cluster.dashboard_link
    assert link and link.startswith("http://127.0.0.1:") and link.endswith("/status")
    with Client(cluster) as client:
        assert client.dashboard_link == link
        assert client.scheduler_info()["services"]["dashboard"] == int(link.split(":")[2].split("/")[0])
        assert "Dashboard:" in client._repr_html_() and link in cluster._repr_html_()
    base = base_of(link)
    for page in ("/status", "/workers", "/graph", "/info"):
        status, headers, body = get(base + page)
        assert status == 200 and headers["Content-Type"].startswith("text/html") and b"dashboard.js" in body
    for name, kind in (("dashboard.js", "text/javascript"), ("dashboard.css", "text/css")):
        status, headers, body = get(f"{base}/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind) and len(body) > 1000
    page = get(base + "/status")[2].decode()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # no CDN: nothing external
    status, _, body = get(base + "/api/status")
    doc = json.loads(body)
    assert {w["name"] for w in doc["workers"]} == {"0", "1"} and doc["totals"]["threads"] == 4
    for bad in ("/nope", "/static/../service.py", "/static/nothing.js"):
        with pytest.raises(urllib.error.HTTPError) as info:
            get(base + bad)
        assert info.value.code == 404
    request = urllib.request.Request(base + "/api/status", data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == 405
    with socket.create_connection(("127.0.0.1", int(link.split(":")[2].split("/")[0]))) as sock:
        sock.sendall(b"\x16\x03\x01garbage that is not HTTP\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400")
    assert get(base + "/health")[2] == b"ok\n"  # still serving after the garbage


def test_browser_watches_a_computation(cluster, browser):
    """Seed 001 §7 in a browser: the workers table lists every worker and the progress advances."""
    from selenium.webdriver.common.by import By
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = base_of(cluster.dashboard_link)
    with Client(cluster) as client:
        browser.get(base + "/status")
        wait_for(lambda: int(attribute(browser, "#connection", "data-updates")) > 0)
        futures = client.map(slow_mean, range(40), pure=False)  # 40 tasks x 0.25 s on 4 threads: ~2.5 s

        seen_done = []
        updates_before = int(attribute(browser, "#connection", "data-updates"))
        started = time.monotonic()

        def progress_done():
            progress = progress_of(browser, "slow_mean")
            if progress:
                seen_done.append(progress[0])
            return seen_done and seen_done[-1] >= 10
        wait_for(progress_done)
        elapsed = time.monotonic() - started
        updates = int(attribute(browser, "#connection", "data-updates")) - updates_before
        assert updates >= 2 * elapsed * 0.8, (updates, elapsed)  # live: about 3 updates per second
        wait_for(lambda: int(attribute(browser, "#stream-canvas", "data-rects")) > 0)
        assert browser.find_element(By.ID, "connection").text == "live"
        browser.save_screenshot(str(ARTIFACTS / "dashboard-status.png"))
        assert sum(client.gather(futures)) == sum(range(40)) / 2
        wait_for(progress_done)

        wait_for(lambda: progress_of(browser, "slow_mean") == [40, 40])
        assert seen_done == sorted(seen_done) and seen_done[0] < 40  # it advanced while we watched
        legend = browser.find_element(By.ID, "stream-legend").text
        assert "slow_mean" in legend

        browser.find_element(By.CSS_SELECTOR, "nav a[data-view='workers']").click()
        addresses = set(client.scheduler_info()["workers"])
        wait_for(lambda: set(browser.execute_script(
            "return [...document.querySelectorAll('#workers-table tbody tr')].map(r => r.dataset.address)"))
            == addresses)
        assert browser.current_url.endswith("/workers")

        def table_rows():
            return len(browser.execute_script("return [...document.querySelectorAll('#workers-table tbody tr')]"))
        cluster.scale(3)  # seed 003 watches the workers view while the cluster scales
        wait_for(lambda: table_rows() == 3)
        browser.save_screenshot(str(ARTIFACTS / "dashboard-workers.png"))
        cluster.scale(2)
        wait_for(lambda: table_rows() == 2)

        held = client.map(slow_mean, range(6), [0.01] * 6)  # results kept: the graph has them
        total = client.submit(sum, held)
        assert total.result() == 7.5
        browser.get(base + "/graph")
        wait_for(lambda: int(attribute(browser, "#graph-canvas", "data-nodes")) >= 7)
        browser.save_screenshot(str(ARTIFACTS / "dashboard-graph.png"))

        browser.get(base + "/info")
        wait_for(lambda: "worker 0" in browser.find_element(By.ID, "logs").text
                 and "worker 1" in browser.find_element(By.ID, "logs").text)
        assert cluster.scheduler_address in browser.find_element(By.ID, "info-table").text
        browser.save_screenshot(str(ARTIFACTS / "dashboard-info.png"))
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors  # no script error, no failed request on any page
    for name in ("status", "workers", "graph", "info"):
        png = (ARTIFACTS / f"dashboard-{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000


def _listening(pids: set) -> list:
    found = []
    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.pid in pids:
            found.append((conn.pid, conn.laddr.ip, conn.laddr.port))
    return found


@pytest.mark.filterwarnings("ignore:port 8787 is in use")  # (the module's cluster may hold 8787)
def test_nothing_listens_beyond_loopback_unless_asked():
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster:
        root = psutil.Process(cluster._scheduler_process.process.pid)
        pids = {root.pid} | {p.pid for name, w in cluster._workers.items()
                             for p in [psutil.Process(w.pid), *psutil.Process(w.pid).children(recursive=True)]}
        listening = _listening(pids)
        dashboard_port = int(cluster.dashboard_link.split(":")[2].split("/")[0])
        assert (root.pid, "127.0.0.1", dashboard_port) in listening
        assert len({pid for pid, _, _ in listening}) >= 3  # the scheduler and both workers listen
        assert all(ip == "127.0.0.1" for _, ip, _ in listening), listening
    with LocalCluster(n_workers=1, threads_per_worker=1, host="0.0.0.0", dashboard_address=":0") as wide:
        pid = wide._scheduler_process.process.pid
        assert {ip for p, ip, _ in _listening({pid})} == {"0.0.0.0"}  # asked for: scheduler and dashboard
        assert socket.gethostname() in wide.dashboard_link


def test_port_taken_moves_to_the_next_and_none_disables():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        taken = squatter.getsockname()[1]
        with pytest.warns(UserWarning, match=f"port {taken} is in use"):
            cluster = LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=f":{taken}")
        with cluster:
            port = int(cluster.dashboard_link.split(":")[2].split("/")[0])
            assert port != taken and taken < port <= taken + 100
            assert get(cluster.dashboard_link)[0] == 200
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as quiet, Client(quiet) as client:
        assert quiet.dashboard_link is None and client.dashboard_link is None
        assert client.scheduler_info()["services"] == {}
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, diagnostics_port=":0") as local:
        assert get(local.dashboard_link)[0] == 200  # in-process scheduler; the old option name


def test_event_stream_viewers_come_and_go():
    """Each open page is one viewer; the ticker runs only while some page is open."""
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        dashboard = cluster._scheduler_server.dashboard
        host, port = "127.0.0.1", dashboard.port
        streams = []
        for _ in range(3):
            sock = socket.create_connection((host, port))
            sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
            streams.append(sock)
        for sock in streams:
            received = b""
            while received.count(b"data:") < 2:  # the full document, then one update
                received += sock.recv(65536)
            assert received.startswith(b"HTTP/1.1 200") and b"text/event-stream" in received
        wait_for(lambda: len(dashboard._viewers) == 3)
        assert dashboard._ticker is not None
        for sock in streams:
            sock.close()
        wait_for(lambda: not dashboard._viewers and dashboard._ticker is None)
        # keep-alive: two requests on one connection, and HEAD without a body
        with socket.create_connection((host, port)) as sock:
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\nHEAD /status HTTP/1.1\r\nHost: x\r\n\r\n")
            received = b""
            while received.count(b"HTTP/1.1 200") < 2:
                received += sock.recv(65536)
            assert b"ok\n" in received and b"<!DOCTYPE" not in received


def test_link_template_for_proxies(cluster, monkeypatch):
    """Dask's distributed.dashboard.link: a dashboard behind a proxy (JupyterHub's, say)."""
    from teem import config
    port = cluster.dashboard_link.split(":")[2].split("/")[0]
    monkeypatch.setenv("TEEM_TEST_PREFIX", "/user/ada/")
    with Client(cluster) as client:
        with config.set({"distributed.dashboard.link": "{TEEM_TEST_PREFIX}proxy/{port}/status"}):
            assert client.dashboard_link == f"/user/ada/proxy/{port}/status"
        with config.set({"distributed.dashboard.link": "{scheme}://{host}:{port}/status"}):
            assert client.dashboard_link == cluster.dashboard_link
        with config.set({"distributed.dashboard.link": "{nope}/status"}):
            with pytest.raises(ValueError, match="distributed.dashboard.link"):
                client.dashboard_link


def test_scheduler_cli_prints_and_serves_the_dashboard(tmp_path):
    import signal
    import subprocess
    import sys
    process = subprocess.Popen([sys.executable, "-m", "teem", "scheduler", "--port", "0",
                                "--dashboard-address", ":0", "--scheduler-file", str(tmp_path / "s.json")],
                               stdout=subprocess.PIPE, text=True)
    try:
        lines = [process.stdout.readline() for _ in range(2)]
        assert lines[0].startswith("Scheduler at: tcp://127.0.0.1:")
        assert lines[1].startswith("Dashboard at: http://127.0.0.1:") and lines[1].strip().endswith("/status")
        assert get(lines[1].split(": ", 1)[1].strip())[0] == 200
        info = json.loads((tmp_path / "s.json").read_text())
        assert info["dashboard"] == lines[1].split(": ", 1)[1].strip() and info["services"]["dashboard"] > 0
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
    quiet = subprocess.run([sys.executable, "-m", "teem", "scheduler", "--help"], capture_output=True, text=True)
    assert "--no-dashboard" in quiet.stdout
