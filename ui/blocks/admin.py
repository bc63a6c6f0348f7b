"""The admin page's parts: the accounts (add, change role and scope, disable, reset a password, unlock) and
the audit log with the state of its hash chain. The rules are `analytics.auth`'s; every change is audited."""
from __future__ import annotations

from datetime import datetime

import polars as pl
import streamlit as st

from analytics import i18n
from analytics.auth import accounts, audit, roles
from analytics.auth.accounts import AccountError
from analytics.db import queries, versions
from analytics.db.queries import Scope
from analytics.filters import Filters

from ui import auth as auth_ui
from ui import tables
from ui.context import Context, database
from ui.page import md_escape


def _names(ctx: Context) -> dict[str, str]:
    return dict(ctx.query("region_options").select("region_code", "name").iter_rows())


def _region_label(ctx: Context, names: dict[str, str], code: str) -> str:
    return f"{i18n.glossary('province', names.get(code, code), ctx.lang)} · {code}"


def users(ctx: Context, path) -> None:
    """Every account: name, role, scope, state; no password or hash is ever read here."""
    found = accounts.list_all(path)
    names = st.session_state["_tree"].name
    yes, no = ctx.t("auth.yes"), ctx.t("auth.no")
    locked = {a.username: accounts.lock_state(path, a.username)[1] is not None for a in found}
    # who, what and whether they can sign in first (a disabled or locked account is the exception an
    # administrator looks for), then what their notices depend on, then the record
    columns = {
        "admin.col_username": [a.username for a in found],
        "admin.col_name": [a.display_name for a in found],
        "admin.col_role": [roles.label(a.role, ctx.lang) for a in found],
        "admin.col_scope": [auth_ui.scope_text(_user(a), names, ctx.lang) for a in found],
        "admin.col_state": [ctx.t("admin.disabled") if a.disabled else ctx.t("admin.active") for a in found],
        "admin.col_locked": [yes if locked[a.username] else no for a in found],
        "admin.col_department": [a.department or "" for a in found],
        "admin.col_leader": [a.leader_name or "" for a in found],
        "admin.col_lang": [_lang_label(ctx, a.lang) for a in found],
        "admin.col_sso": [a.sso_identity or "" for a in found],
        "admin.col_last": [(a.last_sign_in_at or "")[:16].replace("T", " ") for a in found],
        "admin.col_created": [f"{a.created_at[:10]} · {a.created_by}" for a in found],
    }
    frame = pl.DataFrame({ctx.t(k): v for k, v in columns.items()}, schema={ctx.t(k): pl.Utf8 for k in columns})
    st.subheader(ctx.t("admin.users", n=len(found)))
    tables.show(ctx, frame, key="admin_users", title=ctx.t("admin.users", n=len(found)), stem="accounts")
    lockouts(ctx, path)
    add_form(ctx, path)
    if found:
        edit_form(ctx, path, found)


def _lang_label(ctx: Context, lang: str | None) -> str:
    return {"zh": "中文", "en": "English"}.get(lang or "", ctx.t("admin.lang_none"))


def lockouts(ctx: Context, path) -> None:
    """Locks in force by client: a client that locked many names is guessing names or spraying a password."""
    found = accounts.lockouts(path)
    if not found:
        return
    st.markdown(f"**{ctx.t('admin.lockouts')}**")
    tables.grid(pl.DataFrame({
        ctx.t("admin.lock_client"): [f["client"] or "—" for f in found],
        ctx.t("admin.lock_names_n"): [f["n_names"] for f in found],
        ctx.t("admin.lock_names"): [f["names"] for f in found],
        ctx.t("admin.lock_until"): [datetime.fromtimestamp(f["until"]).strftime("%Y-%m-%d %H:%M") for f in found],
    }), hide_index=True, width="stretch", key="admin_lockouts")
    st.caption(ctx.t("admin.lockouts_note", n=accounts.NAME_WIDE_FACTOR))


