"""SQL of the domains page, by name, with `$name` parameters; every fact read through the scoped fragments.

The domain × region queries are the metric queries of `db/sql/metrics.py` with the domain added to
their grouping, derived from the same SQL text, so a cell uses exactly the formulas of
`metrics.region_table` (a test holds a cell equal to the region table filtered to that domain).
Rectifications are not split: the scoped rectification fragment does not apply a domain filter,
so the region table of one domain carries the whole ledger of its regions, and so does each cell.
"""
from __future__ import annotations

from analytics.db.derive import edit
from analytics.db.sql.metrics import ITEM_MART, METRIC_QUERIES, SNAPSHOT_MART
from analytics.db.sql.rules import item_counts, rect_closed
from analytics.db.scope import SCOPED_RECTIFICATIONS, SCOPED_REGIONS


def _with_domain(sql: str, edits: tuple[tuple[str, str], ...]) -> str:
    return edit(sql, edits, "analytics/db/sql/domains.py")


_ITEMS_EDIT = (("SELECT g.region_code, g.name, g.level,", "SELECT s.domain, g.region_code, g.name, g.level,"),)
_FEEDBACK_EDIT = (("SELECT f.region_code,", "SELECT f.domain, f.region_code,"),
                  ("GROUP BY f.region_code", "WHERE f.domain IS NOT NULL GROUP BY f.domain, f.region_code"),
                  ("SELECT g.region_code, sum(n_feedback)", "SELECT f.domain, g.region_code, sum(n_feedback)"))
_INDICATORS_EDIT = (("SELECT v.region_code, count(*)", "SELECT v.domain, v.region_code, count(*)"),
                    ("GROUP BY v.region_code", "GROUP BY v.domain, v.region_code"),
                    ("SELECT g.region_code, sum(n_indicator_values)",
                     "SELECT v.domain, g.region_code, sum(n_indicator_values)"))

# grain of each department query: one row per department. Late = in flight and red (an overdue item
# is always red). Rectifications belong to a department through the item they concern.
_DEPT_LEAGUE = ", " + SCOPED_RECTIFICATIONS + """,
    led AS (
        SELECT lead_dept AS dept,
            """ + item_counts(("n_in_flight", "n_completed", "n_on_time", "n_overdue", "n_red")) + """
        FROM item_light
        GROUP BY lead_dept
    ),
    late AS (SELECT project_id, co_depts FROM item_light WHERE light = 'red'),
    co AS (
        SELECT d.dept, count(DISTINCT l.project_id) AS n_co_late
        FROM late l, unnest(list_distinct(l.co_depts)) AS d(dept)
        GROUP BY d.dept
    ),
    rect AS (
        SELECT i.lead_dept AS dept, count(*) AS n_rect_open
        FROM scoped_rectifications r JOIN scoped_items i ON i.project_id = r.project_id
        WHERE NOT """ + rect_closed() + """
        GROUP BY i.lead_dept
    )
    SELECT dept,
        coalesce(led.n_in_flight, 0) AS n_in_flight, coalesce(led.n_completed, 0) AS n_completed,
        coalesce(led.n_on_time, 0) AS n_on_time, coalesce(led.n_overdue, 0) AS n_overdue,
        coalesce(led.n_red, 0) AS n_red, coalesce(rect.n_rect_open, 0) AS n_rect_open,
        coalesce(co.n_co_late, 0) AS n_co_late, (SELECT count(*) FROM late) AS n_late,
        led.dept IS NOT NULL AS is_lead
    FROM led FULL JOIN co USING (dept) LEFT JOIN rect USING (dept)
    ORDER BY dept"""

QUERIES: dict[str, str] = {
    # grain: one row per region at $group_level within the selection and scope (the heatmaps' columns)
    "domains_compared_regions": "WITH " + SCOPED_REGIONS + """
        SELECT region_code, name FROM scoped_regions
        WHERE level = $group_level::VARCHAR
          AND ($region::VARCHAR IS NULL OR region_code IN (
                SELECT region_code FROM region_closure WHERE ancestor_code = $region::VARCHAR))
        ORDER BY region_code""",
    # grain: one row per domain per region at $group_level (and the $total_code region): item execution
    "domains_region_items": _with_domain(METRIC_QUERIES["region_items"], _ITEMS_EDIT),
    "domains_region_items@snapshot": _with_domain(METRIC_QUERIES["region_items@snapshot"], _ITEMS_EDIT),
    # grain: one row per domain per region at $group_level: feedback received in the window
    "domains_region_feedback": _with_domain(METRIC_QUERIES["region_feedback"], _FEEDBACK_EDIT),
    # grain: one row per domain per region at $group_level: indicator values whose period ends in the window
    "domains_region_indicators": _with_domain(METRIC_QUERIES["region_indicators"], _INDICATORS_EDIT),
    # grain: one row per department leading items in the selection or co-operating on its late items
    "domains_dept_league": ITEM_MART + _DEPT_LEAGUE,
    "domains_dept_league@snapshot": SNAPSHOT_MART + _DEPT_LEAGUE,
}
