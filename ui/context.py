"""Per-run page context: language, filters, scope, data version, and cached access to queries."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import polars as pl
import streamlit as st

from analytics import auth, i18n, metrics, settings, warming
from analytics.db import queries
from analytics.filters import Filters
from analytics.metrics import Selection, Thresholds
from analytics.db.queries import Scope
from analytics.db.store import Database

if TYPE_CHECKING:
    from analytics.region_tree import RegionTree

@dataclass(frozen=True)
class Context:
    lang: str
    filters: Filters
    scope: Scope
    version: int
    as_of: date
    db_path: str
    thresholds: Thresholds = Thresholds()
    weights: tuple[tuple[str, float], ...] = tuple(metrics.DEFAULT_WEIGHTS.items())
    user: auth.User = auth.DEMO  # who is signed in (demo mode: nobody, and anyone sees everything)

    def t(self, key: str, **values) -> str:
        return i18n.t(key, self.lang, **values)

    def query(self, name: str, **extra) -> pl.DataFrame:
        """The named query for this context, cached on the data version (so a new load shows at once)."""
        key = warming.query_key(name, self.filters, self.scope, extra)
        _note_demand(self.db_path, "query", key)
        return _cached_query(self.db_path, self.version, name, key[1], key[2], self.as_of, key[3])


    def may(self, permission: str) -> bool:
        """Whether the signed-in user's role holds `permission` (analytics/auth/roles.py)."""
        return self.user.may(permission)

    def selection(self) -> Selection:
        return Selection(self.filters, self.scope, self.as_of, self.thresholds)

    def block(self, name: str, **extra):
        """A named block (`analytics.pages.BLOCKS`) for this context, cached on the data version and every input;
        `extra` are the page's own hashable parameters (a metric key, a grain, a tuple of regions)."""
        key = warming.block_key(name, self.filters, self.scope, self.thresholds, self.weights, extra)
        _note_demand(self.db_path, "block", key)
        return _cached_block(self.db_path, self.version, name, key[1], key[2], self.as_of, *key[3:])


# Which file a run reads. One process (make run): the database file itself. Served with a worker (issue 18;
# analytics/db/snapshots.py): the snapshot the worker published last, read-only; each run pins the snapshot it
# started on (`pin`), so a publish in the middle of a run never mixes two versions on one page.
_PINNED = threading.local()


def reading_snapshots(path: str) -> bool:
    """Whether this process reads a worker's published snapshots of `path` (and hands commits to the worker)."""
    from analytics.db import snapshots

    return settings.get("COCKPIT_SNAPSHOTS").strip() != "0" and snapshots.published(path)


def pin(path: str) -> None:
    """Called at the start of every run: the snapshot this run reads (none in the one-process mode)."""
    from analytics.db import snapshots

    _PINNED.dbs = {}
    if reading_snapshots(path) and (snap := snapshots.current(path)) is not None:
        _PINNED.dbs[path] = _snapshot_database(str(snap.path))


def database(path: str) -> Database:
    """The database a query of `path` goes to: the snapshot this run pinned, the newest snapshot, or the file."""
    pinned = getattr(_PINNED, "dbs", {}).get(path)
    if pinned is not None:
        return pinned
    if reading_snapshots(path):
        from analytics.db import snapshots

        if (snap := snapshots.current(path)) is not None:
            return _snapshot_database(str(snap.path))
    return _own_database(path)


@st.cache_resource(max_entries=3, show_spinner=False)
def _snapshot_database(file: str) -> Database:
    """One read-only connection per published snapshot, shared by the sessions reading it; the oldest is dropped
    (and closed once no run uses it) as newer ones come."""
    db = Database(file, read_only=True)
    db.read_only_reason = "snapshots"
    return db


@st.cache_resource(show_spinner=False)
def _own_database(path: str) -> Database:
    """One DuckDB connection per file for all sessions; each thread queries through its own cursor.
    Read-write (uploads commit through it) unless COCKPIT_DB_WRITABLE=0; read-only when another process
    holds the file (the upload page then says why). A writable one warms its caches after every commit or
    rollback (the commit itself starts the retraining the new version needs: analytics/db/versions.py)."""
    db = Database(path, read_only=not settings.get("COCKPIT_DB_WRITABLE"))
    from analytics.db import mappings, versions as _versions

    _versions.reconcile_audit(db.cursor(), path)  # a commit whose process died before its audit entry
    if db.writable:
        from analytics.db import versions

        mappings.migrate(path, db.cursor())  # mappings an earlier version kept in the file
        versions.ON_NEW_VERSION.append(lambda db_path, version: _after_commit(path, db, db_path))
        _notify_after_commit(path, db)  # a version committed while the app was stopped
    return db


