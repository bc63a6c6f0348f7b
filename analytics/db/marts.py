"""Pre-computed marts, rebuilt whenever data is loaded (demo generation, and later each commit).

`item_snapshots` — grain: one row per item in flight per snapshot date — holds the latest value of
each progress signal and the milestone state as of that date. Snapshot dates are every Sunday,
every month end, the data's as-of date and four weeks before it, so every period end the app asks
for is one. Queries for other dates compute the same state live (`db/sql/metrics.py`); a
test holds the two paths equal.
"""
from __future__ import annotations

from datetime import date, timedelta

import duckdb

from analytics.db.sql.rules import in_flight

TABLES = ("item_snapshots", "mart_dates", "mart_stamp")  # derived; rebuilt by refresh(), never uploaded
SOURCES = ("projects", "progress_reports", "milestones")  # what the snapshots are computed from

# Built in steps: inlined as plain CTEs, DuckDB 2.0 plans the ASOF join very badly (over ten minutes at
# scale 1 instead of about one second), so each step is a temp table or a MATERIALIZED CTE.
SNAPSHOT_STEPS: tuple[tuple[str, str], ...] = (
    ("bounds", """SELECT least(min(start_date), $as_of::DATE) AS first_date FROM projects"""),
    ("snap_dates", """SELECT DISTINCT CAST(d AS DATE) AS snapshot_date FROM (
        SELECT unnest(generate_series(CAST(date_trunc('week', first_date) AS DATE) + 6, $as_of::DATE, INTERVAL 7 DAY)) AS d
        FROM bounds
        UNION ALL
        SELECT last_day(unnest(generate_series(CAST(date_trunc('month', first_date) AS DATE), $as_of::DATE,
                                               INTERVAL 1 MONTH))) FROM bounds
        UNION ALL SELECT $as_of::DATE
        UNION ALL SELECT $as_of::DATE - 28
    ) WHERE d <= $as_of::DATE"""),
    # each item's milestones as one list, to be filtered per snapshot date. Float sums depend on the order
    # of the terms: the weights are summed newest row first, the order in which a hash join on milestones
    # used to feed them to sum(), so the totals keep every last digit they had
    ("milestone_lists", """SELECT project_id, sum(coalesce(weight, 1) ORDER BY rowid DESC) AS weight_total,
        list({'planned': planned_date, 'actual': actual_date, 'weight': coalesce(weight, 1)} ORDER BY rowid DESC)
            AS milestones
    FROM milestones GROUP BY ALL"""),
    ("flying_per_date", """SELECT d.snapshot_date, count(p.project_id) AS n_items
    FROM snap_dates d LEFT JOIN projects p
      ON """ + in_flight("p", "d.snapshot_date") + """
    GROUP BY ALL"""),
    # per item, its latest report so far with each signal's last known value (none before the first range)
    ("carried", """SELECT project_id, report_date, planned_progress_pct AS planned_pct,
        actual_progress_pct AS actual_pct, forecast_end_date, budget_spent_wan_yuan AS spent_wan_yuan, rag
    FROM progress_reports LIMIT 0"""),
)
# The snapshots are built one range of snapshot dates [$d0, $d1] at a time, so that memory stays
# bounded whatever the size of the data (demo scale 100: 89 M reports, 120 M snapshot rows). A range
# reads the reports after the previous range ($after, exclusive) up to $d1, and `carried`, the state
# every signal had before them: the carried-forward values, and so the mart, are the same as over all
# reports in one go. A transaction keeps every replaced temp table until it commits, so what a range
# needs is a MATERIALIZED CTE (freed after the statement); only the small `carried` is a table.
RANGE_REPORTS = """reports AS (
    SELECT * FROM carried
    UNION ALL
    SELECT project_id, report_date,
        CASE WHEN actual_progress_pct IS NOT NULL THEN planned_progress_pct END,
        CASE WHEN planned_progress_pct IS NOT NULL THEN actual_progress_pct END,
        forecast_end_date, budget_spent_wan_yuan, rag
    FROM progress_reports
    WHERE report_date <= $d1 AND ($after::DATE IS NULL OR report_date > $after::DATE))"""
