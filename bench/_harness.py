"""Run one benchmark case for teem and for Dask, each in a fresh process, and print the ratio.

Each case is a Python snippet that defines ``run()`` (timed) and optionally ``setup()``;
``lib`` is bound to ``teem`` or ``dask`` before it runs.  A fresh interpreter per
library keeps caches, pools and the garbage collector's state from leaking between them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

RUNNER = r"""
import json, sys, time, resource, gc
lib_name = sys.argv[1]
code = sys.stdin.read()
if lib_name == "teem":
    import teem as lib
else:
    import dask as lib
ns = {"lib": lib, "lib_name": lib_name}
exec(code, ns)
if "setup" in ns:
    ns["setup"]()
t0 = time.perf_counter()
out = ns["run"]()
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
json.dump({"seconds": seconds, "peak_rss": peak, "check": repr(out)[:200]}, sys.stdout)
"""


def run_case(lib: str, code: str, timeout: float = 3600) -> dict:
    proc = subprocess.run([sys.executable, "-c", RUNNER, lib], input=textwrap.dedent(code),
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_of_interleaved(runs: dict, timeout: float, repeat: int) -> dict:
    """``{label: (lib, code)}`` run round-robin ``repeat`` times; the fastest run of each.

    On a shared machine the speed drifts over minutes: running A A A B B B lets the drift
    decide a 5% comparison, running A B A B A B does not.
    """
    results: dict = {label: [] for label in runs}
    for _ in range(repeat):
        for label, (lib, code) in runs.items():
            results[label].append(run_case(lib, code, timeout))
    out = {}
    for label, rs in results.items():
        ok = [r for r in rs if "error" not in r]
        out[label] = min(ok, key=lambda r: r["seconds"]) if ok else rs[0]
    return out


def best_of(lib: str, code: str, timeout: float, repeat: int) -> dict:
    """The fastest of ``repeat`` fresh runs: shared machines are noisy, and noise only adds."""
    runs = [run_case(lib, code, timeout) for _ in range(repeat)]
    ok = [r for r in runs if "error" not in r]
    return min(ok, key=lambda r: r["seconds"]) if ok else runs[0]


def compare(name: str, code: str, libs=("teem", "dask"), timeout: float = 3600, unit_count=None,
            repeat: int = 1, show_check: bool = False) -> dict:
    """Run ``code`` with each library (best of ``repeat`` runs each, alternating) and print one line."""
    results = best_of_interleaved({lib: (lib, code) for lib in libs}, timeout, repeat)
    parts = []
    for lib, r in results.items():
        if "error" in r:
            parts.append(f"{lib}: ERROR {r['error']}")
            continue
        per = f" ({r['seconds'] / unit_count * 1e6:.2f} us/task)" if unit_count else ""
        check = f" ({r['check'].strip(chr(39))})" if show_check else ""
        parts.append(f"{lib} {r['seconds']:.3f} s{per}{check} peak {r['peak_rss'] / 2**20:.0f} MiB")
    t, d = results.get("teem", {}), results.get("dask", {})
    ratio = ""
    if "seconds" in t and "seconds" in d:
        ratio = f" | dask/teem = {d['seconds'] / t['seconds']:.1f}x"
    best = f" [best of {repeat}]" if repeat > 1 else ""
    print(f"{name:<48} " + " | ".join(parts) + ratio + best, flush=True)
    return results
