"""The job queue between the app processes and the one writer (issue 18): commits of uploads, restores of earlier
versions and retrainings, each a row in `<db>.jobs.sqlite` (a state store, analytics/db/state.py) with its files in
`<db>.jobs/<id>/`, run one at a time, in order, by the worker (analytics/worker.py).

A job is `queued` → `running` (claimed by one worker, with its progress) → `done` (its result) or `failed` (the
reason, in words a steward can act on); a failed job can be queued again (`retry`). The worker writes a heartbeat,
so a page can say whether anyone will run what it queues.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from analytics import settings
from analytics.db import state

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,                  -- commit | restore | retrain
    state TEXT NOT NULL,                 -- queued | running | done | failed
    submitted_at REAL NOT NULL,
    submitted_by TEXT NOT NULL,
    role TEXT NOT NULL,
    source TEXT NOT NULL,                -- the client address, or "cli"
    title TEXT NOT NULL,                 -- what it is, for a list: the file's name, "restore v3", "retrain"
    payload TEXT NOT NULL,               -- JSON: the job's parameters (its frames are files in <db>.jobs/<id>/)
    attempts INTEGER NOT NULL DEFAULT 0,
    worker TEXT,                         -- pid@host of the worker running or last running it
    started_at REAL,
    finished_at REAL,
    progress TEXT NOT NULL DEFAULT '',
    result TEXT,                         -- JSON: status, version, based_on … when done
    error TEXT                           -- why it failed
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, id);
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY,                 -- pid@host
    started_at REAL NOT NULL,
    heartbeat REAL NOT NULL,
    version INTEGER,                     -- the data version it last published
    job_id INTEGER                       -- the job it runs now
);
"""
KINDS = ("commit", "restore", "retrain")
STATES = ("queued", "running", "done", "failed")
HEARTBEAT_SECONDS = 2.0  # how often a worker says it is alive; silent for 5 of them: down


def path_for(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".jobs.sqlite")


def files_for(db_path: str | Path, job_id: int) -> Path:
    return Path(str(db_path) + ".jobs") / str(job_id)


def _connect(db_path, write: bool = False):
    return state.connect_or_create(path_for(db_path), SCHEMA, write)


@dataclass(frozen=True)
class Job:
    id: int
    kind: str
    state: str
    submitted_at: float
    submitted_by: str
    role: str
    source: str
    title: str
    payload: dict
    attempts: int
    worker: str | None
    started_at: float | None
    finished_at: float | None
    progress: str
    result: dict | None
    error: str | None


_COLUMNS = ("id, kind, state, submitted_at, submitted_by, role, source, title, payload, attempts, worker, started_at, "
            "finished_at, progress, result, error")


def _job(row) -> Job:
    values = list(row)
    values[8] = json.loads(values[8])
    values[14] = json.loads(values[14]) if values[14] else None
    return Job(*values)


def submit(db_path: str | Path, kind: str, payload: dict, *, who: str, role: str, source: str, title: str,
           frames: list[pl.DataFrame] = ()) -> int:
    """Queue a job; `frames` are written to its folder as change-<i>.parquet before it can be claimed."""
    if kind not in KINDS:
        raise ValueError(f"job kind {kind!r}: expected one of {', '.join(KINDS)}")
    with _connect(db_path, write=True) as con:
        # inserted as 'staging' so no worker claims it before its files are written
        job_id = con.execute("INSERT INTO jobs (kind, state, submitted_at, submitted_by, role, source, title, payload) "
                             "VALUES (?, 'staging', ?, ?, ?, ?, ?, ?)",
                             (kind, time.time(), who, role, source, title[:200], json.dumps(payload, default=str))
                             ).lastrowid
    try:
        folder = files_for(db_path, job_id)
        folder.mkdir(parents=True, exist_ok=True)
        for i, frame in enumerate(frames):
            frame.write_parquet(folder / f"change-{i}.parquet")
    except Exception as e:
        with _connect(db_path, write=True) as con:
            con.execute("UPDATE jobs SET state = 'failed', error = ?, finished_at = ? WHERE id = ?",
                        (f"could not store the job's files: {e}", time.time(), job_id))
        raise
    with _connect(db_path, write=True) as con:
        con.execute("UPDATE jobs SET state = 'queued' WHERE id = ?", (job_id,))
    return job_id


def frames(db_path: str | Path, job: Job) -> list[pl.DataFrame]:
    folder = files_for(db_path, job.id)
    return [pl.read_parquet(folder / f"change-{i}.parquet") for i in range(len(job.payload.get("changes", ())))]


def get(db_path: str | Path, job_id: int) -> Job | None:
    with _connect(db_path) as con:
        row = con.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (job_id,)).fetchone()
    return _job(row) if row else None


