"""The state stores: small SQLite files beside the database for what people write while the app runs, each with
its own schema (`<db>.auth.sqlite` accounts and audit log, `<db>.meetings.sqlite` meeting notes,
`<db>.quality.sqlite` "not duplicates" marks, `<db>.notify.sqlite` notification rules, firings, subscriptions and
the outbox, `<db>.annotations.sqlite` event notes, `<db>.mappings.sqlite` saved header mappings, `<db>.jobs.sqlite`
the worker's job queue). One way to open them, here.

Why SQLite and not the DuckDB file: while the app runs it holds the DuckDB file open for writing, and DuckDB then
lets no other process open it, so state kept there could not be written from the command line or a second app
process. SQLite (standard library) lets several processes write one file, each write one short transaction;
every statement is parameterised.

Several machines (issue 18) share one PostgreSQL server instead: with `COCKPIT_STATE_URL=postgresql://…` every
store is a schema of that database (named after the store and the database file, or `COCKPIT_STATE_NAMESPACE`), and
`connect` hands out a connection that speaks the stores' SQLite dialect (`?` parameters, `INSERT OR IGNORE`,
`AUTOINCREMENT`, `lastrowid`, `executescript`) over psycopg 3; a writing block takes a transaction-level advisory
lock on its store first, as SQLite's BEGIN IMMEDIATE takes the file's write lock, so the audit chain's writers
still go one at a time. A server that does not answer is retried for COCKPIT_STATE_WAIT_SECONDS before the
request fails.

A column added to a store's schema later reaches a store written before it through `add_column` (its owner calls it
when it connects: `CREATE TABLE IF NOT EXISTS` leaves an existing table as it was); `columns` reads a table's columns
on either backend.
"""
from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from analytics import settings


def _url() -> str:
    return settings.get("COCKPIT_STATE_URL").strip()


def backend() -> str:
    """`sqlite` (files beside the database) or `postgresql` (COCKPIT_STATE_URL)."""
    url = _url()
    if not url:
        return "sqlite"
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql"
    raise ValueError(f"COCKPIT_STATE_URL={url.split('@')[-1]!r}: expected empty (SQLite files) or postgresql://…")


def transient(error: BaseException) -> bool:
    """Whether `error` is the state store's server going away (a PostgreSQL restart): worth running again."""
    if backend() != "postgresql":
        return False
    import psycopg

    return isinstance(error, psycopg.OperationalError)


def exists(path: str | Path) -> bool:
    """Whether the store at `path` has been written (a file, or its PostgreSQL schema)."""
    if backend() == "sqlite":
        return Path(path).is_file()
    with _pg() as con:
        return con.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                           (schema_name(path),)).fetchone() is not None


@contextmanager
def connect(path: str | Path, schema: str, write: bool = False) -> Iterator[sqlite3.Connection]:
    """A connection to the store at `path`. Reading needs the file (FileNotFoundError otherwise); `write` creates
    it with `schema` when needed and runs the block as one transaction that takes the write lock at once (BEGIN
    IMMEDIATE, so two writers never read the same state, e.g. the audit chain's last hash), committed when the
    block ends and rolled back when it raises."""
    if backend() == "postgresql":
        with _pg_store(path, schema, write) as con:
            yield con
        return
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


def connect_or_create(path: str | Path, schema: str, write: bool = False):
    """`connect`, but reading a store not yet written creates it empty first, so every reader sees its tables (the
    stores whose readers come before any writer: notifications, the job queue)."""
    if not write and not exists(path):
        with connect(path, schema, write=True):
            pass
    return connect(path, schema, write)


def has_table(con, name: str) -> bool:
    if isinstance(con, PgStore):
        return con.has_table(name)
    return con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def columns(con, table: str) -> list[str]:
    """The columns of a store's table, in order (none when it has no such table), on either backend."""
    if isinstance(con, PgStore):
        return con.columns(table)
    return [r[0] for r in con.execute("SELECT name FROM pragma_table_info(?)", (table,)).fetchall()]


