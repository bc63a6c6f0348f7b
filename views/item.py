"""事项详情 / Item detail: one supervised item in full, reachable from every table of items."""

import streamlit as st

from analytics.pages import item
from ui import context, filterbar, page
from ui.blocks import item as blocks

ctx = context.current()
page.header(ctx, "nav.item")

raw = filterbar.page_param("item")
project_id = item.valid_id(raw)
if project_id is None:
    if raw:
        st.warning(ctx.t("item.bad_id"))
    blocks.finder(ctx)
    st.stop()

detail = ctx.block("item", project_id=project_id)
if detail is None:  # unknown, or outside the user's scope: the same answer for both
    st.warning(ctx.t("item.not_found", id=project_id))
    blocks.finder(ctx)
    st.stop()

blocks.back(ctx)
blocks.summary(ctx, detail)
progress, milestones, feedback, rectifications, risk = st.tabs(
    [ctx.t("item.tab_progress"), ctx.t("item.tab_milestones", n=detail.milestones.height),
     ctx.t("item.tab_feedback", n=detail.feedback.height),
     ctx.t("item.tab_rectifications", n=detail.rectifications.height), ctx.t("item.tab_risk")])
with progress:
    blocks.progress(ctx, detail)
with milestones:
    blocks.milestones(ctx, detail)
with feedback:
    blocks.feedback(ctx, detail)
with rectifications:
    blocks.rectifications(ctx, detail)
with risk:
    blocks.risk(ctx, detail)
