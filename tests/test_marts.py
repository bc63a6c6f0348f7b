"""The snapshot mart gives exactly what the live queries compute, and a stale mart is never read."""
from datetime import date

import polars as pl
import pytest

from analytics import demo, metrics
from analytics.db import marts
from analytics.db import queries
from analytics.db import store
from analytics.filters import Filters

AS_OF = date(2026, 11, 22)  # a Sunday
DATES = [AS_OF, date(2026, 10, 25), date(2026, 9, 30), date(2026, 6, 30), date(2025, 12, 31)]
TH = metrics.Thresholds().params()


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("marts") / "demo.duckdb"
    demo.generate(path, scale=0.05, seed=3, as_of=AS_OF)
    return path


def _sorted(frame: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    return frame.sort(key).with_columns(pl.selectors.float().round(9))


@pytest.mark.parametrize("as_of", DATES)
def test_item_lights_from_the_mart_equal_the_live_computation(db, as_of):
    con = store.connect(db, read_only=True)
    assert marts.has_snapshots(con, [as_of])
    live = queries.run(con, "item_lights", Filters(), as_of=as_of, use_marts=False, **TH)
    mart = queries.run(con, "item_lights", Filters(), as_of=as_of, **TH)
    con.close()
    assert live.height > 20 and set(live["rule"]) >= {"progress", "overdue", "forecast"}
    assert _sorted(mart, ["project_id"]).equals(_sorted(live, ["project_id"]))


@pytest.mark.parametrize("filters", [Filters(), Filters(period="2026-Q3"), Filters(region_code="440000")])
def test_region_aggregates_equal(db, filters):
    con = store.connect(db, read_only=True)
    extra = TH | {"group_level": "province", "total_code": "100000"}
    live = queries.run(con, "region_items", filters, as_of=AS_OF, use_marts=False, **extra)
    mart = queries.run(con, "region_items", filters, as_of=AS_OF, **extra)
    con.close()
    assert _sorted(mart, ["region_code"]).equals(_sorted(live, ["region_code"]))


def test_weekly_chart_ends_on_the_current_lights(db):
    con = store.connect(db, read_only=True)
    sel = metrics.Selection(as_of=AS_OF)
    from analytics.pages import cockpit

    weekly = cockpit.weekly_lights(con, sel)
    lights = queries.run(con, "item_lights", Filters(), as_of=AS_OF, **TH)["light"].value_counts()
    con.close()
    last = weekly.filter(pl.col("week_end") == AS_OF).row(0, named=True)
    assert {k: last[k] for k in ("red", "yellow", "green", "none")} == {
        r["light"]: r["count"] for r in lights.iter_rows(named=True)} | {
        k: 0 for k in ("red", "yellow", "green", "none") if k not in set(lights["light"])}
    assert weekly.height == 26


def test_a_stale_mart_is_not_read(db, tmp_path):
    import shutil

    copy = tmp_path / "copy.duckdb"
    shutil.copy(db, copy)
    con = store.connect(copy)
    store.record_version(con, "test", "a load without a mart refresh", AS_OF)
    assert not marts.has_snapshots(con, [AS_OF])
    marts.refresh(con, AS_OF, 2)
    assert marts.has_snapshots(con, [AS_OF])
    assert not marts.has_snapshots(con, [date(2026, 11, 23)])  # not a snapshot date
    con.close()


def test_built_in_date_ranges_equals_built_in_one_go(db, tmp_path, monkeypatch):
    """The mart is built a range of snapshot dates at a time; many small ranges give the same table,
    row for row and in the same order, as a single range."""
    import shutil

    import duckdb

    copies = {}
    for name, rows in (("one", 10**9), ("many", 3_000)):
        copies[name] = tmp_path / f"{name}.duckdb"
        shutil.copy(db, copies[name])
        monkeypatch.setattr(marts, "CHUNK_ROWS", rows)
        con = store.connect(copies[name])
        marts.refresh(con, AS_OF, 1)
        con.close()
    frames = {}
    for name, path in copies.items():
        con = duckdb.connect(str(path), read_only=True)
        frames[name] = con.sql("SELECT * FROM item_snapshots").pl()
        con.close()
    assert frames["one"].height > 20_000
    assert frames["many"].equals(frames["one"])


def test_date_ranges():
    d = [date(2026, 1, i) for i in range(1, 6)]
    assert marts.date_ranges(list(zip(d, [2, 2, 2, 2, 2])), 4) == [(d[0], d[1]), (d[2], d[3]), (d[4], d[4])]
    assert marts.date_ranges(list(zip(d, [9, 0, 1, 9, 1])), 4) == [(d[0], d[0]), (d[1], d[2]), (d[3], d[3]),
                                                                    (d[4], d[4])]
    assert marts.date_ranges(list(zip(d, [1] * 5)), 100) == [(d[0], d[4])]


def test_sundays():
    assert marts.sundays(date(2026, 11, 25), 3) == [date(2026, 11, 8), date(2026, 11, 15), date(2026, 11, 22)]


@pytest.mark.parametrize("case", ["last weeks", "a year back", "new as-of date"])
def test_an_upsert_of_reports_rebuilds_only_its_dates_and_gives_the_same_mart(db, tmp_path, monkeypatch, case):
    """A commit of progress reports rebuilds the snapshot dates from its earliest report on (and any date a new
    as-of date adds); the mart is the same table, row for row and in the same order, as a whole rebuild."""
    import shutil
    from datetime import timedelta

    import duckdb

    from analytics.db import versions

    since = {"last weeks": AS_OF - timedelta(days=20), "a year back": AS_OF - timedelta(days=380),
             "new as-of date": AS_OF - timedelta(days=6)}[case]
    as_of = AS_OF + timedelta(days=10) if case == "new as-of date" else None  # a Wednesday
    rebuilt: dict[str, list] = {"since": [], "whole": []}
    real_since, real_whole = marts.rebuild_since, marts.rebuild
    monkeypatch.setattr(marts, "rebuild_since", lambda *a: rebuilt["since"].append(a[3]) or real_since(*a))
    monkeypatch.setattr(marts, "rebuild", lambda *a: rebuilt["whole"].append(a[1]) or real_whole(*a))
    frames = {}
    for incremental in (True, False):
        path = tmp_path / f"{incremental}.duckdb"
        shutil.copy(db, path)
        monkeypatch.setattr(versions, "INCREMENTAL_MART", incremental)
        con = store.connect(path)
        reports = con.sql("SELECT * FROM progress_reports WHERE report_date >= ? ORDER BY project_id, report_date "
                          "LIMIT 400", params=[since]).pl()
        changed = reports.with_columns(  # some values change, and each item gets a report a day later
            (pl.col("actual_progress_pct").fill_null(0) * 0.9).alias("actual_progress_pct"))
        later = reports.group_by("project_id").agg(pl.all().last()).with_columns(
            (pl.col("report_date") + timedelta(days=1)).alias("report_date"), pl.lit("red").alias("rag"))
        later = later.join(reports.select("project_id", "report_date"), on=["project_id", "report_date"], how="anti")
        frame = pl.concat([changed, later.select(changed.columns)])
        out = versions.commit(con, [versions.Change("progress_reports", "upsert", frame, tuple(frame.columns))],
                              who="t", file_name="进度.csv", sha256=f"{case}-{incremental}", as_of=as_of)
        assert out.status == "committed"
        con.close()
        con = duckdb.connect(str(path), read_only=True)
        frames[incremental] = [con.sql(f"SELECT * FROM {t}").pl() for t in ("item_snapshots", "mart_dates")]
        con.close()
    assert rebuilt["since"] == [frame["report_date"].min()] and len(rebuilt["whole"]) == 1  # one of each
    assert frames[True][0].height > 20_000
    assert frames[True][0].equals(frames[False][0]) and frames[True][1].equals(frames[False][1])
