"""One upload through headless Chromium: a GB18030 CSV with a title row, the mapping and checks shown,
the commit, and the header reading the new version at once; then a rollback from the version list."""
from __future__ import annotations

import os

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

from tests.test_browser import WAIT, Visit, expect  # noqa: E402
from tests.test_ingest_support import PROGRESS_HEADER, csv_bytes  # noqa: E402

SHOTS = os.environ.get("UPLOAD_SHOTS")  # a folder to keep screenshots of each step in, when set


def _shot(v: Visit, name: str) -> None:
    if SHOTS:  # Streamlit scrolls inside its main block: a tall window shows all of it
        width = v.page.viewport_size["width"]
        v.page.set_viewport_size({"width": width, "height": 3400 if width > 800 else 6000})
        v.page.wait_for_timeout(500)
        v.page.screenshot(path=os.path.join(SHOTS, f"{name}.png"))
        v.page.set_viewport_size({"width": width, "height": 900})


@pytest.fixture(scope="module")
def upload_server(fixture_app):
    """This module's own app on its own copy of the fixture database: its uploads make new data versions."""
    with fixture_app("browser_upload") as base:
        yield base


def test_one_upload_through_the_browser(upload_server, browser, tmp_path):
    data = csv_bytes([["2026年11月督办事项进度表"], [], PROGRESS_HEADER,
                      ["A1", "2026/11/21", "92", "80", "黄", "<b>按计划</b>"],
                      ["B1", "2026年11月21日", "100", "88", "红", ""]], encoding="gb18030")
    path = tmp_path / "进度.csv"
    path.write_bytes(data)
    v = Visit(browser, upload_server, width=1600)
    v.open("/upload?lang=en")
    assert v.exceptions() == []
    assert v.page.locator("h1").first.inner_text() == "Data upload"
    v.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    main = v.main
    # the file goes up over HTTP before the page asks for a run: wait for what the run draws
    expect(main).to_contain_text("header in row 3", timeout=WAIT)
    v.idle()
    text = main.inner_text()
    assert "encoding GB18030" in text and "header in row 3" in text
    assert "All 2 rows pass every check." in text or "notes" in text
    assert "<b>" not in main.inner_html().replace("&lt;b&gt;", "")  # the cell's markup is never rendered
    _shot(v, "1-checked")
    v.page.get_by_role("button", name="Commit", exact=True).click()
    # the commit runs under a spinner, then a second run shows its outcome: wait for that, however slow
    expect(main).to_contain_text("Committed as data version v2", timeout=2 * WAIT)
    v.idle()
    assert "data version v2" in main.locator('[data-testid="stCaptionContainer"]').first.inner_text()
    _shot(v, "2-committed")
    v.page.get_by_text("Yes, make the data what v1 held").click()
    v.idle()
    v.page.get_by_role("button", name="Restore (roll back / forward)").click()
    expect(main).to_contain_text("Restored as the new data version v3", timeout=2 * WAIT)
    v.idle()
    _shot(v, "3-restored")
    assert v.exceptions() == [] and v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()


def test_a_file_with_problems_in_chinese_on_a_phone(upload_server, browser, tmp_path):
    from tests.test_ingest_support import xlsx_bytes

    data = xlsx_bytes({"进度": [["事项号", "填报日期", "实际进度", "红黄绿评级"], ["A1", "2026/11/21", 180, "紫"],
                                ["B1", "2026-11-21", 88, "红"]]}, title="11月进度")
    path = tmp_path / "进度.xlsx"
    path.write_bytes(data)
    v = Visit(browser, upload_server, width=390)
    v.open("/upload")
    v.page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    main = v.main
    expect(main).to_contain_text("发现 3 个错误", timeout=WAIT)  # (the file goes up before the run: see above)
    v.idle()
    _shot(v, "4-phone-unmapped")
    text = main.inner_text()
    assert "表头在第 3 行" in text and "发现 3 个错误" in text  # 事项号 is not a header we know: a required column is missing
    assert v.exceptions() == [] and v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()
