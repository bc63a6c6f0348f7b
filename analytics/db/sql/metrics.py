"""SQL behind the metrics: item state as of a date (a mart), and per-region aggregates.

Grain of each `region_*` query: one row per region at `$group_level` (country, province, city or
county), for the facts in scope and filter, evaluated as of `$period_end`. A fact recorded at a
coarser level than `$group_level` (a province-level item when grouping by city) belongs to no
group at that level: it counts in the totals of its own region, not in a finer ranking.
Rates are returned as numerator and denominator so that every rate carries its n.
"""
from __future__ import annotations

from analytics.db.scope import SCOPED_FEEDBACK, SCOPED_ITEMS, SCOPED_RECTIFICATIONS, region_predicate
from analytics.db.sql.rules import REGION_ITEM_COUNTS, in_flight, in_window, item_counts, rect_due, rect_overdue

# latest value of each progress signal on or before the as-of date (each may come from a different
# report: real extracts often carry only some signals in a given report)
def latest_report(by_window: bool = False) -> str:
    """The `latest` CTE: per item (per item and window end of `win_items` when `by_window`)."""
    return ("""latest AS (
    SELECT """ + ("i.w_end, " if by_window else "") + """r.project_id,
        max(r.report_date) AS last_report_date,
        arg_max(r.planned_progress_pct, r.report_date) FILTER (
            WHERE r.planned_progress_pct IS NOT NULL AND r.actual_progress_pct IS NOT NULL) AS planned_pct,
        arg_max(r.actual_progress_pct, r.report_date) FILTER (
            WHERE r.planned_progress_pct IS NOT NULL AND r.actual_progress_pct IS NOT NULL) AS actual_pct,
        arg_max(r.forecast_end_date, r.report_date) FILTER (WHERE r.forecast_end_date IS NOT NULL) AS forecast_end_date,
        arg_max(r.budget_spent_wan_yuan, r.report_date) FILTER (
            WHERE r.budget_spent_wan_yuan IS NOT NULL) AS spent_wan_yuan,
        arg_max(r.rag, r.report_date) FILTER (WHERE r.rag IS NOT NULL) AS rag
    """ + ("""FROM win_items i JOIN progress_reports r
      ON r.project_id = i.project_id AND r.report_date <= i.w_end
    GROUP BY i.w_end, r.project_id""" if by_window else """FROM progress_reports r SEMI JOIN scoped_items i ON i.project_id = r.project_id
    WHERE r.report_date <= $period_end::DATE
    GROUP BY r.project_id""") + """
)""")

def milestone_state(by_window: bool = False) -> str:
    """The `ms` CTE: per item as of $period_end (per item and window end of `win_items` when `by_window`)."""
    return ("""ms AS (
    SELECT """ + ("i.w_end, " if by_window else "") + """m.project_id,
        sum(coalesce(m.weight, 1)) AS weight_total,
        count(*) FILTER (WHERE m.planned_date <= {d}) AS n_due,
        count(*) FILTER (WHERE m.planned_date <= {d}
                           AND (m.actual_date IS NULL OR m.actual_date > {d})) AS n_missed,
        coalesce(sum(coalesce(m.weight, 1)) FILTER (WHERE m.planned_date <= {d}
                           AND (m.actual_date IS NULL OR m.actual_date > {d})), 0) AS weight_missed
    """ + ("""FROM win_items i JOIN milestones m ON m.project_id = i.project_id
    GROUP BY i.w_end, m.project_id""" if by_window else """FROM milestones m SEMI JOIN scoped_items i ON i.project_id = m.project_id
    GROUP BY m.project_id""") + """
)""").replace("{d}", "i.w_end" if by_window else "$period_end::DATE")

