"""Text from users and files is shown as text (issue 22, medium 6): every free-text column of the data, a meeting
note and the URL parameters carry Markdown links, images, bare URLs, HTML and a `:material/…:` shortcode; every
page is opened in Chromium and no link, image or icon made from that text appears, and nothing is fetched.
(Chart hover labels appear only under the pointer and are not looked at here.)"""
from __future__ import annotations

from datetime import timedelta

import pytest

sync_api = pytest.importorskip("playwright.sync_api")

from analytics.pages import PAGES  # noqa: E402
from tests.test_browser import WAIT, Visit, expect  # noqa: E402

EVIL = "evil.example"
HOSTILE = (f" [点我](http://{EVIL}/l) ![x](http://{EVIL}/i.png) http://{EVIL}/bare www.{EVIL}/w"
           f" <img src=http://{EVIL}/h.png> <a href='http://{EVIL}/a'>a</a> <b>b</b> :material/bug_report: **粗**")

# every free-text column a file can fill (codes, IDs and choice columns are checked by the contract)
COLUMNS = {
    "policies": ("name",),
    "projects": ("name", "category", "lead_dept", "supervising_unit", "source", "deadline_text", "description",
                 "responsible_leaders"),
    "progress_reports": ("note",),
    "milestones": ("name",),
    "indicators": ("name",),
    "feedback": ("category", "text"),
    "rectifications": ("description", "responsible_dept"),
}

# what the text could turn into, found in the page (SVG anchors of charts included)
_FOUND = """(evil) => {
  const out = [];
  const where = (e) => { const w = e.closest('[data-testid]'); return w ? ' in ' + w.getAttribute('data-testid') : ''; };
  for (const a of document.querySelectorAll('a')) {
    const href = a.getAttribute('href') || a.getAttribute('xlink:href') || '';
    if (href.includes(evil)) out.push('link ' + href + where(a));
  }
  for (const img of document.querySelectorAll('img, image')) {
    const src = img.getAttribute('src') || img.getAttribute('href') || img.getAttribute('xlink:href') || '';
    if (src.includes(evil)) out.push('image ' + src + where(img));
  }
  for (const icon of document.querySelectorAll('[data-testid="stIconMaterial"]')) {
    if (icon.textContent.includes('bug_report')) out.push('icon bug_report' + where(icon));
  }
  return out;
}"""


def _poison(db) -> None:
    from analytics.db import store
    from analytics.meeting import notes
    from analytics.filters import Filters
    from tests.fixture_db import AS_OF

    con = store.connect(db)
    try:
        for table, columns in COLUMNS.items():
            for column in columns:  # names from the constants above
                con.execute(f"UPDATE {table} SET {column} = {column} || $s WHERE {column} IS NOT NULL", {"s": HOSTILE})
        con.execute("UPDATE projects SET co_depts = list_transform(co_depts, lambda d: d || $s)", {"s": HOSTILE})
    finally:
        con.close()
    # a note of last week's meeting, shown beside this week's slide
    notes.save_note(db, "week", Filters(), AS_OF - timedelta(days=7), 1, "overview", "上周" + HOSTILE, "presenter")


@pytest.fixture(scope="module")
def poisoned(fixture_app):
    with fixture_app("browser_markdown", _poison) as base:
        yield base


def test_text_from_files_and_users_is_shown_as_text_on_every_page(poisoned, browser):
    v = Visit(browser, poisoned, width=1280, height=720)
    found = {}
    v.open("/?lang=en")
    links = v.page.locator('[data-testid="stSidebarNav"] a')
    assert links.count() == len(PAGES)
    for i in range(len(PAGES)):  # through the menu (a rerun per page, not a page load); Chinese from the middle on
        if i == len(PAGES) // 2:
            v.page.locator('[data-testid="stSidebar"] [data-testid="stButtonGroup"] button', has_text="中文").click()
            v.idle()
        links.nth(i).click()
        v.idle()
        expect(v.page.locator("h1").first).to_be_visible(timeout=WAIT)
        title = v.page.locator("h1").first.inner_text()
        assert v.exceptions() == [], (title, v.exceptions())
        text = v.main.inner_text()  # issue 17, point 7: no raw None/NaN reaches a reader
        assert "None" not in text and "NaN" not in text, (title, [x for x in text.split("\n") if "None" in x or "NaN" in x])
        if hits := v.page.evaluate(_FOUND, EVIL):
            found[title] = hits
    # the item page of a poisoned item, and the meeting with last week's note
    v.open("/item?lang=en&item=A1")
    expect(v.main).to_contain_text("点我", timeout=WAIT)  # the text is there, as text
    if hits := v.page.evaluate(_FOUND, EVIL):
        found["item A1"] = hits
    # URL parameters the app reports as ignored ("value … ignored"), all in one link
    bad = f"[x](http://{EVIL}/u)%20:material/bug_report:%20http://{EVIL}/b"
    for path in (f"/?lang=en&region={bad}&domain={bad}&period={bad}&priority={bad}",
                 f"/regions?lang=zh&metric={bad}", f"/domains?lang=en&metric={bad}&region={bad}"):
        v.open(path)
        expect(v.page.locator("h1").first).to_be_visible(timeout=WAIT)
        expect(v.main).to_contain_text("evil", timeout=WAIT)  # echoed, as text
        if hits := v.page.evaluate(_FOUND, EVIL):
            found[path] = hits
    assert found == {}, found
    assert v.external == [], v.external
    v.close()
