"""What an operator relies on (issue 18): /healthz, /readyz and /metrics beside the app (server.py), the page-time
histogram and the structured log line of each run (analytics/ops.py)."""
from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

from analytics import ops


def _samples(text: str) -> dict[str, float]:
    """`name{labels}` → value of every sample line of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def test_histogram_counts_each_run_in_every_bucket_at_or_above_its_time():
    reg = ops.Registry()
    for seconds in (0.05, 0.3, 0.3, 2.5, 40.0):
        reg.record("cockpit", seconds, "ok")
    reg.record("regions", 1.0, "error")
    s = _samples(ops.exposition(registry=reg))
    # hand count: ≤0.1 → 1; ≤0.25 → 1; ≤0.5 → 3; ≤1 → 3; ≤2 → 3; ≤3 → 4; ≤5, ≤10, ≤30 → 4; +Inf → 5
    expected = {"0.1": 1, "0.25": 1, "0.5": 3, "1.0": 3, "2.0": 3, "3.0": 4, "5.0": 4, "10.0": 4, "30.0": 4, "+Inf": 5}
    for le, n in expected.items():
        assert s[f'cockpit_page_run_seconds_bucket{{page="cockpit",le="{le}"}}'] == n, le
    assert s['cockpit_page_run_seconds_count{page="cockpit"}'] == 5
    assert s['cockpit_page_run_seconds_sum{page="cockpit"}'] == pytest.approx(43.15)
    assert s['cockpit_page_runs_total{page="cockpit",outcome="ok"}'] == 5
    assert s['cockpit_page_runs_total{page="regions",outcome="error"}'] == 1
    assert s['cockpit_page_run_seconds_bucket{page="regions",le="0.5"}'] == 0
    assert s['cockpit_page_run_seconds_bucket{page="regions",le="1.0"}'] == 1
    assert s["cockpit_page_run_wait_seconds_count"] == 0  # nobody waited yet
    for waited in (0.0, 0.0, 0.7, 4.0):  # what Admission.enter returned for four runs
        reg.waited(waited)
    s = _samples(ops.exposition(registry=reg))
    assert s['cockpit_page_run_wait_seconds_bucket{le="0.1"}'] == 2
    assert s['cockpit_page_run_wait_seconds_bucket{le="1.0"}'] == 3
    assert s['cockpit_page_run_wait_seconds_bucket{le="5.0"}'] == s['cockpit_page_run_wait_seconds_bucket{le="+Inf"}'] == 4
    assert s["cockpit_page_run_wait_seconds_sum"] == pytest.approx(4.7)


def test_exposition_escapes_label_values_and_rejects_unknown_outcomes():
    reg = ops.Registry()
    reg.record('a"b\\c\nd', 0.1, "ok")
    text = ops.exposition({"cockpit_x": ("help", [({"k": 'q"'}, 3)])}, registry=reg)
    assert 'page="a\\"b\\\\c\\nd"' in text
    assert 'cockpit_x{k="q\\""} 3' in text
    assert "# TYPE cockpit_x gauge" in text
    with pytest.raises(ValueError, match="outcome 'done'"):
        reg.record("cockpit", 0.1, "done")


def test_admission_lets_a_few_runs_in_at_a_time_first_come_first_served():
    """COCKPIT_MAX_RUNS: with two places, five runs asked one after the other start in the order asked, never more
    than two at once; a rerun right after a click's rerun on the same thread goes straight in."""
    gate = ops.Admission(2)
    order, most, release = [], [0], threading.Event()
    lock = threading.Lock()

    def run(i: int) -> None:
        gate.enter()
        with lock:
            order.append(i)
            most[0] = max(most[0], gate.running)
        release.wait(5)
        gate.leave()

    threads = []
    for i in range(5):
        threads.append(threading.Thread(target=run, args=(i,)))
        threads[-1].start()
        deadline = time.time() + 5
        while len(order) + gate.waiting < i + 1 and time.time() < deadline:  # the next one asks after this one
            time.sleep(0.01)
    assert order == [0, 1] and gate.waiting == 3 and gate.running == 2
    release.set()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4] and most[0] == 2 and gate.running == 0 and gate.waiting == 0

    # a click's rerun (leave(rerun=True)) is followed at once by the next run on that thread: no second wait
    gate = ops.Admission(1)
    gate.enter()
    other = threading.Thread(target=lambda: (gate.enter(), gate.leave()))
    other.start()
    time.sleep(0.1)
    assert gate.waiting == 1
    gate.leave(rerun=True)
    assert gate.enter() == 0.0  # straight in, even with a run waiting (which then goes next)
    gate.leave()
    other.join(5)
    assert not other.is_alive() and gate.running == 0
    assert ops.Admission(0).enter() == 0.0  # no limit


