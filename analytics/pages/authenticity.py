"""数据真实性 / Report authenticity: progress reports that look beautified or copied.

Explainable rules, each a pattern an analyst can check on the item's chart (`PATTERNS`):
  flat_while_spending   — the same progress value `Rules.flat_reports` reports or more in a row (at least
                          `Rules.flat_min_pct` %, below 100 %) while cumulative spending rose by at least
                          `Rules.flat_spent_share` of the budget over the run: copied reports;
  jump_to_plan          — progress leaps by at least `Rules.jump_pp` points (and several times the item's usual
                          step) onto the plan (within `Rules.plan_tolerance_pp`) in the `Rules.before_days` days
                          before the planned end or an inspection campaign (`INSPECTION_DAYS`);
  ahead_of_spending     — latest progress `Rules.ahead_pp` points or more above the share of the budget spent,
                          with at least `Rules.ahead_min_pct` % reported done;
  done_milestones_unmet — the first report of `Rules.done_pct` % or more while milestones due by then and not met
                          weigh more than the work the report says is left (plus `Rules.unmet_margin`);
  unusual_pattern       — the IsolationForest (fixed random_state) finds the item's report features among the
                          most unusual `Rules.model_share` of items.
Department flag (`smoother_than_peers`): a lead department in a province whose items' weekly steps vary much
less than the same department's elsewhere (robust z-score ≤ `Rules.smooth_z`, at least `Rules.smooth_min_items`
items).
Data credibility (0–100) = 100 − the penalty of each item pattern matched (`PENALTY`), floored at 0; bands
high ≥ 80, medium ≥ 50, low below. Features use only reports dated on or before the as-of date.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import polars as pl

from analytics import quality
from analytics.db import queries
from analytics.filters import Filters
from analytics.levels import child_level
from analytics.metrics import Selection
from analytics.db.queries import Scope

ITEM_PATTERNS = ("flat_while_spending", "jump_to_plan", "ahead_of_spending", "done_milestones_unmet", "unusual_pattern")
DEPT_PATTERNS = ("smoother_than_peers",)
PATTERNS = ITEM_PATTERNS + DEPT_PATTERNS
PENALTY = {"flat_while_spending": 35, "jump_to_plan": 30, "ahead_of_spending": 20, "done_milestones_unmet": 15,
           "unusual_pattern": 25}
INSPECTION_DAYS = ((6, 20), (11, 20))  # (month, day) of the yearly inspection campaigns (an assumption; editable here)
BANDS = ((80, "high"), (50, "medium"), (0, "low"))
MODEL_FEATURES = ("n_reports", "zero_step_share", "longest_flat", "max_step", "max_step_ratio", "on_plan_share",
                  "mean_gap_pp", "spend_minus_progress", "step_cv")


@dataclass(frozen=True)
class Rules:
    flat_reports: int = 4  # identical values in a row (3 repeats of the first)
    flat_min_pct: float = 5.0  # a value still near 0 is a slow start, not a copy
    flat_spent_share: float = 0.05  # spending rose by at least this share of the budget over the run
    jump_pp: float = 10.0
    jump_ratio: float = 4.0  # times the item's median positive step
    plan_tolerance_pp: float = 2.0
    before_days: int = 21
    ahead_pp: float = 40.0
    ahead_min_pct: float = 50.0
    done_pct: float = 95.0
    unmet_margin: float = 0.3  # unmet milestone weight beyond the work reported left
    model_share: float = 0.03
    smooth_z: float = -2.5
    smooth_min_items: int = 5
    random_state: int = 0


RULES = Rules()


@dataclass(frozen=True)
class Analysis:
    items: pl.DataFrame  # one row per item with reports: features, flags (bool per pattern), credibility, band
    depts: pl.DataFrame  # one row per (province, lead department): n_items, step_cv, z, smoother_than_peers
    evidence: pl.DataFrame  # one row per item and pattern: first date and a short measured fact


def _inspection_dates(years: range) -> list[date]:
    return [date(y, m, d) for y in years for m, d in INSPECTION_DAYS]


def report_features(reports: pl.DataFrame, items: pl.DataFrame, milestones: pl.DataFrame,
                    rules: Rules = RULES) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per item: the model features and each rule's verdict; and the evidence rows."""
    r = reports.with_columns(
        (pl.col("actual_pct") - pl.col("prev_actual_pct")).alias("step"),
        (pl.col("spent_wan_yuan") - pl.col("prev_spent_wan_yuan")).alias("spent_step"),
        (pl.col("planned_pct") - pl.col("actual_pct")).alias("gap"),
    ).with_columns(
        ((pl.col("step") == 0) & (pl.col("actual_pct") > 0) & (pl.col("actual_pct") < 100)).alias("is_flat"))
    # runs of identical values: a run id changes whenever a report is not flat
    r = r.with_columns((~pl.col("is_flat")).cum_sum().over("project_id").alias("run"))
    runs = (r.group_by("project_id", "run")
            .agg(pl.col("is_flat").sum().alias("n_flat"), pl.col("spent_step").filter(pl.col("is_flat")).sum().alias("spent_moved"),
                 pl.col("report_date").filter(pl.col("is_flat")).min().alias("flat_from"),
                 pl.col("actual_pct").filter(pl.col("is_flat")).first().alias("flat_value"))
            .filter(pl.col("n_flat") > 0))
    budget = items.select("project_id", pl.col("budget_wan_yuan").fill_null(0))
    flat = (runs.join(budget, on="project_id", how="left")
            .filter((pl.col("n_flat") + 1 >= rules.flat_reports) & (pl.col("flat_value") >= rules.flat_min_pct)
                    & (pl.col("spent_moved") > rules.flat_spent_share * pl.col("budget_wan_yuan").fill_null(0))
                    & (pl.col("spent_moved") > 0))
            .sort("flat_from").group_by("project_id", maintain_order=True)
            .agg(pl.col("flat_from").first().alias("date"), (pl.col("n_flat") + 1).max().alias("n_same"),
                 pl.col("flat_value").first().alias("value"), pl.col("spent_moved").first().alias("spent_moved")))
    longest = runs.group_by("project_id").agg((pl.col("n_flat").max() + 1).alias("longest_flat"))

    med = (r.filter(pl.col("step") > 0).group_by("project_id")
           .agg(pl.col("step").median().alias("median_step"), pl.col("step").std().alias("step_sd"),
                pl.col("step").mean().alias("step_mean")))
    years = range(r["report_date"].min().year, r["report_date"].max().year + 1) if r.height else range(0)
    insp = pl.DataFrame({"inspection": _inspection_dates(years)}, schema={"inspection": pl.Date})
    it = items.select("project_id", "planned_end_date", "budget_wan_yuan", "lead_dept", "region_code", "status")
    rj = r.join(med, on="project_id", how="left").join(it.select("project_id", "planned_end_date"), on="project_id")
    near_deadline = ((pl.col("planned_end_date") - pl.col("report_date")).dt.total_days().is_between(0, rules.before_days))
    jumps = rj.filter((pl.col("step") >= rules.jump_pp)
                      & (pl.col("step") >= rules.jump_ratio * pl.col("median_step").fill_null(0))
                      & (pl.col("gap").abs() <= rules.plan_tolerance_pp) & (pl.col("actual_pct") < 100))
    if insp.height and jumps.height:
        near_insp = (jumps.select("project_id", "report_date").join(insp, how="cross")
                     .filter((pl.col("inspection") - pl.col("report_date")).dt.total_days().is_between(0, rules.before_days))
                     .select("project_id", "report_date").unique().with_columns(pl.lit(True).alias("near_insp")))
        jumps = jumps.join(near_insp, on=["project_id", "report_date"], how="left")
    else:
        jumps = jumps.with_columns(pl.lit(None, pl.Boolean).alias("near_insp"))
    jumps = (jumps.filter(near_deadline | pl.col("near_insp").fill_null(False)).sort("report_date")
             .group_by("project_id", maintain_order=True)
             .agg(pl.col("report_date").first().alias("date"), pl.col("step").first().alias("step"),
                  pl.col("actual_pct").first().alias("value")))

    last = r.sort("report_date").group_by("project_id").agg(
        pl.col("report_date").last().alias("last_date"), pl.col("actual_pct").last().alias("last_pct"),
        pl.col("spent_wan_yuan").drop_nulls().last().alias("last_spent"), pl.len().alias("n_reports"),
        pl.col("is_flat").mean().alias("zero_step_share"), pl.col("step").max().alias("max_step"),
        (pl.col("gap").abs() <= 0.5).mean().alias("on_plan_share"), pl.col("gap").mean().alias("mean_gap_pp"))
    last = last.join(it.select("project_id", "budget_wan_yuan"), on="project_id", how="left").with_columns(
        pl.when(pl.col("budget_wan_yuan") > 0).then(pl.col("last_pct") - 100 * pl.col("last_spent") / pl.col("budget_wan_yuan"))
        .alias("spend_minus_progress"))
    ahead = last.filter((pl.col("spend_minus_progress") >= rules.ahead_pp) & (pl.col("last_pct") >= rules.ahead_min_pct))

    first_done = (r.filter(pl.col("actual_pct") >= rules.done_pct).group_by("project_id")
                  .agg(pl.col("report_date").min().alias("done_date"), pl.col("actual_pct").sort_by("report_date").first().alias("value")))
    # unmet: milestones due by then and not met carry more of the work than the report says is left
    unmet = (first_done.join(milestones, on="project_id")
             .filter((pl.col("planned_date") <= pl.col("done_date"))
                     & (pl.col("actual_date").is_null() | (pl.col("actual_date") > pl.col("done_date"))))
             .group_by("project_id").agg(pl.col("done_date").first().alias("date"), pl.col("value").first(),
                                         pl.len().alias("n_unmet"), pl.col("weight").fill_null(0).sum().alias("w_unmet"))
             .filter(pl.col("w_unmet") > (100 - pl.col("value")) / 100 + rules.unmet_margin))

    feats = (last.join(longest, on="project_id", how="left").join(med, on="project_id", how="left")
             .with_columns(pl.col("longest_flat").fill_null(1),
                           (pl.col("max_step") / pl.col("median_step")).alias("max_step_ratio"),
                           (pl.col("step_sd") / pl.col("step_mean")).alias("step_cv")))
    feats = feats.sort("project_id")  # a fixed row order: the forest's subsamples (and so its verdicts) depend on it
    flags = {"flat_while_spending": flat, "jump_to_plan": jumps, "ahead_of_spending": ahead,
             "done_milestones_unmet": unmet}
    for name, frame in flags.items():
        feats = feats.with_columns(pl.col("project_id").is_in(frame["project_id"].to_list()).alias(name))
    evidence = pl.concat([
        flat.select("project_id", pl.lit("flat_while_spending").alias("pattern"), "date", pl.col("value").alias("value"),
                    pl.col("n_same").cast(pl.Float64).alias("amount")),
        jumps.select("project_id", pl.lit("jump_to_plan").alias("pattern"), "date", "value", pl.col("step").alias("amount")),
        ahead.select("project_id", pl.lit("ahead_of_spending").alias("pattern"), pl.col("last_date").alias("date"),
                     pl.col("last_pct").alias("value"), pl.col("spend_minus_progress").alias("amount")),
        unmet.select("project_id", pl.lit("done_milestones_unmet").alias("pattern"), "date", "value",
                     pl.col("n_unmet").cast(pl.Float64).alias("amount")),
    ], how="vertical_relaxed")
    return feats, evidence


