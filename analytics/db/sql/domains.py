"""SQL of the domains page, by name, with `$name` parameters; every fact read through the scoped fragments.

The domain × region queries are the metric queries of `sql/metrics.py` built with the domain as a grouping key
by the same builders, so a cell uses exactly the formulas of
`metrics.region_table` (a test holds a cell equal to the region table filtered to that domain).
Rectifications are not split: the scoped rectification fragment does not apply a domain filter,
so the region table of one domain carries the whole ledger of its regions, and so does each cell.
"""
from __future__ import annotations

from analytics.db.sql.metrics import (ITEM_MART, SNAPSHOT_MART, region_feedback, region_indicators,
                                      region_items)
from analytics.db.sql.rules import item_counts, rect_closed
from analytics.db.scope import SCOPED_RECTIFICATIONS, SCOPED_REGIONS


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
    "domains_region_items": region_items(("domain",)),
    "domains_region_items@snapshot": region_items(("domain",), SNAPSHOT_MART),
    # grain: one row per domain per region at $group_level: feedback received in the window
    "domains_region_feedback": region_feedback(("domain",), ("has_domain",)),
    # grain: one row per domain per region at $group_level: indicator values whose period ends in the window
    "domains_region_indicators": region_indicators(("domain",)),
    # grain: one row per department leading items in the selection or co-operating on its late items
    "domains_dept_league": ITEM_MART + _DEPT_LEAGUE,
    "domains_dept_league@snapshot": SNAPSHOT_MART + _DEPT_LEAGUE,
}
