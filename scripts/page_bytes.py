"""How much each page sends to the browser: every page of the app, in a few filter states, each in a fresh
Streamlit session driven over the app's websocket (`/_stcore/stream`, the browser's own protocol), so
nothing is cached on the client side and the whole page is counted.

Run: python scripts/page_bytes.py --db data/cockpit.duckdb [--json]

Target (issue 10): no page ships more than a few MB to the browser (aggregate before plotting; never send raw
rows to a chart). The app runs in its own process on a private copy of --db, on a loopback port, and stops after.
Exit status 1 when a page showed an exception or sent more than --max-mb.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.bench.server import app_server, copy_database, page_run, session  # noqa: E402
from analytics.pages import PAGES  # noqa: E402

# (label, query string) per page: the national view, one province, and the heaviest views a page offers
STATES = (("national", "lang=en"), ("安徽", "region=340000"))
EXTRA = {"regions": (("national, counties", "level=county"), ("national, item points", "layer=points"),
                     ("national, hexagons", "layer=hexagon")),
         "trends": (("national, by week", "grain=week"),),
         "meeting": (("national, quarterly", "preset=quarter"),)}


def cases() -> list[tuple[str, str, str]]:
    """(page path, state label, query string) for every page: "" is the default page (the cockpit)."""
    out = []
    for p in PAGES:
        path = "" if p.default else p.key
        out += [(path, label, query) for label, query in (*STATES, *EXTRA.get(p.key, ()))]
    return out


async def _measure(base: str, todo: list[tuple[str, str, str]]) -> list[dict]:
    rows = []
    for page, label, query in todo:
        async with session(base) as ws:
            seconds, size, failed = await page_run(ws, page, query)
        rows.append({"page": page or "cockpit", "state": label, "query": query, "bytes": size,
                     "seconds": round(seconds, 2), "exception": failed})
    return rows


def measure(base: str, todo: list[tuple[str, str, str]] | None = None) -> list[dict]:
    """Each case's run on the app at `base`, one fresh session each, one after another."""
    return asyncio.run(_measure(base, todo or cases()))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--max-mb", type=float, default=5.0, help="fail above this many MB for one page (default 5)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="page-bytes-"))
    try:
        db = copy_database(a.db, tmp / "cockpit.duckdb")
        with app_server(db, log=tmp / "app.log") as (base, _):
            rows = measure(base)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        json.dump(rows, sys.stdout, ensure_ascii=False, indent=1)
    else:
        print("| page | state | MB sent | run s | exception |\n|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['page']} | {r['state']} | {r['bytes'] / 1048576:.2f} | {r['seconds']:.1f} | {r['exception'] or ''} |")
        big = max(rows, key=lambda r: r["bytes"])
        print(f"\nlargest: {big['page']} ({big['state']}) {big['bytes'] / 1048576:.2f} MB")
    bad = [r for r in rows if r["exception"] or r["bytes"] > a.max_mb * 1048576]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