def listing(db_path: str | Path, limit: int = 50) -> list[Job]:
    with _connect(db_path) as con:
        rows = con.execute(f"SELECT {_COLUMNS} FROM jobs WHERE state != 'staging' ORDER BY id DESC LIMIT ?",
                           (limit,)).fetchall()
    return [_job(r) for r in rows]


def ahead_of(db_path: str | Path, job_id: int) -> int:
    """How many jobs the worker runs before this one."""
    with _connect(db_path) as con:
        return con.execute("SELECT count(*) FROM jobs WHERE (state = 'queued' AND id < ?) OR state = 'running'",
                           (job_id,)).fetchone()[0]


def counts(db_path: str | Path) -> dict[str, int]:
    with _connect(db_path) as con:
        return dict(con.execute("SELECT state, count(*) FROM jobs WHERE state != 'staging' GROUP BY state").fetchall())


def worker_id() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


def claim(db_path: str | Path, worker: str) -> Job | None:
    """The oldest queued job, now running under `worker` (one transaction: two workers never claim the same)."""
    with _connect(db_path, write=True) as con:
        row = con.execute("SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1").fetchone()
        if row is None:
            return None
        con.execute("UPDATE jobs SET state = 'running', worker = ?, started_at = ?, attempts = attempts + 1, "
                    "progress = '' WHERE id = ?", (worker, time.time(), row[0]))
        con.execute("UPDATE workers SET job_id = ? WHERE id = ?", (row[0], worker))
    return get(db_path, row[0])


def progress(db_path: str | Path, job_id: int, text: str) -> None:
    with _connect(db_path, write=True) as con:
        con.execute("UPDATE jobs SET progress = ? WHERE id = ?", (text[:500], job_id))


def finish(db_path: str | Path, job_id: int, *, result: dict | None = None, error: str | None = None) -> None:
    """Done with `result`, or failed with `error`; the job's files are removed when it is done."""
    with _connect(db_path, write=True) as con:
        con.execute("UPDATE jobs SET state = ?, finished_at = ?, result = ?, error = ? WHERE id = ?",
                    ("failed" if error else "done", time.time(), json.dumps(result, default=str) if result else None,
                     error, job_id))
        con.execute("UPDATE workers SET job_id = NULL WHERE job_id = ?", (job_id,))
    if not error:
        shutil.rmtree(files_for(db_path, job_id), ignore_errors=True)


def retry(db_path: str | Path, job_id: int) -> bool:
    """Queue a failed job again (its files are kept until it is done)."""
    with _connect(db_path, write=True) as con:
        return con.execute("UPDATE jobs SET state = 'queued', error = NULL, progress = '' WHERE id = ? AND "
                           "state = 'failed'", (job_id,)).rowcount == 1


def running_orphans(db_path: str | Path, alive: set[str]) -> list[Job]:
    """Jobs left `running` by workers that are no longer alive (killed mid-job)."""
    with _connect(db_path) as con:
        rows = con.execute(f"SELECT {_COLUMNS} FROM jobs WHERE state = 'running'").fetchall()
    return [j for j in map(_job, rows) if j.worker not in alive]


def heartbeat(db_path: str | Path, worker: str, version: int | None = None, started_at: float | None = None) -> None:
    now = time.time()
    with _connect(db_path, write=True) as con:
        con.execute("INSERT INTO workers (id, started_at, heartbeat, version) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO "
                    "UPDATE SET heartbeat = excluded.heartbeat, version = coalesce(excluded.version, workers.version)",
                    (worker, started_at or now, now, version))


def stop_worker(db_path: str | Path, worker: str) -> None:
    with _connect(db_path, write=True) as con:
        con.execute("DELETE FROM workers WHERE id = ?", (worker,))


def alive_workers(db_path: str | Path, now: float | None = None) -> list[dict]:
    """Workers that sent a heartbeat within five beats: id, since, last beat, the version they published."""
    now = time.time() if now is None else now
    with _connect(db_path) as con:
        rows = con.execute("SELECT id, started_at, heartbeat, version, job_id FROM workers WHERE heartbeat >= ?",
                           (now - 5 * HEARTBEAT_SECONDS,)).fetchall()
    return [dict(zip(("id", "started_at", "heartbeat", "version", "job_id"), r)) for r in rows]


def commit_payload(changes, *, file_name: str, sha256: str, as_of: date | None, based_on: int, modes: list[str],
                   audit: dict, retrain: bool | None = None) -> tuple[dict, list[pl.DataFrame]]:
    """A commit job's parameters and frames from the upload page's changes (versions.Change)."""
    return ({"changes": [{"table": c.table, "mode": c.mode, "supplied": list(c.supplied), "rejected": c.rejected}
                         for c in changes],
             "file_name": file_name, "sha256": sha256, "as_of": as_of.isoformat() if as_of else None,
             "based_on": based_on, "modes": modes, "audit": audit, "keep": settings.get("COCKPIT_KEEP_VERSIONS"),
             "retrain": retrain},
            [c.frame for c in changes])
