"""趋势 / Trends: any metric over weeks, months or quarters, compared across regions or domains, with the
seed target, the Spring Festival and year-end seasons, and the planned-versus-actual progress curve."""
import streamlit as st

from analytics import i18n, metrics
from analytics.pages import trends
from ui import charts, context, filterbar, page, tables
from ui.blocks import annotations as notes_block
from ui.blocks import freshness as freshness_ui

ctx = context.current()
page.header(ctx, "nav.trends")
tree = st.session_state["_tree"]
level, region_options = trends.compare_options(tree, ctx.filters.region_code)
domain_options = list(ctx.filters.domains) or ctx.query("domain_options")["domain"].to_list()

raw = {name: filterbar.page_param(name) for name in ("metric", "grain", "by", "cmp")}
state, problems = trends.parse_params(raw, region_options, domain_options)
for key, values in problems:
    st.warning(ctx.t(key, **values))
for name, value in state.params().items():  # the URL holds only what was accepted
    if raw[name] != value and (raw[name] is not None or name == "cmp"):
        filterbar.set_page_param(name, value)


def metric_label(key: str) -> str:
    return metrics.BY_KEY[key].label(ctx.lang)


def group_label(group: str | None, by: str) -> str:
    if group is None:
        return ctx.t("trends.selection")
    if by == "region":
        return i18n.glossary("province", tree.name.get(group, group), ctx.lang)
    return i18n.glossary("domain", group, ctx.lang)


def _changed(name: str) -> None:
    value = st.session_state[f"tr_{name}"]
    if name == "cmp":
        filterbar.set_page_param("cmp", ",".join(value) or None)
        return
    filterbar.set_page_param(name, value or state.params()[name])
    if name == "by":  # regions and domains are different lists
        filterbar.set_page_param("cmp", None)


s = st.session_state
s["tr_metric"], s["tr_grain"], s["tr_by"], s["tr_cmp"] = state.metric, state.grain, state.by, list(state.compare)
st.caption(ctx.t("trends.intro", max=trends.MAX_COMPARE))
freshness_ui.line(ctx)  # how fresh the numbers below are
left, mid, right = st.columns([2, 1, 1])
left.selectbox(ctx.t("trends.metric"), [m.key for m in metrics.METRICS], key="tr_metric", format_func=metric_label,
               on_change=_changed, args=("metric",))
with mid:
    st.segmented_control(ctx.t("trends.grain"), list(trends.series.GRAINS), key="tr_grain",
                         format_func=lambda g: ctx.t(f"trends.grain_{g}"), on_change=_changed, args=("grain",))
with right:
    st.segmented_control(ctx.t("trends.compare_by"), list(trends.COMPARE_BY), key="tr_by",
                         format_func=lambda b: ctx.t(f"trends.by_{b}"), on_change=_changed, args=("by",))
options = region_options if state.by == "region" else domain_options
st.multiselect(ctx.t("trends.compare", max=trends.MAX_COMPARE), options, key="tr_cmp",
               max_selections=trends.MAX_COMPARE, placeholder=ctx.t("trends.compare_placeholder"),
               format_func=lambda g: group_label(g, state.by), on_change=_changed, args=("cmp",))
if not region_options:
    st.caption(ctx.t("trends.no_regions_below"))

data = ctx.block("trends", metric=state.metric, grain=state.grain, by=state.by, compare=state.compare)
if not data.has_items:
    page.empty_state(ctx, "trends.empty")
    st.stop()

m = metrics.BY_KEY[state.metric]
names = {None: ctx.t("trends.selection")} | {g: group_label(g, state.by) for g in state.compare}
lo, hi = data.lines["period_start"].min(), data.lines["period_end"].max()
events = notes_block.for_chart(ctx, lo, hi)  # event notes on the selection's region, its ancestors and below
st.subheader(ctx.t("trends.chart_title", metric=metric_label(state.metric), grain=ctx.t(f"trends.grain_{state.grain}")))
if not data.has_values:
    st.info(ctx.t("trends.no_values"), icon=":material/info:")
else:
    charts.show(notes_block.mark(trends.metric_figure(data, names, ctx.lang, ctx.thresholds.min_n), ctx, events,
                                 lo, hi), key="trends_chart", lang=ctx.lang)
    notes_block.listing(ctx, events)
notes = [ctx.t("trends.points_note", periods=data.lines["period"].n_unique(), date=i18n.fmt_date(
    data.lines["period_end"].max(), ctx.lang))]
if data.lines["is_small"].any():
    notes.append("○ " + ctx.t("trends.small_note", min_n=ctx.thresholds.min_n))
notes.append(ctx.t("trends.seasons_note"))
notes.append(ctx.t("trends.target_note", seed=m.seed) if m.target is not None else ctx.t("trends.no_target"))
if state.metric == "index" and data.by == "region" and data.compare:
    notes.append(ctx.t("trends.index_note"))
if data.by and data.compare and not trends.series.splits(state.metric, data.by):
    notes.append("⚠ " + ctx.t("trends.not_split", by=ctx.t(f"trends.by_{data.by}")))
notes.append(ctx.t("trends.from_mart") if data.from_mart else ctx.t("trends.from_live"))
st.caption("  \n".join(page.md_escape(n) for n in notes))
silent = [names[g] for g in data.compare if data.lines.filter(
    (data.lines["group"] == g) & data.lines["value"].is_not_null()).is_empty()]
if silent:
    st.info(ctx.t("trends.no_compare_data", names="、".join(silent) if ctx.lang == "zh" else ", ".join(silent)))
tables.show(ctx, trends.lines_table(data, names, ctx.lang), key="trends_lines", title=ctx.t("trends.table_title"),
            stem="trends")

st.subheader(ctx.t("trends.progress_title"))
st.caption(ctx.t("trends.progress_note"))
if data.progress["planned_pct"].is_null().all():
    st.info(ctx.t("trends.progress_empty"))
else:
    charts.show(notes_block.mark(trends.progress_figure(data, ctx.lang), ctx, events, lo, hi),
                key="trends_progress_chart", lang=ctx.lang)
    notes_block.listing(ctx, events)
    with st.expander(ctx.t("trends.progress_table")):
        tables.show(ctx, trends.progress_table(data, ctx.lang), key="trends_progress",
                    title=ctx.t("trends.progress_title"), stem="trends-progress")
