"""Features and slip labels of items in flight at as-of dates (SQL in `queries/risk_sql.py`)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import duckdb
import polars as pl

from ..queries.risk_sql import RISK_DATA_AS_OF, RISK_FEATURES, RISK_LABELS, RISK_REPORT_DATES

HORIZON_DAYS = 90
TOLERANCE_DAYS = 30
REVISION_DAYS = 7  # a forecast end date moving by more than this many days counts as a revision

CATEGORICAL = ("priority", "category", "domain")
KEYS = ("project_id", "snapshot_date")
OUTCOMES = ("slipped", "slip_date")  # label columns of a training frame, never features


def numeric_features(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in KEYS and c not in CATEGORICAL and c not in OUTCOMES]


def data_as_of(con: duckdb.DuckDBPyConnection) -> tuple[date, int | None]:
    """(as-of date, version) of the newest data."""
    as_of, version = con.execute(RISK_DATA_AS_OF).fetchall()[0]
    return as_of, version


def features(con: duckdb.DuckDBPyConnection, as_of: date, tolerance_days: int = TOLERANCE_DAYS,
             project_id: str | None = None, revision_days: int = REVISION_DAYS) -> pl.DataFrame:
    """One row per item in flight at `as_of` (or only `project_id`'s), from data dated on or before `as_of` only."""
    return con.sql(RISK_FEATURES, params={"as_of": as_of, "tolerance": tolerance_days, "project_id": project_id,
                                          "revision_days": revision_days}).pl()


def features_many(con: duckdb.DuckDBPyConnection, dates: list[date],
                  tolerance_days: int = TOLERANCE_DAYS) -> pl.DataFrame:
    frames = [features(con, d, tolerance_days) for d in dates]
    frames = [f for f in frames if f.height]
    return pl.concat(frames, how="vertical_relaxed") if frames else features(con, dates[0], tolerance_days)


def labels(con: duckdb.DuckDBPyConnection, as_of: date, horizon_days: int = HORIZON_DAYS,
           tolerance_days: int = TOLERANCE_DAYS, data_as_of_date: date | None = None) -> pl.DataFrame:
    """Slip labels at `as_of`; empty when the window `as_of + horizon` is not fully observed."""
    if data_as_of_date is None:
        data_as_of_date = data_as_of(con)[0]
    frame = con.sql(RISK_LABELS, params={"as_of": as_of, "horizon": horizon_days,
                                         "tolerance": tolerance_days}).pl()
    if data_as_of_date is not None and as_of + timedelta(days=horizon_days) > data_as_of_date:
        return frame.clear()
    return frame


def snapshot_dates(end: date, start: date, step_days: int = 28) -> list[date]:
    """Dates every `step_days` going back from `end` to `start` (inclusive), oldest first."""
    out, d = [], end
    while d >= start:
        out.append(d)
        d -= timedelta(days=step_days)
    return out[::-1]


def first_start(con: duckdb.DuckDBPyConnection) -> date | None:
    return con.execute("SELECT min(start_date) FROM projects").fetchall()[0][0]


def report_dates(con: duckdb.DuckDBPyConnection, end: date) -> list[date]:
    """Distinct report dates on or before `end`, oldest first."""
    return [r[0] for r in con.execute(RISK_REPORT_DATES, {"end": end}).fetchall()]


def snapshot_plan(con: duckdb.DuckDBPyConnection, end: date, step_days: int = 28) -> tuple[list[date], str]:
    """Snapshot dates up to `end` and how they were chosen ("report_dates" or "grid").

    When reporting is batched (fewer distinct report dates than grid dates: every item reports on the
    same few days, like a yearly publication) the report dates themselves, so each snapshot sees a fresh
    report and no row repeats the one before; otherwise every `step_days` back from `end`, from the
    first report (or, without reports, the first start) on."""
    reported = report_dates(con, end)
    start = reported[0] if reported else (first_start(con) or end)
    grid = snapshot_dates(end, start, step_days)
    if reported and len(reported) < len(grid):
        return reported, "report_dates"
    return grid, "grid"


def training_frame(con: duckdb.DuckDBPyConnection, dates: list[date], horizon_days: int = HORIZON_DAYS,
                   tolerance_days: int = TOLERANCE_DAYS,
                   progress: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    """Features joined to labels (`slipped`, `slip_date`) for every date whose window is fully observed.
    `progress(done, total)` is called after each date."""
    as_of = data_as_of(con)[0]
    frames = []
    for n, d in enumerate(dates, 1):
        lab = labels(con, d, horizon_days, tolerance_days, as_of)
        if lab.height:
            feat = features(con, d, tolerance_days)
            frames.append(feat.join(lab.select("project_id", *OUTCOMES), on="project_id", how="inner"))
        if progress:
            progress(n, len(dates))
    frames = [f for f in frames if f.height]
    if not frames:
        raise ValueError("no fully observed snapshot to train on")
    return pl.concat(frames, how="vertical_relaxed")
