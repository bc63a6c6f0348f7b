"""Warming: the results people ask for, ready before they ask again after a new data version (issue 18).

**The warming list** is what sessions asked for, by database: (kind, key) → how often and when last, where kind is
"query" (a named query, analytics/db/queries.py) or "block" (a page's data, analytics/pages/__init__.py BLOCKS) and
the key its parameters without the data version. It lives in a state store (`<db>.warming.sqlite`, or PostgreSQL
with COCKPIT_STATE_URL; analytics/db/state.py), so every app process adds to one list and it survives restarts.
Processes count in memory and add their counts every FLUSH_SECONDS, never on a page's run.

**Who warms.** One process (make run): the app itself, in a background thread after each commit and as the process
starts (ui/context.py; server.py), so the first reader after a restart finds the cockpit ready too.
Served (a worker publishes snapshots, analytics/db/snapshots.py): the worker, never an app process. After it
publishes a version it computes the most asked-for results on the published snapshot and writes each beside it
(`<snapshot>.results/<hash>.json`, analytics/codec.py: no pickle). An app process that has not computed a result
for that version itself loads it from there instead of computing it, so the first people after an upload, on every
process, find the cockpit ready.

Not warmed: results that depend on the slip-risk scores (the risk page, the meeting and the item forecast name the
version in their parameters), since the scores of a new version are written after it is published.
"""
from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
import time
from collections import Counter
from datetime import date
from pathlib import Path

from analytics import codec
from analytics.db import state

SCHEMA = """
CREATE TABLE IF NOT EXISTS demand (
    kind TEXT NOT NULL,                  -- query | block
    key TEXT NOT NULL,                   -- its parameters without the data version (analytics/codec.py key_text)
    hits INTEGER NOT NULL,
    last_at REAL NOT NULL,               -- when it was last asked for (unix time)
    PRIMARY KEY (kind, key)
);
"""
TOP = 48  # results warmed per new version: the cockpit, regions and trends states of a busy office
FLUSH_SECONDS = 30.0  # how often a process adds its counts to the shared list
FORGET_DAYS = 14  # a result nobody asked for in this long is no longer warmed
KINDS = ("query", "block")
# blocks whose parameters name the data version or need the risk scores of it: computed when asked
NOT_WARMED = frozenset({"risk", "meeting", "item_forecast"})
# the quality pages: warmed after the worker's national marts, which they read (analytics/quality.py)
QUALITY = frozenset({"duplicates", "authenticity", "credibility"})


def path_for(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".warming.sqlite")


# ---- the list ----------------------------------------------------------------------------------------------------
_PENDING: dict[str, Counter] = {}
_LOCK = threading.Lock()
_FLUSHER: dict[str, threading.Thread] = {}


def note(db_path: str, kind: str, key: tuple) -> None:
    """Count one ask for (kind, key); added to the shared list by a background thread (at most FLUSH_SECONDS late)."""
    with _LOCK:
        _PENDING.setdefault(db_path, Counter())[(kind, key)] += 1
        if db_path not in _FLUSHER:
            _FLUSHER[db_path] = t = threading.Thread(target=_flushing, args=(db_path,), name="cockpit-demand",
                                                     daemon=True)
            t.start()


def _flushing(db_path: str) -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            flush(db_path)
        except Exception:  # noqa: BLE001 (a state store hiccup: the counts are kept for the next try)
            continue


def flush(db_path: str, now: float | None = None) -> int:
    """Add this process's counts to the shared list; returns how many keys it wrote."""
    with _LOCK:
        counts = _PENDING.pop(db_path, Counter())
    if not counts or not Path(db_path).exists():  # a database since removed (a test's): nothing to keep
        return 0
    now = time.time() if now is None else now
    rows = [(kind, codec.key_text(key), n, now) for (kind, key), n in counts.items()]
    try:
        with state.connect(path_for(db_path), SCHEMA, write=True) as con:
            con.executemany("INSERT INTO demand (kind, key, hits, last_at) VALUES (?, ?, ?, ?) "
                            "ON CONFLICT (kind, key) DO UPDATE SET hits = demand.hits + excluded.hits, "
                            "last_at = excluded.last_at", rows)
            con.execute("DELETE FROM demand WHERE last_at < ?", (now - FORGET_DAYS * 86400,))
    except Exception:
        with _LOCK:  # nothing lost: back into the pending counts
            _PENDING.setdefault(db_path, Counter()).update(counts)
        raise
    return len(rows)


def most_asked(db_path: str, n: int = TOP, now: float | None = None) -> list[tuple[str, tuple]]:
    """The `n` most asked-for (kind, key) of the last FORGET_DAYS, most asked first (this process's counts
    included)."""
    flush(db_path)
    now = time.time() if now is None else now
    try:
        with state.connect(path_for(db_path), SCHEMA) as con:
            rows = con.execute("SELECT kind, key FROM demand WHERE last_at >= ? ORDER BY hits DESC, last_at DESC, "
                               "kind, key LIMIT ?", (now - FORGET_DAYS * 86400, n)).fetchall()
    except FileNotFoundError:
        return []
    out = []
    for kind, key in rows:
        try:
            value = codec.key_value(key)
        except (ValueError, TypeError, AttributeError, ImportError):  # a row some other version wrote: skip it
            continue
        if kind in KINDS and isinstance(value, tuple) and warmable(kind, value):
            out.append((kind, value))
    return out


