"""The Streamlit edge of access control: sign-in form, the session (idle expiry), the demo-mode banner,
the user's line in the sidebar, and the hooks pages call (audit an action, mask a text, check an upload).

The decisions are `analytics.auth`'s: accounts and lockout (`accounts`), roles (`roles`), masking
(`masking`), upload scope (`scoping`), the audit chain (`audit`), sessions that survive a reload (`sessions`).

A password sign-in holds in this tab at once; served by server.py (make run), the page then exchanges a one-time
ticket for an HttpOnly cookie (POST /auth/adopt), so a reload, a new tab or another app process behind the proxy finds
the same session until sign-out, idle expiry or the session's longest life (analytics/auth/sessions.py). Run as
bare `streamlit run app.py` (no such route) a reload asks again. Single sign-on keeps its own cookie.
"""
from __future__ import annotations

import html
import json
import time

import streamlit as st

from analytics import auth, i18n, settings
from analytics.auth import accounts, audit, masking, roles, scoping, sessions, store

SESSION = "_auth"          # {"username", "method", "since", "last_seen"}
NOTICE = "_auth_notice"    # why the last session ended (shown once on the sign-in form)
ADOPT = "_auth_adopt"      # a ticket to exchange for the sign-in cookie on this run (sessions.issue_ticket)

BANNER_CSS = """<style>
.cockpit-demo-banner { border: 2px solid #8a5a00; background: #fff4d6; color: #3d2a00; border-radius: 0.4rem;
  padding: 0.45rem 0.8rem; margin: 0 0 0.6rem 0; font-size: 0.95rem; }
.cockpit-demo-banner code { background: #ffe7a3; color: #3d2a00; }
</style>"""


# ---- who and from where -----------------------------------------------------------------------------------

def source() -> str:
    """Where the request comes from: the client's IP address, with the proxy's X-Forwarded-For when set."""
    try:
        ip = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:  # no browser session (a bare script run)
        return ""
    # Streamlit gives no address for a browser on the same machine; AppTest answers with a stand-in object
    ip = ip if isinstance(ip, str) else "localhost" if ip is None else ""
    forwarded = forwarded if isinstance(forwarded, str) else ""
    return f"{ip} (forwarded for {forwarded[:100]})" if forwarded else ip


def log(db_path: str, user: auth.User, action: str, target: str = "", src: str | None = None, **detail) -> None:
    """Append one audit entry for `user`'s `action` (never with a password or a hash in `detail`)."""
    audit.append(store.path_for(db_path), actor=user.username, role=user.role, action=action, target=target,
                 detail=detail, source=source() if src is None else src)


def export_refusal(db_path: str, user: auth.User, held: dict | None, now: float | None = None) -> str | None:
    """Why a download clicked now must not be delivered ('' never; None: deliver): the session that rendered the
    button ended or idled out, the account was disabled or lost the export permission, or its scope changed.
    Demo mode (no account at all) delivers as long as there is still no account."""
    path = store.path_for(db_path)
    if user.is_demo:
        return None if accounts.count(path) == 0 else "signed out"
    if held is None or held.get("ended"):
        return "signed out"
    account = accounts.get(path, user.username)
    if account is None or account.disabled:
        return "account disabled"
    if (now or time.time()) - held["last_seen"] > 60 * settings.get("COCKPIT_AUTH_IDLE_MINUTES"):
        return "session expired"
    current = auth.user_of(account)
    if not current.may("export"):
        return "no export permission"
    if current.scope != user.scope:
        return "scope changed"
    return None


def guarded_download(db_path: str, user: auth.User, held: dict | None, build, *, target: str, fmt: str,
                     src: str, **detail):
    """`build` (a download's deferred data) behind the gate: Streamlit runs it when the user clicks, outside any
    page run, so the sign-in check is made again here; a refusal is audited and raises (the browser shows that the
    file could not be made, and gets nothing), a delivery is audited as an export."""
    def run():
        reason = export_refusal(db_path, user, held)
        if reason:
            log(db_path, user, "export_refused", target, src=src, format=fmt, reason=reason)
            raise PermissionError(f"download refused: {reason}")
        log(db_path, user, "export", target, src=src, format=fmt, **detail)
        return build()

    return run


