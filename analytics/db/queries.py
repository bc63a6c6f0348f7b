"""All SQL the app runs, by name, with `$name` parameters, scoped to the user's regions.

Every query that touches supervised items, feedback or rectifications reads them through the
`scoped_*` fragments of `scope.py`, which apply the user's scope and the global filters. The scope is
ANDed with the filter, so a filter (for example a hand-edited URL) can only narrow what a user
sees, never widen it. `run` passes each query only the parameters it names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from analytics.db import marts
from analytics.filters import Filters, period_bounds
from analytics.db.sql import (auth, domains, explain, feedback, freshness, item, meeting, notify, quality,
                               rectifications, regions, risk, trends, upload)
from analytics.db.sql import annotations as annotation_sql
from analytics.db.sql.metrics import METRIC_QUERIES
from analytics.db.scope import SCOPED_FEEDBACK, SCOPED_ITEMS, SCOPED_RECTIFICATIONS, SCOPED_REGIONS, region_predicate


@dataclass(frozen=True)
class Scope:
    """Which rows a user may see: regions (with everything below them) and domains; empty = all."""

    region_codes: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


NATIONAL = Scope()

QUERIES: dict[str, str] = {
    # data version and as-of date of the newest load
    "data_version": "SELECT version, as_of, created_at, source FROM data_versions ORDER BY version DESC LIMIT 1",
    # regions the user may pick, with their level and parent (for the cascade)
    "region_options": "WITH " + SCOPED_REGIONS + """
        SELECT region_code, name, level, parent_code FROM scoped_regions
        WHERE level <> 'country' ORDER BY region_code""",
    # every region's name, or those of one level (analytics/levels.py: names)
    "region_names": """SELECT region_code, name FROM regions WHERE $level::VARCHAR IS NULL OR level = $level::VARCHAR
        ORDER BY region_code""",
    # one region's level, and whether a province has cities (a municipality has none): analytics/levels.py
    "region_level": "SELECT level FROM regions WHERE region_code = $code::VARCHAR",
    "region_has_cities": """SELECT count(*) > 0 AS has_cities FROM regions
        WHERE parent_code = $code::VARCHAR AND level = 'city'""",
    # the chain from the nation down to one region, for breadcrumbs and the cascade
    "region_path": """SELECT g.region_code, g.name, g.level, c.depth FROM region_closure c
        JOIN regions g ON g.region_code = c.ancestor_code
        WHERE c.region_code = $code::VARCHAR ORDER BY c.depth DESC""",
    # distinct values offered by the domain and department filters, with item counts, in scope
    "domain_options": """SELECT domain, count(*) AS n_items FROM projects p
        WHERE (len($scope_domains::VARCHAR[]) = 0 OR list_contains($scope_domains::VARCHAR[], p.domain))
          AND """ + region_predicate("p.region_code") + """
        GROUP BY domain ORDER BY n_items DESC, domain""",
    "dept_options": """SELECT lead_dept, count(*) AS n_items FROM projects p
        WHERE (len($scope_domains::VARCHAR[]) = 0 OR list_contains($scope_domains::VARCHAR[], p.domain))
          AND """ + region_predicate("p.region_code") + """
        GROUP BY lead_dept ORDER BY n_items DESC, lead_dept""",
    # grain: one row per item status, for the items active in the period under the filters
    "items_by_status": "WITH " + SCOPED_ITEMS + """
        SELECT status, count(*) AS n_items, sum(budget_wan_yuan) AS budget_wan_yuan
        FROM scoped_items GROUP BY status ORDER BY status""",
    # grain: one row; how much data stands behind the current view
    "overview_counts": "WITH " + SCOPED_ITEMS + ", " + SCOPED_FEEDBACK + ", " + SCOPED_RECTIFICATIONS + """
        SELECT
            (SELECT count(*) FROM scoped_items) AS n_items,
            (SELECT count(*) FROM progress_reports r JOIN scoped_items i USING (project_id)
              WHERE r.report_date <= $period_end::DATE
                AND ($period_start::DATE IS NULL OR r.report_date >= $period_start::DATE)) AS n_reports,
            (SELECT count(*) FROM milestones m JOIN scoped_items i USING (project_id)) AS n_milestones,
            (SELECT count(*) FROM scoped_feedback) AS n_feedback,
            (SELECT count(*) FROM scoped_rectifications) AS n_rectifications,
            (SELECT count(DISTINCT policy_id) FROM scoped_items) AS n_policies,
            (SELECT min(start_date) FROM scoped_items) AS first_start_date""",
    # grain: one row per table; for the data page (not scoped: counts only, no rows)
    "table_sizes": """SELECT table_name, estimated_size AS n_rows FROM duckdb_tables()
        WHERE schema_name = 'main' ORDER BY table_name""",
    "versions": "SELECT version, created_at, created_by, source, description, as_of FROM data_versions ORDER BY version DESC",
}

QUERIES |= METRIC_QUERIES
# the SQL of each page (analytics/db/sql/<key>.py) and the shared SQL (metrics, quality, auth); names must not clash
for _module in (regions, domains, trends, item, upload, risk, meeting, quality, rectifications, feedback, auth, explain,
                freshness, notify, annotation_sql):
    assert not set(_module.QUERIES) & set(QUERIES), f"{_module.__name__} redefines a query"
    QUERIES |= _module.QUERIES

_PARAM_RE = re.compile(r"\$([a-z_]+)")


def params_for(filters: Filters, scope: Scope, as_of: date) -> dict[str, object]:
    start, end = period_bounds(filters.period, as_of)
    return {
        "scope_regions": list(scope.region_codes),
        "scope_domains": list(scope.domains),
        "region": filters.region_code,
        "domains": list(filters.domains),
        "depts": list(filters.lead_depts),
        "priorities": list(filters.priorities),
        "period_start": start,
        "period_end": end,
    }


def run(cur: duckdb.DuckDBPyConnection, name: str, filters: Filters = Filters(), scope: Scope = NATIONAL,
        as_of: date | None = None, use_marts: bool = True, **extra) -> pl.DataFrame:
    """Run the named query for a filter set and scope; `extra` supplies query-specific parameters."""
    available = params_for(filters, scope, as_of or date.today()) | extra
    snapshot = f"{name}@snapshot"
    if (use_marts and snapshot in QUERIES and all(p in available for p in _PARAM_RE.findall(QUERIES[snapshot]))
            and marts.has_snapshots(cur, extra.get("week_dates") or [available["period_end"]])):
        name = snapshot  # the same rows from the pre-computed mart
    return _execute(cur, name, QUERIES[name], available)


def _execute(cur: duckdb.DuckDBPyConnection, name: str, sql: str, available: dict) -> pl.DataFrame:
    """Run `sql` with the `$name` parameters it names, from `available` (extra ones are ignored, missing ones fail)."""
    wanted = dict.fromkeys(_PARAM_RE.findall(sql))
    missing = [p for p in wanted if p not in available]
    if missing:
        raise KeyError(f"query {name!r} needs parameters {missing}")
    return cur.sql(sql, params={p: available[p] for p in wanted}).pl()


# Queries over every item, by design: the slip-risk model learns from the whole history (its features, labels and
# snapshot plan), and what it computes is shown only joined to scoped rows (`risk_scores`). Kept apart from QUERIES,
# whose every entry the scope test runs under a county scope.
NATIONAL_QUERIES: dict[str, str] = {
    "risk_data_as_of": risk.RISK_DATA_AS_OF,
    "risk_features": risk.RISK_FEATURES,
    "risk_labels": risk.RISK_LABELS,
    "risk_report_dates": risk.RISK_REPORT_DATES,
    "risk_first_start": "SELECT min(start_date) AS first_start FROM projects",
    # how much reporting history there is: the first report date and the months with a report, up to $end
    "risk_history": """SELECT min(report_date) AS first_report, count(DISTINCT strftime(report_date, '%Y-%m')) AS months
        FROM progress_reports WHERE report_date <= $end::DATE""",
    # grain: one row per completed item: when it finished (the finish-date forecasts' track record, risk/forecast.py)
    "forecast_outcomes": """SELECT project_id, actual_end_date FROM projects
        WHERE actual_end_date IS NOT NULL AND coalesce(status, '') <> 'terminated'""",
    # grain: one row per item: its name and deadline, beside the saved forecasts (`risk forecast`, a national command)
    "forecast_items": "SELECT project_id, name, planned_end_date FROM projects",
}
assert not set(NATIONAL_QUERIES) & set(QUERIES)


def run_national(cur: duckdb.DuckDBPyConnection, name: str, **params) -> pl.DataFrame:
    """Run one of NATIONAL_QUERIES with the `$name` parameters it names."""
    return _execute(cur, name, NATIONAL_QUERIES[name], params)
