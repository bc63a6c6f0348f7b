"""What the leadership cockpit shows, as plain data: KPIs with change, exceptions, trends, league.

One function per block; the page draws them, the CLI and the tests read the same frames.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import duckdb
import polars as pl

from analytics import metrics
from analytics.db import marts
from analytics.db import queries
from analytics.filters import period_bounds
from analytics import levels
from analytics.levels import child_level
from analytics.metrics import KPI_KEYS, Kpi, Selection

@dataclass(frozen=True)
class Summary:
    """KPIs of the selection and the league of the regions one level down, now and one period back."""

    kpis: list[Kpi]
    league: pl.DataFrame
    level: str | None = None  # the level of the league's regions


def summary(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict[str, float] | None = None) -> Summary:
    level = child_level(cur, sel.filters.region_code)
    prev_filters, prev_as_of = metrics.previous(sel.filters, sel.as_of)
    prev_sel = replace(sel, filters=prev_filters, as_of=prev_as_of)
    # the two periods are independent: each on its own cursor, in parallel (DuckDB releases the GIL)
    with ThreadPoolExecutor(max_workers=2) as pool:
        later = pool.submit(metrics.summarise, cur.cursor(), prev_sel, level, weights)
        now, children = metrics.summarise(cur, sel, level, weights)
        before, before_children = later.result()
    if not now:
        return Summary([], pl.DataFrame(), level)
    kpis = [Kpi(metrics.BY_KEY[k], now.get(k), before.get(k) if before else None,
                now.get(metrics.BY_KEY[k].n_col)) for k in KPI_KEYS]
    return Summary(kpis, _with_trend(children, before_children) if level else pl.DataFrame(), level)


def needs_attention(cur: duckdb.DuckDBPyConnection, sel: Selection) -> pl.DataFrame:
    """Red items, worst first: overdue by days late, then by lag; with region and reason fields."""
    items = queries.run(cur, "item_lights", sel.filters, sel.scope, sel.as_of, **sel.thresholds.params())
    red = items.filter(pl.col("light") == "red")
    if red.is_empty():
        return red.with_columns(pl.lit(None, pl.Utf8).alias("region_name"))
    names = levels.names(cur, column="region_name")
    return (red.join(names, on="region_code", how="left")
            .with_columns((pl.col("rule") == "overdue").alias("is_overdue"),
                          pl.col("co_depts").list.len().fill_null(0).alias("n_co_depts"))
            .sort(["is_overdue", "days_late", "lag_pp"], descending=True, nulls_last=True))


def weekly_lights(cur: duckdb.DuckDBPyConnection, sel: Selection, weeks: int = 26) -> pl.DataFrame:
    """Items in flight by light at each week's end (one row per week, a column per light), from the first week with a
    report in the selection: before it a light would rest on deadlines alone (an office's first ledger lists items
    already overdue, which would paint red weeks nobody reported on)."""
    _, end = period_bounds(sel.filters.period, sel.as_of)
    first = queries.run(cur, "first_report", sel.filters, sel.scope, sel.as_of)["first_report"][0]
    week_dates = [d for d in marts.sundays(end, weeks) if first is not None and d >= first]
    weeks = len(week_dates)
    if not week_dates:
        long = pl.DataFrame()
    elif marts.has_snapshots(cur, week_dates):  # the full rule, from the mart
        long = queries.run(cur, "weekly_lights", sel.filters, sel.scope, sel.as_of, week_dates=week_dates,
                           **sel.thresholds.params())
    else:
        long = queries.run(cur, "weekly_lights", sel.filters, sel.scope, sel.as_of, weeks=weeks,
                           **sel.thresholds.params())
    if long.is_empty():
        return pl.DataFrame(schema={"week_end": pl.Date, "red": pl.Int64, "yellow": pl.Int64, "green": pl.Int64,
                                    "none": pl.Int64})
    wide = long.pivot(on="light", index="week_end", values="n_items").fill_null(0)
    for col in ("red", "yellow", "green", "none"):
        if col not in wide.columns:
            wide = wide.with_columns(pl.lit(0, pl.Int64).alias(col))
    return wide.select("week_end", "red", "yellow", "green", "none").sort("week_end")


def _with_trend(now: pl.DataFrame, before: pl.DataFrame) -> pl.DataFrame:
    """Add the previous index and a trend word: a change of more than one index point counts."""
    before = before.select("region_code", pl.col("index").alias("index_previous"))
    change = pl.col("index") - pl.col("index_previous")
    return now.join(before, on="region_code", how="left").with_columns(
        change.alias("index_change"),
        pl.when(change > 1).then(pl.lit("up")).when(change < -1).then(pl.lit("down"))
        .when(pl.col("index_previous").is_not_null()).then(pl.lit("flat"))
        .otherwise(None).alias("trend"),
    )


@dataclass(frozen=True)
class Page:
    """Everything the cockpit draws for one selection."""

    summary: Summary
    attention: pl.DataFrame
    weekly: pl.DataFrame


def page(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict[str, float] | None = None) -> Page:
    """The cockpit's blocks, computed at once on separate cursors (they are independent)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        attention = pool.submit(needs_attention, cur.cursor(), sel)
        weekly = pool.submit(weekly_lights, cur.cursor(), sel)
        main = summary(cur, sel, weights)
        return Page(main, attention.result(), weekly.result())


def why(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict[str, float] | None = None):
    """Why the cards changed, against the cards' comparison (analytics/explain.py): the red share and the overdue
    count item by item (from one read of the items on both dates), the regions whose red share moved unusually,
    every rate card's split by region and the index's split over its components (from one pair of summaries)."""
    from analytics import explain

    items, sums = explain.items_on_both_dates(cur, sel), explain.summaries(cur, sel)
    return (explain.red_share(cur, sel, items=items), explain.unusual_regions(cur, sel, sums=sums),
            explain.overdue(cur, sel, items=items),
            {k: explain.ratio_by_region(cur, sel, k, sums=sums) for k in explain.RATES},
            explain.index_change(cur, sel, weights, sums=sums))