def logged_download(ctx, build, *, target: str, fmt: str, rows: int):
    """`build` (a download's deferred data) that first checks the session and records the export: it runs when the
    user clicks, outside the script run, so who and from where are taken now."""
    from ui import filterbar

    tree = st.session_state.get("_tree")
    filters = filterbar.summary(ctx.filters, tree, "en") if tree is not None else ""
    return guarded_download(ctx.db_path, ctx.user, st.session_state.get(SESSION), build, target=target, fmt=fmt,
                            src=source(), rows=rows, data_version=ctx.version, filters=filters,
                            scope=list(ctx.user.scope.region_codes), domains=list(ctx.user.scope.domains))


# ---- the session ------------------------------------------------------------------------------------------

def sso_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def gate(lang: str, db_path: str) -> auth.User:
    """The signed-in user, or the sign-in form and a stop. With no account at all: demo mode (auth.DEMO)."""
    path = store.path_for(db_path)
    if accounts.count(path) == 0:
        return auth.DEMO
    held = st.session_state.get(SESSION)
    now = time.time()
    if held:
        account = accounts.get(path, held["username"])
        shared = sessions.check(path, held["sid"], now) if held.get("sid") else None
        ended = (shared.ended or None) if shared else ("signed_out" if held.get("sid") else None)
        if account is None or account.disabled:
            _end(db_path, held, "sign_out", "disabled", account)
        elif ended == "expired" or now - held["last_seen"] > 60 * settings.get("COCKPIT_AUTH_IDLE_MINUTES"):
            _end(db_path, held, "session_expired", "expired", account)
        elif ended:  # signed out in another tab or process, or the account was disabled there
            _end(db_path, held, "sign_out", "disabled" if ended == "disabled" else "signed_out", account)
        else:
            held["last_seen"] = now
            if (ticket := st.session_state.pop(ADOPT, None)) is not None:
                _go_adopt(ticket)
            return auth.user_of(account)
    resumed = _resume(path, now)
    if resumed is not None:
        return resumed
    if sso_configured() and _sso_logged_in():
        account = accounts.signed_in_by_sso(path, _sso_identity())
        if account is not None and st.session_state.get(NOTICE) not in ("expired", "signed_out"):
            _start(db_path, account, "sso")
            return auth.user_of(account)
    sign_in_form(lang, db_path)
    st.stop()


def _cookie() -> str | None:
    try:
        value = st.context.cookies.get(sessions.COOKIE)
    except Exception:  # no browser session (a bare script run)
        return None
    return value if isinstance(value, str) else None


def _resume(path, now: float) -> auth.User | None:
    """The user of the session this browser's cookie names, when it still holds (a reload, a new tab, another
    process); else None, and why it ended is shown on the form."""
    s = sessions.resolve(path, _cookie(), now)
    if s is None:
        return None
    if s.ended:
        st.session_state.setdefault(NOTICE, s.ended)
        return None
    account = accounts.get(path, s.username)
    st.session_state[SESSION] = {"username": s.username, "method": s.method, "since": s.created_at,
                                 "last_seen": now, "sid": s.sid}
    st.session_state.pop(NOTICE, None)
    return auth.user_of(account)


def _go_adopt(ticket: str) -> None:
    """Have the browser swap `ticket` for the sign-in cookie (POST /auth/adopt, server.py) while this page goes on:
    from the next reload, new tab or process on, the cookie names the session."""
    script = ("<script>fetch('/auth/adopt', {method: 'POST', credentials: 'same-origin', headers: {'Content-Type': "
              "'application/x-www-form-urlencoded'}, body: 'ticket=' + encodeURIComponent(" + json.dumps(ticket)
              + ")});</script>")
    st.iframe(script, height=1)


def _sso_logged_in() -> bool:
    try:
        return bool(st.user.is_logged_in)
    except Exception:
        return False


def _sso_identity() -> str:
    return str(st.user.get("email") or st.user.get("sub") or "")


