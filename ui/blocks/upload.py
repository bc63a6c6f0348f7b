"""The upload page's steps: file → sheets and tables → mapping → problems → preview → commit, and the
version list with rollback. The work is `analytics.ingest`; this module keeps each steward's file in
their own session (never in a cache shared by sessions) and draws the results.

Text from a file (names, headers, cells) is shown only in dataframes or escaped Markdown.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
import streamlit as st

from analytics import contract, i18n, settings
from analytics.ingest import mapping as M
from analytics.db import mappings
from analytics.ingest import pipeline, report
from analytics.db import diff, versions
from analytics.ingest.problems import UploadError

from ui import auth as auth_ui
from ui import page, tables
from ui.context import Context, database

TYPES = ["csv", "txt", "tsv", "xlsx", "xlsm", "xls", "parquet", "zip"]
NOT_LOADED = "—"
STATE = "up_state"  # this session's upload: {"sha": …, "upload": …, "checked": {key: …}}


def may_upload(ctx: Context) -> bool:
    """Whether this user's role may upload (analytics/auth/roles.py); rolling back is `auth_ui.may_roll_back`."""
    return ctx.may("upload")


def who(ctx: Context) -> str:
    """Who an upload or rollback is recorded as: the signed-in account (demo mode: COCKPIT_STEWARD)."""
    return auth_ui.who(ctx, "COCKPIT_STEWARD")


def _esc(text: str) -> str:
    return page.md_escape(text)


def _state() -> dict:
    return st.session_state.setdefault(STATE, {})


def flash(ctx: Context) -> None:
    """The outcome of the last commit or rollback, shown once after the rerun that made it visible."""
    message = st.session_state.pop("up_flash", None)
    if message:
        kind, text = message
        getattr(st, kind)(_esc(text))


def _reset() -> None:
    st.session_state.pop(STATE, None)
    st.session_state["up_nonce"] = st.session_state.get("up_nonce", 0) + 1


def start_guide(ctx: Context) -> None:
    """What to do first on an empty database (just made for the office's home region)."""
    with st.container(border=True):
        st.markdown(f"**{ctx.t('upload.start_title')}**")
        st.markdown(ctx.t("upload.start_steps"))


# ---- 1. the file ------------------------------------------------------------------------------------

def choose_file(ctx: Context) -> tuple[str, bytes] | None:
    st.subheader(ctx.t("upload.step_file"))
    st.caption(ctx.t("upload.file_help", mb=settings.get("COCKPIT_UPLOAD_MAX_MB"),
                     rows=i18n.fmt_int(settings.get("COCKPIT_UPLOAD_MAX_ROWS"), ctx.lang)))
    mb = int(settings.get("COCKPIT_UPLOAD_MAX_MB"))
    _uploader_words(ctx, mb)
    f = st.file_uploader(ctx.t("upload.file_label"), type=TYPES, max_upload_size=mb,
                         key=f"up_file_{st.session_state.get('up_nonce', 0)}")
    if f is None:
        _state().clear()
        return None
    return f.name, f.getvalue()


def _css_string(text: str) -> str:
    """`text` as a CSS string literal (for `content:`)."""
    return '"' + "".join(c if c.isalnum() or c in " .,;:()/·•、，（）-" else f"\\{ord(c):x} " for c in text) + '"'


def _uploader_words(ctx: Context, mb: int) -> None:
    """Streamlit's uploader writes its button ("Upload") and its note ("200MB per file • CSV, …") in English
    only: in Chinese both are replaced, by CSS, with the page's own words (issue 17, point 15)."""
    if ctx.lang == "en":
        return
    button, note = _css_string(ctx.t("upload.button")), _css_string(ctx.t("upload.dropzone_note", mb=mb))
    zone = '[data-testid="stFileUploaderDropzone"]'
    st.html(f"<style>{zone} button [data-testid=\"stMarkdownContainer\"] p {{font-size:0}}"
            f"{zone} button [data-testid=\"stMarkdownContainer\"] p::after {{content:{button};font-size:0.875rem}}"
            f"{zone} [data-testid=\"stFileUploaderDropzoneInstructions\"] span {{font-size:0}}"
            f"{zone} [data-testid=\"stFileUploaderDropzoneInstructions\"] span::after"
            f" {{content:{note};font-size:0.8rem}}</style>")


