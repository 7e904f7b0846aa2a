"""Seed 001 §4.2 and §5.5 (the Wikipedia logs) as the tutorial writes them, on generated files.

The tutorial's files become 12 generated ``part-0000N.gz`` files (bench/wikidata.py): its glob
``part-0000*gz`` picks the first 10.  Answers are checked against plain Python reading the same files.
"""

import gzip
import os
import re

import pytest

pytestmark = pytest.mark.timeout(240)


def tutorial_find(line, regex="Obama", language="en"):
    vals = line.split(' ')
    if len(vals) < 6:
        return (False)
    tmp = re.search(regex, vals[3])
    if tmp is None or (language != None and vals[2] != language):  # noqa: E711  (as in the seed)
        return (False)
    else:
        return (True)


def expected_lines(wiki, nfiles=10):
    lines = []
    for p in wiki["paths"][:nfiles]:
        with gzip.open(p, "rt", encoding="utf-8") as f:
            lines.extend(f)
    return lines


def test_4_2_bags_on_the_processes_scheduler(wiki):
    directory = os.path.dirname(wiki["paths"][0])
    # --- seed 001 §4.2, as written (the path is ours) ---
    import teem as dask
    import teem.multiprocessing  # noqa: F401
    dask.config.set(scheduler='processes', num_workers = 4)  # multiprocessing is the default
    import teem.bag as db
    wiki_bag = db.read_text(directory + '/part-0000*gz')
    import time
    t0 = time.time()
    n = wiki_bag.count().compute()
    time.time() - t0   # 136 sec.

    import re  # noqa: F401

    def find(line, regex = "Obama", language = "en"):
        vals = line.split(' ')
        if len(vals) < 6:
            return(False)
        tmp = re.search(regex, vals[3])
        if tmp is None or (language != None and vals[2] != language):  # noqa: E711
            return(False)
        else:
            return(True)

    obama = wiki_bag.filter(find).compute()
    obama[0:5]
    # --- checks ---
    lines = expected_lines(wiki)
    assert wiki_bag.npartitions == 10
    assert n == len(lines) == sum(e["lines"] for e in wiki["files"][:10])
    assert obama == [line for line in lines if tutorial_find(line)]
    assert len(obama) == sum(e["matches"] for e in wiki["files"][:10]) > 5
    for line in obama[0:5]:  # "That should look like this": whole lines, '\n' kept
        date, hour, language, title, views, size = line.split(" ")
        assert len(date) == 8 and hour.endswith("0000") and language == "en" and "Obama" in title
        assert size.endswith("\n") and views.isdigit()
    first = wiki_bag.take(10)
    assert first == tuple(lines[:10])


def test_seed_snippets_on_every_local_scheduler(wiki):
    import teem.bag as db
    directory = os.path.dirname(wiki["paths"][0])
    lines = expected_lines(wiki)
    matches = [line for line in lines if tutorial_find(line)]
    for scheduler in ("sync", "threads", "processes"):
        wiki_bag = db.read_text(directory + '/part-0000*gz')
        assert wiki_bag.count().compute(scheduler=scheduler) == len(lines)
        assert wiki_bag.filter(tutorial_find).count().compute(scheduler=scheduler) == len(matches)
        assert wiki_bag.filter(tutorial_find).compute(scheduler=scheduler) == matches


def test_filter_count_is_one_task_per_file(wiki):
    import teem.bag as db
    wiki_bag = db.read_text(wiki["paths"])
    c = wiki_bag.filter(tutorial_find).count()
    graph = c.__teem_optimize__(c.dask, c.__teem_keys__())
    per_file = [k for k in graph if "part" in k[0]]
    assert len(per_file) == len(wiki["paths"]) == 12
    assert len(graph) == 12 + 2 + 1  # 12 files, combined in groups of 8, then aggregated
    assert all(not graph[k].dependencies for k in per_file)  # read, decode, filter, count: one task


def test_5_5_filter_count_on_a_distributed_cluster(wiki):
    from teem.distributed import Client, LocalCluster
    directory = os.path.dirname(wiki["paths"][0])
    cluster = LocalCluster(n_workers=2, threads_per_worker=1)
    try:
        # --- seed 001 §5.5, as written (a LocalCluster object instead of $SCHED's address) ---
        c = Client(cluster)
        import teem.bag as db
        wiki_bag = db.read_text(directory + '/part*')
        import time
        t0 = time.time()
        n = wiki_bag.count().compute()
        time.time() - t0   # 153 sec. using 96 cores on Savio

        def find(line, regex = "Obama", language = "en"):
            vals = line.split(' ')
            if len(vals) < 6:
                return(False)
            tmp = re.search(regex, vals[3])
            if tmp is None or (language != None and vals[2] != language):  # noqa: E711
                return(False)
            else:
                return(True)

        count = wiki_bag.filter(find).count().compute()
        # --- checks ---
        assert n == wiki["lines"]
        assert count == wiki["matches"]
        worker_pids = set(c.run(os.getpid).values())
        assert len(worker_pids) == 2 and os.getpid() not in worker_pids
        c.close()
    finally:
        cluster.close()
