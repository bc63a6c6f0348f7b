"""Time the cockpit's server-side work for typical filter states, with the app's cache cold.

Run: python scripts/bench_cockpit.py --db data/cockpit.duckdb [--runs 7]
"Cold" means none of the app's st.cache_data results exist: every run calls the same analytics
functions the page calls (summary, needs attention, weekly lights, filter options, coverage)
on a fresh DuckDB connection. Prints the median and spread per filter state, as Markdown.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere: python scripts/<name>.py

from analytics import metrics
from analytics.pages import cockpit
from analytics.db import queries
from analytics.db import store
from analytics.filters import Filters

STATES = {
    "national, all time": Filters(),
    "one province (安徽)": Filters(region_code="340000"),
    "one city (合肥), 2026-Q3": Filters(period="2026-Q3", region_code="340100"),
    "municipality (北京), key + urgent": Filters(region_code="110000", priorities=("key", "urgent")),
    "national, one domain, 2026": Filters(period="2026", domains=("乡村振兴",)),
}


def page_work(con: duckdb.DuckDBPyConnection, sel: metrics.Selection) -> None:
    """Everything the cockpit page computes for one filter state."""
    cockpit.page(con, sel)
    for name in ("region_options", "domain_options", "dept_options", "overview_counts", "items_by_status",
                 "data_version"):
        queries.run(con, name, sel.filters, sel.scope, sel.as_of)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    probe = store.connect(a.db, read_only=True)
    version, as_of = store.current_version(probe)
    items = probe.execute("SELECT count(*) FROM projects").fetchall()[0][0]
    reports = probe.execute("SELECT count(*) FROM progress_reports").fetchall()[0][0]
    probe.close()
    print(f"{a.db}: {items:,} items, {reports:,} progress reports, as of {as_of}; "
          f"{platform.machine()}, {os.cpu_count()} cores, DuckDB {duckdb.__version__}")
    print("| filter state | median ms | min ms | max ms |")
    print("|---|---|---|---|")
    for label, filters in STATES.items():
        times = []
        for _ in range(a.runs):
            con = store.connect(a.db, read_only=True)
            started = time.perf_counter()
            page_work(con, metrics.Selection(filters=filters, as_of=as_of))
            times.append(1000 * (time.perf_counter() - started))
            con.close()
        print(f"| {label} | {statistics.median(times):.0f} | {min(times):.0f} | {max(times):.0f} |")


if __name__ == "__main__":
    main()
