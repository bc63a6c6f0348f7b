"""数据真实性 / Report authenticity: items whose progress reports look beautified or copied, which pattern
each matched, by department and region, and departments reporting more smoothly than their peers."""
import polars as pl
import streamlit as st

from analytics import i18n, quality
from analytics.pages import authenticity
from analytics.pages.authenticity import Page
from ui import context, page, tables
from ui import quality as quality_ui
from ui.blocks import authenticity as blocks

ctx = context.current()
page.header(ctx, "nav.authenticity")
st.caption(ctx.t("authenticity.intro"))
t = ctx.t

data: Page = quality_ui.block_or_stop(ctx, "authenticity")
if data.n_items == 0:
    page.empty_state(ctx, "authenticity.empty")
    st.stop()

cut = authenticity.FLAGGED_BELOW
n_low = data.flagged.filter(pl.col("band") == "low").height
cols = st.columns(3)
cols[0].metric(t("authenticity.kpi_items"), t("authenticity.unit_items", n=i18n.fmt_int(data.n_items, ctx.lang)),
               help=t("authenticity.items_help", date=i18n.fmt_date(ctx.as_of, ctx.lang)))
cols[1].metric(t("authenticity.kpi_flagged", cut=cut), t("authenticity.kpi_value", n=i18n.fmt_int(data.flagged.height, ctx.lang),
                                                         share=i18n.fmt_pct(data.flagged.height / data.n_items, ctx.lang)))
cols[2].metric(t("authenticity.kpi_low", cut=authenticity.BANDS[1][0]),
               t("authenticity.kpi_value", n=i18n.fmt_int(n_low, ctx.lang), share=i18n.fmt_pct(n_low / data.n_items, ctx.lang)))

blocks.patterns_table(ctx, data.by_pattern, data.smoother.height)
quality_ui.share_by_region(ctx, data.by_region, "n_flagged", prefix="authenticity", key="authenticity_regions",
                           stem="authenticity-by-region")

st.subheader(t("authenticity.by_dept_title"))
d = data.by_dept
tables.show(ctx, pl.DataFrame({
    t("authenticity.col_dept"): [i18n.glossary("dept", x, ctx.lang) for x in d["lead_dept"]],
    t("authenticity.col_items"): d["n_items"],
    t("authenticity.col_flagged"): d["n_flagged"],
    t("authenticity.col_share"): (100 * d["share"]).round(1),
    t("authenticity.col_mean"): d["mean_credibility"].round(1),
    t("authenticity.col_smoother"): d["n_smoother_provinces"],
}), key="authenticity_depts", title=t("authenticity.by_dept_title"), stem="authenticity-by-department")

st.subheader(t("authenticity.smoother_title"))
s = data.smoother
if s.is_empty():
    st.info(t("authenticity.smoother_none"))
else:
    tree = st.session_state["_tree"]
    tables.show(ctx, pl.DataFrame({
        t("authenticity.col_province"): [i18n.glossary("province", tree.name.get(c, c), ctx.lang) for c in s["province_code"]],
        t("authenticity.col_dept"): [i18n.glossary("dept", x, ctx.lang) for x in s["lead_dept"]],
        t("authenticity.col_items"): s["n_items"],
        t("authenticity.col_step_cv"): s["step_cv"].round(2),
        t("authenticity.col_peer_cv"): s["peer_cv"].round(2),
        t("authenticity.col_z"): s["z"].round(1),
    }), key="authenticity_smoother", title=t("authenticity.smoother_title"), stem="smoother-departments")

st.subheader(t("authenticity.flagged_title"))
f = data.flagged
if f.is_empty():
    st.info(t("authenticity.flagged_none"))
else:
    sep = "；" if ctx.lang == "zh" else "; "
    patterns = [sep.join(blocks.pattern_label(ctx, p) for p in authenticity.ITEM_PATTERNS if r[p])
                for r in f.iter_rows(named=True)]
    tables.show(ctx, pl.DataFrame({
        t("authenticity.col_id"): f["project_id"],
        t("authenticity.col_name"): f["name"],
        t("authenticity.col_credibility"): f["credibility"],
        t("authenticity.col_band"): [blocks.band_label(ctx, b) for b in f["band"]],
        t("authenticity.col_patterns"): patterns,
        t("authenticity.col_region"): [i18n.glossary("province", n, ctx.lang) for n in f["region_name"]],
        t("authenticity.col_dept"): [i18n.glossary("dept", x, ctx.lang) for x in f["lead_dept"]],
        t("authenticity.col_status"): [i18n.choice_label("projects", "status", x, ctx.lang) for x in f["status"]],
    }), key="authenticity_flagged", title=t("authenticity.flagged_title"), stem="items-to-verify",
        wrap=t("authenticity.col_patterns"),
        item_column=t("authenticity.col_id"), shown=500)

with st.expander(t("authenticity.eval_title")):
    quality_ui.evaluation(ctx, quality.truth_beautified(ctx.db_path, set(data.universe), data.all_flagged),
                              "authenticity")
