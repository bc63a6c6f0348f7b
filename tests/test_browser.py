"""The app in headless Chromium (Debian's, driven by Playwright; no browser download).

Skipped when Chromium is missing on a developer machine; on CI (CI=true) a missing browser fails (the `browser`
fixture, tests/conftest.py). One app server on the fixture database (`server`) and one Chromium serve every
module that only reads; each test opens a page of its own.
"""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import pytest
from google.protobuf.message import DecodeError
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

WAIT = 60_000  # ms: how long a test waits for what a run draws (a loaded CI machine is slow, a passing test is not)
MAIN = '[data-testid="stMain"]'

# busy in the page: not connected, a run going or requested, or a part still loading
_BUSY = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !app || app.dataset.testConnectionState !== 'CONNECTED'
        || !['notRunning', 'compilationError'].includes(app.dataset.testScriptState)
        || document.querySelector('[data-testid="stSkeleton"], [data-testid="stAppSkeleton"]') !== null;
}"""


def _parse(kind, payload):
    """A websocket frame as a Streamlit message of `kind`, or None (a text frame, or not one of ours)."""
    try:
        return kind.FromString(payload) if isinstance(payload, bytes) else None
    except DecodeError:
        return None


class Visit:
    """A page of the app with every request leaving this machine, and every failed response, recorded.

    It follows the app's websocket to know whether a script run is due: from the moment the page asks for one
    (a click, a key, a page link, a first load) until the server has finished it. The page itself shows a run
    only once the server has started it, and its status widget half a second later, so a wait that looks only
    at the page returns too early when a loaded server is slow to start the run."""

    def __init__(self, browser, base: str, width: int = 1440, height: int = 900):
        self.base = base
        self.page = browser.new_page(base, width, height)
        self.main = self.page.locator(MAIN)
        self.external: list[str] = []
        self.failed: list[str] = []
        self._socket = None
        self._requested = self._running = False
        self.reruns = 0  # runs the page asked for (a load, a click, a reported width), not the page's own auto reruns
        self.page.on("request", self._on_request)
        self.page.on("response", self._on_response)
        self.page.on("websocket", self._on_websocket)

    def _on_request(self, request) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("http", "ws")) and host not in ("127.0.0.1", "localhost"):
            self.external.append(request.url)

    def _on_response(self, response) -> None:
        # Streamlit's frontend probes <page>/_stcore/health before the root one on a deep link: not ours
        if response.status >= 400 and "/_stcore/" not in response.url:
            self.failed.append(f"{response.status} {response.url}")

    def _on_websocket(self, socket) -> None:
        if not socket.url.endswith("/_stcore/stream"):
            return
        self._socket, self._requested, self._running = socket, False, False  # a new page load: a new session
        socket.on("framesent", lambda payload: self._on_sent(socket, payload))
        socket.on("framereceived", lambda payload: self._on_received(socket, payload))

    def _on_sent(self, socket, payload) -> None:
        msg = _parse(BackMsg, payload) if socket is self._socket else None
        if msg is not None and msg.WhichOneof("type") == "rerun_script" and not msg.rerun_script.is_auto_rerun:
            self._requested = True  # auto reruns (a fragment's run_every) are the page's own business
            self.reruns += 1

    def _on_received(self, socket, payload) -> None:
        msg = _parse(ForwardMsg, payload) if socket is self._socket else None
        kind = msg.WhichOneof("type") if msg is not None else None
        if kind == "new_session":  # a run starts: every request sent before it is in it
            self._requested, self._running = False, True
        elif kind == "script_finished" and msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
            self._running = False

    def open(self, path: str) -> None:
        self._socket, self._requested, self._running = None, False, False
        self.page.goto(self.base + path)
        self.idle()

    def idle(self, timeout: float = 60, quiet: float = 0.5) -> None:
        """Wait until no run is due, running or being drawn, and none has been for `quiet` seconds."""
        deadline, since = time.monotonic() + timeout, None
        while True:
            busy = self._requested or self._running or self._busy_in_page()
            now = time.monotonic()
            since = None if busy else (since or now)
            if since is not None and now - since >= quiet:
                return
            if now > deadline:
                raise AssertionError(f"Streamlit did not become idle in {timeout:.0f} s")
            self.page.wait_for_timeout(100)  # (also lets Playwright deliver the websocket's frames)

    def _busy_in_page(self) -> bool:
        try:
            return self.page.evaluate(_BUSY)
        except sync_api.Error:  # the page is navigating
            return True

    def wait_for_query(self, param: str, value: str | None, timeout: float = WAIT) -> None:
        """Wait until the URL's query parameter `param` is `value` (None: absent), as the run a click asks for
        sets it (a map's or a chart's click reaches the server late: its picking is slow in software)."""
        self.page.wait_for_function("([p, v]) => new URLSearchParams(location.search).get(p) === v",
                                    arg=[param, value], timeout=timeout, polling=100)

    def wait_for_query_change(self, param: str, start: str | None, timeout: float = WAIT) -> None:
        """Wait until the URL's query parameter `param` is no longer `start` (None: absent)."""
        self.page.wait_for_function("([p, v]) => new URLSearchParams(location.search).get(p) !== v",
                                    arg=[param, start], timeout=timeout, polling=100)

    def exceptions(self) -> list[str]:
        return [e.inner_text() for e in self.page.query_selector_all('[data-testid="stException"]')]

    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlparse(self.page.url).query)

    def close(self) -> None:
        self.page.close()


