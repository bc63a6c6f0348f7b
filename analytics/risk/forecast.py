"""Finish-date forecasts of items in flight: P50 and P80 dates and the chance of finishing by the deadline.

The model learns the chance that an item in flight at a snapshot date `s` is finished within `k` days,
F(k) = P(finished by s + k), from the track record: every item in flight at every snapshot, paired with
a few horizons `k` whose outcome is already observed (s + k on or before the data's as-of date), labelled
finished or not. Pairing only observed horizons is what makes it honest about items still open: a long
item open today still teaches the model "not finished within k" for every k it has been watched, instead of
being left out (which would teach that items finish early) or counted as late forever. The features are
the slip model's (progress and its gap to plan, velocity, forecast moves and revisions, RAG, milestones,
the department's and region's track records, domain, priority, …) plus `k`, with F constrained to rise
with `k` (a monotonic constraint of the boosted trees), so the quantiles are well defined:
P50 = the first date F reaches 0.5, P80 = the first date it reaches 0.8. Where F has not reached the level
by the longest horizon the data has watched (`max_days`), the date is a lower bound ("later than").
The chance of finishing by the deadline is F at the deadline (0 once the deadline has passed).

Items that were terminated are never "finished": they are left out of the track record (the forecast is
that of an item carried through). `evaluate` checks the intervals on a temporal holdout: fit before a
cutoff, then among the snapshots from the cutoff on, the share finished by their P50 / P80 date (where that
date is observed), with a bootstrap interval over items, overall and by domain, beside the same share for
the reporters' own forecast end dates.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from analytics.db.queries import run_national
from analytics.risk import features as F
from analytics.risk.model import STEP_DAYS, _to_pandas, limited_threads

LEVELS = (0.5, 0.8)
MIN_DAYS = 7            # shortest horizon paired with a snapshot
MAX_DAYS = 1095         # longest horizon ever paired (three years)
DRAWS = 4               # horizons drawn per (item, snapshot)
MAX_ROWS = 400_000      # (item, snapshot, horizon) rows fitted at most; a seeded sample beyond
RANDOM_STATE = 0
BOOTSTRAP = 200
MAX_TEST_ROWS = 20_000  # holdout rows forecast at most (a seeded sample beyond)
# Trees without early stopping: with it (sklearn's default above 10,000 rows) the fit stopped early and the
# upper quantiles came out too wide (P80 covered 89 % on the demo's holdout); these cover 53 % / 79 %
# (docs/model-card.md) at about 15 s of fitting at scale 1.
TREES = {"early_stopping": False, "max_iter": 150, "max_leaf_nodes": 63, "learning_rate": 0.2}


@dataclass
class ForecastModel:
    classifier: HistGradientBoostingClassifier
    numeric: list[str]
    categorical: list[str]
    max_days: int                # the longest horizon seen in training: quantiles beyond it are lower bounds
    trained_to: date             # the date outcomes were observed up to
    n_rows: int
    fit_seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def outcomes(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """project_id → actual_end_date of completed items (terminated items left out of everything)."""
    return run_national(con, "forecast_outcomes")


def _snapshots(con: duckdb.DuckDBPyConnection, end: date,
               progress: Callable[[int, int], None] | None = None) -> pl.DataFrame:
    """Features of the items in flight at every snapshot date up to `end` (the slip model's plan)."""
    dates, _ = F.snapshot_plan(con, end, STEP_DAYS)
    frames = []
    for n, d in enumerate(dates, 1):
        frames.append(F.features(con, d))
        if progress:
            progress(n, len(dates))
    frames = [f for f in frames if f.height]
    if not frames:
        raise ValueError("no item was in flight at any snapshot date")
    return pl.concat(frames, how="vertical_relaxed")


def _with_outcomes(snaps: pl.DataFrame, done: pl.DataFrame) -> pl.DataFrame:
    """Each snapshot row with `days_to_finish` (null while unfinished as far as the data knows)."""
    return snaps.join(done, on="project_id", how="left").with_columns(
        (pl.col("actual_end_date") - pl.col("snapshot_date")).dt.total_days().alias("days_to_finish"))


def pairs(snaps: pl.DataFrame, observed_to: date, draws: int = DRAWS, max_rows: int = MAX_ROWS,
          seed: int = RANDOM_STATE) -> pl.DataFrame:
    """Training rows: each (item, snapshot) with `draws` horizons k drawn log-uniformly between MIN_DAYS and
    the days observed after the snapshot (capped at MAX_DAYS), labelled `finished` = finished within k days.
    Rows whose snapshot has fewer than MIN_DAYS observed after it are left out (nothing known yet).
    `snaps` carries `days_to_finish` (see `_with_outcomes`); finishing after `observed_to` counts as not yet."""
    watched = snaps.with_columns(
        pl.min_horizontal((pl.lit(observed_to) - pl.col("snapshot_date")).dt.total_days(), pl.lit(MAX_DAYS))
        .alias("_watched")).filter(pl.col("_watched") >= MIN_DAYS)
    if watched.is_empty():
        return watched
    rng = np.random.default_rng(seed)
    hi = watched["_watched"].to_numpy().astype(float)
    u = rng.random((watched.height, draws))
    k = np.floor(np.exp(np.log(MIN_DAYS) + u * (np.log(hi + 1) - np.log(MIN_DAYS))[:, None]))
    k = np.minimum(k, hi[:, None]).ravel()
    rows = watched.select(pl.all().repeat_by(draws).explode()) if draws > 1 else watched
    rows = rows.with_columns(pl.Series("k", k, dtype=pl.Float64))
    rows = rows.with_columns((pl.col("days_to_finish").is_not_null() & (pl.col("days_to_finish") <= pl.col("k"))
                              & (pl.col("snapshot_date") + pl.duration(days=pl.col("days_to_finish"))
                                 <= pl.lit(observed_to)))
                             .fill_null(False).cast(pl.Int8).alias("finished"))
    if rows.height > max_rows:
        rows = rows.sample(max_rows, seed=seed)
    return rows.drop("_watched")


def _columns(rows: pl.DataFrame) -> tuple[list[str], list[str]]:
    skip = set(F.KEYS) | set(F.CATEGORICAL) | set(F.OUTCOMES) | {"k", "finished", "actual_end_date",
                                                                  "days_to_finish", "_watched"}
    numeric = [c for c in rows.columns if c not in skip]
    return numeric + ["k"], list(F.CATEGORICAL)


def fit(rows: pl.DataFrame, trained_to: date, **trees) -> ForecastModel:
    """Fit F on `pairs` rows (`trees` overrides TREES)."""
    if rows.is_empty() or rows["finished"].n_unique() < 2:
        raise ValueError("the track record holds no finished item (or nothing but finished items) to learn from")
    numeric, categorical = _columns(rows)
    x = _to_pandas(rows, numeric, categorical)
    numeric = [c for c in numeric if c == "k" or x[c].notna().any()]
    x = x[numeric + categorical]
    encode = ColumnTransformer(
        [("num", "passthrough", numeric),
         ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan), categorical)],
        verbose_feature_names_out=False)
    cst = [1 if c == "k" else 0 for c in numeric] + [0] * len(categorical)
    hgb = HistGradientBoostingClassifier(random_state=RANDOM_STATE, monotonic_cst=cst,
                                         categorical_features=[False] * len(numeric) + [True] * len(categorical),
                                         **(TREES | trees))
    pipe = Pipeline([("encode", encode), ("hgb", hgb)])
    t0 = time.perf_counter()
    with limited_threads():
        pipe.fit(x, rows["finished"].to_numpy())
    return ForecastModel(pipe, numeric, categorical, int(rows["k"].max()), trained_to, rows.height,
                         time.perf_counter() - t0)


