"""SQL of shared event notes (issue 20): the notes themselves live in a SQLite store (analytics/annotations.py);
DuckDB only gives the region tree they hang on."""
from __future__ import annotations

QUERIES: dict[str, str] = {
    # grain: one row per region of every level, the nation included (its parent is null): the tree a note's region
    # is checked against and its ancestors and descendants are found in
    "annotation_regions": "SELECT region_code, name, level, parent_code FROM regions ORDER BY region_code",
}
