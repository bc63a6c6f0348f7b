"""会议汇报 / Review meeting: the frozen deck slide by slide, notes per slide, the same deck as PPTX and PDF."""
import streamlit as st

from analytics.pages import meeting as mt
from ui import context, filterbar, page
from ui.blocks import annotations as annotation_blocks
from ui.blocks import meeting as blocks

ctx = context.current()
# presenter mode (?present=1): the slide alone, for the projector; the page's own controls keep their values
present = filterbar.page_param("present") == "1"
if not present:
    page.header(ctx, "nav.meeting")
    st.caption(ctx.t("meeting.intro"))


def _param(name: str, allowed, default):
    """A page parameter from the URL (untrusted): used when allowed, else the default."""
    value = filterbar.page_param(name)
    return value if value in allowed else default


def _set_preset() -> None:
    filterbar.set_page_param("preset", st.session_state["meeting_preset"] or "week")
    filterbar.set_page_param("slide", None)
    st.session_state[blocks.SLIDE] = 0


preset = _param("preset", mt.PRESETS, "week")
if present:  # the values chosen before entering presenter mode
    as_of = st.session_state.get("_meeting_as_of") or ctx.as_of
    high_contrast = bool(st.session_state.get("_meeting_contrast"))
else:
    with st.container(horizontal=True, vertical_alignment="bottom", key="meeting_controls"):
        st.session_state["meeting_preset"] = preset
        st.segmented_control(ctx.t("meeting.preset"), mt.PRESETS, key="meeting_preset", on_change=_set_preset,
                             format_func=lambda p: ctx.t(f"meeting.preset_{p}"), required=True)
        if "_meeting_as_of" in st.session_state and "meeting_as_of" not in st.session_state:
            st.session_state["meeting_as_of"] = st.session_state["_meeting_as_of"]  # back from presenter mode
        if "_meeting_contrast" in st.session_state and "meeting_contrast" not in st.session_state:
            st.session_state["meeting_contrast"] = st.session_state["_meeting_contrast"]
        as_of = st.date_input(ctx.t("meeting.as_of_label"), value=ctx.as_of, max_value=ctx.as_of,
                              key="meeting_as_of", help=ctx.t("meeting.as_of_help"), format="YYYY-MM-DD", width=200)
        high_contrast = st.toggle(ctx.t("meeting.contrast"), key="meeting_contrast",
                                  help=ctx.t("meeting.contrast_help"))
    st.session_state["_meeting_as_of"], st.session_state["_meeting_contrast"] = as_of, high_contrast
as_of = min(as_of or ctx.as_of, ctx.as_of)

held = st.session_state.get(blocks.FROZEN)
rebuild = False
if held and held[1].version != ctx.version:
    st.warning(ctx.t("meeting.newer", version=ctx.version), icon=":material/update:")
    rebuild = st.button(ctx.t("meeting.rebuild"), key="meeting_rebuild")
frozen = blocks.frozen(ctx, preset, as_of, rebuild)
if frozen.facts.is_empty:
    page.empty_state(ctx, "meeting.empty_page")
    st.stop()

deck = frozen.deck(ctx.lang, ctx.db_path, ctx.thresholds.min_n, annotation_blocks.tree(ctx))
keys = tuple(s.key for s in deck.slides)
wanted = filterbar.page_param("slide")
if wanted in keys and blocks.SLIDE not in st.session_state:
    st.session_state[blocks.SLIDE] = keys.index(wanted)  # a link to one slide opens on it
index = max(0, min(st.session_state.get(blocks.SLIDE, 0), len(keys) - 1))

blocks.css(high_contrast, present)
blocks.navigation(ctx, deck, index, present)
blocks.slide(ctx, deck, deck.slides[index], frozen, high_contrast, present)
if not present:
    blocks.notes_box(ctx, frozen, deck, deck.slides[index])
    blocks.downloads(ctx, deck)
