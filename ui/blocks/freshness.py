"""Drawing report freshness (analytics/freshness.py): the cockpit's line on silent regions, the data page's table."""
from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import i18n
from ui import tables
from ui.context import Context
from ui.page import md_escape


def _table(ctx: Context, frame: pl.DataFrame) -> pl.DataFrame:
    rows = list(frame.iter_rows(named=True))
    kind = lambda level: "province" if level == "province" else "region"  # noqa: E731
    return pl.DataFrame({
        ctx.t("freshness.region"): [i18n.glossary(kind(r["level"]), r["name"], ctx.lang) for r in rows],
        ctx.t("freshness.level"): [ctx.t(f"freshness.level_{r['level']}") for r in rows],
        ctx.t("freshness.in_flight"): [r["n_in_flight"] for r in rows],
        ctx.t("freshness.last_report"): [i18n.fmt_date(r["last_report"], ctx.lang) if r["last_report"]
                                         else ctx.t("freshness.never") for r in rows],
        ctx.t("freshness.days"): [r["days_silent"] for r in rows],
        ctx.t("freshness.share"): [i18n.fmt_pct(r["share_in_cycle"], ctx.lang) for r in rows],
    }, schema_overrides={ctx.t("freshness.in_flight"): pl.Int64, ctx.t("freshness.days"): pl.Int64})


def cockpit_line(ctx: Context) -> None:
    """One line under the cards: how many regions went silent for longer than the reporting cycle, listed one click
    away; or that every region reported within it."""
    f = ctx.block("freshness")
    if f.regions.is_empty():
        return
    lang = ctx.lang
    reported = f.regions["n_reported_in_cycle"].sum() / max(f.regions["n_in_flight"].sum(), 1)
    facts = dict(days=f.cycle_days, regions=i18n.fmt_int(f.regions.height, lang), share=i18n.fmt_pct(reported, lang))
    silent = f.silent
    if silent.is_empty():
        st.caption(ctx.t("freshness.all_fresh", **facts))
        return
    st.markdown("⚠ " + md_escape(ctx.t("freshness.silent", n=i18n.fmt_int(silent.height, lang), **facts)))
    with st.expander(ctx.t("freshness.silent_title", n=i18n.fmt_int(silent.height, lang), days=f.cycle_days)):
        title = ctx.t("freshness.silent_title", n=i18n.fmt_int(silent.height, lang), days=f.cycle_days)
        tables.show(ctx, _table(ctx, silent.sort("days_silent", descending=True)), key="silent_regions", title=title,
                    stem="silent-regions", searchable=False)


def data_table(ctx: Context) -> None:
    """Every region with items in flight: its latest report, days without one and the share reported in the cycle."""
    f = ctx.block("freshness")
    st.subheader(ctx.t("freshness.title"))
    st.caption(ctx.t("freshness.intro", days=f.cycle_days, date=i18n.fmt_date(ctx.as_of, ctx.lang)))
    if f.regions.is_empty():
        st.info(ctx.t("freshness.none"))
        return
    tables.show(ctx, _table(ctx, f.regions), key="freshness", title=ctx.t("freshness.title"), stem="report-freshness",
                height=380)
