"""The duplicate-supervision and report-authenticity pages in headless Chromium: they render without errors or
requests leaving the machine, a drilled link works, and a "not duplicates" mark survives a reload."""
from __future__ import annotations

import pytest

from tests.test_browser import Visit


@pytest.fixture(scope="module")
def quality_server(tmp_path_factory):
    from analytics.bench.server import app_server
    from tests import test_authenticity, test_duplicates

    folder = tmp_path_factory.mktemp("quality_browser")
    db = test_duplicates.build(folder / "dups.duckdb")
    # the authenticity fixture's reports belong to items of its own; the duplicate fixture has none, so the
    # authenticity page is checked on a second server below only for its empty state
    try:
        with app_server(db, log=folder / "app.log") as (base, _):
            yield base, db
    except RuntimeError as e:
        pytest.fail(str(e))


def _metric(v: Visit, label: str) -> str:
    box = v.page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text()


def test_duplicates_page_and_a_mark_that_survives_a_reload(quality_server, browser):
    base, db = quality_server
    v = Visit(browser, base)
    v.open("/duplicates?lang=en")
    assert v.exceptions() == []
    assert _metric(v, "Groups of probable duplicates") == "1 groups"
    v.page.get_by_role("button", name="Mark as “not duplicates”").click()
    v.idle()
    assert v.exceptions() == []
    v.open("/duplicates?lang=en")
    assert _metric(v, "Groups of probable duplicates") == "0 groups"
    assert _metric(v, "Pairs marked “not duplicates”") == "1 pairs"
    v.page.get_by_role("button", name="Undo mark").click()
    v.idle()
    v.open("/duplicates?region=340000")
    assert v.exceptions() == []
    assert _metric(v, "疑似重复组") == "1 组"
    assert v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()


def test_authenticity_page_renders(quality_server, browser):
    base, _ = quality_server
    v = Visit(browser, base)
    v.open("/authenticity?lang=en")
    assert v.exceptions() == []
    body = v.page.inner_text("body")  # this fixture has no reports: the page names the extract it needs
    assert "This page needs data the database does not hold yet" in body and "progress_reports" in body
    v.open("/authenticity")
    assert v.exceptions() == [] and v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()
