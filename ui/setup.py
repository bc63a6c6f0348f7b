"""First start, with no database: explore the demo data, or start on the office's own data for its home region.

On a server, COCKPIT_HOME_REGION makes the choice (an empty database for that region). Otherwise the first visitor
who may set the cockpit up chooses: in demo mode anyone (there are no accounts yet), with sign-in an administrator;
anyone else is told the data is not set up yet. Either way the work is done once, whichever session comes first,
under one lock; after an empty database is made, the app lands on the upload page with a short guide.
"""
from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

import streamlit as st

from analytics import i18n, settings
from analytics.db import store

from ui import filterbar

LAND_ON = "_land_on"  # session key: the page the next run opens (after the database was made empty)


@st.cache_resource(show_spinner=False)
def _generation_lock() -> threading.Lock:
    return threading.Lock()


@st.cache_resource(show_spinner=False)
def _choices() -> list[tuple[str, str]]:
    return store.region_choices()


def ensure_database(path: Path, lang: str, may_choose: bool = True, who: str = "setup") -> None:
    """Make the database at `path` if it does not exist: for COCKPIT_HOME_REGION, else as the visitor chooses (the
    demo, or an empty database for a home region); stop the run until it exists."""
    if path.exists():
        return
    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    home = settings.get("COCKPIT_HOME_REGION").strip()
    if home:
        if _with_lock(path, lang, lambda: _init(path, home, who, lang, setting=True)):
            st.session_state[LAND_ON] = "upload"
        return
    with st.sidebar:
        filterbar.language_switch(lang)
    st.title(t("setup.choose_title"))
    if not may_choose:
        st.info(t("setup.not_set_up"), icon=":material/hourglass_empty:")
        st.stop()
    st.write(t("setup.choose_intro", path=str(path)))
    demo_col, own_col = st.columns(2, gap="large")
    with demo_col.container(border=True):
        st.subheader(t("setup.demo_title"))
        st.write(t("setup.demo_body", items=i18n.fmt_int(int(20_000 * settings.get("COCKPIT_DEMO_SCALE")), lang)))
        demo = st.button(t("setup.demo_button"), key="setup_demo", icon=":material/science:")
    with own_col.container(border=True):
        st.subheader(t("setup.own_title"))
        st.write(t("setup.own_body"))
        choices = dict(_choices())
        code = st.selectbox(t("setup.own_region"), list(choices), index=None, format_func=choices.get,
                            placeholder=t("setup.own_placeholder"), key="setup_region",
                            help=t("setup.own_region_help"))
        own = st.button(t("setup.own_button"), key="setup_own", type="primary", icon=":material/rocket_launch:",
                        disabled=code is None)
    if demo:
        _with_lock(path, lang, lambda: _demo(path, lang))
        st.rerun()
    if own and code:
        if _with_lock(path, lang, lambda: _init(path, code, who, lang, setting=False)):
            st.session_state[LAND_ON] = "upload"
            st.rerun()
    st.stop()


def _with_lock(path: Path, lang: str, make) -> bool:
    """Run `make` once for all sessions; a session that finds another one making the database waits for it.
    True when this session made it."""
    lock = _generation_lock()
    if not lock.acquire(blocking=False):
        with st.spinner(i18n.t("setup.waiting", lang)):
            lock.acquire()  # another session is making it; wait, then carry on with what it made
        lock.release()
        return False
    try:
        if path.exists():
            return False
        make()
        return True
    finally:
        lock.release()


def _init(path: Path, code: str, who: str, lang: str, setting: bool) -> None:
    try:
        store.init(path, code, date.today(), who)
    except store.InitError as e:
        from ui.page import md_escape

        message = i18n.t("setup.bad_home_region", lang, value=md_escape(code)) if setting else md_escape(str(e))
        st.error(message, icon=":material/error:")
        st.stop()


def _demo(path: Path, lang: str) -> None:
    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    from analytics import demo  # imported here: only the first start needs it

    scale = settings.get("COCKPIT_DEMO_SCALE")
    as_of_text = settings.get("COCKPIT_DEMO_AS_OF")
    as_of = date.fromisoformat(as_of_text) if as_of_text else date.today()
    st.info(t("setup.body", path=str(path), items=i18n.fmt_int(20_000 * scale, lang)))
    bar = st.progress(0.0, text=t("setup.progress", pct="0%"))

    def progress(fraction: float, message: str) -> None:
        label = t("setup.progress", pct=f"{fraction:.0%}") + ("" if lang == "zh" else f" ({message})")
        bar.progress(min(max(fraction, 0.0), 1.0), text=label)

    started = time.perf_counter()
    try:
        counts = demo.generate(path, scale=scale, seed=settings.get("COCKPIT_DEMO_SEED"), as_of=as_of,
                               progress=progress)
    except Exception as exc:  # shown to the user; the half-written file was never moved into place
        st.error(t("setup.failed", error=str(exc)))
        st.stop()
    st.success(t("setup.done", items=i18n.fmt_int(counts["projects"], lang),
                 reports=i18n.fmt_int(counts["progress_reports"], lang),
                 seconds=f"{time.perf_counter() - started:.0f}"))
    _train(path)


def _train(path: Path) -> None:
    """The demo arrives with its slip-risk model: trained and scored in the background right after the data is
    written (the risk page shows the progress), as a commit does (COCKPIT_RETRAIN_AFTER_COMMIT)."""
    if not settings.get("COCKPIT_RETRAIN_AFTER_COMMIT"):
        return
    from analytics.risk import jobs
    from ui import context

    db = context.database(str(path))  # the app's connection: the job's thread takes a cursor of its own from it
    jobs.start(str(path), db.cursor)
