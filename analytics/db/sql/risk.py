"""SQL behind the slip-risk model (`analytics/risk`): features and labels of items in flight at a date.

Grain of both queries: one row per item in flight at `$as_of` (started on or before it, not completed
by it). `RISK_FEATURES` reads only facts dated on or before `$as_of` (reports, milestone and
rectification dates, feedback receipt times, completion dates), so a model trained on it cannot see
the future; `RISK_LABELS` looks ahead to `$as_of + $horizon` to say whether the item slipped.
"""
from __future__ import annotations

from analytics.db.scope import SCOPED_ITEMS
from analytics.db.sql.rules import in_flight, rect_closed, rect_overdue

# The RAG ladder as an ordinal (0 = green … 4 = red).
RAG_ORDINAL = "CASE {c} WHEN 'green' THEN 0 WHEN 'amber_green' THEN 1 WHEN 'amber' THEN 2 " \
              "WHEN 'amber_red' THEN 3 WHEN 'red' THEN 4 END"

# grain: one row per item in flight at $as_of (not terminated), or only $project_id's when that is set
# (the track records and regional complaint counts still read every item, so the row is the same);
# every signal may be NULL.
# $tolerance (days) defines a past slip for the department and region track records, counted only
# over items whose outcome was known by $as_of: completed by then (late by more than the tolerance
# or not), or still open more than the tolerance past the planned end.
RISK_FEATURES = """WITH items AS (
    SELECT p.project_id, p.region_code, p.lead_dept, p.domain, p.category, p.priority, p.start_date,
        p.planned_end_date, p.budget_wan_yuan, coalesce(len(p.co_depts), 0) AS n_co_depts
    FROM projects p
    WHERE """ + in_flight("p", "$as_of::DATE") + """
      AND ($project_id::VARCHAR IS NULL OR p.project_id = $project_id::VARCHAR)  -- one item (its detail page)
),
rep AS (
    SELECT r.* FROM progress_reports r SEMI JOIN items i ON i.project_id = r.project_id
    WHERE r.report_date <= $as_of::DATE
),
last_rep AS (SELECT project_id, max(report_date) AS last_report_date, count(*) AS n_reports
              FROM rep GROUP BY project_id),
pa AS (  -- reports carrying both planned and actual progress, newest first
    SELECT project_id, report_date, planned_progress_pct - actual_progress_pct AS gap,
        actual_progress_pct AS actual,
        row_number() OVER (PARTITION BY project_id ORDER BY report_date DESC) AS k
    FROM rep WHERE planned_progress_pct IS NOT NULL AND actual_progress_pct IS NOT NULL
),
pa_agg AS (
    SELECT project_id,
        max(gap) FILTER (WHERE k = 1) AS gap,
        max(actual) FILTER (WHERE k = 1) AS actual,
        max(report_date) FILTER (WHERE k = 1) AS d1,
        arg_max(gap, k) FILTER (WHERE k <= 4) AS gap_then,
        arg_max(actual, k) FILTER (WHERE k <= 4) AS actual_then,
        arg_max(report_date, k) FILTER (WHERE k <= 4) AS d_then
    FROM pa WHERE k <= 4 GROUP BY project_id
),
fc AS (  -- forecast end dates in report order, with the previous one
    SELECT project_id, report_date, forecast_end_date,
        lag(forecast_end_date) OVER (PARTITION BY project_id ORDER BY report_date) AS prev_fc,
        row_number() OVER (PARTITION BY project_id ORDER BY report_date DESC) AS k
    FROM rep WHERE forecast_end_date IS NOT NULL
),
fc_agg AS (  -- a revision is a move of more than $revision_days either way (small wobbles are not counted)
    SELECT project_id, max(forecast_end_date) FILTER (WHERE k = 1) AS forecast_end_date,
        max(date_diff('day', prev_fc, forecast_end_date)) FILTER (WHERE k = 1) AS forecast_move_last,
        arg_min(forecast_end_date, report_date) AS first_forecast,
        count(*) FILTER (WHERE abs(date_diff('day', prev_fc, forecast_end_date)) > $revision_days::INTEGER)
            AS n_forecast_revisions
    FROM fc GROUP BY project_id
),
rg AS (
    SELECT project_id, report_date, """ + RAG_ORDINAL.format(c="rag") + """ AS rag_ord,
        row_number() OVER (PARTITION BY project_id ORDER BY report_date DESC) AS k
    FROM rep WHERE rag IS NOT NULL
),
rg_agg AS (
    SELECT project_id, max(rag_ord) FILTER (WHERE k = 1) AS rag_ord,
        max(report_date) FILTER (WHERE k = 1) AS rag_date,
        arg_max(rag_ord, k) AS rag_ord_then, max(rag_ord) FILTER (WHERE k = 2) AS rag_ord_prev
    FROM rg WHERE k <= 4 GROUP BY project_id
),
scale AS (  -- the rating ladder in use on a report date: 5 points when any report that day uses an in-between step
    SELECT r.report_date, CASE WHEN bool_or(r.rag IN ('amber_green', 'amber_red')) THEN 5 ELSE 3 END AS rag_scale
    FROM progress_reports r WHERE r.report_date <= $as_of::DATE AND r.rag IS NOT NULL
    GROUP BY r.report_date
),
cred AS (  -- credibility (数据真实性, analytics/pages/authenticity.py): reports repeating the last progress value
           -- (5–99 %) while spending rose, the "flat while spending" pattern; reports up to $as_of only
    SELECT project_id,
        count(*) FILTER (WHERE actual_progress_pct = prev_actual AND actual_progress_pct >= 5
                           AND actual_progress_pct < 100 AND budget_spent_wan_yuan > prev_spent) AS n_flat_spend
    FROM (SELECT project_id, actual_progress_pct, budget_spent_wan_yuan,
              lag(actual_progress_pct) OVER (PARTITION BY project_id ORDER BY report_date) AS prev_actual,
              lag(budget_spent_wan_yuan) OVER (PARTITION BY project_id ORDER BY report_date) AS prev_spent
          FROM rep WHERE actual_progress_pct IS NOT NULL)
    GROUP BY project_id
),
sp AS (
    SELECT project_id, arg_max(budget_spent_wan_yuan, report_date) AS spent
    FROM rep WHERE budget_spent_wan_yuan IS NOT NULL GROUP BY project_id
),
ms AS (
    SELECT m.project_id,
        count(*) FILTER (WHERE m.planned_date <= $as_of::DATE) AS ms_due,
        count(*) FILTER (WHERE m.planned_date <= $as_of::DATE
                           AND (m.actual_date IS NULL OR m.actual_date > $as_of::DATE)) AS ms_missed
    FROM milestones m SEMI JOIN items i ON i.project_id = m.project_id
    GROUP BY m.project_id
),
rect AS (
    SELECT r.project_id,
        count(*) AS rect_open,
        count(*) FILTER (WHERE """ + rect_overdue("r", "$as_of::DATE") + """) AS rect_overdue
    FROM rectifications r SEMI JOIN items i ON i.project_id = r.project_id
    WHERE r.found_date <= $as_of::DATE AND NOT """ + rect_closed("r", "$as_of::DATE") + """
    GROUP BY r.project_id
),
compl AS (
    SELECT f.region_code, count(*) AS complaints_90d
    FROM feedback f
    WHERE f.is_complaint AND f.received_at < ($as_of::DATE + 1)::TIMESTAMP
      AND f.received_at >= ($as_of::DATE - 89)::TIMESTAMP
    GROUP BY f.region_code
),
hist AS (  -- outcomes known by $as_of
    SELECT p.lead_dept, left(p.region_code, 2) AS province,
        CASE WHEN p.actual_end_date <= $as_of::DATE
             THEN date_diff('day', p.planned_end_date, p.actual_end_date) > $tolerance::INTEGER
             ELSE TRUE END AS slipped
    FROM projects p
    WHERE coalesce(p.status, '') <> 'terminated' AND p.start_date <= $as_of::DATE
      AND (p.actual_end_date <= $as_of::DATE
           OR date_diff('day', p.planned_end_date, $as_of::DATE) > $tolerance::INTEGER)
),
dept_hist AS (SELECT lead_dept, avg(slipped::DOUBLE) AS dept_slip_rate, count(*) AS dept_n_known
              FROM hist GROUP BY lead_dept),
prov_hist AS (SELECT province, avg(slipped::DOUBLE) AS region_slip_rate, count(*) AS region_n_known
              FROM hist GROUP BY province)
SELECT i.project_id, $as_of::DATE AS snapshot_date,
    date_diff('day', i.start_date, $as_of::DATE)::DOUBLE
        / greatest(date_diff('day', i.start_date, i.planned_end_date), 1) AS elapsed_share,
    date_diff('day', $as_of::DATE, i.planned_end_date)::DOUBLE AS days_to_planned_end,
    pa.gap::DOUBLE AS progress_gap,
    (pa.gap - pa.gap_then)::DOUBLE AS progress_gap_change,
    CASE WHEN pa.d1 > pa.d_then THEN (pa.actual - pa.actual_then) * 7.0 / date_diff('day', pa.d_then, pa.d1)
         END AS progress_velocity,
    date_diff('day', lr.last_report_date, $as_of::DATE) / 7.0 AS weeks_since_report,
    coalesce(lr.n_reports, 0)::DOUBLE AS n_reports,
    fc.n_forecast_revisions::DOUBLE AS n_forecast_revisions,
    date_diff('day', i.planned_end_date, fc.forecast_end_date)::DOUBLE AS forecast_delay_days,
    date_diff('day', fc.first_forecast, fc.forecast_end_date)::DOUBLE AS forecast_slip_days,
    fc.forecast_move_last::DOUBLE AS forecast_move_last,
    date_diff('day', $as_of::DATE, coalesce(fc.forecast_end_date, i.planned_end_date))::DOUBLE
        AS days_to_expected_end,
    rg.rag_ord::DOUBLE AS rag_ord,
    (rg.rag_ord > rg.rag_ord_then)::DOUBLE AS rag_worsened,
    (rg.rag_ord - rg.rag_ord_prev)::DOUBLE AS rag_change_last,
    sc.rag_scale::DOUBLE AS rag_scale,
    ms.ms_due::DOUBLE AS ms_due,
    ms.ms_missed::DOUBLE AS ms_missed,
    CASE WHEN i.budget_wan_yuan > 0 AND sp.spent IS NOT NULL AND pa.actual IS NOT NULL
         THEN 100.0 * sp.spent / i.budget_wan_yuan - pa.actual END AS spend_minus_progress,
    cred.n_flat_spend::DOUBLE AS flat_spend_reports,
    i.n_co_depts::DOUBLE AS n_co_depts,
    coalesce(rect.rect_open, 0)::DOUBLE AS rect_open,
    coalesce(rect.rect_overdue, 0)::DOUBLE AS rect_overdue,
    coalesce(compl.complaints_90d, 0)::DOUBLE AS complaints_90d,
    dh.dept_slip_rate, dh.dept_n_known::DOUBLE AS dept_n_known,
    ph.region_slip_rate, ph.region_n_known::DOUBLE AS region_n_known,
    i.priority, i.category, i.domain
FROM items i
LEFT JOIN last_rep lr USING (project_id)
LEFT JOIN pa_agg pa USING (project_id)
LEFT JOIN fc_agg fc USING (project_id)
LEFT JOIN rg_agg rg USING (project_id)
LEFT JOIN scale sc ON sc.report_date = rg.rag_date
LEFT JOIN sp USING (project_id)
LEFT JOIN cred USING (project_id)
LEFT JOIN ms USING (project_id)
LEFT JOIN rect USING (project_id)
LEFT JOIN compl ON compl.region_code = i.region_code
LEFT JOIN dept_hist dh ON dh.lead_dept = i.lead_dept
LEFT JOIN prov_hist ph ON ph.province = left(i.region_code, 2)
ORDER BY i.project_id"""