# grain: one row per item in scope and filter per as-of date. `rule` says which evidence set the
# light: overdue > progress > milestones > forecast > rag > no_data. `lag_pp` is in percentage
# points of the item's work (progress gap, weight of missed milestones, or forecast delay as a share
# of the planned duration), so one set of thresholds serves every rule. The signal columns come
# unqualified from `latest`/`ms` (live) or from `item_snapshots` (the mart), whichever is joined.
def _item_state(date_expr: str, source: str) -> str:
    """The item state and light SQL for items joined to their signals in `source`, as of `date_expr`
    (both constants of this module)."""
    return ("""item_state AS (
    SELECT i.project_id, i.name, i.region_code, i.domain, i.lead_dept, i.co_depts, i.priority, i.start_date,
        i.planned_end_date, i.actual_end_date, i.budget_wan_yuan, {d} AS as_of_date,
        CASE WHEN i.status = 'terminated' THEN 'terminated'
             WHEN i.actual_end_date IS NOT NULL AND i.actual_end_date <= {d} THEN 'completed'
             WHEN i.start_date > {d} THEN 'not_started'
             ELSE 'in_flight' END AS state,
        last_report_date, planned_pct, actual_pct, forecast_end_date, spent_wan_yuan, rag, n_due, n_missed,
        CASE WHEN i.planned_end_date < {d} THEN 'overdue'
             WHEN planned_pct IS NOT NULL THEN 'progress'
             WHEN n_due > 0 THEN 'milestones'
             WHEN forecast_end_date IS NOT NULL THEN 'forecast'
             WHEN rag IS NOT NULL THEN 'rag'
             ELSE 'no_data' END AS rule,
        CASE WHEN planned_pct IS NOT NULL THEN planned_pct - actual_pct
             WHEN n_due > 0 THEN 100.0 * weight_missed / weight_total
             WHEN forecast_end_date IS NOT NULL THEN 100.0 * greatest(date_diff('day', i.planned_end_date,
                  forecast_end_date), 0) / greatest(date_diff('day', i.start_date, i.planned_end_date), 1)
        END AS lag_pp,
        (planned_pct - actual_pct) / nullif(planned_pct, 0) AS rel_lag,
        greatest(date_diff('day', i.planned_end_date, {d}), 0) AS days_late
    """.replace("{d}", date_expr) + source + """
),
item_light AS (
    SELECT s.*,
        CASE WHEN s.state <> 'in_flight' THEN NULL
             WHEN s.rule = 'overdue' THEN 'red'
             WHEN s.rule = 'rag' THEN CASE WHEN s.rag IN ('red', 'amber_red') THEN 'red'
                                           WHEN s.rag = 'amber' THEN 'yellow' ELSE 'green' END
             WHEN s.rule = 'no_data' THEN 'none'
             WHEN s.lag_pp > $red_pp THEN 'red'
             WHEN s.lag_pp > $yellow_pp THEN 'yellow'
             ELSE 'green' END AS light,
        CASE WHEN s.state <> 'in_flight' THEN NULL
             WHEN s.rule = 'overdue' THEN 'red'
             WHEN s.rule = 'rag' THEN CASE s.rag WHEN 'red' THEN 'red' WHEN 'amber_red' THEN 'orange'
                                           WHEN 'amber' THEN 'yellow' WHEN 'amber_green' THEN 'blue' ELSE 'none' END
             WHEN s.rule = 'no_data' THEN 'none'
             WHEN s.lag_pp > $red_pp THEN 'red'
             WHEN s.lag_pp > $orange_pp THEN 'orange'
             WHEN s.lag_pp > $yellow_pp THEN 'yellow'
             WHEN s.lag_pp >= $blue_pp THEN 'blue'
             ELSE 'none' END AS warning
    FROM item_state s
)""")


LIVE_SOURCE = """FROM scoped_items i
    LEFT JOIN latest l USING (project_id)
    LEFT JOIN ms USING (project_id)"""
SNAPSHOT_SOURCE = """FROM scoped_items i
    LEFT JOIN item_snapshots l ON l.project_id = i.project_id AND l.snapshot_date = $period_end::DATE"""

ITEM_MART = ("WITH " + SCOPED_ITEMS + ", " + latest_report() + ", " + milestone_state() + ", "
             + _item_state("$period_end::DATE", LIVE_SOURCE))
SNAPSHOT_MART = "WITH " + SCOPED_ITEMS + ", " + _item_state("$period_end::DATE", SNAPSHOT_SOURCE)
WEEKLY_MART = "WITH " + SCOPED_ITEMS + ", " + _item_state("l.snapshot_date", """FROM scoped_items i
    JOIN item_snapshots l ON l.project_id = i.project_id AND list_contains($week_dates::DATE[], l.snapshot_date)""")


def _grouped(alias: str) -> str:
    """Join a fact alias to its region at $group_level and to the $total_code region (the selection
    itself), so that one pass yields the children's rows and the selection's total row."""
    return ("JOIN region_closure gc ON gc.region_code = " + alias + """.region_code
    JOIN regions g ON g.region_code = gc.ancestor_code
     AND (g.level = $group_level::VARCHAR OR g.region_code = $total_code::VARCHAR)""")