def _user(account):
    from analytics import auth

    return auth.user_of(account)


def _scope_inputs(ctx: Context, key: str, regions=(), domains=()) -> tuple[list[str], list[str]]:
    names = _names(ctx)
    codes = sorted(names)
    picked = st.multiselect(ctx.t("admin.regions"), codes, default=[c for c in regions if c in names],
                            key=f"{key}_regions", format_func=lambda c: _region_label(ctx, names, c),
                            placeholder=ctx.t("admin.regions_hint"), max_selections=20)
    options = ctx.query("domain_options")["domain"].to_list()
    chosen = st.multiselect(ctx.t("admin.domains"), options, default=[d for d in domains if d in options],
                            key=f"{key}_domains", format_func=lambda d: i18n.glossary("domain", d, ctx.lang),
                            placeholder=ctx.t("admin.domains_hint"))
    return picked, chosen


def _done(ctx: Context, message: str) -> None:
    st.session_state["admin_flash"] = message
    st.rerun()


def flash() -> None:
    message = st.session_state.pop("admin_flash", None)
    if message:
        st.success(md_escape(message), icon=":material/check_circle:")


def add_form(ctx: Context, path) -> None:
    with st.expander(ctx.t("admin.add"), icon=":material/person_add:"):
        with st.form("admin_add", clear_on_submit=True):
            cols = st.columns(3)
            username = cols[0].text_input(ctx.t("auth.username"), key="admin_add_username", max_chars=64)
            display = cols[1].text_input(ctx.t("admin.col_name"), key="admin_add_name", max_chars=64)
            role = cols[2].selectbox(ctx.t("admin.col_role"), roles.ROLE_KEYS, key="admin_add_role",
                                     format_func=lambda r: roles.label(r, ctx.lang))
            regions, domains = _scope_inputs(ctx, "admin_add")
            cols = st.columns(2)
            password = cols[0].text_input(ctx.t("auth.password"), type="password", key="admin_add_password",
                                          max_chars=128, help=ctx.t("admin.policy", n=_min()))
            sso = cols[1].text_input(ctx.t("admin.col_sso"), key="admin_add_sso", max_chars=200,
                                     help=ctx.t("admin.sso_help"))
            department, leader = _owner_inputs(ctx, "admin_add", _departments(ctx, ctx.scope))
            submitted = st.form_submit_button(ctx.t("admin.add_submit"), type="primary")
        if submitted:
            try:
                a = accounts.add(path, username, role=role, by=ctx.user.username, password=password or None,
                                 display_name=display, region_codes=regions, domains=domains, sso_identity=sso or None,
                                 department=department, leader_name=leader)
            except AccountError as e:
                st.error(md_escape(e.message(ctx.lang)))
                return
            auth_ui.log(ctx.db_path, ctx.user, "user_add", a.username, role=a.role, regions=list(a.region_codes),
                        domains=list(a.domains), sso=bool(a.sso_identity), department=a.department,
                        leader=a.leader_name)
            _done(ctx, ctx.t("admin.added", username=a.username))


@st.cache_data(ttl=600, max_entries=64, show_spinner=False)
def _departments_cached(db_path: str, version: int, regions: tuple, domains: tuple, as_of
                        ) -> dict[str, tuple[int, int]]:
    frame = queries.run(database(db_path).cursor(), "notify_departments", Filters(), Scope(regions, domains), as_of)
    return {r[0]: (r[1], r[2]) for r in frame.iter_rows()}


def _departments(ctx: Context, scope: Scope) -> dict[str, tuple[int, int]]:
    """Department → (items it leads, rectifications it is responsible for) in `scope`, as the data writes them."""
    return _departments_cached(ctx.db_path, ctx.version, tuple(scope.region_codes), tuple(scope.domains), ctx.as_of)


