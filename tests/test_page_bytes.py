"""scripts/page_bytes.py at the fixture's scale: every page, driven over the app's websocket as a browser
drives it, runs without an exception and sends its whole page (its sizes at scale 10 are in
docs/performance.md). It runs here so that the script cannot rot."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from analytics.pages import PAGES

ROOT = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("page_bytes", ROOT / "scripts" / "page_bytes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_page_runs_over_the_websocket_and_its_bytes_are_counted(server):
    script = _script()
    todo = script.cases()
    assert {page or "cockpit" for page, _, _ in todo} == {p.key for p in PAGES}  # no page left out
    rows = script.measure(server, [c for c in todo if c[1] == "national"])
    assert [(r["page"], r["exception"]) for r in rows if r["exception"]] == []
    by_page = {r["page"]: r for r in rows}
    assert set(by_page) == {p.key for p in PAGES}
    for r in rows:  # a page's text, its charts and tables: more than an empty run's few hundred bytes
        assert 5_000 < r["bytes"] < 5 * 1048576, r
    # the cockpit's map and charts go with it: it sends more than the data page's tables of counts
    assert by_page["cockpit"]["bytes"] > by_page["data"]["bytes"]
