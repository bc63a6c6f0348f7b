"""How fresh each region's reports are (issue 20): the latest progress report on its items in flight and the share
of them reported on within the reporting cycle; a region past the cycle without a report is silent.

A region here is the items' own region (an item may hang at a city or the nation as well as at a county). Its days
without a report count from its latest report, or, when none of its items in flight was ever reported on, from the
earliest start among them (an item that started yesterday is not silent yet).
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from analytics import settings
from analytics.db import queries
from analytics.metrics import Selection


def cycle_days() -> int:
    days = settings.get("COCKPIT_SILENT_DAYS")
    if days < 1:
        raise ValueError(f"COCKPIT_SILENT_DAYS={days}: expected a whole number of days of at least 1")
    return days


@dataclass(frozen=True)
class Freshness:
    regions: pl.DataFrame  # region_code, name, level, lon, lat, n_in_flight, last_report (null: never), first_start,
    #                        n_reported_in_cycle, days_silent, share_in_cycle, silent
    cycle_days: int

    @property
    def silent(self) -> pl.DataFrame:
        return self.regions.filter(pl.col("silent"))


def regions(cur: duckdb.DuckDBPyConnection, sel: Selection, days: int | None = None) -> Freshness:
    """Every region of the selection with items in flight, the longest without a report first."""
    days = cycle_days() if days is None else days
    frame = queries.run(cur, "region_freshness", sel.filters, sel.scope, sel.as_of, cycle_days=days)
    frame = frame.with_columns(
        (pl.lit(sel.as_of) - pl.coalesce("last_report", "first_start")).dt.total_days().alias("days_silent"),
        (pl.col("n_reported_in_cycle") / pl.col("n_in_flight")).alias("share_in_cycle"))
    frame = frame.with_columns((pl.col("days_silent") > days).fill_null(False).alias("silent"))
    return Freshness(frame.sort(["days_silent", "region_code"], descending=[True, False], nulls_last=True), days)


def block(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict | None = None) -> Freshness:
    """The pages' block (`analytics.pages.BLOCKS["freshness"]`): `regions` at the configured cycle."""
    return regions(cur, sel)


ROLLED_UP = {"region_code": pl.Utf8, "n_in_flight": pl.Int64, "last_report": pl.Date, "days_silent": pl.Int64,
             "share_in_cycle": pl.Float64, "n_silent": pl.Int64}


def rolled_up(cur: duckdb.DuckDBPyConnection, sel: Selection, level: str, fresh: Freshness) -> pl.DataFrame:
    """`fresh` summed into the regions at `level` below the selection (the rows of the regions page's ranking):
    per region, the latest report on any item in flight in it or below it, the days since (from the earliest start
    when none was ever reported on), the share of its items in flight reported on in the cycle, and how many of the
    regions in it are silent. Items that hang above `level` (at the selection itself) belong to no row."""
    if fresh.regions.is_empty():
        return pl.DataFrame(schema=ROLLED_UP)
    up = queries.run(cur, "region_ancestor_at", scope=sel.scope, level=level,
                     codes=fresh.regions["region_code"].to_list())
    rows = (fresh.regions.join(up, on="region_code", how="inner")
            .group_by("child_code").agg(pl.col("n_in_flight").sum(), pl.col("last_report").max(),
                                        pl.col("first_start").min(), pl.col("n_reported_in_cycle").sum(),
                                        pl.col("silent").sum().alias("n_silent")))
    return rows.select(
        pl.col("child_code").alias("region_code"), pl.col("n_in_flight").cast(pl.Int64), "last_report",
        (pl.lit(sel.as_of) - pl.coalesce("last_report", "first_start")).dt.total_days().cast(pl.Int64)
        .alias("days_silent"),
        (pl.col("n_reported_in_cycle") / pl.col("n_in_flight")).alias("share_in_cycle"),
        pl.col("n_silent").cast(pl.Int64))
