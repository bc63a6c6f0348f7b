"""What an operator watches in a running app process (issue 18): page runs and their times, script errors, and the
structured log line of each run, kept per process and rendered in the Prometheus text format for `/metrics`
(server.py serves it beside the app; docs/deployment.md).

Plain Python: app.py records each run here, server.py's routes read it. Counters live as long as the process, as
Prometheus expects (a restart resets them; the scraper sees the process start time change).
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

STARTED_AT = time.time()
# upper bounds of the page-time histogram, seconds: the 3 s aim of issue 17 sits between two of them
BUCKETS: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
OUTCOMES = ("ok", "stopped", "rerun", "error")
ACCESS_LOG = logging.getLogger("cockpit.access")  # one JSON object per page run; server.py gives it a handler


def lower_this_thread(increment: int | None = None) -> int | None:
    """Lower the scheduling priority of the calling thread only (Linux keeps a nice value per thread), by
    COCKPIT_BACKGROUND_NICE unless `increment` is given: for work nobody waits on at that moment, such as
    retraining the risk model or warming a published version, so that page runs and commits on a busy machine come
    first. Threads the calling thread starts later inherit it. Once lowered a thread cannot raise it again, so call
    it only at the start of a background thread of its own. Returns the thread's new nice value, or None where the
    system does not allow it (nothing changes then)."""
    return lower_thread(threading.get_native_id(), increment)


def lower_thread(tid: int, increment: int | None = None) -> int | None:
    """`lower_this_thread` for the thread of native id `tid` of this process (`threading.get_native_id()`), from
    another thread: work that was waited on and from now on is not (the worker's scoring past its budget)."""
    from analytics import settings

    step = settings.get("COCKPIT_BACKGROUND_NICE") if increment is None else increment
    if step <= 0 or not hasattr(os, "setpriority"):
        return None
    try:
        nice = min(19, os.getpriority(os.PRIO_PROCESS, tid) + step)
        os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError:
        return None
    return nice


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    n: int = 0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.counts[i] += 1
        self.total += seconds
        self.n += 1


class Registry:
    """Counters of one process, safe to update from the script threads of many sessions at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.runs: dict[tuple[str, str], int] = {}
        self.seconds: dict[str, _Histogram] = {}
        self.waits = _Histogram()  # how long runs waited for their turn (Admission), whatever the page

    def record(self, page: str, seconds: float, outcome: str) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome {outcome!r}: expected one of {', '.join(OUTCOMES)}")
        with self._lock:
            self.runs[(page, outcome)] = self.runs.get((page, outcome), 0) + 1
            self.seconds.setdefault(page, _Histogram()).observe(seconds)

    def waited(self, seconds: float) -> None:
        with self._lock:
            self.waits.observe(seconds)

    def snapshot(self) -> tuple[dict[tuple[str, str], int], dict[str, _Histogram], _Histogram]:
        """Copies of the run counts, the page-time histograms and the waits' histogram."""
        def copy(h: _Histogram) -> _Histogram:
            return _Histogram(list(h.counts), h.total, h.n)

        with self._lock:
            return dict(self.runs), {k: copy(h) for k, h in self.seconds.items()}, copy(self.waits)


REGISTRY = Registry()


class Admission:
    """At most `limit` page runs of this process at once; the others wait their turn, first come first served.

    One Python process has one interpreter lock. With 90 sessions' script threads all runnable, each gets it for a
    few milliseconds in turn and every page is slow together (p50 12 s, p95 95 s at 1 process x 90 sessions), some
    threads starve, and the event loop that carries the websockets and `/readyz` waits behind all of them. Admitted
    a few at a time, runs finish in the order asked, and a run pins its data snapshot when admitted, so a commit
    shows on the next page finished, not after every thread already running. A rerun that follows a run ended by
    a click (RerunException) on the same thread within `rerun_grace` s goes straight in: it was admitted already.
    `limit` 0: no limit."""

    def __init__(self, limit: int, rerun_grace: float = 2.0) -> None:
        self.limit, self.rerun_grace = limit, rerun_grace
        self._cond = threading.Condition()
        self._queue: list[object] = []  # tickets of the waiting runs, oldest first
        self.running = 0
        self._thread = threading.local()

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._queue)

    def enter(self) -> float:
        """Wait for a turn; returns the seconds waited."""
        if self.limit <= 0:
            return 0.0
        ended = getattr(self._thread, "rerun_at", None)
        self._thread.rerun_at = None
        started = time.perf_counter()
        with self._cond:
            if ended is not None and started - ended <= self.rerun_grace:
                self.running += 1
                return 0.0
            ticket = object()
            self._queue.append(ticket)
            try:
                self._cond.wait_for(lambda: self._queue[0] is ticket and self.running < self.limit)
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()
            self.running += 1
        return time.perf_counter() - started

    def leave(self, rerun: bool = False) -> None:
        if self.limit <= 0:
            return
        with self._cond:
            self.running -= 1
            self._cond.notify_all()
        self._thread.rerun_at = time.perf_counter() if rerun else None


