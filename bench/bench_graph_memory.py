"""Bytes per task of a 1,000,000-task delayed graph, teem vs Dask.

    python bench/bench_graph_memory.py [N]

Measures the growth of resident memory while building ``[delayed(inc)(i) for i
in range(N)]`` (each library in a fresh process), and, for teem, also the
peak while computing it (graph flattened + run state + results).
"""

import os
import subprocess
import sys

CODE = r"""
import gc, resource, sys
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
lib_name, n = sys.argv[1], int(sys.argv[2])
if lib_name == "teem":
    import teem as lib
else:
    import dask as lib
def inc(x):
    return x + 1
gc.collect()
before = rss()
graph = [lib.delayed(inc)(i) for i in range(n)]
gc.collect()
built = rss()
peak_before_compute = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
if lib_name == "teem":
    out = lib.compute(graph, scheduler="sync")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"{lib_name}: build {(built - before) / n:.0f} B/task; peak during compute "
          f"{(peak - before) / n:.0f} B/task above the start")
else:
    print(f"{lib_name}: build {(built - before) / n:.0f} B/task")
"""


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    for lib in ("teem", "dask"):
        proc = subprocess.run([sys.executable, "-c", CODE, lib, str(n)], capture_output=True,
                              text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        print(proc.stdout.strip() or proc.stderr.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
