"""SQL of the change explanations (analytics/explain.py): which region one level below the selection each
region code belongs to."""
from analytics.db.scope import region_predicate

QUERIES = {
    # each of `codes` (in the user's scope) with its ancestor at `level` (itself when it is at that level)
    "region_ancestor_at": """SELECT c.region_code, g.region_code AS child_code, g.name AS child_name
        FROM region_closure c JOIN regions g ON g.region_code = c.ancestor_code
        WHERE g.level = $level::VARCHAR AND list_contains($codes::VARCHAR[], c.region_code)
          AND """ + region_predicate("c.region_code"),
}