def model_scores(feats: pl.DataFrame, rules: Rules = RULES) -> np.ndarray:
    """IsolationForest anomaly score per item (higher = more unusual), NaN-free features median-imputed."""
    from sklearn.ensemble import IsolationForest
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    if feats.height < 20:
        return np.zeros(feats.height)
    X = feats.select([pl.col(c).cast(pl.Float64) for c in MODEL_FEATURES]).to_numpy()
    X = np.where(np.isfinite(X), X, np.nan)
    model = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                          IsolationForest(n_estimators=200, random_state=rules.random_state))
    model.fit(X)
    return -model.score_samples(X)


def dept_smoothness(feats: pl.DataFrame, rules: Rules = RULES) -> pl.DataFrame:
    """Per (province, lead department): median step variability of its items and its robust z-score among
    the same department's provinces; smoother_than_peers when far below."""
    g = (feats.filter(pl.col("step_cv").is_not_null())
         .group_by(pl.col("region_code").str.slice(0, 2).alias("province2"), "lead_dept")
         .agg(pl.len().cast(pl.Int64).alias("n_items"), pl.col("step_cv").median().alias("step_cv")))
    peers = g.filter(pl.col("n_items") >= rules.smooth_min_items)
    stats = peers.group_by("lead_dept").agg(pl.col("step_cv").median().alias("peer_cv"),
                                            (pl.col("step_cv") - pl.col("step_cv").median()).abs().median().alias("mad"),
                                            pl.len().alias("n_peers"))
    out = g.join(stats, on="lead_dept", how="left").with_columns(
        ((pl.col("step_cv") - pl.col("peer_cv")) / (1.4826 * pl.col("mad"))).alias("z"))
    return out.with_columns(((pl.col("z") <= rules.smooth_z) & (pl.col("n_items") >= rules.smooth_min_items)
                             & (pl.col("n_peers") >= 5)).fill_null(False).alias("smoother_than_peers")
                            ).with_columns((pl.col("province2") + "0000").alias("province_code")).drop("province2")


