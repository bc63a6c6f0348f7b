"""趋势 / Trends as plain data and figures: a metric over weeks, months or quarters for the selection and
up to five compared regions or domains, the seed target, the calendar's busy and quiet seasons, and the
planned-versus-actual progress curve.

Every point comes from `series.panel`, so it equals the cockpit for that window (tests hold it).

Progress curve (S-curve) definition: at the end of each period, over the items in flight that have a
progress report by then (the same items as the average progress lag), the mean planned progress and the
mean actual progress of their latest report, unweighted (each item counts once, whatever its budget).
The gap between the two lines is the average progress lag of that period.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
import plotly.graph_objects as go
import polars as pl

from analytics import i18n, metrics, series
from analytics.figures import palette as P
from analytics.levels import child_level
from analytics.region_tree import RegionTree

MAX_COMPARE = 5
COMPARE_BY = ("region", "domain")
DEFAULT_PERIODS = {"week": 26, "month": 12, "quarter": 8}
SMALL_UNITS = ("share", "pp", "days", "rating", "score")  # a count does not become uncertain on few items

# Spring Festival (春节): the day itself and the official public holiday (State Council schedules);
# 2027's schedule was not yet published on the data's date: eve plus six days, marked provisional.
SPRING_FESTIVAL: dict[int, tuple[date, date, date, bool]] = {  # year: (正月初一, first day off, last day off, official)
    2022: (date(2022, 2, 1), date(2022, 1, 31), date(2022, 2, 6), True),
    2023: (date(2023, 1, 22), date(2023, 1, 21), date(2023, 1, 27), True),
    2024: (date(2024, 2, 10), date(2024, 2, 10), date(2024, 2, 17), True),
    2025: (date(2025, 1, 29), date(2025, 1, 28), date(2025, 2, 4), True),
    2026: (date(2026, 2, 17), date(2026, 2, 15), date(2026, 2, 23), True),
    2027: (date(2027, 2, 6), date(2027, 2, 5), date(2027, 2, 11), False),
}
YEAR_END_FROM = (12, 16)  # the year-end rush (年底冲刺, DOMAIN.md): the last two weeks of December

# Okabe–Ito (safe with the common colour-vision deficiencies); each line also has its own dash and marker
SELECTION_COLOUR = P.BLACK
COMPARE_STYLES = ((P.ORANGE, "dash", "square"), (P.SKY_BLUE, "dot", "diamond"), (P.GREEN, "dashdot", "triangle-up"),
                  (P.BLUE, "longdash", "cross"), (P.PURPLE, "longdashdot", "x"))
SEASON_COLOURS = {"spring_festival": "rgba(213, 94, 0, 0.12)", "year_end": "rgba(0, 114, 178, 0.10)"}


def seasons(start: date, end: date) -> list[tuple[str, date, date, bool]]:
    """(kind, first day, last day, official) of the Spring Festival holidays and year-end weeks in [start, end]."""
    out = []
    for year in range(start.year, end.year + 1):
        if year in SPRING_FESTIVAL:
            _, first, last, official = SPRING_FESTIVAL[year]
            out.append(("spring_festival", first, last, official))
        out.append(("year_end", date(year, *YEAR_END_FROM), date(year, 12, 31), True))
    return [s for s in out if s[2] >= start and s[1] <= end]


def compare_options(tree: RegionTree, region_code: str | None) -> tuple[str | None, list[str]]:
    """The level one step below the selection and its regions (municipalities go straight to districts);
    (None, []) below a county."""
    if region_code is None:
        return "province", tree.provinces()
    level = tree.level.get(region_code)
    if level == "province":
        level = "city" if tree.has_city_level(region_code) else "county"
    elif level == "city":
        level = "county"
    else:
        return None, []
    return level, [c for c in tree.children.get(region_code, []) if tree.level[c] == level]


def validate_compare(requested: list[str], allowed: list[str], limit: int = MAX_COMPARE) -> tuple[tuple[str, ...],
                                                                                                   list[tuple[str, str]]]:
    """Keep the requested comparisons that are offered, at most `limit`; the rest come back as
    (value, reason) with reason 'not_offered' or 'too_many'."""
    kept: list[str] = []
    dropped: list[tuple[str, str]] = []
    offered = set(allowed)
    for value in requested:
        if value in kept:
            continue
        if value not in offered:
            dropped.append((value[:80], "not_offered"))
        elif len(kept) >= limit:
            dropped.append((value[:80], "too_many"))
        else:
            kept.append(value)
    return tuple(kept), dropped


@dataclass(frozen=True)
class State:
    """The page's own choices, as kept in the URL (`metric`, `grain`, `by`, `cmp`)."""

    metric: str = "red_share"
    grain: str = "month"
    by: str = "region"
    compare: tuple[str, ...] = ()

    def params(self) -> dict[str, str | None]:
        return {"metric": self.metric, "grain": self.grain, "by": self.by, "cmp": ",".join(self.compare) or None}


