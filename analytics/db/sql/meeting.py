"""SQL behind the review-meeting deck (`analytics/meeting`): rectification status and overdue items,
and the feedback that arrived since the last meeting.

Each query reads its facts through the scoped fragments, so the user's scope and the global filters
apply. `$since` is the previous meeting's as-of date (the comparison point of the meeting preset);
`$period_end` is the meeting's own as-of date (the filter period's end, clipped to it).
"""
from __future__ import annotations

from analytics.db.scope import SCOPED_FEEDBACK, SCOPED_RECTIFICATIONS
from analytics.db.sql.rules import rect_closed, rect_overdue

# a rectification's state as of $period_end, from its dates (the stored status is today's, so it is only
# used to tell open from in-progress and awaiting acceptance among the items neither closed nor late)
_RECT_STATE = """CASE WHEN """ + rect_closed() + """ THEN 'closed'
             WHEN """ + rect_overdue() + """ THEN 'overdue'
             WHEN r.status IN ('open', 'awaiting_acceptance') THEN r.status
             ELSE 'in_progress' END"""

QUERIES: dict[str, str] = {
    # grain: one row per state (open, in_progress, awaiting_acceptance, overdue, closed) of the
    # rectifications still open at $period_end or closed since $since; `n_new` were found since $since
    "meeting_rect_status": "WITH " + SCOPED_RECTIFICATIONS + """
        SELECT """ + _RECT_STATE + """ AS state, count(*) AS n_rect,
            count(*) FILTER (WHERE r.found_date > $since::DATE) AS n_new
        FROM scoped_rectifications r
        WHERE r.closed_date IS NULL OR r.closed_date > $since::DATE
        GROUP BY ALL ORDER BY state""",
    # grain: one row per rectification past its deadline and not closed at $period_end, longest overdue first
    "meeting_rect_overdue": "WITH " + SCOPED_RECTIFICATIONS + """
        SELECT r.rectification_id, r.description, r.responsible_dept, r.region_code, g.name AS region_name,
            r.project_id, r.found_date, r.deadline,
            date_diff('day', r.deadline, $period_end::DATE) AS days_overdue, coalesce(r.is_relapse, false) AS is_relapse
        FROM scoped_rectifications r LEFT JOIN regions g USING (region_code)
        WHERE """ + rect_overdue() + """
        ORDER BY r.deadline, r.rectification_id""",
    # grain: one row per feedback category, for feedback received after $since up to $period_end
    "meeting_feedback_categories": "WITH " + SCOPED_FEEDBACK + """
        SELECT coalesce(f.category, '') AS category, count(*) AS n_feedback,
            count(*) FILTER (WHERE f.is_complaint) AS n_complaints,
            avg(f.satisfaction) AS avg_satisfaction, count(f.satisfaction) AS n_rated
        FROM scoped_feedback f
        WHERE f.received_at >= $since::DATE + INTERVAL 1 DAY
        GROUP BY ALL ORDER BY n_complaints DESC, n_feedback DESC, category""",
}