def credibility(flags: pl.DataFrame) -> pl.DataFrame:
    score = pl.lit(100)
    for p in ITEM_PATTERNS:
        score = score - pl.when(pl.col(p)).then(PENALTY[p]).otherwise(0)
    score = pl.max_horizontal(score, pl.lit(0)).cast(pl.Int64)
    band = pl.when(score >= BANDS[0][0]).then(pl.lit("high")).when(score >= BANDS[1][0]).then(pl.lit("medium")).otherwise(pl.lit("low"))
    return flags.with_columns(score.alias("credibility"), band.alias("band"),
                              pl.sum_horizontal([pl.col(p).cast(pl.Int64) for p in ITEM_PATTERNS]).alias("n_patterns"))


def analyse(cur: duckdb.DuckDBPyConnection, scope: Scope, as_of: date, rules: Rules = RULES) -> Analysis:
    """Every item with reports in the scope, flagged; cached on the data version."""
    def compute() -> Analysis:
        f = Filters()
        items = queries.run(cur, "quality_items", f, scope, as_of)
        reports = queries.run(cur, "quality_reports", f, scope, as_of)
        ms = queries.run(cur, "quality_milestones", f, scope, as_of)
        feats, evidence = report_features(reports, items, ms, rules)
        scores = model_scores(feats, rules)
        cut = np.quantile(scores, 1 - rules.model_share) if scores.size and scores.any() else np.inf
        feats = feats.with_columns(pl.Series("model_score", np.round(scores, 4)),
                                   pl.Series("unusual_pattern", scores >= cut, dtype=pl.Boolean))
        model_rows = feats.filter("unusual_pattern").select(
            "project_id", pl.lit("unusual_pattern").alias("pattern"), pl.col("last_date").alias("date"),
            pl.col("last_pct").alias("value"), pl.col("model_score").alias("amount"))
        evidence = pl.concat([evidence, model_rows], how="vertical_relaxed").sort("project_id", "pattern")
        depts = dept_smoothness(feats.join(items.select("project_id", "region_code", "lead_dept"), on="project_id"), rules)
        out = credibility(feats.join(items.select("project_id", "name", "region_code", "region_name", "domain",
                                                  "lead_dept", "status", "planned_end_date"), on="project_id"))
        return Analysis(out.sort("credibility", "project_id"), depts, evidence)

    if rules != RULES:
        return compute()
    return quality.cached("authenticity", cur, scope, as_of, compute)


