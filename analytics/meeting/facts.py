"""The numbers a review meeting rests on, as plain data, from the metrics, cockpit, series and risk functions.

Comparisons follow the meeting preset (周调度 / 月分析 / 季评估). The comparison point is:
- filter period "all" (the usual case): the same filters as of `as_of` − 7 days (week), − 28 days
  (month: four weeks, so the weekday, and the weekly snapshot mart, line up) or − 91 days (quarter:
  thirteen weeks);
- a chosen filter period and the weekly preset: the same period as of `as_of` − 7 days;
- a chosen filter period and the monthly or quarterly preset: the period before it
  (`metrics.previous`: a month compares with the previous month, a quarter with the previous quarter).
That point is also "the last meeting" for the items that turned red or worse and for the risk flags.

Risk flags new since the last meeting: high band now and not high in the newest saved scores of an
earlier data version whose as-of date is on or before the comparison point. When no such scores exist
the deck says so and lists every current high flag without calling any of them new.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, timedelta

import duckdb
import polars as pl

from analytics import explain, metrics, series
from analytics import levels
from analytics.db import queries, store
from analytics.filters import ALL, Filters, period_bounds
from analytics.metrics import Selection

PRESETS = ("week", "month", "quarter")
DAYS_BACK = {"week": 7, "month": 28, "quarter": 91}
SERIES_PERIODS = 8  # points of the overview's trend, one per preset period
LIGHT_RANK = {"none": 0, "green": 1, "yellow": 2, "red": 3}


def comparison(preset: str, filters: Filters, as_of: date) -> tuple[Filters, date]:
    """The filters and as-of date of the previous meeting (see the module docstring)."""
    if preset not in PRESETS:
        raise ValueError(f"preset {preset!r}: expected one of {PRESETS}")
    if filters.period == ALL or preset == "week":
        return filters, as_of - timedelta(days=DAYS_BACK[preset] if filters.period == ALL else 7)
    return metrics.previous(filters, as_of)


@dataclass(frozen=True)
class RiskFacts:
    high: pl.DataFrame            # items in flight in the selection scored high, most likely to slip first
    new_ids: frozenset | None     # those not high at the last meeting; None = no earlier scores to tell
    scored_as_of: date            # the scores' as-of date
    earlier_as_of: date | None    # the earlier scores' as-of date, when there are any
    by_region: pl.DataFrame       # high flags per region one level down (region_code, name, n_high)


@dataclass(frozen=True)
class Facts:
    preset: str
    as_of: date                   # the meeting's as-of (the filter period's end, clipped to the data's as-of)
    previous_as_of: date          # the comparison point's
    previous_filters: Filters
    level: str | None             # level of the regions one step down (None below county)
    total: dict                   # metrics.summarise's record for the selection, now ({} = nothing matches)
    total_previous: dict          # … and at the comparison point
    kpis: list[metrics.Kpi]
    league: pl.DataFrame          # metrics.summarise's children now, with index_previous and trend
    trend: pl.DataFrame           # series.metric_series("red_share", grain=preset)
    attention: pl.DataFrame       # red or worse-than-before items in flight, red first (cockpit order)
    risk: RiskFacts | str         # or why there are none: "no_scores" (no model scored this data version)
                                  # or "scores_after" (the scores are newer than the meeting's as-of)
    rect_status: pl.DataFrame     # meeting_rect_status
    rect_overdue: pl.DataFrame    # meeting_rect_overdue
    feedback: pl.DataFrame        # meeting_feedback_categories
    missing: tuple[str, ...] = () # uploadable tables with no row in the database (their cards say so)
    why: explain.Explanation | None = None  # the red share's change item by item, against the same comparison

    @property
    def is_empty(self) -> bool:
        return not self.total


def _end(sel: Selection) -> date:
    return period_bounds(sel.filters.period, sel.as_of)[1]


def build(cur: duckdb.DuckDBPyConnection, sel: Selection, preset: str, weights: dict | None = None,
          db_path: str = "", version: int = 0) -> Facts:
    """Every number of the deck for one selection and preset; independent parts on separate cursors."""
    prev_filters, prev_as_of = comparison(preset, sel.filters, sel.as_of)
    prev_sel = replace(sel, filters=prev_filters, as_of=prev_as_of)
    level = levels.child_level(cur, sel.filters.region_code)
    end, prev_end = _end(sel), _end(prev_sel)
    with ThreadPoolExecutor(max_workers=2) as pool:
        before = pool.submit(metrics.summarise, cur.cursor(), prev_sel, level, weights)
        trend = pool.submit(series.metric_series, cur.cursor(), sel, "red_share", preset, SERIES_PERIODS,
                            weights=weights)
        total, children = metrics.summarise(cur, sel, level, weights)
        total_prev, children_prev = before.result()
        trend = trend.result()
    kpis = [metrics.Kpi(metrics.BY_KEY[k], total.get(k), total_prev.get(k) if total_prev else None,
                        total.get(metrics.BY_KEY[k].n_col)) for k in metrics.KPI_KEYS] if total else []
    extra = {"since": prev_end}
    run = lambda name: queries.run(cur, name, sel.filters, sel.scope, sel.as_of, **extra)  # noqa: E731
    items = explain.items_on_both_dates(cur, sel, before=(prev_filters, prev_as_of))  # read once: lights, why
    lights = items.now
    return Facts(
        preset=preset, as_of=end, previous_as_of=prev_end, previous_filters=prev_filters, level=level,
        total=total, total_previous=total_prev or {}, kpis=kpis,
        league=_with_trend(children, children_prev) if level else pl.DataFrame(),
        trend=trend, attention=attention(cur, sel, lights, items.then),
        risk=risk_facts(cur, sel, lights, level, db_path, version, prev_end, end),
        rect_status=run("meeting_rect_status"), rect_overdue=run("meeting_rect_overdue"),
        feedback=run("meeting_feedback_categories"),
        missing=tuple(t for t, n in store.table_rows(cur).items() if not n),
        why=explain.red_share(cur, sel, items=items) if total else None)


def _with_trend(now: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """As the cockpit's league: the previous index and a trend word (a change of more than one point counts)."""
    before = before.select("region_code", pl.col("index").alias("index_previous"),
                           pl.col("n_red").alias("n_red_previous"))
    change = pl.col("index") - pl.col("index_previous")
    return now.join(before, on="region_code", how="left").with_columns(
        change.alias("index_change"),
        pl.when(change > 1).then(pl.lit("up")).when(change < -1).then(pl.lit("down"))
        .when(pl.col("index_previous").is_not_null()).then(pl.lit("flat")).otherwise(None).alias("trend"))


