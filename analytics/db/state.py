"""The state stores: small SQLite files beside the database for what people write while the app runs, each with
its own schema (`<db>.auth.sqlite` accounts and audit log, `<db>.meetings.sqlite` meeting notes,
`<db>.quality.sqlite` "not duplicates" marks, `<db>.notify.sqlite` notification rules, firings, subscriptions and
the outbox, `<db>.annotations.sqlite` event notes, `<db>.mappings.sqlite` saved header mappings, `<db>.jobs.sqlite`
the worker's job queue). One way to open them, here.

Why SQLite and not the DuckDB file: while the app runs it holds the DuckDB file open for writing, and DuckDB then
lets no other process open it, so state kept there could not be written from the command line or a second app
process. SQLite (standard library) lets several processes write one file, each write one short transaction;
every statement is parameterised.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def connect(path: str | Path, schema: str, write: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection to the store at `path`. Reading needs the file (FileNotFoundError otherwise); `write` creates
    it with `schema` when needed and runs the block as one transaction that takes the write lock at once (BEGIN
    IMMEDIATE, so two writers never read the same state, e.g. the audit chain's last hash), committed when the
    block ends and rolled back when it raises."""
    path = Path(path)
    if not write and not path.is_file():
        raise FileNotFoundError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(str(path), timeout=10, isolation_level=None)
    try:
        if write:
            con.executescript(schema)
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        else:
            yield con
    finally:
        con.close()


def has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None
