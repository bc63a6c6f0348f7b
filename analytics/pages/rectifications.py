"""整改台账 / Rectification ledger, as plain data: every rectification with its state at the period end, and
the loop's numbers (completion rate, overdue, days to close, relapse rate, ageing) for the selection, by
region one level down and by responsible department.

The four metrics are the cockpit's (`metrics.METRICS` records over `region_rectifications`, the same SQL
with an optional responsible-department predicate): for the same filters, and no department chosen on
the page, every number here equals `metrics.summarise`'s. The ledger rows count the same way: open = not
closed by the period end; overdue = deadline before the period end and not closed by it.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import duckdb
import polars as pl

from analytics import metrics
from analytics.db import queries
from analytics import levels
from analytics.levels import child_level
from analytics.filters import period_bounds
from analytics.metrics import Selection

METRIC_KEYS = ("rect_completion_rate", "rect_overdue", "avg_days_to_close", "relapse_rate")
STATUSES = ("open", "in_progress", "awaiting_acceptance", "closed")  # the flow, in order
SOURCES = ("inspection", "audit", "public_feedback", "warning", "other")
# ageing of open rectifications, in days open at the period end (upper bounds inclusive; the last has none)
BUCKETS: tuple[tuple[str, int | None], ...] = (("le15", 15), ("d16_30", 30), ("d31_60", 60), ("gt60", None))
RELAPSE_DAYS = 365  # the relapse rate over the twelve months to the period end, beside the period's


def with_metrics(frame: pl.DataFrame, keys: tuple[str, ...]) -> pl.DataFrame:
    """The metrics `keys` from their counts, by the records' formulas (as `metrics.add_metrics` does)."""
    ms = [metrics.BY_KEY[k] for k in keys]
    return frame.with_columns([metrics.rate(m.numerator, m.denominator).alias(m.key) for m in ms if m.numerator]
                              + [pl.col(m.column).alias(m.key) for m in ms if m.column])


def _fill_counts(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).fill_null(0) for c in frame.columns
                              if c.startswith("n_") and frame.schema[c].is_integer())


def bucket_of(days_open: pl.Expr) -> pl.Expr:
    """The ageing bucket key of an open rectification's days open."""
    expr = pl.when(days_open <= BUCKETS[0][1]).then(pl.lit(BUCKETS[0][0]))
    for key, upper in BUCKETS[1:-1]:
        expr = expr.when(days_open <= upper).then(pl.lit(key))
    return expr.otherwise(pl.lit(BUCKETS[-1][0]))


def ledger_rows(cur: duckdb.DuckDBPyConnection, sel: Selection, level: str,
                rect_depts: tuple[str, ...] = ()) -> pl.DataFrame:
    """One row per rectification found by the period end and active in it, with `group_code` (its region
    at `level`, None when recorded above it), days open, overdue and ageing bucket; overdue ones first,
    longest overdue first, then the open ones by days open, then the closed ones."""
    rows = queries.run(cur, "rectifications_ledger", sel.filters, sel.scope, sel.as_of, group_level=level,
                       rect_depts=list(rect_depts))
    return (rows.with_columns(pl.when(~pl.col("is_closed")).then(bucket_of(pl.col("days_open"))).alias("bucket"))
            .sort(["is_overdue", "days_overdue", "is_closed", "days_open", "rectification_id"],
                  descending=[True, True, False, True, False], nulls_last=True))


def _ageing(rows: pl.DataFrame, by: str | None) -> pl.DataFrame:
    """Open rectifications per ageing bucket (a column per bucket, n_open beside), per `by` or in all."""
    keys = [b for b, _ in BUCKETS]
    open_ = rows.filter(~pl.col("is_closed"))
    aggs = [pl.len().alias("n_open")] + [(pl.col("bucket") == k).sum().alias(f"n_{k}") for k in keys]
    if by is None:
        return open_.select(aggs)
    return open_.group_by(by).agg(aggs)


