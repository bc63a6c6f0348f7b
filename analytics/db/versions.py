"""Commits, rollbacks and the version history: each one transaction, serialised by a lock.

How versions are stored: the table the app reads (`projects`) is always a plain table holding the
current state; every earlier state still restorable is kept beside it as `projects__v7` (named for
the version that wrote it). `data_version_tables` records, for every version, which state of every
uploadable table it reads. A commit writes the new state, archives the old one under its name and
renames the new one into place; a rollback or roll-forward renames states back and forth (no rows are
copied, so it is exact and takes a moment), and both add a data version, so `data_version` changes
and every cache keyed on it refreshes. Inside the same transaction the contract's rules are checked
on the new state (`analytics.db.checks`) and the item snapshot mart is rebuilt: a kill at any point
leaves the previous version, whole. The newest COCKPIT_KEEP_VERSIONS versions stay restorable.

Work that a new version needs beyond its tables and marts is started by the commit itself, whoever commits (the
upload page or the command line): the slip-risk model retrains on the new version in the background
(`_after_commit`, COCKPIT_RETRAIN_AFTER_COMMIT); the command line waits for it. `ON_NEW_VERSION` is for what a
process keeps of its own (the app's caches), never for work the data needs.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl

from analytics import contract, settings
from analytics.db import checks
from analytics.db import marts
from analytics.db import store
from analytics.db import diff
from analytics.ingest.problems import UploadError

# called as fn(db_path, version) after a commit or rollback has been committed, for a process's own caches; errors
# are the listener's own
ON_NEW_VERSION: list[Callable[[str, int], None]] = []

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
# an upsert of progress reports rebuilds only the snapshot dates it can change (marts.rebuild_since); off, every
# commit rebuilds the whole mart (tests compare the two)
INCREMENTAL_MART = True


def lock_for(path: str | Path) -> threading.Lock:
    """The lock serialising commits to one database file within this process (DuckDB's own file lock
    keeps other processes out while this one has it open for writing)."""
    key = str(Path(path).resolve())
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def uploadable() -> tuple[contract.Table, ...]:
    return tuple(t for t in contract.TABLES if t.uploadable)


def state_table(table: str, state: int) -> str:
    return f"{contract.table(table).name}__v{int(state)}"


@dataclass
class Change:
    """One table's part of a commit: the valid rows, which columns the file supplied, the mode."""

    table: str
    mode: str
    frame: pl.DataFrame
    supplied: tuple[str, ...]
    rejected: int = 0


@dataclass
class Outcome:
    status: str                # committed | unchanged | same_file | restored
    version: int | None        # the new version (or, for same_file, the version that loaded the file)
    based_on: int
    previews: dict[str, diff.Preview] = field(default_factory=dict)


# ---- bookkeeping ------------------------------------------------------------------------------------

def _current(cur) -> tuple[int, date]:
    rows = cur.execute("SELECT version, as_of FROM data_versions ORDER BY version DESC LIMIT 1").fetchall()
    if not rows:
        raise UploadError("no_version", {})
    return rows[0][0], rows[0][1]


def heads(cur, version: int) -> dict[str, int]:
    return dict(cur.execute("SELECT table_name, state FROM data_version_tables WHERE version = ?",
                            [version]).fetchall())


def _bootstrap(cur, version: int) -> dict[str, int]:
    """The current version's states, recorded on first use (tables loaded before uploads existed are
    the state of the version that was current then)."""
    found = heads(cur, version)
    for t in uploadable():
        if t.name not in found:
            n = cur.execute(f"SELECT count(*) FROM {t.name}").fetchall()[0][0]
            cur.execute("INSERT INTO data_version_tables (version, table_name, state, rows_total) VALUES (?, ?, ?, ?)",
                        [version, t.name, version, n])
            found[t.name] = version
    return found


def _stored(cur) -> set[str]:
    return {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()}


def _prune(cur, keep: int) -> list[str]:
    """Drop stored states no version among the newest `keep` reads."""
    wanted = {state_table(t, s) for t, s in cur.execute(
        """SELECT table_name, state FROM data_version_tables
           WHERE version IN (SELECT version FROM data_versions ORDER BY version DESC LIMIT ?)""",
        [max(keep, 1)]).fetchall()}
    names = {t.name for t in uploadable()}
    dropped = []
    for name in sorted(_stored(cur)):
        base, sep, tail = name.rpartition("__v")
        if sep and base in names and tail.isdigit() and name not in wanted:
            cur.execute(f"DROP TABLE {state_table(base, int(tail))}")
            dropped.append(name)
    return dropped


