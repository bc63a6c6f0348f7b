"""The benchmark suite: `python -m analytics bench [--scale 1,10] [--json]` (see docs/performance.md).

For each scale (a demo database generated into a temporary folder, its generation timed) or for a given
database, in one run so the numbers compare:
- page work: every page's block (the function `Context.block` caches) for typical filter states, cold (a
  fresh DuckDB connection, none of the app's cached results) and warm (the same connection again);
- the same item execution per region computed the way a typical Streamlit dashboard does it (pandas over
  the raw tables held in memory, `baseline.py`), beside the cockpit's query, with the ratio;
- ingest throughput (`ingest.py`: progress reports from a GB18030 CSV, items from XLSX), slip-risk training
  and scoring, and this process's peak memory.
Times are medians of `runs`; nothing here asserts a time (the test suite runs it at a tiny scale only so
that it cannot rot).
"""
from __future__ import annotations

import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import duckdb

from analytics import metrics, quality
from analytics.db import store
from analytics.filters import Filters
from analytics.bench.server import copy_database

NATIONAL, ANHUI, HEFEI = Filters(), Filters(region_code="340000"), Filters(region_code="340100")
BEIJING_2026 = Filters(period="2026", region_code="110000")

# page key -> [(state, filters, the parameters the page passes for it)]; see views/<page>.py. Each page's work is
# its declared function (analytics.pages.BLOCKS), the one Context.block caches.
PAGE_CASES: dict[str, list[tuple[str, Filters, dict]]] = {
    "cockpit": [
        ("national", NATIONAL, {}), ("安徽", ANHUI, {}), ("合肥 2026-Q3", Filters(period="2026-Q3", region_code="340100"), {}),
        ("national, 乡村振兴, 2026", Filters(period="2026", domains=("乡村振兴",)), {}),
    ],
    "regions": [
        ("national, index by province", NATIONAL, {"metric": "index"}),
        ("national, index by county, with item points", NATIONAL, {"metric": "index", "level": "county", "with_lights": True}),
        ("安徽, red share by city", ANHUI, {"metric": "red_share"}),
    ],
    "domains": [
        ("national, red share", NATIONAL, {"metric": "red_share"}), ("national, index", NATIONAL, {"metric": "index"}),
        ("安徽, on-time rate", ANHUI, {"metric": "on_time_rate"}), ("合肥, index", HEFEI, {"metric": "index"}),
    ],
    "trends": [
        ("national, red share by month", NATIONAL, {"metric": "red_share", "grain": "month"}),
        ("national, index by week", NATIONAL, {"metric": "index", "grain": "week"}),
        ("安徽, index by month, 5 cities", ANHUI, {"metric": "index", "grain": "month", "by": "region",
                                                "compare": ("340100", "340200", "340300", "340400", "340500")}),
        ("北京 2026, on-time rate by quarter", BEIJING_2026, {"metric": "on_time_rate", "grain": "quarter"}),
    ],
    "rectifications": [("national", NATIONAL, {}), ("安徽", ANHUI, {})],
    "feedback": [
        ("national, satisfaction by channel and month", NATIONAL, {}),
        ("安徽, by region and week", ANHUI, {"grain": "week", "by": "region"}),
    ],
    "duplicates": [("national", NATIONAL, {}), ("安徽", ANHUI, {})],
    "authenticity": [("national", NATIONAL, {}), ("安徽", ANHUI, {})],
    "meeting": [
        ("national, weekly", NATIONAL, {"preset": "week"}), ("安徽, quarterly", ANHUI, {"preset": "quarter"}),
    ],
}


def _median_ms(times: list[float]) -> dict:
    return {"median_ms": round(1000 * statistics.median(times), 1), "min_ms": round(1000 * min(times), 1),
            "max_ms": round(1000 * max(times), 1)}


def _cases(db: Path, version: int) -> dict:
    cases = dict(PAGE_CASES)
    con = store.connect(db, read_only=True)
    row = con.execute("SELECT project_id FROM projects WHERE status = 'in_progress' ORDER BY project_id LIMIT 1").fetchall()
    con.close()
    if row:
        cases["item"] = [("one item in flight", NATIONAL, {"project_id": row[0][0]})]
    cases["risk"] = [("national (saved scores)", NATIONAL, {"db_path": str(db), "version": version})]
    cases["meeting"] = [(label, f, extra | {"db_path": str(db), "version": version})
                        for label, f, extra in cases["meeting"]]
    return cases


