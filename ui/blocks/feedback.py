"""Drawing the public feedback page's blocks from the plain data of `analytics.pages.feedback`."""
from __future__ import annotations

import html

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics import i18n, metrics
from analytics.figures.palette import CATEGORICAL
from analytics.pages import feedback as pf

from ui import auth as auth_ui
from ui import charts, filterbar, tables
from ui.context import Context
from ui.page import md_escape, on_demand

# Okabe–Ito: distinguishable with the common colour-vision deficiencies; every line is also named in the legend
MAX_LINES = 8  # groups drawn in a trend; every group is in the table


def metric_name(ctx: Context, key: str) -> str:
    return metrics.BY_KEY[key].label(ctx.lang)


def choice(ctx: Context, name: str, options: tuple[str, ...], default: str) -> str:
    """A page parameter from the URL, checked against `options` (untrusted); a bad one is reported and dropped."""
    asked = filterbar.page_param(name)
    if asked is not None and asked not in options:
        st.warning(ctx.t("feedback.param_bad", name=md_escape(name), value=md_escape(asked)))
        filterbar.set_page_param(name, None)
        asked = None
    return asked or default


def controls(ctx: Context) -> tuple[str, str, str]:
    """Metric, grain and trend grouping, each kept in the URL."""
    metric = choice(ctx, "metric", pf.METRIC_KEYS, pf.DEFAULT_METRIC)
    grain = choice(ctx, "grain", tuple(pf.PERIODS), "month")
    by = choice(ctx, "by", pf.BY_OPTIONS, "channel")
    s = st.session_state
    s["fb_metric"], s["fb_grain"], s["fb_by"] = metric, grain, by
    defaults = {"metric": pf.DEFAULT_METRIC, "grain": "month", "by": "channel"}

    def changed(param: str) -> None:
        value = st.session_state[f"fb_{param}"] or defaults[param]
        filterbar.set_page_param(param, None if value == defaults[param] else value)

    left, mid, right = st.columns([4, 3, 4])
    left.selectbox(ctx.t("feedback.metric"), list(pf.METRIC_KEYS), key="fb_metric",
                   format_func=lambda k: metric_name(ctx, k), on_change=changed, args=("metric",))
    mid.segmented_control(ctx.t("feedback.grain"), list(pf.PERIODS), key="fb_grain",
                          format_func=lambda g: ctx.t(f"feedback.grain_{g}"), on_change=changed, args=("grain",))
    right.segmented_control(ctx.t("feedback.by"), list(pf.BY_OPTIONS), key="fb_by",
                            format_func=lambda b: ctx.t(f"feedback.by_{b}"), on_change=changed, args=("by",))
    return metric, grain, by


def kpis(ctx: Context, totals: dict) -> None:
    date = i18n.period_note(ctx.filters.period, ctx.as_of, ctx.lang)  # what the cards cover: the period, not the as-of day
    for col, key in zip(st.columns(len(pf.METRIC_KEYS)), pf.METRIC_KEYS):
        m = metrics.BY_KEY[key]
        value, n = totals.get(key), totals.get(m.n_col)
        with col.container(border=True):
            st.metric(metric_name(ctx, key), i18n.fmt_metric(m.unit, value, ctx.lang),
                      help=ctx.t("kpi.help", formula=m.formula_zh if ctx.lang == "zh" else m.formula_en, seed=m.seed))
            notes = [ctx.t("kpi.n", n=i18n.fmt_int(n, ctx.lang)), date]
            if n is not None and n < ctx.thresholds.min_n:
                notes.append("⚠ " + ctx.t("kpi.small"))
            if m.target is not None and value is not None:
                met = value >= m.target if m.direction == "higher_is_better" else value <= m.target
                op = "≥" if m.direction == "higher_is_better" else "≤"
                notes.append(ctx.t("kpi.target", op=op, target=i18n.fmt_metric(m.unit, m.target, ctx.lang)) + " "
                             + ("✓ " + ctx.t("kpi.met") if met else "✗ " + ctx.t("kpi.missed")))
            st.caption(" · ".join(notes))
    st.caption(ctx.t("feedback.kpi_note", hours=ctx.thresholds.response_hours))


def group_label(ctx: Context, by: str, group: str | None, names: dict[str, str]) -> str:
    if group is None:
        return ctx.t("feedback.all")
    if by == "channel":
        return i18n.choice_label("feedback", "channel", group, ctx.lang)
    if by == "domain":
        return i18n.glossary("domain", group, ctx.lang)
    return i18n.glossary("province", names.get(group, group), ctx.lang)