# grain: one row per item started on or before $as_of and not completed by it (terminated items
# included, never a slip). expected_end: the latest forecast reported on or before $as_of, else the
# planned end. slipped: completed more than $tolerance days after it within the horizon, or still
# open at $as_of + $horizon and that is more than $tolerance days past it, or a report in
# ($as_of, $as_of + $horizon] forecasting an end more than $tolerance days past it. slip_date: when a
# slip became known (for the lead time of a warning).
RISK_LABELS = """WITH items AS (
    SELECT p.project_id, p.status, p.planned_end_date, p.actual_end_date FROM projects p
    WHERE p.start_date <= $as_of::DATE AND (p.actual_end_date IS NULL OR p.actual_end_date > $as_of::DATE)
),
fc AS (
    SELECT r.project_id, arg_max(r.forecast_end_date, r.report_date) AS forecast_end_date
    FROM progress_reports r SEMI JOIN items i ON i.project_id = r.project_id
    WHERE r.report_date <= $as_of::DATE AND r.forecast_end_date IS NOT NULL
    GROUP BY r.project_id
),
later AS (
    SELECT r.project_id, max(r.forecast_end_date) AS max_forecast
    FROM progress_reports r SEMI JOIN items i ON i.project_id = r.project_id
    WHERE r.report_date > $as_of::DATE AND r.report_date <= $as_of::DATE + $horizon::INTEGER
    GROUP BY r.project_id
),
e AS (
    SELECT i.*, coalesce(fc.forecast_end_date, i.planned_end_date) AS expected_end, later.max_forecast,
        $as_of::DATE + $horizon::INTEGER AS window_end
    FROM items i LEFT JOIN fc USING (project_id) LEFT JOIN later USING (project_id)
),
moved AS (  -- the first report in the window forecasting an end more than $tolerance days past expected_end
    SELECT r.project_id, min(r.report_date) AS first_moved
    FROM progress_reports r JOIN e USING (project_id)
    WHERE r.report_date > $as_of::DATE AND r.report_date <= e.window_end
      AND date_diff('day', e.expected_end, r.forecast_end_date) > $tolerance::INTEGER
    GROUP BY r.project_id
),
lab AS (
    SELECT e.*, moved.first_moved,
        CASE WHEN coalesce(status = 'terminated', FALSE) THEN 0
             WHEN actual_end_date <= window_end AND date_diff('day', expected_end, actual_end_date) > $tolerance::INTEGER THEN 1
             WHEN (actual_end_date IS NULL OR actual_end_date > window_end)
                  AND date_diff('day', expected_end, window_end) > $tolerance::INTEGER THEN 1
             WHEN date_diff('day', expected_end, max_forecast) > $tolerance::INTEGER THEN 1
             ELSE 0 END AS slipped
    FROM e LEFT JOIN moved USING (project_id)
)
-- slip_date: the first day the slip is known: the day after expected_end + $tolerance while still open, or
-- the report that moved the forecast, whichever is first; never before $as_of (already late: lead time 0)
SELECT project_id, $as_of::DATE AS snapshot_date, expected_end,
    coalesce(status = 'terminated', FALSE) AS terminated, slipped,
    CASE WHEN slipped = 1 THEN greatest($as_of::DATE, least(
        CASE WHEN actual_end_date IS NULL OR date_diff('day', expected_end, actual_end_date) > $tolerance::INTEGER
             THEN expected_end + $tolerance::INTEGER + 1 END,
        first_moved)) END AS slip_date
FROM lab ORDER BY project_id"""

