"""``teem top``: the dashboard's essentials in a terminal, refreshing in place.

    teem top tcp://127.0.0.1:8786            # secret from $TEEM_SECRET or ~/.config/teem
    teem top --scheduler-file sched.json     # address and secret from the scheduler's file
    teem top --scheduler-file sched.json --once   # one plain-text frame on stdout, then exit

For login nodes where forwarding the web dashboard's port is the pain: the same status
document the web page gets (the scheduler's ``{"op": "status"}`` request, see
:func:`teem.distributed.dashboard.views.status_document`), drawn as text.

Theory of operation
-------------------
1. :func:`render` turns one status document into lines of text for a given terminal width
   and height: a header, one progress bar per task prefix and a workers table. It is pure
   (no terminal, no clock), so tests feed it hand-made documents.
2. :class:`StatusFeed` asks the scheduler for its status every ``--interval`` seconds on a
   background event loop, reconnecting (and re-reading the scheduler file, which a restarted
   scheduler rewrites) when the connection drops.  The screen thread only reads its latest
   snapshot, so keys stay responsive while the scheduler is unreachable.
3. :func:`_run_screen` paints the rendered lines with ``curses`` when a snapshot or the
   terminal size changes, and handles the keys (``q`` quits, ``s`` cycles the sort column).

Exit status: 0 on ``q``, Ctrl-C or a successful ``--once``; 1 when ``--once`` cannot reach
the scheduler; 2 for a usage problem (no secret known, a missing or invalid scheduler file).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import sys
import threading
import time

__all__ = ["main", "render", "render_styled", "StatusFeed", "SORT_KEYS", "TopError"]

# Workers-table sort columns, in the order the `s` key cycles through them.
# "name" sorts ascending; the others put the largest first, as top does.
SORT_KEYS = ("name", "cpu", "memory", "results", "spilled", "executing", "ready")

# Styles render_styled() attaches to lines; the curses painter maps them to attributes.
PLAIN, TITLE, HEADING, WARNING = "plain", "title", "heading", "warning"


class TopError(Exception):
    """A problem ``teem top`` reports and exits on; ``status`` is the exit status."""

    def __init__(self, message: str, status: int = 2):
        super().__init__(message)
        self.status = status


# --- rendering: status document -> lines (pure) -------------------------------------------------


def _size(n) -> str:
    """Bytes in at most 5 characters (binary units): '512B', '9.5K', '120M', '15.6G'."""
    n = float(n or 0)
    for unit in ("B", "K", "M", "G", "T"):
        if n < 1024 or unit == "T":
            break
        n /= 1024
    if unit == "B":
        return f"{int(n)}B"
    return f"{n:.1f}{unit}" if n < 100 else f"{n:.0f}{unit}"


def _duration(seconds) -> str:
    """'0:05:12', or '3d 4:05:06' past a day."""
    seconds = max(0, int(seconds or 0))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    clock = f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{days}d {clock}" if days else clock


def _pack(segments: list[str], width: int) -> list[str]:
    """Join ``segments`` with two spaces into as few lines of at most ``width`` as possible."""
    lines: list[str] = []
    for segment in segments:
        if lines and len(lines[-1]) + 2 + len(segment) <= width:
            lines[-1] += "  " + segment
        else:
            lines.append(segment)
    return lines


def _header(document: dict) -> tuple[list[str], list[str]]:
    """The header's segments: about the cluster, and about its tasks."""
    scheduler = document.get("scheduler") or {}
    totals = document.get("totals") or {}
    limit = totals.get("memory_limit") or 0
    memory = f"memory {_size(totals.get('memory'))}/{_size(limit) if limit else 'no limit'}"
    uptime = (document.get("time") or 0) - (scheduler.get("started") or document.get("time") or 0)
    cluster = [f"teem top {scheduler.get('address', '?')}", f"up {_duration(uptime)}",
               f"workers {totals.get('workers', 0)}", f"threads {totals.get('threads', 0)}"]
    tasks = [memory, f"tasks {totals.get('done', 0)}/{totals.get('tasks', 0)} done",
             f"running {totals.get('processing', 0)}", f"erred {totals.get('erred', 0)}"]
    return cluster, tasks


