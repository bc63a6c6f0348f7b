"""The risk page's data: scored items in the selection, flags per region one level below it, and the
model card read from the scores' sidecar (computed at training time, never on a page view).

`page` is the block behind `ctx.block("risk", ...)`: it reads the scores saved beside the model
(`scores.scoped`, a scoped named query), joins them to the selection's items in flight (`item_lights`, scoped), and counts high
and medium flags per region one level below the selection beside the metrics' own counts of items in
flight and red lights for the same regions (`metrics.region_table`), so the two never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import duckdb
import numpy as np
import polars as pl

from analytics import metrics
from analytics.db import queries
from analytics.levels import child_level
from analytics.risk import scores

SCORE_COLUMNS = ("project_id", "probability", "band", "top_reasons", *scores.FORECAST_COLUMNS)


@dataclass(frozen=True)
class RiskPage:
    flagged: pl.DataFrame        # items in flight in the selection with a score, most likely to slip first
    regions: pl.DataFrame | None  # one row per region one level below the selection (None at county level)
    level: str | None            # that level
    meta: dict                   # the scores' sidecar: model file, data version, evaluation, bands
    s_curve: pl.DataFrame | None = None  # the portfolio's finish forecast by date (`s_curve`); None without curves


def page(cur: duckdb.DuckDBPyConnection, sel: metrics.Selection, weights: dict, db_path: str = "",
         version: int = 0, stamp: str = "") -> RiskPage | None:
    """None when no model has scored this data version. `stamp` (the sidecar's trained_at) is only part
    of the cache key, so a retraining on the same data version shows at once."""
    scored = scores.scoped(cur, sel, db_path, version)
    meta = scores.load_meta(db_path, version)
    if scored is None or meta is None:
        return None
    items = queries.run(cur, "item_lights", sel.filters, sel.scope, sel.as_of, **sel.thresholds.params())
    when = ["as_of"] if "as_of" in scored.columns else []  # the scores' date (the S-curve starts there)
    flagged = (items.join(scores.with_forecast_columns(scored).select(*SCORE_COLUMNS, *when), on="project_id",
                          how="inner")
               .with_columns((pl.col("p80_date") - pl.col("planned_end_date")).dt.total_days().alias("p80_late_days"))
               .sort(["probability", "project_id"], descending=[True, False]))
    level = child_level(cur, sel.filters.region_code)
    regions = flags_by_region(cur, sel, flagged, level, weights) if level else None
    saved = scores.curves(cur, sel, db_path, version) if when else None
    curve = s_curve(flagged, *saved) if saved is not None else None
    return RiskPage(flagged, regions, level, meta, curve)


def s_curve(items: pl.DataFrame, curves: pl.DataFrame, step_days: int) -> pl.DataFrame | None:
    """The portfolio S-curve over a fixed population, the selection's scored items in flight (`items`, with
    planned_end_date, p50/p80 dates and flags, as_of): for each date every `step_days` from the scores' date, how
    many the plan has finished (planned end on or before it), how many are expected finished (the sum of the items'
    calibrated finish curves), and how many are 50 % / 80 % sure to be (their P50 / P80 date on or before it; a
    lower-bound date never counts). It ends once 99 % are expected finished, or at the curves' end. None when no
    item has a curve."""
    rows = items.select("project_id", "planned_end_date", "p50_date", "p50_beyond", "p80_date", "p80_beyond",
                        "as_of").join(curves, on="project_id", how="inner").filter(pl.col("finish_curve").is_not_null())
    if rows.is_empty():
        return None
    width = min(len(c) for c in rows["finish_curve"])
    matrix = np.vstack([np.asarray(c[:width], dtype=float) for c in rows["finish_curve"]])
    start = rows["as_of"][0]
    dates = [start + timedelta(days=step_days * k) for k in range(width)]
    expected = matrix.sum(axis=0)
    n = rows.height
    cut = int(np.argmax(expected >= 0.99 * n)) + 1 if (expected >= 0.99 * n).any() else width

    def by(col: str, beyond: str | None = None) -> np.ndarray:
        ok = rows[col].is_not_null()
        if beyond:
            ok = ok & ~rows[beyond].fill_null(False)
        when = np.array([d.toordinal() for d in rows.filter(ok)[col]], dtype=np.int64)
        grid = np.array([d.toordinal() for d in dates], dtype=np.int64)
        return np.searchsorted(np.sort(when), grid, side="right")

    return pl.DataFrame({"date": dates, "planned": by("planned_end_date"), "expected": expected,
                         "sure50": by("p50_date", "p50_beyond"), "sure80": by("p80_date", "p80_beyond"),
                         "n": [n] * width},
                        schema={"date": pl.Date, "planned": pl.Int64, "expected": pl.Float64, "sure50": pl.Int64,
                                "sure80": pl.Int64, "n": pl.Int64}).head(cut)


def flags_by_region(cur: duckdb.DuckDBPyConnection, sel: metrics.Selection, flagged: pl.DataFrame, level: str,
                    weights: dict | None = None) -> pl.DataFrame:
    """Per region at `level` in the selection: items in flight and red lights (from `metrics.region_table`),
    items scored, and high / medium flags; regions with most high flags first."""
    base = metrics.region_table(cur, sel, level, weights).select("region_code", "name", "n_in_flight", "n_red")
    child = queries.run(cur, "risk_child_regions", sel.filters, sel.scope, sel.as_of, group_level=level,
                        total_code=sel.filters.region_code or "100000")
    counts = (flagged.select("project_id", "region_code", "band")
              .join(child.select("region_code", "child_code"), on="region_code", how="inner")
              .group_by("child_code")
              .agg(pl.len().alias("n_scored"),
                   (pl.col("band") == "high").sum().alias("n_high"),
                   (pl.col("band") == "medium").sum().alias("n_medium"))
              .rename({"child_code": "region_code"}))
    return (base.join(counts, on="region_code", how="left")
            .with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in ("n_scored", "n_high", "n_medium"))
            .sort(["n_high", "n_medium", "region_code"], descending=[True, True, False]))


def card_rows(evaluation: dict) -> pl.DataFrame:
    """The model card's comparison as rows: one per ranking (model, red-light rule, reported RAG) with
    precision and recall at the alert budget, precision at the rule's own volume, and lead time."""
    e = evaluation
    rows = []
    for key, budget, volume, lead in (("model", "model_at_budget", None, "model"),
                                      ("red_light", "red_light_at_budget", "red_light_at_its_volume", "red_light"),
                                      ("rag_red", "rag_red_at_budget", "rag_red_at_its_volume", "rag_red")):
        b, lt = e[budget], e["lead_time"][lead]
        v = e[volume] if volume else None
        rows.append({"ranking": key, "n_alerts": b["n_alerts"], "precision": b["precision"], "recall": b["recall"],
                     "volume": v["n_alerts"] if v else None,
                     "rule_precision_at_volume": v["rule"]["precision"] if v else None,
                     "model_precision_at_volume": v["model"]["precision"] if v else None,
                     "n_warned": lt["n_warned"], "n_slipped_items": lt["n_slipped_items"],
                     "median_lead_days": lt["median_lead_days"]})
    return pl.DataFrame(rows, schema={"ranking": pl.Utf8, "n_alerts": pl.Int64, "precision": pl.Float64,
                                      "recall": pl.Float64, "volume": pl.Int64,
                                      "rule_precision_at_volume": pl.Float64,
                                      "model_precision_at_volume": pl.Float64, "n_warned": pl.Int64,
                                      "n_slipped_items": pl.Int64, "median_lead_days": pl.Float64})


