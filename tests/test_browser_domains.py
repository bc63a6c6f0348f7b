"""The domains page in headless Chromium: a click on a heatmap cell filters to it (the real event path:
plotly's click on the invisible cell layer, Streamlit's selection, the filter bar and the URL)."""
from __future__ import annotations

from tests.test_browser import WAIT, Visit

# the pixel centre of cell (row, col) of the chart-th heatmap on the page, from plotly's own axes
_CELL_CENTRE = """([chart, row, col]) => {
    const gd = document.querySelectorAll('.js-plotly-plot')[chart];
    const L = gd._fullLayout;
    const box = gd.getBoundingClientRect();
    const x = L.xaxis._offset + L.xaxis.d2p(col), y = L.yaxis._offset + L.yaxis.d2p(row);
    return [box.left + x, box.top + y];
}"""
_DRAWN = """(chart) => {
    const gd = document.querySelectorAll('.js-plotly-plot')[chart];
    return !!(gd && gd._fullLayout && gd._fullLayout.xaxis);
}"""


def _click_cell(v: Visit, chart: int, row: str, col: str, param: str, value: str) -> None:
    """Click the cell, then wait until the run it asks for has set `param` to `value` in the URL."""
    v.page.locator('.cockpit-chart').nth(chart).scroll_into_view_if_needed()
    v.page.wait_for_function(_DRAWN, arg=chart, timeout=WAIT)
    x, y = v.page.evaluate(_CELL_CENTRE, [chart, row, col])
    v.page.mouse.move(x - 3, y - 3)
    v.page.mouse.move(x, y)
    v.page.wait_for_timeout(300)  # plotly's hover picks the cell that the click then selects
    v.page.mouse.click(x, y)
    v.wait_for_query(param, value)
    v.idle()


def test_clicking_a_domain_region_cell_filters_to_it(server, browser):
    v = Visit(browser, server)
    v.open("/domains?lang=en")
    assert v.exceptions() == []
    _click_cell(v, 0, "Business environment", "Anhui", "region", "340000")
    assert v.query().get("region") == ["340000"]
    assert v.query().get("domain") == ["营商环境"]
    assert v.exceptions() == [] and v.external == []
    v.close()


def test_clicking_a_region_month_cell_sets_region_and_period(server, browser):
    v = Visit(browser, server)
    v.open("/domains?lang=en")
    v.page.get_by_role("tab", name="Region × month").click()  # its heatmap runs when its tab is chosen
    v.page.locator('.cockpit-chart').first.wait_for(timeout=WAIT)
    v.idle()
    _click_cell(v, 0, "Beijing", "Oct", "period", "2026-10")  # months read as words: "Dec 2025", "Jan 2026", …, "Oct"
    assert v.query().get("region") == ["110000"] and v.query().get("period") == ["2026-10"]
    assert "domain" not in v.query()
    assert v.exceptions() == [] and v.external == []
    v.close()