def _drawn_groups(trend: pl.DataFrame) -> list[str]:
    ranked = (trend.filter(pl.col("group").is_not_null()).group_by("group").agg(pl.col("n").sum())
              .sort(["n", "group"], descending=[True, False]))
    return ranked["group"].head(MAX_LINES).to_list()


def trend(ctx: Context, data: pf.Page, metric: str, grain: str, names: dict[str, str]) -> None:
    m = metrics.BY_KEY[metric]
    by = data.rule["by"]
    groups = _drawn_groups(data.trend)
    st.subheader(ctx.t("feedback.trend_title", metric=metric_name(ctx, metric), by=ctx.t(f"feedback.group_{by}")))
    if data.trend.filter(pl.col("value").is_not_null()).is_empty():
        st.info(ctx.t("feedback.no_trend"))
        return
    scale = 100.0 if m.unit == "share" else 1.0
    unit = "%" if m.unit == "share" else ctx.t(f"feedback.unit_{m.unit}")
    fig = go.Figure()
    # the period cut short is named on the axis itself, "12月<br>截至12月4日": a note inside the plot sat on the
    # last points (issue 17)
    cut = _x(ctx, data, [data.partial[0]])[0] if data.partial is not None else None
    axis = lambda periods: [f"{x}<br>{_partial_note(ctx, data)}" if x == cut else x  # noqa: E731
                            for x in _x(ctx, data, periods)]
    for i, g in enumerate(groups):
        part = data.trend.filter(pl.col("group") == g).sort("period_end")
        label = group_label(ctx, by, g, names)
        small = [n < ctx.thresholds.min_n or (data.partial is not None and p == data.partial[0])
                 for n, p in zip(part["n"], part["period"])]
        fig.add_scatter(x=axis(part["period"]), y=[None if v is None else v * scale for v in part["value"]],
                        mode="lines+markers", name=label, line=dict(color=CATEGORICAL[i % len(CATEGORICAL)], width=2),
                        marker=dict(symbol=["circle-open" if s else "circle" for s in small], size=8),
                        customdata=part["n"].to_list(),
                        hovertemplate="%{x}: %{y:.1f} " + unit + " (n = %{customdata:,})<extra>" + label + "</extra>")
    if m.target is not None:
        fig.add_hline(y=m.target * scale, line_dash="dash", line_color="#555",
                      annotation_text=ctx.t("feedback.target_line", target=i18n.fmt_metric(m.unit, m.target, ctx.lang)))
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=30, b=10), plot_bgcolor="white",
                      yaxis_title=f"{metric_name(ctx, metric)} ({unit})", xaxis_title=ctx.t(f"feedback.grain_{grain}"),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    fig.update_yaxes(gridcolor="#e5e8ec")
    fig.update_xaxes(type="category")
    charts.show(fig, key="fb_trend", lang=ctx.lang)
    notes = [ctx.t("feedback.trend_note", date=i18n.fmt_date(data.trend["period_end"].max(), ctx.lang),
                   min_n=ctx.thresholds.min_n)]
    n_groups = data.trend.filter(pl.col("group").is_not_null())["group"].n_unique()
    if n_groups > len(groups):
        notes.append(ctx.t("feedback.trend_cut", shown=len(groups), n=n_groups))
    st.caption(" ".join(notes))
    complaints_chart(ctx, data, groups, by, names)
    if (table_box := on_demand(ctx.t("feedback.as_table"), key="fb_trend_as_table")) is None:
        return
    with table_box:
        rows = data.trend.join(data.complaints.rename({"n": "n_complaints"}), on=["period", "group"], how="left")
        table = pl.DataFrame({
            ctx.t("feedback.col_period"): rows["period"],
            ctx.t("feedback.col_group"): [group_label(ctx, by, g, names) for g in rows["group"]],
            ctx.t("feedback.col_value", metric=metric_name(ctx, metric), unit=unit):
                [None if v is None else round(v * scale, 2) for v in rows["value"]],
            "n": rows["n"],
            ctx.t("feedback.col_complaints"): rows["n_complaints"].fill_null(0),
        })
        tables.show(ctx, table, key="fb_trend_table", title=ctx.t("feedback.trend_title", metric=metric_name(
            ctx, metric), by=ctx.t(f"feedback.group_{by}")), stem="feedback-trend")