def add_column(con, table: str, column: str, decl: str) -> bool:
    """Add a column a newer schema has to a store written before it (`CREATE TABLE IF NOT EXISTS` leaves an existing
    table as it was); True when it was missing. Safe against another process adding it at the same moment."""
    if not re.fullmatch(r"\w+", table) or not re.fullmatch(r"\w+", column) or not re.fullmatch(r"[\w ]+(?:'')?", decl):
        raise ValueError(f"{table}.{column} {decl}")
    if column in columns(con, table):
        return False
    if isinstance(con, PgStore):
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {decl}")
        return True
    try:
        con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")
    except sqlite3.OperationalError:
        if column not in columns(con, table):  # not "duplicate column": another writer did not add it
            raise
    return True


# ---- PostgreSQL -------------------------------------------------------------------------------------------------

def schema_name(path: str | Path) -> str:
    """The PostgreSQL schema of the store at `path`: `<namespace>_<store>` (`cockpit_auth`) when
    COCKPIT_STATE_NAMESPACE is set, else the store and a hash of the file's absolute path, so that two databases
    on one server never share a store."""
    name = Path(path).name
    kind = re.sub(r"[^a-z0-9]", "", name.rsplit(".", 2)[-2].lower()) if name.count(".") >= 2 else "state"
    namespace = re.sub(r"[^a-z0-9_]", "_", settings.get("COCKPIT_STATE_NAMESPACE").strip().lower())
    if namespace:
        return f"{namespace}_{kind}"[:63]
    digest = hashlib.sha256(str(Path(path).resolve()).encode()).hexdigest()[:16]
    return f"st_{digest}_{kind}"


def _pg():
    """A psycopg connection to COCKPIT_STATE_URL, retried while the server does not answer (a restart)."""
    import psycopg

    deadline = time.monotonic() + settings.get("COCKPIT_STATE_WAIT_SECONDS")
    delay = 0.2
    while True:
        try:
            return psycopg.connect(_url(), autocommit=True, cursor_factory=psycopg.ClientCursor, connect_timeout=5)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


_IDENTITY = re.compile(r"(\w+)\s+INTEGER\s+PRIMARY\s+KEY(?:\s+AUTOINCREMENT)?(?=\s*,|\s*$)", re.I | re.M)
_CREATED: set[tuple[str, str]] = set()  # (url, schema) created in this process: the DDL runs once


def _ddl(schema: str) -> list[str]:
    """The stores' SQLite DDL as PostgreSQL statements."""
    out = []
    for stmt in re.sub(r"--[^\n]*", "", schema).split(";"):
        stmt = stmt.strip()
        if not stmt:
            continue
        stmt = _IDENTITY.sub(r"\1 BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", stmt)
        stmt = re.sub(r"\bREAL\b", "DOUBLE PRECISION", stmt)
        stmt = re.sub(r"\bINTEGER\b", "BIGINT", stmt)
        out.append(stmt)
    return out


def _identities(schema: str) -> dict[str, str]:
    """table → its AUTOINCREMENT column, from the SQLite DDL (what `lastrowid` returns)."""
    out = {}
    for m in re.finditer(r"CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\n\);", schema, re.S):
        col = _IDENTITY.search(m.group(2))
        if col:
            out[m.group(1)] = col.group(1)
    return out


def _translate(sql: str) -> str:
    """One statement of the stores' SQLite dialect in PostgreSQL's (they use no `?` or `%` inside literals)."""
    sql = sql.replace("%", "%%").replace("?", "%s")
    sql = re.sub(r"\bgroup_concat\(", "string_agg(", sql, flags=re.I)  # (always with a separator here)
    sql = re.sub(r"\bchar\((\d+)\)", r"chr(\1)", sql, flags=re.I)
    if re.match(r"\s*INSERT\s+OR\s+IGNORE\s+INTO", sql, re.I):
        sql = re.sub(r"INSERT\s+OR\s+IGNORE\s+INTO", "INSERT INTO", sql, count=1, flags=re.I)
        if "ON CONFLICT" not in sql.upper():
            sql += " ON CONFLICT DO NOTHING"
    return sql


