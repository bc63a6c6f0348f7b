"""In Chromium: a row of the rectification ledger opens the item it concerns, filters and language kept."""
from __future__ import annotations

from tests.test_browser import WAIT, Visit, expect


def test_selecting_an_overdue_rectification_opens_its_item(server, browser):
    v = Visit(browser, server)
    v.open("/rectifications?lang=en&region=110000")
    assert v.page.locator("h1").first.inner_text() == "Rectification ledger"
    grid = v.page.locator('[data-testid="stDataFrame"]').first  # the overdue tab, shown first
    grid.scroll_into_view_if_needed()
    v.page.wait_for_timeout(800)
    box = grid.bounding_box()
    v.page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the first row's selection box (a canvas grid)
    expect(v.page.locator("h1").first).to_have_text("Item detail", use_inner_text=True, timeout=WAIT)
    v.idle()
    q = v.query()
    assert q.get("item") == ["B1"] and q.get("region") == ["110000"] and q.get("lang") == ["en"]
    assert v.exceptions() == [] and v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()


def test_the_feedback_page_draws_offline(server, browser):
    v = Visit(browser, server)
    v.open("/feedback?lang=en")
    assert v.page.locator("h1").first.inner_text() == "Public feedback"
    main = v.page.locator('[data-testid="stMain"]').inner_text()
    assert "Feedback disagreeing with reported progress" in main and "Most frequent phrases" in main
    # its three charts, drawn by ui/charts.py with the cartesian build of plotly.js from the app's own server
    v.page.wait_for_function("() => document.querySelectorAll('.cockpit-chart').length === 3 && [...document"
                             ".querySelectorAll('.cockpit-chart')].every(c => c.querySelector('svg.main-svg'))",
                             timeout=WAIT)
    assert v.page.evaluate("() => window.Plotly.version") == "4.1.1"
    names = v.page.evaluate("() => [...document.querySelectorAll('.cockpit-chart')].map(c => c.getAttribute('role') "
                            "+ ':' + c.getAttribute('aria-label'))")
    assert names[1:] == ["figure:Complaints (count)", "figure:Complaints by category"], names
    loaded = v.page.evaluate("() => performance.getEntriesByType('resource').map(r => r.name)")
    assert [u for u in loaded if "/cockpit-static/plotly-cartesian-4.1.1.min.js" in u], loaded
    assert v.page.locator('[data-testid="stPlotlyChart"]').count() == 0  # Streamlit's full plotly.js not loaded
    assert v.exceptions() == [] and v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()


def test_a_chart_whose_script_cannot_load_says_so(server, browser):
    """ui/charts.py: when the charts' plotly.js cannot be fetched (a proxy that drops /cockpit-static, a network
    cut mid-load), each chart's place says what happened and what to do, in the reader's language, instead of
    staying blank."""
    v = Visit(browser, server)
    v.page.route("**/cockpit-static/**", lambda route: route.abort())
    v.open("/feedback?lang=zh")
    failed = v.page.locator(".cockpit-chart-failed")
    expect(failed).to_have_count(3, timeout=WAIT)
    assert failed.first.inner_text() == "图表未能加载，请刷新页面。"
    assert v.exceptions() == [] and v.external == []
    v.close()