SNAPSHOT_RANGE = "WITH " + RANGE_REPORTS + """,
flying AS MATERIALIZED (
    SELECT d.snapshot_date, p.project_id
    FROM snap_dates d JOIN projects p
      ON """ + in_flight("p", "d.snapshot_date") + """
    WHERE d.snapshot_date BETWEEN $d0 AND $d1),
filled AS MATERIALIZED (  -- each signal carried forward from the last report that had it
    SELECT project_id, report_date,
        last_value(planned_pct IGNORE NULLS) OVER w AS planned_pct,
        last_value(actual_pct IGNORE NULLS) OVER w AS actual_pct,
        last_value(forecast_end_date IGNORE NULLS) OVER w AS forecast_end_date,
        last_value(spent_wan_yuan IGNORE NULLS) OVER w AS spent_wan_yuan,
        last_value(rag IGNORE NULLS) OVER w AS rag
    FROM reports
    WINDOW w AS (PARTITION BY project_id ORDER BY report_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
SELECT * EXCLUDE (missed), length(missed) AS n_missed,
    -- NULL without milestones, 0 when none is missed
    CASE WHEN missed IS NOT NULL THEN coalesce(list_sum(list_transform(missed, lambda m: m.weight)), 0) END
        AS weight_missed
FROM (
    SELECT f.snapshot_date, f.project_id, r.report_date AS last_report_date, r.planned_pct, r.actual_pct,
        r.forecast_end_date, r.spent_wan_yuan, r.rag, l.weight_total,
        length(list_filter(l.milestones, lambda m: m.planned <= f.snapshot_date)) AS n_due,
        list_filter(l.milestones, lambda m: m.planned <= f.snapshot_date
                                            AND (m.actual IS NULL OR m.actual > f.snapshot_date)) AS missed
    FROM flying f
    ASOF LEFT JOIN filled r ON r.project_id = f.project_id AND r.report_date <= f.snapshot_date
    LEFT JOIN milestone_lists l ON l.project_id = f.project_id)
ORDER BY snapshot_date, project_id"""
# the state after the range: each signal's value at the item's last report (that is the window's value
# there), only for items that can still be in flight after $d1
CARRY_FORWARD = "CREATE TEMP TABLE carried_next AS WITH " + RANGE_REPORTS + """
SELECT project_id, max(report_date) AS report_date,
    arg_max(planned_pct, report_date) FILTER (WHERE planned_pct IS NOT NULL) AS planned_pct,
    arg_max(actual_pct, report_date) FILTER (WHERE actual_pct IS NOT NULL) AS actual_pct,
    arg_max(forecast_end_date, report_date) FILTER (WHERE forecast_end_date IS NOT NULL) AS forecast_end_date,
    arg_max(spent_wan_yuan, report_date) FILTER (WHERE spent_wan_yuan IS NOT NULL) AS spent_wan_yuan,
    arg_max(rag, report_date) FILTER (WHERE rag IS NOT NULL) AS rag
FROM reports
WHERE project_id IN (SELECT project_id FROM projects
                     WHERE status <> 'terminated' AND (actual_end_date IS NULL OR actual_end_date > $d1))
GROUP BY project_id"""
# snapshot rows per range (a range holds at least one date); 4 M take about 1.5 GB of DuckDB memory
CHUNK_ROWS = 4_000_000

STAMP_DDL = """CREATE OR REPLACE TABLE mart_stamp AS
SELECT $version::BIGINT AS data_version, $as_of::DATE AS as_of, now()::TIMESTAMP AS refreshed_at"""


def refresh(con: duckdb.DuckDBPyConnection, as_of: date, version: int) -> int:
    """Rebuild the marts for the data as of `as_of` (in one transaction); returns snapshot rows."""
    con.execute("BEGIN TRANSACTION")
    try:
        rebuild(con, as_of, version)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return con.execute("SELECT count(*) FROM item_snapshots").fetchall()[0][0]


def restamp(con: duckdb.DuckDBPyConnection, as_of: date, version: int) -> None:
    """Mark the marts current for `version` without rebuilding them: for a load that changed none of
    SOURCES and not the as-of date (the snapshots would come out the same)."""
    con.execute(STAMP_DDL, {"version": version, "as_of": as_of})


def rebuild(con: duckdb.DuckDBPyConnection, as_of: date, version: int) -> None:
    """The marts' statements, inside the caller's transaction (an upload commits them with its data)."""
    for name, sql in SNAPSHOT_STEPS:  # names and SQL are constants of this module
        params = {"as_of": as_of} if "$as_of" in sql else None
        con.execute("CREATE OR REPLACE TEMP TABLE " + name + " AS " + sql, params)
    per_date = con.execute("SELECT snapshot_date, n_items FROM flying_per_date ORDER BY 1").fetchall()
    # the first range creates the table (so its column types are the query's), the others append in
    # date order: the table stays ordered by (snapshot_date, project_id)
    head, after = "CREATE OR REPLACE TABLE item_snapshots AS ", None
    for d0, d1 in date_ranges(per_date, CHUNK_ROWS):
        con.execute(head + SNAPSHOT_RANGE, {"d0": d0, "d1": d1, "after": after})
        con.execute(CARRY_FORWARD, {"d1": d1, "after": after})
        con.execute("DROP TABLE carried")
        con.execute("ALTER TABLE carried_next RENAME TO carried")
        head, after = "INSERT INTO item_snapshots ", d1
    for name, _ in SNAPSHOT_STEPS:
        con.execute("DROP TABLE " + name)
    con.execute("CREATE OR REPLACE TABLE mart_dates AS SELECT DISTINCT snapshot_date FROM item_snapshots ORDER BY 1")
    con.execute(STAMP_DDL, {"version": version, "as_of": as_of})