def _gate(cur, touched: set[str]) -> None:
    """The contract's rules on every touched table and every table pointing into one (inside the
    transaction: a violation aborts the commit)."""
    affected = set(touched) | {t.name for t in contract.TABLES for r in t.references if r.table in touched}
    found = checks.violations(cur, tuple(affected))
    if not found.is_empty():
        lines = "; ".join(f"{r['table']}: {r['rule']} ({r['n_rows']} rows, e.g. {r['example']})"
                          for r in found.head(5).iter_rows(named=True))
        raise UploadError("contract", {"detail": lines})


def _finish(cur, version: int, as_of: date, touched: set[str], reports_since: date | None = None) -> None:
    """The item snapshot mart for the new version: rebuilt when its sources or the as-of date changed,
    else only stamped (a feedback upload leaves every snapshot as it was). When only progress reports
    changed, none dated before `reports_since`, only the snapshot dates from then on are rebuilt."""
    stamp = cur.execute("SELECT as_of FROM mart_stamp").fetchall() if store.has_table(cur, "mart_stamp") else []
    if touched & set(marts.SOURCES) or not stamp or stamp[0][0] != as_of or not store.has_table(cur, "item_snapshots"):
        if touched & set(marts.SOURCES) <= {"progress_reports"} and reports_since is not None and \
                marts.rebuild_since(cur, as_of, version, reports_since):
            return
        marts.rebuild(cur, as_of, version)
    else:
        marts.restamp(cur, as_of, version)


def _reports_since(changes: list[Change]) -> date | None:
    """The earliest report date an upsert of progress reports can change (its rows' own dates: an upsert
    replaces rows of the same item and date and keeps every other); None when anything else might change the
    item snapshots or the reports were replaced as a whole."""
    reports = [c for c in changes if c.table == "progress_reports"]
    if any(c.table in marts.SOURCES and c.table != "progress_reports" for c in changes) or \
            any(c.mode != "upsert" for c in reports) or not reports:
        return None
    dates = [c.frame["report_date"].min() for c in reports if c.frame.height]
    return min(dates) if dates else None


def _after_commit(db_path: str | None, version: int, retrain: bool | None) -> None:
    """What a new version needs once it is committed: the slip-risk model retrained on it, in a background thread
    with a connection of its own (`risk.jobs`; a training already running for this database is left to finish), when
    `retrain` (None: COCKPIT_RETRAIN_AFTER_COMMIT) and the database's path is known; then the listeners."""
    if db_path and (settings.get("COCKPIT_RETRAIN_AFTER_COMMIT") if retrain is None else retrain):
        from analytics.risk import jobs  # the model and scikit-learn load only when a commit needs them

        # a connection of the thread's own (in the app, a cursor of its writer: store.connect), not one derived from
        # the committing cursor, which its caller closes when the commit returns
        jobs.start(db_path, lambda: store.connect(db_path))
    for listener in ON_NEW_VERSION:
        listener(db_path or "", version)


class _Transaction:
    """Lock, BEGIN, and ROLLBACK on any error (or when the caller decides nothing should change)."""

    def __init__(self, cur, db_path, wait: float | None):
        self.cur, self.lock = cur, lock_for(db_path) if db_path else threading.Lock()
        self.wait = settings.get("COCKPIT_UPLOAD_WAIT_SECONDS") if wait is None else wait

    def __enter__(self):
        if not self.lock.acquire(timeout=self.wait):
            raise UploadError("busy", {"seconds": int(self.wait)})
        try:
            self.cur.execute("BEGIN TRANSACTION")
        except Exception:
            self.lock.release()
            raise
        self.done = False
        return self

    def commit(self) -> None:
        self.cur.execute("COMMIT")
        self.done = True

    def __exit__(self, *exc):
        try:
            if not self.done:
                self.cur.execute("ROLLBACK")
        finally:
            self.lock.release()
        return False


# ---- commit -----------------------------------------------------------------------------------------

def _same_file(cur, sha256: str, tables: str, mode: str, current: dict[str, int]) -> int | None:
    """The version that loaded this very file into these tables in this mode, if the tables still hold
    what it wrote."""
    rows = cur.execute("""SELECT version FROM data_versions WHERE kind = 'upload' AND sha256 = ? AND table_names = ?
                          AND mode = ? ORDER BY version DESC""", [sha256, tables, mode]).fetchall()
    for (v,) in rows:
        theirs = heads(cur, v)
        if all(theirs.get(t) == current.get(t) for t in tables.split(",")):
            return v
    return None


def _audit_anchor(db_path: str | None) -> tuple[int | None, str | None]:
    """The audit log's newest (entry number, hash) now, recorded with the version (None, None without a log)."""
    from analytics.auth import audit
    from analytics.auth import store as auth_store

    newest = audit.newest(auth_store.path_for(db_path)) if db_path else None
    return newest if newest else (None, None)


