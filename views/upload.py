"""数据上传 / Data upload: file → sheets and tables → mapping → problems → preview → commit; versions."""
import streamlit as st

from ui import context, page
from ui.blocks import jobs as jobs_panel
from ui.blocks import upload as blocks

ctx = context.current()
page.header(ctx, "nav.upload")
st.write(ctx.t("upload.intro"))
blocks.flash(ctx)
jobs_panel.job_panel(ctx)  # served with a worker: its state and this steward's queued commits
db = context.database(ctx.db_path)

if not blocks.may_upload(ctx):
    st.info(ctx.t("upload.not_allowed"), icon=":material/lock:")
elif not db.writable and not context.reading_snapshots(ctx.db_path):  # served with a worker: commits are its jobs
    # the reason in a steward's words; the setting or the database's own message only for the administrator
    why = "upload.read_only_locked" if db.read_only_reason else "upload.read_only_configured"
    st.warning(page.md_escape(ctx.t("upload.err_read_only", reason=ctx.t(why))), icon=":material/lock:")
    with st.expander(ctx.t("upload.read_only_details")):
        st.code(db.read_only_reason or "COCKPIT_DB_WRITABLE=0 (docs/deployment.md)", language=None)
else:
    if not any(context.table_rows(ctx.db_path, ctx.version).values()):  # an empty database: how to start
        blocks.start_guide(ctx)
    picked = blocks.choose_file(ctx)
    upload = blocks.read_file(ctx, *picked) if picked else None
    if upload is not None and upload.ledger is not None:
        blocks.ledger_flow(ctx, upload)  # a monthly 督办台账: recognised by its headers
    elif upload is not None:
        chosen, modes, header_rows = blocks.choose_tables(ctx, upload)
        if not any(chosen.values()):
            st.info(ctx.t("upload.choose_a_table"))
        else:
            mappings = blocks.mapping_screen(ctx, upload, chosen, header_rows)
            checked = blocks.validation(ctx, upload, chosen, mappings, modes, header_rows)
            plan = blocks.preview(ctx, upload, checked, modes) if checked else None
            if plan is not None:
                blocks.commit(ctx, upload, plan)

st.divider()
blocks.version_list(ctx)
