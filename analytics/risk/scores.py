"""Scores of the items in flight, computed once per trained model and kept beside it.

Scoring every open item with its reasons takes seconds (3 s at scale 1), too slow for a page
view; it runs when a model is trained and the page reads the saved frame, joined to the user's
scoped and filtered items. Reasons are phrased from locale templates (`risk_reason.*`).
"""
from __future__ import annotations

import json
import math
import os
import threading
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from analytics import i18n
from analytics.risk.model import ALERT_SHARE, BANDS, TrainedModel, score

RAG_BY_ORDINAL = ("green", "amber_green", "amber", "amber_red", "red")


def path_for(db_path: str | Path, data_version: int) -> Path:
    return Path(str(db_path) + ".models") / f"scores-v{data_version}.parquet"


CURVE = "finish_curve"  # per item: the chance of being finished by as-of + k × curve_step_days (read by `curves`)
FORECAST_COLUMNS = {"p50_date": pl.Date, "p50_beyond": pl.Boolean, "p80_date": pl.Date, "p80_beyond": pl.Boolean,
                    "p_by_deadline": pl.Float64}


def refresh(con: duckdb.DuckDBPyConnection, db_path: str | Path, model: TrainedModel,
            model_path: str | Path | None = None, timings: dict | None = None, forecast=None,
            forecast_path: str | Path | None = None, version: int | None = None, as_of: date | None = None,
            replace: bool = True) -> Path | None:
    """Score every item in flight at the model's data as-of date and save the frame (atomically), with a
    sidecar naming the model file and carrying its evaluation (the page's model card) and timings. With
    `forecast` (a `forecast.ForecastModel`), each row also carries its P50 / P80 finish dates and the chance of
    finishing by the deadline (FORECAST_COLUMNS; null without a forecast model), and the sidecar the
    forecasts' holdout coverage.

    With `version` and `as_of`, a newer data version is scored with this (earlier) model at its own date: the
    sidecar's `scored_version` / `scored_as_of` say so (`risk.jobs.score_with_latest`, which passes the model's own
    `trained_at` in `timings`). `replace=False` writes
    nothing (and returns None) when the version has scores already: a training that finished first wins."""
    from analytics.risk import features as F
    from analytics.risk import forecast as FC

    version = model.data_version if version is None else version
    as_of = model.data_as_of if as_of is None else as_of
    t0 = time.perf_counter()
    frame = score(con, model, as_of).with_columns(pl.lit(version).alias("data_version"), pl.lit(as_of).alias("as_of"))
    score_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    if forecast is not None:
        feats = F.features(con, as_of)
        curve = FC.curves(forecast, feats).astype(np.float32)
        predicted = FC.predict(forecast, feats).with_columns(
            pl.Series(CURVE, list(curve), dtype=pl.List(pl.Float32)))
        frame = frame.join(predicted, on="project_id", how="left")
    else:
        frame = frame.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in FORECAST_COLUMNS.items())
    forecast_seconds = time.perf_counter() - t0
    out = path_for(db_path, version)
    if not replace and out.exists():
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{threading.get_ident()}.tmp")
    frame.write_parquet(tmp)
    now = datetime.now().isoformat(timespec="seconds")
    meta = {
        "trained_at": now, "scored_at": now, "data_version": model.data_version,
        "data_as_of": model.data_as_of.isoformat(), "n_rows": model.n_rows, "fit_seconds": round(model.fit_seconds, 1),
        "horizon_days": model.horizon_days, "tolerance_days": model.tolerance_days,
        "train_from": model.train_from.isoformat(), "train_to": model.train_to.isoformat(),
        "model_file": Path(model_path).name if model_path else None,
        "forecast_file": Path(forecast_path).name if forecast_path else None,
        "scored_version": version, "scored_as_of": as_of.isoformat(), "snapshots": model.extra.get("snapshots"),
        "rows_before_sampling": model.extra.get("rows_before_sampling"),
        "bands": {name: threshold for name, threshold in BANDS}, "alert_share": ALERT_SHARE,
        "n_scored": frame.height, **(timings or {}), "score_seconds": round(score_seconds, 2),
        "evaluation": model.extra.get("evaluation"),
        "forecast": None if forecast is None else {
            "n_rows": forecast.n_rows, "max_days": forecast.max_days, "fit_seconds": round(forecast.fit_seconds, 1),
            "trained_to": forecast.trained_to.isoformat(), "forecast_seconds": round(forecast_seconds, 1),
            "curve_step_days": FC.CURVE_STEP, "levels": forecast.extra.get("levels"),
            "train_seconds": forecast.extra.get("train_seconds"),
            "evaluation": _jsonable(forecast.extra.get("evaluation"))}}
    side_tmp = out.with_name(f"{out.name}.{threading.get_ident()}.json.tmp")
    side_tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    if replace:
        tmp.replace(out)
        side_tmp.replace(out.with_suffix(".json"))
        return out
    try:  # never over a training's scores that landed meanwhile: a link fails when the name exists
        os.link(tmp, out)
    except FileExistsError:
        return None
    finally:
        tmp.unlink()
    try:
        os.link(side_tmp, out.with_suffix(".json"))
    except FileExistsError:
        pass
    finally:
        side_tmp.unlink()
    return out


def _jsonable(x):
    from analytics.risk.model import _jsonable as plain

    return plain(x)


