"""The review-meeting page in headless Chromium: keyboard and button navigation, the projector theme, a phone."""
from __future__ import annotations

import pytest

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


@pytest.mark.parametrize("width, height, lang", [(1280, 720, "zh"), (1920, 1080, "en")])
def test_presenter_mode_fits_the_first_slide_on_the_projector(server, browser, width, height, lang):
    """Issue 17, point 10: at 1280×720 the banner, title and controls took ~590 px and only the slide title showed.
    Presenter mode shows the slide alone (no sidebar, header or banner) and slide 1 fits without scrolling."""
    v = Visit(browser, server, width=width, height=height)
    v.open(f"/meeting?lang={lang}&present=1")
    slide = v.page.locator(".st-key-meeting_slide")
    expect(slide).to_be_visible(timeout=WAIT)
    assert v.exceptions() == []
    assert not v.page.locator('[data-testid="stSidebar"]').is_visible()
    box = slide.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, (box, height)  # all of it on the screen
    overflow = v.page.evaluate("""() => { const m = document.querySelector('[data-testid="stMain"]');
        return Math.max(0, (m ? m.scrollHeight : 0) - window.innerHeight); }""")
    assert overflow <= 40, overflow  # nothing to scroll to (the page's own bottom padding aside)
    leave = v.page.get_by_role("button", name="退出演示模式" if lang == "zh" else "Leave presenter mode")
    leave.click()
    v.idle()
    expect(v.page.locator("h1").first).to_be_visible(timeout=WAIT)
    assert "present" not in v.query()
    v.close()
