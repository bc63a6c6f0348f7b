"""Features and slip labels of items in flight at as-of dates (SQL in `queries/risk_sql.py`)."""
from __future__ import annotations

from datetime import date, timedelta

import duckdb
import polars as pl

from ..queries.risk_sql import RISK_DATA_AS_OF, RISK_FEATURES, RISK_LABELS

HORIZON_DAYS = 90
TOLERANCE_DAYS = 30

CATEGORICAL = ("priority", "category", "domain")
KEYS = ("project_id", "snapshot_date")


def numeric_features(frame: pl.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in KEYS and c not in CATEGORICAL]


def data_as_of(con: duckdb.DuckDBPyConnection) -> tuple[date, int | None]:
    """(as-of date, version) of the newest data."""
    as_of, version = con.execute(RISK_DATA_AS_OF).fetchall()[0]
    return as_of, version


def features(con: duckdb.DuckDBPyConnection, as_of: date, tolerance_days: int = TOLERANCE_DAYS,
             project_id: str | None = None) -> pl.DataFrame:
    """One row per item in flight at `as_of` (or only `project_id`'s), from data dated on or before `as_of` only."""
    return con.sql(RISK_FEATURES, params={"as_of": as_of, "tolerance": tolerance_days, "project_id": project_id}).pl()


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


def training_frame(con: duckdb.DuckDBPyConnection, dates: list[date], horizon_days: int = HORIZON_DAYS,
                   tolerance_days: int = TOLERANCE_DAYS) -> pl.DataFrame:
    """Features joined to labels for every date whose window is fully observed."""
    as_of = data_as_of(con)[0]
    frames = []
    for d in dates:
        lab = labels(con, d, horizon_days, tolerance_days, as_of)
        if lab.height == 0:
            continue
        feat = features(con, d, tolerance_days)
        frames.append(feat.join(lab.select("project_id", "slipped"), on="project_id", how="inner"))
    frames = [f for f in frames if f.height]
    if not frames:
        raise ValueError("no fully observed snapshot to train on")
    return pl.concat(frames, how="vertical_relaxed")
