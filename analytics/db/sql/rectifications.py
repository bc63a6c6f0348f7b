"""SQL of the rectification ledger page (整改台账), by name, with `$name` parameters.

The per-region and per-department metric queries are the cockpit's `region_rectifications` (sql/metrics.py), built
by the same builder with the responsible-department predicate (and key) added, so the ledger's completion rate,
overdue count, days to close and relapse rate use exactly the cockpit's formulas: with `$rect_depts` empty the
region query counts what the cockpit's does (a test holds them equal).

`$rect_depts` narrows by the rectification's responsible department (整改责任单位), a page-level choice.
The global lead-department and domain filters do not narrow rectifications here, as in the cockpit:
SCOPED_RECTIFICATIONS applies the region filter and the user's scope only.
"""
from __future__ import annotations

from analytics.db.sql.metrics import WHERE, region_rectifications
from analytics.db.scope import SCOPED_RECTIFICATIONS
from analytics.db.sql.rules import GROUP_CODES, rect_closed, rect_overdue

RECT_DEPTS = WHERE["r"]["rect_depts"]

# open = not closed by the period end; days open run to the closure or to the period end; overdue by the one rule
# the cockpit's `n_rect_overdue` counts (sql/rules.py: deadline before the period end, not closed by it)
_CLOSED = rect_closed()

QUERIES: dict[str, str] = {
    # grain: one row per region at $group_level (and the $total_code region): the cockpit's rectification counts
    "rectifications_region_metrics": region_rectifications(where=("rect_depts",)),
    # grain: one row per responsible department (of the $total_code region; pass group_level 'none')
    "rectifications_dept_metrics": region_rectifications(("dept",), ("rect_depts",)),
    # grain: one row per rectification in scope and filter, found by the period end, with its state at the end
    "rectifications_ledger": "WITH " + SCOPED_RECTIFICATIONS + ", " + GROUP_CODES + """
        SELECT r.rectification_id, r.project_id, p.name AS item_name, r.region_code, g.name AS region_name,
            gk.group_code, r.source, r.responsible_dept, r.description, r.found_date, r.deadline, r.closed_date,
            r.status, coalesce(r.is_relapse, false) AS is_relapse,
            """ + _CLOSED + """ AS is_closed,
            date_diff('day', r.found_date, CASE WHEN """ + _CLOSED + """ THEN r.closed_date
                                                ELSE $period_end::DATE END) AS days_open,
            """ + rect_overdue() + """ AS is_overdue,
            CASE WHEN """ + rect_overdue() + """
                 THEN date_diff('day', r.deadline, $period_end::DATE) END AS days_overdue
        FROM scoped_rectifications r
        JOIN regions g ON g.region_code = r.region_code
        LEFT JOIN projects p ON p.project_id = r.project_id
        LEFT JOIN group_codes gk ON gk.region_code = r.region_code
        WHERE r.found_date <= $period_end::DATE AND """ + RECT_DEPTS + """
        ORDER BY r.rectification_id""",
    # grain: one row per responsible department with rectifications in scope and filter (the page's choice)
    "rectifications_dept_options": "WITH " + SCOPED_RECTIFICATIONS + """
        SELECT responsible_dept AS dept, count(*) AS n FROM scoped_rectifications r
        WHERE r.found_date <= $period_end::DATE
        GROUP BY ALL ORDER BY n DESC, dept""",
}
