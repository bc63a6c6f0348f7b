"""A served deployment in Chromium (issue 18): Caddy in front of two app processes and the worker. An upload through
the proxy is committed by the worker and every process shows the new version; kill -9 of the process a signed-in
browser is on moves it to the other one, still signed in; the killed process is started again."""
from __future__ import annotations

import json
import os
import signal
import time
import urllib.request

import pytest

from analytics.bench.server import free_port
from tests import fixture_db
from tests.test_browser import WAIT, Visit, expect
from tests.test_ingest_support import PROGRESS_HEADER, csv_bytes

PASSWORD = "Chaohu9lakeshore"


def _json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def _sessions(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        line = next(x for x in r.read().decode().splitlines() if x.startswith("cockpit_sessions "))
    return float(line.split()[1])


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    from analytics import serve
    from analytics.auth import accounts, store

    serve.caddy_binary()  # requirements-serve.txt (in the dev requirements): fail clearly when it is missing
    folder = tmp_path_factory.mktemp("served")
    db = fixture_db.build(folder / "fixture.duckdb")
    accounts.add(store.path_for(db), "hefei", role="steward", by="test", password=PASSWORD, region_codes=["340100"],
                 display_name="合肥数据专员")
    d = serve.Deployment(db, 2, free_port(), app_ports=[free_port(), free_port()], log=lambda s: None)
    try:
        d.start(timeout=120)
        yield d
    finally:
        d.stop()


def _sign_in(v: Visit) -> None:
    v.page.get_by_label("User name").fill("hefei")
    v.page.get_by_role("textbox", name="Password").fill(PASSWORD)
    v.page.get_by_role("button", name="Sign in").click()
    v.idle()
    expect(v.main).to_contain_text("Filters: Anhui / Hefei", timeout=WAIT)


def test_an_upload_through_the_proxy_is_published_to_every_process(deployment, browser, tmp_path):
    d = deployment
    base = f"http://127.0.0.1:{d.port}"
    assert _json(base + "/readyz")["ready"] is True
    v = Visit(browser, base, width=1600)
    v.page.context.clear_cookies()
    v.open("/upload?lang=en")
    _sign_in(v)
    v.open("/upload?lang=en")
    path = tmp_path / "进度.csv"
    path.write_bytes(csv_bytes([PROGRESS_HEADER, ["A1", "2026-11-21", "92", "80", "黄", ""]]))
    v.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    expect(v.main).to_contain_text("All 1 rows pass every check", timeout=WAIT)
    v.idle()
    committed_at = time.monotonic()
    v.page.get_by_role("button", name="Commit", exact=True).click()
    expect(v.main).to_contain_text("Committed as data version v2", timeout=2 * WAIT)
    v.idle()
    assert "data version v2" in v.main.locator('[data-testid="stCaptionContainer"]').first.inner_text()
    while True:  # every app process serves the new version soon after the commit (target: 10 s)
        versions = [_json(f"http://127.0.0.1:{p}/readyz")["checks"]["database"] for p in d.app_ports]
        if all(x.startswith("ok: version 2") for x in versions):
            break
        assert time.monotonic() - committed_at < 10, versions
        time.sleep(0.2)
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        metrics = r.read().decode()
    assert "cockpit_worker_up 1" in metrics and "cockpit_published_version 2" in metrics
    assert 'cockpit_jobs{state="done"} 1' in metrics
    assert v.exceptions() == [] and v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()


def test_kill_9_of_a_browsers_process_moves_it_to_another_still_signed_in(deployment, browser):
    d = deployment
    base = f"http://127.0.0.1:{d.port}"
    v = Visit(browser, base)
    v.page.context.clear_cookies()
    v.open("/?lang=en")
    _sign_in(v)
    busy = [a for a, p in zip(d.apps, d.app_ports) if _sessions(p) >= 1]
    assert len(busy) == 1, [(_sessions(p)) for p in d.app_ports]  # sticky: one browser, one process
    victim = busy[0]
    os.killpg(victim.proc.pid, signal.SIGKILL)
    victim.proc.wait(10)
    # Streamlit's page reconnects by itself; the proxy sends it to the live process, whose run finds the cookie
    expect(v.main).to_contain_text("Filters: Anhui / Hefei", timeout=2 * WAIT)
    v.idle()
    sidebar = v.page.locator('[data-testid="stSidebar"]').inner_text()
    assert "合肥数据专员" in sidebar and "Sign in" not in v.page.locator("h1").first.inner_text()
    assert d.supervise_once() == [victim.name]  # started again
    for _ in range(150):
        try:
            if _json(f"http://127.0.0.1:{d.app_ports[d.apps.index(victim)]}/readyz")["ready"]:
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        pytest.fail("the restarted process did not become ready")
    assert v.exceptions() == [] and v.external == []
    v.close()


def test_the_proxy_serves_the_charts_script_itself(deployment):
    """ui/charts.py's plotly.js build comes from the proxy (analytics/serve.py), like Streamlit's own files: cached
    for good, compressed, and no app process spends its event loop on 1.5 MB."""
    from ui import charts

    request = urllib.request.Request(f"http://127.0.0.1:{deployment.port}/cockpit-static/{charts.PLOTLY_JS}",
                                     headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=10) as r:
        headers = {k.lower(): v for k, v in r.headers.items()}
        body = r.read()
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["content-encoding"] == "gzip" and "javascript" in headers["content-type"]
    assert "etag" in headers and "x-content-type-options" not in headers  # Caddy's file server, not server.py
    assert len(body) < 600_000
