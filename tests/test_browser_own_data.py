"""The app on an office's own data: a database made by `init` for 芜湖市 and the three example ledgers; every page
opened in Chromium at a projector's 1280×720 in both languages (no exception, no None/NaN, nothing fetched from
outside); the cockpit opening on the city with the ledgers' numbers."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

from analytics.db import store, versions  # noqa: E402
from analytics.ingest import ledger, pipeline  # noqa: E402
from analytics.pages import PAGES  # noqa: E402
from tests.test_browser import WAIT, Visit, expect  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


def build(db: Path) -> None:
    """init + the three ledgers, through the same calls as `python -m analytics ingest`."""
    store.init(db, "340200", date(2026, 8, 1), "test")
    con = store.connect(db)
    try:
        for path in sorted(EXAMPLES.glob("wuhu-*.xlsx")):
            up = pipeline.read(path.read_bytes(), path.name)
            read = ledger.read(con, up.ledger, path.name, up.sha256, "340200")
            out = versions.commit(con, ledger.to_changes(read), who="test", file_name=path.name, sha256=up.sha256,
                                  as_of=read.as_of, db_path=str(db), retrain=False)
            assert out.status == "committed"
    finally:
        con.close()


@pytest.fixture(scope="module")
def own_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("own_data_app") / "wuhu.duckdb"
    build(db)
    return db


@pytest.fixture(scope="module")
def own_server(own_db):
    from analytics.bench.server import app_server

    # read-only: what is checked here only reads
    with app_server(own_db, env={"COCKPIT_RETRAIN_AFTER_COMMIT": "0", "COCKPIT_DB_WRITABLE": "0"},
                    log=own_db.with_name("app.log")) as (base, _):
        yield base


def test_every_page_opens_on_own_data_in_both_languages(own_server, browser):
    """Every page in Chromium in both languages: one session goes through the menu, page by page, switches the
    language and goes through it again (a menu click costs a rerun, not a page load, so both sweeps together take
    about what one sweep of fresh page loads did)."""
    v = Visit(browser, own_server, width=1280, height=720)
    v.open("/?lang=zh")
    links = v.page.locator('[data-testid="stSidebarNav"] a')
    n = links.count()
    assert n == len(PAGES), n
    seen = []
    for lang, other in (("zh", "English"), ("en", None)):
        for i in range(n):
            links.nth(i).click()
            v.idle()
            expect(v.page.locator("h1").first).to_be_visible(timeout=WAIT)
            assert v.exceptions() == [], (i, lang, v.exceptions())
            text = v.main.inner_text()
            assert "Traceback" not in text and "NaN" not in text and "None" not in text, (i, lang)
            seen.append((lang, v.page.locator("h1").first.inner_text()))
        if other:
            v.page.locator('[data-testid="stSidebar"] [data-testid="stButtonGroup"] button', has_text=other).click()
            v.idle()
    assert len({title for lang, title in seen if lang == "zh"}) >= n - 1  # a title per page (upload may share)
    assert any(lang == "en" and title == "Cockpit" for lang, title in seen), seen
    assert v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()


def test_the_cockpit_opens_on_the_home_city_with_the_ledgers_numbers(own_server, browser):
    v = Visit(browser, own_server, width=1280, height=720)
    v.open("/?lang=zh")
    text = v.main.inner_text()
    assert "当前筛选：安徽省 / 芜湖市" in text and "数据版本 v3" in text  # opens on the home city, not the nation
    assert "24.2%" in text and "n = 33" in text  # red share: the 8 red of 33 lit items tests/test_own_data counts
    assert "尚未上传整改台账" in text  # a card of a table never uploaded says so
    v.close()