FLAGGED_BELOW = BANDS[0][0]  # an item is flagged when its credibility is below "high"


@dataclass(frozen=True)
class Page:
    flagged: pl.DataFrame  # items under the filters with credibility below FLAGGED_BELOW, least credible first
    by_pattern: pl.DataFrame  # pattern, n_items (under the filters)
    by_dept: pl.DataFrame  # lead_dept: n_items, n_flagged, share, n_smoother_provinces
    by_region: pl.DataFrame  # child region: n_items, n_flagged, share
    smoother: pl.DataFrame  # (province, department) groups smoother than their peers, in the filters' regions
    evidence: pl.DataFrame  # evidence rows of the flagged items
    n_items: int  # items with progress reports under the filters
    group_level: str
    universe: frozenset = frozenset()  # every item with reports in scope (for evaluation)
    all_flagged: frozenset = frozenset()


def page(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict | None = None) -> Page:

    # over more than COCKPIT_QUALITY_MAX_ITEMS items, per the filters' region (TooLarge without one)
    whole = analyse(cur, quality.analysis_scope(cur, sel.scope, sel.filters.region_code, sel.as_of), sel.as_of)
    shown = set(queries.run(cur, "quality_filtered_ids", sel.filters, sel.scope, sel.as_of)["project_id"])
    items = whole.items.filter(pl.col("project_id").is_in(list(shown)))
    flagged = items.filter(pl.col("credibility") < FLAGGED_BELOW).sort(["credibility", "project_id"])
    by_pattern = pl.DataFrame({"pattern": list(ITEM_PATTERNS),
                               "n_items": [int(items[p].sum()) for p in ITEM_PATTERNS]},
                              schema={"pattern": pl.Utf8, "n_items": pl.Int64})
    is_flag = pl.col("credibility") < FLAGGED_BELOW
    regions = {r for r in items["region_code"].str.slice(0, 2)}
    smoother = whole.depts.filter(pl.col("smoother_than_peers")
                                  & pl.col("province_code").str.slice(0, 2).is_in(list(regions))
                                  & (pl.col("lead_dept").is_in(items["lead_dept"].unique().to_list())))
    n_smooth = smoother.group_by("lead_dept").agg(pl.len().cast(pl.Int64).alias("n_smoother_provinces"))
    by_dept = (items.group_by("lead_dept").agg(pl.len().cast(pl.Int64).alias("n_items"),
                                               is_flag.sum().cast(pl.Int64).alias("n_flagged"),
                                               pl.col("credibility").mean().alias("mean_credibility"))
               .with_columns((pl.col("n_flagged") / pl.col("n_items")).alias("share"))
               .join(n_smooth, on="lead_dept", how="left").with_columns(pl.col("n_smoother_provinces").fill_null(0))
               .sort(["share", "n_items", "lead_dept"], descending=[True, True, False]))
    region = sel.filters.region_code
    level = child_level(cur, region) or "county"
    mapping = queries.run(cur, "quality_child_regions", sel.filters, sel.scope, sel.as_of,
                          group_level=level, total_code=region or "100000")
    by_region = (items.join(mapping, on="region_code", how="inner")
                 .group_by("child_code", "child_name")
                 .agg(pl.len().cast(pl.Int64).alias("n_items"), is_flag.sum().cast(pl.Int64).alias("n_flagged"),
                      pl.col("credibility").mean().alias("mean_credibility"))
                 .with_columns((pl.col("n_flagged") / pl.col("n_items")).alias("share"))
                 .rename({"child_code": "region_code", "child_name": "region_name"})
                 .sort(["share", "n_items", "region_code"], descending=[True, True, False]))
    evidence = whole.evidence.filter(pl.col("project_id").is_in(flagged["project_id"].to_list()))
    return Page(flagged, by_pattern, by_dept, by_region, smoother, evidence, items.height, level,
                frozenset(whole.items["project_id"]),
                frozenset(whole.items.filter(pl.col("credibility") < FLAGGED_BELOW)["project_id"]))


def item_credibility(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict | None = None, *,
                     project_id: str) -> dict | None:
    """One item's credibility, band, patterns and evidence (None when it has no progress reports in scope);
    among its province's items when the whole scope is too large for one analysis."""
    province = queries.run(cur, "item_province", Filters(), sel.scope, sel.as_of, project_id=project_id)
    if province.is_empty():
        return None
    try:
        scope = quality.analysis_scope(cur, sel.scope, province["province_code"][0], sel.as_of)
    except quality.TooLarge:
        return None
    whole = analyse(cur, scope, sel.as_of)
    row = whole.items.filter(pl.col("project_id") == project_id)
    if row.is_empty():
        return None
    r = row.row(0, named=True)
    return {"credibility": r["credibility"], "band": r["band"],
            "patterns": [p for p in ITEM_PATTERNS if r[p]],
            "evidence": whole.evidence.filter(pl.col("project_id") == project_id).to_dicts()}
