"""Drawing the review meeting: the frozen deck, one slide at a time, in large type for a projector.

The numbers are frozen in the session for one meeting (as-of date, filters, scope, preset, thresholds):
an upload in the middle of a meeting does not move them until the presenter rebuilds.
"""
from __future__ import annotations

import html
from dataclasses import astuple, replace

import polars as pl
import streamlit as st

from analytics import export, i18n, settings
from analytics.figures import maps
from analytics.pages import meeting as mt
from analytics.meeting import fonts, notes, pdf_writer, pptx_writer
from analytics.figures import meeting as figures
from analytics.meeting.model import Card, Deck, Slide, Table
from analytics.risk import scores

from ui import auth as auth_ui
from ui import charts, filterbar, mapfit, tables
from ui.context import Context
from ui.page import md_escape

FROZEN = "_meeting_frozen"
SLIDE = "_meeting_slide"

CSS = """<style>
.st-key-meeting_slide { font-size: 1.3rem; padding: 1.2rem 1.6rem; border-radius: 0.6rem;
  border: 1px solid #d0d7de; background: #ffffff; color: #1a1a1a; }
.st-key-meeting_slide h2.mt-title { font-size: 2.6rem; margin: 0 0 0.4rem 0; color: #1f4e79; padding: 0; }
.st-key-meeting_slide p.mt-narrative { font-size: 1.55rem; line-height: 1.5; margin: 0 0 1rem 0; }
.st-key-meeting_slide .mt-cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(12.5rem, 1fr));
  gap: 0.8rem; margin-bottom: 1rem; }
.st-key-meeting_slide .mt-card { border: 1px solid #d0d7de; border-radius: 0.5rem; padding: 0.6rem 0.8rem;
  background: #f4f6f8; }
.st-key-meeting_slide .mt-label { font-size: 1.05rem; color: #555; }
.st-key-meeting_slide .mt-value { font-size: 2.2rem; font-weight: 700; line-height: 1.2; }
.st-key-meeting_slide .mt-change { font-size: 1.05rem; }
.st-key-meeting_slide .mt-better { color: #1b6e3a; } .st-key-meeting_slide .mt-worse { color: #b01e1e; }
.st-key-meeting_slide .mt-flat { color: #555; }
.st-key-meeting_slide .mt-note { font-size: 0.85rem; color: #555; }
.st-key-meeting_slide table.mt-table { width: 100%; border-collapse: collapse; font-size: 1.1rem; }
.st-key-meeting_slide table.mt-table th { text-align: left; border-bottom: 2px solid #1f4e79; padding: 0.3rem; }
.st-key-meeting_slide table.mt-table td { border-bottom: 1px solid #d0d7de; padding: 0.3rem; vertical-align: top; }
.st-key-meeting_slide td.mt-nowrap { white-space: nowrap; }
.st-key-meeting_slide .mt-table-title { font-size: 1.25rem; font-weight: 700; color: #1f4e79; margin: 0.2rem 0; }
.st-key-meeting_slide .mt-scroll { overflow-x: auto; }  /* a wide table scrolls in its column, never under a chart */
@media (max-width: 1500px) { .st-key-meeting_slide table.mt-table { font-size: 0.95rem; min-width: 42rem; } }
.st-key-meeting_slide .mt-small { font-size: 0.95rem; color: #555; }
.st-key-meeting_slide .mt-empty { font-size: 1.5rem; color: #555; padding: 1rem 0; }
.st-key-meeting_slide .mt-footer { font-size: 0.9rem; color: #555; border-top: 1px solid #d0d7de;
  margin-top: 0.8rem; padding-top: 0.4rem; }
.st-key-meeting_nav p { font-size: 1.1rem; }
@media (max-width: 640px) {
  .st-key-meeting_slide { font-size: 1rem; padding: 0.6rem; }
  .st-key-meeting_slide h2.mt-title { font-size: 1.7rem; }
  .st-key-meeting_slide p.mt-narrative { font-size: 1.1rem; }
  .st-key-meeting_slide .mt-value { font-size: 1.6rem; }
  .st-key-meeting_slide table.mt-table { font-size: 0.9rem; min-width: 40rem; }
}
</style>"""

