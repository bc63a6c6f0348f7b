"""What the two data-quality analyses share: a small cache on the data version, the analysts' marks in a
sidecar SQLite file, and measuring the findings against the demo generator's planted truth.

The duplicate finder and the authenticity checks look at every item the user's scope allows, which takes a
few seconds at scale 1; the result depends only on the data (version), the scope and the as-of date, so it is
kept per (database file, version, scope, as-of) and a filter change only narrows it. A new load or rollback
is a new version and is computed afresh.

Marks ("these are not duplicates") are app state, not data: they live in `<db>.quality.sqlite` (standard
library, parameterised SQL), like the meeting notes, so a read-only DuckDB file can still take them.

The truth sidecar `<db>.truth/` is read only by `truth_*` functions, to report precision and recall; the
findings never depend on it.
"""
from __future__ import annotations

import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from analytics.db import queries, state
from analytics.db.queries import Scope

MAX_CACHED = 6  # analyses kept per process (each a few MB at scale 1)
_CACHE: OrderedDict[tuple, object] = OrderedDict()
_LOCK = threading.Lock()
_KEY_LOCKS: dict[tuple, threading.Lock] = {}


class TooLarge(ValueError):
    """The analysis would take more items than COCKPIT_QUALITY_MAX_ITEMS: choose a smaller region."""

    def __init__(self, n_items: int, limit: int):
        super().__init__(f"{n_items} items in scope, more than COCKPIT_QUALITY_MAX_ITEMS={limit} for one analysis: "
                         "choose a province or city")
        self.n_items, self.limit = n_items, limit


def analysis_scope(cur: duckdb.DuckDBPyConnection, scope: Scope, region_code: str | None, as_of: date) -> Scope:
    """The scope an analysis runs over: the user's whole scope, or, when that holds more than
    COCKPIT_QUALITY_MAX_ITEMS items, the scope narrowed to `region_code` (the filters' region, already within
    the scope). Duplicates are only sought within a city and its counties, so a province's clusters are the
    same either way; authenticity's peer comparisons (the model's share, departments' smoothness) are then
    among that region's items. Raises TooLarge when even the narrowed scope is too large."""
    from analytics import settings
    from analytics.filters import Filters

    limit = settings.get("COCKPIT_QUALITY_MAX_ITEMS")
    n = queries.run(cur, "quality_n_items", Filters(), scope, as_of)["n_items"][0]
    if n <= limit:
        return scope
    if region_code:
        narrowed = Scope(region_codes=(region_code,), domains=scope.domains)
        n = queries.run(cur, "quality_n_items", Filters(), narrowed, as_of)["n_items"][0]
        if n <= limit:
            return narrowed
    raise TooLarge(int(n), limit)


def database_path(cur: duckdb.DuckDBPyConnection) -> str | None:
    """The file behind `cur` (None for an in-memory database)."""
    rows = cur.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return rows[0][0] if rows and rows[0][0] else None


def data_version(cur: duckdb.DuckDBPyConnection) -> int | None:
    return queries.run(cur, "quality_data_version")["version"][0]


def cached(kind: str, cur: duckdb.DuckDBPyConnection, scope: Scope, as_of: date, compute: Callable[[], object]):
    """`compute()` once per (kind, file, data version, scope, as-of); in-memory databases are not cached.
    Concurrent callers for the same key wait for the first instead of computing it twice. A mart the worker built
    for this version and scope (`build_marts`) is read instead of computing."""
    path = database_path(cur)
    if path is None:
        return compute()
    version = data_version(cur)
    key = (kind, str(Path(path).resolve()), version, scope, as_of)
    stored = _mart_dir(path, kind, version, scope, as_of)
    if stored is not None and stored.is_dir():
        inner = compute
        compute = lambda: _load_mart(stored) or inner()  # noqa: E731 (a mart that cannot be read is computed)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with lock:
        with _LOCK:
            if key in _CACHE:
                return _CACHE[key]
        value = compute()
        with _LOCK:
            _CACHE[key] = value
            while len(_CACHE) > MAX_CACHED:
                _CACHE.popitem(last=False)
            _KEY_LOCKS.pop(key, None)
        return value


# ---- marts: the national analyses, built by the worker once per version (issue 18) ------------------------------
# Served with a worker, the whole-country analyses (the slowest first view: 16 s at scale 10) are built by the
# worker once its queue is empty after it publishes a version, and stored beside the snapshots as Parquet, one folder per analysis:
# `<db>.snapshots/marts/<kind>-v<version>-<as_of>/`. App processes read them instead of computing.