def metric_frames(cur: duckdb.DuckDBPyConnection, sel: Selection, level: str | None,
                  rect_depts: tuple[str, ...] = ()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(per region at `level` + the selection's total row, per responsible department): counts, the four
    metrics, and the relapse rate over the twelve months to the period end (`relapse_rate_12m`, n
    `n_rect_found_12m`)."""
    total_code = sel.filters.region_code or "100000"
    _, end = period_bounds(sel.filters.period, sel.as_of)
    extra = sel.thresholds.params() | {"total_code": total_code, "rect_depts": list(rect_depts)}
    twelve = {"period_start": end - timedelta(days=RELAPSE_DAYS - 1)}

    def run(c, name: str, group_level: str, **more) -> pl.DataFrame:
        return queries.run(c, name, sel.filters, sel.scope, sel.as_of, **extra | {"group_level": group_level} | more)

    with ThreadPoolExecutor(max_workers=2) as pool:  # independent; each on its own cursor
        regions_12 = pool.submit(run, cur.cursor(), "rectifications_region_metrics", level or "none", **twelve)
        depts_12 = pool.submit(run, cur.cursor(), "rectifications_dept_metrics", "none", **twelve)
        regions = run(cur, "rectifications_region_metrics", level or "none")
        depts = run(cur, "rectifications_dept_metrics", "none")
        regions_12, depts_12 = regions_12.result(), depts_12.result()

    def add_12m(frame: pl.DataFrame, frame_12: pl.DataFrame, on: list[str]) -> pl.DataFrame:
        part = frame_12.select(*on, pl.col("n_relapse").alias("n_relapse_12m"),
                               pl.col("n_rect_found").alias("n_rect_found_12m"))
        out = _fill_counts(frame.join(part, on=on, how="left"))
        return with_metrics(out, METRIC_KEYS).with_columns(
            metrics.rate("n_relapse_12m", "n_rect_found_12m").alias("relapse_rate_12m"))

    return (add_12m(regions, regions_12, ["region_code"]),
            add_12m(depts.filter(pl.col("region_code") == total_code).drop("region_code"), depts_12
                    .filter(pl.col("region_code") == total_code).drop("region_code"), ["dept"]))


@dataclass(frozen=True)
class Page:
    """Everything the ledger page draws for one selection (and responsible departments chosen)."""

    level: str | None  # the level of the regions compared (None for a county: no regions below)
    totals: dict  # counts, the four metrics, relapse_rate_12m, n_open and the ageing buckets; {} when empty
    by_region: pl.DataFrame  # region_code, name, the same columns; worst completion first
    by_dept: pl.DataFrame  # dept, the same columns
    status: pl.DataFrame  # status (the flow, in order), n: rectifications by recorded status
    rows: pl.DataFrame  # the ledger (see ledger_rows)
    n_red_items: int  # of `rows`, how many concern an item that is red at the period end
    red_items: tuple[str, ...]  # project_id of the items red at the period end with rectifications in `rows`


def page(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict | None = None,
         rect_depts: tuple[str, ...] = ()) -> Page:
    if not all(isinstance(d, str) for d in rect_depts):
        raise ValueError("rect_depts: expected a tuple of department names")
    level = child_level(cur, sel.filters.region_code)
    with ThreadPoolExecutor(max_workers=2) as pool:
        lights = pool.submit(queries.run, cur.cursor(), "item_lights", sel.filters, sel.scope, sel.as_of,
                             **sel.thresholds.params())
        rows = ledger_rows(cur, sel, level or "none", rect_depts)
        regions, depts = metric_frames(cur, sel, level, rect_depts)
        lights = lights.result()
    total_code = sel.filters.region_code or "100000"
    total = regions.filter(pl.col("region_code") == total_code)
    if total.is_empty() or rows.is_empty():
        empty = pl.DataFrame()
        return Page(level, {}, empty, empty, empty, rows, 0, ())
    totals = total.row(0, named=True) | _ageing(rows, None).row(0, named=True)
    children = regions.filter(pl.col("region_code") != total_code)
    if level:
        names = levels.names(cur, level)
        children = (children.join(names, on="region_code", how="left")
                    .join(_ageing(rows, "group_code").rename({"group_code": "region_code"}), on="region_code",
                          how="left"))
    children = _fill_counts(children).sort(["rect_completion_rate", "n_rect_overdue", "region_code"],
                                           descending=[False, True, False], nulls_last=True)
    by_dept = _fill_counts(depts.join(_ageing(rows, "responsible_dept").rename({"responsible_dept": "dept"}),
                                      on="dept", how="left")).sort(
        ["n_rect_overdue", "rect_completion_rate", "dept"], descending=[True, False, False], nulls_last=True)
    counts = dict(rows.group_by("status").len().iter_rows())
    status = pl.DataFrame({"status": list(STATUSES), "n": [counts.get(s, 0) for s in STATUSES]},
                          schema={"status": pl.Utf8, "n": pl.Int64})
    red = set(lights.filter(pl.col("light") == "red")["project_id"])
    red_rows = rows.filter(pl.col("project_id").is_in(list(red)))
    return Page(level, totals, children, by_dept, status, rows, red_rows.height,
                tuple(sorted(set(red_rows["project_id"]))))

