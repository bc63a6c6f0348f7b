"""In Chromium: with accounts configured the app asks to sign in first; a county user then sees that county
only (numbers, the cascade, the finder), a hand-edited URL does not widen it, and signing out ends it."""
from __future__ import annotations

import re

import pytest

from tests.test_browser import WAIT, Visit, expect

PASSWORD = "Hefei2026abc"


@pytest.fixture(scope="module")
def auth_server(fixture_app):
    from analytics.auth import accounts, store

    made = []

    def with_account(db):
        accounts.add(store.path_for(db), "yaohai", role="leader", by="test", password=PASSWORD,
                     region_codes=["340102"], display_name="瑶海区领导")
        made.append(store.path_for(db))

    with fixture_app("browser_auth", with_account) as base:
        yield base, made[0]


def test_a_county_user_signs_in_and_sees_only_the_county(auth_server, browser):
    from analytics.auth import audit

    base, side = auth_server
    v = Visit(browser, base)
    v.open("/?lang=en&region=110000")  # a link to Beijing, opened before signing in
    main = v.main
    assert "Sign in" in v.page.locator("h1").first.inner_text()
    assert "Supervised items" not in main.inner_text()  # nothing of the data before signing in
    v.page.get_by_label("User name").fill("yaohai")
    v.page.get_by_role("textbox", name="Password").fill("not-the-password1")
    v.page.get_by_role("button", name="Sign in").click()
    v.idle()
    expect(main).to_contain_text("Wrong user name or password", timeout=WAIT)
    v.page.wait_for_timeout(1500)  # a failure makes the next attempt wait a second
    v.page.get_by_label("User name").fill("yaohai")
    v.page.get_by_role("textbox", name="Password").fill(PASSWORD)
    v.page.get_by_role("button", name="Sign in").click()
    v.idle()
    # the view opens on the user's county
    expect(main).to_contain_text("Filters: Anhui / Hefei / Yaohai District", timeout=WAIT)
    text = main.inner_text()
    counts = set(re.findall(r"n = (\d+)", text))
    assert counts == {"0", "1"}, counts  # every KPI counts A1 alone (nationally: up to 5 items)
    assert "110000" in text  # the Beijing link is reported and ignored
    sidebar = v.page.locator('[data-testid="stSidebar"]').inner_text()
    assert "瑶海区领导" in sidebar and "leader" in sidebar and "Scope" in sidebar
    assert v.query().get("region") == ["340102"]
    assert "anyone can see everything" not in text
    v.page.get_by_role("link", name="Item detail").click()
    v.idle()
    # the finder lists A1 alone (the grid is a canvas: its count is the text)
    expect(main).to_contain_text("Rows: 1 ·", timeout=WAIT)
    v.page.get_by_role("button", name="Sign out").click()
    v.idle()
    expect(main).to_contain_text("You are signed out", timeout=WAIT)
    assert "Sign in" in v.page.locator("h1").first.inner_text()
    assert [e.action for e in audit.entries(side)][:3] == ["sign_out", "sign_in", "sign_in_failed"]
    assert audit.verify(side)[2] == []
    assert v.exceptions() == [] and v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()


def test_the_sign_in_page_in_chinese_at_phone_width(auth_server, browser):
    base, _ = auth_server
    v = Visit(browser, base, width=390)
    v.open("/")
    assert "登录" in v.page.locator("h1").first.inner_text()
    assert v.page.get_by_label("用户名").is_visible() and v.page.get_by_role("textbox", name="密码").is_visible()
    assert v.exceptions() == []
    v.close()


def test_a_sign_in_survives_a_reload_and_a_new_tab_until_signed_out_anywhere(auth_server, browser):
    """Served as in production (server.py), a password sign-in becomes an HttpOnly cookie naming a server-side
    session: a reload and a second tab find it signed in; signing out in one tab signs the other out at its next
    run; a reload after that asks again."""
    from analytics.auth import audit

    base, side = auth_server
    v = Visit(browser, base)
    v.page.context.clear_cookies()
    before = len(audit.entries(side))
    v.open("/regions?lang=en")
    v.page.get_by_label("User name").fill("yaohai")
    v.page.get_by_role("textbox", name="Password").fill(PASSWORD)
    v.page.get_by_role("button", name="Sign in").click()
    for _ in range(100):  # the page posts its one-time ticket to /auth/adopt for the cookie
        cookie = next((c for c in v.page.context.cookies() if c["name"] == "cockpit_session"), None)
        if cookie:
            break
        v.page.wait_for_timeout(200)
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/", cookie
    v.idle()
    expect(v.main).to_contain_text("Filters: Anhui / Hefei / Yaohai District", timeout=WAIT)

    v.open("/regions?lang=en")  # a reload: a new Streamlit session, the same sign-in
    expect(v.main).to_contain_text("Filters: Anhui / Hefei / Yaohai District", timeout=WAIT)
    assert "瑶海区领导" in v.page.locator('[data-testid="stSidebar"]').inner_text()
    tab = Visit(browser, base)  # a second tab of the same browser
    tab.open("/?lang=en")
    expect(tab.main).to_contain_text("Filters: Anhui / Hefei / Yaohai District", timeout=WAIT)
    tab.page.get_by_role("button", name="Sign out").click()
    tab.idle()
    expect(tab.main).to_contain_text("You are signed out", timeout=WAIT)

    v.page.get_by_role("link", name="Item detail").click()  # the first tab's next run
    v.idle()
    expect(v.main).to_contain_text("You are signed out", timeout=WAIT)
    assert "Sign in" in v.page.locator("h1").first.inner_text()
    v.open("/regions?lang=en")  # and a reload does not bring the ended session back
    assert "Sign in" in v.page.locator("h1").first.inner_text()
    actions = [e.action for e in audit.entries(side)][: len(audit.entries(side)) - before]
    assert actions.count("sign_in") == 1, actions  # resuming from the cookie is not a new sign-in
    assert "sign_out" in actions
    assert v.exceptions() == [] and tab.exceptions() == [] and v.failed == [] and tab.failed == []
    tab.close()
    v.close()
