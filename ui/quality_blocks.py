"""Drawing the data-quality pages (duplicates, authenticity) and the item's credibility, from plain data."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics import authenticity, duplicates, i18n, quality
from analytics.duplicates import Page as DupPage

from .context import Context
from .page import md_escape
from . import tables

MAX_CLUSTERS_SHOWN = 200
MAX_BARS = 20
BAND_KEY = {"high": "authenticity.band_high", "medium": "authenticity.band_medium", "low": "authenticity.band_low"}


def block_or_stop(ctx: Context, name: str, **extra):
    """`ctx.block(name)` of a quality page; when the selection is too large for one analysis, say so (with the
    way out: choose a region) and stop the page."""
    try:
        return ctx.block(name, **extra)
    except quality.TooLarge as e:
        st.info(ctx.t("quality.too_large", n=i18n.fmt_int(e.n_items, ctx.lang), limit=i18n.fmt_int(e.limit, ctx.lang)),
                icon=":material/filter_alt:")
        st.stop()


def _region(ctx: Context, name: str | None, code: str) -> str:
    tree = st.session_state.get("_tree")
    label = name or (tree.name.get(code, code) if tree else code)
    return i18n.glossary("province", label, ctx.lang)


def share_by_region(ctx: Context, table: pl.DataFrame, count_col: str, *, prefix: str, key: str, stem: str) -> None:
    """Bar chart (share with n on each bar, worst first) and the same numbers as a table."""
    t = ctx.t
    st.subheader(t(f"{prefix}.by_region_title"))
    if table.is_empty():
        st.info(t(f"{prefix}.empty"))
        return
    names = [_region(ctx, n, c) for n, c in zip(table["region_name"], table["region_code"])]
    top = table.head(MAX_BARS)
    labels = names[:MAX_BARS]
    fig = go.Figure(go.Bar(
        x=[round(100 * s, 1) for s in top["share"]], y=labels, orientation="h",
        marker={"color": [round(100 * s, 1) for s in top["share"]], "colorscale": "Cividis", "cmin": 0},
        text=[f"{100 * s:.1f}% (n={n})" for s, n in zip(top["share"], top["n_items"])], textposition="auto",
        hovertemplate="%{y}: %{x:.1f}%<extra></extra>"))
    fig.update_layout(height=max(240, 26 * top.height + 90), margin={"l": 10, "r": 10, "t": 10, "b": 40},
                      yaxis={"autorange": "reversed", "automargin": True},
                      xaxis={"title": t(f"{prefix}.fig_x"), "rangemode": "tozero"})
    st.plotly_chart(fig, width="stretch", key=f"{key}_fig", config={"displaylogo": False})
    share_key = "duplicates.by_region_caption" if prefix == "duplicates" else "authenticity.share_caption"
    st.caption(t(share_key, date=i18n.fmt_date(ctx.as_of, ctx.lang), cut=authenticity.FLAGGED_BELOW))
    shown = pl.DataFrame({
        t(f"{prefix}.col_region"): names,
        t(f"{prefix}.col_items"): table["n_items"],
        t("duplicates.col_in_clusters" if prefix == "duplicates" else "authenticity.col_flagged"): table[count_col],
        t(f"{prefix}.col_share"): [round(100 * s, 1) for s in table["share"]],
    })
    tables.show(ctx, shown, key=key, title=t(f"{prefix}.by_region_title"), stem=stem)


def _signals(ctx: Context, signals) -> str:
    sep = "、" if ctx.lang == "zh" else ", "
    return sep.join(ctx.t(f"duplicates.signal_{s}") for s in signals)


def duplicate_clusters(ctx: Context, data: DupPage) -> None:
    t = ctx.t
    st.subheader(t("duplicates.clusters_title"))
    st.caption(t("duplicates.clusters_caption", shown=MAX_CLUSTERS_SHOWN))
    c = data.clusters
    sep = " ｜ " if ctx.lang == "zh" else " | "
    table = pl.DataFrame({
        t("duplicates.col_rank"): list(range(1, c.height + 1)),
        t("duplicates.col_score"): c["score"].round(2),
        t("duplicates.col_text_sim"): c["text_sim"].round(2),
        t("duplicates.col_n_members"): c["n_members"],
        t("duplicates.col_signals"): [_signals(ctx, s) for s in c["signals"]],
        t("duplicates.col_region"): [_region(ctx, n, code) for n, code in zip(c["region_name"], c["region_code"])],
        t("duplicates.col_domain"): [i18n.glossary("domain", d, ctx.lang) for d in c["domain"]],
        t("duplicates.col_names"): [sep.join(n) for n in c["names"]],
        t("duplicates.col_sources"): [sep.join(s) for s in c["sources"]],
        t("duplicates.col_first_start"): c["first_start"],
        t("duplicates.col_key"): c["cluster_key"],
    })
    tables.show(ctx, table, key="duplicates_clusters", title=t("duplicates.clusters_title"), stem="duplicate-groups",
                shown=MAX_CLUSTERS_SHOWN)
    head = c.head(MAX_CLUSTERS_SHOWN)
    keys = head["cluster_key"].to_list()
    labels = {k: t("duplicates.pick_label", rank=i + 1, score=f"{s:.2f}", n=n, name=names[0])
              for i, (k, s, n, names) in enumerate(zip(keys, head["score"], head["n_members"], head["names"]))}
    chosen = st.selectbox(t("duplicates.pick"), keys, format_func=labels.get, key="duplicates_pick")
    if chosen:
        cluster_detail(ctx, data, chosen)


def cluster_detail(ctx: Context, data: DupPage, key: str) -> None:
    t = ctx.t
    m = data.members.filter(pl.col("cluster_key") == key)
    sep = "、" if ctx.lang == "zh" else ", "
    st.markdown(f"**{t('duplicates.members_title')}**")
    table = pl.DataFrame({
        t("duplicates.col_id"): m["project_id"],
        t("duplicates.col_name"): m["name"],
        t("duplicates.col_region"): [_region(ctx, n, c) for n, c in zip(m["region_name"], m["region_code"])],
        t("duplicates.col_lead"): [i18n.glossary("dept", d, ctx.lang) for d in m["lead_dept"]],
        t("duplicates.col_co"): [sep.join(i18n.glossary("dept", d, ctx.lang) for d in co) or "—" for co in m["co_depts"]],
        t("duplicates.col_source"): m["source"].fill_null("—"),
        t("duplicates.col_category"): m["category"].fill_null("—"),
        t("duplicates.col_start"): m["start_date"],
        t("duplicates.col_end"): m["planned_end_date"],
        t("duplicates.col_in_filters"): [t("duplicates.yes") if f else t("duplicates.no") for f in m["in_filters"]],
    })
    tables.show(ctx, table, key="duplicates_members", title=t("duplicates.members_title"), stem="duplicate-group",
                item_column=t("duplicates.col_id"), searchable=False)
    p = data.pairs.filter(pl.col("cluster_key") == key)
    st.markdown(f"**{t('duplicates.pairs_title')}**")
    pairs = pl.DataFrame({
        t("duplicates.col_pair"): [f"{a} ↔ {b}" for a, b in zip(p["project_a"], p["project_b"])],
        t("duplicates.col_score"): p["score"].round(2),
        t("duplicates.col_text_sim"): p["text_sim"].round(2),
        t("duplicates.col_signals"): [_signals(ctx, duplicates.signals_of(r)) for r in p.iter_rows(named=True)],
        t("duplicates.col_start_gap"): p["start_gap_days"],
        t("duplicates.col_end_gap"): (100 * p["end_gap_share"]).round(1),
        t("duplicates.col_dept_jaccard"): p["dept_jaccard"].round(2),
    })
    st.dataframe(pairs, hide_index=True, width="stretch", key="duplicates_pairs")
    with st.form("duplicates_mark_form", clear_on_submit=True, border=True):
        st.markdown(f"**{t('duplicates.mark_title')}**")
        note = st.text_input(t("duplicates.mark_note"), max_chars=quality.MAX_NOTE, key="duplicates_note")
        if st.form_submit_button(t("duplicates.mark_button"), icon=":material/block:"):
            user = getattr(ctx, "user", None)
            who = getattr(user, "username", None) or "analyst"
            n = quality.mark_not_duplicates(ctx.db_path, m["project_id"].to_list(), key, who, note or "")
            st.session_state["duplicates_flash"] = t("duplicates.marked", n=m.height, pairs=n)
            st.session_state.pop("duplicates_pick", None)
            st.rerun()


def duplicate_marks(ctx: Context) -> None:
    t = ctx.t
    if flash := st.session_state.pop("duplicates_flash", None):
        st.success(flash)
    marks = quality.marks(ctx.db_path)
    if marks.is_empty():
        return
    st.subheader(t("duplicates.marks_title"))
    st.dataframe(pl.DataFrame({
        t("duplicates.col_key"): marks["cluster_key"], t("duplicates.col_pairs"): marks["n_pairs"],
        t("duplicates.col_marked_at"): marks["marked_at"], t("duplicates.col_marked_by"): marks["marked_by"],
        t("duplicates.col_note"): marks["note"]}), hide_index=True, width="stretch", key="duplicates_marks")
    st.caption(md_escape(t("duplicates.marks_readonly", path=quality.marks_path(ctx.db_path).name)))
    row = st.columns([3, 1], vertical_alignment="bottom")
    undo = row[0].selectbox(t("duplicates.unmark_pick"), marks["cluster_key"].to_list(), key="duplicates_unmark_pick")
    if row[1].button(t("duplicates.unmark_button"), key="duplicates_unmark", icon=":material/undo:") and undo:
        n = quality.unmark(ctx.db_path, undo)
        st.session_state["duplicates_flash"] = t("duplicates.unmarked", n=n)
        st.rerun()


def evaluation(ctx: Context, result: dict | None, prefix: str) -> None:
    if result is None:
        st.info(ctx.t(f"{prefix}.eval_none"))
        return
    fmt = lambda x: "—" if x is None else i18n.fmt_pct(x, ctx.lang)  # noqa: E731
    st.markdown(md_escape(ctx.t(f"{prefix}.eval_body", n_true=i18n.fmt_int(result["n_true"], ctx.lang),
                                n_found=i18n.fmt_int(result["n_found"], ctx.lang),
                                n_correct=i18n.fmt_int(result["n_correct"], ctx.lang),
                                precision=fmt(result["precision"]), recall=fmt(result["recall"]))))


# ---- authenticity
def pattern_label(ctx: Context, p: str) -> str:
    return ctx.t(f"authenticity.pattern_{p}")


def rule_text(ctx: Context, p: str) -> str:
    r = authenticity.RULES
    values = {"flat_while_spending": {"n": r.flat_reports, "pct": r.flat_min_pct, "share": f"{r.flat_spent_share:.0%}"},
              "jump_to_plan": {"days": r.before_days, "pp": r.jump_pp, "ratio": r.jump_ratio, "tol": r.plan_tolerance_pp},
              "ahead_of_spending": {"pp": r.ahead_pp, "pct": r.ahead_min_pct},
              "done_milestones_unmet": {"pct": r.done_pct, "margin": f"{r.unmet_margin:.0%}"},
              "unusual_pattern": {"share": f"{r.model_share:.0%}"},
              "smoother_than_peers": {"z": r.smooth_z, "n": r.smooth_min_items}}[p]
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
    st.dataframe(table, hide_index=True, width="stretch", key="authenticity_patterns",
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
