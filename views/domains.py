"""领域与部门 / Domains & departments: one metric by domain × region, by region and lead department over
twelve months, and the department league. A click on a heatmap cell filters every page to that cell."""
import hashlib
from dataclasses import astuple

import polars as pl
import streamlit as st

from analytics import i18n, metrics, series
from analytics.pages import domains
from analytics.figures.heatmap import Axis, heatmap, shows_values
from ui import charts, context, filterbar, mapfit, page, tables
from ui.blocks import freshness as freshness_ui

ctx = context.current()
mapfit.map_width("domains")  # the page's width, measured in the browser: a phone gets the heatmaps laid out for it
page.header(ctx, "nav.domains")
st.caption(ctx.t("domains.intro"))
freshness_ui.line(ctx)  # how fresh the numbers below are

KEYS = [m.key for m in metrics.METRICS]
asked = filterbar.page_param("metric")
if asked is not None and asked not in KEYS:
    st.warning(ctx.t("domains.metric_bad", value=page.md_escape(asked)))
    filterbar.set_page_param("metric", None)
start = asked if asked in KEYS else domains.DEFAULT_METRIC


def metric_label(key: str) -> str:
    return metrics.BY_KEY[key].label(ctx.lang)


metric = st.selectbox(ctx.t("domains.metric"), KEYS, index=KEYS.index(start), format_func=metric_label,
                      key="domains_metric")
if metric != asked and (asked is not None or metric != domains.DEFAULT_METRIC):
    filterbar.set_page_param("metric", metric)
m = metrics.BY_KEY[metric]
st.caption(ctx.t("domains.metric_help", formula=m.formula_zh if ctx.lang == "zh" else m.formula_en, seed=m.seed))

data: domains.Page = ctx.block("domains", metric=metric)
if data.league.is_empty() and data.domain_region.is_empty():
    page.empty_state(ctx, "domains.empty")
    st.stop()

tree = st.session_state["_tree"]
name = metric_label(metric)
filters_key = hashlib.sha1(repr(astuple(ctx.filters)).encode()).hexdigest()[:12]
region_names = dict(data.regions.iter_rows())
regions = Axis.of(data.regions["region_code"],
                  lambda c: i18n.glossary("province", region_names.get(c) or tree.name.get(c, c), ctx.lang))


def months_axis(frame: pl.DataFrame) -> Axis:
    """The twelve months as a reader names them ("2025年12月", "1月", … / "Dec 2025", "Jan", …), not as codes; the
    month the as-of date cuts short says so ("12月（截至12月3日）"), so a few days are not read as a month."""
    keys = tuple(frame["col"].unique().sort())
    return Axis(keys, tuple(domains.month_labels(keys, ctx.as_of, ctx.lang)))


def cells_table(frame: pl.DataFrame, rows: Axis, cols: Axis, row_title: str, col_title: str) -> pl.DataFrame:
    """The heatmap's cells with data, one per line, in the reader's language (shares in %)."""
    row_label, col_label = dict(zip(rows.keys, rows.labels)), dict(zip(cols.keys, cols.labels))
    scale = 100.0 if m.unit == "share" else 1.0
    kept = frame.filter(pl.col("row").is_in(list(rows.keys)) & pl.col("col").is_in(list(cols.keys))
                        & pl.col("value").is_not_null())
    unit = "%" if m.unit == "share" else ctx.t(f"domains.unit_{m.unit}")
    value_col = ctx.t("domains.col_value", metric=name, unit=unit)
    return pl.DataFrame({
        row_title: [row_label[r] for r in kept["row"]],
        col_title: [col_label[c] for c in kept["col"]],
        value_col: [round(v * scale, 2) for v in kept["value"]],
        "n": kept["n"].to_list(),
        ctx.t("domains.col_small"): [ctx.t("domains.small_yes") if n < ctx.thresholds.min_n else "" for n in kept["n"]],
    }, schema_overrides={value_col: pl.Float64, "n": pl.Int64})