# presenter mode (issue 17): the slide alone on the projector, no sidebar, header, banner or page controls, sized by
# the screen's height so each slide fits 1280×720 and 1920×1080 without scrolling
PRESENT_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
.cockpit-demo-banner, [data-testid="stToolbar"] { display: none !important; }
[data-testid="stMainBlockContainer"] { padding: 0.5rem 1.2rem 0.5rem 1.2rem !important; max-width: 100% !important; }
.st-key-meeting_nav button { min-height: 2rem; padding: 0.1rem 0.6rem; }
.st-key-meeting_slide { font-size: clamp(0.85rem, 1.9vh, 1.5rem); padding: 0.5rem 1.1rem; }
.st-key-meeting_slide h2.mt-title { font-size: clamp(1.4rem, 4.6vh, 3.2rem); margin-bottom: 0.2rem; }
.st-key-meeting_slide p.mt-narrative { font-size: clamp(0.95rem, 2.5vh, 1.9rem); margin-bottom: 0.5rem; }
.st-key-meeting_slide .mt-cards { grid-template-columns: repeat(auto-fit, minmax(10.5rem, 1fr)); gap: 0.5rem;
  margin-bottom: 0.4rem; }
.st-key-meeting_slide .mt-card { padding: 0.3rem 0.6rem; }
.st-key-meeting_slide .mt-label, .st-key-meeting_slide .mt-change { font-size: clamp(0.8rem, 1.7vh, 1.3rem); }
.st-key-meeting_slide .mt-value { font-size: clamp(1.2rem, 3.6vh, 2.8rem); }
.st-key-meeting_slide .mt-note { font-size: clamp(0.7rem, 1.35vh, 1rem); }
.st-key-meeting_slide table.mt-table { font-size: clamp(0.8rem, 1.8vh, 1.35rem); }
@media (min-width: 641px) { .st-key-meeting_slide table.mt-table { min-width: 0; } }
.st-key-meeting_slide table.mt-table td, .st-key-meeting_slide table.mt-table th { padding: 0.15rem 0.3rem; }
.st-key-meeting_slide .mt-footer { margin-top: 0.3rem; padding-top: 0.2rem; }
</style>"""

CONTRAST_CSS = """<style>
.st-key-meeting_slide { background: #000000; color: #ffffff; border-color: #ffffff; }
.st-key-meeting_slide h2.mt-title, .st-key-meeting_slide .mt-table-title { color: #ffd400; }
.st-key-meeting_slide .mt-card { background: #111111; border-color: #ffffff; }
.st-key-meeting_slide .mt-label, .st-key-meeting_slide .mt-note, .st-key-meeting_slide .mt-small,
.st-key-meeting_slide .mt-empty, .st-key-meeting_slide .mt-footer, .st-key-meeting_slide .mt-flat { color: #e6e6e6; }
.st-key-meeting_slide .mt-better { color: #7dffa8; } .st-key-meeting_slide .mt-worse { color: #ff9b9b; }
.st-key-meeting_slide table.mt-table th { border-bottom-color: #ffd400; }
.st-key-meeting_slide table.mt-table td { border-bottom-color: #666666; }
.st-key-meeting_slide .mt-footer { border-top-color: #666666; }
.st-key-meeting_slide [data-testid="stMarkdownContainer"], .st-key-meeting_slide label { color: #ffffff; }
</style>"""


def may_present(ctx: Context) -> bool:
    """Whether this user's role may record meeting notes (the `present` permission)."""
    return ctx.may("present")


def presenter(ctx: Context | None = None) -> str:
    """Who a note is recorded as: the signed-in account (demo mode: COCKPIT_PRESENTER)."""
    return auth_ui.who(ctx, "COCKPIT_PRESENTER") if ctx is not None else settings.get("COCKPIT_PRESENTER")


def frozen(ctx: Context, preset: str, as_of, rebuild: bool = False) -> mt.Frozen:
    """The meeting's numbers: built once per (as-of, filters, scope, preset, thresholds, weights) and kept
    in the session, so a new data version does not move them until the presenter asks."""
    key = (ctx.db_path, as_of, astuple(ctx.filters), astuple(ctx.scope), preset, astuple(ctx.thresholds), ctx.weights)
    held = st.session_state.get(FROZEN)
    if held and held[0] == key and not rebuild:
        return held[1]
    value = replace(ctx, as_of=as_of).block("meeting", preset=preset, db_path=ctx.db_path, version=ctx.version,
                                            stamp=scores.stamp(ctx.db_path, ctx.version))  # the risk slide's scores
    st.session_state[FROZEN] = (key, value)
    return value


def css(high_contrast: bool, present: bool = False) -> None:
    st.html(CSS + (CONTRAST_CSS if high_contrast else "") + (PRESENT_CSS if present else ""))


# event notes under a chart in presenter mode, which must fit the screen: a few, one short line each, the chart
# giving up the height they take
PRESENT_MARKS, PRESENT_MARK_CHARS, PRESENT_MARK_PX = 3, 40, 24


def mark_lines(ctx: Context, marks, present: bool) -> list[str]:
    """The event notes under a chart: all in full, or in presenter mode the first few, each cut to one line."""
    if not present:
        return [m.line for m in marks]
    lines = [m.line if len(m.line) <= PRESENT_MARK_CHARS else m.line[:PRESENT_MARK_CHARS - 1] + "…"
             for m in marks[:PRESENT_MARKS]]
    more = len(marks) - PRESENT_MARKS
    return lines + ([ctx.t("meeting.more_marks", n=more)] if more > 0 else [])


def chart_height(present: bool, beside: bool) -> int:
    """A chart's height on the slide: smaller in presenter mode, where the slide must fit the screen."""
    return (270 if beside else 300) if present else (380 if beside else 430)


def _e(text: str) -> str:
    return html.escape(text or "")


def cards_html(items: tuple[Card, ...]) -> str:
    out = []
    for c in items:
        change = f'<div class="mt-change mt-{c.tone}">{_e(c.change)}</div>' if c.change else ""
        note = f'<div class="mt-note">{_e(c.note)}</div>' if c.note else ""
        out.append(f'<div class="mt-card"><div class="mt-label">{_e(c.label)}</div>'
                   f'<div class="mt-value">{_e(c.value)}</div>{change}{note}</div>')
    return '<div class="mt-cards">' + "".join(out) + "</div>"


def table_html(t: Table, lang: str) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f'<td class="mt-nowrap">{_e(v)}</td>' if len(v) <= 8 else f"<td>{_e(v)}</td>"
                                    for v in row) + "</tr>" for row in t.rows[:t.shown])
    more = f" {i18n.t('meeting.more_rows', lang, n=len(t.rows) - t.shown)}" if len(t.rows) > t.shown else ""
    return (f'<div class="mt-table-title">{_e(t.title)}</div><div class="mt-scroll"><table class="mt-table"><thead>'
            f'<tr>{head}</tr></thead><tbody>{body}</tbody></table></div><div class="mt-small">{_e(t.note + more)}</div>')


def slide(ctx: Context, deck: Deck, s: Slide, frozen_value: mt.Frozen, high_contrast: bool,
          present: bool = False) -> None:
    """One slide, full width: title, narrative, cards, then table and chart side by side."""
    with st.container(key="meeting_slide"):
        st.html(f'<h2 class="mt-title">{_e(s.title)}</h2><p class="mt-narrative">{_e(s.narrative)}</p>')
        beside = bool(s.cards and s.charts and not s.tables)  # the overview: cards left, trend right
        if beside:
            cards_col, right = st.columns([3, 2], gap="large")
            cards_col.html(cards_html(s.cards))
        elif s.cards:
            st.html(cards_html(s.cards))
        if s.empty and not (s.tables or s.charts):
            st.html(f'<div class="mt-empty">{_e(s.empty)}</div>')
        if s.tables and s.charts:
            left, right = st.columns([3, 2], gap="large")
        elif not beside:
            left = right = st.container()
        if s.tables:
            with left:
                st.html(table_html(s.tables[0], ctx.lang))
        if s.charts:
            with right:
                show_map = s.key == "regions" and frozen_value.facts.level and st.segmented_control(
                    ctx.t("meeting.view"), ("chart", "map"), default="chart", key="meeting_regions_view",
                    format_func=lambda v: ctx.t(f"meeting.view_{v}"), label_visibility="collapsed") == "map"
                if show_map:
                    region_map(ctx, frozen_value)
                else:
                    marks = mark_lines(ctx, s.charts[0].marks, present)
                    height = chart_height(present, beside) - (PRESENT_MARK_PX * len(marks) if present else 0)
                    charts.show(figures.figure(s.charts[0], high_contrast, height=height), key=f"meeting_chart_{s.key}",
                                lang=ctx.lang)
                    if s.charts[0].note:
                        st.html(f'<div class="mt-small">{_e(s.charts[0].note)}</div>')
                    if s.charts[0].marks:  # the event notes, readable without hover
                        st.html('<div class="mt-small">' + "<br>".join(_e(line) for line in marks) + "</div>")
        st.html(f'<div class="mt-footer">{_e(deck.footer)} · '
                f'{_e(ctx.t("meeting.frozen", version=frozen_value.version, date=i18n.fmt_date(deck.as_of, ctx.lang)))}'
                "</div>")
    if not present and s.tables and len(s.tables[0].rows) > s.tables[0].shown:
        full_table(ctx, s)


def full_table(ctx: Context, s: Slide) -> None:
    t = s.tables[0]
    with st.expander(ctx.t("meeting.full_table", n=i18n.fmt_int(len(t.rows), ctx.lang))):
        frame = pl.DataFrame([list(r) for r in t.rows], schema=list(t.columns), orient="row")
        item_col = None
        if t.item_ids:
            item_col = ctx.t("item.id")
            frame = frame.with_columns(pl.Series(item_col, list(t.item_ids)))
        tables.show(ctx, frame, key=f"meeting_full_{s.key}", title=t.title, stem=f"meeting-{s.key}",
                    item_column=item_col, height=400)


def region_map(ctx: Context, f: mt.Frozen) -> None:
    """The regions one level down by execution index (the frozen league), on the offline basemap."""
    facts = f.facts
    if facts.league.is_empty() or facts.level is None:
        return
    values = facts.league.select("region_code", pl.col("index").alias("value"), pl.col("n_in_flight").alias("n"))
    fitted = mapfit.fit("meeting", facts.level, f.filters.region_code, 460)
    chart_key = f"meeting_map_{f.filters.region_code}"
    if mapfit.waiting("meeting"):  # a first visit: the map comes once the browser has reported its width
        st.html(f'<div class="mt-table-title">{_e(ctx.t("meeting.map_title"))}</div>')
        mapfit.empty(chart_key, fitted["height"], selectable=False)
        return
    try:
        spec = maps.choropleth(facts.level, values, parent_code=f.filters.region_code, lang=ctx.lang, **fitted,
                               value_format=lambda v: f"{v:.1f}", higher_is_better=True,
                               tooltip_labels={"value": ctx.t("league.index"), "n": ctx.t("league.n_items")})
    except ValueError:
        st.caption(ctx.t("map.no_boundaries"))
        return
    st.html(f'<div class="mt-table-title">{_e(ctx.t("meeting.map_title"))}</div>')
    st.pydeck_chart(spec.deck, height=fitted["height"], key=chart_key)
    legend = maps.legend_html(spec, lambda v: f"{v:.1f}", title=ctx.t("league.index"),
                              note=f'{maps.scale_note(True, ctx.lang)} {ctx.t("meeting.map_note")}')
    st.html(f'<div class="mt-small">{legend}</div>')


def _go(index: int, keys: tuple[str, ...]) -> None:
    index = max(0, min(index, len(keys) - 1))
    st.session_state[SLIDE] = index
    filterbar.set_page_param("slide", keys[index])


def _jump(keys: tuple[str, ...]) -> None:
    _go(keys.index(st.session_state["meeting_jump"]), keys)


def _present(on: bool) -> None:
    filterbar.set_page_param("present", "1" if on else None)


def navigation(ctx: Context, deck: Deck, index: int, present: bool = False) -> None:
    """Buttons (with keyboard shortcuts) for previous / next / first / last, a jump list and the progress; in
    presenter mode one compact row with the slide number and the way back."""
    keys = tuple(s.key for s in deck.slides)
    n = len(keys)
    with st.container(horizontal=True, vertical_alignment="center", key="meeting_nav"):
        if present:
            st.button(ctx.t("meeting.present_exit"), key="meeting_present_exit", on_click=_present, args=(False,),
                      icon=":material/close_fullscreen:", shortcut="Escape", type="tertiary")
        else:
            st.button(ctx.t("meeting.present"), key="meeting_present", on_click=_present, args=(True,),
                      icon=":material/open_in_full:", help=ctx.t("meeting.present_help"))
        # material icons, not ⏮/⏭: the CJK fonts have no such glyph (a box was drawn)
        st.button(ctx.t("meeting.first"), key="meeting_first", on_click=_go, args=(0, keys), shortcut="Home",
                  disabled=index == 0, icon=":material/first_page:")
        st.button(ctx.t("meeting.prev"), key="meeting_prev", on_click=_go, args=(index - 1, keys),
                  shortcut="Left", disabled=index == 0, icon=":material/chevron_left:")
        st.button(ctx.t("meeting.next"), key="meeting_next", on_click=_go, args=(index + 1, keys),
                  shortcut="Right", disabled=index == n - 1, type="primary", icon=":material/chevron_right:",
                  icon_position="right")
        st.button(ctx.t("meeting.last"), key="meeting_last", on_click=_go, args=(n - 1, keys), shortcut="End",
                  disabled=index == n - 1, icon=":material/last_page:")
        st.session_state["meeting_jump"] = keys[index]
        titles = {s.key: f"{i}. {s.title}" for i, s in enumerate(deck.slides, start=1)}
        st.selectbox(ctx.t("meeting.jump"), keys, key="meeting_jump", format_func=titles.get, on_change=_jump,
                     args=(keys,), label_visibility="collapsed", width=320)
        if present:
            st.caption(ctx.t("meeting.progress", i=index + 1, n=n))
    if present:
        return
    st.progress((index + 1) / n, text=ctx.t("meeting.progress", i=index + 1, n=n))
    st.caption(ctx.t("meeting.keys_hint"))


def _save(ctx: Context, f: mt.Frozen, slide_key: str, widget: str) -> None:
    notes.save_note(ctx.db_path, f.facts.preset, f.filters, f.facts.as_of, f.version, slide_key,
                    st.session_state.get(widget) or "", presenter(ctx), scope=f.scope)


def notes_box(ctx: Context, f: mt.Frozen, deck: Deck, s: Slide) -> None:
    """This slide's note (saved with the meeting: who, when) and the last meeting's note for it."""
    if s.previous_note:
        p = s.previous_note
        st.info(ctx.t("meeting.previous_note", date=i18n.fmt_date(deck.previous_meeting, ctx.lang), text=md_escape(p.text),
                      who=md_escape(p.saved_by), when=p.saved_at), icon=":material/history:")
    if not may_present(ctx):
        st.caption(ctx.t("meeting.no_permission"))
        return
    widget = f"meeting_note_{f.facts.preset}_{f.facts.as_of.isoformat()}_{s.key}"
    if widget not in st.session_state:
        st.session_state[widget] = s.note.text if s.note else ""
    st.text_area(ctx.t("meeting.notes_label"), key=widget, placeholder=ctx.t("meeting.notes_placeholder"),
                 max_chars=notes.MAX_NOTE, height=110)
    st.button(ctx.t("meeting.save_note"), key=f"meeting_save_{s.key}", on_click=_save, args=(ctx, f, s.key, widget),
              icon=":material/save:")
    st.caption(ctx.t("meeting.saved", who=md_escape(s.note.saved_by), when=s.note.saved_at) if s.note
               else ctx.t("meeting.not_saved"))


def downloads(ctx: Context, deck: Deck) -> None:
    """The same deck as PPTX, PDF and a one-page PDF brief; each built only when asked."""
    st.subheader(ctx.t("meeting.exports"))
    if not ctx.may("export"):
        st.caption(ctx.t("auth.no_deck_export"))
        return
    stem = f"meeting-{deck.preset}"
    names = {kind: export.filename(stem + ("-brief" if kind == "brief" else ""), deck.as_of, deck.version,
                                   "pptx" if kind == "pptx" else "pdf") for kind in ("pptx", "pdf", "brief")}
    logged = lambda build, kind: auth_ui.logged_download(ctx, build, target=names[kind], fmt=kind,  # noqa: E731
                                                         rows=len(deck.slides))
    cols = st.columns(3)
    cols[0].download_button(ctx.t("meeting.pptx"), logged(lambda: pptx_writer.write(deck), "pptx"), key="meeting_pptx",
                            on_click="ignore", icon=":material/slideshow:",
                            file_name=export.filename(stem, deck.as_of, deck.version, "pptx"),
                            mime="application/vnd.openxmlformats-officedocument.presentationml.presentation")
    try:
        fonts.find()
    except fonts.FontMissing as e:
        cols[1].warning(ctx.t("meeting.no_fonts", detail=str(e)))
        return
    cols[1].download_button(ctx.t("meeting.pdf"), logged(lambda: pdf_writer.write_deck(deck), "pdf"), key="meeting_pdf",
                            on_click="ignore", icon=":material/picture_as_pdf:", mime="application/pdf",
                            file_name=export.filename(stem, deck.as_of, deck.version, "pdf"))
    cols[2].download_button(ctx.t("meeting.brief"), logged(lambda: pdf_writer.write_brief(deck), "brief"),
                            key="meeting_brief",
                            on_click="ignore", icon=":material/description:", mime="application/pdf",
                            file_name=export.filename(stem + "-brief", deck.as_of, deck.version, "pdf"))
    st.caption(ctx.t("meeting.export_hint"))
