"""The review-meeting page in headless Chromium: keyboard and button navigation, the projector theme, a phone."""
from __future__ import annotations

from tests.test_browser import WAIT, Visit, expect

SLIDE = '[class*="st-key-meeting_slide"]'


def _title(v: Visit) -> str:
    return v.page.locator(f"{SLIDE} h2.mt-title").first.inner_text()


def _wait_for_title(v: Visit, title: str) -> None:
    """The slide a key or a button asked for, once the run has drawn it."""
    expect(v.page.locator(f"{SLIDE} h2.mt-title").first).to_have_text(title, use_inner_text=True, timeout=WAIT)


def test_keys_and_buttons_move_through_the_slides_offline(server, browser):
    v = Visit(browser, server, width=1920, height=1080)
    v.open("/meeting?lang=en")
    assert v.exceptions() == []
    assert _title(v) == "Overview"
    v.page.locator(f"{SLIDE} p.mt-narrative").first.click()  # focus the page, not a text box
    v.page.keyboard.press("ArrowRight")
    v.idle()
    _wait_for_title(v, "Red and worsening items")
    assert v.query()["slide"] == ["attention"]
    v.page.keyboard.press("End")
    v.idle()
    _wait_for_title(v, "Decisions to record")
    v.page.get_by_role("button", name="Previous").click()
    v.idle()
    _wait_for_title(v, "Public feedback")
    assert "Slide 6 of 7" in v.page.inner_text('[data-testid="stMain"]')
    assert v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()


def test_the_projector_theme_is_white_on_black(server, browser):
    v = Visit(browser, server, width=1920)
    v.open("/meeting")
    before = v.page.locator(SLIDE).first.evaluate("e => getComputedStyle(e).backgroundColor")
    v.page.get_by_text("投影高对比度").click()
    v.idle()
    expect(v.page.locator(SLIDE).first).to_have_css("background-color", "rgb(0, 0, 0)", timeout=WAIT)
    after = v.page.locator(SLIDE).first.evaluate("e => getComputedStyle(e).backgroundColor")
    colour = v.page.locator(f"{SLIDE} p.mt-narrative").first.evaluate("e => getComputedStyle(e).color")
    assert before == "rgb(255, 255, 255)" and after == "rgb(0, 0, 0)" and colour == "rgb(255, 255, 255)"
    assert v.exceptions() == []
    v.close()


def test_phone_width_renders_the_slide(server, browser):
    v = Visit(browser, server, width=390)
    v.open("/meeting?lang=en&slide=rectification")
    assert v.exceptions() == []
    assert _title(v) == "Rectification"
    assert v.page.get_by_text("Overdue rectifications not closed").first.is_visible()
    v.close()
