"""Train, score and evaluate the slip-risk model.

Training rows are snapshots every four weeks back from the data's as-of date, kept only when their
window (snapshot + horizon) is fully observed. The model is a gradient-boosted tree pipeline with
isotonic calibration (3-fold). `top_reasons` of a scored item are the three features whose value,
replaced by the training median (mode for categories), lowers the item's probability the most:
"this signal, at this value, raised the risk".
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import polars as pl
from sklearn.calibration import CalibratedClassifierCV, calibration_curve
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from . import features as F

STEP_DAYS = 28
BANDS = (("high", 0.5), ("medium", 0.2))  # probability at or above which a band starts; else low
ALERT_SHARE = 0.10
RANDOM_STATE = 0
MISSING_CATEGORY = "(missing)"


@dataclass
class TrainedModel:
    pipeline: CalibratedClassifierCV
    numeric: list[str]
    categorical: list[str]
    reference: dict[str, object]  # training median / mode per feature, for the reasons
    horizon_days: int
    tolerance_days: int
    train_from: date
    train_to: date
    data_version: int | None
    data_as_of: date
    n_rows: int
    base_rate: float
    fit_seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return self.numeric + self.categorical


def _pipeline(numeric: list[str], categorical: list[str]) -> CalibratedClassifierCV:
    encode = ColumnTransformer(
        [("num", "passthrough", numeric),
         ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan), categorical)],
        verbose_feature_names_out=False)
    is_cat = [False] * len(numeric) + [True] * len(categorical)
    pipe = Pipeline([("encode", encode),
                     ("hgb", HistGradientBoostingClassifier(random_state=RANDOM_STATE, categorical_features=is_cat))])
    return CalibratedClassifierCV(pipe, method="isotonic", cv=3)


def _to_pandas(frame: pl.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    x = frame.select([pl.col(c).cast(pl.Float64).fill_nan(None) for c in numeric]
                     + [pl.col(c).cast(pl.Utf8).fill_null(MISSING_CATEGORY) for c in categorical])
    out = x.to_pandas()
    out[numeric] = out[numeric].astype(float)
    out[categorical] = out[categorical].astype(object)
    return out


def _fit(rows: pl.DataFrame, horizon_days: int, tolerance_days: int, dates: list[date],
         version: int | None, as_of: date) -> TrainedModel:
    if rows["slipped"].n_unique() < 2:
        raise ValueError("training rows hold a single class; need slips and non-slips")
    numeric = F.numeric_features(rows.drop("slipped"))
    categorical = list(F.CATEGORICAL)
    x = _to_pandas(rows, numeric, categorical)
    numeric = [c for c in numeric if x[c].notna().any()]  # a signal the extract never carries is dropped
    x = x[numeric + categorical]
    y = rows["slipped"].to_numpy()
    reference: dict[str, object] = {}
    for c in numeric:
        med = x[c].median()
        reference[c] = None if pd.isna(med) else float(med)
    for c in categorical:
        reference[c] = x[c].mode().iloc[0]
    model = _pipeline(numeric, categorical)
    t0 = time.perf_counter()
    model.fit(x, y)
    return TrainedModel(model, numeric, categorical, reference, horizon_days, tolerance_days, dates[0], dates[-1],
                        version, as_of, rows.height, float(y.mean()), time.perf_counter() - t0)


def _grid(con: duckdb.DuckDBPyConnection, end: date) -> list[date]:
    start = F.first_start(con) or end
    return F.snapshot_dates(end, start, STEP_DAYS)


def train(con: duckdb.DuckDBPyConnection, as_of: date | None = None, horizon_days: int = F.HORIZON_DAYS,
          tolerance_days: int = F.TOLERANCE_DAYS) -> TrainedModel:
    """Train on every four-weekly snapshot whose window ends on or before the data's as-of date
    (`as_of`, when given, caps it further)."""
    data_as_of, version = F.data_as_of(con)
    end = data_as_of if as_of is None else min(as_of, data_as_of)
    dates = [d for d in _grid(con, end) if d + timedelta(days=horizon_days) <= end]
    if not dates:
        raise ValueError("no snapshot with a fully observed window")
    rows = F.training_frame(con, dates, horizon_days, tolerance_days)
    return _fit(rows, horizon_days, tolerance_days, dates, version, data_as_of)


def band(p: float) -> str:
    for name, threshold in BANDS:
        if p >= threshold:
            return name
    return "low"


def predict(model: TrainedModel, frame: pl.DataFrame) -> np.ndarray:
    if frame.height == 0:
        return np.zeros(0)
    return model.pipeline.predict_proba(_to_pandas(frame, model.numeric, model.categorical))[:, 1]


def reasons(model: TrainedModel, frame: pl.DataFrame, base: np.ndarray, k: int = 3) -> list[list[dict]]:
    """Per row, up to `k` (feature, value, effect) whose value raises the probability most compared
    with the typical (training median/mode) value of that feature."""
    x = _to_pandas(frame, model.numeric, model.categorical)
    names = model.feature_names
    effects = np.zeros((len(x), len(names)))
    for j, c in enumerate(names):
        ref = model.reference[c]
        alt = x.copy()
        alt[c] = np.nan if ref is None else ref
        effects[:, j] = base - model.pipeline.predict_proba(alt)[:, 1]
    out = []
    for i in range(len(x)):
        order = np.argsort(-effects[i])[:k]
        row = []
        for j in order:
            if effects[i, j] <= 1e-9:
                break
            v = x.iat[i, j]
            value = None if (isinstance(v, float) and math.isnan(v)) else (round(float(v), 4) if isinstance(v, float) else v)
            row.append({"feature": names[j], "value": value, "effect": round(float(effects[i, j]), 4)})
        out.append(row)
    return out


def score(con: duckdb.DuckDBPyConnection, model: TrainedModel, as_of: date) -> pl.DataFrame:
    """Probability of slipping within the model's horizon for every item in flight at `as_of`."""
    feats = F.features(con, as_of, model.tolerance_days)
    p = predict(model, feats)
    why = reasons(model, feats, p) if feats.height else []
    reason_type = pl.List(pl.Struct({"feature": pl.Utf8, "value": pl.Utf8, "effect": pl.Float64}))
    return pl.DataFrame({
        "project_id": feats["project_id"],
        "probability": pl.Series(p, dtype=pl.Float64),
        "band": pl.Series([band(v) for v in p], dtype=pl.Utf8),
        "top_reasons": pl.Series([[{"feature": r["feature"], "value": None if r["value"] is None else str(r["value"]),
                                    "effect": r["effect"]} for r in rs] for rs in why], dtype=reason_type),
    }).sort("probability", descending=True)