@pytest.fixture()
def fresh_server(server, browser, fixture_app):
    """A server that no page has been opened on: the shared one when this test comes first (as in a whole run),
    else one of its own."""
    if server not in browser.visited:
        yield server
        return
    with fixture_app("fresh") as base:
        yield base


def test_deep_link_as_first_request_shows_the_page_with_its_filters(fresh_server, browser):
    # first request to a fresh server: the page must still run inside app.py (see views/ in the README)
    v = Visit(browser, fresh_server)
    v.open("/data?lang=en&region=340100")
    assert v.exceptions() == []
    assert v.page.locator("h1").first.inner_text() == "Data & definitions"
    assert "Anhui / Hefei" in v.page.inner_text(MAIN)
    assert v.query()["region"] == ["340100"]
    assert v.external == [] and v.failed == []
    v.close()


def test_cockpit_filters_language_and_no_request_leaves_the_machine(server, browser):
    v = Visit(browser, server)
    v.open("/?region=340000")
    assert v.exceptions() == []
    v.page.get_by_role("link", name="数据与口径").click()  # the menu reaches the other page, filters kept
    v.idle()
    expect(v.page.locator("h1").first).to_have_text("数据与口径", use_inner_text=True, timeout=WAIT)
    assert v.query().get("region") == ["340000"]
    v.page.get_by_role("link", name="驾驶舱").click()
    v.idle()
    main = v.main
    expect(main).to_contain_text("当前筛选范围内没有红灯事项", timeout=WAIT)  # 安徽: none red
    assert "红灯占比" in main.inner_text()
    # a screen reader hears the help icons in Chinese too (issue 17, point 15): Streamlit writes "Help for …"
    expect(v.page.locator('[aria-label="红灯占比的说明"]').first).to_be_attached(timeout=WAIT)
    assert v.page.locator('[aria-label^="Help for"]').count() == 0
    assert v.page.get_by_text("城市", exact=True).first.is_visible()  # the cascade offers cities
    v.page.locator('[data-testid="stButtonGroup"] button', has_text="English").click()
    v.idle()
    expect(main).to_contain_text("No red items", timeout=WAIT)
    assert "Red share" in main.inner_text()
    expect(v.page.locator('[aria-label="Help for Red share"]').first).to_be_attached(timeout=WAIT)
    assert v.page.locator('[aria-label$="的说明"]').count() == 0
    assert v.query().get("lang") == ["en"] and v.query().get("region") == ["340000"]
    v.page.get_by_role("button", name="Reset filters").click()
    v.idle()
    expect(main).to_contain_text("50.0%", timeout=WAIT)  # nationally: B1 red (overdue), A1 yellow
    assert "region" not in v.query()
    assert v.exceptions() == []
    assert v.external == [] and v.failed == [], (v.external, v.failed)
    v.close()