def reliability_frame(evaluation: dict) -> pl.DataFrame:
    """The reliability curve: per bin of test rows, mean predicted probability, observed slip rate, rows."""
    return pl.DataFrame(evaluation.get("reliability") or [],
                        schema={"mean_predicted": pl.Float64, "observed_rate": pl.Float64, "n": pl.Int64})


def forecast_rows(meta: dict) -> pl.DataFrame | None:
    """The finish-date forecasts' holdout check as rows, one per forecast date (p50, p80, the reporters' own
    `reported`) and one more per domain: the share of judged rows finished by that date, its 95 % bootstrap
    interval, and how many rows (and items) were judged; None when the scores carry no holdout."""
    e = ((meta or {}).get("forecast") or {}).get("evaluation") or {}
    cov = e.get("coverage")
    if not cov:
        return None
    rows = []
    for key, nominal in (("p50", 0.5), ("p80", 0.8), ("reported", None)):
        c = cov[key]
        for domain, part in [(None, c), *c.get("by_domain", {}).items()]:
            rows.append({"forecast": key, "domain": domain, "nominal": nominal, "share": part["share"],
                         "low": part["low"], "high": part["high"], "n": part["n"], "n_items": part.get("n_items")})
    return pl.DataFrame(rows, schema={"forecast": pl.Utf8, "domain": pl.Utf8, "nominal": pl.Float64,
                                      "share": pl.Float64, "low": pl.Float64, "high": pl.Float64, "n": pl.Int64,
                                      "n_items": pl.Int64})