def _after_commit(path: str, db: Database, db_path: str) -> None:
    """The app's one listener per database: after a commit to it (not to another file), warm the caches for the new
    version, then judge the notification rules on it."""
    if warm_after_commit(path, db_path):
        _notify_after_commit(path, db)


def _notify_after_commit(path: str, db: Database) -> None:
    """Judge the notification rules on the newest version (analytics/notify): while the app holds the file for
    writing, the scheduler process cannot open it. Only with sign-in on: nobody receives notices in demo mode."""
    from analytics.auth import accounts
    from analytics.auth import store as auth_store
    from analytics.notify import scheduler

    if accounts.count(auth_store.path_for(path)):
        scheduler.evaluate_in_background(path, db.cursor)


# --- warming the caches after a commit ------------------------------------------------------------------
# What sessions ask for goes to the warming list (analytics/warming.py: one list in the state store for every
# process). In one process (make run), after a commit or rollback the most asked-for results are computed again for
# the new version in one background thread, most asked first, so that people opening the cockpit after the steward's
# upload (the Monday meeting) find them ready. A session asking for a result the warmer is computing waits for it
# (Streamlit computes a key once), never computes it twice. Served, the worker warms (analytics/worker.py) and the
# app processes load what it wrote beside the snapshot (`_stored`).
WARM_TOP = warming.TOP


def _note_demand(db_path: str, kind: str, key: tuple) -> None:
    warming.note(db_path, kind, key)


def most_asked(db_path: str, n: int = WARM_TOP) -> list[tuple[str, tuple]]:
    return warming.most_asked(db_path, n)


def warm(db_path: str, n: int = WARM_TOP) -> int:
    """Compute the `n` most asked-for results of `db_path` for its newest data version; return how many were
    computed (those already cached cost nothing). Reading a worker's snapshots, only load those the worker stored
    beside it: warming runs in the worker, never in a reader. Errors are left to the page that asks again."""
    newest = data_version(db_path)
    if newest is None:
        return 0
    version, as_of = newest
    # served, the worker computes (analytics/worker.py): a reader only loads what it stored beside the snapshot
    snapshot = database(db_path).path if reading_snapshots(db_path) else None
    done = 0
    for kind, key in most_asked(db_path, n):
        if data_version(db_path) != newest:
            return done  # another commit came: its own warming takes over
        if snapshot is not None and not (warming.warmable(kind, key) and warming.stored(snapshot, kind, key)):
            continue
        try:
            if kind == "query":
                name, filters, scope, extra = key
                _cached_query(db_path, version, name, filters, scope, as_of, extra)
            else:
                name, filters, scope, thresholds, weights, extra = key
                _cached_block(db_path, version, name, filters, scope, as_of, thresholds, weights, extra)
            done += 1
        except Exception:  # noqa: BLE001 (the page shows the error when someone opens it)
            continue
    return done


def warm_at_start(db_path: str) -> threading.Thread | None:
    """Warm `db_path`'s most asked-for results (the warming list outlives restarts) in the background as the process
    starts (server.py), so the first reader after a restart does not compute them: measured, the first visit of /
    after a start took 5.1 s against 2.1 s for the next reader, 1.1 s of its run computing the cockpit's block. A
    session asking meanwhile waits for the key being computed, never computes it twice. Nothing to do for a database
    not created yet (the demo, made on the first visit)."""
    from pathlib import Path

    if not db_path or not Path(db_path).is_file():
        return None
    return _warm_in_background(db_path, "cockpit-warm-start")


def _warm_in_background(db_path: str, name: str) -> threading.Thread:
    thread = threading.Thread(target=warm, args=(db_path,), name=name, daemon=True)
    thread.start()
    return thread


def warm_after_commit(own_path: str, committed_path: str) -> bool:
    """Start warming `own_path`'s caches in the background after a commit to it (see `warm`)."""
    from pathlib import Path

    if not committed_path or Path(committed_path).resolve() != Path(own_path).resolve():
        return False
    _warm_in_background(own_path, "cockpit-warm")
    return True



# Query and block results are shared by every session (st.cache_resource): one object per key, handed out
# as is. st.cache_data would unpickle a private copy for every run of every session (8% of the server's
# time in the 30-session load test). So a page must never modify what `query` or `block` returns: polars
# frames are immutable in use, and pages derive new frames and lists rather than editing these.
@st.cache_resource(ttl=settings.get("COCKPIT_CACHE_TTL_SECONDS"), max_entries=512, show_spinner=False)
def _cached_query(db_path: str, version: int, name: str, filters: tuple, scope: tuple, as_of: date,
                  extra: tuple) -> pl.DataFrame:
    return _stored_or_computed(db_path, "query", (name, filters, scope, extra), as_of)


