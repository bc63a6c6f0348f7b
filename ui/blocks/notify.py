"""Notification blocks: the admin page's tab (the rules in force, the dry run: what each rule would send to whom
now, and the outbox) and the cockpit's inbox of the signed-in person. The logic is analytics.notify's; text from
data is escaped."""
from __future__ import annotations

from datetime import datetime

import polars as pl
import streamlit as st

from analytics.notify import outbox, preview, rules, store
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
        ctx.t("notify.col_params"): [", ".join(f"{k} = {v}" for k, v in r.params) or "—" for r in ruleset.rules],
        ctx.t("notify.col_wording"): [r.text(ctx.lang) for r in ruleset.rules],
    })
    tables.show(ctx, frame, key="notify_rules", title=ctx.t("notify.rules", version=ruleset.version),
                stem="notification-rules", searchable=False)
    dry_run(ctx)
    outbox_table(ctx, path)


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
        ctx.t("notify.col_channel"): [ctx.t(f"notify.channel_{d.channel}") for d in digests],
        ctx.t("notify.col_period"): [d.period for d in digests],
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
        ctx.t("notify.col_period"): found["period"].to_list(),
        ctx.t("notify.col_state"): [ctx.t(f"notify.state_{s}") for s in found["state"]],
        ctx.t("notify.col_attempts"): found["attempts"].to_list(),
        ctx.t("notify.col_error"): found["last_error"].to_list(),
        ctx.t("notify.col_next"): [datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M") if s != "sent" else ""
                                   for t, s in zip(found["next_attempt_at"], found["state"])],
    })
    tables.show(ctx, frame, key="notify_outbox", title=ctx.t("notify.outbox", n=found.height), stem="outbox")


def inbox(ctx: Context) -> None:
    """The signed-in person's latest notices (none in demo mode: nobody is signed in)."""
    if ctx.user.is_demo:
        return
    path = store.path_for(ctx.db_path)
    if not path.is_file():
        return
    found = outbox.inbox(path, ctx.user.username, limit=5)
    if not found:
        return
    with st.expander(ctx.t("notify.inbox", n=len(found)), icon=":material/notifications:"):
        for m in found:
            st.caption(md_escape(m["created_at"][:16].replace("T", " ")))
            st.markdown(m["body_markdown"])  # written by analytics/notify/digest.py, data text escaped there
