"""驾驶舱 / Cockpit: what the current filters cover (the leadership view builds on this)."""
import polars as pl
import streamlit as st

from analytics import i18n
from ui import context, page

ctx = context.current()
page.header(ctx, "cockpit.title")
st.write(ctx.t("cockpit.intro"))

counts = ctx.query("overview_counts").row(0, named=True)
if counts["n_items"] == 0:
    page.empty_state(ctx, "cockpit.empty")
    st.stop()

by_status = ctx.query("items_by_status")
budget = by_status["budget_wan_yuan"].sum()
cards = [
    ("cockpit.items", i18n.tn("cockpit.unit_items", ctx.lang, counts["n_items"]), "cockpit.items_help"),
    ("cockpit.reports", i18n.tn("cockpit.unit_rows", ctx.lang, counts["n_reports"]), None),
    ("cockpit.feedback", i18n.tn("cockpit.unit_rows", ctx.lang, counts["n_feedback"]), None),
    ("cockpit.rectifications", i18n.tn("cockpit.unit_items", ctx.lang, counts["n_rectifications"]),
     None),
    ("cockpit.policies", i18n.fmt_int(counts["n_policies"], ctx.lang), None),
    ("cockpit.budget", i18n.fmt_amount_wan(budget, ctx.lang), None),
]
for start in range(0, len(cards), 3):  # row by row, so a phone stacks them in reading order
    for col, (label, value, help_key) in zip(st.columns(3), cards[start:start + 3]):
        col.metric(ctx.t(label), value, help=ctx.t(help_key) if help_key else None, border=True)
st.caption(ctx.t("cockpit.since", date=i18n.fmt_date(counts["first_start_date"], ctx.lang)))

st.subheader(ctx.t("cockpit.by_status"))
total = by_status["n_items"].sum()
table = by_status.select(
    pl.col("status").map_elements(lambda s: i18n.choice_label("projects", "status", s, ctx.lang),
                                  return_dtype=pl.Utf8).alias(ctx.t("cockpit.status")),
    pl.col("n_items").alias(ctx.t("cockpit.n_items")),
    (pl.col("n_items") / total).map_elements(lambda x: i18n.fmt_pct(x, ctx.lang), return_dtype=pl.Utf8)
    .alias(ctx.t("cockpit.share")),
    pl.col("budget_wan_yuan").map_elements(lambda x: i18n.fmt_amount_wan(x, ctx.lang), return_dtype=pl.Utf8)
    .alias(ctx.t("cockpit.budget_col")),
)
st.dataframe(table, hide_index=True, width="stretch")
