"""What an operator relies on (issue 18): /healthz, /readyz and /metrics beside the app (server.py), the page-time
histogram and the structured log line of each run (analytics/ops.py)."""
from __future__ import annotations

import json
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


def test_exposition_escapes_label_values_and_rejects_unknown_outcomes():
    reg = ops.Registry()
    reg.record('a"b\\c\nd', 0.1, "ok")
    text = ops.exposition({"cockpit_x": ("help", [({"k": 'q"'}, 3)])}, registry=reg)
    assert 'page="a\\"b\\\\c\\nd"' in text
    assert 'cockpit_x{k="q\\""} 3' in text
    assert "# TYPE cockpit_x gauge" in text
    with pytest.raises(ValueError, match="outcome 'done'"):
        reg.record("cockpit", 0.1, "done")


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


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
        ops.record_run("meeting", 0.42, "stopped", user="王五", role="presenter", data_version=7, session="abc")
    line = json.loads(caplog.records[-1].getMessage())
    assert line | {"at": None} == {"at": None, "event": "page_run", "page": "meeting", "user": "王五",
                                   "role": "presenter", "outcome": "stopped", "seconds": 0.42, "data_version": 7,
                                   "session": "abc"}
