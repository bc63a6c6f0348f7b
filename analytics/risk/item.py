"""One item's slip risk: now with its reasons, over its past four-weekly snapshots, and under what-ifs.

The history scores each past snapshot with today's model. Those snapshots were among its training
rows when their outcome was already known, so the older points look sharper than a warning given at
the time would have been; the page says so.

A what-if changes the item's features the way an action would (progress catches up to plan, open
rectifications are closed, the forecast end returns to the planned end) and scores the changed row
with the same model: it shows how much of the risk that action would take away, not a promise.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import polars as pl

from analytics.risk import features as F
from analytics.risk.model import TrainedModel, band, predict, reasons

HISTORY_STEP_DAYS = 28
HISTORY_DAYS = 364


@dataclass(frozen=True)
class Scenario:
    key: str  # the locale key is risk_item.whatif_<key>
    applies: Callable[[dict], bool]
    change: Callable[[dict], dict]


def _catch_up(row: dict) -> dict:
    gap = row.get("progress_gap") or 0.0
    out = {"progress_gap": 0.0, "progress_gap_change": min(row.get("progress_gap_change") or 0.0, 0.0)}
    if row.get("spend_minus_progress") is not None:
        out["spend_minus_progress"] = row["spend_minus_progress"] - gap
    if row.get("ms_missed"):
        out["ms_missed"] = 0.0
    return out


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("catch_up", lambda r: (r.get("progress_gap") or 0) > 0 or (r.get("ms_missed") or 0) > 0, _catch_up),
    Scenario("rect_closed", lambda r: (r.get("rect_open") or 0) > 0,
             lambda r: {"rect_open": 0.0, "rect_overdue": 0.0}),
    Scenario("forecast_kept", lambda r: (r.get("forecast_delay_days") or 0) > 0,
             lambda r: {"forecast_delay_days": 0.0}),
    Scenario("reported", lambda r: (r.get("weeks_since_report") or 0) > 2, lambda r: {"weeks_since_report": 0.0}),
)


def current(con: duckdb.DuckDBPyConnection, model: TrainedModel, project_id: str, as_of: date) -> dict | None:
    """The item's features, probability, band and top reasons at `as_of`; None when it is not in flight."""
    feats = F.features(con, as_of, model.tolerance_days, project_id=project_id)
    if feats.is_empty():
        return None
    p = predict(model, feats)
    return {"features": feats.row(0, named=True), "probability": float(p[0]), "band": band(float(p[0])),
            "reasons": reasons(model, feats, p)[0]}


def history(con: duckdb.DuckDBPyConnection, model: TrainedModel, project_id: str, as_of: date,
            start: date | None = None) -> pl.DataFrame:
    """Probability at every four-weekly snapshot over the last year (and at `as_of`) while the item was in flight."""
    first = max(start or as_of - timedelta(days=HISTORY_DAYS), as_of - timedelta(days=HISTORY_DAYS))
    dates = F.snapshot_dates(as_of, first, HISTORY_STEP_DAYS)
    frames = [f for f in (F.features(con, d, model.tolerance_days, project_id=project_id) for d in dates) if f.height]
    if not frames:
        return pl.DataFrame(schema={"snapshot_date": pl.Date, "probability": pl.Float64, "band": pl.Utf8})
    feats = pl.concat(frames, how="vertical_relaxed")
    p = predict(model, feats)
    return pl.DataFrame({"snapshot_date": feats["snapshot_date"], "probability": pl.Series(p, dtype=pl.Float64),
                         "band": [band(float(v)) for v in p]})


def what_if(model: TrainedModel, row: dict) -> pl.DataFrame:
    """For each applicable scenario: the probability with the item's features changed that way."""
    base = float(predict(model, pl.DataFrame([row]))[0])
    keys, probs = [], []
    for s in SCENARIOS:
        if not s.applies(row):
            continue
        changed = row | s.change(row)
        keys.append(s.key)
        probs.append(float(predict(model, pl.DataFrame([changed]))[0]))
    return pl.DataFrame({"scenario": keys, "probability": pl.Series(probs, dtype=pl.Float64)},
                        schema={"scenario": pl.Utf8, "probability": pl.Float64}).with_columns(
        (pl.col("probability") - base).alias("change"))
