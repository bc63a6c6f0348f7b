"""Where a first visit's time goes, per page: phases of each run in a fresh browser context (issue 17, point 14).

Run: python scripts/first_visit_phases.py --db data/cockpit.duckdb [--runs 3] [--pages /,/regions]

Prints, in seconds from navigation, one line per run: `load` (Streamlit's frontend loaded), `ws_open` (its
websocket opened), `h1` (the page's first output shown), `tx_times` (each message the browser sent: the first
asks for the page's run, any later one is a rerun, e.g. ui/mapfit.py's refit), `big` (each message over 50 KB
received: time and bytes, i.e. a map), `canvas` (the first deck.gl canvas present), `drawn` (idle with every
chart drawn, as scripts/bench_browser.py counts it).
Same browser and app server as scripts/bench_browser.py (a private copy of --db).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from analytics.bench.server import app_server  # noqa: E402
from bench_browser import CHROMIUM_ARGS, MONITOR_JS, _wait_drawn  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pages", default="/,/regions")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="first-visit-"))
    db = tmp / Path(a.db).name
    shutil.copy(a.db, db)
    try:
        with app_server(db) as (base, _proc), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                        args=CHROMIUM_ARGS)
            for path in a.pages.split(","):
                for run in range(a.runs):
                    ctx = browser.new_context(viewport={"width": 1600, "height": 1000})
                    ctx.add_init_script(MONITOR_JS)
                    page = ctx.new_page()
                    ev: dict = {"tx_times": [], "big": []}
                    t0 = time.perf_counter()

                    def now() -> float:
                        return round(time.perf_counter() - t0, 2)

                    def on_ws(ws, ev=ev) -> None:
                        ev.setdefault("ws_open", now())
                        ws.on("framesent", lambda _payload: ev["tx_times"].append(now()))
                        ws.on("framereceived", lambda payload: ev["big"].append((now(), len(payload)))
                              if len(payload) > 50_000 else None)

                    page.on("websocket", on_ws)
                    page.on("load", lambda _page, ev=ev: ev.setdefault("load", now()))
                    page.goto(base + path)
                    page.wait_for_selector('[data-testid="stMain"] h1', timeout=120_000)
                    ev["h1"] = now()
                    page.wait_for_selector('[data-testid="stDeckGlJsonChart"] canvas', state="attached",
                                           timeout=120_000)
                    ev["canvas"] = now()
                    ev["drawn"] = round(_wait_drawn(page), 2)  # from navigation, on the page's clock
                    print(path, run, ev, flush=True)
                    ctx.close()
            browser.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
