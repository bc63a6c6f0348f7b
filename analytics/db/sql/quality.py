"""SQL of the data-quality pages (重复督办 / duplicate supervision, 数据真实性 / report authenticity), by name,
with `$name` parameters; items and their reports are read through the scoped fragments.

Both analyses run over everything the user's scope allows (the global filters then narrow what is shown),
so the expensive part is computed once per data version and scope.
"""
from __future__ import annotations

from analytics.db.scope import SCOPED_ITEMS, region_predicate

# grain: one row per item in the user's scope (filters come from the caller: the whole scope, or the page's
# filters for `quality_filtered_ids`). `block_code` groups items that could be the same task: a county with
# its city (or a municipality's district with the municipality), a city with its counties; `parent_code`
# says which regions nest.
_ITEMS = "WITH " + SCOPED_ITEMS + """
SELECT i.project_id, i.name, coalesce(i.description, '') AS description, i.region_code, g.level AS region_level,
    g.name AS region_name, g.parent_code, pg.name AS parent_name,
    CASE WHEN g.level = 'county' THEN coalesce(g.parent_code, i.region_code) ELSE i.region_code END AS block_code,
    i.domain, i.category, i.source, i.lead_dept, coalesce(i.co_depts, []::VARCHAR[]) AS co_depts, i.priority,
    i.status, i.start_date, i.planned_end_date, i.actual_end_date, i.budget_wan_yuan
FROM scoped_items i JOIN regions g ON g.region_code = i.region_code
LEFT JOIN regions pg ON pg.region_code = g.parent_code
ORDER BY i.project_id"""

# grain: one row per progress report of an item in scope, dated on or before the as-of date, in order, with
# the previous report's values (for increments and runs of identical values)
_REPORTS = "WITH " + SCOPED_ITEMS + """
SELECT r.project_id, r.report_date, r.planned_progress_pct AS planned_pct, r.actual_progress_pct AS actual_pct,
    r.budget_spent_wan_yuan AS spent_wan_yuan, r.rag,
    lag(r.actual_progress_pct) OVER w AS prev_actual_pct,
    lag(r.budget_spent_wan_yuan) OVER w AS prev_spent_wan_yuan,
    lag(r.report_date) OVER w AS prev_report_date
FROM progress_reports r SEMI JOIN scoped_items i ON i.project_id = r.project_id
WHERE r.report_date <= $period_end::DATE AND r.actual_progress_pct IS NOT NULL
WINDOW w AS (PARTITION BY r.project_id ORDER BY r.report_date)
ORDER BY r.project_id, r.report_date"""

# grain: one row per milestone of an item in scope
_MILESTONES = "WITH " + SCOPED_ITEMS + """
SELECT m.project_id, m.milestone_id, m.name, m.planned_date, m.actual_date, m.weight
FROM milestones m SEMI JOIN scoped_items i ON i.project_id = m.project_id
ORDER BY m.project_id, m.planned_date"""

QUERIES: dict[str, str] = {
    "quality_items": _ITEMS,
    "quality_reports": _REPORTS,
    "quality_milestones": _MILESTONES,
    # grain: one row per item under the page's filters (the ids the page narrows its results to)
    "quality_filtered_ids": "WITH " + SCOPED_ITEMS + " SELECT project_id FROM scoped_items ORDER BY project_id",
    # grain: one row per region code under $total_code with its ancestor at $group_level (the child region an
    # item is counted in); regions only, the items come from the scoped queries above
    "quality_child_regions": """
        SELECT c.region_code, g.region_code AS child_code, g.name AS child_name
        FROM region_closure c
        JOIN regions g ON g.region_code = c.ancestor_code AND g.level = $group_level::VARCHAR
        JOIN region_closure t ON t.region_code = g.region_code AND t.ancestor_code = $total_code::VARCHAR
        WHERE """ + region_predicate("c.region_code"),
    # grain: one row: the newest data version (the cache key of both analyses)
    "quality_data_version": "SELECT max(version) AS version FROM data_versions",
    # grain: one row (none when the item is out of scope): the province an item is in
    "item_province": "WITH " + SCOPED_ITEMS + """
        SELECT c.ancestor_code AS province_code FROM scoped_items i
        JOIN region_closure c ON c.region_code = i.region_code
        JOIN regions g ON g.region_code = c.ancestor_code AND g.level = 'province'
        WHERE i.project_id = $project_id::VARCHAR""",
    # grain: one row: how many items the scope (narrowed by the filters given) allows
    "quality_n_items": "WITH " + SCOPED_ITEMS + " SELECT count(*) AS n_items FROM scoped_items",
}
