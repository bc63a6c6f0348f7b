"""Train, score and evaluate the slip-risk model.

Training rows are snapshots every four weeks back from the data's as-of date (or, when reporting is
batched on a few shared days such as a yearly publication, the report dates themselves), kept only
when their window (snapshot + horizon) is fully observed. The model is a gradient-boosted tree
pipeline with isotonic calibration (3-fold); below `SMALL_DATA_ROWS` training rows the trees are
shallow and the calibration sigmoid. `top_reasons` of a scored item are the three features whose value,
replaced by the training median (mode for categories), lowers the item's probability the most:
"this signal, at this value, raised the risk".
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import polars as pl
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from threadpoolctl import ThreadpoolController

from analytics import settings
from analytics.db.queries import run_national
from analytics.risk import features as F

STEP_DAYS = 28


def _bands() -> tuple[tuple[str, float], tuple[str, float]]:
    high, medium = settings.get("COCKPIT_RISK_HIGH"), settings.get("COCKPIT_RISK_MEDIUM")
    if not 0 < medium < high <= 1:
        raise ValueError(f"risk bands: need 0 < COCKPIT_RISK_MEDIUM ({medium}) < COCKPIT_RISK_HIGH ({high}) <= 1")
    return ("high", high), ("medium", medium)


def _alert_share() -> float:
    share = settings.get("COCKPIT_RISK_ALERT_SHARE")
    if not 0 < share < 1:
        raise ValueError(f"COCKPIT_RISK_ALERT_SHARE={share}: expected a share between 0 and 1")
    return share


BANDS = _bands()  # probability at or above which a band starts; else low (declared settings)
ALERT_SHARE = _alert_share()
_THREADS = None


def limited_threads():
    """A context capping the OpenMP/BLAS threads of this thread at COCKPIT_RISK_THREADS. The boosted trees
    otherwise start one thread per core, and on a shared 2-core machine that oversubscription made scoring
    10–40× slower. OpenMP limits are per calling thread, so every entry point (CLI, page, background
    training) takes it itself; nesting is harmless."""
    global _THREADS
    if _THREADS is None:
        _THREADS = ThreadpoolController()
    return _THREADS.limit(limits=max(1, settings.get("COCKPIT_RISK_THREADS")))
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


# Below this many training rows (sklearn's own threshold for early stopping) the trees are kept shallow
# and calibration is sigmoid: isotonic calibration and deep trees overfit a few hundred rows (a yearly
# extract snapshotted at its report dates has that few), and isotonic's ties blur the top of the ranking.
SMALL_DATA_ROWS = 10_000
SMALL_DATA_TREES = {"max_depth": 2, "min_samples_leaf": 30, "learning_rate": 0.05, "max_iter": 200}


def _pipeline(numeric: list[str], categorical: list[str], n_rows: int | None = None,
              small_data: bool | None = None) -> CalibratedClassifierCV:
    small = (n_rows is not None and n_rows < SMALL_DATA_ROWS) if small_data is None else small_data
    encode = ColumnTransformer(
        [("num", "passthrough", numeric),
         ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan), categorical)],
        verbose_feature_names_out=False)
    is_cat = [False] * len(numeric) + [True] * len(categorical)
    trees = SMALL_DATA_TREES if small else {}
    pipe = Pipeline([("encode", encode),
                     ("hgb", HistGradientBoostingClassifier(random_state=RANDOM_STATE, categorical_features=is_cat,
                                                            **trees))])
    return CalibratedClassifierCV(pipe, method="sigmoid" if small else "isotonic", cv=3)


def _to_pandas(frame: pl.DataFrame, numeric: list[str], categorical: list[str]) -> pd.DataFrame:
    x = frame.select([pl.col(c).cast(pl.Float64).fill_nan(None) for c in numeric]
                     + [pl.col(c).cast(pl.Utf8).fill_null(MISSING_CATEGORY) for c in categorical])
    out = x.to_pandas()
    out[numeric] = out[numeric].astype(float)
    out[categorical] = out[categorical].astype(object)
    return out


def _fit(rows: pl.DataFrame, horizon_days: int, tolerance_days: int, dates: list[date],
         version: int | None, as_of: date, small_data: bool | None = None) -> TrainedModel:
    if rows["slipped"].n_unique() < 2:
        raise ValueError("training rows hold a single class; need slips and non-slips")
    numeric = F.numeric_features(rows)
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
    model = _pipeline(numeric, categorical, len(y), small_data)
    t0 = time.perf_counter()
    with limited_threads():
        model.fit(x, y)
    return TrainedModel(model, numeric, categorical, reference, horizon_days, tolerance_days, dates[0], dates[-1],
                        version, as_of, rows.height, float(y.mean()), time.perf_counter() - t0)


def _observed(con: duckdb.DuckDBPyConnection, end: date, horizon_days: int) -> tuple[list[date], str]:
    """Snapshot dates whose window ends by `end`, and the plan's kind (see `features.snapshot_plan`)."""
    dates, kind = F.snapshot_plan(con, end, STEP_DAYS)
    return [d for d in dates if d + timedelta(days=horizon_days) <= end], kind