def test_phone_width_renders_without_exception(server, browser):
    v = Visit(browser, server, width=390)
    v.open("/?lang=en")
    assert v.exceptions() == []
    assert v.page.get_by_text("Red share").first.is_visible()
    assert v.page.get_by_text("Needs attention").first.is_visible()
    v.close()


def test_card_labels_are_whole_on_a_projector(server, browser):
    """At 1280 px Streamlit cut "On-time completion rate" to "On-time completion r…": labels wrap instead."""
    v = Visit(browser, server, width=1280, height=720)
    v.open("/?lang=en")
    cut = v.page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMetricLabel"] *')]
        .filter(e => e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0).map(e => e.textContent)""")
    assert cut == [], cut
    assert v.page.get_by_text("On-time completion rate", exact=True).first.is_visible()
    v.close()


def test_choices_stay_on_a_phone_screen(server, browser):
    """A segmented control's options wrap on a phone instead of running off its edge (the meeting's
    "Quarterly evaluation" was cut at 390 px)."""
    v = Visit(browser, server, width=390, height=844)
    v.open("/meeting?lang=en")
    over = v.page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stButtonGroup"] > div:last-child')]
        .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)""")
    assert over == [], over
    box = v.main.get_by_text("Quarterly evaluation", exact=True).first.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    v.close()


def test_a_first_visit_draws_each_map_at_once_at_its_column_width(server, browser):
    """ui/mapfit.py: the page keeps the window's width in a cookie before Streamlit connects, and the first run
    estimates each map's column from it: at a projector's 1,280 px and a phone's 390 px every map page is drawn in
    the load's one run (no run asked for by the measurement), and the width measured afterwards is the estimate's,
    within the tolerance that would have asked for a redraw."""
    from ui import mapfit
    from ui.blocks.cockpit import MAP_COLUMNS as COCKPIT
    REGIONS = [11, 9]  # views/regions.py MAP_COLUMNS (a page: importing it would run it)

    for width, pages in ((1280, (("/", "cockpit", COCKPIT), ("/regions", "regions", REGIONS),
                                  ("/domains", "domains", None))),
                         (390, (("/", "cockpit", COCKPIT),))):
        v = Visit(browser, server, width=width, height=720 if width > 400 else 844)
        v.page.context.clear_cookies()
        for path, key, spec in pages:
            v.reruns = 0
            v.open(path + "?lang=en")
            settled_chart(v, '.cockpit-chart' if key == "domains" else
                          '[data-testid="stDeckGlJsonChart"]')
            cookies = {c["name"]: c["value"] for c in v.page.context.cookies()}
            assert cookies[mapfit.VIEWPORT_COOKIE] == str(width), cookies
            estimate = mapfit.estimate(width, spec)
            assert abs(int(cookies[f"cockpit_w_{key}"]) - estimate) <= mapfit.TOLERANCE_PX, (width, key, cookies)
            assert v.reruns == 1, (width, path, v.reruns)  # the load only
        assert v.exceptions() == [] and v.external == []
        v.close()


def test_a_returning_reader_gets_the_map_in_the_first_run(server, browser):
    """ui/mapfit.py: where the window's width gives no estimate (900 px: between a phone's layout and a desktop's),
    a first visit draws an empty deck and waits for the column's width (one more run); the browser keeps that
    width in a cookie, so a returning reader's first run draws the map at once, with no run asked for by the
    measurement (a reload: a new session on the server)."""
    from ui import mapfit

    assert mapfit.estimate(900, [3, 2]) is None
    v = Visit(browser, server, width=900, height=800)
    v.page.context.clear_cookies()
    v.open("/?lang=en")
    chart = settled_chart(v)
    assert v.reruns == 2, v.reruns  # the load and the width
    width = round(chart.bounding_box()["width"])
    cookies = {c["name"]: c["value"] for c in v.page.context.cookies()}
    assert abs(int(cookies["cockpit_w_cockpit"]) - width) <= 2, (cookies, width)
    v.reruns = 0
    v.page.reload()
    v.idle()
    assert v.reruns == 1, v.reruns  # the load only: the width was known
    assert v.exceptions() == [] and v.external == []
    # an edited cookie is ignored, not trusted: the page measures again
    v.page.context.add_cookies([{"name": "cockpit_w_cockpit", "value": "99999", "url": server}])
    v.reruns = 0
    v.page.reload()
    settled_chart(v)
    assert v.reruns == 2 and v.exceptions() == []
    v.close()