def _params(params):
    return tuple(int(v) if isinstance(v, bool) else v for v in params) if params else params


class _Cursor:
    def __init__(self, cur, lastrowid=None, rows=None):
        self._cur, self.lastrowid, self._rows = cur, lastrowid, rows

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    def fetchone(self):
        if self._rows is not None:
            return self._rows.pop(0) if self._rows else None
        return self._cur.fetchone()

    def fetchall(self):
        if self._rows is not None:
            rows, self._rows = self._rows, []
            return rows
        return self._cur.fetchall()

    def __iter__(self):
        return iter(self.fetchall())


class PgStore:
    """The part of sqlite3.Connection the stores use, over one psycopg connection with `search_path` on the
    store's schema."""

    def __init__(self, con, schema: str, identities: dict[str, str]):
        self._con, self.schema, self._identities = con, schema, identities

    def execute(self, sql: str, params=()):
        cur = self._con.cursor()
        seq = re.fullmatch(r"\s*SELECT seq FROM sqlite_sequence WHERE name = '(\w+)'\s*", sql)
        if seq and seq.group(1) in self._identities:  # the last number an AUTOINCREMENT column handed out
            cur.execute("SELECT pg_sequence_last_value(pg_get_serial_sequence(%s, %s))",
                        (f'"{self.schema}".{seq.group(1)}', self._identities[seq.group(1)]))
            value = cur.fetchone()[0]
            return _Cursor(cur, rows=[(value,)] if value is not None else [])
        text = _translate(sql)
        m = re.match(r"\s*INSERT\s+(?:OR\s+IGNORE\s+)?INTO\s+(\w+)", sql, re.I)
        if m and m.group(1) in self._identities and "RETURNING" not in sql.upper():
            cur.execute(text + f" RETURNING {self._identities[m.group(1)]}", _params(params))
            row = cur.fetchone() if cur.rowcount else None
            return _Cursor(cur, lastrowid=row[0] if row else None, rows=[])
        cur.execute(text, _params(params))
        return _Cursor(cur)

    def executemany(self, sql: str, rows):
        cur = self._con.cursor()
        rows = [_params(r) for r in rows]
        cur.executemany(_translate(sql), rows)
        return _Cursor(cur)

    def executescript(self, script: str) -> None:
        for stmt in _ddl(script):
            self._con.execute(stmt)

    def has_table(self, name: str) -> bool:
        return self._con.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND "
                                 "table_name = %s", (self.schema, name)).fetchone() is not None

    def columns(self, table: str) -> list[str]:
        return [r[0] for r in self._con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position", (self.schema, table)).fetchall()]


@contextmanager
def _pg_store(path, schema: str, write: bool):
    import psycopg

    name = schema_name(path)
    con = _pg()
    try:
        if (_url(), name) not in _CREATED:
            known = con.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s",
                                (name,)).fetchone() is not None
            if not known and not write:
                raise FileNotFoundError(f"{path} (PostgreSQL schema {name})")
            if write or known:
                with con.transaction():
                    # one creator at a time: two processes creating the same store would race on its tables
                    con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))
                    con.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
                    con.execute(f'SET LOCAL search_path TO "{name}"')
                    for stmt in _ddl(schema):
                        con.execute(stmt)
                _CREATED.add((_url(), name))
        con.execute(f'SET search_path TO "{name}"')
        store = PgStore(con, name, _identities(schema))
        if write:
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (name,))
                for stmt in _ddl(schema):  # as SQLite's writer runs the schema: a dropped table comes back empty
                    con.execute(stmt)
                yield store
        else:
            yield store
    except psycopg.errors.UndefinedTable as e:
        raise FileNotFoundError(f"{path}: {e}") from None
    finally:
        con.close()
