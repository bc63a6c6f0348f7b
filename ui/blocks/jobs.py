"""Served with a worker (issue 18): the upload page's panel of the worker's jobs (analytics/jobs.py,
analytics/worker.py): whether a worker runs, the state of this session's commits and restores, followed until they
end (the steward may leave and come back), and the queue's newest jobs with retry for a failed one. The upload
page queues them (ui/blocks/upload.py `_queued`)."""
from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import i18n
from ui import page, tables
from ui.context import Context

MY_JOBS = "up_jobs"  # the jobs this session queued, newest last


def _esc(text: str) -> str:
    return page.md_escape(text)


def _step(ctx: Context, progress: str | None) -> str:
    """The worker's step ("committing", "restoring v3", "scoring", "publishing": analytics/worker.py) in the reader's
    language; anything else as the worker wrote it."""
    import re

    m = re.fullmatch(r"([a-z]+)(?: v(\d+))?", progress or "")
    if m and i18n.has(f"upload.job_step_{m.group(1)}", ctx.lang):
        return ctx.t(f"upload.job_step_{m.group(1)}", version=m.group(2))
    return progress or "…"


def _job_line(ctx: Context, job) -> tuple[str, str]:
    """(kind of message, text) for one job's state, in the reader's language."""
    from analytics import jobs

    if job.state == "queued":
        return "info", ctx.t("upload.job_waiting", job=job.id, ahead=jobs.ahead_of(ctx.db_path, job.id))
    if job.state == "running":
        return "info", ctx.t("upload.job_running", job=job.id, progress=_step(ctx, job.progress))
    if job.state == "failed":
        reason = ((job.result or {}).get("error") or {}).get(ctx.lang) or job.error or ""
        return "error", ctx.t("upload.job_failed", job=job.id, reason=reason)
    r = job.result or {}
    status = r.get("status", "")
    message = (ctx.t(f"upload.cli_{status}", version=r.get("version"), based_on=r.get("based_on"))
               if i18n.has(f"upload.cli_{status}", ctx.lang) else status)
    return "success", ctx.t("upload.job_done", job=job.id, message=message)


def job_panel(ctx: Context) -> None:
    """Served with a worker: whether it runs, the state of this session's jobs (followed until they end, so the
    steward may leave and come back), and the queue's newest jobs with retry for a failed one."""
    from ui import context

    if not context.reading_snapshots(ctx.db_path):
        return

    seen = st.session_state.setdefault("_up_jobs_seen", set())
    now = _mine(ctx)
    seen |= {j.id for j in now if j.state in ("done", "failed")}  # this full run shows them as they are

    @st.fragment(run_every=1.5 if any(j.state in ("queued", "running") for j in now) else None)
    def follow() -> None:
        from analytics import jobs, worker

        if not worker.alive(ctx.db_path):
            st.warning(_esc(ctx.t("upload.job_no_worker")), icon=":material/pending:")
        mine = _mine(ctx)
        for job in mine:
            kind, text = _job_line(ctx, job)
            getattr(st, kind)(_esc(text))
            if job.state == "failed" and st.button(ctx.t("upload.job_retry", job=job.id), key=f"up_retry_{job.id}"):
                jobs.retry(ctx.db_path, job.id)
                st.rerun(scope="app")
        ended = {j.id for j in mine if j.state in ("done", "failed")}
        if ended - seen:  # the worker published the new version (or said why not): the whole page shows it now
            seen.update(ended)
            st.rerun(scope="app")

    follow()
    _job_table(ctx)


def _mine(ctx: Context) -> list:
    """This session's three newest jobs."""
    from analytics import jobs

    return [j for j in (jobs.get(ctx.db_path, i) for i in st.session_state.get(MY_JOBS, [])[-3:]) if j is not None]


def _job_table(ctx: Context) -> None:
    from datetime import datetime

    from analytics import jobs

    listed = jobs.listing(ctx.db_path, limit=20)
    with st.expander(ctx.t("upload.jobs_title"), expanded=False):
        if not listed:
            st.caption(ctx.t("upload.jobs_none"))
            return
        tables.grid(pl.DataFrame({
            ctx.t("upload.job_col_id"): [j.id for j in listed],
            ctx.t("upload.job_col_kind"): [ctx.t(f"upload.job_kind_{j.kind}") for j in listed],
            ctx.t("upload.job_col_title"): [j.title for j in listed],
            ctx.t("upload.job_col_by"): [j.submitted_by for j in listed],
            ctx.t("upload.job_col_when"): [datetime.fromtimestamp(j.submitted_at).strftime("%Y-%m-%d %H:%M:%S")
                                           for j in listed],
            ctx.t("upload.job_col_state"): [ctx.t(f"upload.job_state_{j.state}") for j in listed],
            ctx.t("upload.job_col_result"): [_job_line(ctx, j)[1] if j.state in ("done", "failed") else ""
                                             for j in listed],
        }), hide_index=True, width="stretch")