def parse_params(raw: dict[str, str | None], region_options: list[str], domain_options: list[str]
                 ) -> tuple[State, list[tuple[str, dict]]]:
    """The page state from untrusted URL values: anything not offered is dropped and reported as
    (message key, values) for the page to show."""
    problems: list[tuple[str, dict]] = []

    def pick(param: str, allowed, default: str) -> str:
        value = raw.get(param)
        if value is None:
            return default
        if value not in allowed:
            problems.append(("trends.bad_param", {"param": param, "value": value[:80],
                                                  "expected": " | ".join(allowed)}))
            return default
        return value

    metric = pick("metric", [m.key for m in metrics.METRICS], State.metric)
    grain = pick("grain", list(series.GRAINS), State.grain)
    by = pick("by", list(COMPARE_BY), "region" if region_options else "domain")
    if by == "region" and not region_options:
        by = "domain"
    requested = [v.strip() for v in (raw.get("cmp") or "").split(",") if v.strip()][:50]
    compare, dropped = validate_compare(requested, region_options if by == "region" else domain_options)
    problems += [(f"trends.dropped_{why}", {"value": value, "max": MAX_COMPARE}) for value, why in dropped]
    return State(metric, grain, by, compare), problems


@dataclass(frozen=True)
class Trends:
    """What the page draws: the metric per period for the selection (group None) and each comparison,
    and the progress curve of the selection."""

    metric: str
    grain: str
    by: str | None
    level: str | None
    compare: tuple[str, ...]
    lines: pl.DataFrame  # period, period_start, period_end, group, value, n, is_small
    progress: pl.DataFrame  # period, period_start, period_end, planned_pct, actual_pct, n
    from_mart: bool
    has_items: bool  # any item of the selection active in any of the periods

    @property
    def has_values(self) -> bool:
        return self.lines["value"].is_not_null().any()


def page(cur: duckdb.DuckDBPyConnection, sel: metrics.Selection, weights: dict | None = None, *,
         metric: str = "red_share", grain: str = "month", n_periods: int | None = None, by: str | None = None,
         compare: tuple[str, ...] = ()) -> Trends:
    """The trends page's data: one pass per fact source for the selection and its comparisons."""
    if by not in (None, *COMPARE_BY):
        raise ValueError(f"compare by {by!r}: expected one of {COMPARE_BY}")
    if len(compare) > MAX_COMPARE:
        raise ValueError(f"at most {MAX_COMPARE} comparisons")
    by = by if compare else None
    n_periods = n_periods or DEFAULT_PERIODS.get(grain, 12)
    wide = series.panel(cur, sel, (metric,), grain, n_periods, by, None, weights)
    lines = series.as_series(wide, metric, tuple(compare), include_total=True, by=by)
    small = metrics.BY_KEY[metric].unit in SMALL_UNITS
    lines = series.with_partial(lines.with_columns(
        ((pl.col("n") < sel.thresholds.min_n) & pl.col("value").is_not_null() & small).alias("is_small")), grain)
    total = wide.filter(pl.col("group").is_null())
    progress = (lines.filter(pl.col("group").is_null()).select("period", "period_start", "period_end")
                .join(total.select("period", pl.col("avg_planned_pct").alias("planned_pct"),
                                   pl.col("avg_actual_pct").alias("actual_pct"), pl.col("n_with_progress").alias("n")),
                      on="period", how="left")
                .with_columns(pl.col("n").fill_null(0).cast(pl.Int64)))
    progress = series.with_partial(progress, grain)

    level = child_level(cur, sel.filters.region_code) if by == "region" else None
    return Trends(metric, grain, by, level, tuple(compare), lines, progress,
                  series.has_mart(cur, sel, grain, n_periods), total.height > 0)


# ---- figures (plotly text is plain: names come in already in the reader's language) ------------------

def _unit_title(metric: metrics.Metric, lang: str) -> str:
    name = metric.label(lang)
    return i18n.t("trends.axis", lang, metric=name, unit=i18n.t(f"trends.unit_{metric.unit}", lang))


