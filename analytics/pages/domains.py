"""领域与部门 / Domains & departments, as plain data: where a metric stands by domain and region, how it
moved by region and by lead department, and a league of departments.

One function per block; the page draws them, the tests read the same frames. Every heatmap cell is
the metric the cockpit shows for the same filters narrowed to that cell (domain × region: the region's
row of `metrics.region_table` with that domain; over time: `series.metric_series`).
"""
from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from analytics import i18n, metrics, series
from analytics.db import queries
from analytics.levels import child_level, level_of
from analytics.metrics import Selection

DEFAULT_METRIC = "red_share"
N_MONTHS = 12
KINDS = ("domain_region", "region_month", "dept_month", "region_domain")  # the heatmaps: rows × columns
# (region_domain: domain × region turned on its side for a phone, regions down the page)


def compared_level(cur: duckdb.DuckDBPyConnection, region_code: str | None) -> tuple[str, bool]:
    """The level of the regions compared (one below the selection) and whether there is one; a county
    has none, and then its own row stands alone."""
    level = child_level(cur, region_code)
    return (level, True) if level else (level_of(cur, region_code), False)


# the domain-grouped query of each fact source; rectifications are not split by domain (see analytics/db/sql/domains.py)
_SOURCE_QUERIES = {"items": "domains_region_items", "feedback": "domains_region_feedback",
                   "indicators": "domains_region_indicators", "rectifications": "region_rectifications"}


def domain_region_table(cur: duckdb.DuckDBPyConnection, sel: Selection, level: str,
                        weights: dict[str, float] | None = None,
                        metric_keys: tuple[str, ...] = tuple(metrics.BY_KEY)) -> pl.DataFrame:
    """One row per domain and region at `level`: the counts and metrics of `metrics.region_table`
    filtered to that domain (index shrunk within the domain, as that table does). Only the fact sources
    `metric_keys` need are read; the other metrics' columns are then empty."""
    total_code = sel.filters.region_code or "100000"
    extra = sel.thresholds.params() | {"group_level": level, "total_code": total_code}
    run = lambda name, c: queries.run(c, name, sel.filters, sel.scope, sel.as_of, **extra)  # noqa: E731
    wanted = series.sources_for(metric_keys)
    with ThreadPoolExecutor(max_workers=2) as pool:  # independent sources, each on its own cursor
        parts = {s: pool.submit(run, _SOURCE_QUERIES[s], cur.cursor()) for s in wanted if s != "items"}
        frame = run(_SOURCE_QUERIES["items"], cur)
        for source in series.SOURCES:
            if source in parts:
                on = "region_code" if source == "rectifications" else ["domain", "region_code"]
                frame = frame.join(parts[source].result(), on=on, how="left")
            elif source != "items":  # not needed for these metrics: empty columns keep the formulas whole
                frame = frame.with_columns(pl.lit(0 if c.startswith("n_") else None,
                                                  pl.Int64 if c.startswith("n_") else pl.Float64).alias(c)
                                           for c in series.SOURCES[source][0])
    frame = frame.with_columns(pl.col(c).fill_null(0) for c in frame.columns
                               if c.startswith("n_") and frame.schema[c].is_integer())
    children = frame.filter(pl.col("level") == level)
    weights = weights or metrics.DEFAULT_WEIGHTS
    if children.is_empty():
        return metrics.add_metrics(children, sel.thresholds, weights)
    return pl.concat([metrics.add_metrics(part, sel.thresholds, weights)
                      for _, part in children.group_by("domain", maintain_order=True)], how="vertical_relaxed")


def cells(table: pl.DataFrame, metric: str) -> pl.DataFrame:
    """The heatmap frame of a metric: row, col (keys), value, n."""
    m = metrics.BY_KEY[metric]
    return table.select(pl.col("domain").alias("row"), pl.col("region_code").alias("col"),
                        pl.col(metric).cast(pl.Float64).alias("value"),
                        pl.col(series.n_of(m)).cast(pl.Int64).alias("n"))


def dept_league(cur: duckdb.DuckDBPyConnection, sel: Selection) -> pl.DataFrame:
    """One row per department leading items in the selection (or co-operating on its late items):
    items in flight and completed, on-time rate with n, overdue, open rectifications of its items, and
    how many of the selection's late (red) items it is a co-department on. Worst first: most overdue,
    then most open rectifications, then heaviest coordination load."""
    frame = queries.run(cur, "domains_dept_league", sel.filters, sel.scope, sel.as_of, **sel.thresholds.params())
    return frame.with_columns(
        pl.when(pl.col("n_completed") > 0).then(pl.col("n_on_time") / pl.col("n_completed")).otherwise(None)
        .alias("on_time_rate"),
        pl.when(pl.col("n_late") > 0).then(pl.col("n_co_late") / pl.col("n_late")).otherwise(None)
        .alias("co_late_share"),
    ).sort(["n_overdue", "n_rect_open", "n_co_late", "dept"], descending=[True, True, True, False])


