"""SQL of the notification rules (issue 20): the items and rectifications on each rule's line at a date.

The conditions are the ones the pages count (sql/rules.py: `item_is`, `rect_overdue`; the light of sql/metrics.py),
selected row by row; the rules' own parameters (days before a deadline, weeks in red) are applied to these rows in
analytics/notify/evaluate.py. Scoped like every other query.
"""
from __future__ import annotations

from analytics.db.scope import SCOPED_RECTIFICATIONS
from analytics.db.sql.metrics import ITEM_MART, SNAPSHOT_MART
from analytics.db.sql.rules import item_is, rect_overdue

_ITEMS = """
        SELECT s.project_id, s.name, s.region_code, g.name AS region_name, s.domain, s.lead_dept,
               s.planned_end_date, s.last_report_date, s.light, s.rule, s.lag_pp, s.days_late,
               date_diff('day', $period_end::DATE, s.planned_end_date) AS days_left,
               """ + item_is("overdue", "s") + """ AS is_overdue,
               coalesce(""" + item_is("deviating", "s") + """, false) AS is_behind
        FROM item_light s JOIN regions g ON g.region_code = s.region_code
        WHERE s.state = 'in_flight'
        ORDER BY s.project_id"""

QUERIES: dict[str, str] = {
    # grain: one row per item in flight at $period_end, in scope and filter: its light, owner and the conditions
    # the rules read (overdue; behind plan by more than $yellow_pp; days to its deadline)
    "notify_items": ITEM_MART + _ITEMS,
    "notify_items@snapshot": SNAPSHOT_MART + _ITEMS,
    # grain: one row per rectification overdue at $period_end, in scope and filter, with its item's domain
    "notify_rect_overdue": "WITH " + SCOPED_RECTIFICATIONS + """
        SELECT r.rectification_id, r.project_id, r.region_code, g.name AS region_name, p.domain,
               r.responsible_dept, r.deadline, r.description,
               date_diff('day', r.deadline, $period_end::DATE) AS days_late
        FROM scoped_rectifications r LEFT JOIN projects p USING (project_id)
        JOIN regions g ON g.region_code = r.region_code
        WHERE """ + rect_overdue("r") + """
        ORDER BY r.rectification_id""",
}