def _shade(fig: go.Figure, start: date, end: date, lang: str) -> None:
    for kind, first, last, official in seasons(start, end):
        label = i18n.t(f"trends.season_{kind}", lang) + ("" if official else i18n.t("trends.provisional", lang))
        fig.add_vrect(x0=first, x1=last + timedelta(days=1), fillcolor=SEASON_COLOURS[kind], line_width=0,
                      layer="below", annotation_text=label, annotation_position="top left",
                      annotation_font_size=11, annotation_font_color="#444")


def metric_figure(data: Trends, names: dict[str | None, str], lang: str, min_n: int) -> go.Figure:
    """Lines of the metric per period; small-sample points drawn hollow; target as a dashed line."""
    m = metrics.BY_KEY[data.metric]
    fig = go.Figure()
    groups = [None, *data.compare] if data.by else [None]
    few = i18n.t("trends.few", lang, min_n=min_n)
    for i, group in enumerate(groups):
        rows = data.lines.filter(pl.col("group").eq_missing(group))
        colour, dash, symbol = (SELECTION_COLOUR, "solid", "circle") if group is None else COMPARE_STYLES[i - 1]
        rows, cut = _split_partial(rows)
        small = rows["is_small"].to_list()
        text = [i18n.fmt_metric(m.unit, v, lang) for v in rows["value"]]
        # only the selection's tail is written out: the comparisons' labels sat on top of each other
        _partial_tail(fig, rows, cut, colour, lang, [i18n.fmt_metric(m.unit, v, lang) for v in cut["value"]]
                      if group is None else None)
        fig.add_scatter(
            x=rows["period_end"].to_list(), y=rows["value"].to_list(), name=names.get(group, str(group)),
            mode="lines+markers", line=dict(color=colour, dash=dash, width=3 if group is None else 2),
            marker=dict(symbol=[f"{symbol}-open" if s else symbol for s in small], size=[11 if s else 7 for s in small],
                        color=colour, line=dict(width=2, color=colour)),
            customdata=list(zip([i18n.fmt_period(p, lang) for p in rows["period"]], text, [i18n.fmt_int(n, lang) for n in rows["n"]],
                                [few if s else "" for s in small])),
            hovertemplate="%{customdata[0]}: %{customdata[1]} (n = %{customdata[2]}) %{customdata[3]}<extra>"
                          + names.get(group, str(group)).replace("<", "‹") + "</extra>",
            connectgaps=False)
    if m.target is not None:
        op = "≥" if m.direction == "higher_is_better" else "≤"
        fig.add_hline(y=m.target, line_dash="dash", line_color="#555", line_width=1.5,
                      annotation_text=i18n.t("trends.target_line", lang, op=op,
                                             target=i18n.fmt_metric(m.unit, m.target, lang), seed=m.seed),
                      annotation_position="top right")
    _layout(fig, data, _unit_title(m, lang), lang)
    if m.unit == "share":  # whole percents unless the lines move within a few points
        values = data.lines["value"].drop_nulls()
        narrow = values.len() > 0 and float(values.max()) - float(values.min()) < 0.05
        fig.update_yaxes(tickformat=".1%" if narrow else ".0%")
    return fig


def progress_figure(data: Trends, lang: str) -> go.Figure:
    """Mean planned and mean actual progress of the items in flight, per period end (see module doc)."""
    fig = go.Figure()
    rows = data.progress
    n = [i18n.fmt_int(v, lang) for v in rows["n"]]
    for col, colour, dash, symbol in (("planned_pct", P.BLUE, "dash", "diamond"),
                                      ("actual_pct", P.VERMILLION, "solid", "circle")):
        label = i18n.t(f"trends.{col}", lang)
        done, cut = _split_partial(rows)
        _partial_tail(fig, done, cut, colour, lang, [f"{v:.1f}%" if v is not None else "—" for v in cut[col]], col)
        fig.add_scatter(x=done["period_end"].to_list(), y=done[col].to_list(), name=label, mode="lines+markers",
                        line=dict(color=colour, dash=dash, width=2.5), marker=dict(symbol=symbol, size=7),
                        customdata=list(zip([i18n.fmt_period(p, lang) for p in done["period"]], n)),
                        hovertemplate="%{customdata[0]}: %{y:.1f}% (n = %{customdata[1]})<extra>" + label + "</extra>")
    _layout(fig, data, i18n.t("trends.progress_axis", lang), lang)
    fig.update_yaxes(ticksuffix="%")
    return fig