def _mart_dir(db_file: str, kind: str, version: int | None, scope: Scope, as_of: date) -> Path | None:
    """Where the mart of this analysis would be: only national, all-domain analyses have one."""
    if version is None or scope.region_codes or scope.domains:
        return None
    folder = Path(db_file).parent if Path(db_file).parent.name.endswith(".snapshots") else Path(db_file + ".snapshots")
    return folder / "marts" / f"{kind}-v{version}-{as_of.isoformat()}"


def _load_mart(folder: Path):
    """The analysis stored in `folder` (its dataclass rebuilt from its frames and numbers), or None."""
    import importlib
    import json

    try:
        meta = json.loads((folder / "meta.json").read_text())
        cls = getattr(importlib.import_module(meta["module"]), meta["class"])
        values = {k: pl.read_parquet(folder / f"{k}.parquet") for k in meta["frames"]} | meta["numbers"]
        return cls(**values)
    except (OSError, ValueError, KeyError, AttributeError, ImportError):
        return None


def save_mart(folder: Path, analysis) -> None:
    """Store an analysis (a dataclass of frames and numbers) in `folder`, whole or not at all."""
    import dataclasses
    import json

    tmp = folder.with_name(folder.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    frames, numbers = [], {}
    for f in dataclasses.fields(analysis):
        value = getattr(analysis, f.name)
        if isinstance(value, pl.DataFrame):
            value.write_parquet(tmp / f"{f.name}.parquet")
            frames.append(f.name)
        else:
            numbers[f.name] = value
    (tmp / "meta.json").write_text(json.dumps({"module": type(analysis).__module__, "class": type(analysis).__name__,
                                               "frames": frames, "numbers": numbers}))
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)


def build_marts(cur: duckdb.DuckDBPyConnection, db_path: str | Path, version: int, as_of: date) -> list[str]:
    """Build the national duplicate and authenticity analyses of `version` as marts (the worker, after publishing);
    returns what was built. Skipped when the country holds more items than one analysis may take."""
    from analytics.pages import authenticity, duplicates

    built = []
    try:
        scope = analysis_scope(cur, Scope(), None, as_of)
    except TooLarge:
        return built
    for kind, module in (("duplicates", duplicates), ("authenticity", authenticity)):
        folder = _mart_dir(str(db_path), kind, version, scope, as_of)
        if folder is None or folder.is_dir():
            continue
        save_mart(folder, module.analyse(cur, scope, as_of))
        built.append(kind)
    marts = Path(str(db_path) + ".snapshots") / "marts"
    for old in sorted(marts.glob("*-v*"), key=lambda p: p.stat().st_mtime)[:-6]:  # the newest three versions' kept
        shutil.rmtree(old, ignore_errors=True)
    return built


def clear_cache() -> None:
    with _LOCK:
        _CACHE.clear()


# ---- analysts' marks: clusters judged "not duplicates"
MARKS_SCHEMA = """
CREATE TABLE IF NOT EXISTS not_duplicates (
    project_a TEXT NOT NULL,        -- the smaller id of the pair
    project_b TEXT NOT NULL,
    cluster_key TEXT NOT NULL,      -- the cluster the analyst looked at
    marked_at TEXT NOT NULL,
    marked_by TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (project_a, project_b)
);
"""
MAX_NOTE = 500


def marks_path(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".quality.sqlite")


def _connect(db_path: str | Path, write: bool = False):
    return state.connect(marks_path(db_path), MARKS_SCHEMA, write)


class OutOfScope(PermissionError):
    """A mark that would touch items outside the account's scope (the page never offers one; this holds the line
    for a tampered request)."""


def _in(ids: Iterable[str], in_scope: Collection[str] | None) -> bool:
    return in_scope is None or all(i in in_scope for i in ids)


def mark_not_duplicates(db_path: str | Path, members: Iterable[str], cluster_key: str, who: str,
                        note: str = "", now: datetime | None = None, *, in_scope: Collection[str] | None) -> int:
    """Remember that the items of a cluster are not duplicates of each other (every pair of them, so the
    mark holds when a new item later joins the cluster); returns the number of pairs stored. `in_scope`: the item
    IDs the account may act on (None: every item, for the national command line); any other member refuses."""
    ids = sorted(set(members))
    if not _in(ids, in_scope):
        raise OutOfScope(f"cluster {cluster_key}: items outside the account's scope")
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:]]
    stamp = (now or datetime.now()).isoformat(timespec="seconds")
    with _connect(db_path, write=True) as con:
        con.executemany("""INSERT INTO not_duplicates (project_a, project_b, cluster_key, marked_at, marked_by, note)
                           VALUES (?, ?, ?, ?, ?, ?)
                           ON CONFLICT (project_a, project_b) DO UPDATE SET cluster_key = excluded.cluster_key,
                               marked_at = excluded.marked_at, marked_by = excluded.marked_by, note = excluded.note""",
                        [(a, b, cluster_key, stamp, who, note[:MAX_NOTE]) for a, b in pairs])
    return len(pairs)


