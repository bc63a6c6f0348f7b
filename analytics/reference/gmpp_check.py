"""The real-data check on the UK GMPP extract (issue 21): the slip-risk classifier against the rules, and the
finish-date forecasts, each over several cutoffs and pooled, with bootstrap intervals that resample projects.

Cutoffs are the publication dates from `FIRST_CUTOFF` on from which a full year of outcomes is observed (the
horizon). At each cutoff the classifier is fitted as `model._evaluate_rows` fits it (rows whose window ends by
the cutoff) and judged two ways:

- **from the cutoff on** (`design == "from_cutoff"`): every snapshot from the cutoff to the last observed one, the
  test set of `model.evaluate`. Consecutive cutoffs share test snapshots, so pooled over cutoffs a row counts once per
  cutoff that sees it (the latest publications most often).
- **one publication ahead** (`design == "next"`): only the snapshots from the cutoff up to the next cutoff, so
  pooled over cutoffs every snapshot is judged exactly once, by the model trained just before it — what yearly
  retraining would have scored.

Within each cutoff's test set the model alerts its top k rows, k = the rows the rule flags (equal alert volume);
the margin is model hits − rule hits (hits: alerted rows that slipped). Pooled hits are the sums of the cutoffs'
hits, and the pooled margin's bootstrap resamples projects with all of a project's rows across cutoffs together.

The forecasts are `forecast.evaluate` at each cutoff, row by row (`forecast_judged` repeats its steps and keeps the
judged rows, so they can be pooled the same two ways): the share of rows finished by their P50 / P80 date among those
whose date is observed and not a lower bound, and the same for the reporters' own end dates.
"""
from __future__ import annotations

import time
from datetime import date, timedelta

import numpy as np
import polars as pl

from analytics.risk import features as F
from analytics.risk import forecast as FC
from analytics.risk import model as M

HORIZON, TOLERANCE = 365, 90
FIRST_CUTOFF = date(2016, 9, 30)  # three publications' windows (2013–15) observed before it for training
BOOTSTRAP = 2000
SEED = 0
RULES = {"rag": "rating rule (rag_ord >= 3)", "red": "red light"}
DESIGNS = ("next", "from_cutoff")
FORECASTS = ("p50", "p80", "reported")


def _flag(rule: str, test: pl.DataFrame) -> pl.Expr:
    """The rows a rule flags, as `model._evaluate_rows` reads them."""
    return (pl.col("rag_ord") >= 3).fill_null(False) if rule == "rag" else M.red_light(test)


def cutoffs(con, first: date = FIRST_CUTOFF, horizon_days: int = HORIZON) -> list[date]:
    """The snapshot dates (publication dates on a yearly extract) from `first` on with `horizon_days` observed after."""
    as_of, _ = F.data_as_of(con)
    plan, _ = F.snapshot_plan(con, as_of, M.STEP_DAYS)
    return [d for d in plan if d >= first and d + timedelta(days=horizon_days) <= as_of]


# ---- bootstrap over projects ---------------------------------------------------------------------

def _groups(project: np.ndarray) -> tuple[np.ndarray, int]:
    _, inv = np.unique(project, return_inverse=True)
    return inv, int(inv.max()) + 1 if len(inv) else 0


