"""SQL of the notification rules (issue 20): the items and rectifications on each rule's line at a date.

The conditions are the ones the pages count (sql/rules.py: `item_is`, `rect_overdue`; the light of sql/metrics.py),
selected row by row; the rules' own parameters (days before a deadline, weeks in red) are applied to these rows in
analytics/notify/evaluate.py. Scoped like every other query.
"""
from __future__ import annotations

from analytics.db.scope import SCOPED_ITEMS, SCOPED_RECTIFICATIONS
from analytics.db.sql.metrics import ITEM_MART, SNAPSHOT_MART
from analytics.db.sql.rules import item_is, rect_overdue

_ITEMS = """
        SELECT s.project_id, s.name, s.region_code, g.name AS region_name, s.domain, s.lead_dept,
               s.planned_end_date, s.last_report_date, s.light, s.rule, s.lag_pp, s.days_late,
               date_diff('day', $period_end::DATE, s.planned_end_date) AS days_left,
               """ + item_is("overdue", "s") + """ AS is_overdue,
               coalesce(""" + item_is("deviating", "s") + """, false) AS is_behind,
               p.responsible_leaders
        FROM item_light s JOIN regions g ON g.region_code = s.region_code
        JOIN projects p ON p.project_id = s.project_id
        WHERE s.state = 'in_flight'
        ORDER BY s.project_id"""

QUERIES: dict[str, str] = {
    # grain: one row per item in flight at $period_end, in scope and filter: its light, owner (lead department and
    # responsible leaders, who receive its notices) and the conditions the rules read (overdue; behind plan by
    # more than $yellow_pp; days to its deadline)
    "notify_items": ITEM_MART + _ITEMS,
    "notify_items@snapshot": SNAPSHOT_MART + _ITEMS,
    # grain: one row per rectification overdue at $period_end, in scope and filter, with its item's domain and
    # responsible leaders
    "notify_rect_overdue": "WITH " + SCOPED_RECTIFICATIONS + """
        SELECT r.rectification_id, r.project_id, r.region_code, g.name AS region_name, p.domain,
               r.responsible_dept, r.deadline, r.description, p.responsible_leaders,
               date_diff('day', r.deadline, $period_end::DATE) AS days_late
        FROM scoped_rectifications r LEFT JOIN projects p USING (project_id)
        JOIN regions g ON g.region_code = r.region_code
        WHERE """ + rect_overdue("r") + """
        ORDER BY r.rectification_id""",
    # grain: one row per department named as an item's lead department or a rectification's responsible one, in
    # scope: how many items it leads and rectifications it is responsible for (the admin page offers these as an
    # account's department, and says how many notices-worth of items a department written so would match)
    "notify_departments": "WITH " + SCOPED_ITEMS + ", " + SCOPED_RECTIFICATIONS + """
        SELECT dept, sum(n_items)::BIGINT AS n_items, sum(n_rect)::BIGINT AS n_rect FROM (
            SELECT lead_dept AS dept, count(*) AS n_items, 0 AS n_rect FROM scoped_items
            WHERE lead_dept IS NOT NULL GROUP BY lead_dept
            UNION ALL
            SELECT responsible_dept AS dept, 0 AS n_items, count(*) AS n_rect FROM scoped_rectifications
            WHERE responsible_dept IS NOT NULL GROUP BY responsible_dept)
        GROUP BY dept
        ORDER BY n_items DESC, n_rect DESC, dept""",
}