def test_metrics_say_when_a_process_first_showed_its_newest_version():
    shown = ops.Shown()
    before = time.time()
    shown.saw(2)
    first = shown.since
    assert shown.version == 2 and before <= first <= time.time()
    time.sleep(0.01)
    shown.saw(2)  # a later run on the same version does not move it
    shown.saw(1)  # nor one that started before the commit and finished after
    assert (shown.version, shown.since) == (2, first)
    shown.saw(3)
    assert shown.version == 3 and shown.since > first


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _nice_of(tid: int) -> int:
    import os

    return os.getpriority(os.PRIO_PROCESS, tid)


def test_background_work_runs_at_a_lower_priority_than_page_runs(monkeypatch, tmp_path):
    """Retraining and the worker's warming after a publish lower only their own thread (the scoring of a new version
    that comes first is waited for, and lowered only past the worker's budget), so on a busy machine the
    app processes' page runs come first (at 3 processes × 90 sessions on 2 cores, this work at the same priority kept
    the new version 10.6 s from the last process)."""
    from analytics import worker
    from analytics.risk import jobs as risk_jobs

    monkeypatch.setenv("COCKPIT_BACKGROUND_NICE", "7")
    base = _nice_of(threading.get_native_id())
    seen: dict[str, int] = {}

    t = threading.Thread(target=lambda: seen.__setitem__("helper", ops.lower_this_thread()))
    t.start()
    t.join()
    assert seen["helper"] == min(19, base + 7)
    assert _nice_of(threading.get_native_id()) == base  # the caller's own thread is untouched

    def record(name):
        return lambda *a, **k: seen.__setitem__(name, _nice_of(threading.get_native_id()))

    w = worker.Worker.__new__(worker.Worker)  # after_publish only, without a database
    monkeypatch.setattr(w, "warm", record("warming"), raising=False)
    monkeypatch.setattr(w, "build_marts", record("marts"), raising=False)
    t = threading.Thread(target=w.after_publish, args=(1,))
    t.start()
    t.join()
    assert seen["warming"] == seen["marts"] == min(19, base + 7)

    monkeypatch.setattr(risk_jobs, "score_with_latest", record("scoring"))  # the new version's scores come first
    monkeypatch.setattr(risk_jobs, "publish", record("training"))
    job, started = risk_jobs.start(tmp_path / "x.duckdb", lambda: None)
    for _ in range(100):
        if job.done:
            break
        time.sleep(0.05)
    assert started and job.done and job.error is None, job.error
    assert seen["training"] == min(19, base + 7)
    assert seen["scoring"] == base  # the new version's scores at the commit's priority: the worker's publishing waits

    monkeypatch.setenv("COCKPIT_BACKGROUND_NICE", "0")  # off: nothing changes
    t = threading.Thread(target=lambda: seen.__setitem__("off", (ops.lower_this_thread(),
                                                                  _nice_of(threading.get_native_id()))))
    t.start()
    t.join()
    assert seen["off"] == (None, base)