class NotEnoughHistory(ValueError):
    """The data does not reach far enough back to learn from: no snapshot's window is fully observed yet."""


@dataclass(frozen=True)
class History:
    """How much reporting history the data holds, against what training needs: a snapshot counts once the
    `horizon_days` after it are observed, so reports must span more than the horizon (about `months_needed` monthly
    ledgers, the first one included)."""

    first_report: date | None
    as_of: date
    months: int          # months with at least one report
    months_needed: int
    horizon_days: int

    @property
    def enough(self) -> bool:
        return self.first_report is not None and self.first_report + timedelta(days=self.horizon_days) <= self.as_of


def history(con: duckdb.DuckDBPyConnection, horizon_days: int = F.HORIZON_DAYS) -> History:
    as_of, _ = F.data_as_of(con)
    first, months = run_national(con, "risk_history", end=as_of).row(0)
    return History(first, as_of, int(months or 0), math.ceil(horizon_days / 30) + 1, horizon_days)


def card_cutoff(dates: list[date], horizon_days: int) -> date | None:
    """The cutoff of the evaluation run at training time: the last quarter of the snapshot dates are the
    test part; None when that leaves no training snapshot whose window ends by the cutoff."""
    if len(dates) < 2:
        return None
    cutoff = dates[min(len(dates) - 1, max(1, math.floor(0.75 * len(dates))))]
    return cutoff if dates[0] + timedelta(days=horizon_days) <= cutoff else None


def train(con: duckdb.DuckDBPyConnection, as_of: date | None = None, horizon_days: int = F.HORIZON_DAYS,
          tolerance_days: int = F.TOLERANCE_DAYS, with_card: bool = True,
          progress: Callable[[float, str], None] | None = None) -> TrainedModel:
    """Train on every snapshot whose window ends on or before the data's as-of date (`as_of`, when given,
    caps it further). With `with_card`, first evaluate on the same rows split at `card_cutoff` (train
    before, test after) and keep the result in `extra["evaluation"]`, for the page's model card.
    `progress(share_done, stage)` is called as the work goes (stage: features, evaluate, fit)."""
    say = progress or (lambda share, stage: None)
    data_as_of, version = F.data_as_of(con)
    end = data_as_of if as_of is None else min(as_of, data_as_of)
    dates, kind = _observed(con, end, horizon_days)
    if not dates:
        h = history(con, horizon_days)
        raise NotEnoughHistory(
            f"not enough history to learn from yet: the model needs progress reports spanning more than "
            f"{horizon_days} days (about {h.months_needed} monthly ledgers); the data has reports from "
            f"{h.months} month(s){f' since {h.first_report}' if h.first_report else ''}, up to {h.as_of}")
    rows, n_all = F.sampled_training_frame(con, dates, horizon_days, tolerance_days,
                                           progress=lambda done, total: say(0.4 * done / total, "features"),
                                           max_rows=max(1, settings.get("COCKPIT_RISK_MAX_TRAIN_ROWS")))
    evaluation = None
    cutoff = card_cutoff(dates, horizon_days) if with_card else None
    if cutoff is not None:
        say(0.4, "evaluate")
        try:
            evaluation = _evaluate_rows(rows, cutoff, horizon_days, tolerance_days, ALERT_SHARE, version,
                                        data_as_of, kind)
        except ValueError:  # one class on one side of the cutoff: no card, the model still trains
            evaluation = None
    say(0.7 if with_card else 0.4, "fit")
    model = _fit(rows, horizon_days, tolerance_days, dates, version, data_as_of)
    model.extra["snapshots"] = kind
    if n_all > rows.height:  # a sample of the items (COCKPIT_RISK_MAX_TRAIN_ROWS): the card says so
        model.extra["rows_before_sampling"] = n_all
    if evaluation is not None:
        model.extra["evaluation"] = _jsonable(evaluation)
    say(1.0, "fit")
    return model


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, date):
        return x.isoformat()
    if isinstance(x, float) and math.isnan(x):
        return None
    return x