# ---- evaluation -------------------------------------------------------------------------------

def red_light(frame: pl.DataFrame, gap_pp: float = 20.0) -> pl.Series:
    """The current light rule's red: past the planned end, progress gap over `gap_pp`, or RAG red/amber_red."""
    return ((pl.col("days_to_planned_end") < 0).fill_null(False)
            | (pl.col("progress_gap") > gap_pp).fill_null(False)
            | (pl.col("rag_ord") >= 3).fill_null(False)).alias("red")


def _at_budget(y: np.ndarray, flagged_order: np.ndarray, k: int) -> dict:
    """Precision and recall when the first min(k, len) of `flagged_order` (row indices) are alerted."""
    take = flagged_order[:k]
    tp = int(y[take].sum()) if len(take) else 0
    pos = int(y.sum())
    return {"n_alerts": int(len(take)), "precision": tp / len(take) if len(take) else float("nan"),
            "recall": tp / pos if pos else float("nan")}


def _rule_order(test: pl.DataFrame, flag: pl.Expr) -> np.ndarray:
    ranked = (test.with_row_index("_i").with_columns(flag.alias("_flag"))
              .filter(pl.col("_flag"))
              .sort(pl.col("progress_gap").fill_nan(None), descending=True, nulls_last=True))
    return ranked["_i"].to_numpy()


def evaluate(con: duckdb.DuckDBPyConnection, cutoff: date, horizon_days: int = F.HORIZON_DAYS,
             tolerance_days: int = F.TOLERANCE_DAYS, alert_share: float = ALERT_SHARE) -> dict:
    """Train on snapshots whose window ends by `cutoff`; test on fully observed snapshots from `cutoff` on."""
    data_as_of, version = F.data_as_of(con)
    grid = _grid(con, data_as_of)
    train_dates = [d for d in grid if d + timedelta(days=horizon_days) <= cutoff]
    test_dates = [d for d in grid if d >= cutoff and d + timedelta(days=horizon_days) <= data_as_of]
    if not train_dates or not test_dates:
        raise ValueError("cutoff leaves no training or no test snapshot")
    t0 = time.perf_counter()
    model = _fit(F.training_frame(con, train_dates, horizon_days, tolerance_days), horizon_days,
                 tolerance_days, train_dates, version, data_as_of)
    train_seconds = time.perf_counter() - t0
    test = F.training_frame(con, test_dates, horizon_days, tolerance_days)
    y = test["slipped"].to_numpy().astype(int)
    t0 = time.perf_counter()
    p = predict(model, test)
    predict_seconds = time.perf_counter() - t0
    k = max(1, math.ceil(alert_share * len(y)))
    two_classes = len(np.unique(y)) == 2
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="quantile") if two_classes else ([], [])
    return {
        "cutoff": cutoff, "horizon_days": horizon_days, "tolerance_days": tolerance_days,
        "train_dates": (train_dates[0], train_dates[-1]), "test_dates": (test_dates[0], test_dates[-1]),
        "n_train": model.n_rows, "n_test": len(y), "test_slip_rate": float(y.mean()),
        "train_slip_rate": model.base_rate, "features": model.feature_names, "data_version": version,
        "data_as_of": data_as_of,
        "roc_auc": float(roc_auc_score(y, p)) if two_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if two_classes else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "reliability": [{"mean_predicted": float(a), "observed_rate": float(b)}
                        for a, b in zip(prob_pred, prob_true)],
        "alert_budget": k,
        "model_at_budget": _at_budget(y, np.argsort(-p, kind="stable"), k),
        "red_light_at_budget": _at_budget(y, _rule_order(test, red_light(test)), k),
        "rag_red_at_budget": _at_budget(y, _rule_order(test, (pl.col("rag_ord") >= 3).fill_null(False)), k),
        "train_seconds": train_seconds, "predict_seconds": predict_seconds,
    }
