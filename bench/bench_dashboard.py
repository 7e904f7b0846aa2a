"""What watching costs: map throughput with the dashboard open in a browser vs. without a dashboard.

    python bench/bench_dashboard.py               # 20,000 tasks, best of 5, interleaved
    python bench/bench_dashboard.py --n 100000 --repeat 3

Issue 8 asks that the scheduler's throughput in the map benchmark (client.gather(client.map(inc,
range(N))) on 2 workers x 1 thread) stays within 10% with the dashboard open in a browser. Four
LocalClusters run side by side in this process: no dashboard; a dashboard nobody watches; a
dashboard read by a plain HTTP client (the scheduler's share of the cost); a dashboard with
headless chromium showing /status (live updates ~3/s, task stream drawn). Runs
alternate between them so the machine's noise hits all four alike. The browser's own CPU is
included (on 2 cores it competes with the cluster), which makes the figure pessimistic.
"""

import argparse
import os

import psutil
import shutil
import statistics
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from teem.distributed import Client, LocalCluster  # noqa: E402


def inc(x):
    return x + 1


def open_browser(url: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options,
                              service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"))
    driver.get(url)
    return driver


class EventReader(threading.Thread):
    """Reads the live updates like a page would, without drawing them: the scheduler's share."""

    def __init__(self, link: str):
        super().__init__(daemon=True)
        self.response = urllib.request.urlopen(link.rsplit("/", 1)[0] + "/api/events")
        self.count = 0
        self.start()

    def run(self) -> None:
        try:
            for line in self.response:
                self.count += line.startswith(b"data:")
        except (OSError, ValueError, AttributeError):  # closed by stop() while reading
            pass

    def stop(self) -> None:
        self.response.close()


def browser_cpu_seconds(driver) -> float:
    """CPU time of chromium's processes so far (the driver's children and theirs)."""
    total = 0.0
    for proc in psutil.Process(driver.service.process.pid).children(recursive=True):
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:  # a renderer that just ended
            pass
    return total


def updates(driver) -> int:
    return int(driver.execute_script("return +document.getElementById('connection').dataset.updates"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="tasks per map (default 20,000)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per configuration (default 5)")
    args = parser.parse_args()

    configs = {}
    for name, address in (("no dashboard", None), ("dashboard, unwatched", ":0"),
                          ("dashboard + event reader", ":0"), ("dashboard + browser", ":0")):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=address)
        client = Client(cluster)
        client.gather(client.map(inc, range(-20, 0)))  # warm: connections open, function known
        configs[name] = (cluster, client, [], psutil.Process(cluster._scheduler_process.process.pid), [])
    browser = open_browser(configs["dashboard + browser"][0].dashboard_link)
    reader = EventReader(configs["dashboard + event reader"][0].dashboard_link)
    try:
        seen_before = updates(browser)
        browser_cpu = browser_cpu_seconds(browser)
        watch_start = time.monotonic()
        for _ in range(args.repeat):
            for name, (_, client, times, scheduler, cpu) in configs.items():
                cpu_before = sum(scheduler.cpu_times()[:2])
                start = time.perf_counter()
                out = client.gather(client.map(inc, range(args.n)))
                times.append(time.perf_counter() - start)
                cpu.append(sum(scheduler.cpu_times()[:2]) - cpu_before)
                assert out[-1] == args.n
                del out
        watched = time.monotonic() - watch_start
        browser_cpu = browser_cpu_seconds(browser) - browser_cpu
        seen = updates(browser) - seen_before
        drawn = browser.execute_script("return +document.getElementById('stream-canvas').dataset.rects")
    finally:
        browser.quit()
        reader.stop()
        for cluster, client, *_ in configs.values():
            client.close()
            cluster.close()

    base = min(configs["no dashboard"][2])
    print(f"map of {args.n:,} tasks, 2 workers x 1 thread, best (median) of {args.repeat}, interleaved")
    for name, (_, _, times, _, cpu) in configs.items():
        best = min(times)
        print(f"  {name:22s} {best:7.3f} s ({statistics.median(times):7.3f})  "
              f"{args.n / best:9,.0f} tasks/s  throughput vs no dashboard: {base / best:5.3f}x  "
              f"scheduler CPU {1e6 * statistics.median(cpu) / args.n:5.1f} us/task (median)")
    print(f"  browser received {seen} updates in {watched:.1f} s ({seen / watched:.1f}/s); "
          f"{drawn} task-stream rectangles on screen at the end; the browser used "
          f"{100 * browser_cpu / watched:.0f}% of a core")


if __name__ == "__main__":
    main()
