"""In Chromium: selecting a row of a list of items opens its detail page, filters and language kept."""
from __future__ import annotations

from tests.test_browser import WAIT, Visit, expect


def test_selecting_a_needs_attention_row_opens_the_item(server, browser):
    v = Visit(browser, server)
    v.open("/?lang=en&priority=key")
    grid = v.page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    v.page.wait_for_timeout(800)
    box = grid.bounding_box()
    # the grid is drawn on a canvas: the first row's selection box sits left of the first column, below the header
    v.page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
    expect(v.page.locator("h1").first).to_have_text("Item detail", use_inner_text=True, timeout=WAIT)
    v.idle()
    q = v.query()
    assert q.get("item") == ["B1"] and q.get("priority") == ["key"] and q.get("lang") == ["en"]
    main = v.page.locator('[data-testid="stMain"]').inner_text()
    assert "老旧小区改造" in main and "overdue by 53 days" in main
    tab = v.page.get_by_role("tab", name="Rectifications (1)")
    tab.click()
    expect(tab).to_have_attribute("aria-selected", "true")
    # the tab's own panel (not the page: other tables stay mounted beside it); st.dataframe draws on a canvas,
    # but glide-data-grid keeps an accessible copy of the rows on screen in the canvas: a table of gridcells
    panel = v.page.locator(f'[role="tabpanel"][aria-labelledby="{tab.get_attribute("id")}"]')
    grid = panel.locator('[data-testid="stDataFrame"] table[role="grid"]')
    expect(grid.locator('td[role="gridcell"]').first).to_have_text("R1", timeout=WAIT)
    expect(grid).to_have_attribute("aria-rowcount", "2")  # the header and B1's one rectification
    header, *rows = grid.evaluate(
        "t => [...t.querySelectorAll('tr[role=row]')].map(r => [...r.children].map(c => c.textContent))")
    shown = dict(zip(header, rows[0]))
    assert {k: shown.get(k) for k in ("Rectification ID", "Status", "Found", "Deadline", "Closed", "Overdue",
                                      "Problem")} == {
        "Rectification ID": "R1", "Status": "in progress", "Found": "2026-07-15", "Deadline": "2026-08-15",
        "Closed": "", "Overdue": "⚠ yes", "Problem": "施工进度滞后于计划"}, shown
    v.page.get_by_role("button", name="Back to search").click()
    v.idle()
    assert "item" not in v.query() and v.page.get_by_text("Find an item").first.is_visible()
    assert v.exceptions() == [] and v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()
