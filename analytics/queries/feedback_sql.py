"""SQL of the public feedback page (群众反馈), by name, with `$name` parameters; feedback read through
SCOPED_FEEDBACK only.

The channel series is the metric series query of trends_sql.py (itself the cockpit's `region_feedback`
generalised to many windows) with the channel added as a grouping, derived from the same SQL text, so a
channel's point uses exactly the cockpit's formulas. The window queries below take their span through
`$period_start`, which the caller sets to the first window's start (the scoped fragment then reads just
that span).
"""
from __future__ import annotations

from .scope import SCOPED_FEEDBACK
from .trends_sql import GROUP_CODES, QUERIES as TRENDS_QUERIES, WINDOWS


def _edit(sql: str, old: str, new: str) -> str:
    if sql.count(old) != 1:  # the trends SQL changed shape: fail loudly rather than group wrongly
        raise RuntimeError(f"feedback_sql: anchor {old!r} found {sql.count(old)} times")
    return sql.replace(old, new)


QUERIES: dict[str, str] = {
    # grain: one row per window and channel (+ a total row per window, is_total): feedback received in the window.
    # Pass by = 'channel'.
    "feedback_channel_series": _edit(TRENDS_QUERIES["trends_series_feedback"],
                                     "WHEN 'domain' THEN f.domain END AS grp",
                                     "WHEN 'domain' THEN f.domain WHEN 'channel' THEN f.channel END AS grp"),
    # grain: one row per window and complaint category: complaints received in the window
    "feedback_category_windows": "WITH " + SCOPED_FEEDBACK + ", " + WINDOWS + """
        SELECT w.w_period, coalesce(f.category, '') AS category, count(*) AS n_complaints
        FROM windows w JOIN scoped_feedback f
          ON f.received_at >= w.w_start AND f.received_at < w.w_end + INTERVAL 1 DAY
        WHERE f.is_complaint
        GROUP BY ALL ORDER BY w.w_period, n_complaints DESC, category""",
    # grain: one row per distinct complaint text in the selection: how often it was received, and its category
    "feedback_complaint_texts": "WITH " + SCOPED_FEEDBACK + """
        SELECT f.text, count(*) AS n, mode(f.category) AS category, max(f.received_at) AS last_received_at
        FROM scoped_feedback f
        WHERE f.is_complaint AND f.text IS NOT NULL AND length(trim(f.text)) > 0
        GROUP BY f.text""",
    # grain: one row per region at $group_level (+ the selection's total row, is_total): complaints in the
    # recent window [$recent_start, $period_end] and the one before it [$period_start, $recent_start)
    "feedback_complaint_rise_regions": "WITH " + SCOPED_FEEDBACK + ", " + GROUP_CODES + """
        SELECT gk.group_code AS region_code, grouping(gk.group_code) = 1 AS is_total,
            count(*) FILTER (WHERE f.received_at >= $recent_start::DATE) AS n_recent,
            count(*) FILTER (WHERE f.received_at < $recent_start::DATE) AS n_previous
        FROM scoped_feedback f LEFT JOIN group_codes gk ON gk.region_code = f.region_code
        WHERE f.is_complaint
        GROUP BY GROUPING SETS ((), (gk.group_code))""",
    # grain: one row per item with complaints in either window (the same windows as above)
    "feedback_complaint_rise_items": "WITH " + SCOPED_FEEDBACK + """
        SELECT f.project_id,
            count(*) FILTER (WHERE f.received_at >= $recent_start::DATE) AS n_recent,
            count(*) FILTER (WHERE f.received_at < $recent_start::DATE) AS n_previous
        FROM scoped_feedback f
        WHERE f.is_complaint AND f.project_id IS NOT NULL
        GROUP BY f.project_id""",
}