def attention(cur: duckdb.DuckDBPyConnection, sel: Selection, lights: pl.DataFrame,
              lights_before: pl.DataFrame) -> pl.DataFrame:
    """Red items (cockpit.needs_attention, its order) and items whose light got worse since the comparison
    point (green → yellow, or turned red), with `light_previous`, `is_new_red` and `is_worse`. `lights` and
    `lights_before`: item_lights now and at the comparison point."""
    from analytics.pages import cockpit  # the cockpit's exceptions, in its order (imported here: analytics.pages
    #                                      imports the meeting, which imports these facts)

    red = cockpit.needs_attention(cur, sel)
    before = lights_before.select("project_id", pl.col("light").alias("light_previous"))
    rank = lambda col: pl.col(col).replace_strict(LIGHT_RANK, default=0, return_dtype=pl.Int8)  # noqa: E731
    worse = (lights.join(before, on="project_id", how="left")
             .filter(pl.col("light_previous").is_not_null() & (rank("light") > rank("light_previous"))))
    red = red.join(before, on="project_id", how="left")
    others = worse.filter(pl.col("light") != "red")
    if not others.is_empty():
        names = levels.names(cur, column="region_name")
        others = (others.join(names, on="region_code", how="left")
                  .with_columns((pl.col("rule") == "overdue").alias("is_overdue"),
                                pl.col("co_depts").list.len().fill_null(0).alias("n_co_depts"))
                  .sort("lag_pp", descending=True, nulls_last=True))
    out = pl.concat([red, others.select(red.columns)], how="vertical_relaxed") if not others.is_empty() else red
    if "light_previous" not in out.columns:
        out = out.with_columns(pl.lit(None, pl.Utf8).alias("light_previous"))
    return out.with_columns(
        ((pl.col("light") == "red") & (pl.col("light_previous").fill_null("none") != "red")).alias("is_new_red"),
        (rank("light") > rank("light_previous").fill_null(0)).alias("is_worse"))


def _earlier_scores(cur: duckdb.DuckDBPyConnection, sel: Selection, db_path: str, version: int, not_after: date):
    """(as of, the selection's scores) of the newest earlier data version scored on or before `not_after`."""
    from analytics.risk import scores

    for v in range(version - 1, 0, -1):
        as_of = scores.scored_as_of(db_path, v)
        if as_of is not None and as_of <= not_after:
            return as_of, scores.scoped(cur, sel, db_path, v)
    return None


def risk_facts(cur: duckdb.DuckDBPyConnection, sel: Selection, lights: pl.DataFrame, level: str | None,
               db_path: str, version: int, previous_as_of: date, as_of: date) -> RiskFacts | str:
    """High flags in the selection and which are new since the last meeting, or why there are none."""
    from analytics.risk import scores

    scored_as_of = scores.scored_as_of(db_path, version) if db_path else None
    if scored_as_of is None:
        return "no_scores"
    if scored_as_of > as_of:  # scored on later data than the meeting looks at: not shown as if known then
        return "scores_after"
    scored = scores.scoped(cur, sel, db_path, version)
    if scored is None:  # the model that made them was refused (scores.refusal): not shown
        return "no_scores"
    scored = scores.with_forecast_columns(scored)
    high = (lights.join(scored.filter(pl.col("band") == "high").select("project_id", "probability", "top_reasons",
                                                                        "p80_date", "p80_beyond"),
                        on="project_id", how="inner").sort(["probability", "project_id"], descending=[True, False]))
    earlier_as_of, earlier = _earlier_scores(cur, sel, db_path, version, previous_as_of) or (None, None)
    new_ids = None
    if earlier is not None:
        was_high = set(earlier.filter(pl.col("band") == "high")["project_id"].to_list())
        new_ids = frozenset(p for p in high["project_id"].to_list() if p not in was_high)
    by_region = pl.DataFrame(schema={"region_code": pl.Utf8, "name": pl.Utf8, "n_high": pl.Int64})
    if level and not high.is_empty():
        child = queries.run(cur, "risk_child_regions", sel.filters, sel.scope, sel.as_of, group_level=level,
                            total_code=sel.filters.region_code or "100000")
        by_region = (high.select("region_code").join(child, on="region_code", how="inner")
                     .group_by("child_code", "child_name").agg(pl.len().cast(pl.Int64).alias("n_high"))
                     .rename({"child_code": "region_code", "child_name": "name"})
                     .sort(["n_high", "region_code"], descending=[True, False]))
    return RiskFacts(high, new_ids, scored_as_of, earlier_as_of, by_region)