def _x(ctx: Context, data: pf.Page, periods) -> list[str]:
    """Periods as the charts' category labels in the reader's language ("2026年11月", "12月" / "Nov 2026", "Dec";
    "第47周" / "wk 47"), the same label for a period in every trace: plotly would read "2026-11" as a date and
    print "Nov 2026" in either language."""
    every = sorted({*data.trend["period"].to_list(), *data.complaints["period"].to_list(),
                    *data.categories["period"].to_list()} - {None})
    labels = dict(zip(every, i18n.fmt_period_axis(every, ctx.lang)))
    return [labels.get(p, p) for p in periods]


def _partial_note(ctx: Context, data: pf.Page) -> str:
    """"截至12月4日" / "to 4 Dec" for the period the as-of date cuts short ("" when none is)."""
    return "" if data.partial is None else ctx.t("trends.partial", date=i18n.fmt_day(data.partial[1], ctx.lang))


def _mark_partial_bars(fig: go.Figure, ctx: Context, data: pf.Page, periods: list, totals: dict) -> None:
    """The last period's bars, when it covers only a few days, drawn pale and labelled with the day it runs to,
    so a short month is not read as a collapse (issue 17, point 5)."""
    if data.partial is None or data.partial[0] not in periods:
        return
    cut = _x(ctx, data, [data.partial[0]])[0]
    for trace in fig.data:
        trace.marker.opacity = [0.4 if x == cut else 1.0 for x in trace.x]
    fig.add_annotation(x=cut, y=totals.get(data.partial[0], 0), text=_partial_note(ctx, data),
                       showarrow=False, yanchor="bottom", yshift=4, font=dict(size=11, color="#444"))


def complaints_chart(ctx: Context, data: pf.Page, groups: list[str], by: str, names: dict[str, str]) -> None:
    fig = go.Figure()
    for i, g in enumerate(groups):
        part = data.complaints.filter(pl.col("group") == g).sort("period")
        label = group_label(ctx, by, g, names)
        fig.add_bar(x=_x(ctx, data, part["period"]), y=part["n"].to_list(), name=label,
                    marker_color=CATEGORICAL[i % len(CATEGORICAL)],
                    hovertemplate="%{x}: %{y:,}<extra>" + label + "</extra>")
    drawn = data.complaints.filter(pl.col("group").is_in(groups)).group_by("period").agg(pl.col("n").sum())
    _mark_partial_bars(fig, ctx, data, drawn["period"].to_list(), dict(drawn.iter_rows()))
    fig.update_layout(barmode="stack", height=300, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white",
                      title=ctx.t("feedback.complaints_title"), yaxis_title=ctx.t("feedback.axis_complaints"),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    fig.update_yaxes(gridcolor="#e5e8ec", rangemode="tozero")
    fig.update_xaxes(type="category")
    charts.show(fig, key="fb_complaints", lang=ctx.lang)


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)


def metrics_table(ctx: Context, frame: pl.DataFrame, first: str, labels: list[str]) -> pl.DataFrame:
    """One row per channel, region or domain: the feedback counts and rates, each rate beside its n."""
    rs = list(frame.iter_rows(named=True))
    t = ctx.t
    pct_cols = (t("feedback.col_satisfied"), t("feedback.col_complaint_rate"), t("feedback.col_in_time"),
                t("feedback.col_resolved"))
    return pl.DataFrame({
        first: labels,
        t("feedback.col_n"): [r["n_feedback"] for r in rs],
        t("feedback.col_avg"): [None if r["avg_satisfaction"] is None else round(r["avg_satisfaction"], 2) for r in rs],
        t("feedback.col_rated"): [r["n_rated"] for r in rs],
        t("feedback.col_satisfied"): [_pct(r["satisfied_share"]) for r in rs],
        t("feedback.col_complaints"): [r["n_complaints"] for r in rs],
        t("feedback.col_complaint_rate"): [_pct(r["complaint_rate"]) for r in rs],
        t("feedback.col_need"): [r["n_need_response"] for r in rs],
        t("feedback.col_in_time"): [_pct(r["answered_in_time"]) for r in rs],
        t("feedback.col_resolved"): [_pct(r["resolution_rate"]) for r in rs],
    }, schema_overrides={c: pl.Float64 for c in (*pct_cols, t("feedback.col_avg"))})


