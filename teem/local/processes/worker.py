"""A worker process of the processes scheduler: ``python -m teem.local.processes.worker FD``.

It is started with :mod:`subprocess`, never by re-running the user's script,
so scripts need no ``if __name__ == '__main__':`` guard; functions defined in
``__main__`` arrive by value through cloudpickle.

The worker keeps the results it computes, keyed by task key, until the engine
releases them; the engine sends it inputs only when it does not have them.
Messages (tuples, first item the operation)::

    engine -> worker                          worker -> engine
    ("store", key, value)                     ("done", run, batch, keys, sizes, small, error, seconds,
    ("run", run, batch, funcs, tasks, drop,    times)
      timed)                                  ("data", request, {key: value})
    ("fetch", request, [key, ...])            ("unsendable", request, keys, text)
    ("release", [key, ...]) / ("clear",) / ("exit",)

In "run", ``tasks`` are ``(key, function id, args, kwargs, dependencies)``
tuples and ``funcs`` maps the ids of functions new to this worker to the
functions themselves: a function is pickled once per worker and run, not once
per task.  ``drop`` lists results to release first.  With ``timed``, "done"
carries ``times``: ``(start, stop)`` ``perf_counter`` readings per finished
key (else None).
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import traceback
from time import perf_counter

# Results at most this big go back with the "done" message, saving a round
# trip when another worker or the caller needs them.
SMALL_RESULT_BYTES = 64 * 1024


def sizeof(value) -> int:
    """A cheap estimate of a value's size in bytes."""
    nbytes = getattr(value, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    if isinstance(value, (bytes, bytearray, str)):
        return len(value)
    if isinstance(value, (list, tuple, dict, set)):
        return 64 + 8 * len(value) * (4 if value else 1)
    return sys.getsizeof(value)


def _error_payload(exc: BaseException):
    import cloudpickle
    text = "".join(traceback.format_exception(exc))
    exc.__traceback__ = None
    try:
        cloudpickle.dumps(exc)
        return exc, text
    except Exception:
        return RuntimeError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"), text


def serve(sock: socket.socket) -> None:
    from teem.core.task import Task
    from teem.local.processes.wire import ConnectionClosed, recv, send_obj

    store: dict = {}
    functions: dict = {}
    while True:
        try:
            msg = recv(sock, store.__getitem__)  # shared arrays arrive as keys of the store
        except ConnectionClosed:
            return
        op = msg[0]
        if op == "run":
            _, run, batch, funcs, specs, drop, timed = msg
            for key in drop:
                store.pop(key, None)
            functions.update(funcs)
            tasks = [Task(key, functions[fid], args, kwargs, deps)
                     for key, fid, args, kwargs, deps in specs]
            start = perf_counter()
            finished, sizes, small, error = [], [], {}, None
            times = [] if timed else None
            for task in tasks:
                try:
                    if timed:
                        t0 = perf_counter()
                        value = task(store)
                        times.append((t0, perf_counter()))
                    else:
                        value = task(store)
                except BaseException as exc:  # reported; the worker itself carries on
                    error = (task.key, *_error_payload(exc))
                    break
                key = task.key
                store[key] = value
                finished.append(key)
                size = sizeof(value)
                sizes.append(size)
                if size <= SMALL_RESULT_BYTES:
                    small[key] = value
            reply = ("done", run, batch, finished, sizes, small, error, perf_counter() - start, times)
            try:
                send_obj(sock, reply, plain_first=True)
            except Exception:
                # A small result that cannot be pickled stays here, like a large one; it
                # fails only if the caller ever asks for it (see "unsendable").
                small = {k: v for k, v in small.items() if _picklable(v)}
                send_obj(sock, ("done", run, batch, finished, sizes, small, error, reply[-2],
                                times))
            msg = tasks = reply = small = value = None  # hold no result beyond the store
        elif op == "store":
            store[msg[1]] = msg[2]
        elif op == "fetch":
            _, request, keys = msg
            try:
                send_obj(sock, ("data", request, {k: store[k] for k in keys}), plain_first=True)
            except Exception as exc:  # a result that cannot be pickled
                send_obj(sock, ("unsendable", request, keys, f"{type(exc).__name__}: {exc}"))
        elif op == "release":
            for key in msg[1]:
                store.pop(key, None)
        elif op == "clear":
            store.clear()
            functions.clear()
        elif op == "exit":
            return


def _picklable(value) -> bool:
    import cloudpickle
    try:
        cloudpickle.dumps(value)
        return True
    except Exception:
        return False


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group: the engine handles it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=int(sys.argv[1]))
    from teem.local.processes.wire import recv
    init = recv(sock)
    for path in reversed(init["sys_path"]):
        if path not in sys.path:
            sys.path.insert(0, path)
    if init.get("cwd"):
        os.chdir(init["cwd"])
    serve(sock)


if __name__ == "__main__":
    main()