# indicator values with their period's last day, in scope and filter (the cockpit's and the trend series')
INDICATOR_VALUES = """vals AS (
            SELECT v.*, d.direction, p.domain,
                CASE WHEN length(v.period) = 4 THEN make_date(CAST(v.period AS INTEGER), 12, 31)
                     WHEN v.period LIKE '%-Q%' THEN last_day(make_date(CAST(left(v.period, 4) AS INTEGER),
                          3 * CAST(right(v.period, 1) AS INTEGER), 1))
                     ELSE last_day(CAST(v.period || '-01' AS DATE)) END AS period_end_date
            FROM indicator_values v
            JOIN indicators d USING (indicator_id)
            LEFT JOIN policies p ON p.policy_id = d.policy_id
            WHERE v.target_value IS NOT NULL AND v.actual_value IS NOT NULL
              AND """ + region_predicate("v.region_code") + """
              AND (len($scope_domains::VARCHAR[]) = 0 OR list_contains($scope_domains::VARCHAR[], p.domain))
              AND (len($domains::VARCHAR[]) = 0 OR list_contains($domains::VARCHAR[], p.domain))
        )"""

# hotline calls, enterprise requests and every complaint must be answered; ratings and surveys need not be
NEEDS_RESPONSE = "(f.channel IN ('hotline_12345', 'enterprise') OR f.is_complaint)"

_ITEM_LIGHTS = """
        SELECT project_id, name, region_code, domain, lead_dept, co_depts, priority, planned_end_date,
               last_report_date, planned_pct, actual_pct, forecast_end_date, rag, n_due, n_missed,
               rule, lag_pp, rel_lag, days_late, light, warning
        FROM item_light WHERE state = 'in_flight'"""

# --- the per-region queries, and the finer ones other pages derive from them --------------------------------
# A page that needs a region query split further (the domains page by domain, the ledger by responsible
# department, the feedback page by domain and channel) calls the same builder with grouping keys and predicates
# from these fixed lists, so its numbers come from exactly the cockpit's formulas and never from edited SQL text.
# key name -> the fact column it groups by, per fact alias
KEYS = {"s": {"domain": "s.domain"}, "r": {"dept": "r.responsible_dept"},
        "f": {"domain": "f.domain", "channel": "f.channel"}, "v": {"domain": "v.domain"}}
# predicate name -> the condition it adds to the facts read, per fact alias
WHERE = {"r": {"rect_depts": "(len($rect_depts::VARCHAR[]) = 0 OR list_contains($rect_depts::VARCHAR[], r.responsible_dept))"},
         "f": {"has_domain": "f.domain IS NOT NULL"}}


def _keys(alias: str, keys: tuple[str, ...]) -> tuple[str, str, str]:
    """(the keys as selected per region code, the same to group by, the keys as selected by the outer query)."""
    cols = [(KEYS[alias][k], k) for k in keys]  # KeyError for a key not on the list
    inner = "".join(f"{c} AS {k}, " for c, k in cols)
    return inner, "".join(f"{c}, " for c, _ in cols), "".join(f"{alias}.{k}, " for _, k in cols)


def _where(alias: str, where: tuple[str, ...]) -> str:
    return "".join(" AND " + WHERE[alias][w] for w in where)


def region_items(keys: tuple[str, ...] = (), mart: str = ITEM_MART) -> str:
    """Execution of items per region at $group_level (and the $total_code region), from the live item state
    (`ITEM_MART`) or the snapshot mart (`SNAPSHOT_MART`)."""
    _, _, outer = _keys("s", keys)
    return mart + """
        SELECT """ + outer + """g.region_code, g.name, g.level,
            """ + item_counts(REGION_ITEM_COUNTS, "s") + """
        FROM item_light s """ + _grouped("s") + """
        GROUP BY ALL"""