def reconcile_audit(cur: duckdb.DuckDBPyConnection, db_path: str, settle_seconds: float = 60) -> list:
    """Audit every data version made by an upload or a rollback that has no entry in the audit log (its process was
    killed between the commit and the entry), as recovered with its sha256; run when the app opens the database
    and before the command line commits. Versions younger than `settle_seconds` are left to their own process."""
    from analytics.auth import audit
    from analytics.auth import store as auth_store
    from analytics.db.queries import QUERIES

    if not store.has_upload_schema(cur):
        return []
    made = cur.sql(QUERIES["ingest_versions"]).pl().filter(
        pl.col("kind").is_in(["upload", "rollback", "roll_forward"])
        & (pl.col("created_at") < datetime.now() - timedelta(seconds=settle_seconds)))
    return audit.reconcile(auth_store.path_for(db_path), made.sort("version").iter_rows(named=True))


def audit_anchors(cur: duckdb.DuckDBPyConnection) -> list[tuple[int, int, str]]:
    """(version, audit entry number, hash) recorded by every commit that found an audit log (none before the first
    upload or in a database older than the anchors)."""
    from analytics.db.queries import QUERIES

    have = {r[0] for r in cur.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'data_versions'").fetchall()}
    if "audit_seq" not in have:
        return []
    return [tuple(r) for r in cur.execute(QUERIES["audit_anchors"]).fetchall()]


def commit(cur: duckdb.DuckDBPyConnection, changes: list[Change], *, who: str, file_name: str, sha256: str,
           as_of: date | None = None, based_on: int | None = None, db_path: str | None = None,
           keep: int | None = None, wait: float | None = None, retrain: bool | None = None) -> Outcome:
    """Write `changes` as one new data version (or nothing, saying why). `based_on` is the version the
    steward previewed: if another commit came first, the steward is asked to look again. `retrain`: see
    `_after_commit`."""
    if not changes:
        raise UploadError("nothing_valid", {})
    keep = settings.get("COCKPIT_KEEP_VERSIONS") if keep is None else keep
    tables = ",".join(sorted(c.table for c in changes))
    modes = ",".join(sorted({c.mode for c in changes}))
    with _Transaction(cur, db_path, wait) as tx:
        for stmt in store.UPLOAD_DDL:
            cur.execute(stmt)
        store.add_new_columns(cur)
        version, current_as_of = _current(cur)
        if based_on is not None and based_on != version:
            raise UploadError("stale", {"based_on": based_on, "current": version})
        current = _bootstrap(cur, version)
        same = _same_file(cur, sha256, tables, modes, current)
        if same is not None:
            return Outcome("same_file", same, version)
        previews = {}
        for i, ch in enumerate(changes):
            previews[ch.table] = diff.preview(cur, ch.table, ch.frame, ch.supplied, ch.mode, f"_incoming_{i}",
                                              samples=False)
        if not any(p.changes_anything for p in previews.values()):
            return Outcome("unchanged", None, version, previews)
        new = version + 1
        for i, ch in enumerate(changes):
            t = contract.table(ch.table)
            incoming = f"_incoming_{i}"
            cur.register(incoming, ch.frame)
            try:
                cur.execute(contract.ddl(t, f"{t.name}__next"))
                cur.execute(f"INSERT INTO {t.name}__next " + diff.new_state_sql(t, incoming, ch.supplied, ch.mode))
            finally:
                cur.unregister(incoming)
            cur.execute(f"ALTER TABLE {t.name} RENAME TO {state_table(t.name, current[t.name])}")
            cur.execute(f"ALTER TABLE {t.name}__next RENAME TO {t.name}")
        total = {k: sum(getattr(p, k) for p in previews.values())
                 for k in ("rows_new", "rows_changed", "rows_unchanged", "rows_removed")}
        rejected = sum(c.rejected for c in changes)
        as_of = as_of or current_as_of
        summary = "; ".join(f"{p.table} +{p.rows_new} ~{p.rows_changed} -{p.rows_removed}" for p in previews.values())
        cur.execute(
            """INSERT INTO data_versions (version, created_at, created_by, source, description, as_of, kind, file_name,
                   sha256, table_names, mode, rows_new, rows_changed, rows_unchanged, rows_removed, rows_rejected,
                   based_on, audit_seq, audit_hash)
               VALUES (?, ?, ?, ?, ?, ?, 'upload', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [new, datetime.now(), who, f"upload {file_name}", summary, as_of, file_name, sha256, tables, modes,
             total["rows_new"], total["rows_changed"], total["rows_unchanged"], total["rows_removed"], rejected,
             version, *_audit_anchor(db_path)])
        by_table = {c.table: c for c in changes}
        for t in uploadable():
            if t.name in previews:
                p, ch = previews[t.name], by_table[t.name]
                n = cur.execute(f"SELECT count(*) FROM {t.name}").fetchall()[0][0]
                cur.execute("INSERT INTO data_version_tables VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [new, t.name, new, ch.mode, p.rows_new, p.rows_changed, p.rows_unchanged, p.rows_removed,
                             ch.rejected, n])
            else:
                cur.execute("""INSERT INTO data_version_tables (version, table_name, state, rows_total)
                               SELECT ?, table_name, state, rows_total FROM data_version_tables
                               WHERE version = ? AND table_name = ?""", [new, version, t.name])
        _gate(cur, set(previews))
        _finish(cur, new, as_of, set(previews), _reports_since(changes) if INCREMENTAL_MART else None)
        _prune(cur, keep)
        tx.commit()
    _after_commit(db_path, new, retrain)
    return Outcome("committed", new, version, previews)


# ---- rollback and roll-forward ---------------------------------------------------------------------

def restore(cur: duckdb.DuckDBPyConnection, target: int, *, who: str, db_path: str | None = None,
            keep: int | None = None, wait: float | None = None, retrain: bool | None = None) -> Outcome:
    """Make the data what version `target` read, as a new version (rollback or roll-forward)."""
    keep = settings.get("COCKPIT_KEEP_VERSIONS") if keep is None else keep
    with _Transaction(cur, db_path, wait) as tx:
        for stmt in store.UPLOAD_DDL:
            cur.execute(stmt)
        store.add_new_columns(cur)
        version, _ = _current(cur)
        current = _bootstrap(cur, version)
        wanted = heads(cur, target)
        row = cur.execute("SELECT as_of FROM data_versions WHERE version = ?", [target]).fetchall()
        if not row:
            raise UploadError("no_such_version", {"version": target})
        if not wanted:
            raise UploadError("not_restorable", {"version": target})
        stored = _stored(cur)
        for t, s in wanted.items():
            if s != current.get(t) and state_table(t, s) not in stored:
                raise UploadError("pruned", {"version": target, "keep": keep})
        if wanted == current:
            return Outcome("unchanged", None, version)
        for t, s in wanted.items():
            if s != current[t]:
                cur.execute(f"ALTER TABLE {t} RENAME TO {state_table(t, current[t])}")
                cur.execute(f"ALTER TABLE {state_table(t, s)} RENAME TO {contract.table(t).name}")
        effective = cur.execute("SELECT coalesce(restores, version) FROM data_versions WHERE version = ?",
                                [version]).fetchall()[0][0]
        kind = "rollback" if target < effective else "roll_forward"
        as_of = row[0][0]
        new = version + 1
        cur.execute(
            """INSERT INTO data_versions (version, created_at, created_by, source, description, as_of, kind,
                   table_names, based_on, restores, audit_seq, audit_hash)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [new, datetime.now(), who, f"{kind.replace('_', ' ')} to v{target}",
             f"{kind.replace('_', ' ')} to v{target} (from v{version})", as_of, kind,
             ",".join(sorted(t for t in wanted if wanted[t] != current[t])), version, target,
             *_audit_anchor(db_path)])
        cur.execute("""INSERT INTO data_version_tables (version, table_name, state, rows_total)
                       SELECT ?, table_name, state, rows_total FROM data_version_tables WHERE version = ?""",
                    [new, target])
        _finish(cur, new, as_of, {t for t in wanted if wanted[t] != current[t]})
        _prune(cur, keep)
        tx.commit()
    _after_commit(db_path, new, retrain)
    return Outcome("restored", new, version)


# ---- history ------------------------------------------------------------------------------------------

def history(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every data version, newest first, with whether it can be restored now and whether it is current."""
    from analytics.db.queries import QUERIES

    if not store.has_upload_schema(cur):
        frame = cur.sql(QUERIES["ingest_versions_plain"]).pl()
        return frame.with_columns(restorable=pl.lit(False), current=pl.col("version") == pl.col("version").max())
    frame = cur.sql(QUERIES["ingest_versions"]).pl()
    states = cur.sql(QUERIES["ingest_version_tables"]).pl()
    stored = set(cur.sql(QUERIES["ingest_stored_states"]).pl()["table_name"].to_list())
    newest = frame["version"].max()
    now = dict(states.filter(pl.col("version") == newest).select("table_name", "state").iter_rows())
    ok = {}
    for v, part in states.group_by("version"):
        ok[v[0]] = all(s == now.get(t) or state_table(t, s) in stored
                       for t, s in part.select("table_name", "state").iter_rows())
    return frame.with_columns(
        restorable=pl.col("version").replace_strict(ok, default=False, return_dtype=pl.Boolean)
        & (pl.col("version") != newest),
        current=pl.col("version") == newest)