def page_times(db: Path, runs: int, pages: tuple[str, ...] | None = None) -> list[dict]:
    """Every page's block, cold (fresh connection each run) and warm (the same connection, called again)."""
    con = store.connect(db, read_only=True)
    version, as_of = store.current_version(con)
    con.close()
    out = []
    from analytics.pages import BLOCKS

    for page, states in _cases(db, version).items():
        if pages and page not in pages:
            continue
        fn = BLOCKS[page]
        for label, filters, extra in states:
            sel = metrics.Selection(filters=filters, as_of=as_of)
            cold, warm = [], []
            for _ in range(runs):
                con = store.connect(db, read_only=True)
                t0 = time.perf_counter()
                try:
                    fn(con, sel, dict(metrics.DEFAULT_WEIGHTS), **extra)
                except quality.TooLarge as e:  # the page asks for a region instead (COCKPIT_QUALITY_MAX_ITEMS)
                    con.close()
                    out.append({"page": page, "state": label, "too_large": e.n_items})
                    break
                cold.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                fn(con, sel, dict(metrics.DEFAULT_WEIGHTS), **extra)
                warm.append(time.perf_counter() - t0)
                con.close()
            if cold:
                out.append({"page": page, "state": label, "cold": _median_ms(cold), "warm": _median_ms(warm)})
    return out


BASELINE_STATES = (("national, by province", NATIONAL, "province"), ("安徽, by city", ANHUI, "city"),
                   ("合肥 2026-Q3, by county", Filters(period="2026-Q3", region_code="340100"), "county"),
                   ("national, 乡村振兴 2026, by province", Filters(period="2026", domains=("乡村振兴",)), "province"))


def baseline_times(db: Path, runs: int) -> dict:
    """Item execution per region: pandas over in-memory tables against the cockpit's query, same answers."""
    from analytics.bench import baseline
    from analytics.db import queries
    from analytics.metrics import Thresholds

    con = store.connect(db, read_only=True)
    _, as_of = store.current_version(con)
    t0 = time.perf_counter()
    tables = baseline.load(con)
    load_s = time.perf_counter() - t0
    rows = []
    for label, filters, level in BASELINE_STATES:
        ours, theirs = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            queries.run(con, "region_items", filters, queries.NATIONAL, as_of, **Thresholds().params(),
                        group_level=level, total_code=filters.region_code or "100000")
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            baseline.region_items(tables, filters, as_of, level)
            theirs.append(time.perf_counter() - t0)
        rows.append({"state": label, "duckdb": _median_ms(ours), "pandas": _median_ms(theirs),
                     "ratio": round(statistics.median(theirs) / statistics.median(ours), 1)})
    con.close()
    return {"pandas_load_s": round(load_s, 2), "states": rows}


def risk_times(db: Path) -> dict:
    """What a retraining costs (features of every snapshot, the model card's evaluation, the final fit, saving
    and scoring every open item: `risk/jobs.publish`, as the app runs it), then scoring alone. Leaves the
    model and scores beside `db`, where the risk page's block reads them."""
    from analytics.risk import jobs, persist
    from analytics.risk import model as M

    con = store.connect(db, read_only=True)
    version, as_of = store.current_version(con)
    t0 = time.perf_counter()
    meta = jobs.publish(con, db)
    publish_s = time.perf_counter() - t0
    trained = persist.load_latest(db, version)
    with M.limited_threads():
        t0 = time.perf_counter()
        scored = M.score(con, trained, as_of)
        score_s = time.perf_counter() - t0
    con.close()
    return {"train_publish_s": round(publish_s, 1), "training_rows": trained.n_rows, "score_s": round(score_s, 2),
            "scored_items": scored.height, "fit_s": round(float(meta.get("fit_seconds", trained.fit_seconds)), 1)}


