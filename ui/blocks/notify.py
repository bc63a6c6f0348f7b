"""Notification blocks: the admin page's tab (the rules in force, the dry run: what each rule would send to whom
now, and the outbox) and the cockpit's inbox of the signed-in person. The logic is analytics.notify's; text from
data is escaped."""
from __future__ import annotations

from datetime import datetime

import polars as pl
import streamlit as st

from analytics.db import state
from analytics.notify import channels, outbox, preview, rules, store
from analytics.notify.digest import period_label
from analytics.notify.rules import STEPS
from ui import tables
from ui.context import Context, database
from ui.page import md_escape


def admin_tab(ctx: Context) -> None:
    path = store.path_for(ctx.db_path)
    ruleset = rules.load(path)
    st.subheader(ctx.t("notify.rules", version=ruleset.version))
    st.caption(ctx.t("notify.rules_note"))
    frame = pl.DataFrame({
        ctx.t("notify.col_rule"): [r.title(ctx.lang) for r in ruleset.rules],
        ctx.t("notify.col_step"): [STEPS[r.step][0 if ctx.lang == "zh" else 1] for r in ruleset.rules],
        ctx.t("notify.col_on"): [ctx.t("auth.yes") if r.enabled else ctx.t("auth.no") for r in ruleset.rules],
        ctx.t("notify.col_params"): [", ".join(f"{ctx.t('notify.param_' + k)} = {v}" for k, v in r.params) or "—"
                                     for r in ruleset.rules],
        ctx.t("notify.col_wording"): [r.text(ctx.lang) for r in ruleset.rules],
    })
    tables.show(ctx, frame, key="notify_rules", title=ctx.t("notify.rules", version=ruleset.version),
                stem="notification-rules", searchable=False)
    edit_rule(ctx, path, ruleset)
    dry_run(ctx)
    outbox_table(ctx, path)


def edit_rule(ctx: Context, path, ruleset: rules.RuleSet) -> None:
    """Change one rule (on or off, its parameters, its wording): saved as a new rules version, audited."""
    from ui import auth as auth_ui

    with st.expander(ctx.t("notify.edit"), icon=":material/edit:"):
        key = st.selectbox(ctx.t("notify.col_rule"), rules.RULE_KEYS, key="notify_edit_rule",
                           format_func=lambda k: ruleset.get(k).title(ctx.lang))
        rule = ruleset.get(key)
        with st.form(f"notify_edit_{key}", border=False):
            enabled = st.toggle(ctx.t("notify.col_on"), value=rule.enabled, key=f"notify_edit_on_{key}")
            params = {name: st.number_input(ctx.t(f"notify.param_{name}"), min_value=1, max_value=3650, value=value, step=1,
                                            key=f"notify_edit_{key}_{name}") for name, value in rule.params}
            text_zh = st.text_input(ctx.t("notify.wording_zh"), value=rule.text_zh, key=f"notify_edit_zh_{key}")
            text_en = st.text_input(ctx.t("notify.wording_en"), value=rule.text_en, key=f"notify_edit_en_{key}")
            st.caption(ctx.t("notify.placeholders", names=", ".join("{" + n + "}" for n in
                                                                   rules.PLACEHOLDERS[rule.subject])))
            if not st.form_submit_button(ctx.t("notify.save_rule")):
                return
        overrides = rules.overrides_of(path)
        overrides[key] = {"enabled": enabled, "params": {k: int(v) for k, v in params.items()},
                          "text_zh": text_zh, "text_en": text_en}
        try:
            saved = rules.save(path, overrides, by=ctx.user.username)
        except rules.RuleError as e:
            st.error(ctx.t("notify.err_rule", rule=md_escape(str(e.values.get("rule", key)))))
            return
        auth_ui.log(ctx.db_path, ctx.user, "notify_rules", f"v{saved.version}", rule=key, enabled=enabled,
                    params=overrides[key]["params"])
        st.success(ctx.t("notify.saved_rules", version=saved.version))


def dry_run(ctx: Context) -> None:
    st.subheader(ctx.t("notify.dry_run"))
    if not st.toggle(ctx.t("notify.dry_run_go"), key="notify_dry_run"):
        st.caption(ctx.t("notify.dry_run_note"))
        return
    digests = preview.everyone(ctx.db_path, cur=database(ctx.db_path).cursor(), now=datetime.now())
    if not digests:
        st.info(ctx.t("notify.nobody"))
        return
    keys = list(dict.fromkeys(k for d in digests for k in d.counts))
    ruleset = rules.load(store.path_for(ctx.db_path))
    frame = pl.DataFrame({
        ctx.t("admin.col_username"): [d.username for d in digests],
        ctx.t("notify.col_why"): [ctx.t(f"notify.stream_{d.stream or 'sub'}") for d in digests],
        ctx.t("notify.col_channel"): [ctx.t(f"notify.channel_{d.channel}") for d in digests],
        ctx.t("notify.col_period"): [period_label(d.period, ctx.lang) for d in digests],
        **{ruleset.get(k).title(ctx.lang): [_new_and_now(d.counts.get(k)) for d in digests] for k in keys},
    }, schema_overrides={ruleset.get(k).title(ctx.lang): pl.Utf8 for k in keys})
    st.caption(ctx.t("notify.dry_run_cells"))
    tables.show(ctx, frame, key="notify_dry", title=ctx.t("notify.dry_run"), stem="notification-dry-run")


