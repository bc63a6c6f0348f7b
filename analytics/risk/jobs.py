"""Training a slip-risk model in the background, one run at a time per database, with progress.

`publish` trains (with the evaluation for the model card), saves the model with skops and scores every
item in flight: what `python -m analytics risk train` and the risk page's button both run. `start`
runs it in a daemon thread and returns a `Job` whose `share` and `stage` the page polls; a second
`start` for the same database while one runs returns the running job instead. An exclusive lock file
in the models folder also keeps a CLI run and the app from training the same database at once.
"""
from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from analytics import ops, settings
from analytics.db import store
from analytics.risk import forecast as FC
from analytics.risk import model as M
from analytics.risk import persist, scores

STAGES = ("features", "evaluate", "fit", "forecast", "score", "done")


class Busy(RuntimeError):
    """Another training of this database is running."""


def _lock(db_path) -> object:
    folder = persist.models_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / "train.lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise Busy(f"{db_path}: another slip-risk training is running") from None
    return handle


def publish(con: duckdb.DuckDBPyConnection, db_path, progress: Callable[[float, str], None] | None = None,
            forecast: bool | None = None, **train_args) -> dict:
    """Train, save and score under the database's training lock; returns the scores' sidecar
    (model file, evaluation, timings). With `forecast` (default: the COCKPIT_FORECAST setting), also learn the
    finish-date forecasts (risk/forecast.py)
    and save them with the scores; a history too thin for them leaves them out, never the scores.
    Raises Busy when another training holds the lock."""
    say = progress or (lambda share, stage: None)
    if forecast is None:
        forecast = bool(settings.get("COCKPIT_FORECAST"))
    handle = _lock(db_path)
    try:
        started = time.perf_counter()
        with M.limited_threads():
            model = M.train(con, progress=lambda share, stage: say(0.5 * share, stage), **train_args)
            path = persist.save(model, db_path)
            t0 = time.perf_counter()
            fc = None
            if forecast and train_args.get("as_of") is None:  # forecasts are of today's items only
                say(0.5, "forecast")
                try:
                    fc = FC.train_with_card(con, lambda share, stage: say(0.5 + 0.4 * share, stage))
                    fc.extra["train_seconds"] = round(time.perf_counter() - t0, 1)
                except ValueError:  # e.g. no item has finished yet: the scores come without forecasts
                    fc = None
            say(0.9, "score")
            fc_path = persist.save_forecast(fc, db_path, model.data_version) if fc is not None else None
            scores.refresh(con, db_path, model, model_path=path, forecast=fc, forecast_path=fc_path,
                           timings={"train_seconds": round(t0 - started, 1)})
        say(1.0, "done")
        return scores.load_meta(db_path, model.data_version)
    finally:
        handle.close()


_SCORING = threading.Lock()
_SCORER: list[int] = []  # the native id of the thread in score_with_latest now, if any


def lower_scoring() -> int | None:
    """Lower the priority of the thread scoring a new version now (`ops.lower_thread`), if one is: the worker waited
    for the scores before publishing and, past its budget, publishes without them; from then on they are background
    work, and the readers' first runs on the new version come first. Returns the thread's new nice value, or None."""
    return ops.lower_thread(_SCORER[0]) if _SCORER else None


def score_with_latest(con: duckdb.DuckDBPyConnection, db_path) -> dict | None:
    """Score the newest data version with the newest sound model of an earlier one, when the newest has no scores
    yet: seconds, where a training takes minutes. A commit's new version so has its risk scores (and finish-date
    forecasts, when that model has them) before the worker points readers at it, and in one process before the
    retraining it starts; the retraining's scores replace these when it finishes (never the other way round:
    `scores.refresh(replace=False)`). Returns the new sidecar, or None (nothing to do, or no earlier sound model).
    One at a time per process: a second caller waits, then finds the scores there."""
    with _SCORING:
        _SCORER[:] = [threading.get_native_id()]
        try:
            return _score_with_latest(con, db_path)
        finally:
            _SCORER.clear()


def _score_with_latest(con: duckdb.DuckDBPyConnection, db_path) -> dict | None:
    newest = store.current_version(con)
    if newest is None or scores.path_for(db_path, newest[0]).exists():
        return None
    version, as_of = newest
    for earlier in range(version - 1, 0, -1):
        meta = scores.load_meta(db_path, earlier)
        if meta is None or not meta.get("model_file") or scores.refusal(db_path, earlier):
            continue
        try:
            model = persist.load_file(db_path, meta["model_file"])
            fc = persist.load_forecast(db_path, meta["forecast_file"]) if meta.get("forecast_file") else None
        except persist.ModelFileError:
            continue
        with M.limited_threads():
            out = scores.refresh(con, db_path, model, model_path=meta["model_file"], forecast=fc,
                                 forecast_path=meta.get("forecast_file"), version=version, as_of=as_of,
                                 replace=False, timings={"train_seconds": meta.get("train_seconds"),
                                                         "trained_at": meta.get("trained_at")})
        return scores.load_meta(db_path, version) if out is not None else None
    return None


@dataclass
class Job:
    db_path: str
    started_at: datetime = field(default_factory=datetime.now)
    share: float = 0.0
    stage: str = "features"
    done: bool = False
    error: str | None = None
    meta: dict | None = None
    seconds: float | None = None
    finished_at: datetime | None = None

    def _progress(self, share: float, stage: str) -> None:
        self.share, self.stage = max(self.share, min(share, 1.0)), stage


_JOBS: dict[str, Job] = {}
_GUARD = threading.Lock()


def _key(db_path) -> str:
    return str(Path(db_path).resolve())


def current(db_path) -> Job | None:
    """The running or last finished job of this database in this process (None when there was none)."""
    return _JOBS.get(_key(db_path))


def start(db_path, connect: Callable[[], duckdb.DuckDBPyConnection], **train_args) -> tuple[Job, bool]:
    """Start training in a background thread unless one is already running for this database.
    `connect()` gives the thread its own cursor. Returns (the job, whether this call started it)."""
    with _GUARD:
        job = _JOBS.get(_key(db_path))
        if job is not None and not job.done:
            return job, False
        job = Job(str(db_path))
        _JOBS[_key(db_path)] = job

    def run() -> None:
        t0 = time.perf_counter()
        try:
            con = connect()
            if train_args.get("as_of") is None:  # the new version's scores at once, with the model before: at the
                job._progress(0.0, "score")      # priority of the commit, which the worker's publishing waits on
                score_with_latest(con, db_path)
            ops.lower_this_thread()  # readers' page runs come first: the training is background work
            job.meta = publish(con, db_path, job._progress, **train_args)
        except Exception as exc:  # reported on the page, never lost in the thread
            job.error = str(exc) or type(exc).__name__
        finally:
            job.seconds = time.perf_counter() - t0
            job.finished_at = datetime.now()
            job.done = True

    threading.Thread(target=run, name="risk-train", daemon=True).start()
    return job, True
