"""Metrics over time: one point per week, month or quarter, each exactly what the cockpit computes for it.

A point for month M is the metric for the filter period "M": facts in that window, item state as of
its last day (clipped to the as-of date). Weeks run Monday to Sunday. All windows are computed in one
pass per fact source (`db/sql/trends.py`: the per-region metric SQL with a table of windows
joined in), reading item state from the `item_snapshots` mart when it holds every window end and
computing it live otherwise.

Groups follow the global filters' meaning, so that a group's point equals the cockpit filtered to it:
- by region: the region's row of `metrics.region_table` at `level` (the index shrunk toward the
  regions of that level, as in the league; items recorded at a coarser level count in no group);
- by domain / department: `metrics.summarise` with that domain / department as the filter. Facts the
  filter does not narrow (rectifications by domain; feedback, rectifications and indicators by
  department) are the selection's, the same for every group; `splits(metric, by)` says whether they are.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import duckdb
import polars as pl

from analytics import metrics
from analytics import levels
from analytics.db import marts
from analytics.db import queries
from analytics.filters import period_bounds

GRAINS = ("week", "month", "quarter")
BY = (None, "region", "domain", "dept")
MAX_PERIODS = 156  # three years of weeks

# the columns each fact source yields, and the dimensions it can be split by
SOURCES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "items": (("n_in_flight", "n_lit", "n_red", "n_yellow", "n_green", "n_no_data", "n_overdue", "n_deviating",
               "avg_lag_pp", "n_with_progress", "avg_planned_pct", "avg_actual_pct", "n_completed", "n_on_time",
               "spent_wan_yuan", "budgeted_wan_yuan", "avg_budget_gap_pp", "n_budget_gap"),
              frozenset({"region", "domain", "dept"})),
    "rectifications": (("n_rect_due", "n_rect_closed", "n_rect_overdue", "avg_days_to_close",
                        "n_rect_closed_in_window", "n_relapse", "n_rect_found"), frozenset({"region"})),
    "feedback": (("n_feedback", "avg_satisfaction", "n_rated", "n_satisfied", "n_complaints", "n_need_response",
                  "n_answered_in_time", "n_complaints_resolved"), frozenset({"region", "domain"})),
    "indicators": (("n_indicator_values", "n_indicators_met"), frozenset({"region", "domain"})),
}
_SOURCE_OF = {col: src for src, (cols, _) in SOURCES.items() for col in cols}
_INDEX_COLUMNS = ("n_indicators_met", "n_indicator_values", "n_on_time", "n_completed", "n_satisfied", "n_rated",
                  "avg_budget_gap_pp", "n_in_flight")


def _columns(metric: metrics.Metric) -> set[str]:
    if metric.key == "index":
        return set(_INDEX_COLUMNS)
    return {c for c in (metric.numerator, metric.denominator, metric.column, metric.n_column) if c}


def sources_for(metric_keys) -> tuple[str, ...]:
    """The fact sources the metrics need; items always (a point exists only where items do, as in summarise)."""
    needed = {"items"} | {_SOURCE_OF[c] for k in metric_keys for c in _columns(metrics.BY_KEY[k])}
    return tuple(s for s in SOURCES if s in needed)


def splits(metric: str, by: str | None) -> bool:
    """Whether grouping `by` narrows every fact the metric rests on (else some parts are the selection's)."""
    if by is None:
        return True
    return all(by in SOURCES[s][1] for s in sources_for([metric]))


def n_of(metric: metrics.Metric) -> str:
    """The count a point rests on (budget execution: items with budget and spending, not yuan)."""
    return metric.n_column or metric.n_col


def _monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def windows(grain: str, end: date, n_periods: int) -> list[tuple[str, date, date]]:
    """(label, first day, last day) of the `n_periods` periods up to the one holding `end`, oldest first;
    the last day clipped to `end`. Labels: week "2026-W47" (ISO, Monday–Sunday), "2026-11", "2026-Q4"."""
    out = []
    if grain == "week":
        first = _monday(end)
        for i in range(n_periods):
            start = first - timedelta(weeks=i)
            y, w, _ = start.isocalendar()
            out.append((f"{y}-W{w:02d}", start, min(start + timedelta(days=6), end)))
    else:
        step = 1 if grain == "month" else 3
        first = date(end.year, end.month if step == 1 else 3 * ((end.month - 1) // 3) + 1, 1)
        for i in range(n_periods):
            start = _add_months(first, -step * i)
            label = f"{start.year}-{start.month:02d}" if step == 1 else f"{start.year}-Q{(start.month + 2) // 3}"
            out.append((label, start, min(_add_months(start, step) - timedelta(days=1), end)))
    return out[::-1]


def natural_end(start: date, grain: str) -> date:
    """The last day of the period starting on `start` (a Sunday, a month's or a quarter's last day)."""
    if grain == "week":
        return start + timedelta(days=6)
    return _add_months(start, 1 if grain == "month" else 3) - timedelta(days=1)


def cut_short(start: date, end: date, grain: str) -> bool:
    """Whether the as-of date cut the period from `start` to `end` short (December on 3 December): its value covers
    a few days, not the period, and every chart that ends with it marks it as such (issue 17). The same rule as
    filters.cut_short, for a window of a series rather than a period chosen in the filters."""
    return end < natural_end(start, grain)


def with_partial(frame: pl.DataFrame, grain: str) -> pl.DataFrame:
    """`is_partial`: `cut_short` for each period of `frame`."""
    flags = [cut_short(s, e, grain) for s, e in zip(frame["period_start"].to_list(), frame["period_end"].to_list())]
    return frame.with_columns(pl.Series("is_partial", flags, dtype=pl.Boolean))


def _validate(cur, sel: metrics.Selection, metric: str, grain: str, n_periods: int, by: str | None,
              level: str | None) -> str | None:
    if metric not in metrics.BY_KEY:
        raise ValueError(f"metric {metric!r}: expected one of {sorted(metrics.BY_KEY)}")
    if grain not in GRAINS:
        raise ValueError(f"grain {grain!r}: expected one of {GRAINS}")
    if isinstance(n_periods, bool) or not isinstance(n_periods, int) or not 1 <= n_periods <= MAX_PERIODS:
        raise ValueError(f"n_periods {n_periods!r}: expected a whole number from 1 to {MAX_PERIODS}")
    if by not in BY:
        raise ValueError(f"by {by!r}: expected one of {BY}")
    if by != "region":
        if level is not None:
            raise ValueError("level applies only when grouping by region")
        return None

    own = levels.level_of(cur, sel.filters.region_code)
    level = level or levels.child_level(cur, sel.filters.region_code)
    if level is None:
        raise ValueError("a county has no regions below it to group by")
    if level not in metrics.LEVELS or metrics.LEVELS.index(level) <= metrics.LEVELS.index(own):
        raise ValueError(f"level {level!r}: expected a level below the selection's ({own}): "
                         f"{metrics.LEVELS[metrics.LEVELS.index(own) + 1:]}")
    return level


def panel(cur: duckdb.DuckDBPyConnection, sel: metrics.Selection, metric_keys: tuple[str, ...],
          grain: str = "month", n_periods: int = 12, by: str | None = None, level: str | None = None,
          weights: dict | None = None) -> pl.DataFrame:
    """Wide frame: one row per window with items and group (`group` None = the selection itself), every
    count the sources give and the metrics `metric_keys`; plus period, period_start, period_end."""
    level = _validate(cur, sel, metric_keys[0], grain, n_periods, by, level)
    unknown = [k for k in metric_keys if k not in metrics.BY_KEY]
    if unknown:
        raise ValueError(f"metrics {unknown}: expected keys of {sorted(metrics.BY_KEY)}")
    _, end = period_bounds(sel.filters.period, sel.as_of)
    wins = windows(grain, end, n_periods)
    extra = sel.thresholds.params() | {
        "w_periods": [w[0] for w in wins], "w_starts": [w[1] for w in wins], "w_ends": [w[2] for w in wins],
        "period_start": wins[0][1], "period_end": wins[-1][2], "group_level": level or "none",
        "week_dates": [w[2] for w in wins],  # the item query reads the mart when it holds every window end
    }

    def run(source: str, c) -> pl.DataFrame:
        split = by in SOURCES[source][1]
        frame = queries.run(c, f"trends_series_{source}", sel.filters, sel.scope, sel.as_of,
                            **extra | {"by": by if split else "none"})
        frame = frame.filter(pl.col("is_total") | pl.col("grp").is_not_null())  # coarser facts: totals only
        if split or source == "items":  # the items' rows are the frame every other source joins to
            return frame
        return frame.filter("is_total").drop("grp", "is_total")  # the selection's, for every group

    wanted = sources_for(metric_keys)
    with ThreadPoolExecutor(max_workers=2) as pool:  # DuckDB releases the GIL; each source its own cursor
        futures = {s: pool.submit(run, s, cur.cursor()) for s in wanted if s != "items"}
        frame = run("items", cur)
        for source, future in futures.items():
            part = future.result()
            on = ["w_period"] if "is_total" not in part.columns else ["w_period", "grp", "is_total"]
            frame = frame.join(part, on=on, how="left", nulls_equal=True)
    frame = frame.with_columns(pl.col(c).fill_null(0) for c in frame.columns
                               if c.startswith("n_") and frame.schema[c].is_integer())
    frame = _with_metrics(frame, metric_keys, sel.thresholds, weights or metrics.DEFAULT_WEIGHTS, by)
    periods = pl.DataFrame({"w_period": [w[0] for w in wins], "period_start": [w[1] for w in wins],
                            "period_end": [w[2] for w in wins]})
    return (frame.join(periods, on="w_period").rename({"w_period": "period"})
            .with_columns(pl.when(pl.col("is_total")).then(None).otherwise(pl.col("grp")).alias("group"))
            .drop("grp").sort("period_end", "is_total", "group", descending=[False, True, False]))


def _with_metrics(frame: pl.DataFrame, keys, th: metrics.Thresholds, weights: dict, by: str | None) -> pl.DataFrame:
    plain = [metrics.BY_KEY[k] for k in keys if k != "index"]
    frame = frame.with_columns(
        [metrics.rate(m.numerator, m.denominator).alias(m.key) for m in plain if m.numerator]
        + [pl.col(m.column).alias(m.key) for m in plain if m.column])
    if "index" not in keys:
        return frame
    return metrics.with_index(frame, weights)  # one definition of the index (each row's own rates)


def as_series(wide: pl.DataFrame, metric: str, groups: tuple[str, ...] = (), include_total: bool = False,
              by: str | None = None) -> pl.DataFrame:
    """One metric from a `panel`: a row per period and group (every period, also those without items)."""
    m = metrics.BY_KEY[metric]
    periods = wide.select("period", "period_start", "period_end").unique().sort("period_end")
    if by is None:
        wanted = [None]
    else:
        seen = sorted(g for g in wide["group"].unique().to_list() if g is not None)
        wanted = ([None] if include_total else []) + (list(dict.fromkeys(groups)) if groups else seen)
    grid = periods.join(pl.DataFrame({"group": pl.Series(wanted, dtype=pl.Utf8)}), how="cross")
    values = wide.select("period", "group", pl.col(metric).cast(pl.Float64).alias("value"),
                         pl.col(n_of(m)).cast(pl.Int64).alias("n"))
    out = grid.join(values, on=["period", "group"], how="left", nulls_equal=True)
    order = {g: i for i, g in enumerate(wanted)}
    return (out.with_columns(pl.col("n").fill_null(0),
                             pl.col("group").replace_strict(order, default=len(order), return_dtype=pl.Int32)
                             .alias("_order"))
            .sort("_order", "period_end").drop("_order")
            .select("period", "period_start", "period_end", "group", "value", "n"))


def metric_series(cur: duckdb.DuckDBPyConnection, sel: metrics.Selection, metric: str, grain: str = "month",
                  n_periods: int = 12, by: str | None = None, level: str | None = None, groups: tuple[str, ...] = (),
                  weights: dict | None = None, include_total: bool = False) -> pl.DataFrame:
    """One row per period (and group): columns period (label "2026-11" | "2026-Q3" | week "2026-W47"),
    period_start (date), period_end (date; clipped to sel.as_of), group (str or None: region_code at
    `level`, domain or lead_dept; groups=() means all groups, else only these), value (float or None),
    n (int: the metric's n for that point). Periods end at sel.as_of (or the filter period's end) and go
    back n_periods. Each point equals metrics.summarise for the same filters with period = that window
    and as_of = period_end (by region: that region's row of metrics.region_table). `include_total` adds
    the selection's own rows (group None) before the groups'."""
    level = _validate(cur, sel, metric, grain, n_periods, by, level)
    groups = tuple(groups)
    if not all(isinstance(g, str) for g in groups):
        raise ValueError("groups: expected a tuple of strings")
    wide = panel(cur, sel, (metric,), grain, n_periods, by, level, weights)
    return as_series(wide, metric, groups, include_total, by)


def has_mart(cur: duckdb.DuckDBPyConnection, sel: metrics.Selection, grain: str, n_periods: int) -> bool:
    """Whether the series' item state comes from the mart (every window end is a snapshot date)."""
    _, end = period_bounds(sel.filters.period, sel.as_of)
    return marts.has_snapshots(cur, [w[2] for w in windows(grain, end, n_periods)])