def _new_and_now(counts: dict | None) -> str | None:
    return None if counts is None else f"{counts['fired']} / {counts['standing']}"


def outbox_table(ctx: Context, path) -> None:
    found = outbox.listing(path)
    st.subheader(ctx.t("notify.outbox", n=found.height))
    if found.is_empty():
        st.caption(ctx.t("notify.outbox_empty"))
        return
    frame = pl.DataFrame({
        ctx.t("notify.col_created"): [str(v)[:16].replace("T", " ") for v in found["created_at"]],
        ctx.t("admin.col_username"): found["username"].to_list(),
        ctx.t("notify.col_channel"): [ctx.t(f"notify.channel_{c}") for c in found["channel"]],
        ctx.t("notify.col_period"): [period_label(p, ctx.lang) for p in found["period"]],
        ctx.t("notify.col_state"): [ctx.t(f"notify.state_{s}") for s in found["state"]],
        ctx.t("notify.col_next"): [datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")
                                   if s not in ("sent", "batched") else ""
                                   for t, s in zip(found["next_attempt_at"], found["state"])],
        ctx.t("notify.col_attempts"): found["attempts"].to_list(),
        ctx.t("notify.col_title"): found["title"].to_list(),
        ctx.t("notify.col_error"): [channels.explain(e, ctx.lang) for e in found["last_error"]],
    })
    tables.show(ctx, frame, key="notify_outbox", title=ctx.t("notify.outbox", n=found.height), stem="outbox")


INBOX_SHOWN = 10


def inbox(ctx: Context) -> None:
    """The signed-in person's latest notices (none in demo mode: nobody is signed in): the unread ones first, each
    with a button that marks it read, then the earlier ones, dimmed, their text behind a popover. The label counts
    the unread ones. Only the person's own messages are listed or marked."""
    if ctx.user.is_demo:
        return
    path = store.path_for(ctx.db_path)
    if not state.exists(path):
        return
    username = ctx.user.username
    found = outbox.inbox(path, username, limit=INBOX_SHOWN)
    if not found:
        return
    n_unread = outbox.unread(path, username)
    label = ctx.t("notify.inbox_unread", n=n_unread) if n_unread else ctx.t("notify.inbox")
    new = [m for m in found if m["read_at"] is None]
    earlier = [m for m in found if m["read_at"] is not None]
    with st.expander(label, icon=":material/notifications:", key="notify_inbox"):
        if n_unread > 1:
            st.button(ctx.t("notify.mark_all", n=n_unread), key="notify_mark_all", icon=":material/done_all:",
                      on_click=outbox.mark_all_read, args=(path, username))
        if not new:
            st.caption(ctx.t("notify.all_read"))
        for m in new:
            st.markdown(f"**{md_escape(m['title'])}**")
            st.caption(md_escape(_when(m["created_at"])))
            _body(m)
            st.button(ctx.t("notify.mark_read"), key=f"notify_read_{m['id']}", icon=":material/done:",
                      on_click=outbox.mark_read, args=(path, username, m["id"]))
            st.divider()
        if earlier:
            st.markdown(f"**{ctx.t('notify.earlier')}**")
        for m in earlier:
            cols = st.columns([4, 1], vertical_alignment="center")
            cols[0].caption(md_escape(f"{_when(m['created_at'])} · {m['title']}"))
            with cols[1].popover(ctx.t("notify.show"), key=f"notify_old_{m['id']}"):
                _body(m)


LONG_BODY = 1500  # characters: a longer digest scrolls in a box of its own, the cockpit below stays in reach


def _body(m: dict) -> None:
    """A message's text without its heading (the title is shown above it): written by analytics/notify/digest.py,
    data text escaped there."""
    body = m["body_markdown"]
    if body.startswith("### "):
        body = body.split("\n", 1)[1] if "\n" in body else ""
    with st.container(height=360 if len(body) > LONG_BODY else "content", border=False):
        st.markdown(body)


def _when(stamp: str) -> str:
    return (stamp or "")[:16].replace("T", " ")


