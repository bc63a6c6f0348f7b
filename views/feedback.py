"""群众反馈 / Public feedback: satisfaction, complaints, answers in time and resolution by channel, region
and domain and over time; what people complain about; and where feedback disagrees with reported progress."""
import streamlit as st

from ui import context, page
from ui.blocks import feedback as blocks

ctx = context.current()
page.header(ctx, "nav.feedback")
st.caption(ctx.t("feedback.intro"))
metric, grain, by = blocks.controls(ctx)

data = ctx.block("feedback", metric=metric, grain=grain, by=by)
if not data.totals:
    page.empty_state(ctx, "feedback.empty")
    st.stop()

names = st.session_state["_tree"].name
if by != data.rule["by"]:  # a county has no regions below it: the trend is drawn by channel
    st.info(ctx.t("feedback.no_regions") + " " + ctx.t("feedback.by_fallback"))
blocks.kpis(ctx, data.totals)
blocks.trend(ctx, data, metric, grain, names)
blocks.breakdowns(ctx, data, names)
blocks.categories(ctx, data)
blocks.terms(ctx, data)
blocks.disagreement(ctx, data, names)