@st.cache_resource(ttl=settings.get("COCKPIT_CACHE_TTL_SECONDS"), max_entries=256, show_spinner=False)
def _cached_block(db_path: str, version: int, name: str, filters: tuple, scope: tuple, as_of: date,
                  thresholds: tuple, weights: tuple, extra: tuple = ()):
    return _stored_or_computed(db_path, "block", (name, filters, scope, thresholds, weights, extra), as_of)


def _stored_or_computed(db_path: str, kind: str, key: tuple, as_of: date):
    """What the worker stored for this snapshot (served mode, analytics/warming.py), else computed here."""
    db = database(db_path)
    if db.read_only_reason == "snapshots" and warming.warmable(kind, key):
        stored = warming.load(db.path, kind, key)
        if stored is not warming.MISSING:
            return stored
    return warming.compute(db.cursor(), kind, key, as_of)


def data_version(db_path: str) -> tuple[int, date] | None:
    """(version, as of) of the newest data, or None when the database holds none. Asked on every run, so it is
    cached on the file's state: any commit (by this app or another process) changes the database file or its
    write-ahead log, and the next run sees the new version at once."""
    return _data_version(db_path, _file_stamp(db_path))


def _file_stamp(db_path: str) -> tuple:
    import os

    pinned = getattr(_PINNED, "dbs", {}).get(db_path)
    if pinned is not None:  # a published snapshot never changes: its name is its state
        return ("snapshot", str(pinned.path))
    if reading_snapshots(db_path):
        from analytics.db import snapshots

        snap = snapshots.current(db_path)
        return ("snapshot", str(snap.path) if snap else None)
    stamp = []
    for path in (db_path, db_path + ".wal"):
        try:
            st_ = os.stat(path)
            stamp.append((st_.st_mtime_ns, st_.st_size))
        except OSError:
            stamp.append(None)
    return tuple(stamp)


@st.cache_resource(max_entries=8, show_spinner=False)
def _data_version(db_path: str, stamp: tuple) -> tuple[int, date] | None:
    rows = queries.run(database(db_path).cursor(), "data_version")
    return None if rows.is_empty() else (rows["version"][0], rows["as_of"][0])


@st.cache_resource(max_entries=64, show_spinner=False)
def region_tree(db_path: str, version: int, as_of: date, scope: tuple) -> "RegionTree":
    """The region cascade a user with `scope` may use (with the scope's ancestors), shared by sessions."""
    from analytics.region_tree import RegionTree

    ctx = Context("zh", Filters(), Scope(*scope), version, as_of, db_path)
    return RegionTree(ctx.query("auth_region_tree") if ctx.scope.region_codes else ctx.query("region_options"))


@st.cache_resource(max_entries=8, show_spinner=False)
def home_region(db_path: str, version: int) -> str | None:
    """The home region the database was created for (`python -m analytics init`); None: national (the demo)."""
    from analytics.db import store

    return store.home_region(database(db_path).cursor())


@st.cache_resource(max_entries=8, show_spinner=False)
def table_rows(db_path: str, version: int) -> dict[str, int]:
    """Rows of each uploadable table in the database at this version (store.table_rows)."""
    from analytics.db import store

    return store.table_rows(database(db_path).cursor())


def current() -> Context:
    """The context app.py built for this run."""
    return st.session_state["_context"]


@st.cache_resource(show_spinner=False, max_entries=4)
def risk_model(db_path: str, version: int, stamp: str = ""):
    """The slip-risk model that scored this data version, as its scores' sidecar names it (the one trained on it, or
    right after a commit the earlier one that scored it at once: `risk.jobs.score_with_latest`), else the newest
    trained on it (None when there is none); shared by sessions. `stamp` (when its scores were written) keys the
    cache, so a model trained since is picked up at once."""
    from analytics.risk import persist, scores

    meta = scores.load_meta(db_path, version)
    if meta and meta.get("model_file"):
        return persist.load_file(db_path, meta["model_file"])
    return persist.load_latest(db_path, version)


@st.cache_data(ttl=settings.get("COCKPIT_CACHE_TTL_SECONDS"), max_entries=256, show_spinner=False)
def item_risk(db_path: str, version: int, project_id: str, as_of: date, stamp: str = "") -> dict | None:
    """One item's risk now, over the last year and under what-ifs; the caller has checked the item is in scope."""
    from analytics.risk import item as risk_item

    model = risk_model(db_path, version, stamp)
    if model is None:
        return None
    cur = database(db_path).cursor()
    now = risk_item.current(cur, model, project_id, as_of)
    if now is None:
        return {"model": _model_info(model), "current": None}
    return {"model": _model_info(model), "current": now,
            "history": risk_item.history(cur, model, project_id, as_of),
            "what_if": risk_item.what_if(model, now["features"])}


def _model_info(model) -> dict:
    return {"data_version": model.data_version, "trained_to": model.train_to, "horizon_days": model.horizon_days,
            "tolerance_days": model.tolerance_days, "saved_at": model.extra.get("saved_at")}
