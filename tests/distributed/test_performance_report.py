"""performance_report(filename=): one self-contained HTML file of what the cluster did in a block."""

import re
import time

import pytest

from teem.distributed import Client, LocalCluster, performance_report

pytestmark = pytest.mark.timeout(120)


def nap(i, seconds=0.05):
    time.sleep(seconds)
    return i


def fail(i):
    raise ValueError(f"task {i} fails on purpose")


def test_report_of_a_run(tmp_path):
    report = tmp_path / "report.html"
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.gather(client.map(nap, range(100, 110), [0.0] * 10))  # before the block: not reported
        with performance_report(filename=report):
            assert client.gather(client.map(nap, range(20))) == list(range(20))
            with pytest.raises(ValueError, match="on purpose"):
                client.submit(fail, 1).result()
            time.sleep(1.3)  # at least one heartbeat from each worker: memory and cpu samples
        page = report.read_text()
        later = tmp_path / "second.html"
        with performance_report(filename=str(later)):  # nothing runs: still a valid page
            pass
        assert "No task finished" in later.read_text()
    assert page.startswith("<!DOCTYPE html>") and "teem performance report" in page
    assert re.search(r"tasks finished</th><td>21 \(1 erred\)", page), page[:2000]
    rects = re.findall(r"<rect class='task'", page)
    assert 2 <= len(rects) <= 21          # back-to-back tasks of a thread may draw as one
    assert "nap" in page and "fail (erred)" in page
    assert "Memory per worker" in page and "CPU per worker" in page
    assert page.count("class='series'") >= 4  # memory and cpu lines of both workers
    assert "<script" not in page and not re.search(r"(src|href)=['\"]?https?:", page)  # offline
    prefixes = page[page.index("Task prefixes"):]
    assert re.search(r"<td[^>]*>nap</td><td[^>]*>20</td>", prefixes)


def test_recordings_end_with_their_client():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        client = Client(cluster)
        client._request({"op": "start-recording"})
        assert len(cluster._scheduler_server.activity.recordings) == 1
        client.close()
        deadline = time.monotonic() + 10
        while cluster._scheduler_server.activity.recordings and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not cluster._scheduler_server.activity.recordings