def band(p: float, bands=None) -> str:
    for name, threshold in bands or BANDS:
        if p >= threshold:
            return name
    return "low"


def predict(model: TrainedModel, frame: pl.DataFrame) -> np.ndarray:
    if frame.height == 0:
        return np.zeros(0)
    with limited_threads():
        return model.pipeline.predict_proba(_to_pandas(frame, model.numeric, model.categorical))[:, 1]


def reasons(model: TrainedModel, frame: pl.DataFrame, base: np.ndarray, k: int = 3) -> list[list[dict]]:
    """Per row, up to `k` (feature, value, effect) whose value raises the probability most compared
    with the typical (training median/mode) value of that feature. Effects are measured on the first of
    the three calibrated fold classifiers (a third of the cost; `base`, the full model's probability,
    is accepted for the callers' convenience but the comparison uses that classifier's own)."""
    x = _to_pandas(frame, model.numeric, model.categorical)
    names = model.feature_names
    effects = np.zeros((len(x), len(names)))
    # only rows whose value differs from the reference can have an effect; all changed copies go
    # through the model in one call (most counts sit at their median, so this is a fraction of n × features)
    parts, where = [], []
    for j, c in enumerate(names):
        ref = model.reference[c]
        col = x[c]
        same = col.isna() if ref is None else (col == ref) | (col.isna() & pd.isna(ref))
        rows = np.flatnonzero(~same.to_numpy(dtype=bool))
        if len(rows):
            alt = x.iloc[rows].copy()
            alt[c] = np.nan if ref is None else ref
            parts.append(alt)
            where.append((rows, j))
    if parts:
        # one fold's calibrated classifier of the three: a third of the work, and effects are compared
        # with that same classifier's own probability of the unchanged row
        one = model.pipeline.calibrated_classifiers_[0]
        with limited_threads():
            own = one.predict_proba(x)[:, 1]
            changed = one.predict_proba(pd.concat(parts, ignore_index=True))[:, 1]
        start = 0
        for rows, j in where:
            effects[rows, j] = own[rows] - changed[start:start + len(rows)]
            start += len(rows)
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
    """Row indices a rule flags, most severe first: largest progress gap, then worst RAG, then furthest
    past the planned end (so a rule is cut at a budget by its own logic even when progress is never reported)."""
    ranked = (test.with_row_index("_i").with_columns(flag.alias("_flag"))
              .filter(pl.col("_flag"))
              .sort([pl.col("progress_gap").fill_nan(None), pl.col("rag_ord").fill_nan(None),
                     -pl.col("days_to_planned_end").fill_nan(None)], descending=True, nulls_last=True,
                    maintain_order=True))
    return ranked["_i"].to_numpy()


def _at_rule_volume(y: np.ndarray, p: np.ndarray, flagged: np.ndarray) -> dict:
    """The model's top-k against a rule's k flagged rows (k = however many the rule flags): equal volume."""
    k = len(flagged)
    return {"n_alerts": k, "model": _at_budget(y, np.argsort(-p, kind="stable"), k),
            "rule": _at_budget(y, flagged, k)}


def lead_time(test: pl.DataFrame, alerted: np.ndarray, horizon_days: int) -> dict:
    """Days from the first alert to the slip, per slipped item of the test rows.

    An item's slip is the earliest `slip_date` of its slipped rows; its first alert is the earliest
    alerted row dated on or before the slip and at most `horizon_days` before it. Items never alerted
    in that span count as missed, not as a lead time of zero."""
    rows = test.select("project_id", "snapshot_date", "slipped", "slip_date").with_row_index("_i")
    slips = (rows.filter(pl.col("slipped") == 1).group_by("project_id")
             .agg(pl.col("slip_date").min().alias("slip")))
    mask = np.zeros(rows.height, dtype=bool)
    mask[np.asarray(alerted, dtype=int)] = True
    flags = rows.filter(pl.Series(mask))
    caught = (flags.join(slips, on="project_id", how="inner")
              .filter((pl.col("snapshot_date") <= pl.col("slip"))
                      & (pl.col("snapshot_date") >= pl.col("slip") - pl.duration(days=horizon_days)))
              .group_by("project_id").agg((pl.col("slip") - pl.col("snapshot_date").min()).dt.total_days()
                                           .first().alias("lead_days")))
    lead = caught["lead_days"]
    return {"n_slipped_items": slips.height, "n_warned": caught.height,
            "median_lead_days": float(lead.median()) if lead.len() else float("nan")}


