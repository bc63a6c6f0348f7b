"""Time the analyst pages' server-side work after a filter change, with the app's cache cold.

Run: python scripts/bench_pages.py --db data/cockpit.duckdb [--runs 5] [--pages regions,domains,trends,item]

Each run calls the block the page asks `Context.block` for (the same function, the same parameters
the page passes for a typical state) on a fresh DuckDB connection, so no cached result helps: the
time a user waits after changing a filter, less drawing. Prints Markdown: median, min, max per state.
"""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: python scripts/<name>.py

from analytics import metrics, store
from analytics.filters import Filters

NATIONAL, ANHUI, HEFEI = Filters(), Filters(region_code="340000"), Filters(region_code="340100")
BEIJING_2026 = Filters(period="2026", region_code="110000")

# page -> (block function, [(state label, filters, extra parameters)]); the parameters are what the
# page passes for that state (see views/<page>.py)
CASES: dict[str, tuple[str, list[tuple[str, Filters, dict]]]] = {
    "trends": ("analytics.trends:page", [
        ("national, red share by month", NATIONAL, {"metric": "red_share", "grain": "month"}),
        ("national, index by week", NATIONAL, {"metric": "index", "grain": "week"}),
        ("安徽, index by month, 5 cities compared", ANHUI,
         {"metric": "index", "grain": "month", "by": "region",
          "compare": ("340100", "340200", "340300", "340400", "340500")}),
        ("北京 2026, on-time rate by quarter", BEIJING_2026, {"metric": "on_time_rate", "grain": "quarter"}),
    ]),
}


def _function(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _item_case(db: str) -> list[tuple[str, Filters, dict]]:
    con = store.connect(db, read_only=True)
    pid = con.execute("SELECT project_id FROM projects WHERE status = 'in_progress' ORDER BY project_id LIMIT 1"
                      ).fetchall()[0][0]
    con.close()
    return [("one item in flight", NATIONAL, {"project_id": pid})]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pages", default="regions,domains,trends,item")
    a = ap.parse_args()
    cases = dict(CASES)
    cases["item"] = ("analytics.item:page", _item_case(a.db))
    probe = store.connect(a.db, read_only=True)
    version, as_of = store.current_version(probe)
    items = probe.execute("SELECT count(*) FROM projects").fetchall()[0][0]
    reports = probe.execute("SELECT count(*) FROM progress_reports").fetchall()[0][0]
    probe.close()
    print(f"{a.db}: {items:,} items, {reports:,} progress reports, as of {as_of}; "
          f"{platform.machine()}, {os.cpu_count()} cores, DuckDB {duckdb.__version__}; medians of {a.runs}")
    print("| page | state | median ms | min ms | max ms |")
    print("|---|---|---|---|---|")
    for page in a.pages.split(","):
        if page not in cases:
            print(f"| {page} | (no block) | | | |")
            continue
        path, states = cases[page]
        fn = _function(path)
        for label, filters, extra in states:
            times = []
            for _ in range(a.runs):
                con = store.connect(a.db, read_only=True)
                started = time.perf_counter()
                fn(con, metrics.Selection(filters=filters, as_of=as_of), dict(metrics.DEFAULT_WEIGHTS), **extra)
                times.append(1000 * (time.perf_counter() - started))
                con.close()
            print(f"| {page} | {label} | {statistics.median(times):.0f} | {min(times):.0f} | {max(times):.0f} |")


if __name__ == "__main__":
    main()