def _pixel(lon: float, lat: float, view, box) -> tuple[float, float]:
    """Where deck.gl draws (lon, lat): Web Mercator, 512·2^zoom px around the world, view centre at the
    canvas centre."""
    import math

    world = 512 * 2 ** view.zoom

    def merc(lo: float, la: float) -> tuple[float, float]:
        x = (lo + 180) / 360 * world
        y = (1 - math.log(math.tan(math.pi / 4 + math.radians(la) / 2)) / math.pi) / 2 * world
        return x, y

    cx, cy = merc(view.longitude, view.latitude)
    px, py = merc(lon, lat)
    return box["x"] + box["width"] / 2 + (px - cx), box["y"] + box["height"] / 2 + (py - cy)


def hover_until_tooltip(v: Visit, x: float, y: float, timeout: float = 15) -> bool:
    """Move the mouse about (x, y) until deck.gl shows its tooltip there, i.e. the map is drawn and picking works
    (deck.gl picks on a move, so the mouse keeps moving); False when it never did within `timeout` s."""
    tooltip = v.page.locator(".deck-tooltip").first
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v.page.mouse.move(x - 5, y - 5)
        v.page.mouse.move(x, y)
        if tooltip.is_visible():
            return True
        v.page.wait_for_timeout(250)
    return False


def settled_chart(v: Visit, selector: str = '[data-testid="stDeckGlJsonChart"]'):
    """The map's element once the page has refitted it to the width it measured (ui/mapfit.py: one more run when
    the first guess was off), scrolled into view."""
    v.page.wait_for_timeout(600)
    v.idle()
    chart = v.page.locator(selector).first
    chart.scroll_into_view_if_needed()
    return chart


def fitted(box) -> dict:
    """The width and height the page fitted its map for: the chart's own size (ui/mapfit.py)."""
    return {"width": round(box["width"]), "height": round(box["height"])}


def click_map(v: Visit) -> None:
    """deck.gl's gesture recogniser ignores an instantaneous click: press, hold briefly, release."""
    v.page.mouse.down()
    v.page.wait_for_timeout(80)
    v.page.mouse.up()


def click_map_until(v: Visit, x: float, y: float, arrived, tries: int = 5) -> None:
    """Hover (x, y) until deck.gl shows its tooltip, click, and call `arrived()` (which waits for the run the click
    asks for); a click the slow software picking lost (under CI's parallel load) is tried again."""
    for _ in range(tries):
        hover_until_tooltip(v, x, y)  # deck.gl draws after the page is idle
        click_map(v)
        try:
            arrived()
            break
        except sync_api.TimeoutError:
            continue
    v.idle()


def test_clicking_a_district_on_the_map_drills_into_it(server, browser):
    # Beijing's districts: on the national map, software-rendered picking takes ~1.9 s in headless
    # Chromium, past deck.gl's 250 ms click window, so the click is lost there (not on real GPUs)
    import polars as pl

    from analytics.figures import maps
    from analytics.db.store import read_regions_csv

    v = Visit(browser, server)
    v.open("/?region=110000")
    chart = settled_chart(v)
    view = maps.choropleth("county", pl.DataFrame({"region_code": [], "value": [], "n": []},
                                                    schema={"region_code": pl.Utf8, "value": pl.Float64,
                                                            "n": pl.Int64}),
                           parent_code="110000", **fitted(chart.bounding_box())).deck.initial_view_state
    chaoyang = read_regions_csv().filter(pl.col("region_code") == "110105").row(0, named=True)
    x, y = _pixel(chaoyang["lon"], chaoyang["lat"], view, chart.bounding_box())
    click_map_until(v, x, y, lambda: v.wait_for_query("region", "110105", timeout=20_000))
    assert v.query().get("region") == ["110105"]
    assert "北京市 / 朝阳区" in v.page.locator(f'{MAIN} [data-testid="stCaptionContainer"]').first.inner_text()
    assert v.exceptions() == [] and v.external == []
    v.close()