def read_file(ctx: Context, name: str, data: bytes) -> pipeline.Upload | None:
    state = _state()
    sha = hashlib.sha256(data).hexdigest()
    if state.get("sha") != sha:
        state.clear()
        state["sha"] = sha
        try:
            with st.spinner(ctx.t("upload.reading")):
                state["upload"] = pipeline.read(data, name, strict=False)
        except UploadError as e:
            state["error"] = e
        auth_ui.log(ctx.db_path, ctx.user, "upload", name, sha256=sha, bytes=len(data),
                    error=state["error"].code if "error" in state else None)
    if "error" in state:
        st.error(_esc(state["error"].message(ctx.lang)), icon=":material/block:")
        st.caption(ctx.t("upload.nothing_changed"))
        return None
    up: pipeline.Upload = state["upload"]
    encodings = sorted({p.sheet.encoding for p in up.parts if p.sheet.encoding})
    st.caption(_esc(ctx.t("upload.file_read", name=up.file_name, size=f"{up.size / 1024:,.1f}",
                          sha=up.sha256[:16], n=len(up.parts)))
               + (_esc(" · " + ctx.t("upload.encoding", encoding=", ".join(encodings))) if encodings else ""))
    if up.skipped:
        st.warning(_esc(ctx.t("upload.skipped", files="、".join(up.skipped))))
    return up


# ---- 2. sheets, tables, modes -----------------------------------------------------------------------

def _table_label(ctx: Context, name: str | None) -> str:
    if not name:
        return ctx.t("upload.leave_out")
    t = contract.table(name)
    return f"{t.zh if ctx.lang == 'zh' else t.en} · {t.name}"


def choose_tables(ctx: Context, up: pipeline.Upload) -> tuple[dict[str, str | None], dict[str, str], dict[str, int]]:
    """(sheet → table, table → mode, sheet → header row index the steward moved)."""
    st.subheader(ctx.t("upload.step_tables"))
    options = [None] + [t.name for t in M.uploadable()]
    chosen, modes, header_rows = {}, {}, {}
    for i, part in enumerate(up.parts):
        cols = st.columns([3, 3, 2])
        cols[0].markdown(f"**{_esc(part.sheet.name)}**  \n" + _esc(
            ctx.t("upload.sheet_rows", rows=i18n.fmt_int(part.data_rows, ctx.lang),
                  header=part.sheet.first_row + part.header_index if part.header_index >= 0 else "—")))
        if part.header_index >= 0:
            first = part.sheet.first_row
            row = cols[0].number_input(ctx.t("upload.header_row"), min_value=first,
                                       max_value=first + max(min(part.sheet.cells.height, M.SCAN_ROWS) - 1, 0),
                                       value=first + part.header_index, step=1, key=f"up_header_{i}",
                                       help=ctx.t("upload.header_row_help"))
            if row - first != part.header_index:
                header_rows[part.sheet.name] = int(row - first)
            if not part.recognised:
                cols[0].caption(ctx.t("upload.header_unknown"))
        default = options.index(part.table) if part.table in options else 0
        table = cols[1].selectbox(ctx.t("upload.table_for"), options, index=default, key=f"up_table_{i}",
                                  format_func=lambda n: _table_label(ctx, n))
        chosen[part.sheet.name] = table
        if table:
            mode = cols[2].radio(ctx.t("upload.mode"), ["upsert", "replace"], key=f"up_mode_{i}",
                                 format_func=lambda m: ctx.t(f"upload.mode_{m}"), horizontal=True)
            modes[table] = mode
    if any(chosen.values()):
        st.caption(ctx.t("upload.mode_help"))
    return chosen, modes, header_rows


def effective(up: pipeline.Upload, header_rows: dict[str, int]) -> list[pipeline.Part]:
    """The upload's parts with the header rows the steward chose (the read upload is never changed)."""
    return [pipeline.Part(p.sheet, header_rows.get(p.sheet.name, p.header_index), p.table, p.recognised)
            for p in up.parts]


# ---- 3. mapping ---------------------------------------------------------------------------------------

def _column_label(ctx: Context, table: str, column: str | None) -> str:
    if not column:
        return NOT_LOADED
    c = contract.table(table).column(column)
    return f"{c.zh if ctx.lang == 'zh' else c.en} · {c.name}" + (" *" if c.required else "")


def _saved_mapping(ctx: Context, table: str, key: str) -> dict[str, str | None] | None:
    names = mappings.saved_names(ctx.db_path, table)
    if not names:
        return None
    name = st.selectbox(ctx.t("upload.saved_mapping"), [""] + names, key=f"up_saved_{key}",
                        format_func=lambda n: n or ctx.t("upload.saved_none"))
    if not name:
        return None
    found = mappings.load(ctx.db_path, name)
    return found[1] if found else None


