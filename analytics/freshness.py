"""How fresh each region's reports are (issue 20): the latest progress report on its items in flight and the share
of them reported on within the reporting cycle; a region past the cycle without a report is silent.

A region here is the items' own region (an item may hang at a city or the nation as well as at a county). Its days
without a report count from its latest report, or, when none of its items in flight was ever reported on, from the
earliest start among them (an item that started yesterday is not silent yet).

Per table (`tables`): every dated table that carries a region, the latest date of a row of it in each region (the
row's own region): progress reports (on the region's items in flight), feedback (received), rectifications (the later
of found and closed) and indicator values (the end of the latest period with a value that has ended); see
docs/freshness.md.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

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


# the dated tables that carry a region, in the order the pages name them
TABLES = ("progress_reports", "feedback", "rectifications", "indicator_values")
TABLES_SCHEMA = {"region_code": pl.Utf8, "name": pl.Utf8, "level": pl.Utf8, "table": pl.Utf8, "latest": pl.Date,
                 "days_since": pl.Int64}


@dataclass(frozen=True)
class Freshness:
    regions: pl.DataFrame  # region_code, name, level, lon, lat, n_in_flight, last_report (null: never), first_start,
    #                        n_reported_in_cycle, days_silent, share_in_cycle, silent
    cycle_days: int
    # per region × dated table (`tables`): region_code, name, level, table (TABLES), latest, days_since
    tables: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=TABLES_SCHEMA))

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


def tables(cur: duckdb.DuckDBPyConnection, sel: Selection) -> pl.DataFrame:
    """Per region of the selection and dated table (TABLES), the latest date of a row up to the as-of date and the
    days since; a region × table without any such row has no row. Sorted by region code, then TABLES' order."""
    frame = queries.run(cur, "region_table_freshness", sel.filters, sel.scope, sel.as_of)
    order = {t: i for i, t in enumerate(TABLES)}
    return (frame.select("region_code", "name", "level", pl.col("table_name").alias("table"),
                         pl.col("latest").cast(pl.Date),
                         (pl.lit(sel.as_of) - pl.col("latest").cast(pl.Date)).dt.total_days().cast(pl.Int64)
                         .alias("days_since"))
            .sort(pl.col("region_code"), pl.col("table").replace_strict(order, default=len(order)))
            .cast(TABLES_SCHEMA))


def latest_by_table(frame: pl.DataFrame) -> dict[str, object]:
    """The latest date per table over the regions of `frame` (a `tables` frame), in TABLES' order; a table without
    any row is left out."""
    latest = dict(frame.group_by("table").agg(pl.col("latest").max()).iter_rows())
    return {t: latest[t] for t in TABLES if latest.get(t) is not None}


def block(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict | None = None) -> Freshness:
    """The pages' block (`analytics.pages.BLOCKS["freshness"]`): `regions` at the configured cycle, with `tables`."""
    return replace(regions(cur, sel), tables=tables(cur, sel))


ROLLED_UP = {"region_code": pl.Utf8, "n_in_flight": pl.Int64, "last_report": pl.Date, "days_silent": pl.Int64,
             "share_in_cycle": pl.Float64, "n_silent": pl.Int64}


def rolled_up(cur: duckdb.DuckDBPyConnection, sel: Selection, level: str, fresh: Freshness) -> pl.DataFrame:
    """`fresh` summed into the regions at `level` below the selection (the rows of the regions page's ranking):
    `roll_up` of `fresh` through the named query `region_ancestor_at`."""
    if fresh.regions.is_empty():
        return pl.DataFrame(schema=ROLLED_UP)
    up = queries.run(cur, "region_ancestor_at", scope=sel.scope, level=level, codes=ancestor_codes(fresh))
    return roll_up(fresh, up, sel.as_of)


def ancestor_codes(fresh: Freshness) -> tuple[str, ...]:
    """The `codes` parameter of `region_ancestor_at` that `roll_up` needs: the regions of `fresh`."""
    return tuple(fresh.regions["region_code"].to_list())


def roll_up(fresh: Freshness, up: pl.DataFrame, as_of) -> pl.DataFrame:
    """`fresh` summed through `up` (the rows of `region_ancestor_at`: region_code → child_code at the level): per
    region, the latest report on any item in flight in it or below it, the days since (from the earliest start
    when none was ever reported on), the share of its items in flight reported on in the cycle, and how many of the
    regions in it are silent. Items that hang above the level (at the selection itself) belong to no row.

    Pure, so a page reuses the one cached `Freshness` (the pages' block) and the cached ancestors rather than asking
    the database for the freshness again."""
    if fresh.regions.is_empty() or up.is_empty():
        return pl.DataFrame(schema=ROLLED_UP)
    rows = (fresh.regions.join(up.select("region_code", "child_code"), on="region_code", how="inner")
            .group_by("child_code").agg(pl.col("n_in_flight").sum(), pl.col("last_report").max(),
                                        pl.col("first_start").min(), pl.col("n_reported_in_cycle").sum(),
                                        pl.col("silent").sum().alias("n_silent")))
    return rows.select(
        pl.col("child_code").alias("region_code"), pl.col("n_in_flight").cast(pl.Int64), "last_report",
        (pl.lit(as_of) - pl.coalesce("last_report", "first_start")).dt.total_days().cast(pl.Int64)
        .alias("days_silent"),
        (pl.col("n_reported_in_cycle") / pl.col("n_in_flight")).alias("share_in_cycle"),
        pl.col("n_silent").cast(pl.Int64)).cast(ROLLED_UP)