def rebuild_since(con: duckdb.DuckDBPyConnection, as_of: date, version: int, since: date) -> bool:
    """Rebuild only what a commit can have changed when the projects and milestones are as they were and no
    progress report dated before `since` changed (an append or upsert of reports; the caller knows): the
    snapshot dates from `since` on, and any date the (new) as-of date adds; dates it no longer has go. Inside
    the caller's transaction. The result is the same table, row for row and in the same order, as `rebuild`
    (tests/test_marts.py holds them equal); False, having changed nothing, when the mart is not there to update.
    A weekly upload of the latest reports then rebuilds two or three snapshot dates instead of every one."""
    if not all(has_table(con, t) for t in TABLES):
        return False
    for name, sql in SNAPSHOT_STEPS:
        params = {"as_of": as_of} if "$as_of" in sql else None
        con.execute("CREATE OR REPLACE TEMP TABLE " + name + " AS " + sql, params)
    new_dates = [r[0] for r in con.execute("SELECT snapshot_date FROM snap_dates ORDER BY 1").fetchall()]
    old_dates = {r[0] for r in con.execute("SELECT snapshot_date FROM mart_dates").fetchall()}
    start = min([since, *(d for d in new_dates if d not in old_dates)])
    before = [d for d in new_dates if d < start]
    # the dates kept are those before `start` the new as-of date still has; the rest is computed again
    con.execute("DELETE FROM item_snapshots WHERE snapshot_date >= ? OR NOT list_contains(?::DATE[], snapshot_date)",
                [start, new_dates])
    after = before[-1] if before else None
    if after is not None:  # each signal's state at the last kept date, as the range before would have left it
        con.execute(CARRY_FORWARD, {"d1": after, "after": None})
        con.execute("DROP TABLE carried")
        con.execute("ALTER TABLE carried_next RENAME TO carried")
    per_date = con.execute("SELECT snapshot_date, n_items FROM flying_per_date WHERE snapshot_date >= ? ORDER BY 1",
                           [start]).fetchall()
    for d0, d1 in (date_ranges(per_date, CHUNK_ROWS) if per_date else []):
        con.execute("INSERT INTO item_snapshots " + SNAPSHOT_RANGE, {"d0": d0, "d1": d1, "after": after})
        con.execute(CARRY_FORWARD, {"d1": d1, "after": after})
        con.execute("DROP TABLE carried")
        con.execute("ALTER TABLE carried_next RENAME TO carried")
        after = d1
    for name, _ in SNAPSHOT_STEPS:
        con.execute("DROP TABLE " + name)
    con.execute("CREATE OR REPLACE TABLE mart_dates AS SELECT DISTINCT snapshot_date FROM item_snapshots ORDER BY 1")
    con.execute(STAMP_DDL, {"version": version, "as_of": as_of})
    return True


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("SELECT 1 FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = ?",
                            [name]).fetchall())


def date_ranges(per_date: list[tuple[date, int]], max_rows: int) -> list[tuple[date, date]]:
    """Consecutive (first, last) date ranges of about `max_rows` rows each from (date, rows) in date order;
    always at least one range, so that an empty database still gets an (empty) snapshot table."""
    if not per_date:
        return [(date.min, date.min)]
    ranges, first, rows = [], per_date[0][0], 0
    for i, (d, n) in enumerate(per_date):
        if rows and rows + n > max_rows:
            ranges.append((first, per_date[i - 1][0]))
            first, rows = d, 0
        rows += n
    ranges.append((first, per_date[-1][0]))
    return ranges


def has_snapshots(con: duckdb.DuckDBPyConnection, dates: list[date]) -> bool:
    """True when the mart holds every one of `dates` and was built for the newest data version
    (a load without a refresh must never be read from a stale mart)."""
    try:
        rows = con.execute(
            """SELECT count(*) FROM mart_dates, mart_stamp
               WHERE list_contains(?::DATE[], snapshot_date)
                 AND data_version = (SELECT max(version) FROM data_versions)""", [dates]).fetchall()
    except duckdb.CatalogException:
        return False
    return rows[0][0] == len(set(dates))


def sundays(end: date, weeks: int) -> list[date]:
    """The `weeks` Sundays up to `end` (the weekly chart's dates)."""
    last = end - timedelta(days=(end.weekday() + 1) % 7)
    return [last - timedelta(weeks=i) for i in range(weeks - 1, -1, -1)]
