"""The benchmark suite: its pandas baseline gives the cockpit's answers, and the command runs (times unasserted)."""
import json
from datetime import date

import polars as pl
import pytest

from analytics.db import queries
from analytics.db import store
from analytics.bench import baseline
from analytics.filters import Filters
from analytics.metrics import Thresholds

STATES = [(Filters(), "province"), (Filters(region_code="340000"), "city"), (Filters(region_code="340000"), "county"),
          (Filters(period="2026-Q3"), "province"), (Filters(period="2025", priorities=("key", "normal")), "city"),
          (Filters(domains=("营商环境",), lead_depts=("市场监督管理局",)), "province")]


def _same(con, tables, filters, level, as_of):
    ours = queries.run(con, "region_items", filters, queries.NATIONAL, as_of, **Thresholds().params(),
                       group_level=level, total_code=filters.region_code or "100000")
    ours = ours.filter(pl.col("level") == level).select("region_code", *baseline.COUNTS)
    theirs = pl.from_pandas(baseline.region_items(tables, filters, as_of, level))
    cast = {c: pl.Int64 for c in baseline.COUNTS}
    ours, theirs = ours.cast(cast).sort("region_code"), theirs.cast(cast).sort("region_code")
    # regions the pandas way never sees (no item at all) are all zeros in ours
    ours = ours.filter(pl.sum_horizontal(baseline.COUNTS) > 0)
    theirs = theirs.filter(pl.sum_horizontal(baseline.COUNTS) > 0)
    assert theirs.equals(ours), (filters, level, theirs, ours)
    return ours


@pytest.mark.parametrize("filters,level", STATES)
def test_the_pandas_baseline_answers_as_the_cockpit_on_the_fixture(fixture_con, filters, level):
    _same(fixture_con, baseline.load(fixture_con), filters, level, date(2026, 11, 22))


def test_the_pandas_baseline_answers_as_the_cockpit_on_a_demo(demo_small_path):
    con = store.connect(demo_small_path, read_only=True)
    tables = baseline.load(con)
    total = 0
    for filters, level in STATES:
        total += _same(con, tables, filters, level, date(2026, 11, 22))["n_in_flight"].sum()
    con.close()
    assert total > 100  # the states are not empty


def test_the_bench_command_runs_at_a_tiny_scale(capsys, monkeypatch):
    from analytics.cli import main

    monkeypatch.setenv("COCKPIT_FORECAST", "0")  # the bench's own steps; the finish dates have their tests

    assert main(["bench", "--scale", "0.01", "--runs", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    db = out["databases"][0]
    assert {r["page"] for r in db["pages"]} >= {"cockpit", "regions", "domains", "trends", "item", "meeting", "risk",
                                              "rectifications", "feedback", "duplicates", "authenticity"}
    assert db["demo_s"] > 0 and db["risk"]["scored_items"] > 0 and len(db["ingest"]) == 3
    assert all(r["ratio"] > 0 for r in db["baseline"]["states"])
    weekly = db["ingest"][2]
    assert weekly["file"] == "weekly.csv" and weekly["commit_whole_mart_s"] > 0


@pytest.mark.parametrize("args,message", [(["--scale", "0"], "above 0"), (["--scale", "x"], "expected scales"),
                                          (["--skip", "nope"], "expected pages")])
def test_the_bench_command_refuses_bad_arguments(args, message, capsys):
    from analytics.cli import main

    try:
        code = main(["bench", *args])
    except SystemExit as e:  # argparse
        code = e.code
    assert code == 2 and message in capsys.readouterr().err
