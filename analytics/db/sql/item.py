"""SQL of the item detail page, by name, with `$name` parameters.

An item is looked up within the user's scope only (not the global filters: a link from any table must
open its item whatever period is chosen). An item outside the scope returns no rows, exactly as an
unknown id does, so the page cannot tell anyone that it exists. Rows reached through the item (its feedback and
rectifications) are scoped by their own region too: a row linked to an item in scope but recorded for a region
outside it is not shown.
"""
from __future__ import annotations

from analytics.db.scope import SCOPED_ITEMS, region_predicate
from analytics.db.sql.rules import rect_closed, rect_overdue

# the user's scope, without the filters: the one item, if the user may see it
ITEM_IN_SCOPE = """item AS (
    SELECT p.* FROM projects p
    WHERE p.project_id = $project_id::VARCHAR
      AND """ + region_predicate("p.region_code") + """
      AND (len($scope_domains::VARCHAR[]) = 0 OR list_contains($scope_domains::VARCHAR[], p.domain))
)"""

QUERIES: dict[str, str] = {
    # grain: at most one row: the item with its policy, region name and the parent chain's names
    "item_head": "WITH " + ITEM_IN_SCOPE + """
        SELECT i.*, pol.name AS policy_name, g.name AS region_name, g.level AS region_level,
            (SELECT list(a.name ORDER BY c.depth DESC) FROM region_closure c
               JOIN regions a ON a.region_code = c.ancestor_code
              WHERE c.region_code = i.region_code AND a.level <> 'country') AS region_path
        FROM item i
        LEFT JOIN policies pol ON pol.policy_id = i.policy_id
        LEFT JOIN regions g ON g.region_code = i.region_code""",
    # grain: one row per progress report of the item, oldest first
    "item_reports": "WITH " + ITEM_IN_SCOPE + """
        SELECT r.report_date, r.planned_progress_pct, r.planned_basis, r.actual_progress_pct, r.forecast_end_date,
            r.budget_spent_wan_yuan, r.rag, r.note,
            100.0 * r.budget_spent_wan_yuan / nullif(i.budget_wan_yuan, 0) AS spent_share_pct
        FROM progress_reports r JOIN item i USING (project_id)
        ORDER BY r.report_date""",
    # grain: one row per milestone of the item, by planned date; state judged as of $period_end
    "item_milestones": "WITH " + ITEM_IN_SCOPE + """
        SELECT m.milestone_id, m.name, m.planned_date, m.actual_date, m.weight,
            CASE WHEN m.actual_date IS NOT NULL AND m.actual_date <= $period_end::DATE
                      THEN CASE WHEN m.actual_date <= m.planned_date THEN 'on_time' ELSE 'late' END
                 WHEN m.planned_date < $period_end::DATE THEN 'missed'
                 ELSE 'upcoming' END AS state,
            CASE WHEN m.actual_date IS NOT NULL AND m.actual_date <= $period_end::DATE
                      THEN greatest(date_diff('day', m.planned_date, m.actual_date), 0)
                 WHEN m.planned_date < $period_end::DATE THEN date_diff('day', m.planned_date, $period_end::DATE)
            END AS days_late
        FROM milestones m JOIN item i USING (project_id)
        ORDER BY m.planned_date, m.milestone_id""",
    # grain: one row per piece of feedback about the item, newest first
    "item_feedback": "WITH " + ITEM_IN_SCOPE + """
        SELECT f.feedback_id, f.received_at, f.channel, f.satisfaction, f.is_complaint, f.category,
            f.responded_at, f.is_resolved, f.text,
            date_diff('minute', f.received_at, f.responded_at) / 60.0 AS hours_to_answer
        FROM feedback f JOIN item i USING (project_id)
        WHERE f.received_at < $period_end::DATE + INTERVAL 1 DAY
          AND """ + region_predicate("f.region_code") + """  -- scoped by its own region, whatever it is linked to
        ORDER BY f.received_at DESC""",
    # grain: one row per rectification of the item, open ones first; days open as of $period_end
    "item_rectifications": "WITH " + ITEM_IN_SCOPE + """
        SELECT r.rectification_id, r.source, r.found_date, r.deadline, r.closed_date, r.status,
            r.responsible_dept, r.description, r.is_relapse,
            date_diff('day', r.found_date, CASE WHEN """ + rect_closed() + """ THEN r.closed_date
                                                ELSE $period_end::DATE END) AS days_open,
            """ + rect_overdue() + """ AS is_overdue
        FROM rectifications r JOIN item i USING (project_id)
        WHERE r.found_date <= $period_end::DATE
          AND """ + region_predicate("r.region_code") + """  -- scoped by its own region, whatever it is linked to
        ORDER BY """ + rect_closed() + """, r.deadline""",
    # grain: up to $limit items matching a text in their id or name, within scope and the filters
    "item_search": "WITH " + SCOPED_ITEMS + """
        SELECT i.project_id, i.name, i.region_code, g.name AS region_name, i.domain, i.lead_dept, i.status,
            i.planned_end_date
        FROM scoped_items i LEFT JOIN regions g ON g.region_code = i.region_code
        WHERE $text::VARCHAR = '' OR i.project_id = $text::VARCHAR
           OR contains(lower(i.name), lower($text::VARCHAR)) OR contains(lower(i.project_id), lower($text::VARCHAR))
        ORDER BY i.project_id = $text::VARCHAR DESC, i.status IN ('completed', 'terminated'), i.planned_end_date,
            i.project_id
        LIMIT $limit::INTEGER""",
}