def test_endpoints_beside_the_running_app(server, browser):
    """The browser tests' app runs as `make run` starts it (server.py): it answers /healthz and /readyz, and a page
    opened in Chromium shows in /metrics as one more run of that page."""
    from tests.test_browser import Visit

    status, text = _get(server + "/healthz")
    assert status == 200 and text.startswith("ok pid=")
    status, text = _get(server + "/readyz")
    ready = json.loads(text)
    assert status == 200 and ready["ready"] is True, ready
    assert ready["checks"]["database"].startswith("ok: version ")
    before = _samples(_get(server + "/metrics")[1])
    v = Visit(browser, server)
    v.open("/regions?lang=en")
    assert v.exceptions() == []
    status, text = _get(server + "/metrics")
    assert status == 200
    after = _samples(text)
    key = 'cockpit_page_runs_total{page="regions",outcome="ok"}'
    assert after.get(key, 0) >= before.get(key, 0) + 1
    assert after["cockpit_sessions"] >= 1
    assert after["cockpit_data_version"] >= 1
    assert after["cockpit_shown_version"] == after["cockpit_data_version"]  # the page just finished showed it
    assert after["cockpit_process_start_time_seconds"] <= after["cockpit_shown_version_since_seconds"] <= time.time()
    assert after["cockpit_page_runs_waiting"] == 0 and after["cockpit_page_runs_running"] >= 0
    assert after['cockpit_outbox_messages{state="failed"}'] == 0
    assert after["cockpit_process_resident_memory_bytes"] > 0
    v.close()


def test_readiness_says_which_dependency_failed(tmp_path):
    """A database that cannot be read: the process is alive (/healthz) but not ready (/readyz 503, saying why), so
    a proxy sends no one to it."""
    from analytics.bench.server import app_server

    bad = tmp_path / "broken.duckdb"
    bad.write_bytes(b"not a duckdb file" * 100)
    with app_server(bad, log=tmp_path / "app.log", wait_for="/healthz") as (base, _):
        status, text = _get(base + "/readyz")
    ready = json.loads(text)
    assert status == 503 and ready["ready"] is False
    assert ready["checks"]["database"].startswith("failed: "), ready
    assert ready["checks"]["runtime"] == "ok"


def test_each_run_writes_one_json_log_line(caplog):
    with caplog.at_level("INFO", logger="cockpit.access"):
        ops.record_run("meeting", 0.42, "stopped", user="王五", role="presenter", data_version=7, session="abc",
                       waited=0.1)
    line = json.loads(caplog.records[-1].getMessage())
    assert line | {"at": None} == {"at": None, "event": "page_run", "page": "meeting", "user": "王五",
                                   "role": "presenter", "outcome": "stopped", "seconds": 0.42, "waited": 0.1,
                                   "data_version": 7, "session": "abc"}


def test_served_processes_share_the_session_so_background_priority_reaches_across_them(tmp_path):
    """`serve` starts each process in a process group of its own (stopped as one) but in serve's session: with a
    session each, Linux's autogroup scheduling gave the worker's nice-19 scoring and retraining a whole process's
    share of the CPU against the app processes' page runs, and the lowered priority did nothing."""
    import os
    import sys

    from analytics import serve

    p = serve.Proc("sleeper", [sys.executable, "-c", "import subprocess, sys, time; "
                               "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"],
                   dict(os.environ), tmp_path / "sleeper.log")
    p.start()
    try:
        assert os.getpgid(p.proc.pid) == p.proc.pid != os.getpgid(0)
        assert os.getsid(p.proc.pid) == os.getsid(0)
    finally:
        p.stop(timeout=5)
    assert not p.alive()
    time.sleep(0.2)
    leftover = [d for d in os.listdir("/proc") if d.isdigit() and _pgid(int(d)) == p.proc.pid]
    assert leftover == []  # the grandchild went with it


def _pgid(pid: int) -> int | None:
    import os

    try:
        return os.getpgid(pid)
    except OSError:
        return None


def test_a_page_that_ends_by_saying_why_has_shown_its_version(app_env, monkeypatch):
    """The item page without an item shows its finder and stops (st.stop), as the risk page does before a new
    version's scores: that run showed the version, so /metrics counts it (issue 18's "published → shown")."""
    from streamlit.testing.v1 import AppTest

    from tests.app_pages import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = "en"
    at.run()  # the cockpit
    monkeypatch.setattr(ops, "SHOWN", ops.Shown())
    at.switch_page("views/item.py").run()
    assert not at.exception and at.session_state["_context"].version >= 1
    assert ops.SHOWN.version == at.session_state["_context"].version and ops.SHOWN.since is not None