def region_month(cur: duckdb.DuckDBPyConnection, sel: Selection, metric: str, level: str,
                 weights: dict[str, float] | None) -> pl.DataFrame:
    """The metric for each region at `level` and each of the last twelve months: row, col, value, n."""
    frame = series.metric_series(cur, sel, metric, "month", N_MONTHS, by="region", level=level, weights=weights)
    return _series_cells(frame)


def dept_month(cur: duckdb.DuckDBPyConnection, sel: Selection, metric: str, depts: tuple[str, ...],
               weights: dict[str, float] | None) -> pl.DataFrame:
    """The metric for each lead department (those in `depts`; all when empty) and each of the last twelve months."""
    frame = series.metric_series(cur, sel, metric, "month", N_MONTHS, by="dept", groups=depts, weights=weights)
    return _series_cells(frame)


def _series_cells(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(pl.col("group").alias("row"), pl.col("period").alias("col"), "value", "n")


@dataclass(frozen=True)
class Page:
    """Everything the domains page draws for one selection and metric."""

    metric: str
    level: str  # the level of the regions compared
    has_children: bool  # False for a county: its own row stands alone
    league: pl.DataFrame
    domain_region: pl.DataFrame  # row = domain, col = region_code; values None where domains do not split the metric
    region_month: pl.DataFrame  # row = region_code, col = "YYYY-MM"; empty for a county
    dept_month: pl.DataFrame  # row = lead_dept, col = "YYYY-MM"; empty where departments do not split the metric
    regions: pl.DataFrame  # region_code, name of the regions compared, in code order
    domains: tuple[str, ...]  # the domains in the selection, most items in flight first


def page(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict[str, float] | None = None,
         metric: str = DEFAULT_METRIC) -> Page:
    if metric not in metrics.BY_KEY:
        raise ValueError(f"metric {metric!r}: expected one of {sorted(metrics.BY_KEY)}")
    level, has_children = compared_level(cur, sel.filters.region_code)
    empty = pl.DataFrame(schema={"row": pl.Utf8, "col": pl.Utf8, "value": pl.Float64, "n": pl.Int64})
    with ThreadPoolExecutor(max_workers=2) as pool:  # independent blocks, each on its own cursor
        by_region = pool.submit(region_month, cur.cursor(), sel, metric, level, weights) if has_children else None
        # a heatmap whose metric the grouping does not split is not drawn (the page says why): not computed
        by_dept = (pool.submit(dept_month, cur.cursor(), sel, metric, (), weights)
                   if series.splits(metric, "dept") else None)
        league = dept_league(cur, sel)
        table = domain_region_table(cur, sel, level, weights,
                                    (metric,) if series.splits(metric, "domain") else ("in_flight",))
        regions = queries.run(cur, "domains_compared_regions", sel.filters, sel.scope, sel.as_of, group_level=level)
        domains = tuple(table.group_by("domain").agg(pl.col("n_in_flight").sum())
                        .sort(["n_in_flight", "domain"], descending=[True, False])["domain"])
        by_region = by_region.result() if by_region else empty
        by_dept = by_dept.result() if by_dept else empty
    # a region without any item in the selection, now or in the last twelve months, is left out
    seen = set(table["region_code"]) | set(by_region.filter(pl.col("n") > 0)["row"])
    regions = regions.filter(pl.col("region_code").is_in(list(seen)))
    return Page(metric, level, has_children, league, cells(table, metric), by_region, by_dept, regions, domains)


def cell_filters(kind: str, event: Mapping | None, rows: tuple[str, ...], cols: tuple[str, ...]) -> dict | None:
    """The filter changes (fields of `Filters`) a click on a heatmap cell asks for, or None.

    `event` is what st.plotly_chart reports for a selection: the chosen point of the invisible cell
    layer carries [row key, column key] as customdata. The keys come back from the browser, so they
    are accepted only when they are rows and columns of the heatmap drawn."""
    if kind not in KINDS:
        raise ValueError(f"kind {kind!r}: expected one of {KINDS}")
    selection = (event or {}).get("selection") or {}
    points = selection.get("points") or []
    if not points:
        return None
    data = points[0].get("customdata")
    if not isinstance(data, (list, tuple)) or len(data) < 2:
        return None
    row, col = data[0], data[1]
    if row not in rows or col not in cols:
        return None
    if kind == "domain_region":
        return {"domains": (row,), "region_code": col}
    if kind == "region_domain":
        return {"domains": (col,), "region_code": row}
    if kind == "region_month":
        return {"region_code": row, "period": col}
    return {"lead_depts": (row,), "period": col}


def month_labels(keys, as_of: date, lang: str) -> list[str]:
    """The month columns' labels (`i18n.fmt_period_axis`), the last marked when `as_of` cuts it short:
    "12月（截至12月3日）" / "Dec (to 3 Dec)" (issue 17: a month of three days read as a whole one)."""
    from analytics.filters import cut_short

    labels = i18n.fmt_period_axis(keys, lang)
    end = cut_short(keys[-1], as_of) if keys else None
    if end is not None:
        cut = i18n.t("trends.partial", lang, date=i18n.fmt_day(end, lang))
        labels[-1] += f"（{cut}）" if lang == "zh" else f" ({cut})"
    return labels
