"""The first start with no database, in Chromium: the choice between the demo and the office's own data, the home
region found by typing its name, the empty database made for it and the upload page with its guide; on a server,
COCKPIT_HOME_REGION makes the same database without asking; an unknown code there is named in the error."""
from __future__ import annotations

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

from analytics.db import store  # noqa: E402
from tests.app_pages import ROOT  # noqa: E402
from tests.test_browser import WAIT, Visit, expect  # noqa: E402


def _server(tmp_path, env):
    from analytics.bench.server import app_server

    return app_server(tmp_path / "office.duckdb", env={"COCKPIT_RETRAIN_AFTER_COMMIT": "0"} | env,
                      log=tmp_path / "app.log")


def test_the_first_start_offers_the_demo_or_our_own_data_and_opens_the_upload_page(tmp_path, browser):
    db = tmp_path / "office.duckdb"
    with _server(tmp_path, {}) as (base, _):
        v = Visit(browser, base, width=1280, height=720)
        v.open("/?lang=en")
        main = v.main
        expect(main).to_contain_text("how do you want to start?", timeout=WAIT)
        text = main.inner_text()
        assert "Explore the demo" in text and "Start with our own data" in text
        assert not db.exists()  # nothing is made before the choice
        v.page.get_by_role("combobox").or_(v.page.locator('[data-testid="stSelectbox"]')).first.click()
        v.page.keyboard.type("芜湖")
        v.page.get_by_role("option", name="安徽省 › 芜湖市 (340200)").click()
        v.idle()
        v.page.get_by_role("button", name="Create the empty database").click()
        expect(main).to_contain_text("How to start", timeout=2 * WAIT)
        v.idle()
        assert v.page.locator("h1").first.inner_text() == "Data upload"
        assert "Filters: Anhui / Wuhu" in main.inner_text()
        assert v.exceptions() == [] and v.external == [] and v.failed == []
        v.open("/?lang=zh")  # the cockpit of an empty database says what to upload
        expect(v.main).to_contain_text("本页需要的数据库中尚无数据", timeout=WAIT)
        v.close()
    con = store.connect(db, read_only=True)
    try:
        assert store.home_region(con) == "340200" and store.current_version(con)[0] == 0
    finally:
        con.close()


def test_a_server_with_a_home_region_setting_makes_the_database_without_asking(tmp_path, browser):
    with _server(tmp_path, {"COCKPIT_HOME_REGION": "340200"}) as (base, _):
        v = Visit(browser, base, width=390, height=844)  # a phone
        v.open("/?lang=zh")
        expect(v.main).to_contain_text("如何开始", timeout=2 * WAIT)
        v.idle()
        assert v.page.locator("h1").first.inner_text() == "数据上传"
        assert v.exceptions() == []
        v.close()
    con = store.connect(tmp_path / "office.duckdb", read_only=True)
    try:
        assert store.home_region(con) == "340200"
    finally:
        con.close()


def test_an_unknown_home_region_setting_is_named(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("COCKPIT_DB", str(tmp_path / "office.duckdb"))
    monkeypatch.setenv("COCKPIT_HOME_REGION", "999999")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception
    assert any("COCKPIT_HOME_REGION=999999" in e.value for e in at.error)
    assert not (tmp_path / "office.duckdb").exists()


def test_the_demo_stays_one_click_away(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    db = tmp_path / "demo.duckdb"
    monkeypatch.setenv("COCKPIT_DB", str(db))
    monkeypatch.setenv("COCKPIT_DEMO_SCALE", "0.02")
    monkeypatch.setenv("COCKPIT_DEMO_AS_OF", "2026-11-22")
    monkeypatch.setenv("COCKPIT_RETRAIN_AFTER_COMMIT", "1")  # as on a real first start
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception and not db.exists()
    at.button(key="setup_demo").click().run()
    assert not at.exception, [e.value for e in at.exception]
    con = store.connect(db, read_only=True)
    try:
        assert store.home_region(con) is None  # the demo is national
        assert con.execute("SELECT count(*) FROM projects").fetchall()[0][0] > 100
    finally:
        con.close()
    # issue 17, point 13: the demo arrives with its slip-risk model, trained and scored in the background
    import time

    from analytics.risk import jobs, scores

    job = jobs.current(str(db))
    assert job is not None
    deadline = time.monotonic() + 120
    while not job.done and time.monotonic() < deadline:
        time.sleep(0.5)
    assert job.done and job.error is None, job.error
    assert scores.load_meta(db, 1)["n_scored"] > 0
