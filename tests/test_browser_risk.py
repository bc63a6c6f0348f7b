"""The risk page in headless Chromium: training from the button runs in the background with progress,
the page stays usable meanwhile, and the new model's card (numbers, reliability chart, finish dates' check) appears."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.test_browser import Visit, expect


@pytest.fixture(scope="module")
def demo_server(demo_small_path, tmp_path_factory):
    """The app on a copy of the small demo database with no model trained yet."""
    db = tmp_path_factory.mktemp("browser_risk") / "demo.duckdb"
    shutil.copy(demo_small_path, db)
    from analytics.bench.server import app_server

    try:
        with app_server(db, env={"COCKPIT_DB_WRITABLE": "0"}, log=tmp_path_factory.mktemp("log") / "app.log") as (base, _):
            yield base, db
    except RuntimeError as e:
        pytest.fail(str(e))


def test_training_runs_in_the_background_and_the_card_appears(demo_server, browser):
    base, db = demo_server
    v = Visit(browser, base)
    v.open("/risk?lang=en")
    main = v.page.locator('[data-testid="stMain"]')
    v.page.get_by_text("No slip-risk model").first.wait_for(timeout=60_000)
    v.page.get_by_role("button", name="Train the model").click()
    v.page.get_by_text("Training the slip-risk model in the background").first.wait_for(timeout=90_000)
    v.page.locator('[data-testid="stProgress"], [role="progressbar"]').first.wait_for(timeout=90_000)
    # one training at a time; waits, since the rerun draws the progress before it reaches the button
    expect(v.page.get_by_role("button", name="Train the model")).to_be_disabled(timeout=30_000)
    # the page stays usable meanwhile: switching the language reruns it, and the progress is still shown
    v.page.locator('[data-testid="stButtonGroup"] button', has_text="中文").click()
    v.page.get_by_text("正在后台训练延误风险模型").first.wait_for(timeout=90_000)
    v.page.get_by_text("新模型已就绪").first.wait_for(timeout=180_000)
    v.idle()
    assert list(Path(str(db) + ".models").glob("risk-v1-*.skops"))
    tab = v.page.get_by_role("tab", name="模型说明（供分析人员）")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    text = main.inner_text()
    assert "在预警名额内，模型精确率为" in text and "提前量中位数" in text  # the verdict (tables are canvas)
    panel = v.page.locator('[role="tabpanel"]:visible')
    # metrics, the rule comparison, and the finish dates' holdout check overall and by domain (issue 21)
    assert panel.locator('[data-testid="stDataFrame"]').count() == 4
    assert "完成日期预测的检验" in text and "八成把握日期之前完成的占" in text
    chart = panel.locator('.cockpit-chart')  # ui/charts.py: the card's reliability curve (the S-curve is another tab)
    chart.first.scroll_into_view_if_needed()
    assert chart.count() == 1 and chart.first.is_visible()
    assert v.exceptions() == []
    assert v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()
