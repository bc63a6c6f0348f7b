"""驾驶舱 / Cockpit: where execution stands, what is red, where, and whose."""
import polars as pl
import streamlit as st

from analytics import i18n
from ui.blocks import cockpit as blocks
from ui.blocks import freshness as freshness_blocks
from ui.blocks import notify as notify_blocks
from ui import context, mapfit, metric_settings, page
from ui import tables

ctx = context.current()
page.header(ctx, "cockpit.title")

data = ctx.block("cockpit")
summary = data.summary
if not summary.kpis:
    page.empty_state(ctx, "cockpit.empty")
    st.stop()
if summary.level is not None:  # there will be a map (below a county there is none)
    mapfit.measure_early("cockpit", blocks.MAP_COLUMNS)  # its width, known with the page's first output

why = ctx.block("why_red_share")
blocks.kpi_cards(ctx, summary.kpis, why=why)
blocks.why_red_share(ctx, *why)
freshness_blocks.cockpit_line(ctx)
notify_blocks.inbox(ctx)
blocks.attention(ctx, data.attention)
blocks.model_flags(ctx)
map_col, league_col = st.columns(blocks.MAP_COLUMNS)
with map_col:
    blocks.region_map(ctx, summary.league, summary.level)
with league_col:
    blocks.league(ctx, summary.league)
blocks.lights_on_demand(ctx, data.weekly)
metric_settings.render(ctx)

with st.expander(ctx.t("thresholds.coverage")):
    counts = ctx.query("overview_counts").row(0, named=True)
    by_status = ctx.query("items_by_status")
    cards = [
        ("cockpit.items", i18n.tn("cockpit.unit_items", ctx.lang, counts["n_items"])),
        ("cockpit.reports", i18n.tn("cockpit.unit_rows", ctx.lang, counts["n_reports"])),
        ("cockpit.feedback", i18n.tn("cockpit.unit_rows", ctx.lang, counts["n_feedback"])),
        ("cockpit.rectifications", i18n.tn("cockpit.unit_items", ctx.lang, counts["n_rectifications"])),
        ("cockpit.policies", i18n.fmt_int(counts["n_policies"], ctx.lang)),
        ("cockpit.budget", i18n.fmt_amount_wan(by_status["budget_wan_yuan"].sum(), ctx.lang)),
    ]
    for start in range(0, len(cards), 3):
        for col, (label, value) in zip(st.columns(3), cards[start:start + 3]):
            col.metric(ctx.t(label), value)
    st.caption(ctx.t("cockpit.items_help") + " " +
               ctx.t("cockpit.since", date=i18n.fmt_date(counts["first_start_date"], ctx.lang)))
    total = by_status["n_items"].sum()
    # labels formatted here in Python, not with polars' map_elements: a Python function run on polars'
    # thread pool needs the GIL, and another session's to_pandas holds the GIL while it waits for that pool,
    # which deadlocked the whole server under load (scripts/load_test.py; see docs/performance.md)
    tables.grid(pl.DataFrame({
        ctx.t("cockpit.status"): [i18n.choice_label("projects", "status", s, ctx.lang) for s in by_status["status"]],
        ctx.t("cockpit.n_items"): by_status["n_items"],
        ctx.t("cockpit.share"): [i18n.fmt_pct(n / total, ctx.lang) for n in by_status["n_items"]],
        ctx.t("cockpit.budget_col"): [i18n.fmt_amount_wan(x, ctx.lang) for x in by_status["budget_wan_yuan"]],
    }), hide_index=True, width="stretch")