def _split_partial(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the complete periods, the period the as-of date cuts short: at most the last one)."""
    if "is_partial" not in rows.columns:
        return rows, rows.clear()
    return rows.filter(~pl.col("is_partial")), rows.filter(pl.col("is_partial"))


def _partial_tail(fig: go.Figure, done: pl.DataFrame, cut: pl.DataFrame, colour: str, lang: str,
                  shown: list[str] | None, col: str = "value") -> None:
    """The period cut short by the as-of date: a dotted segment from the last complete point to a hollow point
    labelled "截至12月3日" / "to 3 Dec" (`shown`: the values written beside it; None: the hollow point alone), so
    a few days are never read as a whole period (issue 17). The label runs leftwards from the point, which sits at
    the chart's right edge, where a centred label was cut."""
    if cut.is_empty():
        return
    last = done.tail(1)
    xs = last["period_end"].to_list() + cut["period_end"].to_list()
    ys = last[col].to_list() + cut[col].to_list()
    label = i18n.t("trends.partial", lang, date=i18n.fmt_day(cut["period_end"][0], lang))
    text = [""] * len(last) + ([f"{v} ({label})" for v in shown] if shown is not None else [""] * len(cut))
    fig.add_scatter(x=xs, y=ys, mode="lines+markers+text", showlegend=False, hoverinfo="skip",
                    line=dict(color=colour, dash="dot", width=2),
                    marker=dict(symbol=["circle"] * len(last) + ["circle-open"] * len(cut), size=[0] * len(last)
                                + [11] * len(cut), color=colour, line=dict(width=2, color=colour)),
                    text=text, textposition="top left", textfont=dict(size=11, color="#444"), cliponaxis=False)


def _layout(fig: go.Figure, data: Trends, y_title: str, lang: str) -> None:
    ends = data.lines["period_end"]
    starts = data.lines["period_start"]
    if len(ends):
        _shade(fig, starts.min(), ends.max(), lang)
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white", hovermode="closest",
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0),
                      yaxis_title=y_title, xaxis_title=i18n.t("trends.x_axis", lang))
    fig.update_yaxes(gridcolor="#e5e8ec", zerolinecolor="#ccc")
    fig.update_xaxes(gridcolor="#f0f2f4", **_period_ticks(data, lang))


MAX_TICKS = 8  # labels on the period axis: eight "2026年7月5日" fit a phone's chart when the year is on the first only


def _period_ticks(data: Trends, lang: str) -> dict:
    """The period axis labelled by period, in words: weeks by their last day ("2026年7月5日", "7月12日"), months
    ("2026年7月", "8月"), quarters ("2026年第3季度"), at most `MAX_TICKS` of them, always the last (issue 17: the
    axis read "07-05" and "2026-06" for a quarter)."""
    periods = data.lines.select("period", "period_end").unique().sort("period_end")
    if periods.is_empty():
        return {}
    ends, names = periods["period_end"].to_list(), periods["period"].to_list()
    step = -(-len(ends) // MAX_TICKS)
    keep = list(range(len(ends) - 1, -1, -step))[::-1]
    ends, names = [ends[i] for i in keep], [names[i] for i in keep]
    text = i18n.fmt_day_axis(ends, lang) if data.grain == "week" else i18n.fmt_period_axis(names, lang)
    return dict(tickmode="array", tickvals=ends, ticktext=text)


# ---- tables (headers in the reader's language) -------------------------------------------------------

def lines_table(data: Trends, names: dict[str | None, str], lang: str) -> pl.DataFrame:
    """The chart's data: one row per line and period, value in the metric's unit (shares in %)."""
    m = metrics.BY_KEY[data.metric]
    scale = 100.0 if m.unit == "share" else 1.0
    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    rows = data.lines
    return pl.DataFrame({
        t("trends.col_series"): [names.get(g, str(g)) for g in rows["group"]],
        t("trends.col_period"): [i18n.fmt_period(p, lang) for p in rows["period"]],
        t("trends.col_period_end"): rows["period_end"],
        _unit_title(m, lang): [None if v is None else round(v * scale, 2) for v in rows["value"]],
        "n": rows["n"],
        t("trends.col_small"): [t("trends.yes") if s else "" for s in rows["is_small"]],
    }, schema_overrides={_unit_title(m, lang): pl.Float64})


def progress_table(data: Trends, lang: str) -> pl.DataFrame:
    t = lambda key: i18n.t(key, lang)  # noqa: E731
    rows = data.progress
    return pl.DataFrame({
        t("trends.col_period"): [i18n.fmt_period(p, lang) for p in rows["period"]],
        t("trends.col_period_end"): rows["period_end"],
        t("trends.planned_pct") + " (%)": rows["planned_pct"].round(2),
        t("trends.actual_pct") + " (%)": rows["actual_pct"].round(2),
        t("trends.gap_pp"): (rows["planned_pct"] - rows["actual_pct"]).round(2), "n": rows["n"],
    })
