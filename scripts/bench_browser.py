"""Time each page in headless Chromium: until fully drawn, and until redrawn after a filter change.

Run: python scripts/bench_browser.py --db data/cockpit.duckdb [--runs 5] [--pages /,/regions,...]

Starts the app on a free loopback port (its own process, reading --db), then for every page and run
opens a fresh browser context (no cache shared with the previous run; the server's caches are warm
after the first run, as for the second viewer of a meeting) and measures:
- drawn: from navigation until Streamlit is idle (no running indicator, no skeleton) and every chart
  is present (plotly SVGs, deck.gl canvases with something painted);
- redraw: after choosing 安徽省 in the sidebar's province box, until idle and drawn again (a filter
  change the server has not seen in that run's context, though an earlier run may have cached it);
- returning: the same page opened again in a new tab of that context (a reader coming back: the browser's
  cache, and the map's width it measured, ui/mapfit.py), until drawn.
Prints Markdown: median, min, max of each, any request that left the machine (there must be none), and the
app server's peak memory.
Needs Debian's chromium and the playwright package (no browser download).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.bench.server import app_server, rss_mb  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ("/", "/risk", "/regions", "/regions?level=county", "/domains", "/trends", "/data")


def _wait_drawn(page, timeout: float = 120.0) -> None:
    """Idle for 0.5 s with every chart on the page drawn."""
    deadline, quiet = time.time() + timeout, None
    while time.time() < deadline:
        busy = page.query_selector('[data-testid="stStatusWidget"]') or page.query_selector('[data-testid="stSkeleton"]')
        charts_ready = page.evaluate("""() => {
            const plots = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
            const decks = [...document.querySelectorAll('[data-testid="stDeckGlJsonChart"]')];
            return plots.every(p => p.querySelector('svg.main-svg')) && decks.every(d => d.querySelector('canvas'));
        }""")
        drawn_at_all = page.query_selector('[data-testid="stMain"] h1') and page.locator(
            '[data-testid="stSidebar"] [data-testid="stSelectbox"]').count() >= 2  # the script has run
        ready = not busy and charts_ready and drawn_at_all
        quiet = (quiet or time.time()) if ready else None
        if quiet and time.time() - quiet > 0.5:
            return
        time.sleep(0.1)
    raise TimeoutError(f"{page.url}: did not finish drawing in {timeout:.0f} s (busy={bool(busy)}, "
                       f"charts ready={charts_ready}, script ran={bool(drawn_at_all)})")


def _choose_province(page, name: str = "安徽省") -> None:
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').nth(1)
    box.click()
    page.keyboard.type(name)  # the option list is virtualised: type to bring the option up
    page.get_by_role("option", name=name, exact=True).click()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pages", default=",".join(PAGES))
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    # a private copy: a running app holds the file (DuckDB allows one writing process)
    tmp = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    db = tmp / Path(a.db).name
    shutil.copy(a.db, db)
    try:
        with app_server(db) as (base, _proc):
            print(f"{a.db}; {os.cpu_count()} cores; medians of {a.runs} runs, each in a fresh browser context")
            print("| page | drawn median s | min | max | redraw after filter median s | min | max | "
                  "returning median s | min | max |")
            print("|---|---|---|---|---|---|---|---|---|---|")
            external: list[str] = []
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                            args=CHROMIUM_ARGS)
                for path in a.pages.split(","):
                    drawn, redrawn, returning = [], [], []
                    for _ in range(a.runs):
                        ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
                        ctx.on("request", lambda r: external.append(r.url) if r.url.startswith(("http", "ws"))
                               and urlparse(r.url).hostname not in ("127.0.0.1", "localhost") else None)
                        page = ctx.new_page()
                        started = time.perf_counter()
                        page.goto(base + path)
                        _wait_drawn(page)
                        drawn.append(time.perf_counter() - started)
                        started = time.perf_counter()
                        _choose_province(page)
                        _wait_drawn(page)
                        redrawn.append(time.perf_counter() - started)
                        page.close()
                        page = ctx.new_page()
                        started = time.perf_counter()
                        page.goto(base + path)
                        _wait_drawn(page)
                        returning.append(time.perf_counter() - started)
                        ctx.close()
                    print(f"| `{path}` | " + " | ".join(f"{statistics.median(xs):.1f} | {min(xs):.1f} | {max(xs):.1f}"
                                                      for xs in (drawn, redrawn, returning)) + " |", flush=True)
                browser.close()
            print(f"\nrequests that left the machine: {len(external)}" + (f" ({external[:3]})" if external else ""))
            print(f"app server peak memory (VmHWM): {rss_mb(_proc.pid)[1]:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
