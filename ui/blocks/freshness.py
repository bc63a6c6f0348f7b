"""Drawing report freshness (analytics/freshness.py): the cockpit's line on silent regions, the compact line of every
page that shows a number for a region (domains, trends), the item's own line, and the data page's tables."""
from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from analytics import freshness, i18n
from ui import tables
from ui.context import Context
from ui.page import md_escape


def _kind(level: str) -> str:
    """The glossary a region's name is translated with: provinces and the nation (全国 → China) have one."""
    return "province" if level in ("province", "country") else "region"


def _table(ctx: Context, frame: pl.DataFrame) -> pl.DataFrame:
    rows = list(frame.iter_rows(named=True))
    return pl.DataFrame({
        ctx.t("freshness.region"): [i18n.glossary(_kind(r["level"]), r["name"], ctx.lang) for r in rows],
        ctx.t("freshness.level"): [ctx.t(f"freshness.level_{r['level']}") for r in rows],
        ctx.t("freshness.in_flight"): [r["n_in_flight"] for r in rows],
        ctx.t("freshness.last_report"): [i18n.fmt_date(r["last_report"], ctx.lang) if r["last_report"]
                                         else ctx.t("freshness.never") for r in rows],
        ctx.t("freshness.days"): [r["days_silent"] for r in rows],
        ctx.t("freshness.share"): [i18n.fmt_pct(r["share_in_cycle"], ctx.lang) for r in rows],
    }, schema_overrides={ctx.t("freshness.in_flight"): pl.Int64, ctx.t("freshness.days"): pl.Int64})


def _day(d: date, ctx: Context) -> str:
    """A date in a line: without its year when it is the as-of date's year ("11月28日" / "28 Nov")."""
    return i18n.fmt_day(d, ctx.lang) if d.year == ctx.as_of.year else i18n.fmt_date(d, ctx.lang)


def tables_text(ctx: Context, f: freshness.Freshness) -> str:
    """The selection's latest date per dated table: "数据截至 进度填报 11月28日 · 反馈 12月3日 · 整改 11月20日"."""
    latest = freshness.latest_by_table(f.tables)
    if not latest:
        return ctx.t("freshness.as_of_tables", tables=ctx.t("freshness.no_dated"))
    return ctx.t("freshness.as_of_tables", tables=" · ".join(
        f"{ctx.t(f'freshness.table_{t}')} {_day(d, ctx)}" for t, d in latest.items()))


def line(ctx: Context) -> None:
    """The compact line of a page that shows numbers for regions: how many regions of the selection went silent,
    and the latest date of each dated table."""
    f = ctx.block("freshness")
    n = f.silent.height
    head = (ctx.t("freshness.compact_silent", n=i18n.fmt_int(n, ctx.lang), days=f.cycle_days) if n
            else ctx.t("freshness.compact_fresh", days=f.cycle_days) if f.regions.height else "")
    text = " · ".join(x for x in (head, tables_text(ctx, f)) if x)
    st.caption(("⚠ " if n else "") + md_escape(text))


def item_line(ctx: Context, reports: pl.DataFrame, start: date | None, in_flight: bool) -> None:
    """The item's own freshness: its latest progress report up to the as-of date and the days since, against the
    reporting cycle (COCKPIT_SILENT_DAYS) while it is in flight."""
    cycle = freshness.cycle_days()
    dates = reports.filter(pl.col("report_date") <= ctx.as_of)["report_date"] if reports.height else pl.Series([])
    latest = dates.max() if dates.len() else None
    if latest is None:
        if start is None or not in_flight:
            return
        st.caption(md_escape(ctx.t("freshness.item_never", date=i18n.fmt_date(start, ctx.lang),
                                   days=i18n.fmt_int((ctx.as_of - start).days, ctx.lang))))
        return
    days = (ctx.as_of - latest).days
    facts = dict(date=i18n.fmt_date(latest, ctx.lang), days=i18n.fmt_int(days, ctx.lang), cycle=cycle)
    if not in_flight:
        st.caption(md_escape(ctx.t("freshness.item_done", **facts)))
    elif days > cycle:
        st.markdown("⚠ " + md_escape(ctx.t("freshness.item_silent", **facts)))
    else:
        st.caption(md_escape(ctx.t("freshness.item_fresh", **facts)))


def for_regions(ctx: Context, data):
    """The regions page's data (analytics.pages.regions.RegionsPage) with the selection's freshness from the pages'
    one cached block, rolled up to its ranking's rows through the cached ancestors (the freshness query runs once)."""
    from analytics.pages import regions as rg

    f = ctx.block("freshness")
    codes = freshness.ancestor_codes(f)
    up = (ctx.query("region_ancestor_at", level=data.level, codes=codes) if data.level is not None and codes
          else pl.DataFrame())
    return rg.with_freshness(data, f, up, ctx.as_of)


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
        st.caption(md_escape(ctx.t("freshness.all_fresh", **facts) + " " + tables_text(ctx, f)))
        return
    st.markdown("⚠ " + md_escape(ctx.t("freshness.silent", n=i18n.fmt_int(silent.height, lang), **facts)))
    with st.expander(ctx.t("freshness.silent_title", n=i18n.fmt_int(silent.height, lang), days=f.cycle_days)):
        title = ctx.t("freshness.silent_title", n=i18n.fmt_int(silent.height, lang), days=f.cycle_days)
        st.caption(md_escape(tables_text(ctx, f)))
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


def _tables_table(ctx: Context, frame: pl.DataFrame) -> pl.DataFrame:
    """One row per region, one column per dated table: the latest date and the days since."""
    cols = [ctx.t(f"freshness.table_{t}")[:1].upper() + ctx.t(f"freshness.table_{t}")[1:] for t in freshness.TABLES]
    regions: dict[str, dict] = {}
    for r in frame.iter_rows(named=True):
        row = regions.setdefault(r["region_code"], {"name": r["name"], "level": r["level"]})
        row[r["table"]] = ctx.t("freshness.date_ago", date=i18n.fmt_date(r["latest"], ctx.lang),
                                days=i18n.fmt_int(r["days_since"], ctx.lang))
    rows = list(regions.items())
    return pl.DataFrame({
        ctx.t("freshness.region"): [i18n.glossary(_kind(r["level"]), r["name"], ctx.lang) for _, r in rows],
        ctx.t("freshness.level"): [ctx.t(f"freshness.level_{r['level']}") for _, r in rows],
        **{col: [r.get(t, "") for _, r in rows] for col, t in zip(cols, freshness.TABLES)},
        ctx.t("freshness.code"): [code for code, _ in rows],
    }, schema={k: pl.Utf8 for k in (ctx.t("freshness.region"), ctx.t("freshness.level"), *cols,
                                    ctx.t("freshness.code"))})


def data_tables(ctx: Context) -> None:
    """Every region's latest date per dated table (progress reports, feedback, rectifications, indicators)."""
    f = ctx.block("freshness")
    st.subheader(ctx.t("freshness.tables_title"))
    st.caption(ctx.t("freshness.tables_intro", date=i18n.fmt_date(ctx.as_of, ctx.lang)))
    if f.tables.is_empty():
        st.info(ctx.t("freshness.none"))
        return
    tables.show(ctx, _tables_table(ctx, f.tables), key="freshness_tables", title=ctx.t("freshness.tables_title"),
                stem="data-freshness", height=380)
