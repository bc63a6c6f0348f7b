"""Named queries of access control: the region cascade of a scoped user, and the checks of a scoped
steward's upload against the rows already stored.

`auth_region_tree` is scoped (the user's regions and everything below them) and adds only the names of
their ancestors, so the province → city → county cascade can show the path down to the scope. The
`auth_existing_*` queries are deliberately unscoped: before a scoped steward's rows are written they say
where the stored rows with the same keys belong, so that a row of another region is never overwritten.
Their results never reach a page (analytics/auth/scoping.py turns them into counts of refused rows).
"""
from __future__ import annotations

from analytics.db.scope import SCOPED_REGIONS

QUERIES: dict[str, str] = {
    # grain: one row per region in the user's scope, plus each ancestor of a scope region (names only)
    "auth_region_tree": "WITH " + SCOPED_REGIONS + """
        SELECT region_code, name, level, parent_code FROM regions
        WHERE level <> 'country' AND (region_code IN (SELECT region_code FROM scoped_regions)
           OR region_code IN (SELECT ancestor_code FROM region_closure
                              WHERE list_contains($scope_regions::VARCHAR[], region_code)))
        ORDER BY region_code""",
    # grain: one row per region code in the user's scope
    "auth_scope_region_codes": "WITH " + SCOPED_REGIONS + " SELECT region_code FROM scoped_regions",
    # grain: one row per stored row whose key is in $keys: where it belongs (region, domain)
    "auth_existing_projects": """SELECT project_id AS row_key, region_code, domain FROM projects
        WHERE list_contains($keys::VARCHAR[], project_id)""",
    "auth_existing_feedback": """SELECT f.feedback_id AS row_key, f.region_code, coalesce(f.domain, p.domain) AS domain
        FROM feedback f LEFT JOIN projects p USING (project_id)
        WHERE list_contains($keys::VARCHAR[], f.feedback_id)""",
    "auth_existing_rectifications": """SELECT r.rectification_id AS row_key, r.region_code, p.domain
        FROM rectifications r LEFT JOIN projects p USING (project_id)
        WHERE list_contains($keys::VARCHAR[], r.rectification_id)""",
    "auth_existing_milestones": """SELECT m.milestone_id AS row_key, p.region_code, p.domain
        FROM milestones m LEFT JOIN projects p USING (project_id)
        WHERE list_contains($keys::VARCHAR[], m.milestone_id)""",
}