def draw(kind: str, frame: pl.DataFrame, rows: Axis, cols: Axis, title: str, row_title: str, col_title: str) -> None:
    """One heatmap; a click on a cell sets the global filters to it (keyed on the filters, so a
    selection from before a filter change is not applied again)."""
    if frame.is_empty() or not rows.keys or not cols.keys:
        st.info(ctx.t("domains.no_cells"))
        return
    narrow = mapfit.is_narrow("domains")
    if narrow:  # the chart's own title would be cut on a phone: a heading above it instead
        st.markdown(f"**{page.md_escape(title)}**")
        if kind == "domain_region":  # regions down the page, the few domains across
            frame = frame.rename({"row": "col", "col": "row"})
            rows, cols, row_title, col_title, kind = cols, rows, col_title, row_title, "region_domain"
    width = mapfit.measured("domains") or mapfit.estimated("domains")  # None without a browser (AppTest): values printed
    fig = heatmap(frame, rows, cols, m, ctx.lang, ctx.thresholds.min_n, title=title, row_title=row_title,
                  col_title=col_title, narrow=narrow, width=width)
    event = charts.show(fig, key=f"domains_{kind}_{metric}_{filters_key}", select=True, lang=ctx.lang)
    legend = "domains.legend" if shows_values(len(cols.keys), narrow, width) else "domains.legend_no_values"
    st.caption(ctx.t(legend, min_n=ctx.thresholds.min_n, date=i18n.fmt_date(ctx.as_of, ctx.lang)))
    if table_box := page.on_demand(ctx.t("domains.as_table"), key=f"domains_{kind}_as_table"):
        with table_box:  # the same cells, readable on a phone, searchable, exported
            tables.show(ctx, cells_table(frame, rows, cols, row_title, col_title), key=f"domains_{kind}_cells",
                        title=title, stem=f"domains-{kind.replace('_', '-')}")
    changes = domains.cell_filters(kind, event, rows.keys, cols.keys)
    if changes and any(getattr(ctx.filters, k) != v for k, v in changes.items()):
        filterbar.set_filters(**changes)
        st.rerun()


# three cuts of the metric, one tab each; only the chosen tab's heatmap runs and is drawn (Streamlit's lazy tabs):
# drawn together, three Plotly heatmaps kept a first visit over 4 s in software rendering (issue 17, point 14)
cuts = []  # (tab label, draw it)
if series.splits(metric, "domain"):  # (b) domain × region, the current period
    domain_axis = Axis.of(data.domains, lambda d: i18n.glossary("domain", d, ctx.lang))
    cuts.append((ctx.t("domains.tab_dr"), lambda: draw(
        "domain_region", data.domain_region, domain_axis, regions,
        ctx.t("domains.dr_title", metric=name, period=i18n.fmt_period(ctx.filters.period, ctx.lang)),
        ctx.t("domains.axis_domain"), ctx.t("domains.axis_region"))))
else:
    st.info(ctx.t("domains.not_split_domain"))
if data.has_children:  # (a) region × month
    cuts.append((ctx.t("domains.tab_rm"), lambda: draw(
        "region_month", data.region_month, regions, months_axis(data.region_month),
        ctx.t("domains.rm_title", metric=name, months=domains.N_MONTHS), ctx.t("domains.axis_region"),
        ctx.t("domains.axis_month"))))
else:
    st.info(ctx.t("domains.no_children"))
if series.splits(metric, "dept"):  # (c) lead department × month, departments in league order (worst first)
    lead = tuple(data.league.filter("is_lead")["dept"])
    cuts.append((ctx.t("domains.tab_dm"), lambda: draw(
        "dept_month", data.dept_month, Axis.of(lead, lambda d: i18n.glossary("dept", d, ctx.lang)),
        months_axis(data.dept_month), ctx.t("domains.dm_title", metric=name, months=domains.N_MONTHS),
        ctx.t("domains.axis_dept"), ctx.t("domains.axis_month"))))
else:
    st.info(ctx.t("domains.not_split_dept"))
if cuts:
    for tab, (_, draw_cut) in zip(st.tabs([label for label, _ in cuts], key="domains_cut", on_change="rerun"), cuts):
        if tab.open:
            with tab:
                draw_cut()

# the department league
st.subheader(ctx.t("domains.league_title"))
league = data.league
if league.is_empty():
    st.info(ctx.t("domains.league_none"))
    st.stop()
st.caption(ctx.t("domains.league_intro", n=i18n.fmt_int(league["n_late"][0], ctx.lang)))
rows = list(league.iter_rows(named=True))


def pct(x: float | None) -> float | None:
    return None if x is None else round(100 * x, 1)


def dept_name(r: dict) -> str:
    label = i18n.glossary("dept", r["dept"], ctx.lang)
    return label if r["is_lead"] else ctx.t("domains.co_only", dept=label)


shown = pl.DataFrame({
    ctx.t("domains.col_dept"): [dept_name(r) for r in rows],
    ctx.t("domains.col_in_flight"): [r["n_in_flight"] for r in rows],
    ctx.t("domains.col_completed"): [r["n_completed"] for r in rows],
    ctx.t("domains.col_on_time"): [pct(r["on_time_rate"]) for r in rows],
    ctx.t("domains.col_overdue"): [r["n_overdue"] for r in rows],
    ctx.t("domains.col_red"): [r["n_red"] for r in rows],
    ctx.t("domains.col_rect_open"): [r["n_rect_open"] for r in rows],
    ctx.t("domains.col_co_late"): [r["n_co_late"] for r in rows],
    ctx.t("domains.col_co_share"): [pct(r["co_late_share"]) for r in rows],
}, schema_overrides={ctx.t("domains.col_on_time"): pl.Float64, ctx.t("domains.col_co_share"): pl.Float64})
tables.show(ctx, shown, key="domains_league", title=ctx.t("domains.league_title"), stem="department-league")
