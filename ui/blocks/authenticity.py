"""Drawing the report-authenticity page's blocks (数据真实性) and an item's credibility, from the plain data of
`analytics.pages.authenticity`."""
from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import i18n
from analytics.pages import authenticity
from ui.context import Context
from ui.page import md_escape
from ui import tables

BAND_KEY = {"high": "authenticity.band_high", "medium": "authenticity.band_medium", "low": "authenticity.band_low"}


def pattern_label(ctx: Context, p: str) -> str:
    return ctx.t(f"authenticity.pattern_{p}")


def rule_text(ctx: Context, p: str) -> str:
    r = authenticity.RULES
    values = {"flat_while_spending": {"n": r.flat_reports, "pct": r.flat_min_pct, "share": f"{r.flat_spent_share:.0%}"},
              "jump_to_plan": {"days": r.before_days, "pp": r.jump_pp, "ratio": r.jump_ratio, "tol": r.plan_tolerance_pp},
              "ahead_of_spending": {"pp": r.ahead_pp, "pct": r.ahead_min_pct},
              "done_milestones_unmet": {"pct": r.done_pct, "margin": f"{r.unmet_margin:.0%}"},
              "unusual_pattern": {"share": f"{r.model_share:.0%}"},
              "smoother_than_peers": {"z": abs(r.smooth_z), "n": r.smooth_min_items}}[p]
    return ctx.t(f"authenticity.rule_{p}", **values)


def patterns_table(ctx: Context, by_pattern: pl.DataFrame, n_smoother: int) -> None:
    t = ctx.t
    st.subheader(t("authenticity.patterns_title"))
    rows = list(by_pattern.iter_rows(named=True)) + [{"pattern": "smoother_than_peers", "n_items": None}]
    counts = [t("authenticity.unit_items", n=i18n.fmt_int(r["n_items"], ctx.lang)) if r["n_items"] is not None
              else t("authenticity.unit_groups", n=i18n.fmt_int(n_smoother, ctx.lang)) for r in rows]
    table = pl.DataFrame({
        t("authenticity.col_pattern"): [pattern_label(ctx, r["pattern"]) for r in rows],
        t("authenticity.col_n"): counts,
        t("authenticity.col_penalty"): [str(authenticity.PENALTY[r["pattern"]]) if r["pattern"] in authenticity.PENALTY
                                         else "—" for r in rows],
        t("authenticity.col_rule"): [rule_text(ctx, r["pattern"]) for r in rows],
    })
    tables.grid(table, hide_index=True, width="stretch", key="authenticity_patterns", row_height=tables.WRAP_ROW_HEIGHT,
                column_config={t("authenticity.col_rule"): st.column_config.TextColumn(width="large")})
    with st.expander(t("authenticity.rules_title")):  # the rules in full, readable on a phone
        st.markdown("\n".join(f"- **{pattern_label(ctx, r['pattern'])}**: {md_escape(rule_text(ctx, r['pattern']))}"
                               for r in rows))


def evidence_text(ctx: Context, e: dict) -> str:
    amount = e["amount"]
    shown = f"{amount:.0f}" if e["pattern"] in ("flat_while_spending", "done_milestones_unmet") else f"{amount:.1f}"
    if e["pattern"] == "unusual_pattern":
        shown = f"{amount:.2f}"
    return ctx.t(f"authenticity.evidence_{e['pattern']}", date=i18n.fmt_date(e["date"], ctx.lang),
                 value=f"{e['value']:.1f}" if e["value"] is not None else "—", amount=shown)


def band_label(ctx: Context, band: str) -> str:
    return ctx.t(BAND_KEY[band])


def item_credibility(ctx: Context, project_id: str) -> None:
    """A small section of the item detail page: the credibility score, its band and each pattern's evidence."""
    cred = ctx.block("credibility", project_id=project_id)
    st.subheader(ctx.t("authenticity.item_title"))
    if cred is None:
        st.caption(ctx.t("authenticity.item_none"))
        return
    st.markdown(md_escape(ctx.t("authenticity.item_value", score=cred["credibility"], band=band_label(ctx, cred["band"]))))
    if not cred["patterns"]:
        st.caption(ctx.t("authenticity.item_ok"))
        return
    for e in cred["evidence"]:
        st.markdown("- " + md_escape(f"{pattern_label(ctx, e['pattern'])}: {evidence_text(ctx, e)}"))
    if cred["credibility"] < authenticity.FLAGGED_BELOW:
        st.warning(ctx.t("authenticity.item_caution"), icon=":material/warning:")
