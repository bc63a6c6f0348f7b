"""What the worker's warming saves the first person on each app process after a new version (issue 18).

Run: python scripts/bench_warming.py --db /tmp/s10.duckdb [--runs 3] [--provinces 3]

On a private copy of --db, a worker publishes a snapshot. The cockpit, regions, trends and domains pages are run
(Streamlit's AppTest, in this process, reading the snapshot as an app process of a served deployment does)
nationally and for the first --provinces provinces: each page's first run after the publish, nothing cached
("cold": what every app process pays without warming). Those runs put their results on the warming list; the
worker then warms the snapshot (timed), and the same pages run again in a process that has computed nothing for
this version ("warmed": it loads the worker's results). Each state is measured --runs times; medians in seconds.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ("views/cockpit.py", "views/regions.py", "views/trends.py", "views/domains.py")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--provinces", type=int, default=3)
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-warming-"))
    db = tmp / Path(a.db).name
    shutil.copy(a.db, db)
    if Path(a.db + ".models").is_dir():
        shutil.copytree(a.db + ".models", str(db) + ".models")
    os.environ.update(COCKPIT_DB=str(db), COCKPIT_DB_WRITABLE="0", COCKPIT_RETRAIN_AFTER_COMMIT="0")

    from streamlit.testing.v1 import AppTest

    from analytics import quality, warming, worker
    from analytics.db import snapshots, store
    from ui import context

    con = store.connect(db, read_only=True)
    provinces = [r[0] for r in con.execute("SELECT region_code FROM regions WHERE level = 'province' "
                                           "ORDER BY region_code LIMIT ?", [a.provinces]).fetchall()]
    con.close()
    w = worker.Worker(db, log=lambda s: None)
    w.start()  # publishes the file's version as a snapshot
    w.close()
    snap = snapshots.current(db)
    con = store.connect(snap.path, read_only=True)
    as_of = store.current_version(con)[1]
    con.close()
    states = [(page, region) for region in [None, *provinces] for page in PAGES]

    def run_all() -> dict[tuple, float]:
        out = {}
        for page, region in states:
            at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
            if region:
                at.query_params["region"] = region
            if page != PAGES[0]:  # the cockpit is the first page: time its first run, else the page's
                at.run()
                at.switch_page(page)
            t0 = time.perf_counter()
            at.run()
            out[(page, region)] = time.perf_counter() - t0
            assert not at.exception, (page, region, [e.value for e in at.exception])
        return out

    def forget() -> None:
        context._cached_block.clear()
        context._cached_query.clear()
        quality.clear_cache()

    run_all()  # once untimed: the process's imports and first-use costs are not the cold page's
    cold, warmed, warm_s = [], [], []
    for i in range(a.runs):
        shutil.rmtree(warming.results_dir(snap.path), ignore_errors=True)  # nothing warmed: every process alone
        forget()
        cold.append(run_all())
        t0 = time.perf_counter()
        out = warming.warm_snapshot(snap.path, str(db), as_of)
        warm_s.append(time.perf_counter() - t0)
        n_warmed = out["warmed"]
        forget()
        warmed.append(run_all())
        print(f"run {i + 1}: worker warmed {n_warmed} results in {warm_s[-1]:.1f} s", flush=True)

    print(f"\n{len(states)} page states; snapshot v{snap.version}; medians of {a.runs} runs (s)\n")
    print("| page | region | first run, cold | first run, warmed by the worker |")
    print("|---|---|---|---|")
    for key in states:
        c = statistics.median(r[key] for r in cold)
        h = statistics.median(r[key] for r in warmed)
        print(f"| {key[0].removeprefix('views/').removesuffix('.py')} | {key[1] or 'national'} | {c:.2f} | {h:.2f} |")
    tc = statistics.median(sum(r.values()) for r in cold)
    th = statistics.median(sum(r.values()) for r in warmed)
    print(f"| all {len(states)} | | {tc:.1f} | {th:.1f} ({tc / th:.1f}× less) |")
    print(f"\nworker's warming: median {statistics.median(warm_s):.1f} s per version")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
