"""Entry point: language, first-run data, the global filters, and navigation."""
from __future__ import annotations

import time
from dataclasses import astuple
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

from analytics import i18n, ops, settings
from analytics.auth import scoping
from analytics import pages as app_pages
from analytics.filters import Filters, Options, recent_periods
from ui import a11y
from ui import auth as auth_ui
from ui import context, filterbar, metric_settings, setup
from ui import page as page_ui
from ui.blocks import notify as notify_blocks

st.set_page_config(page_title="政策执行驾驶舱 · Policy Execution Cockpit", page_icon="📊", layout="wide")
# a card's label wraps instead of being cut short ("On-time completion r…" on a 1280 px projector): Streamlit
# truncates metric labels to one line; a segmented control's options wrap instead of running off a phone's
# screen ("Quarterly eval…" on the meeting page at 390 px)
LOOK = ("<style>[data-testid='stMetricLabel'], [data-testid='stMetricLabel'] * { white-space: normal !important; "
        "overflow: visible !important; text-overflow: clip !important; height: auto !important; } "
        "[data-testid='stButtonGroup'] > div:last-child { flex-wrap: wrap; row-gap: 0.25rem; }</style>")


def main(run: dict) -> None:
    """One run of the app; `run` collects what its log line and metrics say (page, user, role, data version)."""
    st.html(LOOK)  # (style only: takes no room on the page)
    lang = filterbar.resolve_language()
    db_path = Path(settings.get("COCKPIT_DB"))
    run["page"] = "sign_in"
    user = auth_ui.gate(lang, str(db_path))  # sign-in before anything (the form and a stop); demo mode: nobody
    run.update(page="setup", user=user.username, role=user.role)
    # no database yet: COCKPIT_HOME_REGION, or the first visitor who may set up (anyone in demo mode, else an
    # administrator) chooses the demo or an empty database for the office's home region
    setup.ensure_database(db_path, lang, may_choose=user.is_demo or user.may("manage_users"),
                          who=settings.get("COCKPIT_STEWARD") if user.is_demo else user.username)

    context.pin(str(db_path))  # served with a worker: this run reads one published snapshot throughout
    newest = context.data_version(str(db_path))
    if newest is None:
        st.error(i18n.t("app.no_data", lang))
        st.stop()
    version, as_of = newest
    run["version"] = version

    # applied in SQL to every query, the filters below can only narrow it; a deployment for one city or province
    # (python -m analytics init --home-region) opens on it and offers nothing outside it
    scope = scoping.within_home(user.scope, context.home_region(str(db_path), version))
    base = context.Context(lang, Filters(), scope, version, as_of, str(db_path), user=user)
    regions = base.query("region_options")
    tree = context.region_tree(str(db_path), version, as_of, astuple(scope))  # with the scope's ancestors
    domain_counts = dict(base.query("domain_options").iter_rows())
    dept_counts = dict(base.query("dept_options").iter_rows())
    options = Options(region_codes=frozenset(regions["region_code"]), domains=tuple(domain_counts),
                      lead_depts=tuple(dept_counts), periods=recent_periods(as_of))
    filters, problems = filterbar.resolve_filters(options)
    if (clamped := scoping.clamp_filters(filters, scope, options.region_codes)) != filters:
        filterbar.set_region(clamped.region_code)  # a scoped user's view opens on (and stays within) the scope
        filters = clamped
    thresholds, weights = metric_settings.current()
    st.session_state["_context"] = context.Context(lang, filters, scope, version, as_of, str(db_path), thresholds, weights,
                                                     user)
    st.session_state["_tree"] = tree

    menu: dict[str, list] = {}
    for p in app_pages.PAGES:
        if not user.may(p.permission):  # a page a role may not open is not in the navigation at all
            continue
        menu.setdefault(i18n.t(f"nav.section_{p.section}", lang), []).append(
            st.Page(p.file, title=i18n.t(f"nav.{p.key}", lang), icon=p.icon, url_path=p.key, default=p.default))
    page = st.navigation(menu, expanded=True)  # every page listed: more than twelve would hide some
    if st.session_state.pop(setup.LAND_ON, None) == "upload" and user.may("upload"):
        st.switch_page("views/upload.py")  # an empty database was just made: the first thing to do is load a ledger

    with st.sidebar:
        st.markdown(f"**{i18n.t('app.title', lang)}**  \n{i18n.t('app.subtitle', lang)}")
        filterbar.language_switch(lang)
        a11y.labels(lang)  # Streamlit's own screen-reader labels ("Help for …") in the page's language
        auth_ui.sidebar(user, tree.name, lang, str(db_path))
        notify_blocks.my_subscriptions(user, tree.name, lang, str(db_path))
        filterbar.render(filters, tree, options, domain_counts, dept_counts, lang)

    for p in problems:
        st.warning(i18n.t("filters.dropped", lang, param=p.param, value=page_ui.md_escape(p.value), expected=i18n.t(f"filters.expect_{p.key}", lang, n=p.n) if p.key else p.expected))

    auth_ui.banner(user, lang)
    shown = app_pages.BY_KEY.get(page.url_path) or next(p for p in app_pages.PAGES if p.default)
    run["page"] = shown.key
    missing = [t for t in shown.needs if not context.table_rows(str(db_path), version).get(t)]
    if missing:  # an office that has loaded only its ledger: say what each page needs instead of drawing zeros
        page_ui.missing_data(st.session_state["_context"], f"nav.{shown.key}", missing)
    else:
        page.run()


# each run counted and logged (analytics/ops.py; served at /metrics by server.py): which page, whose, how long, and
# how it ended (a sign-in form or an empty database stops the run; a click reruns it)
_run = {"page": "", "user": "", "role": "", "version": None}
_started, _outcome = time.perf_counter(), "ok"
_gate = ops.admission()  # a few runs at a time per process, first come first served (COCKPIT_MAX_RUNS)
_waited = _gate.enter()
ops.REGISTRY.waited(_waited)
try:
    main(_run)
except StopException:
    _outcome = "stopped"
    # a page that ends by saying why it shows no more (st.stop: the risk page before the new version's scores, an
    # empty selection) has shown its version; before a version is chosen (the sign-in form) there is none
    ops.SHOWN.saw(_run["version"])
    raise
except RerunException:
    _outcome = "rerun"
    raise
except Exception as error:
    from analytics.db import state

    if state.transient(error) and st.session_state.get("_state_retries", 0) < 3:
        # the state store's server went away mid-run (a PostgreSQL restart): run the page again once it answers
        st.session_state["_state_retries"] = st.session_state.get("_state_retries", 0) + 1
        _outcome = "rerun"
        time.sleep(1)
        st.rerun()
    _outcome = "error"
    raise
else:
    st.session_state.pop("_state_retries", None)
    ops.SHOWN.saw(_run["version"])
finally:
    _gate.leave(rerun=_outcome == "rerun")
    ops.record_run(_run["page"] or "none", time.perf_counter() - _started, _outcome, user=_run["user"],
                   role=_run["role"], data_version=_run["version"],
                   session=getattr(get_script_run_ctx(), "session_id", "")[:8], waited=_waited)
