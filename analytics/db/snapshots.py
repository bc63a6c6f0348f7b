"""Published snapshots of the database (issue 18): one writer, many readers.

DuckDB lets many processes read a file, never alongside a process writing it. So in a served deployment the worker
(analytics/worker.py) alone opens the database file `<db>` for writing, and after every commit it *publishes* the
new state as an immutable copy, `<db>.snapshots/v<version>-<stamp>.duckdb`, then points `<db>.snapshots/CURRENT`
at it (written beside and renamed over, so a reader sees the old pointer or the new one, never half of one). App
processes open the snapshot CURRENT names, read-only, and switch to a newer one between runs (ui/context.py), so
no page mixes two versions. Older snapshots are deleted once two newer ones exist: a reader still using one keeps
reading it (the file's data stays until its last handle closes, on POSIX systems). Beside each snapshot the worker
writes the results readers asked for most, `<snapshot>.results/` (analytics/warming.py), deleted with it.

The database path (`<db>`) still names everything beside it (models, accounts, notifications): only the file
DuckDB opens changes.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

KEEP = 3  # snapshots kept: the newest, and two a slow reader may still be reading


def folder(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".snapshots")


def pointer(db_path: str | Path) -> Path:
    return folder(db_path) / "CURRENT"


@dataclass(frozen=True)
class Snapshot:
    path: Path
    version: int
    published_at: float


def current(db_path: str | Path) -> Snapshot | None:
    """The snapshot readers should open now, or None when none was ever published (the single-process mode)."""
    try:
        data = json.loads(pointer(db_path).read_text())
    except (OSError, ValueError):
        return None
    path = folder(db_path) / data["file"]
    return Snapshot(path, int(data["version"]), float(data["published_at"])) if path.is_file() else None


def published(db_path: str | Path) -> bool:
    """Whether readers of `db_path` are to read snapshots (a worker publishes them)."""
    return pointer(db_path).is_file()


def publish(con: duckdb.DuckDBPyConnection, db_path: str | Path, version: int,
            before_pointing: Callable[[Path], None] | None = None) -> Snapshot:
    """Copy the committed state of the database (`con` is its writer; nothing else writes during the copy) to a new
    snapshot and point readers at it; delete the snapshots beyond the newest KEEP. `before_pointing(path)` runs
    between the copy and the pointer (the worker warms the new snapshot there, so readers switch to a warm one)."""
    # the file alone then holds every committed change. FORCE: a plain CHECKPOINT fails while any other cursor of the
    # writer has a transaction open that changed a table or the catalog ("Cannot CHECKPOINT: there are other write
    # transactions active"), which failed a steward's commit in the load test (2 processes × 60 sessions); since
    # DuckDB 1.4 FORCE waits for that transaction to end (its work kept) and holds new ones back meanwhile
    con.execute("FORCE CHECKPOINT")
    out = folder(db_path)
    out.mkdir(parents=True, exist_ok=True)
    name = f"v{version}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{os.getpid()}.duckdb"
    tmp = out / (name + ".part")
    shutil.copyfile(db_path, tmp)
    os.replace(tmp, out / name)
    if before_pointing is not None:
        before_pointing(out / name)
    now = time.time()
    ptr_tmp = out / "CURRENT.part"
    ptr_tmp.write_text(json.dumps({"file": name, "version": version, "published_at": now}))
    os.replace(ptr_tmp, pointer(db_path))
    prune(db_path)
    return Snapshot(out / name, version, now)


def prune(db_path: str | Path, keep: int = KEEP) -> list[Path]:
    """Delete all but the newest `keep` snapshots (never the current one) and leftovers of an interrupted copy."""
    out = folder(db_path)
    if not out.is_dir():
        return []
    now = current(db_path)
    snaps = sorted(out.glob("v*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    gone = [p for p in snaps[keep:] if now is None or p != now.path]
    gone += [p for p in out.glob("*.part") if p.stat().st_mtime < time.time() - 3600]
    for p in gone:
        p.unlink(missing_ok=True)
        Path(str(p) + ".wal").unlink(missing_ok=True)
    # the results the worker warmed beside each snapshot (analytics/warming.py) go with it
    for results in out.glob("v*.duckdb.results"):
        if not Path(str(results).removesuffix(".results")).is_file():
            shutil.rmtree(results, ignore_errors=True)
    return gone