def breakdowns(ctx: Context, data: pf.Page, names: dict[str, str]) -> None:
    st.subheader(ctx.t("feedback.breakdown_title", period=i18n.fmt_period(ctx.filters.period, ctx.lang)))
    tabs = st.tabs([ctx.t("feedback.by_channel"), ctx.t("feedback.by_region"), ctx.t("feedback.by_domain")])
    with tabs[0]:
        frame = data.by_channel.sort(pl.col("channel").is_null(), "channel")
        labels = [group_label(ctx, "channel", c, names) for c in frame["channel"]]
        tables.show(ctx, metrics_table(ctx, frame, ctx.t("feedback.col_channel"), labels), key="fb_channels",
                    title=ctx.t("feedback.by_channel"), stem="feedback-by-channel", searchable=False)
    with tabs[1]:
        if data.by_region.is_empty():
            st.info(ctx.t("feedback.no_regions"))
        else:
            labels = [i18n.glossary("province", r, ctx.lang) for r in data.by_region["name"]]
            st.caption(ctx.t("feedback.region_note"))
            tables.show(ctx, metrics_table(ctx, data.by_region, ctx.t("feedback.col_region"), labels),
                        key="fb_regions", title=ctx.t("feedback.by_region"), stem="feedback-by-region")
    with tabs[2]:
        if data.by_domain.is_empty():
            st.info(ctx.t("feedback.none"))
        else:
            labels = [i18n.glossary("domain", d, ctx.lang) for d in data.by_domain["domain"]]
            tables.show(ctx, metrics_table(ctx, data.by_domain, ctx.t("feedback.col_domain"), labels),
                        key="fb_domains", title=ctx.t("feedback.by_domain"), stem="feedback-by-domain")
    st.caption(ctx.t("feedback.tables_note", date=i18n.fmt_date(ctx.as_of, ctx.lang)))


def categories(ctx: Context, data: pf.Page) -> None:
    st.subheader(ctx.t("feedback.what_title"))
    cats = data.categories
    if cats.is_empty():
        st.info(ctx.t("feedback.no_complaints"))
        return
    order = [c for c in dict.fromkeys(cats["category"]) if c != pf.OTHER]  # the rest: in the caption and the table
    n_other = int(cats.filter(pl.col("category") == pf.OTHER)["n_complaints"].sum())
    label = lambda c: (ctx.t("feedback.other") if c == pf.OTHER  # noqa: E731
                       else i18n.glossary("category", c, ctx.lang) if c else ctx.t("feedback.no_category"))
    fig = go.Figure()
    for i, c in enumerate(order):
        part = cats.filter(pl.col("category") == c)
        name = html.escape(label(c))  # a category is data: plotly reads a little HTML in names
        fig.add_bar(x=_x(ctx, data, part["period"]), y=part["n_complaints"].to_list(), name=name,
                    marker_color=CATEGORICAL[i % len(CATEGORICAL)], hovertemplate="%{x}: %{y:,}<extra>" + name + "</extra>")
    drawn = cats.filter(pl.col("category") != pf.OTHER).group_by("period").agg(pl.col("n_complaints").sum())
    _mark_partial_bars(fig, ctx, data, drawn["period"].to_list(), dict(drawn.iter_rows()))
    fig.update_layout(barmode="stack", height=340, margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white",
                      title=ctx.t("feedback.categories_title"), yaxis_title=ctx.t("feedback.axis_complaints"),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1))
    fig.update_yaxes(gridcolor="#e5e8ec", rangemode="tozero")
    fig.update_xaxes(type="category")
    charts.show(fig, key="fb_categories", lang=ctx.lang)
    st.caption(ctx.t("feedback.categories_note", top=pf.TOP_CATEGORIES,
                     other=i18n.fmt_int(n_other, ctx.lang), total=i18n.fmt_int(cats["n_complaints"].sum(), ctx.lang)))
    if (table_box := on_demand(ctx.t("feedback.as_table"), key="fb_categories_as_table")) is None:
        return
    with table_box:
        table = pl.DataFrame({ctx.t("feedback.col_period"): cats["period"],
                              ctx.t("feedback.col_category"): [label(c) for c in cats["category"]],
                              ctx.t("feedback.col_complaints"): cats["n_complaints"]})
        tables.show(ctx, table, key="fb_categories_table", title=ctx.t("feedback.categories_title"),
                    stem="complaints-by-category")