def peak_memory_mb() -> float:
    """This process's peak resident memory so far."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)


def run(scales: tuple[float, ...] = (), db: Path | None = None, runs: int = 5, skip: tuple[str, ...] = (),
        as_of: date = date(2026, 11, 22), seed: int = 20261122, log: Callable[[str], None] = lambda _: None) -> dict:
    """The whole suite, for each scale (generated) or for `db`; returns plain data (see `markdown`)."""
    from analytics import demo

    results = {"runs": runs, "duckdb": duckdb.__version__, "databases": []}
    targets = [(None, db)] if db else [(s, None) for s in scales]
    for scale, path in targets:
        tmp = Path(tempfile.mkdtemp(prefix="cockpit-bench-"))
        try:
            entry: dict = {"scale": scale}
            if path is None:
                path = tmp / f"demo-{scale:g}.duckdb"
                log(f"generating the scale-{scale:g} demo…")
                t0 = time.perf_counter()
                counts = demo.generate(path, scale=scale, seed=seed, as_of=as_of)
                entry["demo_s"] = round(time.perf_counter() - t0, 1)
                entry["rows"] = {k: counts[k] for k in ("projects", "progress_reports", "feedback")}
            else:  # a copy: the bench writes models beside it, and a running app holds the original
                path = copy_database(Path(path), tmp / Path(path).name)  # with its saved models and scores
            entry["db"] = str(path)
            if "risk" not in skip:
                log("training and scoring the slip-risk model…")
                entry["risk"] = risk_times(path)
            if "pages" not in skip:
                log("timing every page's block…")
                entry["pages"] = page_times(path, runs)
            if "baseline" not in skip:
                log("timing the pandas baseline…")
                entry["baseline"] = baseline_times(path, runs)
            if "ingest" not in skip:
                from analytics.bench import ingest

                log("timing uploads…")
                entry["ingest"] = ingest.times(path, max(1, min(runs, 3)))
            entry["peak_memory_mb"] = peak_memory_mb()
            results["databases"].append(entry)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


def markdown(results: dict) -> str:
    """The results as the tables of docs/performance.md."""
    out = []
    for e in results["databases"]:
        head = f"### Scale {e['scale']:g}" if e.get("scale") is not None else f"### {Path(e['db']).name}"
        out += [head, ""]
        if "demo_s" in e:
            rows = ", ".join(f"{v:,} {k}" for k, v in e["rows"].items())
            out += [f"Demo generation: {e['demo_s']:.1f} s ({rows}).", ""]
        if "pages" in e:
            out += [f"Page work, medians of {results['runs']} (ms): cold = a fresh DuckDB connection, none of the "
                    "app's cached results; warm = the same connection again.", "",
                    "| page | state | cold median | cold min–max | warm median |", "|---|---|---|---|---|"]
            out += [f"| {r['page']} | {r['state']} | {r['cold']['median_ms']:.0f} | {r['cold']['min_ms']:.0f}–"
                    f"{r['cold']['max_ms']:.0f} | {r['warm']['median_ms']:.0f} |" if "cold" in r else
                    f"| {r['page']} | {r['state']} | asks for a region ({r['too_large']:,} items) | | |"
                    for r in e["pages"]]
            out.append("")
        if "baseline" in e:
            b = e["baseline"]
            out += [f"Item execution per region, the cockpit's query against pandas over the raw tables held in "
                    f"memory (loading them took {b['pandas_load_s']:.1f} s, paid at start and after every upload), "
                    "same answers (tests/test_bench.py):", "",
                    "| state | DuckDB ms | pandas ms | pandas ÷ DuckDB |", "|---|---|---|---|"]
            out += [f"| {r['state']} | {r['duckdb']['median_ms']:.0f} | {r['pandas']['median_ms']:.0f} | "
                    f"{r['ratio']:.1f}× |" for r in b["states"]]
            out.append("")
        if "ingest" in e:
            out += ["| upload | rows | MB | read s | check s | preview s | commit s | total s |",
                    "|---|---|---|---|---|---|---|---|"]
            out += [f"| {r['file']} → {r['table']} | {r['rows']:,} | {r['mb']:.1f} | {r['read_s']:.2f} | "
                    f"{r['check_s']:.2f} | {r['preview_s']:.2f} | {r['commit_s']:.2f} | {r['total_s']:.2f} |"
                    for r in e["ingest"]]
            out += [f"The {r['file']} commit rebuilding every item snapshot instead of those from its first report on: "
                    f"{r['commit_whole_mart_s']:.2f} s." for r in e["ingest"] if "commit_whole_mart_s" in r]
            out.append("")
        if "risk" in e:
            r = e["risk"]
            out += [f"Slip-risk model: training as the app runs it {r['train_publish_s']:.1f} s "
                    f"({r['training_rows']:,} training rows; final fit {r['fit_s']:.1f} s); scoring "
                    f"{r['scored_items']:,} open items with reasons {r['score_s']:.2f} s.", ""]
        out += [f"Peak memory of the benchmark process: {e['peak_memory_mb']:,.0f} MB.", ""]
    return "\n".join(out)