def region_rectifications(keys: tuple[str, ...] = (), where: tuple[str, ...] = ()) -> str:
    """Rectifications per region at $group_level. Facts are summed per region code first, then the few thousand
    partial sums are rolled up the region tree."""
    inner, group, outer = _keys("r", keys)
    return "WITH " + SCOPED_RECTIFICATIONS + """, per_code AS (
            SELECT """ + inner + """r.region_code,
                count(*) FILTER (WHERE """ + rect_due() + """) AS n_rect_due,
                count(*) FILTER (WHERE """ + rect_due() + """ AND r.closed_date <= $period_end::DATE) AS n_rect_closed,
                count(*) FILTER (WHERE """ + rect_overdue() + """) AS n_rect_overdue,
                sum(date_diff('day', r.found_date, r.closed_date)) FILTER (WHERE """ + in_window("r.closed_date") + """)
                    AS days_to_close,
                count(*) FILTER (WHERE """ + in_window("r.closed_date") + """) AS n_rect_closed_in_window,
                count(*) FILTER (WHERE """ + in_window("r.found_date") + """ AND r.is_relapse) AS n_relapse,
                count(*) FILTER (WHERE """ + in_window("r.found_date") + """) AS n_rect_found
            FROM scoped_rectifications r
            WHERE r.found_date <= $period_end::DATE""" + _where("r", where) + """
            GROUP BY """ + group + """r.region_code
        )
        SELECT """ + outer + """g.region_code, sum(n_rect_due)::BIGINT AS n_rect_due,
            sum(n_rect_closed)::BIGINT AS n_rect_closed, sum(n_rect_overdue)::BIGINT AS n_rect_overdue,
            sum(days_to_close)::DOUBLE / nullif(sum(n_rect_closed_in_window), 0) AS avg_days_to_close,
            sum(n_rect_closed_in_window)::BIGINT AS n_rect_closed_in_window, sum(n_relapse)::BIGINT AS n_relapse,
            sum(n_rect_found)::BIGINT AS n_rect_found
        FROM per_code r """ + _grouped("r") + """
        GROUP BY ALL"""


def region_feedback(keys: tuple[str, ...] = (), where: tuple[str, ...] = (), breakdowns: bool = False) -> str:
    """Public feedback received in the window per region at $group_level. `breakdowns`: with keys domain and
    channel, one scan yields the region rows (kind 'region') and, within each region, one row per domain
    ('domain') and per channel ('channel')."""
    inner, group, outer = _keys("f", keys)
    kind, grouping = "", "GROUP BY ALL"
    if breakdowns:
        assert keys == ("domain", "channel"), "breakdowns group by domain and by channel"
        kind = """CASE WHEN grouping(f.domain) = 0 THEN 'domain' WHEN grouping(f.channel) = 0 THEN 'channel'
                       ELSE 'region' END AS kind, """
        grouping = "GROUP BY GROUPING SETS ((g.region_code), (g.region_code, f.domain), (g.region_code, f.channel))"
    return "WITH " + SCOPED_FEEDBACK + """, per_code AS (
            SELECT """ + inner + """f.region_code,
                count(*) AS n_feedback,
                sum(f.satisfaction) AS satisfaction_sum,
                count(f.satisfaction) AS n_rated,
                count(*) FILTER (WHERE f.satisfaction >= 4) AS n_satisfied,
                count(*) FILTER (WHERE f.is_complaint) AS n_complaints,
                count(*) FILTER (WHERE """ + NEEDS_RESPONSE + """) AS n_need_response,
                count(*) FILTER (WHERE """ + NEEDS_RESPONSE + """ AND f.responded_at IS NOT NULL
                                   AND f.responded_at < $period_end::DATE + INTERVAL 1 DAY
                                   AND f.responded_at <= f.received_at + to_hours($response_hours::BIGINT))
                    AS n_answered_in_time,
                count(*) FILTER (WHERE f.is_complaint AND f.is_resolved) AS n_complaints_resolved
            FROM scoped_feedback f""" + ("""
            WHERE """ + _where("f", where)[len(" AND "):] if where else "") + """
            GROUP BY """ + group + """f.region_code
        )
        SELECT """ + (kind + "g.region_code, " + outer if breakdowns else outer + "g.region_code, ") + """sum(n_feedback)::BIGINT AS n_feedback,
            sum(satisfaction_sum)::DOUBLE / nullif(sum(n_rated), 0) AS avg_satisfaction,
            sum(n_rated)::BIGINT AS n_rated, sum(n_satisfied)::BIGINT AS n_satisfied, sum(n_complaints)::BIGINT AS n_complaints,
            sum(n_need_response)::BIGINT AS n_need_response, sum(n_answered_in_time)::BIGINT AS n_answered_in_time,
            sum(n_complaints_resolved)::BIGINT AS n_complaints_resolved
        FROM per_code f """ + _grouped("f") + """
        """ + grouping


