"""The distributed scheduler's state machine alone: simulated workers, no sockets.

    python bench/bench_scheduler_state.py [NTASKS] [--case independent|chains|all]

Case 1: 10,000 one-thread workers x NTASKS independent tasks (default 1,000,000).
Case 2: 1,000 one-thread workers x NTASKS tasks in chains of 10.

One client submits everything and wants every result (case 2: the chain
ends); simulated workers report each task finished (1 ms, so a worker holds
5 tasks per thread once measured) in batches of up to 1,000 events per
``handle()`` call, as the network shell coalesces messages.  At the end the
client releases everything and the state must be empty.  Printed per case:
seconds inside ``handle()``, tasks/s, and bytes per task (resident memory
growth of the scheduler's state with every task submitted, and the peak).
Dask's scheduler has no sans-I/O equivalent to run side by side; its
documented overhead is ~1 ms/task (about 1,000-5,000 tasks/s).
"""

from __future__ import annotations

import gc
import resource
import sys
import time

from teem.distributed.scheduler import (AddWorker, Execute, ReleaseKeys, SchedulerState, TaskFinished,
                                        TaskSpec, UpdateGraph)

BATCH = 1000
DURATION = 0.001


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(name: str, nworkers: int, ntasks: int, chain: int) -> None:
    if chain > 1:
        specs = []
        ends = []
        for c in range(ntasks // chain):
            prev = None
            for j in range(chain):
                key = f"link-{c}-{j}"
                specs.append(TaskSpec(key, (prev,) if prev else (), b"", (0, c, j), prefix="link"))
                prev = key
            ends.append(prev)
        wanted = tuple(ends)
    else:
        specs = [TaskSpec(f"inc-{i}", (), b"", (0, i), prefix="inc") for i in range(ntasks)]
        wanted = tuple(s.key for s in specs)
    specs = tuple(specs)
    workers = [AddWorker(f"tcp://10.0.{i // 250}.{i % 250}:4000", f"w{i}", 1, 2**32, 0.0)
               for i in range(nworkers)]
    gc.collect()
    gc.freeze()  # as a long-running server would: the inputs are not garbage
    s = SchedulerState()
    base = rss()
    spent = 0.0
    t0 = time.perf_counter()
    s.handle(*workers)
    out = s.handle(UpdateGraph("client", specs, wanted, 0.0))
    spent += time.perf_counter() - t0
    submitted = rss() - base
    del specs
    nfinished = 0
    nhandle = 2
    while True:
        events = [TaskFinished(ins.worker, t.key, 8, DURATION, 0.0)
                  for ins in out if type(ins) is Execute for t in ins.tasks]
        if not events:
            break
        nfinished += len(events)
        out = []
        for i in range(0, len(events), BATCH):
            t0 = time.perf_counter()
            out += s.handle(*events[i:i + BATCH])
            spent += time.perf_counter() - t0
            nhandle += 1
    t0 = time.perf_counter()
    s.handle(ReleaseKeys("client", wanted))
    release = time.perf_counter() - t0
    spent += release
    assert nfinished == ntasks, (nfinished, ntasks)
    assert not s.tasks, len(s.tasks)
    peak = peak_rss() - base
    print(f"scheduler_state {name}: {nworkers} workers x {ntasks:,} tasks: {spent:.2f} s in handle() "
          f"({ntasks / spent:,.0f} tasks/s; {nhandle} calls; final release {release:.2f} s); "
          f"state {submitted / ntasks:.0f} B/task after submit, peak RSS {peak / ntasks:.0f} B/task above start")
    gc.unfreeze()


def main(argv: list[str]) -> None:
    ntasks = 1_000_000
    case = "all"
    args = list(argv)
    if "--case" in args:
        i = args.index("--case")
        case = args[i + 1]
        del args[i:i + 2]
    if args:
        ntasks = int(args[0].replace("_", ""))
    if case in ("independent", "all"):
        run("independent", 10_000, ntasks, 1)
    if case in ("chains", "all"):
        run("chains-of-10", 1_000, ntasks, 10)


if __name__ == "__main__":
    main(sys.argv[1:])
