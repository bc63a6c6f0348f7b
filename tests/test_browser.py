"""The app in headless Chromium (Debian's, driven by Playwright; no browser download).

Skipped when Chromium is missing on a developer machine; on CI (CI=true) a missing browser fails.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail(f"no Chromium at {CHROMIUM}: .ci/run must apt-get install chromium", pytrace=False)
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)", allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from analytics.bench.server import app_server
    from tests import fixture_db

    db = fixture_db.build(tmp_path_factory.mktemp("browser") / "fixture.duckdb")
    try:
        with app_server(db, log=tmp_path_factory.mktemp("log") / "app.log") as (base, _):
            yield base
    except RuntimeError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Visit:
    """A page with every request leaving this machine, and every console error, recorded."""

    def __init__(self, browser, base: str, width: int = 1440):
        self.base = base
        self.ctx = browser.new_context(viewport={"width": width, "height": 900})
        self.page = self.ctx.new_page()
        self.external: list[str] = []
        self.failed: list[str] = []
        self.page.on("request", self._on_request)
        self.page.on("response", self._on_response)

    def _on_request(self, request) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("http", "ws")) and host not in ("127.0.0.1", "localhost"):
            self.external.append(request.url)

    def _on_response(self, response) -> None:
        # Streamlit's frontend probes <page>/_stcore/health before the root one on a deep link: not ours
        if response.status >= 400 and "/_stcore/" not in response.url:
            self.failed.append(f"{response.status} {response.url}")

    def open(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.idle()

    def idle(self, timeout: float = 60) -> None:
        page = self.page
        page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
        deadline, quiet = time.time() + timeout, None
        while time.time() < deadline:
            busy = page.query_selector('[data-testid="stStatusWidget"]') or page.query_selector(
                '[data-testid="stSkeleton"]')
            quiet = None if busy else (quiet or time.time())
            if quiet and time.time() - quiet > 1.0:
                return
            time.sleep(0.2)
        raise AssertionError("Streamlit did not become idle")

    def exceptions(self) -> list[str]:
        return [e.inner_text() for e in self.page.query_selector_all('[data-testid="stException"]')]

    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlparse(self.page.url).query)

    def close(self) -> None:
        self.ctx.close()


def test_deep_link_as_first_request_shows_the_page_with_its_filters(server, browser):
    # first request to a fresh server: the page must still run inside app.py (see views/ in the README)
    v = Visit(browser, server)
    v.open("/data?lang=en&region=340100")
    assert v.exceptions() == []
    assert v.page.locator("h1").first.inner_text() == "Data & definitions"
    assert "Anhui / 合肥市" in v.page.inner_text('[data-testid="stMain"]')
    assert v.query()["region"] == ["340100"]
    assert v.external == [] and v.failed == []
    v.close()


def test_cockpit_filters_language_and_no_request_leaves_the_machine(server, browser):
    v = Visit(browser, server)
    v.open("/?region=340000")
    assert v.exceptions() == []
    v.page.get_by_role("link", name="数据与口径").click()  # the menu reaches the other page, filters kept
    v.idle()
    assert v.page.locator("h1").first.inner_text() == "数据与口径" and v.query().get("region") == ["340000"]
    v.page.get_by_role("link", name="驾驶舱").click()
    v.idle()
    main = v.page.locator('[data-testid="stMain"]')
    assert "红灯占比" in main.inner_text() and "当前筛选范围内没有红灯事项" in main.inner_text()  # 安徽: none red
    assert v.page.get_by_text("城市", exact=True).first.is_visible()  # the cascade offers cities
    v.page.locator('[data-testid="stButtonGroup"] button', has_text="English").click()
    v.idle()
    assert "Red share" in main.inner_text() and "No red items" in main.inner_text()
    assert v.query().get("lang") == ["en"] and v.query().get("region") == ["340000"]
    v.page.get_by_role("button", name="Reset filters").click()
    v.idle()
    assert "50.0%" in main.inner_text()  # nationally: B1 red (overdue), A1 yellow
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


def test_clicking_a_district_on_the_map_drills_into_it(server, browser):
    # Beijing's districts: on the national map, software-rendered picking takes ~1.9 s in headless
    # Chromium, past deck.gl's 250 ms click window, so the click is lost there (not on real GPUs)
    import polars as pl

    from analytics import maps
    from analytics.store import read_regions_csv

    v = Visit(browser, server)
    v.open("/?region=110000")
    chart = v.page.locator('[data-testid="stDeckGlJsonChart"]')
    chart.scroll_into_view_if_needed()
    v.page.wait_for_timeout(1500)  # deck.gl draws after the page is idle
    view = maps.choropleth("county", pl.DataFrame({"region_code": [], "value": [], "n": []},
                                                    schema={"region_code": pl.Utf8, "value": pl.Float64,
                                                            "n": pl.Int64}),
                           parent_code="110000").deck.initial_view_state
    chaoyang = read_regions_csv().filter(pl.col("region_code") == "110105").row(0, named=True)
    x, y = _pixel(chaoyang["lon"], chaoyang["lat"], view, chart.bounding_box())
    # deck.gl's gesture recogniser ignores an instantaneous click: approach, press, hold briefly, release
    v.page.mouse.move(x - 5, y - 5)
    v.page.mouse.move(x, y)
    v.page.wait_for_timeout(300)
    v.page.mouse.down()
    v.page.wait_for_timeout(80)
    v.page.mouse.up()
    v.page.wait_for_timeout(1000)
    v.idle()
    assert v.query().get("region") == ["110105"]
    assert "北京市 / 朝阳区" in v.page.locator('[data-testid="stMain"] [data-testid="stCaptionContainer"]').first.inner_text()
    assert v.exceptions() == [] and v.external == []
    v.close()