def _owner_inputs(ctx: Context, key: str, depts: dict, department: str | None = None,
                  leader: str | None = None) -> tuple[str | None, str | None]:
    """The account's department (the departments of the data in its scope to choose from, or typed) and its name as
    the items' responsible leaders write it: whose notices it receives as an owner (analytics/notify/owners.py)."""
    options = ["", *depts]
    if department and department not in depts:
        options.insert(1, department)
    cols = st.columns(2)
    chosen = cols[0].selectbox(
        ctx.t("admin.col_department"), options, index=options.index(department or ""), key=f"{key}_department",
        accept_new_options=True, help=ctx.t("admin.department_help"),
        format_func=lambda d: ctx.t("admin.department_none") if not d else
        ctx.t("admin.department_option", dept=d, n=depts[d][0], m=depts[d][1]) if d in depts else d)
    typed = cols[1].text_input(ctx.t("admin.col_leader"), value=leader or "", key=f"{key}_leader",
                               max_chars=accounts.MAX_OWNER_TEXT, help=ctx.t("admin.leader_help"))
    return chosen or None, typed.strip() or None


def _owner_match(ctx: Context, depts: dict, department: str | None) -> None:
    """Whether the account's department is one the data names in its scope: a department written otherwise
    (市住建局 for 住房和城乡建设局) matches nothing, and its notices would never come."""
    if not department:
        return
    if department in depts:
        n, m = depts[department]
        st.caption(ctx.t("admin.department_matches", dept=md_escape(department), n=n, m=m))
    else:
        st.warning(ctx.t("admin.department_no_match", dept=md_escape(department)), icon=":material/warning:")


def _min() -> int:
    from analytics import settings

    return settings.get("COCKPIT_AUTH_MIN_PASSWORD")


def edit_form(ctx: Context, path, found: list) -> None:
    with st.expander(ctx.t("admin.edit"), icon=":material/manage_accounts:"):
        by_name = {a.username: a for a in found}
        name = st.selectbox(ctx.t("admin.choose"), list(by_name), key="admin_edit_user")
        a = by_name[name]
        with st.form(f"admin_edit_{name}"):
            cols = st.columns(2)
            display = cols[0].text_input(ctx.t("admin.col_name"), value=a.display_name, max_chars=64,
                                         key=f"admin_edit_name_{name}")
            role = cols[1].selectbox(ctx.t("admin.col_role"), roles.ROLE_KEYS, index=roles.ROLE_KEYS.index(a.role),
                                     key=f"admin_edit_role_{name}", format_func=lambda r: roles.label(r, ctx.lang))
            regions, domains = _scope_inputs(ctx, f"admin_edit_{name}", a.region_codes, a.domains)
            options = ("", *accounts.LANGS)
            lang = st.selectbox(ctx.t("admin.col_lang"), options, index=options.index(a.lang or ""),
                                key=f"admin_edit_lang_{name}", format_func=lambda x: _lang_label(ctx, x),
                                help=ctx.t("admin.lang_help"))
            depts = _departments(ctx, Scope(a.region_codes, a.domains))
            department, leader = _owner_inputs(ctx, f"admin_edit_{name}", depts, a.department, a.leader_name)
            save = st.form_submit_button(ctx.t("admin.save"), type="primary")
        _owner_match(ctx, depts, a.department)
        if save:
            try:
                changed = accounts.update(path, name, by=ctx.user.username, role=role, region_codes=regions,
                                          domains=domains, display_name=display, lang=lang,
                                          department=department or "", leader_name=leader or "")
            except AccountError as e:
                st.error(md_escape(e.message(ctx.lang)))
                return
            auth_ui.log(ctx.db_path, ctx.user, "user_change", name, role=changed.role,
                        regions=list(changed.region_codes), domains=list(changed.domains), lang=changed.lang,
                        department=changed.department, leader=changed.leader_name)
            _done(ctx, ctx.t("admin.saved", username=name))
        cols = st.columns(3)
        if a.username != ctx.user.username:  # an admin does not lock themself out
            label = ctx.t("admin.enable") if a.disabled else ctx.t("admin.disable")
            if cols[0].button(label, key=f"admin_toggle_{name}"):
                accounts.set_disabled(path, name, not a.disabled, ctx.user.username)
                auth_ui.log(ctx.db_path, ctx.user, "user_enable" if a.disabled else "user_disable", name)
                _done(ctx, ctx.t("admin.enabled" if a.disabled else "admin.disabled_done", username=name))
        if cols[1].button(ctx.t("admin.unlock"), key=f"admin_unlock_{name}"):
            accounts.unlock(path, name)
            auth_ui.log(ctx.db_path, ctx.user, "user_unlock", name)
            _done(ctx, ctx.t("admin.unlocked", username=name))
        with cols[2].popover(ctx.t("admin.reset"), icon=":material/password:"):
            with st.form(f"admin_reset_{name}", clear_on_submit=True):
                new = st.text_input(ctx.t("admin.new_password"), type="password", max_chars=128,
                                    key=f"admin_reset_pw_{name}", help=ctx.t("admin.policy", n=_min()))
                reset = st.form_submit_button(ctx.t("admin.reset"))
            if reset:
                try:
                    accounts.reset_password(path, name, new, ctx.user.username)
                except AccountError as e:
                    st.error(md_escape(e.message(ctx.lang)))
                    return
                auth_ui.log(ctx.db_path, ctx.user, "user_reset", name)
                _done(ctx, ctx.t("admin.reset_done", username=name))