def warmable(kind: str, key: tuple) -> bool:
    return kind == "query" or (bool(key) and key[0] not in NOT_WARMED)


# ---- the keys: one shape for the app's cache, the list and the worker ----------------------------------------
def query_key(name: str, filters, scope, extra: dict) -> tuple:
    return (name, dataclasses.astuple(filters), dataclasses.astuple(scope), tuple(sorted(extra.items())))


def block_key(name: str, filters, scope, thresholds, weights: tuple, extra: dict) -> tuple:
    return (name, dataclasses.astuple(filters), dataclasses.astuple(scope), dataclasses.astuple(thresholds),
            tuple(weights), tuple(sorted(extra.items())))


# ---- computing one result ----------------------------------------------------------------------------------------
def compute(cur, kind: str, key: tuple, as_of: date):
    """The result of (kind, key) on the data `cur` reads; the one definition the app's cache and the worker use."""
    from analytics.db import queries
    from analytics.db.queries import Scope
    from analytics.filters import Filters

    if kind == "query":
        name, filters, scope, extra = key
        return queries.run(cur, name, Filters(*filters), Scope(*scope), as_of, **dict(extra))
    from analytics.metrics import Selection, Thresholds
    from analytics.pages import BLOCKS

    name, filters, scope, thresholds, weights, extra = key
    sel = Selection(Filters(*filters), Scope(*scope), as_of, Thresholds(*thresholds))
    return BLOCKS[name](cur, sel, dict(weights), **dict(extra))


# ---- results beside a published snapshot -------------------------------------------------------------------------
def results_dir(snapshot: str | Path) -> Path:
    return Path(str(snapshot) + ".results")


def _file(snapshot: str | Path, kind: str, key: tuple) -> Path:
    digest = hashlib.sha256(f"{kind}\n{codec.key_text(key)}".encode()).hexdigest()[:32]
    return results_dir(snapshot) / f"{digest}.json"


def save(snapshot: str | Path, kind: str, key: tuple, value) -> Path:
    """Write a result beside its snapshot (whole or not at all: written beside and renamed)."""
    out = _file(snapshot, kind, key)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.{os.getpid()}.part")
    tmp.write_bytes(codec.dumps({"kind": kind, "key": key, "value": value}))
    os.replace(tmp, out)
    return out


_MISSING = object()


def stored(snapshot: str | Path, kind: str, key: tuple) -> bool:
    """Whether the worker wrote a result for (kind, key) beside `snapshot` (`load` still checks it)."""
    return _file(snapshot, kind, key).is_file()


def load(snapshot: str | Path, kind: str, key: tuple):
    """The result the worker computed for (kind, key) on `snapshot`, or `MISSING` when it has none."""
    path = _file(snapshot, kind, key)
    try:
        data = path.read_bytes()
    except OSError:
        return _MISSING
    try:
        stored = codec.loads(data)
    except (ValueError, TypeError, AttributeError, ImportError, KeyError):  # a damaged file: compute instead
        return _MISSING
    if not isinstance(stored, dict) or stored.get("kind") != kind or stored.get("key") != key:  # not this result
        return _MISSING
    return stored["value"]


MISSING = _MISSING


def warm_snapshot(snapshot: str | Path, db_path: str, as_of: date, n: int = TOP, only=None, skip=(),
                  still_current=lambda: True, log=None) -> dict:
    """Compute the `n` most asked-for results of `db_path` on the published `snapshot` (read-only) and save each
    beside it. `only`/`skip`: block names to take or leave (the quality pages wait for their marts);
    `still_current()` false stops early (a newer version came). Returns counts and seconds."""
    from analytics.db import store

    t0 = time.perf_counter()
    done = skipped = failed = 0
    con = store.connect(snapshot, read_only=True)
    try:
        for kind, key in most_asked(db_path, n):
            name = key[0]
            if kind == "block" and ((only is not None and name not in only) or name in skip):
                continue
            if only is not None and kind != "block":
                continue
            if not still_current():
                break
            if _file(snapshot, kind, key).is_file():
                skipped += 1
                continue
            try:
                value = compute(con.cursor(), kind, key, as_of)
                save(snapshot, kind, key, value)
                done += 1
            except Exception as e:  # noqa: BLE001 (the page shows the error when someone opens it)
                failed += 1
                if log:
                    log(f"warming {kind} {name} failed: {type(e).__name__}: {str(e)[:200]}")
    finally:
        con.close()
    return {"warmed": done, "already": skipped, "failed": failed, "seconds": round(time.perf_counter() - t0, 2)}
