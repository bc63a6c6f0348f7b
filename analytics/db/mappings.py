"""Named header mappings of uploads (a steward's "区县周报" layout saved once), stored in the database so every
steward's machine sees them: the `upload_mappings` table, created with the other upload tables."""
from __future__ import annotations

from datetime import datetime

import duckdb

from analytics import contract
from analytics.db import store

MAPPING_NAMES = ("SELECT DISTINCT name FROM upload_mappings WHERE ($1::VARCHAR IS NULL OR table_name = $1) "
                 "ORDER BY name")
MAPPING_LOAD = "SELECT table_name, header, column_name FROM upload_mappings WHERE name = ? ORDER BY header"


def saved_names(cur: duckdb.DuckDBPyConnection, table: str | None = None) -> list[str]:
    try:
        return [r[0] for r in cur.execute(MAPPING_NAMES, [table]).fetchall()]
    except duckdb.CatalogException:
        return []


def load(cur: duckdb.DuckDBPyConnection, name: str) -> tuple[str, dict[str, str | None]] | None:
    """(table, header → column) of the named mapping, or None when there is none by that name."""
    try:
        rows = cur.execute(MAPPING_LOAD, [name]).fetchall()
    except duckdb.CatalogException:
        return None
    if not rows:
        return None
    return rows[0][0], {h: c for _, h, c in rows}


def save(cur: duckdb.DuckDBPyConnection, name: str, table: str, mapping: dict[str, str | None], who: str) -> None:
    """Store (or replace) the named mapping; only contract columns of `table` are kept."""
    t = contract.table(table)
    name = name.strip()[:80]
    if not name:
        raise ValueError("a mapping needs a name")
    cur.execute("BEGIN TRANSACTION")
    try:
        for stmt in store.UPLOAD_DDL:
            cur.execute(stmt)
        cur.execute("DELETE FROM upload_mappings WHERE name = ?", [name])
        now = datetime.now()
        for header, column in mapping.items():
            if header and (column is None or column in t.column_names):
                cur.execute("INSERT INTO upload_mappings VALUES (?, ?, ?, ?, ?, ?)",
                            [name, table, str(header)[:200], column, now, who])
        cur.execute("COMMIT")
    except Exception:
        cur.execute("ROLLBACK")
        raise