def my_subscriptions(user, names: dict[str, str], lang: str, db_path: str) -> None:
    """The signed-in person's own subscriptions, in a popover of the sidebar's account area: which rules, which
    regions (only within their scope: anything else is refused), which channel, how often, in which language."""
    from analytics import i18n
    from analytics.auth import accounts
    from analytics.auth import store as auth_store
    from analytics.notify import subscriptions as S
    from ui import auth as auth_ui

    if user.is_demo:
        return
    account = accounts.get(auth_store.path_for(db_path), user.username)
    if account is None:
        return
    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    path = store.path_for(db_path)
    ruleset = rules.load(path)
    with st.popover(t("notify.mine"), icon=":material/notifications:"):
        current = {s.channel: s for s in S.effective(path, account)}
        own = any(s.owner.startswith("user:") for s in current.values())
        st.caption(t("notify.mine_own" if own else "notify.mine_default"))
        for s in current.values():
            st.caption(md_escape(f"· {t(f'notify.channel_{s.channel}')} · {t(f'notify.freq_{s.frequency}')} · "
                                 + ", ".join(ruleset.get(k).title(lang) for k in s.rule_keys)))
        channel = st.selectbox(t("notify.col_channel"), S.CHANNELS, key="notify_mine_channel",
                               format_func=lambda c: t(f"notify.channel_{c}"))
        was = current.get(channel) or S.default_for(account.role)[0]
        with st.form("notify_mine_form", border=False):
            keys = st.multiselect(t("notify.col_rule"), list(rules.RULE_KEYS), default=list(was.rule_keys),
                                  format_func=lambda k: ruleset.get(k).title(lang), key="notify_mine_rules")
            codes = sorted(c for c in names if c != "100000" and S.within(c, account.region_codes))
            regions = st.multiselect(t("notify.regions"), codes, default=[c for c in was.region_codes if c in codes],
                                     format_func=lambda c: f"{names.get(c, c)} ({c})", max_selections=20,
                                     placeholder=t("notify.regions_hint"), key="notify_mine_regions")
            frequency = st.selectbox(t("notify.frequency"), S.FREQUENCIES, index=S.FREQUENCIES.index(was.frequency),
                                     format_func=lambda f: t(f"notify.freq_{f}"), key="notify_mine_frequency")
            address = st.text_input(t("notify.address"), value=was.address, max_chars=200,
                                    key="notify_mine_address") \
                if channel == "email" else ""
            language = st.radio(t("notify.lang"), ("zh", "en"), index=("zh", "en").index(account.lang or was.lang),
                                horizontal=True, format_func=lambda x: "中文" if x == "zh" else "English",
                                help=t("notify.lang_help"), key="notify_mine_lang")
            if st.form_submit_button(t("notify.save")):
                sub = S.Subscription("", channel, tuple(keys), tuple(regions), frequency, address.strip(), language)
                try:
                    saved = S.save(path, account, sub, by=account.username)
                except S.SubscriptionError as e:
                    st.error(t(f"notify.err_{e.code}", **{k: md_escape(str(v)) for k, v in e.values.items()}))
                else:
                    if account.lang != language:  # the language of all the person's notices, on every channel
                        accounts.update(auth_store.path_for(db_path), account.username, by=account.username,
                                        lang=language)
                    auth_ui.log(db_path, user, "notify_subscribe", saved.channel, rules=list(saved.rule_keys),
                                regions=list(saved.region_codes), frequency=saved.frequency, lang=language)
                    st.success(t("notify.saved"))
        _owner_optouts(account, ruleset, lang, path, db_path, user)


def _owner_optouts(account, ruleset, lang: str, path, db_path: str, user) -> None:
    """As the owner of items (their lead department, their responsible leader), which rules the person hears of:
    all of them unless they opt out of some; their subscriptions above are not touched."""
    from analytics import i18n
    from analytics.notify import owners
    from ui import auth as auth_ui

    t = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    if not owners.is_owner(account):
        return
    st.divider()
    who = [t("notify.owner_dept", dept=md_escape(account.department)) if account.department else "",
           t("notify.owner_leader", name=md_escape(account.leader_name)) if account.leader_name else ""]
    st.markdown(f"**{t('notify.owner_title')}**")
    st.caption(t("notify.owner_note", who=t("notify.why_sep").join(w for w in who if w)))
    keys = [k for k in owners.OWNER_RULES if account.department or ruleset.get(k).step in owners.LEADER_STEPS]
    off = set(owners.muted(path, account.username))
    with st.form("notify_owner_form", border=False):
        kept = st.multiselect(t("notify.owner_rules"), keys, default=[k for k in keys if k not in off],
                              format_func=lambda k: ruleset.get(k).title(lang), key="notify_owner_rules",
                              placeholder=t("notify.owner_none"))
        if st.form_submit_button(t("notify.owner_save")):
            muted = owners.set_muted(path, account.username, [k for k in keys if k not in kept])
            auth_ui.log(db_path, user, "notify_subscribe", "owner", owner_optout=list(muted))
            st.success(t("notify.saved"))