def refusal(db_path: str | Path, data_version: int) -> str | None:
    """Why this version's saved scores must not be shown (their model file fails its checks: changed, foreign types,
    missing), or None (no scores, or scores of a sound model)."""
    from analytics.risk import persist

    meta = load_meta(db_path, data_version)
    return None if meta is None else persist.refusal(db_path, meta.get("model_file"))


def load_meta(db_path: str | Path, data_version: int) -> dict | None:
    path = path_for(db_path, data_version).with_suffix(".json")
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def stamp(db_path: str | Path, data_version: int, meta: dict | None = None) -> str:
    """What keys a page's cached result on the version's scores ("" without any): they can arrive after the version
    is published (`risk.jobs.score_with_latest` past the worker's budget) and be replaced by the retraining's, so a
    block cached on the data version alone kept saying "no scores" until its TTL."""
    meta = load_meta(db_path, data_version) if meta is None else meta
    return f"{meta.get('trained_at', '')}|{meta.get('scored_at', '')}" if meta else ""


def load(db_path: str | Path, data_version: int) -> pl.DataFrame | None:
    """Every saved score of a data version (the command line's `risk score`); pages read `scoped` instead."""
    path = path_for(db_path, data_version)
    return pl.read_parquet(path) if path.exists() else None


def scored_as_of(db_path: str | Path, data_version: int) -> date | None:
    """The data date a version's saved scores were computed at (None: no scores, or none for any item)."""
    path = path_for(db_path, data_version)
    if not path.exists():
        return None
    first = pl.read_parquet(path, columns=["as_of"], n_rows=1)  # every row carries the same date
    return first["as_of"][0] if first.height else None


def scoped(cur: duckdb.DuckDBPyConnection, sel, db_path: str | Path, data_version: int) -> pl.DataFrame | None:
    """The saved scores of a data version for the items of a selection (`sel`: a metrics.Selection), through the
    named, scoped query `risk_scores`, so a page never holds a score outside the user's scope; None when this
    version has no scores."""
    from analytics.db import queries

    path = path_for(db_path, data_version)
    if not path.exists() or refusal(db_path, data_version):
        return None
    return queries.run(cur, "risk_scores", sel.filters, sel.scope, sel.as_of, scores_path=str(path))


def with_forecast_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (saved scores) with every FORECAST_COLUMNS column, null where the scores predate the forecasts."""
    return frame.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in FORECAST_COLUMNS.items()
                              if c not in frame.columns)


def curves(cur: duckdb.DuckDBPyConnection, sel, db_path: str | Path, data_version: int) -> tuple[pl.DataFrame, int] | None:
    """(project_id → finish curve of the selection's scored items, the curve's step in days), through the scoped
    `risk_curves`; None without saved curves."""
    from analytics.db import queries

    path = path_for(db_path, data_version)
    meta = load_meta(db_path, data_version) or {}
    step = (meta.get("forecast") or {}).get("curve_step_days")
    if not path.exists() or not step or refusal(db_path, data_version):
        return None
    return queries.run(cur, "risk_curves", sel.filters, sel.scope, sel.as_of, scores_path=str(path)), int(step)


def item_forecast(cur: duckdb.DuckDBPyConnection, sel, db_path: str | Path, data_version: int,
                  project_id: str) -> dict | None:
    """One item's saved forecast (FORECAST_COLUMNS with `as_of`), through the scoped `risk_scores`; None when the
    item has no saved score or no forecast."""
    frame = scoped(cur, sel, db_path, data_version)
    if frame is None:
        return None
    row = with_forecast_columns(frame).filter(pl.col("project_id") == project_id)
    if row.is_empty() or row["p50_date"][0] is None:
        return None
    return row.select("as_of", *FORECAST_COLUMNS).row(0, named=True)


def _number(value: str | None) -> float | None:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def reason_text(feature: str, value: str | None, lang: str) -> str:
    """One reason in words, e.g. progress_gap 18.0 → 进度落后计划 18 个百分点."""
    key = f"risk_reason.{feature}"
    if not i18n.has(key, lang):
        return f"{feature} = {value}"
    x = _number(value)
    if feature == "rag_ord" and x is not None:
        return i18n.t(key, lang, value=i18n.choice_label("progress_reports", "rag", RAG_BY_ORDINAL[int(x)], lang))
    if value is None:  # the signal is absent, and its absence raised the risk: say that, not "— pp"
        missing = f"risk_missing.{feature}"
        return i18n.t(missing, lang) if i18n.has(missing, lang) else i18n.t("risk_missing.other", lang, feature=feature)
    if x is None:
        return i18n.t(key, lang, value=value)
    if feature.endswith(("_share", "_rate")):
        shown = i18n.fmt_pct(x, lang)
    elif feature in ("progress_gap", "progress_gap_change", "progress_velocity", "spend_minus_progress"):
        shown = f"{x:+.0f}" if feature.endswith("change") else f"{x:.0f}"
    elif feature in ("forecast_move_last", "rag_change_last"):
        shown = f"{x:+,.0f}"
    else:
        shown = i18n.fmt_int(x, lang)
    return i18n.t(key, lang, value=shown)


def reasons_text(reasons, lang: str) -> str:
    """An item's top reasons as one line, in the reader's language."""
    return ("；" if lang == "zh" else "; ").join(reason_text(r["feature"], r["value"], lang) for r in reasons)
