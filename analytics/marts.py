"""Pre-computed marts, rebuilt whenever data is loaded (demo generation, and later each commit).

`item_snapshots` — grain: one row per item in flight per snapshot date — holds the latest value of
each progress signal and the milestone state as of that date. Snapshot dates are every Sunday,
every month end, the data's as-of date and four weeks before it, so every period end the app asks
for is one. Queries for other dates compute the same state live (`queries/metrics_sql.py`); a
test holds the two paths equal.
"""
from __future__ import annotations

from datetime import date, timedelta

import duckdb

TABLES = ("item_snapshots", "mart_dates", "mart_stamp")  # derived; rebuilt by refresh(), never uploaded
SOURCES = ("projects", "progress_reports", "milestones")  # what the snapshots are computed from

# Built in steps, each a temp table: inlined as CTEs, DuckDB 2.0 plans the ASOF join very badly
# (over ten minutes at scale 1 instead of about one second).
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
    ("filled", """-- each signal carried forward from the last report that had it
    SELECT project_id, report_date,
        last_value(CASE WHEN actual_progress_pct IS NOT NULL THEN planned_progress_pct END IGNORE NULLS) OVER w
            AS planned_pct,
        last_value(CASE WHEN planned_progress_pct IS NOT NULL THEN actual_progress_pct END IGNORE NULLS) OVER w
            AS actual_pct,
        last_value(forecast_end_date IGNORE NULLS) OVER w AS forecast_end_date,
        last_value(budget_spent_wan_yuan IGNORE NULLS) OVER w AS spent_wan_yuan,
        last_value(rag IGNORE NULLS) OVER w AS rag
    FROM progress_reports
    WHERE report_date <= $as_of::DATE
    WINDOW w AS (PARTITION BY project_id ORDER BY report_date ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)"""),
    ("flying", """SELECT d.snapshot_date, p.project_id
    FROM snap_dates d JOIN projects p
      ON p.start_date <= d.snapshot_date AND (p.actual_end_date IS NULL OR p.actual_end_date > d.snapshot_date)
     AND p.status <> 'terminated'"""),
    ("ms", """SELECT f.snapshot_date, f.project_id,
        sum(coalesce(m.weight, 1)) AS weight_total,
        count(*) FILTER (WHERE m.planned_date <= f.snapshot_date) AS n_due,
        count(*) FILTER (WHERE m.planned_date <= f.snapshot_date
                           AND (m.actual_date IS NULL OR m.actual_date > f.snapshot_date)) AS n_missed,
        coalesce(sum(coalesce(m.weight, 1)) FILTER (WHERE m.planned_date <= f.snapshot_date
                           AND (m.actual_date IS NULL OR m.actual_date > f.snapshot_date)), 0) AS weight_missed
    FROM flying f JOIN milestones m USING (project_id)
    GROUP BY ALL"""),
)
SNAPSHOT_FINAL = """CREATE OR REPLACE TABLE item_snapshots AS
SELECT f.snapshot_date, f.project_id, r.report_date AS last_report_date, r.planned_pct, r.actual_pct,
       r.forecast_end_date, r.spent_wan_yuan, r.rag, ms.weight_total, ms.n_due, ms.n_missed, ms.weight_missed
FROM flying f
ASOF LEFT JOIN filled r ON r.project_id = f.project_id AND r.report_date <= f.snapshot_date
LEFT JOIN ms ON ms.snapshot_date = f.snapshot_date AND ms.project_id = f.project_id
ORDER BY f.snapshot_date, f.project_id"""

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
    con.execute(SNAPSHOT_FINAL)
    for name, _ in SNAPSHOT_STEPS:
        con.execute("DROP TABLE " + name)
    con.execute("CREATE OR REPLACE TABLE mart_dates AS SELECT DISTINCT snapshot_date FROM item_snapshots")
    con.execute(STAMP_DDL, {"version": version, "as_of": as_of})


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