def mapping_screen(ctx: Context, up: pipeline.Upload, chosen: dict[str, str | None],
                   header_rows: dict[str, int]) -> dict[str, dict]:
    """Every header of every chosen sheet with the column it maps to; unknown ones first to decide."""
    st.subheader(ctx.t("upload.step_mapping"))
    out = {}
    for i, part in enumerate(effective(up, header_rows)):
        table = chosen.get(part.sheet.name)
        if not table or part.header_index < 0:
            continue
        saved = _saved_mapping(ctx, table, str(i))
        m = M.map_headers(table, part.headers, saved)
        labels = [_column_label(ctx, table, c) for c in contract.table(table).column_names]
        by_label = {_column_label(ctx, table, c): c for c in contract.table(table).column_names}
        sample = part.sheet.cells.slice(part.header_index + 1, 50)
        examples = []
        for j in range(len(m.headers)):
            col = sample[f"column_{j + 1}"].drop_nulls() if f"column_{j + 1}" in sample.columns else []
            examples.append(str(col[0])[:60] if len(col) else "")
        frame = pl.DataFrame({
            "header": m.headers, "example": examples,
            "column": [_column_label(ctx, table, c) for c in m.columns],
            "how": [ctx.t(f"upload.how_{h}") for h in m.how]})
        with st.expander(_esc(ctx.t("upload.mapping_of", sheet=part.sheet.name, table=_table_label(ctx, table),
                                    unknown=sum(1 for h in m.how if h == "unknown"))),
                         expanded=any(h == "unknown" for h in m.how) or bool(m.missing_required())):
            edited = st.data_editor(
                frame, key=f"up_map_{up.sha256[:12]}_{i}_{table}_{part.header_index}", hide_index=True, width="stretch",
                disabled=["header", "example", "how"],
                column_config={
                    "header": st.column_config.TextColumn(ctx.t("upload.col_header")),
                    "example": st.column_config.TextColumn(ctx.t("upload.example")),
                    "column": st.column_config.SelectboxColumn(ctx.t("upload.col_field"),
                                                               options=[NOT_LOADED] + labels, required=True),
                    "how": st.column_config.TextColumn(ctx.t("upload.how"))})
            choice = {h: by_label.get(c) for h, c in zip(m.headers, edited["column"].to_list()) if h}
            changed = {h: c for h, c, orig in zip(m.headers, [by_label.get(c) for c in edited["column"].to_list()],
                                                  m.columns) if h and c != orig}
            out[part.sheet.name] = ({**(saved or {}), **changed} if (saved or changed) else None)
            _save_mapping_form(ctx, table, choice, f"{i}")
    return out


def _save_mapping_form(ctx: Context, table: str, choice: dict[str, str | None], key: str) -> None:
    left, right = st.columns([3, 1])
    name = left.text_input(ctx.t("upload.save_as"), key=f"up_save_name_{key}", max_chars=80,
                           placeholder=ctx.t("upload.save_placeholder"))
    right.write("")
    if right.button(ctx.t("upload.save"), key=f"up_save_{key}", disabled=not name.strip()):
        mappings.save(ctx.db_path, name, table, choice, who(ctx))
        st.success(_esc(ctx.t("upload.saved", name=name.strip())))


# ---- 4. problems ----------------------------------------------------------------------------------------

def validation(ctx: Context, up: pipeline.Upload, chosen, mappings, modes, header_rows) -> list | None:
    st.subheader(ctx.t("upload.step_problems"))
    state = _state()
    key = (up.sha256, tuple(sorted((k, v or "") for k, v in chosen.items())),
           repr(sorted((k, sorted((v or {}).items(), key=str)) for k, v in mappings.items())),
           tuple(sorted(modes.items())), tuple(sorted(header_rows.items())))
    cache = state.setdefault("checked", {})
    if key not in cache:
        cache.clear()
        bar = st.progress(0.0, text=ctx.t("upload.checking"))
        try:
            cache[key] = pipeline.check(database(ctx.db_path).cursor(), up, chosen, mappings, modes,
                                        progress=lambda f, s: bar.progress(f, text=ctx.t("upload.checking_sheet",
                                                                                         sheet=s)),
                                        header_rows=header_rows)
        except UploadError as e:
            cache[key] = e
        bar.empty()
    result = cache[key]
    if isinstance(result, UploadError):
        st.error(_esc(result.message(ctx.lang)), icon=":material/block:")
        st.caption(ctx.t("upload.nothing_changed"))
        return None
    rows = sum(c.frame.height for c in result)
    show_problems(ctx, up, pipeline.problems(result), rows)
    return result