def _start(db_path: str, account: accounts.Account, method: str) -> None:
    now = time.time()
    st.session_state[SESSION] = {"username": account.username, "method": method, "since": now, "last_seen": now}
    st.session_state.pop(NOTICE, None)
    if method == "password":  # one session for every tab and process; served by server.py, a cookie names it
        sid, ticket = sessions.start(store.path_for(db_path), account.username, method, now)
        st.session_state[SESSION]["sid"] = sid
        if sessions.ADOPT_ROUTE:
            st.session_state[ADOPT] = ticket
    log(db_path, auth.user_of(account), "sign_in", account.username, method=method)


def _end(db_path: str, held: dict, action: str, notice: str, account: accounts.Account | None) -> None:
    held["ended"] = True  # download buttons rendered in this session hold this dict: they refuse from now on
    st.session_state.pop(SESSION, None)
    if held.get("sid"):  # every tab and process on this session is signed out at its next run
        sessions.end(store.path_for(db_path), held["sid"], notice)
    st.session_state[NOTICE] = notice
    role = account.role if account else "?"
    log(db_path, auth.User(held["username"], held["username"], role), action, held["username"],
        idle_minutes=round((time.time() - held["last_seen"]) / 60, 1), reason=notice)


def sign_out(db_path: str) -> None:
    """Callback of the sign-out button."""
    held = st.session_state.get(SESSION)
    if held:
        _end(db_path, held, "sign_out", "signed_out", accounts.get(store.path_for(db_path), held["username"]))
        if held.get("method") == "sso":
            st.logout()


def sign_in_form(lang: str, db_path: str) -> None:
    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    from ui import filterbar

    with st.sidebar:
        filterbar.language_switch(lang)
    st.title(t("auth.sign_in_title"))
    st.caption(t("app.subtitle"))
    notice = st.session_state.pop(NOTICE, None)
    if notice:
        st.info(t(f"auth.notice_{notice}", minutes=settings.get("COCKPIT_AUTH_IDLE_MINUTES"),
                  hours=settings.get("COCKPIT_AUTH_SESSION_HOURS")))
    with st.form("auth_sign_in", clear_on_submit=True, width=420):
        name = st.text_input(t("auth.username"), key="auth_username", max_chars=64, autocomplete="username")
        password = st.text_input(t("auth.password"), key="auth_password", type="password", max_chars=128,
                                 autocomplete="current-password")
        submitted = st.form_submit_button(t("auth.sign_in"), type="primary", icon=":material/login:", key="auth_submit")
    if sso_configured():
        provider = settings.get("COCKPIT_SSO_PROVIDER") or None
        st.button(t("auth.sso"), key="auth_sso", on_click=st.login, args=(provider,), icon=":material/key:")
        if _sso_logged_in():
            st.warning(t("auth.sso_no_account", identity=_md(_sso_identity())))
            st.button(t("auth.sign_out"), key="auth_sso_out", on_click=st.logout)
    st.caption(t("auth.help", minutes=settings.get("COCKPIT_AUTH_IDLE_MINUTES")))
    if submitted:
        _attempt(lang, db_path, name, password)


def _attempt(lang: str, db_path: str, name: str, password: str) -> None:
    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    path = store.path_for(db_path)
    outcome = accounts.authenticate(path, name, password, client=source())
    if outcome.status == "ok":
        _start(db_path, outcome.account, "password")
        st.rerun()
    known = accounts.get(path, (name or "").strip().lower()[:64]) is not None
    # an unknown name is not written down: it may be a password typed into the wrong box
    target = (name or "").strip().lower()[:64] if known else "?"
    if outcome.status in ("failed", "locked") and outcome.reason != "locked":
        audit.append(path, actor=target, role="?", action="sign_in_failed", target=target,
                     detail={"reason": outcome.reason, "locked": outcome.status == "locked"}, source=source())
    if outcome.status == "locked":
        st.error(t("auth.locked", minutes=max(1, round(outcome.retry_after / 60))), icon=":material/lock:")
    elif outcome.status == "throttled":
        st.warning(t("auth.throttled", seconds=outcome.retry_after), icon=":material/hourglass_top:")
    else:
        st.error(t("auth.failed"), icon=":material/block:")


# ---- what every page shows ---------------------------------------------------------------------------------

