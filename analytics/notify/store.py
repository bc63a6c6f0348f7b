"""The notification state store, `<db>.notify.sqlite` (analytics/db/state.py says why SQLite): rule versions,
firings and their events, subscriptions, the outbox and the in-app inbox."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from analytics import settings
from analytics.db import state

SCHEMA = """
-- every saved set of an administrator's rule edits; the newest is in force, a digest names the one it used
CREATE TABLE IF NOT EXISTS rule_versions (
    version INTEGER PRIMARY KEY,
    saved_at TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    overrides TEXT NOT NULL              -- JSON: rule key -> {enabled, params, zh, en}
);
-- one row per time a rule's condition started to hold for a subject (an item, a rectification, a region)
CREATE TABLE IF NOT EXISTS firings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_key TEXT NOT NULL,
    subject TEXT NOT NULL,
    region_code TEXT NOT NULL,
    domain TEXT,
    data_version INTEGER NOT NULL,       -- the data version the condition was first seen in
    as_of TEXT NOT NULL,
    rules_version INTEGER NOT NULL,
    detail TEXT NOT NULL,                -- JSON: what the message says (name, light, owner, lag, deadline …)
    fired_at TEXT NOT NULL,
    cleared_version INTEGER,             -- the data version it no longer held in (NULL: still holds)
    cleared_as_of TEXT
);
CREATE INDEX IF NOT EXISTS firings_open ON firings (rule_key, subject) WHERE cleared_version IS NULL;
-- fired and cleared, in order: a digest takes the events after the last one its person received
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    firing_id INTEGER NOT NULL REFERENCES firings (id),
    kind TEXT NOT NULL,                  -- fired | cleared
    data_version INTEGER NOT NULL
);
-- the data versions evaluated, and under which rules: a version is evaluated once per rule version
CREATE TABLE IF NOT EXISTS evaluations (
    data_version INTEGER NOT NULL,
    rules_version INTEGER NOT NULL,
    as_of TEXT NOT NULL,
    evaluated_at TEXT NOT NULL,
    n_fired INTEGER NOT NULL,
    n_cleared INTEGER NOT NULL,
    complete INTEGER NOT NULL,           -- 0: a rule could not be judged yet (no risk scores for the version)
    PRIMARY KEY (data_version, rules_version)
);
CREATE TABLE IF NOT EXISTS subscriptions (
    owner TEXT NOT NULL,                 -- user:<name> or role:<role>
    channel TEXT NOT NULL,               -- email | webhook | inbox
    rule_keys TEXT NOT NULL,             -- JSON list
    region_codes TEXT NOT NULL,          -- JSON list; [] = the account's whole scope
    frequency TEXT NOT NULL,             -- immediate | daily | weekly
    address TEXT NOT NULL DEFAULT '',    -- e-mail address (email channel)
    lang TEXT NOT NULL DEFAULT 'zh',
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (owner, channel)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key TEXT NOT NULL UNIQUE,       -- person + period + channel: a message is queued once
    username TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    period TEXT NOT NULL,
    title TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    last_seq INTEGER NOT NULL,           -- the newest event it reports
    data_version INTEGER NOT NULL,
    rules_version INTEGER NOT NULL,
    state TEXT NOT NULL,                 -- queued | sending | sent | failed | batched (sent within a post)
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,       -- epoch seconds
    last_error TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    sent_at TEXT,
    stream TEXT NOT NULL DEFAULT '',     -- '': a subscription's digest; owner, owner_daily: an owner's notices;
                                         -- post: a group robot message carrying several digests or part of one
    post_id INTEGER                      -- a batched digest: the (last) post that carries it
);
-- the rules an account does not want to hear of as an owner (its department leads the item, it is its leader)
CREATE TABLE IF NOT EXISTS owner_optouts (
    username TEXT NOT NULL,
    rule_key TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (username, rule_key)
);
-- every message sent to a group robot, by robot (a hash of its URL): the pace COCKPIT_WEBHOOK_PER_MINUTE counts them
CREATE TABLE IF NOT EXISTS robot_sends (
    robot TEXT NOT NULL,
    sent_at REAL NOT NULL                -- epoch seconds
);
CREATE TABLE IF NOT EXISTS inbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    outbox_id INTEGER NOT NULL UNIQUE REFERENCES outbox (id),
    username TEXT NOT NULL,
    title TEXT NOT NULL,
    body_markdown TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_at TEXT
);
"""


def path_for(db_path: str | Path) -> Path:
    """Where the notifications of the database at `db_path` live (COCKPIT_NOTIFY_DB overrides it)."""
    override = settings.get("COCKPIT_NOTIFY_DB")
    return Path(override) if override else Path(str(db_path) + ".notify.sqlite")


# columns added after the first release: (table, column, declaration), added to a store written before them
MIGRATIONS = (("outbox", "stream", "TEXT NOT NULL DEFAULT ''"), ("outbox", "post_id", "INTEGER"))
_MIGRATED: set[str] = set()  # stores (backend, path) brought up to date in this process


@contextmanager
def connect(path: str | Path, write: bool = False):
    """`analytics.db.state.connect` with this store's schema. The first connection of a process to a store writes
    it once: a store not yet written is created empty (so every reader sees the tables), one written before a
    table of the schema existed gets it (`CREATE TABLE IF NOT EXISTS`), and one written before a column of
    MIGRATIONS existed gets it (`state.add_column`, on SQLite and PostgreSQL alike)."""
    key = f"{state.backend()}|{Path(path).resolve()}"
    if key not in _MIGRATED:
        with state.connect(path, SCHEMA, write=True) as con:
            for table, column, decl in MIGRATIONS:
                state.add_column(con, table, column, decl)
        _MIGRATED.add(key)
    with state.connect_or_create(path, SCHEMA, write) as con:  # (a store removed since is made again)
        yield con