def _resample(n_groups: int, draws: int, seed: int) -> np.ndarray:
    """(draws × groups) counts: how often each project is drawn in each bootstrap sample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=draws) if n_groups else np.zeros((draws, 0))


def _interval(draws: np.ndarray) -> dict:
    lo90, hi90, lo95, hi95 = np.percentile(draws, [5, 95, 2.5, 97.5])
    return {"low90": float(lo90), "high90": float(hi90), "low95": float(lo95), "high95": float(hi95)}


def margin(rows: pl.DataFrame, rule: str, draws: int = BOOTSTRAP, seed: int = SEED) -> dict:
    """Hits of the model and of `rule` over `rows` (any set of cutoffs' test rows, as `classifier_rows` makes them),
    the margin, and its bootstrap over projects: 90% and 95% percentile intervals, the share of draws ahead."""
    y = rows["slipped"].to_numpy().astype(int)
    model = rows[f"{rule}_model"].to_numpy()
    flagged = rows[f"{rule}_rule"].to_numpy()
    diff = y * model.astype(int) - y * flagged.astype(int)
    return {"k": int(flagged.sum()), "k_model": int(model.sum()), "model": int((y * model).sum()),
            "rule": int((y * flagged).sum()), "margin": int(diff.sum()), "n_rows": rows.height,
            "n_slipped": int(y.sum()), **bootstrap_sum(diff, rows["project_id"].to_numpy(), draws, seed)}


def bootstrap_sum(values: np.ndarray, project: np.ndarray, draws: int = BOOTSTRAP, seed: int = SEED) -> dict:
    """The sum of `values` over rows, bootstrapped by resampling projects (all of a project's rows together): 90% and
    95% percentile intervals and the shares of draws above and below zero. Projects are taken in sorted order, so
    the same rows and seed give the same draws in every run."""
    inv, n = _groups(project)
    per_project = np.bincount(inv, weights=np.asarray(values, dtype=float), minlength=n)
    sums = _resample(n, draws, seed) @ per_project
    return {"n_projects": n, **_interval(sums), "share_ahead": float((sums > 0).mean()),
            "share_behind": float((sums < 0).mean())}


def share(hit: np.ndarray, project: np.ndarray, draws: int = BOOTSTRAP, seed: int = SEED) -> dict:
    """Share of `hit` over rows, with a bootstrap over projects (all of a project's rows together)."""
    if len(hit) == 0:
        return {"n": 0, "n_projects": 0, "hits": 0, "share": None}
    inv, n = _groups(project)
    hits = np.bincount(inv, weights=hit.astype(float), minlength=n)
    counts = np.bincount(inv, minlength=n).astype(float)
    w = _resample(n, draws, seed)
    shares = (w @ hits) / np.maximum(w @ counts, 1)
    return {"n": int(len(hit)), "n_projects": n, "hits": int(hit.sum()), "share": float(hit.mean()),
            **_interval(shares)}


# ---- the classifier ------------------------------------------------------------------------------

def _alerts(test: pl.DataFrame, p: np.ndarray) -> pl.DataFrame:
    """Per test row: whether each rule flags it, and whether it is among the model's top k (k = the rule's count)."""
    order = np.argsort(-p, kind="stable")
    cols = {}
    for rule in RULES:
        flagged = M._rule_order(test, _flag(rule, test))
        rule_col = np.zeros(test.height, dtype=bool)
        rule_col[flagged] = True
        model_col = np.zeros(test.height, dtype=bool)
        model_col[order[:len(flagged)]] = True
        cols[f"{rule}_rule"], cols[f"{rule}_model"] = rule_col, model_col
    return (test.select("project_id", "snapshot_date", "slipped")
            .with_columns(pl.Series("p", p, dtype=pl.Float64), *[pl.Series(k, v) for k, v in cols.items()]))


def classifier_rows(con, cuts: list[date], horizon_days: int = HORIZON,
                    tolerance_days: int = TOLERANCE) -> tuple[pl.DataFrame, dict[date, dict], pl.DataFrame]:
    """Test rows of every cutoff in both designs (columns cutoff, design, project_id, snapshot_date, slipped, p,
    {rule}_rule, {rule}_model), per cutoff the fit's facts (training rows and dates, seconds), and the labels per
    snapshot date (`snapshot_labels`)."""
    as_of, version = F.data_as_of(con)
    plan, _ = F.snapshot_plan(con, as_of, M.STEP_DAYS)
    rows = F.training_frame(con, [d for d in plan if d + timedelta(days=horizon_days) <= as_of],
                            horizon_days, tolerance_days)
    frames, fits = [], {}
    with M.limited_threads():
        for i, cutoff in enumerate(cuts):
            train = rows.filter(pl.col("snapshot_date") + pl.duration(days=horizon_days) <= cutoff)
            t0 = time.perf_counter()
            model = M._fit(train, horizon_days, tolerance_days, sorted(set(train["snapshot_date"])), version, as_of)
            fits[cutoff] = {"n_train": train.height, "train_dates": (min(train["snapshot_date"]),
                                                                     max(train["snapshot_date"])),
                            "train_slip_rate": model.base_rate, "fit_seconds": time.perf_counter() - t0}
            nxt = cuts[i + 1] if i + 1 < len(cuts) else None
            tests = {"from_cutoff": rows.filter(pl.col("snapshot_date") >= cutoff),
                     "next": rows.filter((pl.col("snapshot_date") >= cutoff)
                                         & (pl.col("snapshot_date") < nxt if nxt else pl.lit(True)))}
            for design, test in tests.items():
                frames.append(_alerts(test, M.predict(model, test))
                              .with_columns(pl.lit(cutoff).alias("cutoff"), pl.lit(design).alias("design")))
    return pl.concat(frames, how="vertical_relaxed"), fits, snapshot_labels(rows, plan, horizon_days)


def classifier_check(con, cuts: list[date] | None = None) -> dict:
    """Per design: per cutoff and pooled, the margin of each rule (`margin`)."""
    cuts = cuts or cutoffs(con)
    rows, fits, snapshots = classifier_rows(con, cuts)
    out: dict = {"cutoffs": cuts, "fits": fits, "rows": rows, "snapshots": snapshots}
    for design in DESIGNS:
        part = rows.filter(pl.col("design") == design)
        out[design] = {"per_cutoff": {c: {rule: margin(part.filter(pl.col("cutoff") == c), rule) for rule in RULES}
                                      | {"test_dates": _span(part.filter(pl.col("cutoff") == c))} for c in cuts},
                       "pooled": {rule: margin(part, rule) for rule in RULES}}
    return out


def snapshot_labels(rows: pl.DataFrame, plan: list[date], horizon_days: int = HORIZON) -> pl.DataFrame:
    """Per snapshot date of the labelled `rows`: rows, slip rate, and the days to the next date of `plan` (the next
    publication). A row can only be seen to slip through a later report inside its window (or by running past its
    end), so a snapshot whose next publication lies beyond the horizon has labels that are mostly "no slip"."""
    nxt = {d: next((e for e in plan if e > d), None) for d in set(rows["snapshot_date"])}
    per_date = (rows.group_by("snapshot_date").agg(pl.len().alias("rows"), pl.col("slipped").mean().alias("slip_rate"))
                .sort("snapshot_date"))
    gaps = [(nxt[d] - d).days if nxt[d] else None for d in per_date["snapshot_date"]]
    return (per_date.with_columns(pl.Series("days_to_next", gaps, dtype=pl.Int64))
            .with_columns((pl.col("days_to_next") <= horizon_days).fill_null(False).alias("next_in_window")))


def _span(frame: pl.DataFrame) -> tuple[date, date]:
    return min(frame["snapshot_date"]), max(frame["snapshot_date"])


# ---- the finish-date forecasts -------------------------------------------------------------------

def forecast_judged(con, cutoff: date, snaps: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """`forecast.evaluate(con, cutoff, snaps=snaps)` row by row: its judging half of the test snapshots with the
    calibrated P50 / P80 dates (and lower-bound flags), the reporter's end date (`expected_end`) and the outcome;
    plus the facts (training rows, levels). Raises ValueError as `evaluate` does."""
    data_as_of, _ = F.data_as_of(con)
    done = FC.outcomes(con)
    before = snaps.filter(pl.col("snapshot_date") < cutoff)
    test = snaps.filter(pl.col("snapshot_date") >= cutoff)
    if test.height > FC.MAX_TEST_ROWS:
        test = test.sample(FC.MAX_TEST_ROWS, seed=FC.RANDOM_STATE)
    if before.is_empty() or test.is_empty():
        raise ValueError(f"cutoff {cutoff} leaves no snapshot before or after it")
    model = FC.fit(FC.pairs(FC._with_outcomes(before, done.filter(pl.col("actual_end_date") <= cutoff)), cutoff),
                   cutoff)
    halves = F.item_buckets(test["project_id"]).with_columns((pl.col("_bucket") % 2 == 0).alias("_calibrate"))
    test = test.join(halves.select("project_id", "_calibrate"), on="project_id", how="left", maintain_order="left")
    cal = test.filter(pl.col("_calibrate")).drop("_calibrate")
    judge = test.filter(~pl.col("_calibrate")).drop("_calibrate")
    levels = FC.calibrate(model, FC._with_outcomes(cal, done), data_as_of)
    pred = FC.predict(model, judge, levels)
    frame = (judge.select("project_id", "snapshot_date", "domain", "days_to_expected_end")
             .with_columns((pl.col("snapshot_date")
                            + pl.duration(days=pl.col("days_to_expected_end").cast(pl.Int64))).alias("expected_end"))
             .hstack(pred.drop("project_id"))
             .join(done, on="project_id", how="left"))
    return frame, {"n_train_rows": model.n_rows, "max_days": model.max_days, "levels": levels,
                   "n_test": test.height, "n_forecast": judge.height, "n_calibration": cal.height}


def judged_hits(frame: pl.DataFrame, data_as_of: date) -> dict[str, pl.DataFrame]:
    """Per forecast (p50, p80, reported): the rows whose date is observed (and, for the model, not a lower bound),
    with `hit` = finished by that date; as `forecast.coverage` counts them."""
    out = {}
    for name, col, beyond in (("p50", "p50_date", "p50_beyond"), ("p80", "p80_date", "p80_beyond"),
                              ("reported", "expected_end", None)):
        keep = pl.col(col).is_not_null() & (pl.col(col) <= pl.lit(data_as_of))
        if beyond:
            keep = keep & ~pl.col(beyond)
        out[name] = (frame.filter(keep)
                     .with_columns((pl.col("actual_end_date").is_not_null()
                                    & (pl.col("actual_end_date") <= pl.col(col))).fill_null(False).alias("hit"),
                                   pl.col(col).alias("forecast_date")))
    return out


def forecast_check(con, cuts: list[date] | None = None) -> dict:
    """Per cutoff (both designs, as for the classifier) and pooled: the coverage of P50, P80 and the reporters' dates
    (`share`). A cutoff where `forecast.evaluate` would raise ValueError is kept with its message under "errors"."""
    cuts = cuts or cutoffs(con)
    data_as_of, _ = F.data_as_of(con)
    snaps = FC._snapshots(con, data_as_of)
    parts, facts, errors = [], {}, {}
    with M.limited_threads():
        for i, cutoff in enumerate(cuts):
            try:
                frame, facts[cutoff] = forecast_judged(con, cutoff, snaps)
            except ValueError as err:
                errors[cutoff] = str(err)
                continue
            nxt = cuts[i + 1] if i + 1 < len(cuts) else None
            parts.append(frame.with_columns(pl.lit(cutoff).alias("cutoff"),
                                            (pl.col("snapshot_date") < nxt if nxt else pl.lit(True)).alias("next")))
    rows = pl.concat(parts, how="vertical_relaxed") if parts else None
    plan, _ = F.snapshot_plan(con, data_as_of, M.STEP_DAYS)
    out: dict = {"cutoffs": cuts, "facts": facts, "errors": errors, "data_as_of": data_as_of, "rows": rows,
                 "card_cutoff": FC.forecast_cutoff(plan, data_as_of)}
    if rows is None:
        return out
    hits = judged_hits(rows, data_as_of)
    out["hits"] = hits
    for design in DESIGNS:
        keep = pl.col("next") if design == "next" else pl.lit(True)
        out[design] = {"per_cutoff": {c: {name: _share(h.filter(keep & (pl.col("cutoff") == c)))
                                          for name, h in hits.items()} for c in facts},
                       "pooled": {name: _share(h.filter(keep)) for name, h in hits.items()}}
    return out


def _share(part: pl.DataFrame) -> dict:
    return share(part["hit"].to_numpy(), part["project_id"].to_numpy())