def _bar(row: dict, width: int) -> str:
    """``[###>>---]``: done '#', erred 'X', processing '>', the rest '-' (``width`` inner cells)."""
    total = max(int(row.get("total") or 0), 1)
    cells = []
    for key, char in (("done", "#"), ("erred", "X"), ("processing", ">")):
        count = int(row.get(key) or 0)
        # at least one cell for any non-zero count, so an erred task is never invisible
        cells.append((char, max(1, round(count * width / total)) if count else 0))
    text = "".join(char * n for char, n in cells)[:width]
    return "[" + text.ljust(width, "-") + "]"


def _progress_lines(progress: list[dict], width: int) -> list[str]:
    """One line per prefix: name, bar, done/total and erred. Unfinished prefixes first."""
    rows = sorted(progress, key=lambda r: (r.get("done", 0) + r.get("erred", 0) >= r.get("total", 0),
                                           str(r.get("prefix"))))
    name_width = min(max((len(str(r.get("prefix"))) for r in rows), default=6), max(6, width // 3))
    counts = [f"{r.get('done', 0)}/{r.get('total', 0)}" for r in rows]
    count_width = max((len(c) for c in counts), default=3)
    erreds = [f"  erred {r['erred']}" if r.get("erred") else "" for r in rows]
    # One bar width for every row, so the bars line up and compare at a glance.
    bar_width = width - name_width - count_width - max((len(e) for e in erreds), default=0) - 5
    lines = []
    for row, count, erred in zip(rows, counts, erreds):
        name = str(row.get("prefix"))[:name_width].ljust(name_width)
        bar = _bar(row, bar_width - 2) + " " if bar_width >= 5 else ""
        lines.append(f"{name}  {bar}{count.rjust(count_width)}{erred}")
    return lines


# Workers-table columns: (title, drop order when too wide (0 = never), text of a row).
def _memory_cell(w: dict) -> str:
    limit = w.get("memory_limit") or 0
    return f"{_size(w.get('memory'))}/{_size(limit) if limit else '-'}"


_COLUMNS = [
    ("NAME", 0, lambda w: str(w.get("name")) + (" [paused]" if w.get("paused") else "")),
    ("ADDRESS", 1, lambda w: str(w.get("address", ""))),
    ("THR", 5, lambda w: str(w.get("nthreads", 0))),
    ("CPU%", 7, lambda w: f"{float(w.get('cpu') or 0):.0f}"),
    ("MEMORY/LIMIT", 8, _memory_cell),
    ("RESULTS", 4, lambda w: f"{w.get('nkeys', 0)} {_size(w.get('managed'))}"),
    ("SPILLED", 2, lambda w: _size(w.get("spilled"))),
    ("EXEC", 6, lambda w: str(w.get("executing", 0))),
    ("READY", 3, lambda w: str(w.get("ready", 0))),
]
_SORT_VALUE = {
    "name": None, "cpu": lambda w: float(w.get("cpu") or 0), "memory": lambda w: w.get("memory") or 0,
    "results": lambda w: (w.get("managed") or 0, w.get("nkeys") or 0),
    "spilled": lambda w: w.get("spilled") or 0, "executing": lambda w: w.get("executing") or 0,
    "ready": lambda w: w.get("ready") or 0,
}


def _natural(text: str) -> list:
    """Sort key putting 'w-2' before 'w-10'."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]


def _sorted_workers(workers: list[dict], sort_key: str) -> list[dict]:
    if sort_key not in _SORT_VALUE:
        raise ValueError(f"unknown sort key {sort_key!r}: use one of {', '.join(SORT_KEYS)}")
    by_name = sorted(workers, key=lambda w: _natural(str(w.get("name"))))
    value = _SORT_VALUE[sort_key]
    return by_name if value is None else sorted(by_name, key=value, reverse=True)  # stable: ties by name


def _worker_lines(workers: list[dict], width: int) -> list[str]:
    """The table's heading line and one line per worker, dropping columns that do not fit."""
    columns = [(title, drop, [cell(w) for w in workers]) for title, drop, cell in _COLUMNS]
    widths = [max([len(title)] + [len(c) for c in cells]) for title, _, cells in columns]
    widths[0] = min(widths[0], 24)  # a long name is truncated rather than pushing columns away
    keep = list(range(len(columns)))
    while sum(widths[i] for i in keep) + 2 * (len(keep) - 1) > width and len(keep) > 1:
        keep.remove(min((i for i in keep if columns[i][1]), key=lambda i: columns[i][1]))

    def line(texts: list[str]) -> str:
        parts = []
        for i in keep:
            text = texts[i][:widths[i]]
            parts.append(text.ljust(widths[i]) if i <= 1 else text.rjust(widths[i]))
        return "  ".join(parts).rstrip()

    lines = [line([title for title, _, _ in columns])]
    for row in range(len(workers)):
        lines.append(line([cells[row] for _, _, cells in columns]))
    return lines


def render_styled(document: dict, width: int, height: int | None, sort_key: str = "name",
                  problem: str | None = None) -> list[tuple[str, str]]:
    """Like :func:`render`, with each line's style (``'title'``, ``'heading'``, ``'warning'``, ``'plain'``)."""
    if width < 1 or (height is not None and height < 1):
        return []
    out: list[tuple[str, str]] = []
    if problem:
        out.append((problem, WARNING))
    if document is None:
        return [(text[:width], style) for text, style in out][:height]
    cluster, tasks = _header(document)
    header = _pack(cluster + tasks, width)
    if len(header) > 1:  # the tasks start a line of their own unless everything fits on one
        header = _pack(cluster, width) + _pack(tasks, width)
    if height is not None:  # a tiny screen: the header leaves room for a progress and a worker row
        header = header[:max(1, height - len(out) - 5)]
    out += [(text, TITLE) for text in header]
    progress = _progress_lines(document.get("progress") or [], width) or ["no tasks"]
    workers = _sorted_workers(document.get("workers") or [], sort_key)
    worker_lines = _worker_lines(workers, width) if workers else ["no workers connected"]
    workers_title = f"WORKERS {len(workers)}  sort: {sort_key} (s: next, q: quit)"

    # Room: header, blank, "PROGRESS", rows, blank, workers title, table heading, rows.
    worker_rows = worker_lines[1:] if workers else worker_lines
    blank = [("", PLAIN)]
    room = None if height is None else height - len(out) - 4 - bool(workers)
    if room is not None and len(progress) + len(worker_rows) > room:
        blank, room = [], max(0, room + 2)  # a tight screen: rows matter more than blank lines
        # Share the rows: workers keep up to half of the room, progress what workers leave.
        progress_room = max(min(len(progress), room - min(len(worker_rows), (room + 1) // 2)), min(1, room))
        progress = _truncate(progress, progress_room, "prefixes")
        worker_rows = _truncate(worker_rows, room - len(progress), "workers")
    out += blank + [("PROGRESS", HEADING)] + [(text, PLAIN) for text in progress]
    out += blank + [(workers_title, HEADING)]
    if workers:
        out.append((worker_lines[0], HEADING))
    out += [(text, PLAIN) for text in worker_rows]
    lines = [(text[:width], style) for text, style in out]
    return lines if height is None else lines[:height]


def _truncate(lines: list[str], room: int, what: str) -> list[str]:
    """``lines`` in ``room`` lines, the last saying how many did not fit."""
    if len(lines) <= room:
        return lines
    if room <= 1:
        return lines[:room]
    return lines[:room - 1] + [f"... {len(lines) - room + 1} more {what}"]


def render(document: dict, width: int, height: int | None, sort_key: str = "name",
           problem: str | None = None) -> list[str]:
    """Lines of text showing a scheduler's status document, fitted to ``width`` x ``height``.

    Parameters
    ----------
    document:
        What the scheduler answers to ``{"op": "status"}`` (keys ``time``, ``scheduler``,
        ``workers``, ``progress``, ``totals``); None when none arrived yet.
    width, height:
        The terminal's size. No line is longer than ``width``; there are at most ``height``
        lines (None: as many as needed). Columns and rows that do not fit are left out,
        saying so ("... 12 more workers"); any size, even 1 x 1, is drawn without error.
    sort_key:
        The workers table's order, one of :data:`SORT_KEYS`.
    problem:
        A line to show first, e.g. ``"scheduler unreachable: retrying"``.

    Raises
    ------
    ValueError
        For a ``sort_key`` not in :data:`SORT_KEYS`.

    Example
    -------
    >>> doc = {"time": 70.0, "scheduler": {"address": "tcp://h:8786", "started": 10.0},
    ...        "workers": [], "progress": [], "totals": {"workers": 0}}
    >>> print("\\n".join(render(doc, 80, 24)))
    teem top tcp://h:8786  up 0:01:00  workers 0  threads 0
    memory 0B/no limit  tasks 0/0 done  running 0  erred 0
    <BLANKLINE>
    PROGRESS
    no tasks
    <BLANKLINE>
    WORKERS 0  sort: name (s: next, q: quit)
    no workers connected
    """
    return [text for text, _ in render_styled(document, width, height, sort_key, problem)]


# --- the scheduler's status, fetched in the background ----------------------------------------


def _credentials(address: str | None, scheduler_file: str | None):
    """``(address, Security)`` for the target; raises :class:`TopError` (status 2) when unknown."""
    from teem.distributed.security import SECRET_VARIABLE, Security, find_secret, read_scheduler_file

    if scheduler_file:
        try:
            info = read_scheduler_file(scheduler_file, timeout=0)
        except TimeoutError:
            problem = ("does not exist" if not os.path.exists(scheduler_file)
                       else "is not a JSON object (invalid JSON, or still being written)")
            raise TopError(f"the scheduler file {scheduler_file} {problem}: pass the file the "
                           "scheduler wrote (teem scheduler --scheduler-file FILE)") from None
        except OSError as exc:
            raise TopError(f"cannot read the scheduler file {scheduler_file}: {exc}") from None
        if not isinstance(info.get("address"), str) or not info.get("secret"):
            raise TopError(f"the scheduler file {scheduler_file} has no 'address' or no 'secret': "
                           "is it a file written by `teem scheduler --scheduler-file`?")
        try:
            return info["address"], Security(secret=info["secret"], **(info.get("security") or {}))
        except (TypeError, ValueError) as exc:
            raise TopError(f"the scheduler file {scheduler_file} has invalid TLS settings: {exc}") from None
    try:
        secret = find_secret(address)
    except ValueError as exc:  # not an address like tcp://host:port
        raise TopError(f"{exc}") from None
    if not secret:
        raise TopError(f"no secret known for the scheduler at {address}: use --scheduler-file FILE "
                       f"(the file the scheduler wrote), or set {SECRET_VARIABLE} to the cluster's secret")
    return address, Security(secret=secret)


class StatusFeed:
    """Fetches the scheduler's status document, reconnecting as needed.

    Parameters
    ----------
    address, scheduler_file:
        The target, as given on the command line (one of them). The scheduler file is
        re-read before each new connection, so a restarted scheduler is found again.
    timeout:
        Seconds allowed for connecting and for each status request.
    """

    def __init__(self, address: str | None, scheduler_file: str | None, timeout: float = 5.0):
        self.address = address
        self.scheduler_file = scheduler_file
        self.timeout = timeout
        self._comm = None
        self._lock = threading.Lock()
        # (generation, latest document or None, problem text or None); replaced whole
        self._snapshot: tuple[int, dict | None, str | None] = (0, None, None)

    async def fetch(self) -> dict:
        """One status document; raises :class:`TopError` or a connection error (then reconnects)."""
        from teem.distributed.comm import connect

        if self._comm is None or self._comm.closed:
            address, security = _credentials(self.address, self.scheduler_file)
            self.address = address
            contexts = security.get_ssl_context("client")
            self._comm = await connect(address, security.secret_bytes(), timeout=self.timeout,
                                       ssl_context=contexts[1] if contexts else None)
        try:
            return await self._comm.request({"op": "status"}, self.timeout)
        except BaseException:
            self.close()
            raise

    async def run(self, interval: float) -> None:
        """Fetch every ``interval`` seconds forever, keeping the latest result in :meth:`snapshot`."""
        while True:
            started = time.monotonic()
            try:
                document, problem = await self.fetch(), None
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # unreachable, refused, timed out, file gone, bad secret
                document, problem = self.snapshot()[1], f"scheduler unreachable: retrying ({_one_line(exc)})"
            with self._lock:
                self._snapshot = (self._snapshot[0] + 1, document, problem)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    def snapshot(self) -> tuple[int, dict | None, str | None]:
        """``(generation, document, problem)``: generation grows with each fetch attempt."""
        with self._lock:
            return self._snapshot

    def close(self) -> None:
        """Drop the connection (call on the feed's loop)."""
        if self._comm is not None:
            self._comm.close()
            self._comm = None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- the command ------------------------------------------------------------------------------


def build_parser(prog: str) -> argparse.ArgumentParser:
    """The ``teem top`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=prog, description="Watch a running teem cluster from the terminal: workers, task "
        "progress, memory. Keys: q quits, s cycles the workers table's sort column. The cluster's "
        "secret comes from the scheduler file, else $TEEM_SECRET, else the secret remembered for "
        "that address under ~/.config/teem/clusters.")
    parser.add_argument("address", nargs="?", help="the scheduler's address, tcp://host:port")
    parser.add_argument("--scheduler-file", metavar="FILE",
                        help="read the scheduler's address and secret from FILE")
    parser.add_argument("--interval", type=float, default=1.0, metavar="SECONDS",
                        help="seconds between updates (default: 1)")
    parser.add_argument("--once", action="store_true",
                        help="print one plain-text frame to stdout and exit (1 if the scheduler "
                             "cannot be reached)")
    parser.add_argument("--sort", choices=SORT_KEYS, default="name",
                        help="the workers table's first sort column (default: name)")
    parser.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS",
                        help="seconds allowed to connect and for each update (default: 5)")
    return parser


def _fail(prog: str, message: str, status: int) -> int:
    print(f"{prog}: error: {message}", file=sys.stderr)
    return status


def main(argv: list[str], prog: str = "teem top") -> int:
    """Run ``teem top`` with the words after the command name; return the exit status."""
    args = build_parser(prog).parse_args(argv)
    if bool(args.address) == bool(args.scheduler_file):
        return _fail(prog, "give the scheduler's ADDRESS or --scheduler-file FILE (one of them)", 2)
    if not args.interval > 0:
        return _fail(prog, f"--interval must be more than 0 seconds, not {args.interval:g}", 2)
    try:
        address, _ = _credentials(args.address, args.scheduler_file)  # usage problems before the screen
    except TopError as exc:
        return _fail(prog, str(exc), exc.status)

    from teem.distributed.loop import LoopThread

    feed = StatusFeed(args.address, args.scheduler_file, timeout=args.timeout)
    loop = LoopThread("teem-top")
    try:
        if args.once:
            return _run_once(feed, loop, address, args.sort, prog)
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            return _fail(prog, "the full-screen view needs a terminal; use --once to print one frame", 2)
        return _run_screen(feed, loop, args.interval, args.sort)
    except KeyboardInterrupt:
        return 0
    finally:
        loop.call_soon(feed.close)
        loop.stop()


def _run_once(feed: StatusFeed, loop, address: str, sort_key: str, prog: str) -> int:
    try:
        document = loop.run(feed.fetch(), feed.timeout * 2 + 5)
    except TopError as exc:
        return _fail(prog, str(exc), exc.status)
    except Exception as exc:
        return _fail(prog, f"cannot reach the scheduler at {address}: {_one_line(exc)}", 1)
    width = shutil.get_terminal_size((100, 24)).columns
    print("\n".join(render(document, width, None, sort_key)))
    return 0


def _run_screen(feed: StatusFeed, loop, interval: float, sort_key: str) -> int:
    import curses

    # ncurses prefers $LINES/$COLUMNS to the terminal's real size, and keeps them on resize:
    # a stale export (some shells and tools set them) would pin the screen to a wrong size.
    os.environ.pop("LINES", None)
    os.environ.pop("COLUMNS", None)
    asyncio.run_coroutine_threadsafe(feed.run(interval), loop.loop)  # cancelled by loop.stop()

    def screen(stdscr) -> int:
        try:
            curses.curs_set(0)
        except curses.error:  # terminals without an invisible cursor
            pass
        stdscr.timeout(100)  # keys answered within 0.1 s; repaint only when something changed
        styles = {TITLE: curses.A_REVERSE, HEADING: curses.A_BOLD,
                  WARNING: curses.A_BOLD | curses.A_STANDOUT, PLAIN: curses.A_NORMAL}
        order = list(SORT_KEYS)
        current_sort = sort_key
        painted = None
        while True:
            generation, document, problem = feed.snapshot()
            if document is None and problem is None:
                problem = "connecting ..."
            height, width = stdscr.getmaxyx()
            state = (generation, current_sort, height, width)
            if state != painted:
                painted = state
                stdscr.erase()
                for row, (text, style) in enumerate(render_styled(document, width, height, current_sort,
                                                                  problem)):
                    try:  # the bottom-right cell cannot be written without an error: ignore it
                        stdscr.addnstr(row, 0, text, width, styles[style])
                    except curses.error:
                        pass
                stdscr.refresh()
            key = stdscr.getch()
            if key in (ord("q"), ord("Q")):
                return 0
            if key in (ord("s"), ord("S")):
                current_sort = order[(order.index(current_sort) + 1) % len(order)]
            elif key == curses.KEY_RESIZE:
                painted = None

    return curses.wrapper(screen)
