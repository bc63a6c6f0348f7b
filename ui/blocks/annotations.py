"""Drawing event notes (analytics/annotations.py): the markers and their list under a time chart, and the data page's
list with its add and delete forms. A note's text comes from a user: Markdown-escaped here, HTML-escaped in charts."""
from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics import annotations as A
from analytics.figures import annotations as marks
from analytics.region_tree import RegionTree
from ui import auth as auth_ui
from ui import context, tables
from ui.context import Context
from ui.page import md_escape


@st.cache_resource(max_entries=8, show_spinner=False)
def _tree(db_path: str, version: int) -> RegionTree:
    return A.region_tree(context.database(db_path).cursor())


def tree(ctx: Context) -> RegionTree:
    """Every region, the nation included (the filter's tree holds only the user's part of it)."""
    return _tree(ctx.db_path, ctx.version)


def for_chart(ctx: Context, start: date | None, end: date | None, region_code: str | None = None) -> pl.DataFrame:
    """The notes a chart of the filtered region (or `region_code`) over [start, end] shows, in the user's scope.
    Read on every run (a small file), so a note added on the data page shows at once."""
    if start is None or end is None:
        return pl.DataFrame()
    code = region_code if region_code is not None else ctx.filters.region_code
    return A.for_chart(ctx.db_path, tree(ctx), ctx.scope, code, start, end)


def mark(fig: go.Figure, ctx: Context, notes: pl.DataFrame, lo: date, hi: date) -> go.Figure:
    """Draw `notes` on a figure with a date axis spanning [lo, hi]."""
    if notes.is_empty():
        return fig
    return marks.add_markers(fig, marks.date_markers(notes, ctx.lang, lo, hi))


def listing(ctx: Context, notes: pl.DataFrame) -> None:
    """The chart's markers written out under it, readable without hover and on a phone."""
    if notes.is_empty():
        return
    st.markdown(f"**{md_escape(ctx.t('annotations.chart_list'))}**  \n"
                + "  \n".join(md_escape(line) for line in A.lines(notes, ctx.lang)))


def _table(ctx: Context, notes: pl.DataFrame) -> pl.DataFrame:
    rows = list(notes.iter_rows(named=True))
    return pl.DataFrame({
        ctx.t("annotations.col_number"): [r["annotation_id"] for r in rows],
        ctx.t("annotations.col_dates"): [A.dates_label(r["start_date"], r["end_date"], ctx.lang) for r in rows],
        # the text before region and kind: on a phone the first columns are what shows without scrolling
        ctx.t("annotations.col_text"): [r["text"] for r in rows],
        ctx.t("annotations.col_region"): [A.region_label(r["region_code"], r["region_name"], r["region_level"],
                                                         ctx.lang) for r in rows],
        ctx.t("annotations.col_kind"): [A.kind_label(r["kind"], ctx.lang) for r in rows],
        ctx.t("annotations.col_author"): [r["author"] for r in rows],
        ctx.t("annotations.col_created"): [r["created_at"].replace("T", " ") for r in rows],
    }, schema_overrides={ctx.t("annotations.col_number"): pl.Int64})


def data_section(ctx: Context) -> None:
    """The data page's notes: every one in the user's scope, newest first; the add form; delete for its author."""
    t = ctx.t
    st.subheader(t("annotations.title"))
    st.caption(md_escape(t("annotations.intro")))
    if flash := st.session_state.pop("annotations_flash", None):
        st.success(flash)
    regions = tree(ctx)
    notes = A.for_scope(ctx.db_path, regions, ctx.scope)
    if notes.is_empty():
        st.info(t("annotations.none"))
    else:
        tables.show(ctx, _table(ctx, notes), key="annotations", title=t("annotations.title"), stem="event-notes",
                    wrap=t("annotations.col_text"))
        _delete_form(ctx, regions, notes)
    _add_form(ctx, regions)


def _region_options(ctx: Context, regions: RegionTree) -> list[str]:
    """Regions a note may be added on: the scope's (and below), the nation first for a national user."""
    codes = sorted(c for c in regions.level if A.may_write(regions, ctx.scope, c))
    return sorted(codes, key=lambda c: (c != A.NATION, c))


def _add_form(ctx: Context, regions: RegionTree) -> None:
    t = ctx.t
    if not ctx.may("annotate"):
        st.caption(t("annotations.not_allowed"))
        return
    options = _region_options(ctx, regions)
    if not options:  # a scope whose regions the table no longer holds: nowhere to add a note
        st.caption(t("annotations.refused_scope"))
        return
    default = ctx.filters.region_code if ctx.filters.region_code in options else options[0] if options else None
    with st.form("annotations_add", clear_on_submit=True, border=True):
        st.markdown(f"**{t('annotations.add_title')}**")
        left, right = st.columns(2)
        start = left.date_input(t("annotations.add_start"), value=ctx.as_of, key="annotations_start")
        end = right.date_input(t("annotations.add_end"), value=None, key="annotations_end")
        left, right = st.columns(2)
        code = left.selectbox(t("annotations.add_region"), options, index=options.index(default) if default else 0,
                              key="annotations_region", format_func=lambda c: A.region_label(
                                  c, regions.name.get(c), regions.level.get(c), ctx.lang) + f" · {c}")
        kind = right.selectbox(t("annotations.add_kind"), A.KINDS, key="annotations_kind",
                               format_func=lambda k: A.kind_label(k, ctx.lang))
        text = st.text_input(t("annotations.add_text", max=A.MAX_TEXT), max_chars=A.MAX_TEXT, key="annotations_text")
        if st.form_submit_button(t("annotations.add_button"), icon=":material/add_comment:"):
            try:  # the permission and the scope are checked again by `add`, which audits a refusal
                note = A.add(ctx.db_path, regions, ctx.user, start=start, end=end, region_code=code, kind=kind,
                             text=text, data_version=ctx.version, source=auth_ui.source())
            except A.Invalid as e:
                st.error(e.message(ctx.lang))
                return
            except A.Refused as e:
                st.error(t(e.key))
                return
            st.session_state["annotations_flash"] = t("annotations.added", n=note.annotation_id)
            st.rerun()


def _delete_form(ctx: Context, regions: RegionTree, notes: pl.DataFrame) -> None:
    mine = [r for r in notes.iter_rows(named=True) if A.may_delete(regions, ctx.user, A.Annotation(
        r["annotation_id"], r["start_date"], r["end_date"], r["region_code"], r["kind"], r["text"], r["author"],
        r["created_at"], r["data_version"]))]
    if not mine or not ctx.may("annotate"):
        return
    labels = {r["annotation_id"]: f"{r['annotation_id']} · {A.dates_label(r['start_date'], r['end_date'], ctx.lang)}"
              f" · {r['text'][:40]}" for r in mine}
    row = st.columns([3, 1], vertical_alignment="bottom")
    pick = row[0].selectbox(ctx.t("annotations.delete_pick"), list(labels), format_func=labels.get,
                            key="annotations_delete_pick")
    if row[1].button(ctx.t("annotations.delete_button"), key="annotations_delete", icon=":material/delete:") and pick:
        try:
            A.delete(ctx.db_path, regions, ctx.user, pick, source=auth_ui.source())
        except A.Refused as e:
            st.error(ctx.t(e.key))
            return
        st.session_state["annotations_flash"] = ctx.t("annotations.deleted", n=pick)
        st.rerun()