def reliability(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Test rows in `n_bins` equal-size bins by predicted probability: mean predicted, observed rate, n."""
    order = np.argsort(p, kind="stable")
    out = []
    for part in np.array_split(order, n_bins):
        if len(part):
            out.append({"mean_predicted": float(p[part].mean()), "observed_rate": float(y[part].mean()),
                        "n": int(len(part))})
    return out


def evaluate(con: duckdb.DuckDBPyConnection, cutoff: date, horizon_days: int = F.HORIZON_DAYS,
             tolerance_days: int = F.TOLERANCE_DAYS, alert_share: float | None = None) -> dict:
    """Train on snapshots whose window ends by `cutoff`; test on fully observed snapshots from `cutoff` on."""
    data_as_of, version = F.data_as_of(con)
    grid, kind = _observed(con, data_as_of, horizon_days)
    dates = [d for d in grid if d + timedelta(days=horizon_days) <= cutoff or d >= cutoff]
    if not any(d >= cutoff for d in dates) or not any(d < cutoff for d in dates):
        raise ValueError("cutoff leaves no training or no test snapshot")
    rows = F.training_frame(con, dates, horizon_days, tolerance_days)
    return _evaluate_rows(rows, cutoff, horizon_days, tolerance_days,
                          ALERT_SHARE if alert_share is None else alert_share, version, data_as_of, kind)


def _evaluate_rows(rows: pl.DataFrame, cutoff: date, horizon_days: int, tolerance_days: int,
                   alert_share: float, version: int | None, data_as_of: date, snapshots: str = "grid",
                   small_data: bool | None = None) -> dict:
    """Fit on the rows whose window ends by `cutoff`, judge on the rows dated from `cutoff` on."""
    train_rows = rows.filter(pl.col("snapshot_date") + pl.duration(days=horizon_days) <= cutoff)
    test = rows.filter(pl.col("snapshot_date") >= cutoff)
    if train_rows.is_empty() or test.is_empty():
        raise ValueError("cutoff leaves no training or no test snapshot")
    train_dates = sorted(set(train_rows["snapshot_date"]))
    test_dates = sorted(set(test["snapshot_date"]))
    t0 = time.perf_counter()
    model = _fit(train_rows, horizon_days, tolerance_days, train_dates, version, data_as_of, small_data)
    train_seconds = time.perf_counter() - t0
    y = test["slipped"].to_numpy().astype(int)
    t0 = time.perf_counter()
    p = predict(model, test)
    predict_seconds = time.perf_counter() - t0
    k = max(1, math.ceil(alert_share * len(y)))
    two_classes = len(np.unique(y)) == 2
    model_order = np.argsort(-p, kind="stable")
    red_order = _rule_order(test, red_light(test))
    rag_order = _rule_order(test, (pl.col("rag_ord") >= 3).fill_null(False))
    return {
        "cutoff": cutoff, "horizon_days": horizon_days, "tolerance_days": tolerance_days,
        "train_dates": (train_dates[0], train_dates[-1]), "test_dates": (test_dates[0], test_dates[-1]),
        "n_train": model.n_rows, "n_test": len(y), "test_slip_rate": float(y.mean()),
        "train_slip_rate": model.base_rate, "features": model.feature_names, "data_version": version,
        "data_as_of": data_as_of, "snapshots": snapshots, "step_days": STEP_DAYS,
        "roc_auc": float(roc_auc_score(y, p)) if two_classes else float("nan"),
        # the rules as rankings: reported RAG (missing lowest) and the red light (flagged first)
        "rag_roc_auc": float(roc_auc_score(y, test["rag_ord"].fill_nan(None).fill_null(-1).to_numpy()))
        if two_classes else float("nan"),
        "red_light_roc_auc": float(roc_auc_score(y, test.select(red_light(test))["red"].to_numpy().astype(float)))
        if two_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if two_classes else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "reliability": reliability(y, p) if two_classes else [],
        "alert_share": alert_share, "alert_budget": k,
        "model_at_budget": _at_budget(y, model_order, k),
        "red_light_at_budget": _at_budget(y, red_order, k),
        "rag_red_at_budget": _at_budget(y, rag_order, k),
        "red_light_at_its_volume": _at_rule_volume(y, p, red_order),
        "rag_red_at_its_volume": _at_rule_volume(y, p, rag_order),
        "lead_time": {"model": lead_time(test, model_order[:k], horizon_days),
                      "red_light": lead_time(test, red_order[:k], horizon_days),
                      "rag_red": lead_time(test, rag_order[:k], horizon_days)},
        "train_seconds": train_seconds, "predict_seconds": predict_seconds,
    }

