"""SQL of the trends page and of the metric time series (`analytics/series.py`), by name, with `$name` parameters.

The `trends_series_*` queries are the per-region metric queries of `db/sql/metrics.py` generalised to many
windows at once. The windows arrive as three parallel lists (`$w_periods`, `$w_starts`, `$w_ends`):
consecutive, non-overlapping periods (weeks, months or quarters). The scoped fragments are run for the
span of all windows (`$period_start` = first start, `$period_end` = last end) and each fact is then
matched to the windows it belongs to with exactly the condition the single-window query applies, so
every (window, group) row equals the single-window query for that window.

Grain of each: one row per window and group, plus one total row per window (`is_total`, the selection
itself). The group (`grp`) is picked by `$by`: 'region' (the ancestor at `$group_level`; facts recorded
at a coarser level join no group and count in the total only, as in `sql.metrics._grouped`), 'domain',
'dept' (items only) or 'none' (totals only).
"""
from __future__ import annotations

from analytics.db.sql.metrics import INDICATOR_VALUES, NEEDS_RESPONSE, _item_state, latest_report, milestone_state
from analytics.db.scope import SCOPED_FEEDBACK, SCOPED_ITEMS, SCOPED_RECTIFICATIONS
from analytics.db.sql.rules import GROUP_CODES, in_window, item_counts, rect_due, rect_overdue


WINDOWS = """windows AS (
    SELECT unnest($w_periods::VARCHAR[]) AS w_period, unnest($w_starts::DATE[]) AS w_start,
           unnest($w_ends::DATE[]) AS w_end
)"""
GROUPED = "GROUP BY GROUPING SETS ((w_period), (w_period, grp))"
TOTAL_FLAG = "grouping(grp) = 1 AS is_total"

# every scoped item active in a window: the window condition of SCOPED_ITEMS, per window
WIN_ITEMS = """win_items AS (
    SELECT w.w_end, i.* FROM windows w JOIN scoped_items i
      ON i.start_date <= w.w_end AND coalesce(i.actual_end_date, w.w_end) >= w.w_start
)"""

# the latest report and milestone state per (window end, item): the cockpit's CTEs, keyed by window
ITEMS_LIVE = ("WITH " + SCOPED_ITEMS + ", " + WINDOWS + ", " + WIN_ITEMS + ", " + latest_report(by_window=True) + ", "
              + milestone_state(by_window=True) + ", " + _item_state("i.w_end", """FROM win_items i
    LEFT JOIN latest l ON l.project_id = i.project_id AND l.w_end = i.w_end
    LEFT JOIN ms ON ms.project_id = i.project_id AND ms.w_end = i.w_end"""))
ITEMS_MART = ("WITH " + SCOPED_ITEMS + ", " + WINDOWS + ", " + WIN_ITEMS + ", " + _item_state("i.w_end", """FROM win_items i
    LEFT JOIN item_snapshots l ON l.project_id = i.project_id AND l.snapshot_date = i.w_end"""))

_ITEM_AGGREGATES = """, """ + GROUP_CODES + """,
        keyed AS (
            SELECT s.*, w.w_period, w.w_start,
                CASE $by::VARCHAR WHEN 'region' THEN gk.group_code WHEN 'domain' THEN s.domain
                                  WHEN 'dept' THEN s.lead_dept END AS grp
            FROM item_light s JOIN windows w ON w.w_end = s.as_of_date
            LEFT JOIN group_codes gk ON gk.region_code = s.region_code
        )
        SELECT w_period, grp, """ + TOTAL_FLAG + """,
            """ + item_counts(("n_in_flight", "n_lit", "n_red", "n_yellow", "n_green", "n_no_data", "n_overdue",
                               "n_deviating", "avg_lag_pp", "n_with_progress", "avg_planned_pct", "avg_actual_pct",
                               "n_completed", "n_on_time", "spent_wan_yuan", "budgeted_wan_yuan", "avg_budget_gap_pp",
                               "n_budget_gap"), start="w_start", end="as_of_date") + """
        FROM keyed """ + GROUPED