# the newest data's as-of date (falls back to the newest report when no version is recorded)
RISK_DATA_AS_OF = """SELECT coalesce((SELECT as_of FROM data_versions ORDER BY version DESC LIMIT 1),
                                     (SELECT max(report_date) FROM progress_reports)),
                            (SELECT max(version) FROM data_versions)"""

# grain: one row per distinct report date on or before $end (the snapshot plan of batched reporting)
RISK_REPORT_DATES = """SELECT DISTINCT report_date FROM progress_reports WHERE report_date <= $end::DATE
ORDER BY report_date"""

# Named queries of the risk page (merged into `analytics.db.queries.QUERIES`).
QUERIES: dict[str, str] = {
    # grain: one row per region code below $total_code, with its ancestor at $group_level (the region one
    # level below the selection that its items are counted in). Regions only: the items themselves come
    # from the scoped `item_lights`, so the user's scope applies there.
    "risk_child_regions": """
        SELECT c.region_code, g.region_code AS child_code, g.name AS child_name
        FROM region_closure c
        JOIN regions g ON g.region_code = c.ancestor_code AND g.level = $group_level::VARCHAR
        JOIN region_closure t ON t.region_code = g.region_code AND t.ancestor_code = $total_code::VARCHAR""",
    # grain: one row per scored item in scope and filter: the saved scores of one model (`risk/scores.py` writes
    # them beside the database when the model is trained; $scores_path is that file, never user input)
    # (every column but the finish curves, which only the S-curve reads: `risk_curves`)
    "risk_scores": "WITH " + SCOPED_ITEMS + """
        SELECT COLUMNS(lambda c: c <> 'finish_curve') FROM read_parquet($scores_path::VARCHAR) s
        SEMI JOIN scoped_items i ON i.project_id = s.project_id""",
    # grain: one row per scored item in scope and filter with its saved finish curve (risk/forecast.py `curves`:
    # the chance of being finished by the scores' date + k steps), for the portfolio S-curve
    "risk_curves": "WITH " + SCOPED_ITEMS + """
        SELECT s.project_id, s.finish_curve FROM read_parquet($scores_path::VARCHAR) s
        SEMI JOIN scoped_items i ON i.project_id = s.project_id""",
}