def banner(user: auth.User, lang: str) -> None:
    """Demo mode, on every page: anyone can see everything, and how to turn sign-in on."""
    if not user.is_demo:
        return
    text = html.escape(i18n.t("auth.demo_banner", lang))
    # the command belongs to whoever runs the server: the accounts page shows it, readers see words
    how = html.escape(i18n.t("auth.demo_how", lang, page=i18n.t("nav.admin", lang)))
    st.markdown(BANNER_CSS + f'<div class="cockpit-demo-banner" role="status">⚠ <strong>{text}</strong> {how}</div>',
                unsafe_allow_html=True)


def scope_text(user: auth.User, names: dict[str, str], lang: str) -> str:
    if not user.scope.region_codes:
        regions = i18n.t("auth.national", lang)
    else:
        sep = "、" if lang == "zh" else ", "
        regions = sep.join(i18n.glossary("province", names.get(c, c), lang) for c in user.scope.region_codes)
    if user.scope.domains:
        sep = "、" if lang == "zh" else ", "
        regions += " · " + sep.join(i18n.glossary("domain", d, lang) for d in user.scope.domains)
    return regions


def sidebar(user: auth.User, names: dict[str, str], lang: str, db_path: str) -> None:
    """Who is signed in, with which role and scope, and the way out."""
    if user.is_demo:
        st.caption("⚠ " + i18n.t("auth.demo_short", lang))
        return
    st.markdown(i18n.t("auth.signed_in_as", lang, name=_md(user.display_name), role=roles.label(user.role, lang),
                       scope=_md(scope_text(user, names, lang))))
    st.button(i18n.t("auth.sign_out", lang), key="auth_sign_out", on_click=sign_out, args=(db_path,),
              icon=":material/logout:")


def _md(text: str) -> str:
    from ui.page import md_escape

    return md_escape(text)


# ---- hooks of the pages ----------------------------------------------------------------------------------

def person_names(ctx, text: str | None) -> str | None:
    """People's names (an item's responsible leaders) as this user may read them."""
    return masking.person_names(text, ctx.user.role)


def feedback_text(ctx, text: str | None) -> str | None:
    """Feedback text as this user's role may read it (analytics/auth/masking.py)."""
    return masking.feedback_text(text, ctx.user.role)


def upload_refused(ctx, cur, changes) -> bool:
    """Say why a scoped steward may not write this upload, and record it; False when it may be written."""
    from ui import context  # ui.context imports this module

    home = context.home_region(ctx.db_path, ctx.version)
    home_only = bool(home) and ctx.scope == scoping.home_scope(home)  # an account of the office, not a narrower one
    refusals = scoping.upload_refusals(cur, ctx.scope, changes, home_only=home_only)
    if not refusals:
        return False
    lines = [ctx.t(f"auth.refuse_{r.rule}", table=r.table, n=i18n.fmt_int(r.n_rows, ctx.lang),
                   keys="、".join(r.examples) if ctx.lang == "zh" else ", ".join(r.examples))
             for r in refusals]
    st.error(_md(ctx.t("auth.refused_intro")) + "\n\n" + "\n".join(f"- {_md(x)}" for x in lines),
             icon=":material/block:")
    log(ctx.db_path, ctx.user, "upload_refused", ",".join(sorted({r.table for r in refusals})),
        rules=sorted({r.rule for r in refusals}), rows=sum(r.n_rows for r in refusals))
    return True


def may_roll_back(ctx) -> bool:
    """Rollback restores every region's data: a national steward's (or admin's) action only."""
    return ctx.may("rollback") and scoping.is_national(ctx.scope)


def may_manage_users(ctx) -> bool:
    """Managing accounts is a national administrator's: a scoped one could otherwise widen anyone's scope. The
    account's own scope decides (a deployment's home region narrows what every page shows, not who administers)."""
    return ctx.may("manage_users") and scoping.is_national(ctx.user.scope)


def may_read_audit(ctx) -> bool:
    """The audit log names every account's actions in every region: read only by an account without a region or
    domain scope (issue 22); a scoped administrator or steward sees that it exists, not what it holds."""
    return ctx.may("view_audit") and scoping.is_national(ctx.user.scope)


def who(ctx, fallback_setting: str) -> str:
    """The name an upload or a note is recorded under: the account's, or (demo mode) the setting's."""
    return settings.get(fallback_setting) if ctx.user.is_demo else ctx.user.username
