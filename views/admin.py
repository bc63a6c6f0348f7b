"""账号与审计 / Accounts & audit: who may sign in with which role and scope, and the tamper-evident log."""
import streamlit as st

from analytics.auth import store
from ui.blocks import admin as blocks
from ui.blocks import notify as notify_blocks
from ui import auth as auth_ui
from ui import context, page

ctx = context.current()
page.header(ctx, "nav.admin")
path = store.path_for(ctx.db_path)
blocks.flash()

if ctx.user.is_demo:
    st.info(ctx.t("admin.demo_intro"), icon=":material/lock_open:")
    st.code("python -m analytics users add admin --role admin --db " + ctx.db_path
            + "\n# " + ctx.t("admin.demo_then"), language="bash")
if auth_ui.may_manage_users(ctx):
    users_tab, audit_tab, notify_tab = st.tabs([ctx.t("admin.tab_users"), ctx.t("admin.tab_audit"),
                                                ctx.t("notify.tab")])
    with users_tab:
        blocks.users(ctx, path)
    with audit_tab:
        blocks.audit_log(ctx, path)
    with notify_tab:
        notify_blocks.admin_tab(ctx)
elif auth_ui.may_read_audit(ctx):
    blocks.audit_log(ctx, path)
else:  # a scoped administrator: accounts and the log are national business
    st.info(ctx.t("auth.no_manage_scoped"), icon=":material/lock:")