def unmark(db_path: str | Path, cluster_key: str, *, in_scope: Collection[str] | None) -> int:
    """Forget the marks made on one cluster; returns the pairs removed. Refused (OutOfScope) when any of its pairs
    has an item outside `in_scope` (None: every item)."""
    with _connect(db_path, write=True) as con:
        pairs = con.execute("SELECT project_a, project_b FROM not_duplicates WHERE cluster_key = ?",
                            (cluster_key,)).fetchall()
        if not _in((i for p in pairs for i in p), in_scope):
            raise OutOfScope(f"cluster {cluster_key}: items outside the account's scope")
        return con.execute("DELETE FROM not_duplicates WHERE cluster_key = ?", (cluster_key,)).rowcount


def not_duplicate_pairs(db_path: str | Path | None) -> tuple[tuple[str, str], ...]:
    """Every pair marked "not duplicates", (smaller id, larger id), sorted; () when nothing was marked. Pairs outside
    a scope change nothing inside it (the analysis pairs only items of the scope); `duplicates.page` counts only the
    scope's own."""
    if db_path is None or not state.exists(marks_path(db_path)):
        return ()
    with _connect(db_path) as con:
        return tuple(con.execute("SELECT project_a, project_b FROM not_duplicates ORDER BY 1, 2").fetchall())


def marks(db_path: str | Path | None, *, in_scope: Collection[str] | None) -> pl.DataFrame:
    """One row per marked cluster whose items all lie in `in_scope` (None: every cluster): key, pairs, when, who,
    note (newest first). A mark on items of another region is not shown, nor its note."""
    schema = {"cluster_key": pl.Utf8, "n_pairs": pl.Int64, "marked_at": pl.Utf8, "marked_by": pl.Utf8, "note": pl.Utf8}
    if db_path is None or not state.exists(marks_path(db_path)):
        return pl.DataFrame(schema=schema)
    with _connect(db_path) as con:
        rows = con.execute("""SELECT cluster_key, group_concat(project_a || char(31) || project_b, char(30)),
                                     count(*), max(marked_at), max(marked_by), max(note)
                              FROM not_duplicates GROUP BY cluster_key ORDER BY 4 DESC""").fetchall()
    kept = [(key, n, at, by, note) for key, ids, n, at, by, note in rows
            if _in((i for pair in ids.split(chr(30)) for i in pair.split(chr(31))), in_scope)]
    return pl.DataFrame(kept, schema=schema, orient="row")


# ---- the demo's planted truth (evaluation only)
def truth_dir(db_path: str | Path | None) -> Path | None:
    if db_path is None:
        return None
    path = Path(str(db_path) + ".truth")
    return path if path.is_dir() else None


def precision_recall(found: set, true: set) -> dict:
    tp = len(found & true)
    return {"n_found": len(found), "n_true": len(true), "n_correct": tp,
            "precision": tp / len(found) if found else None, "recall": tp / len(true) if true else None}


def truth_duplicates(db_path: str | Path | None, universe: set[str], found_pairs: Iterable[tuple[str, str]]) -> dict | None:
    """Precision and recall of the found pairs against the planted duplicate pairs whose two items are both
    in `universe` (the items the analysis looked at); None without a truth sidecar."""
    folder = truth_dir(db_path)
    if folder is None or not (folder / "duplicates.parquet").exists():
        return None
    planted = pl.read_parquet(folder / "duplicates.parquet")
    true = {tuple(sorted(p)) for p in planted.iter_rows() if p[0] in universe and p[1] in universe}
    return precision_recall({tuple(sorted(p)) for p in found_pairs}, true) | {"unit": "pairs"}


def truth_beautified(db_path: str | Path | None, universe: set[str], flagged: Iterable[str]) -> dict | None:
    """Precision and recall of the flagged items against the planted beautified items in `universe`."""
    folder = truth_dir(db_path)
    if folder is None or not (folder / "beautified.parquet").exists():
        return None
    true = set(pl.read_parquet(folder / "beautified.parquet")["project_id"]) & universe
    return precision_recall(set(flagged) & universe, true) | {"unit": "items"}