class Shown:
    """The newest data version a finished run of this process has shown (runs pin a snapshot at their start, so a
    run that started before a commit may finish after one that started after it: the newest is kept), and when
    (seconds since the epoch) a finished run first showed it: `/metrics` says both, so "published → shown on every
    process" is read off each process's own clock, not off how soon someone polling asked. A run the page ended
    with st.stop() counts (the risk page saying the new version has no scores yet shows that version); Streamlit
    raises the same exception when a tab closes mid-run, which these first seconds of a version rarely see."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.version: int | None = None
        self.since: float | None = None

    def saw(self, version: int | None) -> None:
        if version is not None:
            with self._lock:
                if self.version is None or version > self.version:
                    self.version, self.since = version, time.time()


SHOWN = Shown()
_ADMISSION: Admission | None = None
_ADMISSION_LOCK = threading.Lock()


def admission() -> Admission:
    """This process's gate for page runs (COCKPIT_MAX_RUNS, read once)."""
    global _ADMISSION
    with _ADMISSION_LOCK:
        if _ADMISSION is None:
            from analytics import settings

            _ADMISSION = Admission(max(0, settings.get("COCKPIT_MAX_RUNS")))
        return _ADMISSION


def record_run(page: str, seconds: float, outcome: str, *, user: str, role: str, data_version: int | None,
               session: str = "", waited: float = 0.0) -> None:
    """Count one run of the app script (a page view or a rerun after a click) and write its log line. `seconds`
    includes the `waited` for a turn (COCKPIT_MAX_RUNS)."""
    REGISTRY.record(page, seconds, outcome)
    if ACCESS_LOG.isEnabledFor(logging.INFO):
        ACCESS_LOG.info(json.dumps({
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "event": "page_run", "page": page, "user": user,
            "role": role, "outcome": outcome, "seconds": round(seconds, 3), "waited": round(waited, 3),
            "data_version": data_version, "session": session}, ensure_ascii=False))


def _label(value: object) -> str:
    return str(value).replace("\\", r"\\").replace("\n", r"\n").replace('"', r'\"')


def _memory() -> tuple[int, int]:
    """(resident, peak resident) bytes of this process, from /proc (0, 0 where there is none)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return 0, 0


def exposition(gauges: dict[str, tuple[str, list[tuple[dict, float]]]] | None = None,
               registry: Registry = REGISTRY) -> str:
    """The Prometheus text format (version 0.0.4) of this process: its counters and histogram, its memory, and
    `gauges` (name → (help, [(labels, value)])) the caller measured now (sessions, data version, outbox …)."""
    runs, seconds, waits = registry.snapshot()
    rss, peak = _memory()
    out: list[str] = []

    def family(name: str, kind: str, help_: str, samples: list[tuple[str, dict, float]]) -> None:
        out.append(f"# HELP {name} {help_}")
        out.append(f"# TYPE {name} {kind}")
        for sample, labels, value in samples:
            text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
            number = repr(float(value)) if isinstance(value, float) else str(value)
            out.append(f"{sample}{{{text}}} {number}" if text else f"{sample} {number}")

    family("cockpit_process_start_time_seconds", "gauge", "Start time of the process since the epoch, seconds.",
           [("cockpit_process_start_time_seconds", {}, STARTED_AT)])
    family("cockpit_process_resident_memory_bytes", "gauge", "Resident memory of the process, bytes.",
           [("cockpit_process_resident_memory_bytes", {}, rss)])
    family("cockpit_process_peak_resident_memory_bytes", "gauge", "Peak resident memory of the process, bytes.",
           [("cockpit_process_peak_resident_memory_bytes", {}, peak)])
    family("cockpit_page_runs_total", "counter", "Runs of the app script, by page and outcome.",
           [("cockpit_page_runs_total", {"page": p, "outcome": o}, n) for (p, o), n in sorted(runs.items())])
    def histogram(name: str, labels: dict, h: _Histogram) -> list[tuple[str, dict, float]]:
        """One histogram's samples: a bucket per bound, +Inf, sum and count."""
        return [*((f"{name}_bucket", labels | {"le": repr(bound)}, n) for bound, n in zip(BUCKETS, h.counts)),
                (f"{name}_bucket", labels | {"le": "+Inf"}, h.n), (f"{name}_sum", labels, h.total),
                (f"{name}_count", labels, h.n)]

    family("cockpit_page_run_seconds", "histogram", "Time of one run of the app script, by page, seconds "
           "(its wait for a turn included).",
           [s for page, h in sorted(seconds.items()) for s in histogram("cockpit_page_run_seconds", {"page": page}, h)])
    family("cockpit_page_run_wait_seconds", "histogram", "Time a run of the app script waited for its turn "
           "(COCKPIT_MAX_RUNS), seconds.", histogram("cockpit_page_run_wait_seconds", {}, waits))
    for name, (help_, values) in sorted((gauges or {}).items()):
        family(name, "gauge", help_, [(name, labels, value) for labels, value in values])
    return "\n".join(out) + "\n"
