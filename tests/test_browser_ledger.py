"""An office's first ledgers through headless Chromium: an empty database for 芜湖市 (init), the September ledger
uploaded on the page (recognised as a ledger, read whole, committed as v1), then October's, whose renamed item is
offered for confirmation and whose missing item is listed, committed as v2 (every page on such data:
tests/test_browser_own_data.py)."""
from __future__ import annotations

import re
from datetime import date

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

from analytics.db import store  # noqa: E402
from tests.ledger_book import book  # noqa: E402
from tests.test_browser import WAIT, Visit, expect  # noqa: E402
from tests.test_ledger import SEPT  # noqa: E402

OCTOBER = {"一、稳增长促发展": [
    ("加快推进老旧小区改造", "市住房城乡建设局", "市财政局", "镜湖区", "张明远", "2026年12月底", "70%", "正在推进", "过半"),
    ("招商引资", "市商务局", None, None, "李卫国", date(2026, 9, 15), "100%", "已办结", "完成"),
], "二、民生保障": [("新建学校", "市教育局", None, None, "赵敏", "2026年第四季度", "10%", "正在推进", "开工")]}


@pytest.fixture(scope="module")
def city_server(tmp_path_factory):
    from analytics.bench.server import app_server

    folder = tmp_path_factory.mktemp("ledger_app")
    db = folder / "wuhu.duckdb"
    store.init(db, "340200", date(2026, 8, 31), "test")
    with app_server(db, env={"COCKPIT_RETRAIN_AFTER_COMMIT": "0"}, log=folder / "app.log") as (base, _):
        yield base, db


def _upload(v: Visit, path) -> None:
    v.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))


def test_the_first_ledgers_of_a_city_through_the_page(city_server, browser, tmp_path):
    base, db = city_server
    september = tmp_path / "9月台账.xlsx"
    september.write_bytes(book(SEPT, title="2026年芜湖市政府重点工作督办台账（截至9月底）", meta=None))
    v = Visit(browser, base, width=1280, height=720)
    v.open("/upload?lang=en")
    assert v.exceptions() == []
    _upload(v, september)
    main = v.main
    expect(main).to_contain_text("is a supervision ledger", timeout=WAIT)
    v.idle()
    text = main.inner_text()
    assert "4 items in 2 sections" in text and "from the title" in text, text
    assert "All 4 rows pass every check." in text, text
    v.page.get_by_role("button", name="Commit", exact=True).click()
    expect(main).to_contain_text("Committed as data version v1", timeout=2 * WAIT)
    v.idle()

    october = tmp_path / "10月台账.xlsx"
    october.write_bytes(book(OCTOBER))
    _upload(v, october)
    expect(main).to_contain_text("Confirm the renamed items", timeout=WAIT)
    v.idle()
    text = main.inner_text()
    assert "1 stored items not in this ledger" in text and "from the 截至日期" in text, text
    assert re.search(r"Renamed\? \(to confirm\)\s+1\b", text), text  # the rename, offered to confirm (a grid)
    v.page.get_by_role("button", name="Commit", exact=True).click()
    expect(main).to_contain_text("Committed as data version v2", timeout=2 * WAIT)
    v.idle()
    assert v.exceptions() == [] and v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()