def _design(model: ForecastModel, feats: pl.DataFrame):
    return _to_pandas(feats.with_columns(pl.lit(0.0).alias("k")), model.numeric, model.categorical)


def _f(model: ForecastModel, x, k: np.ndarray) -> np.ndarray:
    """F at each row's own horizon `k` (days)."""
    x = x.copy()
    x["k"] = np.asarray(k, dtype=float)
    with limited_threads():
        return model.classifier.predict_proba(x)[:, 1]


def cdf(model: ForecastModel, feats: pl.DataFrame, days) -> np.ndarray:
    """F at every horizon of `days` for every row of `feats`: an (n rows × len(days)) array, rising along days."""
    days = np.asarray(days, dtype=float)
    if feats.height == 0:
        return np.zeros((0, len(days)))
    x = _design(model, feats)
    return np.column_stack([_f(model, x, np.full(len(x), d)) for d in days])


def quantile_days(model: ForecastModel, x, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(whole days until F first reaches `level`, found by bisection since F rises with k; whether it never does
    by `max_days`, in which case the days are `max_days`: a lower bound)."""
    n = len(x)
    hi = np.full(n, float(model.max_days))
    beyond = _f(model, x, hi) < level
    lo = np.zeros(n)  # F(lo) < level or lo = 0; F(hi) >= level
    reached_now = _f(model, x, lo) >= level
    hi[reached_now] = 0.0
    while True:
        open_ = (hi - lo > 1) & ~beyond & ~reached_now
        if not open_.any():
            break
        mid = np.floor((lo + hi) / 2)
        ok = _f(model, x.iloc[np.flatnonzero(open_)], mid[open_]) >= level
        idx = np.flatnonzero(open_)
        hi[idx[ok]] = mid[idx[ok]]
        lo[idx[~ok]] = mid[idx[~ok]]
    return hi, beyond


def predict(model: ForecastModel, feats: pl.DataFrame, levels: dict[str, float] | None = None) -> pl.DataFrame:
    """P50 / P80 finish dates and the chance of finishing by the planned end for every row of `feats`
    (items in flight at their `snapshot_date`). `levels` maps p50/p80 to the level of F read for each (the model's
    calibrated levels, `extra["levels"]`, by default; the nominal 0.5 / 0.8 without them)."""
    levels = levels or model.extra.get("levels") or {f"p{round(v * 100)}": v for v in LEVELS}
    cols: dict[str, pl.Series] = {"project_id": feats["project_id"]}
    if feats.height == 0:
        for name in levels:
            cols[f"{name}_date"] = pl.Series([], dtype=pl.Date)
            cols[f"{name}_beyond"] = pl.Series([], dtype=pl.Boolean)
        cols["p_by_deadline"] = pl.Series([], dtype=pl.Float64)
        return pl.DataFrame(cols)
    x = _design(model, feats)
    snap = feats["snapshot_date"]
    for name, level in levels.items():
        q, beyond = quantile_days(model, x, level)
        cols[f"{name}_date"] = pl.select(snap + pl.duration(days=pl.Series(q).cast(pl.Int64))).to_series()
        cols[f"{name}_beyond"] = pl.Series(beyond, dtype=pl.Boolean)
    deadline = feats["days_to_planned_end"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    p = np.full(len(x), np.nan)
    known = ~np.isnan(deadline)
    p[known & (deadline < 0)] = 0.0
    ahead = np.flatnonzero(known & (deadline >= 0))
    if len(ahead):
        p[ahead] = _f(model, x.iloc[ahead], np.minimum(deadline[ahead], model.max_days))
    cols["p_by_deadline"] = pl.Series(p, dtype=pl.Float64).fill_nan(None)
    return pl.DataFrame(cols)


CURVE_STEP = 28  # days between the points of an item's saved finish curve (the portfolio S-curve sums them)


def curve_days(model: ForecastModel) -> np.ndarray:
    return np.arange(0, model.max_days + 1, CURVE_STEP, dtype=float)


def recalibrated(raw: np.ndarray, levels: dict[str, float] | None) -> np.ndarray:
    """Raw F mapped through the calibrated levels (piecewise linear through (0, 0), (level read for P50, 0.5),
    (level read for P80, 0.8), (1, 1)), so a curve crosses 0.5 and 0.8 on the item's P50 and P80 dates."""
    levels = levels or {}
    xs = [0.0, levels.get("p50", 0.5), levels.get("p80", 0.8), 1.0]
    ys = [0.0, 0.5, 0.8, 1.0]
    pts = sorted(set(zip(xs, ys)))
    return np.interp(raw, [x for x, _ in pts], [y for _, y in pts])


def curves(model: ForecastModel, feats: pl.DataFrame) -> np.ndarray:
    """Each item's chance of being finished by as-of + d for every d of `curve_days` (calibrated): rows × days."""
    raw = cdf(model, feats, curve_days(model))
    return recalibrated(raw, model.extra.get("levels"))


def train(con: duckdb.DuckDBPyConnection, observed_to: date | None = None,
          progress: Callable[[float, str], None] | None = None, snaps: pl.DataFrame | None = None) -> ForecastModel:
    """Fit on every snapshot up to `observed_to` (default: the data's as-of date), outcomes as known then."""
    say = progress or (lambda share, stage: None)
    end = observed_to or F.data_as_of(con)[0]
    if snaps is None:
        snaps = _snapshots(con, end, lambda done, total: say(0.6 * done / total, "forecast features"))
    rows = pairs(_with_outcomes(snaps.filter(pl.col("snapshot_date") <= end), outcomes(con)), end)
    say(0.6, "forecast fit")
    model = fit(rows, end)
    say(1.0, "forecast fit")
    return model


# ---- evaluation -------------------------------------------------------------------------------

def _bootstrap(hit: np.ndarray, item: np.ndarray, n: int = BOOTSTRAP, seed: int = RANDOM_STATE) -> tuple[float, float]:
    """95 % interval of the share of `hit` over rows, resampling items (all of an item's rows together)."""
    codes, inv = np.unique(item, return_inverse=True)
    hits = np.bincount(inv, weights=hit.astype(float), minlength=len(codes))
    counts = np.bincount(inv, minlength=len(codes)).astype(float)
    rng = np.random.default_rng(seed)
    w = rng.multinomial(len(codes), np.full(len(codes), 1 / len(codes)), size=n)
    shares = (w @ hits) / np.maximum(w @ counts, 1)
    lo, hi = np.quantile(shares, [0.025, 0.975])
    return float(lo), float(hi)


def _coverage(hit: np.ndarray, item: np.ndarray) -> dict:
    if len(hit) == 0:
        return {"n": 0, "share": None, "low": None, "high": None}
    lo, hi = _bootstrap(hit, item)
    return {"n": int(len(hit)), "n_items": int(len(np.unique(item))), "share": float(hit.mean()), "low": lo, "high": hi}


def coverage(test: pl.DataFrame, data_as_of: date) -> dict:
    """Shares finished by each forecast date, over the test rows whose date is observed (on or before
    `data_as_of`) and, for the model, not a lower bound. `test` carries p50/p80 dates and beyond flags,
    `expected_end` (the reporter's latest forecast end date, else the planned end), `actual_end_date`, `domain`."""
    out: dict = {}
    finished = test["actual_end_date"]

    def judged(date_col: str, beyond_col: str | None) -> tuple[np.ndarray, np.ndarray, pl.DataFrame]:
        keep = pl.col(date_col).is_not_null() & (pl.col(date_col) <= pl.lit(data_as_of))
        if beyond_col:
            keep = keep & ~pl.col(beyond_col)
        part = test.filter(keep)
        hit = (part["actual_end_date"].is_not_null() & (part["actual_end_date"] <= part[date_col])).fill_null(False)
        return hit.to_numpy(), part["project_id"].to_numpy(), part

    for name, col, beyond in (("p50", "p50_date", "p50_beyond"), ("p80", "p80_date", "p80_beyond"),
                              ("reported", "expected_end", None)):
        hit, item, part = judged(col, beyond)
        entry = _coverage(hit, item)
        entry["of_rows"] = test.height
        entry["by_domain"] = {}
        for dom in sorted(part["domain"].drop_nulls().unique().to_list()):
            mask = (part["domain"] == dom).fill_null(False).to_numpy()
            entry["by_domain"][dom] = _coverage(hit[mask], item[mask])
        out[name] = entry
    out["n_finished"] = int(finished.is_not_null().sum())
    return out


def forecast_cutoff(dates: list[date], data_as_of: date) -> date | None:
    """The holdout's cutoff: the snapshot three quarters along the plan, if a year or more of outcomes lies after
    it; else the one a year before the as-of date; None without a snapshot before it."""
    if len(dates) < 4:
        return None
    cutoff = dates[math.floor(0.75 * len(dates))]
    if (data_as_of - cutoff).days < 365:
        earlier = [d for d in dates if (data_as_of - d).days >= 365]
        cutoff = earlier[-1] if earlier else cutoff
    return cutoff if dates[0] < cutoff else None


def evaluate(con: duckdb.DuckDBPyConnection, cutoff: date | None = None, snaps: pl.DataFrame | None = None,
             progress: Callable[[float, str], None] | None = None) -> dict:
    """Fit with outcomes known by `cutoff` (snapshots before it), forecast every snapshot from it on, and compare
    the forecast dates with what happened by the data's as-of date (`coverage`)."""
    data_as_of, version = F.data_as_of(con)
    dates, _ = F.snapshot_plan(con, data_as_of, STEP_DAYS)
    cutoff = cutoff or forecast_cutoff(dates, data_as_of)
    if cutoff is None:
        raise ValueError("not enough history for a holdout: need snapshots on both sides of a cutoff")
    if snaps is None:
        snaps = _snapshots(con, data_as_of,
                           (lambda d, t: progress(0.5 * d / t, "forecast features")) if progress else None)
    done = outcomes(con)
    before = snaps.filter(pl.col("snapshot_date") < cutoff)
    test = snaps.filter(pl.col("snapshot_date") >= cutoff)
    n_test = test.height
    if test.height > MAX_TEST_ROWS:
        test = test.sample(MAX_TEST_ROWS, seed=RANDOM_STATE)
    if before.is_empty() or test.is_empty():
        raise ValueError(f"cutoff {cutoff} leaves no snapshot before or after it")
    done_then = done.filter(pl.col("actual_end_date") <= cutoff)
    t0 = time.perf_counter()
    model = fit(pairs(_with_outcomes(before, done_then), cutoff), cutoff)
    train_seconds = time.perf_counter() - t0
    # split conformal, by item: half the items (by a stable hash of the ID) choose the levels, the other half judge
    halves = F.item_buckets(test["project_id"]).with_columns((pl.col("_bucket") % 2 == 0).alias("_calibrate"))
    test = test.join(halves.select("project_id", "_calibrate"), on="project_id", how="left", maintain_order="left")
    cal, judge = test.filter(pl.col("_calibrate")).drop("_calibrate"), test.filter(~pl.col("_calibrate")).drop("_calibrate")
    t0 = time.perf_counter()
    levels = calibrate(model, _with_outcomes(cal, done), data_as_of)
    pred = predict(model, judge, levels)
    nominal = predict(model, judge, {f"p{round(v * 100)}": v for v in LEVELS})
    predict_seconds = time.perf_counter() - t0

    def judged_frame(p: pl.DataFrame) -> pl.DataFrame:
        return (judge.select("project_id", "snapshot_date", "domain", "days_to_expected_end")
                .with_columns((pl.col("snapshot_date")
                               + pl.duration(days=pl.col("days_to_expected_end").cast(pl.Int64))).alias("expected_end"))
                .hstack(p.drop("project_id"))
                .join(done, on="project_id", how="left"))

    uncalibrated = coverage(judged_frame(nominal), data_as_of)
    return {"cutoff": cutoff, "data_as_of": data_as_of, "data_version": version, "n_train_rows": model.n_rows,
            "max_days": model.max_days, "test_dates": (min(test["snapshot_date"]), max(test["snapshot_date"])),
            "n_test": n_test, "n_forecast": judge.height, "n_calibration": cal.height, "levels": levels,
            "coverage": coverage(judged_frame(pred), data_as_of),
            "uncalibrated": {k: uncalibrated[k]["share"] for k in ("p50", "p80")},
            "train_seconds": round(train_seconds, 1), "predict_seconds": round(predict_seconds, 1)}


def conformity(model: ForecastModel, snaps: pl.DataFrame, data_as_of: date) -> tuple[np.ndarray, np.ndarray]:
    """Per row of `snaps` (with `days_to_finish`): (F at the days watched, to `data_as_of`; F the day before the
    finish, NaN when unfinished by then). At level L a row's date is judged when F(watched) >= L (its date falls
    on or before `data_as_of`), and met when F(day before finish) < L (the first day F reaches L is not before it)."""
    x = _design(model, snaps)
    watched = np.minimum(np.array([(data_as_of - d).days for d in snaps["snapshot_date"]], dtype=float),
                         model.max_days)
    f_watched = _f(model, x, watched)
    t = snaps["days_to_finish"].cast(pl.Float64).fill_null(np.nan).to_numpy()
    finished = ~np.isnan(t) & (t <= watched)
    f_before = np.full(len(t), np.nan)
    idx = np.flatnonzero(finished)
    if len(idx):
        f_before[idx] = np.where(t[idx] <= 0, -1.0, _f(model, x.iloc[idx], np.maximum(t[idx] - 1, 0)))
    return f_watched, f_before


CALIBRATION_GRID = np.round(np.arange(0.20, 0.996, 0.005), 3)


def calibrate(model: ForecastModel, snaps: pl.DataFrame, data_as_of: date) -> dict[str, float]:
    """The level of F to read for each of LEVELS so that, on these rows (the calibration half of the holdout),
    the share met among those judged is the nominal one: the smallest level on CALIBRATION_GRID reaching it.
    Without enough judged rows (30) a level stays nominal, but never below the level chosen for a lower nominal
    one: a P80 date is never earlier than the P50 date (on thin data P50's search can pass 0.8 while P80's runs
    out of judged rows)."""
    f_watched, f_before = conformity(model, snaps, data_as_of)
    out = {}
    floor = 0.0
    for nominal in sorted(LEVELS):
        chosen = max(nominal, floor)
        for level in CALIBRATION_GRID:
            judged = f_watched >= level
            if judged.sum() < 30:
                break
            met = np.nan_to_num(f_before[judged], nan=np.inf) < level
            if met.mean() >= nominal:
                chosen = max(float(level), floor)
                break
        out[f"p{round(nominal * 100)}"] = floor = chosen
    return out


def train_with_card(con: duckdb.DuckDBPyConnection, progress: Callable[[float, str], None] | None = None
                    ) -> ForecastModel:
    """The forecast model the pages read (every outcome up to the data's as-of date), with the holdout's coverage
    (`evaluate`) in `extra["evaluation"]` when the history allows one. The snapshots' features are built once."""
    say = progress or (lambda share, stage: None)
    as_of, _ = F.data_as_of(con)
    snaps = _snapshots(con, as_of, lambda done, total: say(0.3 * done / total, "forecast"))
    evaluation = None
    try:
        say(0.3, "forecast")
        evaluation = evaluate(con, snaps=snaps)
    except ValueError as err:  # too short a history for a holdout: the card says why, the forecasts still come
        evaluation = {"error": str(err)}
    say(0.7, "forecast")
    model = train(con, as_of, snaps=snaps)
    model.extra["evaluation"] = evaluation
    if evaluation.get("levels"):  # the levels the holdout's calibration half chose, for the model the pages read
        model.extra["levels"] = evaluation["levels"]
    say(1.0, "forecast")
    return model
