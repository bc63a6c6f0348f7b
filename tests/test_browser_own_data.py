"""The app on an office's own data: a database made by `init` for 芜湖市 and the three example ledgers; every page
opened in Chromium at a projector's 1280×720 (no exception, no None/NaN, nothing fetched from outside) and in both
languages under AppTest; the cockpit opening on the city with the ledgers' numbers."""
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

    # read-only, so the AppTest runs below can open the same file beside it
    with app_server(own_db, env={"COCKPIT_RETRAIN_AFTER_COMMIT": "0", "COCKPIT_DB_WRITABLE": "0"},
                    log=own_db.with_name("app.log")) as (base, _):
        yield base


def test_every_page_opens_on_own_data(own_server, browser):
    """Every page in Chromium, the languages alternating page by page (the suite's time budget: each visit costs
    about two seconds); the next test opens every page in both languages under AppTest."""
    v = Visit(browser, own_server, width=1280, height=720)
    for n, p in enumerate(PAGES):
        lang = ("zh", "en")[n % 2]
        v.open(f"/{p.key}?lang={lang}")
        expect(v.page.locator("h1").first).to_be_visible(timeout=WAIT)
        assert v.exceptions() == [], (p.key, lang, v.exceptions())
        text = v.main.inner_text()
        assert "Traceback" not in text and "NaN" not in text and "None" not in text, (p.key, lang)
    assert v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()


def test_every_page_in_both_languages_under_apptest(own_db, monkeypatch):
    from tests.app_pages import open_page

    monkeypatch.setenv("COCKPIT_DB", str(own_db))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")  # the browser test's server has the file open read-only
    for p in PAGES:
        for lang in ("zh", "en"):
            at = open_page(p.key, lang)  # raises on any exception the page shows
            shown = [str(getattr(e, "value", "")) for kind in ("markdown", "caption", "info", "warning", "error")
                     for e in getattr(at, kind)]
            assert not any("Traceback" in x or "NaN" in x for x in shown), (p.key, lang)


def test_the_cockpit_opens_on_the_home_city_with_the_ledgers_numbers(own_server, browser):
    v = Visit(browser, own_server, width=1280, height=720)
    v.open("/?lang=zh")
    text = v.main.inner_text()
    assert "当前筛选：安徽省 / 芜湖市" in text and "数据版本 v3" in text  # opens on the home city, not the nation
    assert "24.2%" in text and "n = 33" in text  # red share: the 8 red of 33 lit items tests/test_own_data counts
    assert "尚未上传整改台账" in text  # a card of a table never uploaded says so
    v.close()
