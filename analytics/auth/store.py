"""The accounts and the audit log, in a small SQLite file beside the database (`<db>.auth.sqlite`).

A state store (analytics/db/state.py says why SQLite and not the DuckDB file): the command line manages accounts
while the app runs.
"""
from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path

from analytics import settings
from analytics.db import state

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,          -- lower case: a-z 0-9 . _ @ -
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    region_codes TEXT NOT NULL,         -- JSON list of region codes; [] = national
    domains TEXT NOT NULL,              -- JSON list of domains; [] = every domain
    password_hash TEXT,                 -- argon2id; NULL for an account that signs in only by SSO
    sso_identity TEXT UNIQUE,           -- e-mail or subject the identity provider gives (st.user)
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    password_changed_at TEXT,
    last_sign_in_at TEXT,
    lang TEXT,                          -- the language of the person's notices (zh | en); NULL: the subscription's
    department TEXT,                    -- 部门/单位 as the items' lead_dept gives it: notices of the items it leads
    leader_name TEXT                    -- the name as the items' responsible_leaders give it: 催办 and 通报 of them
);
-- failed sign-ins by the name typed, whether or not an account has it (so a lockout says nothing
-- about which names exist)
CREATE TABLE IF NOT EXISTS sign_in_failures (
    username TEXT PRIMARY KEY,
    n_failures INTEGER NOT NULL,
    last_failure REAL NOT NULL,         -- epoch seconds
    locked_until REAL
);
-- failed sign-ins by the name typed and the client it came from (its address as the app sees it): the throttle and
-- the lockout of one client do not stop the same name from another (sign_in_failures then counts every client)
CREATE TABLE IF NOT EXISTS sign_in_failures_by_client (
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    n_failures INTEGER NOT NULL,
    last_failure REAL NOT NULL,         -- epoch seconds
    locked_until REAL,
    PRIMARY KEY (username, client)
);
CREATE TABLE IF NOT EXISTS audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,                   -- ISO time with offset
    actor TEXT NOT NULL,                -- username, "demo", or "cli:<os user>"
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,               -- JSON object
    source TEXT NOT NULL,               -- client IP address, "cli", or "" when unknown
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
-- sign-ins that survive a reload (analytics/auth/sessions.py): a cookie's token, stored only as its SHA-256
CREATE TABLE IF NOT EXISTS web_sessions (
    sid TEXT PRIMARY KEY,               -- the session's id, held by the tab that signed in
    token_hash TEXT UNIQUE,             -- the cookie's token once a ticket was swapped for it (NULL before)
    username TEXT NOT NULL,
    method TEXT NOT NULL,               -- password | sso
    created_at REAL NOT NULL,           -- epoch seconds
    last_seen REAL NOT NULL,
    ended_at REAL,
    end_reason TEXT,                    -- signed_out | expired | disabled
    client TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS web_sessions_user ON web_sessions (username) WHERE ended_at IS NULL;
-- one-time tickets a signed-in page exchanges for the cookie at /auth/adopt (used once, within a minute)
CREATE TABLE IF NOT EXISTS session_tickets (
    ticket_hash TEXT PRIMARY KEY,
    sid TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


def path_for(db_path: str | Path) -> Path:
    """Where the accounts of the database at `db_path` live (COCKPIT_AUTH_DB overrides it)."""
    override = settings.get("COCKPIT_AUTH_DB")
    return Path(override) if override else Path(str(db_path) + ".auth.sqlite")


def exists(path: str | Path) -> bool:
    return state.exists(path)


# columns added after the first release: (table, column, declaration), added to a store written before them
MIGRATIONS = (("users", "lang", "TEXT"), ("users", "department", "TEXT"), ("users", "leader_name", "TEXT"))
_MIGRATED: set[str] = set()  # stores (backend, path) found up to date in this process


@contextmanager
def connect(path: str | Path, write: bool = False):
    """A connection to the sidecar (`analytics.db.state.connect`); `write` runs one transaction that takes the write
    lock at once, so two writers of the audit chain never read the same last hash. A store written before a column
    of MIGRATIONS existed gets it (`ALTER TABLE … ADD COLUMN`, on SQLite and PostgreSQL alike) at its first
    connection."""
    with state.connect(path, SCHEMA, write) as con:
        key = f"{state.backend()}|{Path(path).resolve()}"
        if key not in _MIGRATED:
            for table, column, decl in MIGRATIONS:
                if state.has_table(con, table):
                    state.add_column(con, table, column, decl)
            _MIGRATED.add(key)
        yield con


def has_table(con: sqlite3.Connection, name: str) -> bool:
    return state.has_table(con, name)
