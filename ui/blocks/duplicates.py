"""Drawing the duplicate-supervision page's blocks (重复督办) from the plain data of `analytics.pages.duplicates`."""
from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import i18n, quality
from analytics.pages import duplicates
from analytics.pages.duplicates import Page
from ui import auth as auth_ui
from ui import tables
from ui.context import Context
from ui.quality import region_label
from ui.page import md_escape

MAX_CLUSTERS_SHOWN = 200


def _signals(ctx: Context, signals) -> str:
    sep = "、" if ctx.lang == "zh" else ", "
    return sep.join(ctx.t(f"duplicates.signal_{s}") for s in signals)


def duplicate_clusters(ctx: Context, data: Page) -> None:
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
        t("duplicates.col_region"): [region_label(ctx, n, code) for n, code in zip(c["region_name"], c["region_code"])],
        t("duplicates.col_domain"): [i18n.glossary("domain", d, ctx.lang) for d in c["domain"]],
        t("duplicates.col_names"): [sep.join(n) for n in c["names"]],
        t("duplicates.col_sources"): [sep.join(i18n.glossary("item_source", v, ctx.lang) for v in s) for s in c["sources"]],
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


def cluster_detail(ctx: Context, data: Page, key: str) -> None:
    t = ctx.t
    m = data.members.filter(pl.col("cluster_key") == key)
    sep = "、" if ctx.lang == "zh" else ", "
    st.markdown(f"**{t('duplicates.members_title')}**")
    table = pl.DataFrame({
        t("duplicates.col_id"): m["project_id"],
        t("duplicates.col_name"): m["name"],
        t("duplicates.col_region"): [region_label(ctx, n, c) for n, c in zip(m["region_name"], m["region_code"])],
        t("duplicates.col_lead"): [i18n.glossary("dept", d, ctx.lang) for d in m["lead_dept"]],
        t("duplicates.col_co"): [sep.join(i18n.glossary("dept", d, ctx.lang) for d in co) or "—" for co in m["co_depts"]],
        t("duplicates.col_source"): [i18n.glossary("item_source", v, ctx.lang) for v in m["source"]],
        t("duplicates.col_category"): [i18n.glossary("item_category", v, ctx.lang) for v in m["category"]],
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
    tables.grid(pairs, hide_index=True, width="stretch", key="duplicates_pairs")
    if not ctx.may("curate"):
        st.caption(t("duplicates.mark_not_allowed"))
        return
    with st.form("duplicates_mark_form", clear_on_submit=True, border=True):
        st.markdown(f"**{t('duplicates.mark_title')}**")
        note = st.text_input(t("duplicates.mark_note"), max_chars=quality.MAX_NOTE, key="duplicates_note")
        if st.form_submit_button(t("duplicates.mark_button"), icon=":material/block:"):
            members = m["project_id"].to_list()
            # the permission and the scope are checked again when the click arrives (issue 22)
            if not ctx.may("curate"):
                st.error(t("duplicates.mark_not_allowed"))
                return
            try:
                n = quality.mark_not_duplicates(ctx.db_path, members, key, ctx.user.username, note or "",
                                                in_scope=data.universe)
            except quality.OutOfScope:
                auth_ui.log(ctx.db_path, ctx.user, "duplicates_refused", key, reason="outside scope")
                st.error(t("duplicates.mark_out_of_scope"))
                return
            auth_ui.log(ctx.db_path, ctx.user, "duplicates_mark", key, items=members, pairs=n, note=note or "")
            st.session_state["duplicates_flash"] = t("duplicates.marked", n=m.height, pairs=n)
            st.session_state.pop("duplicates_pick", None)
            st.rerun()


def duplicate_marks(ctx: Context, data: Page) -> None:
    """The marks on groups whose items all lie in what the page analysed (the account's scope); undoing one needs the
    `curate` permission and is audited."""
    t = ctx.t
    if flash := st.session_state.pop("duplicates_flash", None):
        st.success(flash)
    marks = quality.marks(ctx.db_path, in_scope=data.universe)
    if marks.is_empty():
        return
    st.subheader(t("duplicates.marks_title"))
    tables.grid(pl.DataFrame({
        t("duplicates.col_key"): marks["cluster_key"], t("duplicates.col_pairs"): marks["n_pairs"],
        t("duplicates.col_marked_at"): marks["marked_at"], t("duplicates.col_marked_by"): marks["marked_by"],
        t("duplicates.col_note"): marks["note"]}), hide_index=True, width="stretch", key="duplicates_marks")
    st.caption(md_escape(t("duplicates.marks_readonly", path=quality.marks_path(ctx.db_path).name)))
    if not ctx.may("curate"):
        return
    row = st.columns([3, 1], vertical_alignment="bottom")
    undo = row[0].selectbox(t("duplicates.unmark_pick"), marks["cluster_key"].to_list(), key="duplicates_unmark_pick")
    if row[1].button(t("duplicates.unmark_button"), key="duplicates_unmark", icon=":material/undo:") and undo:
        try:
            n = quality.unmark(ctx.db_path, undo, in_scope=data.universe)
        except quality.OutOfScope:
            auth_ui.log(ctx.db_path, ctx.user, "duplicates_refused", undo, reason="outside scope")
            st.error(t("duplicates.mark_out_of_scope"))
            return
        auth_ui.log(ctx.db_path, ctx.user, "duplicates_unmark", undo, pairs=n)
        st.session_state["duplicates_flash"] = t("duplicates.unmarked", n=n)
        st.rerun()
