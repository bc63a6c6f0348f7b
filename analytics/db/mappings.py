"""Named header mappings of uploads (a steward's "区县周报" layout saved once), kept in a state store beside the
database (`<db>.mappings.sqlite`, analytics/db/state.py) so every steward and every app process sees them and any of
them can save one while the database file is held by its one writer (issue 18).

Earlier versions kept them in the DuckDB file's `upload_mappings` table; `migrate` copies those over (it runs
wherever the file is opened for writing: the app in its one-process mode, the worker, the CLI's ingest).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from analytics import contract
from analytics.db import state

SCHEMA = """
CREATE TABLE IF NOT EXISTS mappings (
    name TEXT NOT NULL,
    table_name TEXT NOT NULL,
    header TEXT NOT NULL,
    column_name TEXT,                    -- NULL: the header is not loaded
    saved_at TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    PRIMARY KEY (name, header)
);
-- once the mappings of the DuckDB file are copied here, they are never copied again (a later save or delete wins)
CREATE TABLE IF NOT EXISTS carried_over (source TEXT PRIMARY KEY, at TEXT NOT NULL);
"""


def path_for(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".mappings.sqlite")


def _read(db_path, sql: str, params: tuple) -> list[tuple]:
    path = path_for(db_path)
    if not state.exists(path):
        return []
    with state.connect(path, SCHEMA) as con:
        if not state.has_table(con, "mappings"):
            return []
        return con.execute(sql, params).fetchall()


def saved_names(db_path: str | Path, table: str | None = None) -> list[str]:
    return [r[0] for r in _read(db_path, "SELECT DISTINCT name FROM mappings WHERE (? IS NULL OR table_name = ?) "
                                         "ORDER BY name", (table, table))]


def load(db_path: str | Path, name: str) -> tuple[str, dict[str, str | None]] | None:
    """(table, header → column) of the named mapping, or None when there is none by that name."""
    rows = _read(db_path, "SELECT table_name, header, column_name FROM mappings WHERE name = ? ORDER BY header",
                 (name,))
    return (rows[0][0], {h: c for _, h, c in rows}) if rows else None


def save(db_path: str | Path, name: str, table: str, mapping: dict[str, str | None], who: str) -> None:
    """Store (or replace) the named mapping; only contract columns of `table` are kept."""
    t = contract.table(table)
    name = name.strip()[:80]
    if not name:
        raise ValueError("a mapping needs a name")
    now = datetime.now().isoformat(timespec="seconds")
    with state.connect(path_for(db_path), SCHEMA, write=True) as con:
        con.execute("DELETE FROM mappings WHERE name = ?", (name,))
        con.executemany("INSERT INTO mappings VALUES (?, ?, ?, ?, ?, ?)",
                        [(name, table, str(header)[:200], column, now, who) for header, column in mapping.items()
                         if header and (column is None or column in t.column_names)])


def migrate(db_path: str | Path, cur: duckdb.DuckDBPyConnection) -> int:
    """Copy the mappings an earlier version kept in the DuckDB file into the store, once."""
    path = path_for(db_path)
    if state.exists(path):
        with state.connect(path, SCHEMA) as con:
            if state.has_table(con, "carried_over") and con.execute(
                    "SELECT 1 FROM carried_over WHERE source = 'upload_mappings'").fetchone():
                return 0
    try:
        rows = cur.execute("SELECT name, table_name, header, column_name, saved_at, saved_by FROM upload_mappings"
                           ).fetchall()
    except duckdb.Error:  # no such table: nothing was ever saved there
        rows = []
    with state.connect(path, SCHEMA, write=True) as con:
        n = con.executemany("INSERT OR IGNORE INTO mappings VALUES (?, ?, ?, ?, ?, ?)",
                            [(n, t, h, c, str(at), by) for n, t, h, c, at, by in rows]).rowcount if rows else 0
        con.execute("INSERT OR IGNORE INTO carried_over VALUES ('upload_mappings', ?)",
                    (datetime.now().isoformat(timespec="seconds"),))
    return n
