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
    regions: pl.DataFrame  # region_code, name, level, n_in_flight, last_report (null: never), first_start,
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
