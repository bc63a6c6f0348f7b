"""Features and slip labels of items in flight at as-of dates (SQL in `db/sql/risk.py`)."""
from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import date, timedelta

import duckdb
import polars as pl

from analytics.db.queries import run_national

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
    return run_national(con, "risk_data_as_of").row(0)


def features(con: duckdb.DuckDBPyConnection, as_of: date, tolerance_days: int = TOLERANCE_DAYS,
             project_id: str | None = None, revision_days: int = REVISION_DAYS) -> pl.DataFrame:
    """One row per item in flight at `as_of` (or only `project_id`'s), from data dated on or before `as_of` only."""
    return run_national(con, "risk_features", as_of=as_of, tolerance=tolerance_days, project_id=project_id,
                        revision_days=revision_days)


def labels(con: duckdb.DuckDBPyConnection, as_of: date, horizon_days: int = HORIZON_DAYS,
           tolerance_days: int = TOLERANCE_DAYS, data_as_of_date: date | None = None) -> pl.DataFrame:
    """Slip labels at `as_of`; empty when the window `as_of + horizon` is not fully observed."""
    if data_as_of_date is None:
        data_as_of_date = data_as_of(con)[0]
    frame = run_national(con, "risk_labels", as_of=as_of, horizon=horizon_days, tolerance=tolerance_days)
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
    return run_national(con, "risk_first_start")["first_start"][0]


def report_dates(con: duckdb.DuckDBPyConnection, end: date) -> list[date]:
    """Distinct report dates on or before `end`, oldest first."""
    return run_national(con, "risk_report_dates", end=end)["report_date"].to_list()


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


BUCKETS = 4096  # items are sampled in 1/BUCKETS steps of a stable hash of their ID


def item_buckets(ids: pl.Series) -> pl.DataFrame:
    """project_id -> its bucket in [0, BUCKETS): CRC-32 of the UTF-8 ID, the same in every process and version."""
    unique = ids.unique().to_list()
    return pl.DataFrame({"project_id": unique, "_bucket": [zlib.crc32(i.encode()) % BUCKETS for i in unique]},
                        schema={"project_id": pl.Utf8, "_bucket": pl.Int64})


def training_frame(con: duckdb.DuckDBPyConnection, dates: list[date], horizon_days: int = HORIZON_DAYS,
                   tolerance_days: int = TOLERANCE_DAYS,
                   progress: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    """Features joined to labels (`slipped`, `slip_date`) for every date whose window is fully observed.
    `progress(done, total)` is called after each date."""
    return sampled_training_frame(con, dates, horizon_days, tolerance_days, progress)[0]


def sampled_training_frame(con: duckdb.DuckDBPyConnection, dates: list[date], horizon_days: int = HORIZON_DAYS,
                           tolerance_days: int = TOLERANCE_DAYS,
                           progress: Callable[[int, int], None] | None = None,
                           max_rows: int | None = None) -> tuple[pl.DataFrame, int]:
    """(`training_frame`, how many rows it had before sampling). With `max_rows`, at most that many rows: when
    there would be more, only the items whose bucket (`item_buckets`) is below a threshold are kept, with all
    their snapshots; the threshold falls in proportion until the rows fit, thinning the earlier dates' rows as
    it falls, so memory stays near `max_rows` however large the data."""
    as_of = data_as_of(con)[0]
    frames: list[pl.DataFrame] = []
    total, kept, limit = 0, 0, BUCKETS
    for n, d in enumerate(dates, 1):
        lab = labels(con, d, horizon_days, tolerance_days, as_of)
        if lab.height:
            frame = features(con, d, tolerance_days).join(lab.select("project_id", *OUTCOMES), on="project_id",
                                                          how="inner")
            total += frame.height
            if max_rows is not None and frame.height:
                frame = frame.join(item_buckets(frame["project_id"]), on="project_id", how="inner",
                                   maintain_order="left")
                frame = frame.filter(pl.col("_bucket") < limit)
                kept += frame.height
                while kept > max_rows and limit > 1:  # lower the threshold in proportion (at least by one)
                    limit = max(1, min(limit - 1, limit * max_rows // kept))
                    frames = [f.filter(pl.col("_bucket") < limit) for f in frames]
                    frame = frame.filter(pl.col("_bucket") < limit)
                    kept = sum(f.height for f in frames) + frame.height
            frames.append(frame)
        if progress:
            progress(n, len(dates))
    frames = [f for f in frames if f.height]
    if not frames:
        raise ValueError("no fully observed snapshot to train on")
    out = pl.concat(frames, how="vertical_relaxed")
    return (out.drop("_bucket") if "_bucket" in out.columns else out), total
