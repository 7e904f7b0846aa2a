"""teem.bag vs dask.bag on the Wikipedia page-view logs of seed 001 §4.2 (processes, 2 workers).

    python bench/bench_bag.py --quick       # 8 files, about 200 MB uncompressed
    python bench/bench_bag.py               # 16 files, about 2 GB uncompressed (generated once)
    python bench/bench_bag.py --repeat 3    # best of 3 fresh runs per library and case

The files are written once by ``bench/wikidata.py`` into ``bench/.cache/wiki*/``
(gzip).  Each case runs in a fresh interpreter per library, from a cold start
(teem's worker pool and Dask's are both started inside the timed call), with
``scheduler='processes', num_workers=2``:

- ``wiki.count()``
- ``wiki.filter(find).count()`` with the tutorial's ``find``
- ``wiki.take(10)`` (reads the start of the first file only)

and, for ``filter(find).count()``, the raw limit: the same work with no
framework (a fork ``ProcessPoolExecutor(2)``, one file per call, isal +
``splitlines`` + ``filter(find)``), which shows how much of the time is the
user's ``find`` itself.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _harness import best_of, compare  # noqa: E402
from wikidata import generate  # noqa: E402

SETUP = """
import importlib, re
db = importlib.import_module(lib_name + ".bag")
PATH = {path!r}
def find(line, regex = "Obama", language = "en"):
    vals = line.split(' ')
    if len(vals) < 6:
        return(False)
    tmp = re.search(regex, vals[3])
    if tmp is None or (language != None and vals[2] != language):
        return(False)
    else:
        return(True)
"""

COUNT = SETUP + """
def run():
    wiki = db.read_text(PATH)
    n = wiki.count().compute(scheduler="processes", num_workers=2)
    assert n == {lines}, n
    return n
"""

FILTER_COUNT = SETUP + """
def run():
    wiki = db.read_text(PATH)
    n = wiki.filter(find).count().compute(scheduler="processes", num_workers=2)
    assert n == {matches}, n
    return n
"""

TAKE = SETUP + """
def run():
    wiki = db.read_text(PATH)
    with __import__("dask" if lib_name == "dask" else "teem").config.set(scheduler="processes", num_workers=2):
        first = wiki.take(10)
    assert len(first) == 10
    return first[0]
"""

RAW_FILTER_COUNT = SETUP.replace("db = importlib.import_module(lib_name + \".bag\")", "") + """
import glob, multiprocessing
from concurrent.futures import ProcessPoolExecutor
from isal import igzip
def per_file(path):
    with igzip.open(path, "rb") as f:
        lines = f.read().decode().splitlines(True)
    return sum(1 for _ in filter(find, lines))
import __main__  # forked children find the function by name there
per_file.__module__ = "__main__"
__main__.per_file = per_file
def run():
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        n = sum(pool.map(per_file, sorted(glob.glob(PATH))))
    assert n == {matches}, n
    return n
"""


def raw_line(name: str, code: str, teem_result: dict, repeat: int) -> None:
    raw = best_of("teem", code, 3600, repeat)  # the harness needs a library; the code uses none
    if "error" in raw:
        print(f"{name:<48} raw: ERROR {raw['error']}", flush=True)
        return
    ratio = ""
    if "seconds" in teem_result:
        ratio = f" | teem/raw = {teem_result['seconds'] / raw['seconds']:.2f}x"
    print(f"{name:<48} raw {raw['seconds']:.3f} s{ratio}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 files, about 200 MB uncompressed")
    parser.add_argument("--teem-only", action="store_true", help="skip Dask")
    parser.add_argument("--repeat", type=int, default=1, help="fresh runs per library and case (best kept)")
    parser.add_argument("--only", default="", help="run cases whose name contains this")
    args = parser.parse_args()
    libs = ("teem",) if args.teem_only else ("teem", "dask")
    if args.quick:
        directory, nfiles, size = os.path.join(HERE, ".cache", "wiki-quick"), 8, 25_000_000
    else:
        directory, nfiles, size = os.path.join(HERE, ".cache", "wiki"), 16, 128_000_000
    manifest = generate(directory, nfiles=nfiles, lines_per_file=None, bytes_per_file=size)
    print(json.dumps({"files": nfiles, "lines": manifest["lines"], "matches": manifest["matches"],
                      "uncompressed_MB": round(manifest["bytes"] / 1e6),
                      "gzip_MB": round(sum(os.path.getsize(os.path.join(directory, e["name"]))
                                           for e in manifest["files"]) / 1e6)}), flush=True)
    path = os.path.join(directory, "part-*.gz")
    fmt = {"path": path, "lines": manifest["lines"], "matches": manifest["matches"]}
    size_label = f"{manifest['bytes'] / 1e9:.1f} GB"
    cases = [
        (f"wiki.count() ({size_label}, 2 procs)", COUNT),
        (f"wiki.filter(find).count() ({size_label}, 2 procs)", FILTER_COUNT),
        (f"wiki.take(10) ({size_label}, 2 procs)", TAKE),
    ]
    for name, code in cases:
        if args.only in name:
            result = compare(name, code.format(**fmt), libs=libs, repeat=args.repeat)
            if code is FILTER_COUNT:
                raw_line("  raw limit: fork pool(2), isal+splitlines+find", RAW_FILTER_COUNT.format(**fmt),
                         result.get("teem", {}), args.repeat)


if __name__ == "__main__":
    main()
