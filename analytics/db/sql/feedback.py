"""SQL of the public feedback page (群众反馈), by name, with `$name` parameters; feedback read through
SCOPED_FEEDBACK only.

The breakdowns query is the cockpit's `region_feedback` built with domain and channel as groupings
(sql/metrics.py): one scan of the feedback yields the region table (the same rows as the cockpit's), the
selection's row per domain (the domains page's) and per channel. The channel series is the metric series query of
sql/trends.py (the cockpit's `region_feedback` generalised to many windows) grouped by channel, so a channel's
point uses exactly the cockpit's formulas. The window queries below take their span through
`$period_start`, which the caller sets to the first window's start (the scoped fragment then reads just
that span).
"""
from __future__ import annotations

from analytics.db.sql.metrics import region_feedback
from analytics.db.scope import SCOPED_FEEDBACK
from analytics.db.sql.rules import GROUP_CODES
from analytics.db.sql.trends import QUERIES as TRENDS_QUERIES, WINDOWS


QUERIES: dict[str, str] = {
    # grain: one row per region at $group_level and for $total_code (kind 'region'), and one per domain
    # ('domain') and per channel ('channel') within each of those regions: feedback received in the period.
    "feedback_breakdowns": region_feedback(("domain", "channel"), breakdowns=True),
    # grain: one row per window and channel (+ a total row per window, is_total): feedback received in the window.
    # The trend series' query itself; pass by = 'channel'.
    "feedback_channel_series": TRENDS_QUERIES["trends_series_feedback"],
    # grain: one row per window and complaint category: complaints received in the window
    "feedback_category_windows": "WITH " + SCOPED_FEEDBACK + ", " + WINDOWS + """
        SELECT w.w_period, coalesce(f.category, '') AS category, count(*) AS n_complaints
        FROM windows w JOIN scoped_feedback f
          ON f.received_at >= w.w_start AND f.received_at < w.w_end + INTERVAL 1 DAY
        WHERE f.is_complaint
        GROUP BY ALL ORDER BY w.w_period, n_complaints DESC, category""",
    # grain: one row per distinct complaint text in the selection, the $max_texts most frequent: how often it was
    # received, with the selection's number of distinct texts and of complaints with text on every row
    "feedback_complaint_texts": "WITH " + SCOPED_FEEDBACK + """, texts AS (
            SELECT f.text, count(*) AS n
            FROM scoped_feedback f
            WHERE f.is_complaint AND f.text IS NOT NULL AND length(trim(f.text)) > 0
            GROUP BY f.text
        )
        SELECT text, n, count(*) OVER () AS n_distinct, sum(n) OVER ()::BIGINT AS n_all
        FROM texts ORDER BY n DESC, text LIMIT $max_texts::BIGINT""",
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