def region_indicators(keys: tuple[str, ...] = ()) -> str:
    """Indicator values whose period ends in the window, per region at $group_level."""
    inner, group, outer = _keys("v", keys)
    return "WITH " + INDICATOR_VALUES + """, per_code AS (
            SELECT """ + inner + """v.region_code, count(*) AS n_indicator_values,
                count(*) FILTER (WHERE CASE v.direction WHEN 'lower_is_better' THEN v.actual_value <= v.target_value
                                                        ELSE v.actual_value >= v.target_value END) AS n_indicators_met
            FROM vals v
            WHERE """ + in_window("v.period_end_date") + """
            GROUP BY """ + group + """v.region_code
        )
        SELECT """ + outer + """g.region_code, sum(n_indicator_values)::BIGINT AS n_indicator_values,
            sum(n_indicators_met)::BIGINT AS n_indicators_met
        FROM per_code v """ + _grouped("v") + """
        GROUP BY ALL"""


METRIC_QUERIES: dict[str, str] = {
    # grain: one row per item in flight at the as-of date, with its light, rule and lag
    "item_lights": ITEM_MART + _ITEM_LIGHTS,
    # grain: one row per region at $group_level: execution of items
    "region_items": region_items(),
    # grain: one row per region at $group_level: rectifications (整改)
    "region_rectifications": region_rectifications(),
    # grain: one row per region at $group_level: public feedback (反馈评价) received in the window
    "region_feedback": region_feedback(),
    # grain: one row per region at $group_level: indicator values whose period ends in the window
    "region_indicators": region_indicators(),
    # grain: one row per week: lights of the items in flight at each week's end (last $weeks weeks)
    "weekly_lights": "WITH " + SCOPED_ITEMS + """,
        weeks AS (
            SELECT CAST(w AS DATE) AS week_end
            FROM range($period_end::DATE - to_weeks($weeks::BIGINT - 1), $period_end::DATE + INTERVAL 1 DAY,
                       INTERVAL 7 DAY) t(w)
        ),
        flying AS (
            SELECT w.week_end, i.project_id, i.start_date, i.planned_end_date
            FROM weeks w JOIN scoped_items i ON """ + in_flight("i", "w.week_end") + """
        ),
        reports AS (
            SELECT r.project_id, r.report_date, r.planned_progress_pct - r.actual_progress_pct AS lag_pp, r.rag
            FROM progress_reports r SEMI JOIN scoped_items i ON i.project_id = r.project_id
            -- a report more than a year before the first week no longer describes the item
            WHERE r.report_date <= $period_end::DATE
              AND r.report_date > $period_end::DATE - to_weeks($weeks::BIGINT) - INTERVAL 365 DAY
        ),
        judged AS (
            SELECT f.week_end,
                CASE WHEN f.planned_end_date < f.week_end THEN 'red'
                     WHEN r.lag_pp > $red_pp THEN 'red'
                     WHEN r.lag_pp > $yellow_pp THEN 'yellow'
                     WHEN r.lag_pp IS NOT NULL THEN 'green'
                     WHEN r.rag IN ('red', 'amber_red') THEN 'red'
                     WHEN r.rag = 'amber' THEN 'yellow'
                     WHEN r.rag IS NOT NULL THEN 'green'
                     ELSE 'none' END AS light
            FROM flying f ASOF LEFT JOIN reports r
              ON r.project_id = f.project_id AND r.report_date <= f.week_end
        )
        SELECT week_end, light, count(*) AS n_items FROM judged GROUP BY ALL ORDER BY week_end, light""",
}

# the same item queries read from the snapshot mart when the as-of date is one of its dates
# grain: one row: the first report date of the items in scope and filter (before it, no light has a report behind it)
METRIC_QUERIES["first_report"] = "WITH " + SCOPED_ITEMS + """
    SELECT min(r.report_date) AS first_report FROM progress_reports r SEMI JOIN scoped_items i USING (project_id)"""
METRIC_QUERIES["item_lights@snapshot"] = SNAPSHOT_MART + _ITEM_LIGHTS
METRIC_QUERIES["region_items@snapshot"] = region_items(mart=SNAPSHOT_MART)
# grain: one row per week end and light, with the full rule, from the snapshot mart
METRIC_QUERIES["weekly_lights@snapshot"] = WEEKLY_MART + """
        SELECT as_of_date AS week_end, light, count(*) AS n_items FROM item_light
        WHERE state = 'in_flight' GROUP BY ALL ORDER BY week_end, light"""
