"""重复督办 / Duplicate supervision: groups of items that are probably the same task, why, where, and the
analyst's "not duplicates" marks (kept in `<db>.quality.sqlite`)."""
import streamlit as st

from analytics import i18n, quality
from analytics.pages.duplicates import Page
from ui import context, page
from ui import quality as quality_ui
from ui.blocks import duplicates as blocks

ctx = context.current()
page.header(ctx, "nav.duplicates")
st.caption(ctx.t("duplicates.intro"))
t = ctx.t

dismissed = quality.not_duplicate_pairs(ctx.db_path)
data: Page = quality_ui.block_or_stop(ctx, "duplicates", dismissed=dismissed)
if data.n_items == 0:
    page.empty_state(ctx, "duplicates.empty")
    st.stop()

date_text = i18n.fmt_date(ctx.as_of, ctx.lang)
share = data.n_in_clusters / data.n_items
cols = st.columns(4)
cols[0].metric(t("duplicates.kpi_items"), t("duplicates.unit_items", n=i18n.fmt_int(data.n_items, ctx.lang)),
               help=t("duplicates.kpi_items_help", date=date_text))
# the share goes under the count (a grey note, no arrow): count and share on one line overflowed at 1440 px
cols[1].metric(t("duplicates.kpi_in_clusters"), t("duplicates.unit_items", n=i18n.fmt_int(data.n_in_clusters, ctx.lang)),
               delta=t("duplicates.kpi_in_clusters_share", share=i18n.fmt_pct(share, ctx.lang)),
               delta_color="off", delta_arrow="off")
cols[2].metric(t("duplicates.kpi_clusters"), t("duplicates.unit_groups", n=i18n.fmt_int(data.clusters.height, ctx.lang)))
cols[3].metric(t("duplicates.kpi_dismissed"), t("duplicates.unit_pairs", n=i18n.fmt_int(data.n_dismissed_pairs, ctx.lang)))

quality_ui.share_by_region(ctx, data.by_region, "n_in_clusters", prefix="duplicates",
                           key="duplicates_regions", stem="duplicates-by-region")

if data.clusters.is_empty():
    st.info(t("duplicates.none_found", n_compared=i18n.fmt_int(data.n_compared, ctx.lang)))
else:
    blocks.duplicate_clusters(ctx, data)

blocks.duplicate_marks(ctx, data)
with st.expander(t("duplicates.eval_title")):
    found = data.all_pairs.select("project_a", "project_b").rows() if data.all_pairs is not None else []
    quality_ui.evaluation(ctx, quality.truth_duplicates(ctx.db_path, set(data.universe), found), "duplicates")
