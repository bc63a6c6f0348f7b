"""整改台账 / Rectification ledger: every problem found, where it stands in the flow open → in progress →
awaiting acceptance → closed (销号), what is overdue (worst first), and the loop's numbers by region and
responsible department: the same completion rate, overdue count, days to close and relapse rate as the cockpit."""
import streamlit as st

from ui import context, page
from ui.blocks import rectifications as blocks

ctx = context.current()
page.header(ctx, "nav.rectifications")
st.caption(ctx.t("rectifications.intro"))

chosen = blocks.dept_choice(ctx)
data = ctx.block("rectifications", rect_depts=chosen)
if not data.totals:
    page.empty_state(ctx, "rectifications.empty")
    st.stop()

blocks.kpis(ctx, data)
flow_col, age_col = st.columns(2)
with flow_col:
    blocks.status_flow(ctx, data.status)
with age_col:
    blocks.ageing(ctx, data.totals)

overdue_tab, all_tab, region_tab, dept_tab = st.tabs([
    ctx.t("rectifications.tab_overdue"), ctx.t("rectifications.tab_all"), ctx.t("rectifications.tab_regions"),
    ctx.t("rectifications.tab_depts")])
with overdue_tab:
    blocks.overdue(ctx, data.rows)
with all_tab:
    blocks.full_ledger(ctx, data)
with region_tab:
    blocks.by_region(ctx, data)
with dept_tab:
    blocks.by_dept(ctx, data)
