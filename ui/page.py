"""What every page shows the same way: header with as-of date and version, empty states, escaping."""
from __future__ import annotations

import re

import streamlit as st

from analytics import i18n

from ui import filterbar
from ui.context import Context

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


_JOIN = "\u2060"  # WORD JOINER: invisible, and no part of a URL, an address or a shortcode
# what the frontend turns into links and icons after Markdown is parsed (escaped as md_escape writes them): a scheme's
# `://` and a `:shortcode:` or `:material/…:` (a colon before a letter or a slash), `www.`, and an address's `@`
_LINKIFIED = re.compile(r"(\\:)(?=[A-Za-z_/])|(?i:(www))(?=\\\.)|(@)(?=\S)")


def md_escape(text: str) -> str:
    """Text from data or a user shown through Markdown: no formatting, links, images, HTML or icons can come from it.
    Backslashes stop Markdown's own syntax, but the frontend links bare URLs (http://…, www.…) and e-mail addresses
    and draws `:material/…:` and emoji shortcodes on the text after it is parsed, so a word joiner breaks each of
    those patterns without changing what a reader sees ("Filters: …" and "10:30" are left as they are)."""
    return _LINKIFIED.sub(lambda m: m.group(0) + _JOIN, _MD_SPECIAL.sub(r"\\\1", text))


def on_demand(label: str, key: str):
    """An expander whose content runs only when it is opened (Streamlit 1.67's lazy expander): the expander to
    write into, or None while it is closed. For what is out of view and read by few — a chart's "as a table", the
    cockpit's weekly lights: built and drawn with every page, each cost every first visit its drawing (issue 17,
    point 14)."""
    box = st.expander(label, key=key, on_change="rerun")
    return box if box.open else None


def header(ctx: Context, title_key: str) -> None:
    """Page title, then when the numbers were true and which filters produced them."""
    st.title(ctx.t(title_key))
    tree = st.session_state["_tree"]
    st.caption(md_escape(ctx.t("app.as_of", date=i18n.fmt_date(ctx.as_of, ctx.lang), version=ctx.version))
               + "  \n" + md_escape(filterbar.summary(ctx.filters, tree, ctx.lang)))


def empty_state(ctx: Context, message_key: str) -> None:
    """An empty selection is a state, not an error: say so and offer the way out."""
    st.info(ctx.t(message_key) + " " + ctx.t("cockpit.empty_hint"), icon=":material/filter_alt_off:")
    st.button(ctx.t("filters.reset"), on_click=filterbar.reset, key="empty_reset")


def missing_data(ctx: Context, title_key: str, missing: list[str]) -> None:
    """A page whose data was never uploaded: its title, then which extract to upload (and where), instead of zeros."""
    from analytics import contract

    header(ctx, title_key)
    sep = "、" if ctx.lang == "zh" else ", "
    names = sep.join(f"{t.zh}（{t.name}）" if ctx.lang == "zh" else f"{t.en} ({t.name})"
                     for t in (contract.table(m) for m in missing))
    st.info(ctx.t("app.missing_data", tables=names), icon=":material/upload_file:")
    if ctx.may("upload"):
        st.page_link("views/upload.py", label=ctx.t("app.missing_data_upload"), icon=":material/upload_file:")
    else:
        st.caption(ctx.t("app.missing_data_ask"))