def audit_log(ctx: Context, path, limit: int = 2000) -> None:
    """The newest entries, and whether the chain still holds (`python -m analytics audit verify` does the same)."""
    st.subheader(ctx.t("admin.audit"))
    # cross-checked with the entries the data versions recorded at their commits (they live in the DuckDB file)
    anchors = versions.audit_anchors(database(ctx.db_path).cursor())
    n, head, problems = audit.verify(path, anchors=anchors)
    if problems:
        st.error(ctx.t("admin.chain_broken", n=len(problems)) + "\n\n"
                 + "\n".join(f"- {md_escape(p.message)}" for p in problems[:20]), icon=":material/gpp_bad:")
    elif n:  # an empty log has no chain to vouch for, nor a newest hash worth keeping: its notice says so below
        st.success(ctx.t("admin.chain_ok", n=i18n.fmt_int(n, ctx.lang), head=head[:16]), icon=":material/verified:")
        first, last = audit.unanchored(n, anchors)
        st.caption(ctx.t("admin.chain_limits", head=head, n_anchors=i18n.fmt_int(len(anchors), ctx.lang),
                         first=first, last=last) if first <= last else
                   ctx.t("admin.chain_anchored", head=head, n_anchors=i18n.fmt_int(len(anchors), ctx.lang)))
    rows = audit.entries(path, limit)
    if not rows:
        st.info(ctx.t("admin.audit_empty"))
        return
    frame = pl.DataFrame({
        ctx.t("admin.a_seq"): [e.seq for e in rows],
        ctx.t("admin.a_at"): [e.at[:19].replace("T", " ") for e in rows],
        ctx.t("admin.a_actor"): [e.actor for e in rows],
        ctx.t("admin.a_role"): [roles.label(e.role, ctx.lang) if e.role in roles.BY_ROLE else e.role for e in rows],
        ctx.t("admin.a_action"): [ctx.t(f"admin.action_{e.action}") for e in rows],
        ctx.t("admin.a_target"): [e.target for e in rows],
        ctx.t("admin.a_detail"): [", ".join(f"{k}={v}" for k, v in e.detail.items()) for e in rows],
        ctx.t("admin.a_source"): [e.source for e in rows],
        ctx.t("admin.a_hash"): [e.hash[:12] for e in rows],
    })
    tables.show(ctx, frame, key="admin_audit", title=ctx.t("admin.audit"), stem="audit-log", shown=500,
                height=420 if frame.height > 10 else "auto")
    st.caption(ctx.t("admin.audit_note", n=i18n.fmt_int(limit, ctx.lang)))