def show_problems(ctx: Context, up: pipeline.Upload, problems: pl.DataFrame, rows: int) -> None:
    """The checks' outcome: a line that says how many problems, by rule, the report to download, every problem."""
    n_err = int((problems["severity"] == "error").sum())
    n_warn = problems.height - n_err
    if not problems.height:
        st.success(ctx.t("upload.no_problems", rows=i18n.fmt_int(rows, ctx.lang)), icon=":material/check_circle:")
        return
    bad_rows = problems.filter(pl.col("severity") == "error")["row"].drop_nulls().n_unique()
    if n_err:
        st.error(ctx.t("upload.problems_found", errors=i18n.fmt_int(n_err, ctx.lang),
                       warnings=i18n.fmt_int(n_warn, ctx.lang), bad=i18n.fmt_int(bad_rows, ctx.lang),
                       rows=i18n.fmt_int(rows, ctx.lang)), icon=":material/error:")
    else:
        st.info(ctx.t("upload.notes_only", warnings=i18n.fmt_int(n_warn, ctx.lang), rows=i18n.fmt_int(rows, ctx.lang)),
                icon=":material/info:")
    st.markdown(f"**{ctx.t('upload.by_rule')}**")
    tables.grid(_whole_rows(ctx, report.summary(problems, ctx.lang), "col_first_row"), hide_index=True,
                 width="stretch")
    st.download_button(ctx.t("upload.download_report"), on_click="ignore", key="up_report", icon=":material/download:",
                       data=lambda: report.to_xlsx(problems, up.file_name, ctx.lang, ctx.as_of, ctx.version),
                       file_name=f"upload-problems-{up.sha256[:8]}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    # rows stay numbers here, so the table sorts by row (a whole-column problem shows an empty row)
    tables.show(ctx, report.readable(problems, ctx.lang), key="up_problems", title=ctx.t("upload.report_title"),
                stem="upload-problems", shown=500)


def _whole_rows(ctx: Context, frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """A problem of a whole column has no row: say so in words on screen (the report keeps it empty)."""
    col = ctx.t(f"upload.{key}")
    return frame.with_columns(pl.col(col).cast(pl.Utf8).fill_null(ctx.t("upload.whole_column")))


# ---- 5. preview, 6. commit ----------------------------------------------------------------------------

CHANGED_HEIGHT = 420  # px: about a dozen lines, then the table scrolls


@dataclass
class Plan:
    changes: list
    previews: dict


def _on_errors(ctx: Context, n_errors: int) -> bool | None:
    """With errors, the steward's choice: load only the valid rows (True) or reject the file (None: stop here)."""
    if not n_errors:
        return False
    choice = st.radio(ctx.t("upload.on_errors"), ["reject", "valid_only"], key="up_on_errors",
                      format_func=lambda c: ctx.t(f"upload.on_errors_{c}"))
    if choice == "valid_only":
        return True
    st.info(ctx.t("upload.rejected_hint"), icon=":material/block:")
    return None


def preview(ctx: Context, up: pipeline.Upload, checked: list, modes: dict[str, str]) -> Plan | None:
    st.subheader(ctx.t("upload.step_preview"))
    errors = pipeline.problems(checked).filter(pl.col("severity") == "error")
    valid_only = _on_errors(ctx, errors.height)
    if valid_only is None:
        return None
    try:
        changes = pipeline.to_changes(checked, modes, valid_only)
    except UploadError as e:
        st.error(_esc(e.message(ctx.lang)))
        return None
    if auth_ui.upload_refused(ctx, database(ctx.db_path).cursor(), changes):  # a scoped steward's rows only
        return None
    previews = pipeline.preview(database(ctx.db_path).cursor(), changes)
    n = lambda x: i18n.fmt_int(x, ctx.lang)  # noqa: E731
    for ch in changes:
        p = previews[ch.table]
        st.markdown(f"**{_esc(_table_label(ctx, ch.table))}** · {ctx.t(f'upload.mode_{ch.mode}')}")
        cols = st.columns(5)
        cols[0].metric(ctx.t("upload.rows_new"), ctx.t("upload.n_rows", n=n(p.rows_new)))
        cols[1].metric(ctx.t("upload.rows_changed"), ctx.t("upload.n_rows", n=n(p.rows_changed)))
        cols[2].metric(ctx.t("upload.rows_unchanged"), ctx.t("upload.n_rows", n=n(p.rows_unchanged)))
        # what happens to rows the file lacks, in the label itself: upsert keeps them, replace removes them
        cols[3].metric(ctx.t(f"upload.rows_missing_{ch.mode}"), ctx.t("upload.n_rows", n=n(p.rows_missing)),
                       help=ctx.t(f"upload.missing_{ch.mode}"))
        cols[4].metric(ctx.t("upload.rows_rejected"), ctx.t("upload.n_rows", n=n(ch.rejected)))
        st.caption(ctx.t("upload.preview_note", current=n(p.rows_current), version=ctx.version,
                         date=i18n.fmt_date(ctx.as_of, ctx.lang)))
        if p.orphans:
            st.warning(ctx.t("upload.orphans", detail="、".join(f"{t} {n(k)}" for t, k in p.orphans.items())))
        if p.rows_changed:
            changed_rows(ctx, up, ch, p.rows_changed)
        if ch.mode == "replace" and p.missing_sample.height:
            st.markdown(ctx.t("upload.removed_sample"))
            tables.grid(p.missing_sample.head(10), hide_index=True, width="stretch")
    return Plan(changes, previews)


def changed_rows(ctx: Context, up: pipeline.Upload, change, n_changed: int) -> None:
    """Every row the upload changes, before → after: the first diff.SHOWN_CHANGED in a scrollable table (a steward
    checks them all before committing, not a sample), and all of them in a CSV made when asked."""
    db = database(ctx.db_path)
    n = lambda x: i18n.fmt_int(x, ctx.lang)  # noqa: E731
    limit = diff.SHOWN_CHANGED
    shown = pipeline.changed_rows(db.cursor(), change, limit=limit)
    if n_changed > limit:
        st.markdown(ctx.t("upload.changed_some", shown=n(limit), n=n(n_changed)))
    else:
        st.markdown(ctx.t("upload.changed_all", n=n(n_changed)))
    # as Arrow, like ui.tables.show: values from the file stay data in the grid, never Markdown
    tables.grid(report.changes(shown, change.table, ctx.lang).to_arrow(compat_level=pl.CompatLevel.oldest()),
                hide_index=True, width="stretch", height=CHANGED_HEIGHT, key=f"up_changed_{change.table}")
    st.download_button(ctx.t("upload.download_changed", n=n(n_changed)), on_click="ignore",
                       key=f"up_changed_csv_{change.table}", icon=":material/download:",
                       data=lambda: report.changes_csv(pipeline.changed_rows(db.cursor(), change), change.table,
                                                       change.mode, up.file_name, up.sha256, ctx.lang, ctx.as_of,
                                                       ctx.version),
                       file_name=f"upload-changes-{change.table}-{up.sha256[:8]}.csv", mime="text/csv")


def _latest_date(plan: Plan) -> date | None:
    """The latest report date in the upload (the data may reach past the current as-of date)."""
    found = [ch.frame["report_date"].max() for ch in plan.changes if "report_date" in ch.frame.columns]
    found = [d for d in found if d is not None]
    return max(found) if found else None


def commit(ctx: Context, up: pipeline.Upload, plan: Plan) -> None:
    st.subheader(ctx.t("upload.step_commit"))
    if not any(p.changes_anything for p in plan.previews.values()):
        st.info(ctx.t("upload.nothing_to_commit"), icon=":material/check:")
        return
    latest = _latest_date(plan)
    as_of = st.date_input(ctx.t("upload.as_of"), value=ctx.as_of, min_value=ctx.as_of - timedelta(days=366),
                          max_value=max(date.today(), ctx.as_of), key="up_as_of", help=ctx.t("upload.as_of_help"))
    if latest and latest > as_of:
        st.caption(ctx.t("upload.as_of_later", date=i18n.fmt_date(latest, ctx.lang)))
    st.caption(ctx.t("upload.commit_help", who=who(ctx), version=ctx.version + 1))
    if not st.button(ctx.t("upload.commit"), type="primary", key="up_commit", icon=":material/upload:"):
        return
    _commit(ctx, up, plan.changes, as_of, [ch.mode for ch in plan.changes])


def _commit(ctx: Context, up: pipeline.Upload, changes: list, as_of: date, modes: list[str]) -> None:
    """Commit as one data version, record it in the audit log, and show the outcome after the rerun. Served with a
    worker, hand it the commit as a job instead (it commits, audits and publishes; `ui.blocks.jobs.job_panel` follows it)."""
    from ui import context

    if context.reading_snapshots(ctx.db_path):
        from analytics import jobs

        payload, frames = jobs.commit_payload(
            changes, file_name=up.file_name, sha256=up.sha256, as_of=as_of, based_on=ctx.version, modes=modes,
            audit={"sha256": up.sha256, "tables": [ch.table for ch in changes], "modes": modes,
                   "rows": sum(ch.frame.height for ch in changes)})
        job_id = jobs.submit(ctx.db_path, "commit", payload, who=who(ctx), role=ctx.user.role,
                             source=auth_ui.source(), title=up.file_name, frames=frames)
        _queued(ctx, job_id)
        return
    cur = database(ctx.db_path).writer()
    try:
        with st.spinner(ctx.t("upload.committing")):
            out = versions.commit(cur, changes, who=who(ctx), file_name=up.file_name, sha256=up.sha256,
                                  based_on=ctx.version, db_path=ctx.db_path, as_of=as_of)
    except UploadError as e:
        st.error(_esc(e.message(ctx.lang)), icon=":material/block:")
        return
    finally:
        cur.close()
    auth_ui.log(ctx.db_path, ctx.user, "commit", up.file_name, status=out.status, version=out.version,
                based_on=out.based_on, sha256=up.sha256, tables=[ch.table for ch in changes], modes=modes,
                rows=sum(ch.frame.height for ch in changes))
    kind = "success" if out.status == "committed" else "info"
    message = ctx.t(f"upload.cli_{out.status}", version=out.version, based_on=out.based_on)
    if out.status == "committed" and database(ctx.db_path).writable:
        message += " " + ctx.t("upload.retraining")
    st.session_state["up_flash"] = (kind, message)
    st.session_state.pop("up_ledger_date", None)
    _reset()
    st.rerun()


# ---- a monthly ledger (督办台账): recognised by its headers, read whole, matched with the stored items ---------

def ledger_flow(ctx: Context, up: pipeline.Upload) -> None:
    """The ledger's steps: its date, the checks, the preview of matched, new, renamed and missing items, commit."""
    from analytics.db import store
    from analytics.ingest import ledger

    st.subheader(ctx.t("upload.ledger_step"))
    st.caption(_esc(ctx.t("upload.ledger_found", sheet=up.ledger.sheet.name)))
    cur = database(ctx.db_path).cursor()
    home = store.home_region(cur) or "100000"
    state = _state()
    chosen_date = st.session_state.get("up_ledger_date")
    splits = frozenset(state.get("ledger_splits", ()))
    key = (up.sha256, chosen_date, splits, ctx.version)
    if state.get("ledger_key") != key:
        try:
            with st.spinner(ctx.t("upload.checking")):
                state["ledger"] = ledger.read(cur, up.ledger, up.file_name, up.sha256, home, as_of=chosen_date,
                                              splits=splits, scope=ctx.scope)
        except UploadError as e:
            state["ledger"] = e
        state["ledger_key"] = key
    read = state["ledger"]
    if isinstance(read, UploadError):
        st.error(_esc(read.message(ctx.lang)), icon=":material/block:")
        if read.code == "ledger_no_date":
            st.date_input(ctx.t("upload.ledger_date"), value=None, key="up_ledger_date",
                          max_value=date.today() + timedelta(days=31))
        st.caption(ctx.t("upload.nothing_changed"))
        return
    st.markdown(_esc(ctx.t("upload.ledger_summary", title=read.title or read.sheet,
                           date=i18n.fmt_date(read.as_of, ctx.lang), source=ctx.t(f"upload.ledger_from_{read.as_of_from}"),
                           unit=read.unit or "—", n=i18n.fmt_int(len(read.rows), ctx.lang),
                           sections=i18n.fmt_int(len(read.sections), ctx.lang),
                           footer=i18n.fmt_int(read.footer_rows, ctx.lang))))
    st.date_input(ctx.t("upload.ledger_date"), value=read.as_of, key="up_ledger_date",
                  help=ctx.t("upload.ledger_date_help"), max_value=date.today() + timedelta(days=31))
    st.subheader(ctx.t("upload.step_problems"))
    show_problems(ctx, up, read.problems, len(read.rows))
    st.subheader(ctx.t("upload.step_preview"))
    n = lambda x: i18n.fmt_int(x, ctx.lang)  # noqa: E731
    cols = st.columns(4)
    cols[0].metric(ctx.t("upload.ledger_matched"), n(read.count("matched")))
    cols[1].metric(ctx.t("upload.ledger_new"), n(read.count("new") + read.count("split")))
    cols[2].metric(ctx.t("upload.ledger_renamed"), n(read.count("renamed")), help=ctx.t("upload.ledger_renamed_help"))
    cols[3].metric(ctx.t("upload.ledger_missing"), n(read.missing.height), help=ctx.t("upload.ledger_missing_help"))
    _ledger_renames(ctx, read)
    new = [m for m in read.matches if m.how in ("new", "split")]
    if new:
        with st.expander(ctx.t("upload.ledger_new_list", n=n(len(new)))):
            tables.grid(pl.DataFrame({ctx.t("upload.col_row"): [m.row for m in new],
                                       ctx.t("upload.ledger_col_name"): [m.name for m in new],
                                       ctx.t("upload.ledger_col_lead"): [m.lead_dept for m in new]}),
                         hide_index=True, width="stretch")
    if read.missing.height:
        with st.expander(ctx.t("upload.ledger_missing_list", n=n(read.missing.height))):
            tables.grid(read.missing.select(pl.col("project_id").alias(ctx.t("upload.key")),
                                             pl.col("name").alias(ctx.t("upload.ledger_col_name")),
                                             pl.col("lead_dept").alias(ctx.t("upload.ledger_col_lead"))),
                         hide_index=True, width="stretch")
    valid_only = _on_errors(ctx, read.errors)
    if valid_only is None:
        return
    try:
        changes = ledger.to_changes(read, valid_only)
    except UploadError as e:
        st.error(_esc(e.message(ctx.lang)))
        return
    if auth_ui.upload_refused(ctx, cur, changes):
        return
    previews = pipeline.preview(cur, changes)
    if not any(p.changes_anything for p in previews.values()):
        st.info(ctx.t("upload.nothing_to_commit"), icon=":material/check:")
        return
    st.subheader(ctx.t("upload.step_commit"))
    st.caption(ctx.t("upload.ledger_commit_help", who=who(ctx), version=ctx.version + 1,
                     date=i18n.fmt_date(read.as_of, ctx.lang)))
    if not st.button(ctx.t("upload.commit"), type="primary", key="up_commit", icon=":material/upload:"):
        return
    _commit(ctx, up, changes, read.as_of, ["ledger"])


def _ledger_renames(ctx: Context, read) -> None:
    """Rows matched to a stored item by a close name: the steward confirms each, or splits it into a new item."""
    renamed = [m for m in read.matches if m.how in ("renamed", "split") and (m.old_name or m.how == "split")]
    proposals = _state().setdefault("ledger_proposals", {})
    for m in renamed:
        if m.how == "renamed":
            proposals[m.name] = (m.row, m.old_name, m.project_id, m.similarity)
    shown = [(name, *proposals[name]) for name in sorted(proposals, key=lambda k: proposals[k][0])
             if any(x.name == name for x in renamed)]
    if not shown:
        return
    st.markdown(f"**{ctx.t('upload.ledger_confirm')}**")
    st.caption(ctx.t("upload.ledger_confirm_help"))
    splits = set(_state().get("ledger_splits", ()))
    frame = pl.DataFrame({
        "same": [name not in splits for name, *_ in shown],
        "row": [row for _, row, *_ in shown],
        "name": [name for name, *_ in shown],
        "was": [old for _, _, old, *_ in shown],
        "id": [pid for *_, pid, _ in shown],
        "similarity": [sim for *_, sim in shown],
    })
    edited = st.data_editor(frame, hide_index=True, width="stretch", key="up_ledger_renames",
                            disabled=["row", "name", "was", "id", "similarity"],
                            column_config={"same": st.column_config.CheckboxColumn(ctx.t("upload.ledger_col_same")),
                                           "row": ctx.t("upload.col_row"), "name": ctx.t("upload.ledger_col_name"),
                                           "was": ctx.t("upload.ledger_col_was"), "id": ctx.t("upload.key"),
                                           "similarity": st.column_config.NumberColumn(
                                               ctx.t("upload.ledger_col_similarity"), format="%.2f")})
    wanted = {r["name"] for r in edited.iter_rows(named=True) if not r["same"]} if isinstance(edited, pl.DataFrame) \
        else {r["name"] for r in edited.to_dict("records") if not r["same"]}
    if wanted != splits:
        _state()["ledger_splits"] = sorted(wanted)
        st.rerun()


# ---- versions -----------------------------------------------------------------------------------------

def version_list(ctx: Context) -> None:
    st.subheader(ctx.t("upload.versions"))
    db = database(ctx.db_path)
    h = versions.history(db.cursor())
    n = lambda x: "" if x is None else i18n.fmt_int(x, ctx.lang)  # noqa: E731
    shown = pl.DataFrame({
        ctx.t("upload.v_version"): [f"v{v}" for v in h["version"]],
        ctx.t("upload.v_state"): [ctx.t("upload.v_current") if c else "" for c in h["current"]],
        ctx.t("upload.v_when"): h["created_at"].dt.strftime("%Y-%m-%d %H:%M").to_list(),
        ctx.t("upload.v_who"): h["created_by"].to_list(),
        ctx.t("upload.v_kind"): [ctx.t(f"upload.kind_{k}") if i18n.has(f"upload.kind_{k}", ctx.lang) else k
                                 for k in h["kind"]],
        ctx.t("upload.v_file"): [f or i18n.source_label(s, ctx.lang) for f, s in zip(h["file_name"], h["source"])],
        ctx.t("upload.v_sha"): [(s or "")[:12] for s in h["sha256"]],
        ctx.t("upload.v_tables"): [t or "" for t in h["table_names"]],
        ctx.t("upload.v_mode"): [ctx.t(f"upload.mode_{m}") if m in ("upsert", "replace") else (m or "")
                                 for m in h["mode"]],
        ctx.t("upload.v_counts"): [f"+{n(a)} ~{n(b)} ={n(c)} −{n(d)}" if a is not None else ""
                                   for a, b, c, d in zip(h["rows_new"], h["rows_changed"], h["rows_unchanged"],
                                                         h["rows_removed"])],
        ctx.t("upload.v_rejected"): [n(r) for r in h["rows_rejected"]],
        ctx.t("upload.v_based_on"): [f"v{b}" if b is not None else "" for b in h["based_on"]],
        ctx.t("upload.v_as_of"): [i18n.fmt_date(d, ctx.lang) for d in h["as_of"]],
        ctx.t("upload.v_restorable"): [ctx.t("upload.yes") if r else ctx.t("upload.no") for r in h["restorable"]],
    })
    st.caption(ctx.t("upload.versions_help", keep=settings.get("COCKPIT_KEEP_VERSIONS")))
    tables.grid(shown, hide_index=True, width="stretch")
    targets = [v for v, ok in zip(h["version"], h["restorable"]) if ok]
    if not targets or not may_upload(ctx):
        st.caption(ctx.t("upload.no_restorable"))
        return
    if not auth_ui.may_roll_back(ctx):
        st.caption(ctx.t("auth.no_rollback"))
        return
    labels = dict(zip(h["version"], shown[ctx.t("upload.v_file")]))
    current = h.filter(pl.col("current"))["version"][0]
    cols = st.columns([3, 2, 2])
    target = cols[0].selectbox(ctx.t("upload.restore_to"), targets, key="up_restore_to",
                               format_func=lambda v: f"v{v} · {labels.get(v, '')}"
                               + (" · " + ctx.t("upload.earlier") if v < current else ""))
    sure = cols[1].checkbox(ctx.t("upload.restore_sure", version=target), key="up_restore_sure")
    from ui import context

    by_job = context.reading_snapshots(ctx.db_path)
    if cols[2].button(ctx.t("upload.restore"), key="up_restore",
                      disabled=not sure or not (by_job or database(ctx.db_path).writable)):
        if by_job:
            from analytics import jobs

            _queued(ctx, jobs.submit(ctx.db_path, "restore", {"target": int(target)}, who=who(ctx),
                                     role=ctx.user.role, source=auth_ui.source(), title=f"v{target}"))
            return
        cur = database(ctx.db_path).writer()
        try:
            with st.spinner(ctx.t("upload.restoring")):
                out = versions.restore(cur, int(target), who=who(ctx), db_path=ctx.db_path)
        except UploadError as e:
            st.error(_esc(e.message(ctx.lang)))
            return
        finally:
            cur.close()
        auth_ui.log(ctx.db_path, ctx.user, "rollback", f"v{target}", status=out.status, version=out.version,
                    based_on=out.based_on)
        st.session_state["up_flash"] = ("success" if out.status == "restored" else "info",
                                        ctx.t(f"upload.cli_{out.status}", version=out.version, based_on=out.based_on))
        for k in ("up_restore_sure", "up_restore_to"):  # a second restore needs a second decision
            st.session_state.pop(k, None)
        st.rerun()


# ---- served with a worker: commits and restores are its jobs (analytics/jobs.py, analytics/worker.py) -----------

def _queued(ctx: Context, job_id: int) -> None:
    from ui.blocks.jobs import MY_JOBS

    st.session_state.setdefault(MY_JOBS, []).append(job_id)
    st.session_state["up_flash"] = ("info", ctx.t("upload.job_queued", job=job_id))
    st.session_state.pop("up_ledger_date", None)
    for k in ("up_restore_sure", "up_restore_to"):
        st.session_state.pop(k, None)
    _reset()
    st.rerun()