def terms(ctx: Context, data: pf.Page) -> None:
    tm = data.terms
    st.markdown("**" + ctx.t("feedback.terms_title") + "**")
    if tm.frame.is_empty():
        st.info(ctx.t("feedback.no_complaints"))
        return
    sep = " ｜ "
    rows = list(tm.frame.iter_rows(named=True))
    table = pl.DataFrame({
        ctx.t("feedback.col_term"): [r["term"] for r in rows],
        ctx.t("feedback.col_term_n"): [r["n"] for r in rows],
        ctx.t("feedback.col_term_share"): [_pct(r["share"]) for r in rows],
        ctx.t("feedback.col_examples"): [sep.join(auth_ui.feedback_text(ctx, e) or "" for e in r["examples"])
                                         for r in rows],  # names too, for roles without personal data
    }, schema_overrides={ctx.t("feedback.col_term_share"): pl.Float64})
    tables.show(ctx, table, key="fb_terms", title=ctx.t("feedback.terms_title"), stem="complaint-phrases",
                searchable=False)
    notes = [ctx.t("feedback.terms_note", n=i18n.fmt_int(tm.n_complaints, ctx.lang),
                   distinct=i18n.fmt_int(tm.n_distinct, ctx.lang))]
    if tm.truncated:
        notes.append(ctx.t("feedback.terms_cut", n=i18n.fmt_int(pf.MAX_TEXTS, ctx.lang)))
    notes.append(ctx.t("feedback.masked"))
    st.caption(" ".join(notes))


def disagreement(ctx: Context, data: pf.Page, names: dict[str, str]) -> None:
    r = data.rule
    st.subheader(ctx.t("feedback.disagree_title"))
    st.caption(ctx.t("feedback.disagree_rule", days=r["window_days"], rise=round(100 * r["min_rise"]),
                     min_region=r["min_recent_region"], min_item=r["min_recent_item"],
                     green=round(100 * r["green_share"]), date=i18n.fmt_date(ctx.as_of, ctx.lang)))
    regions, items = data.disagree_regions, data.disagree_items
    st.markdown("**" + ctx.t("feedback.disagree_regions", n=i18n.fmt_int(regions.height, ctx.lang)) + "**")
    if regions.is_empty():
        st.info(ctx.t("feedback.disagree_none_regions") if data.level else ctx.t("feedback.no_regions"))
    else:
        rs = list(regions.iter_rows(named=True))
        table = pl.DataFrame({
            ctx.t("feedback.col_region"): [i18n.glossary("province", x["name"], ctx.lang) for x in rs],
            ctx.t("feedback.col_green"): [_pct(x["green_share"]) for x in rs],
            ctx.t("feedback.col_lit"): [x["n_lit"] for x in rs],
            ctx.t("feedback.col_recent"): [x["n_recent"] for x in rs],
            ctx.t("feedback.col_previous"): [x["n_previous"] for x in rs],
            ctx.t("feedback.col_rise"): [rise_text(ctx, x["rise"]) for x in rs],
        }, schema_overrides={ctx.t("feedback.col_green"): pl.Float64})
        tables.show(ctx, table, key="fb_disagree_regions", title=ctx.t("feedback.disagree_title"),
                    stem="feedback-vs-progress-regions", searchable=False)
    st.markdown("**" + ctx.t("feedback.disagree_items", n=i18n.fmt_int(items.height, ctx.lang)) + "**")
    if items.is_empty():
        st.info(ctx.t("feedback.disagree_none_items"))
        return
    rs = list(items.iter_rows(named=True))
    table = pl.DataFrame({
        ctx.t("feedback.col_item"): [x["project_id"] for x in rs],
        ctx.t("feedback.col_item_name"): [x["name"] for x in rs],
        ctx.t("feedback.col_region"): [i18n.glossary("province", x["region_name"], ctx.lang) for x in rs],
        ctx.t("feedback.col_lead"): [i18n.glossary("dept", x["lead_dept"], ctx.lang) for x in rs],
        ctx.t("feedback.col_light"): [ctx.t("feedback.light_green") for _ in rs],
        ctx.t("feedback.col_recent"): [x["n_recent"] for x in rs],
        ctx.t("feedback.col_previous"): [x["n_previous"] for x in rs],
        ctx.t("feedback.col_rise"): [rise_text(ctx, x["rise"]) for x in rs],
    })
    tables.show(ctx, table, key="fb_disagree_items", title=ctx.t("feedback.disagree_title"),
                stem="feedback-vs-progress-items", item_column=ctx.t("feedback.col_item"), shown=200)


def rise_text(ctx: Context, rise: float | None) -> str:
    return ctx.t("feedback.rise_from_zero") if rise is None else f"+{100 * rise:.0f}%"
