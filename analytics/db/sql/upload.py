"""Named queries of the upload page and the ingest CLI (data versions, mappings, regions).

Uploads act on whole tables, not on a user's view of them, so none of these reads items through the
scoped fragments: they read version metadata and the region list, never item rows. The SQL that
compares and writes table states is generated from the contract in `analytics/ingest/` (identifiers
from the contract only, values always as parameters).
"""

from analytics.db.scope import region_predicate

QUERIES = {
    # grain: one row per item recorded in the selected region (a ledger's home region) and the user's scope: what a
    # monthly ledger's rows are matched against (analytics/ingest/ledger.py)
    "ledger_items": """SELECT p.project_id, p.name, p.lead_dept, p.region_code, p.start_date, p.planned_end_date,
            p.actual_end_date, p.status
        FROM projects p
        WHERE """ + region_predicate("p.region_code") + """
          AND (len($scope_domains::VARCHAR[]) = 0 OR list_contains($scope_domains::VARCHAR[], p.domain))
        ORDER BY p.project_id""",
    # grain: one row per region inside the selected region and the user's scope: the districts a ledger may name
    "ledger_regions": """SELECT r.region_code, r.name, r.level, r.parent_code FROM regions r
        WHERE """ + region_predicate("r.region_code") + """
        ORDER BY r.region_code""",
    # grain: one row per stored item among $keys: its region, to check that a linked row lies in it
    "ingest_item_regions": """SELECT project_id, region_code FROM projects
        WHERE list_contains($keys::VARCHAR[], project_id)""",
    # grain: one row per (region, region at or below it) for the regions in $codes
    "ingest_region_below": """SELECT ancestor_code, region_code FROM region_closure
        WHERE list_contains($codes::VARCHAR[], ancestor_code)""",
    # grain: one row per data version that recorded the audit log's newest entry at its commit (audit verify's anchors)
    "audit_anchors": """SELECT version, audit_seq, audit_hash FROM data_versions
        WHERE audit_seq IS NOT NULL ORDER BY version""",
    # every region with its parent, to resolve names given instead of codes
    "ingest_regions": "SELECT region_code, name, level, parent_code FROM regions",
    # grain: one row per data version, newest first (after the first upload added the audit columns)
    "ingest_versions": """SELECT version, created_at, created_by, coalesce(kind, 'load') AS kind, source, description,
            as_of, file_name, sha256, table_names, mode, rows_new, rows_changed, rows_unchanged, rows_removed,
            rows_rejected, based_on, restores
        FROM data_versions ORDER BY version DESC""",
    # the same before any upload: the columns every database has
    "ingest_versions_plain": """SELECT version, created_at, created_by, 'load' AS kind, source, description, as_of,
            NULL::VARCHAR AS file_name, NULL::VARCHAR AS sha256, NULL::VARCHAR AS table_names, NULL::VARCHAR AS mode,
            NULL::BIGINT AS rows_new, NULL::BIGINT AS rows_changed, NULL::BIGINT AS rows_unchanged,
            NULL::BIGINT AS rows_removed, NULL::BIGINT AS rows_rejected, NULL::BIGINT AS based_on,
            NULL::BIGINT AS restores
        FROM data_versions ORDER BY version DESC""",
    # grain: one row per table per version: which stored state it reads and what the version did to it
    "ingest_version_tables": """SELECT version, table_name, state, mode, rows_new, rows_changed, rows_unchanged,
            rows_removed, rows_rejected, rows_total
        FROM data_version_tables ORDER BY version DESC, table_name""",
    # stored table states (name__vN), to say which versions can still be restored
    "ingest_stored_states": """SELECT table_name FROM duckdb_tables()
        WHERE schema_name = 'main' AND regexp_matches(table_name, '__v[0-9]+$')""",
}
