"""Time each page in headless Chromium: until fully drawn, and until redrawn after a filter change.

Run: python scripts/bench_browser.py --db data/cockpit.duckdb [--runs 5] [--pages /,/regions,...]

Starts the app on a free loopback port (its own process, reading --db), then for every page and run
opens a fresh browser context (no cache shared with the previous run; the server's caches are warm
after the first run, as for the second viewer of a meeting) and measures:
- drawn: from navigation until the page is ready — Streamlit idle (a rerun included), the page's title and
  filters shown, every chart present (plotly SVGs, deck.gl canvases) — and stays so for 1 s; the time is when it
  became ready, on the page's own clock, checked every 25 ms inside the page (MONITOR_JS). Before 2026-12-05 the
  times were read from outside and included the 0.5 s of checking that it stayed ready, and were read late when
  the page was busy;
- redraw: after choosing 安徽省 in the sidebar's province box (the typing included), until a rerun has run and
  the page is ready again (a filter change the server has not seen in that run's context, though an earlier run
  may have cached it);
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


# Watches the page from inside (added to every page of a context before the page's own code): `__readySince` is
# the page-clock time (ms from navigation) since which it has been ready, or null; `__lastRun` the last time a
# script run was under way. Ready: Streamlit idle (its script state "notRunning": a rerun, e.g. the map's width
# reported, ui/mapfit.py, counts as running; no running indicator, no skeleton), the page's script has run (its
# title, the sidebar's filters), and every chart present (plotly SVGs, ui/charts.py's included; deck.gl canvases). Checked every 25 ms in
# the page, so a main thread busy drawing delays the check only as long as the page is not ready anyway; polling
# from outside with several calls per check, as before, read the page late by up to a second when it was busy.
MONITOR_JS = """(() => {
  const ready = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app && app.getAttribute('data-test-script-state');
    if (state && state !== 'notRunning' && state !== 'initial') window.__lastRun = performance.now();
    if (!app || state !== 'notRunning') return false;
    if (document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]')) return false;
    if (!document.querySelector('[data-testid="stMain"] h1')) return false;
    if (document.querySelectorAll('[data-testid="stSidebar"] [data-testid="stSelectbox"]').length < 2) return false;
    const plots = [...document.querySelectorAll('[data-testid="stPlotlyChart"], .cockpit-chart')];
    const decks = [...document.querySelectorAll('[data-testid="stDeckGlJsonChart"]')];
    return plots.every(p => p.querySelector('svg.main-svg')) && decks.every(d => d.querySelector('canvas'));
  };
  window.__readySince = null; window.__lastRun = 0;
  // a run too quick for the 25 ms check (a light page's rerun) is still seen: every change of the script state
  new MutationObserver(() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const state = app && app.getAttribute('data-test-script-state');
    if (state && state !== 'notRunning' && state !== 'initial') {
      window.__lastRun = performance.now();
      window.__readySince = null;
    }
  }).observe(document, {subtree: true, attributes: true,
                    attributeFilter: ['data-test-script-state']});
  setInterval(() => {
    if (!ready()) window.__readySince = null;
    else if (window.__readySince === null) window.__readySince = performance.now();
  }, 25);
})();"""


def _wait_drawn(page, since_ms: float | None = None, timeout: float = 120.0) -> float:
    """Wait until the page is ready (MONITOR_JS, which the page's context must have as an init script) and has
    stayed so for 1 s; return the seconds from `since_ms` (page clock; None: from the navigation) to when it
    became so. With `since_ms`, a script run must have started after it (a filter change's rerun)."""
    deadline = time.time() + timeout
    state = None
    while time.time() < deadline:
        state = page.evaluate("() => [window.__readySince, performance.now(), window.__lastRun]")
        since, now, last_run = state
        if since is not None and now - since >= 1000 and (since_ms is None or last_run > since_ms):
            return (since - (since_ms or 0)) / 1000
        time.sleep(0.2)
    raise TimeoutError(f"{page.url}: did not finish drawing in {timeout:.0f} s (ready since, now, last run: {state})")


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
                        ctx.add_init_script(MONITOR_JS)
                        ctx.on("request", lambda r: external.append(r.url) if r.url.startswith(("http", "ws"))
                               and urlparse(r.url).hostname not in ("127.0.0.1", "localhost") else None)
                        page = ctx.new_page()
                        page.goto(base + path)
                        drawn.append(_wait_drawn(page))
                        started = page.evaluate("() => performance.now()")
                        _choose_province(page)
                        redrawn.append(_wait_drawn(page, since_ms=started))
                        page.close()
                        page = ctx.new_page()
                        page.goto(base + path)
                        returning.append(_wait_drawn(page))
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