QUERIES: dict[str, str] = {
    # grain: one row per window and group (+ a total row per window): execution of items, as of the
    # window's end. Live: latest report and milestones per window; @snapshot: from the item mart.
    "trends_series_items": ITEMS_LIVE + _ITEM_AGGREGATES,
    "trends_series_items@snapshot": ITEMS_MART + _ITEM_AGGREGATES,
    # grain: one row per window and group: rectifications (整改) active in the window
    "trends_series_rectifications": "WITH " + SCOPED_RECTIFICATIONS + ", " + WINDOWS + ", " + GROUP_CODES + """,
        keyed AS (
            SELECT r.*, w.w_period, w.w_start, w.w_end,
                CASE $by::VARCHAR WHEN 'region' THEN gk.group_code END AS grp
            FROM windows w JOIN scoped_rectifications r
              ON r.found_date <= w.w_end AND coalesce(r.closed_date, w.w_end) >= w.w_start
            LEFT JOIN group_codes gk ON gk.region_code = r.region_code
        )
        SELECT w_period, grp, """ + TOTAL_FLAG + """,
            count(*) FILTER (WHERE """ + rect_due("r", "w_start", "w_end") + """) AS n_rect_due,
            count(*) FILTER (WHERE """ + rect_due("r", "w_start", "w_end") + """ AND r.closed_date <= w_end) AS n_rect_closed,
            count(*) FILTER (WHERE """ + rect_overdue("r", "w_end") + """) AS n_rect_overdue,
            sum(date_diff('day', r.found_date, r.closed_date)) FILTER (WHERE """ + in_window("r.closed_date", "w_start", "w_end") + """)
                ::DOUBLE / nullif(count(*) FILTER (WHERE """ + in_window("r.closed_date", "w_start", "w_end") + """), 0)
                AS avg_days_to_close,
            count(*) FILTER (WHERE """ + in_window("r.closed_date", "w_start", "w_end") + """) AS n_rect_closed_in_window,
            count(*) FILTER (WHERE r.found_date >= w_start AND r.is_relapse) AS n_relapse,
            count(*) FILTER (WHERE r.found_date >= w_start) AS n_rect_found
        FROM keyed r """ + GROUPED,
    # grain: one row per window and group: public feedback (反馈评价) received in the window
    "trends_series_feedback": "WITH " + SCOPED_FEEDBACK + ", " + WINDOWS + ", " + GROUP_CODES + """,
        keyed AS (
            SELECT f.*, w.w_period, w.w_end,
                CASE $by::VARCHAR WHEN 'region' THEN gk.group_code WHEN 'domain' THEN f.domain
                                  WHEN 'channel' THEN f.channel END AS grp
            FROM windows w JOIN scoped_feedback f
              ON f.received_at >= w.w_start AND f.received_at < w.w_end + INTERVAL 1 DAY
            LEFT JOIN group_codes gk ON gk.region_code = f.region_code
        )
        SELECT w_period, grp, """ + TOTAL_FLAG + """,
            count(*) AS n_feedback,
            sum(f.satisfaction)::DOUBLE / nullif(count(f.satisfaction), 0) AS avg_satisfaction,
            count(f.satisfaction) AS n_rated,
            count(*) FILTER (WHERE f.satisfaction >= 4) AS n_satisfied,
            count(*) FILTER (WHERE f.is_complaint) AS n_complaints,
            count(*) FILTER (WHERE """ + NEEDS_RESPONSE + """) AS n_need_response,
            count(*) FILTER (WHERE """ + NEEDS_RESPONSE + """ AND f.responded_at IS NOT NULL
                               AND f.responded_at < f.w_end + INTERVAL 1 DAY
                               AND f.responded_at <= f.received_at + to_hours($response_hours::BIGINT))
                AS n_answered_in_time,
            count(*) FILTER (WHERE f.is_complaint AND f.is_resolved) AS n_complaints_resolved
        FROM keyed f """ + GROUPED,
    # grain: one row per window and group: indicator values whose period ends in the window
    "trends_series_indicators": "WITH " + INDICATOR_VALUES + ", " + WINDOWS + ", " + GROUP_CODES + """,
        keyed AS (
            SELECT v.*, w.w_period,
                CASE $by::VARCHAR WHEN 'region' THEN gk.group_code WHEN 'domain' THEN v.domain END AS grp
            FROM windows w JOIN vals v ON v.period_end_date >= w.w_start AND v.period_end_date <= w.w_end
            LEFT JOIN group_codes gk ON gk.region_code = v.region_code
        )
        SELECT w_period, grp, """ + TOTAL_FLAG + """,
            count(*) AS n_indicator_values,
            count(*) FILTER (WHERE CASE direction WHEN 'lower_is_better' THEN actual_value <= target_value
                                                  ELSE actual_value >= target_value END) AS n_indicators_met
        FROM keyed """ + GROUPED,
}
