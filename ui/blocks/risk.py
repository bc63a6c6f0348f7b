"""The risk page's parts: background training with progress, the flagged items, flags by region, the
model card. Data comes from `analytics.risk.page` through `ctx.block("risk", ...)`; nothing here
computes a metric."""
from __future__ import annotations

import time
from datetime import date, datetime, timedelta

import polars as pl
import streamlit as st

from analytics import i18n
from analytics.figures import risk as risk_figures
from analytics.risk import jobs, scores
from analytics.risk import model as risk_model
from analytics.pages import risk as risk_page

from ui import auth as auth_ui
from ui import charts, context, tables
from ui.context import Context
from ui.page import md_escape

_SEEN = "_risk_job_seen"  # session key: the finished job this session has already announced
ANNOUNCE_FOR = timedelta(minutes=15)  # a finished training is announced to sessions opened this soon after
_CLEARED: set = set()  # finished jobs whose new model has replaced the cached one (shared by sessions)


# ---- training in the background ----------------------------------------------------------------

def start_training(ctx: Context) -> None:
    if context.reading_snapshots(ctx.db_path):  # served: the worker trains (issue 18), never an app process
        from analytics import jobs as queue

        pending = [j for j in queue.listing(ctx.db_path, limit=20) if j.kind == "retrain" and j.state in
                   ("queued", "running")]
        if pending:
            st.toast(ctx.t("risk_model.busy"))
            return
        job_id = queue.submit(ctx.db_path, "retrain", {}, who=auth_ui.who(ctx, "COCKPIT_STEWARD"),
                              role=ctx.user.role, source=auth_ui.source(), title="slip-risk model")
        auth_ui.log(ctx.db_path, ctx.user, "retrain", "slip-risk model", data_version=ctx.version, job=job_id)
        st.toast(ctx.t("risk_model.queued", job=job_id))
        return
    # the job's thread gets a cursor of its own (Database.cursor is per thread): sharing this script thread's
    # cursor made the page's next query fail with "connection is busy with another call"
    _, started = jobs.start(ctx.db_path, context.database(ctx.db_path).cursor)
    if started:
        auth_ui.log(ctx.db_path, ctx.user, "retrain", "slip-risk model", data_version=ctx.version)
    st.session_state[_SEEN] = None  # announce this job's end in this session
    st.toast(ctx.t("risk_model.started") if started else ctx.t("risk_model.busy"))


def training_status(ctx: Context) -> None:
    """While a training of this database runs: its progress, refreshed every second in a fragment (the rest
    of the page stays usable). When it has finished: say so once, and drop the cached model."""
    if context.reading_snapshots(ctx.db_path):
        _worker_training(ctx)
        return
    job = jobs.current(ctx.db_path)
    if job is None:
        return
    if not job.done:
        _progress(ctx)
        return
    if not job.error and job.started_at not in _CLEARED:  # once per finished job in this server process:
        context.risk_model.clear()  # the item pages' cached model and risks are of the old model
        context.item_risk.clear()
        _CLEARED.add(job.started_at)
    if st.session_state.get(_SEEN) == job.started_at or datetime.now() - job.finished_at > ANNOUNCE_FOR:
        return  # announced to this session already, or long ago
    st.session_state[_SEEN] = job.started_at
    if job.error:
        st.error(ctx.t("risk_model.failed", error=job.error))
    else:
        st.success(ctx.t("risk_model.ready", seconds=f"{job.seconds:.0f}"), icon=":material/check_circle:")


def _worker_training(ctx: Context) -> None:
    """Served: the newest retraining job the worker runs or ran (the model cache follows its saved scores)."""
    from analytics import jobs as queue

    found = [j for j in queue.listing(ctx.db_path, limit=20) if j.kind == "retrain"]
    if not found:
        return
    job = found[0]
    if job.state in ("queued", "running"):
        _worker_progress(ctx, job.id)
    elif job.state == "failed" and st.session_state.get(_SEEN) != ("job", job.id):
        st.session_state[_SEEN] = ("job", job.id)
        st.error(ctx.t("risk_model.failed", error=job.error or ""))
    elif job.state == "done" and st.session_state.get(_SEEN) != ("job", job.id) and \
            time.time() - (job.finished_at or 0) < ANNOUNCE_FOR.total_seconds():
        st.session_state[_SEEN] = ("job", job.id)
        st.success(ctx.t("risk_model.ready", seconds=f"{(job.result or {}).get('seconds', 0):.0f}"),
                   icon=":material/check_circle:")


@st.fragment(run_every=1.0)
def _worker_progress(ctx: Context, job_id: int) -> None:
    from analytics import jobs as queue

    job = queue.get(ctx.db_path, job_id)
    if job is None or job.state in ("done", "failed"):
        st.rerun()
    import re

    m = re.fullmatch(r"(\w+) (\d+)%", job.progress or "")  # the worker's "<stage> <share>%" (analytics/worker.py)
    progress = (f"{ctx.t(f'risk_model.stage_{m.group(1)}')} {m.group(2)}%"
                if m and i18n.has(f"risk_model.stage_{m.group(1)}", ctx.lang) else "…")
    st.info(ctx.t("risk_model.queued_state", job=job.id, state=ctx.t(f"upload.job_state_{job.state}"),
                  progress=progress), icon=":material/model_training:")


@st.fragment(run_every=1.0)
def _progress(ctx: Context) -> None:
    job = jobs.current(ctx.db_path)
    if job is None or job.done:
        st.rerun()  # the whole page: it now shows the new model (or the error)
    with st.status(ctx.t("risk_model.running", stage=ctx.t(f"risk_model.stage_{job.stage}"),
                         pct=i18n.fmt_pct(job.share, ctx.lang, 0),
                         seconds=f"{time.time() - job.started_at.timestamp():.0f}"), state="running",
                   expanded=True):
        st.progress(job.share)


def history_short(ctx: Context) -> bool:
    """Say how much reporting history training needs and how much there is, when there is too little (an office a
    few ledgers in); True when it was too little."""
    h = risk_model.history(context.database(ctx.db_path).cursor())
    if h.enough:
        return False
    first = i18n.fmt_date(h.first_report, ctx.lang) if h.first_report else "—"
    st.info(ctx.t("risk.needs_history", needed=h.months_needed, have=h.months, days=h.horizon_days, first=first,
                  as_of=i18n.fmt_date(h.as_of, ctx.lang)), icon=":material/history:")
    return True


def retrain_button(ctx: Context, *, primary: bool = False, key: str = "risk_retrain") -> None:
    if not ctx.may("retrain"):  # analysts and administrators (analytics/auth/roles.py)
        st.caption(ctx.t("auth.no_retrain"))
        return
    running = (job := jobs.current(ctx.db_path)) is not None and not job.done
    if st.button(ctx.t("risk.train") if primary else ctx.t("risk_model.retrain"), key=key,
                 type="primary" if primary else "secondary", disabled=running, help=ctx.t("risk_model.retrain_help")):
        start_training(ctx)
        st.rerun()


# ---- what the model says --------------------------------------------------------------------------

def _trained_when(ctx: Context, meta: dict) -> str:
    """When the model was trained, as the reader writes a date and time ("2026年12月4日 12:44" / "4 Dec 2026 12:44")."""
    stamp = meta["trained_at"].replace("T", " ")
    try:
        return f"{i18n.fmt_date(date.fromisoformat(stamp[:10]), ctx.lang)} {stamp[11:16]}".strip()
    except ValueError:
        return stamp[:16]


def model_line(ctx: Context, meta: dict) -> None:
    """The leader's line: when the model was trained, on data as of when, how many items it scored, the bands. How
    it was trained (rows, snapshots, seconds, the data version) is for analysts: the model card tab."""
    st.caption(ctx.t("risk_model.model_line", when=_trained_when(ctx, meta),
                     as_of=i18n.fmt_date(_date(meta["data_as_of"]), ctx.lang),
                     n=i18n.fmt_int(meta.get("n_scored"), ctx.lang))
               + _sample_note(ctx, meta) + _scored_earlier(ctx, meta)
               + "  \n" + ctx.t("risk_model.bands", high=_share(meta, "high"), medium=_share(meta, "medium")))


def _scored_earlier(ctx: Context, meta: dict) -> str:
    """The `risk_model.scored_earlier` sentence when an earlier version's model scored this version right after a
    commit (`risk.jobs.score_with_latest`), else ''."""
    scored = meta.get("scored_version")
    if scored is None or scored == meta.get("data_version"):
        return ""
    return (" " if ctx.lang == "en" else "") + ctx.t("risk_model.scored_earlier", version=scored,
                                                     trained=meta.get("data_version"),
                                                     as_of=i18n.fmt_date(_date(meta["scored_as_of"]), ctx.lang))


def training_line(ctx: Context, meta: dict) -> str:
    snapshots = ctx.t(f"risk_model.snapshots_{meta.get('snapshots') or 'grid'}")
    return ctx.t("risk_model.training_line", version=meta["data_version"],
                 rows=i18n.fmt_int(meta["n_rows"], ctx.lang), snapshots=snapshots,
                 seconds=meta.get("train_seconds", meta.get("fit_seconds", "—")),
                 n=i18n.fmt_int(meta.get("n_scored"), ctx.lang), score_seconds=meta.get("score_seconds", "—"))


def _sample_note(ctx: Context, meta: dict) -> str:
    """The `risk_model.sampled` sentence when the training rows were capped (COCKPIT_RISK_MAX_TRAIN_ROWS), else ''."""
    if not meta.get("rows_before_sampling"):
        return ""
    return ("" if ctx.lang == "zh" else " ") + ctx.t("risk_model.sampled", rows=i18n.fmt_int(meta["n_rows"], ctx.lang),
                       all=i18n.fmt_int(meta["rows_before_sampling"], ctx.lang))


def _share(meta: dict, band: str) -> str:
    value = (meta.get("bands") or {}).get(band, dict(risk_model.BANDS)[band])
    return f"{value:g}"


def _date(text: str) -> date:
    return date.fromisoformat(text)


def _finish(ctx: Context, when, beyond) -> str:
    """A forecast finish date, or "after <date>" when the history cannot tell a later one."""
    if when is None:
        return "—"
    shown = i18n.fmt_date(when, ctx.lang)
    return ctx.t("risk.later_than", date=shown) if beyond else shown


SORTS = ("probability", "p80_late")


def items_table(ctx: Context, flagged: pl.DataFrame) -> None:
    names = dict(ctx.query("region_options").select("region_code", "name").iter_rows())
    light_word = {"red": ctx.t("lights.red"), "yellow": ctx.t("lights.yellow"), "green": ctx.t("lights.green"),
                  "none": ctx.t("lights.none")}
    has_forecast = flagged["p50_date"].is_not_null().any()
    if has_forecast:
        order = st.segmented_control(ctx.t("risk.sort"), SORTS, default=SORTS[0], key="risk_sort",
                                     format_func=lambda k: ctx.t(f"risk.sort_{k}")) or SORTS[0]
        if order == "p80_late":  # the whole list, not only the rows on screen: latest against plan first
            flagged = flagged.sort(["p80_late_days", "probability", "project_id"], descending=[True, True, False],
                                   nulls_last=True)
    rows = list(flagged.iter_rows(named=True))
    text = {
        ctx.t("risk.item"): [r["name"] for r in rows],
        ctx.t("risk.probability"): [i18n.fmt_pct(r["probability"], ctx.lang) for r in rows],
        ctx.t("risk.band"): [ctx.t(f"risk.{r['band']}") for r in rows],
    }
    if has_forecast:  # when, beside how likely: on screen at 1280 px with the reasons
        text[ctx.t("risk.p80")] = [_finish(ctx, r["p80_date"], r["p80_beyond"]) for r in rows]
    # why, next to how likely: the reasons were the last of nine columns, off the screen at 1280 px
    text[ctx.t("risk.reasons")] = [scores.reasons_text(r["top_reasons"], ctx.lang) for r in rows]
    if has_forecast:
        text |= {ctx.t("risk.p50"): [_finish(ctx, r["p50_date"], r["p50_beyond"]) for r in rows],
                 ctx.t("risk.p_by_deadline"): [i18n.fmt_pct(r["p_by_deadline"], ctx.lang) for r in rows]}
    text |= {
        ctx.t("risk.light"): [light_word.get(r["light"], "—") for r in rows],
        ctx.t("risk.region"): [i18n.glossary("province", names.get(r["region_code"], r["region_code"]), ctx.lang)
                               for r in rows],
        ctx.t("risk.dept"): [i18n.glossary("dept", r["lead_dept"], ctx.lang) for r in rows],
        ctx.t("risk.planned_end"): [i18n.fmt_date(r["planned_end_date"], ctx.lang) for r in rows],
    }
    table = pl.DataFrame(text, schema={k: pl.Utf8 for k in text})
    if has_forecast:  # a number, so the grid sorts it as one (beyond: at least this late)
        table = table.with_columns(pl.Series(ctx.t("risk.p80_late"), [r["p80_late_days"] for r in rows], dtype=pl.Int64))
    table = table.with_columns(  # last: the name says which item; the ID is for lookups
        pl.Series(ctx.t("item.id"), [r["project_id"] for r in rows], dtype=pl.Utf8))
    tables.show(ctx, table, key="risk", title=ctx.t("risk.title"), stem="slip-risk", item_column=ctx.t("item.id"),
                shown=300, height=460, wrap=ctx.t("risk.reasons"))
    st.caption(ctx.t("risk.forecast_note") if has_forecast else ctx.t("risk.forecast_none"))


QUARTERS = (91, 182, 273, 364)  # days ahead of the table under the S-curve


def portfolio(ctx: Context, data: risk_page.RiskPage) -> None:
    """The selection's items in flight as one portfolio: how many the plan finishes by each date against how many
    are expected to finish, with the band from 80 % to 50 % sure (issue 21)."""
    frame = data.s_curve
    if frame is None or frame.is_empty():
        st.info(ctx.t("risk.forecast_none"))
        return
    lang = ctx.lang
    n = int(frame["n"][0])
    st.subheader(ctx.t("risk.s_title", n=i18n.fmt_int(n, lang), date=i18n.fmt_date(frame["date"][0], lang)))
    labels = {"title": "", "y": ctx.t("risk.s_y"), "planned": ctx.t("risk.s_planned"),
              "expected": ctx.t("risk.s_expected"), "sure50": ctx.t("risk.s_sure50"), "sure80": ctx.t("risk.s_sure80"),
              "total": ctx.t("risk.s_total")}
    charts.show(risk_figures.s_curve(frame, labels, ctx.lang), key="risk_s_curve", lang=ctx.lang)
    step = (frame["date"][1] - frame["date"][0]).days if frame.height > 1 else 14
    picks = sorted({min(frame.height - 1, round(d / step)) for d in QUARTERS})
    rows = frame[picks]
    share = lambda v: i18n.fmt_pct(v / n if n else None, lang, 0)  # noqa: E731
    tables.grid(pl.DataFrame({
        ctx.t("risk.s_date"): [i18n.fmt_date(d, lang) for d in rows["date"]],
        ctx.t("risk.s_planned"): [f"{i18n.fmt_int(v, lang)}（{share(v)}）" if lang == "zh" else
                                  f"{i18n.fmt_int(v, lang)} ({share(v)})" for v in rows["planned"]],
        ctx.t("risk.s_expected"): [f"{i18n.fmt_int(round(v), lang)}（{share(v)}）" if lang == "zh" else
                                   f"{i18n.fmt_int(round(v), lang)} ({share(v)})" for v in rows["expected"]],
        ctx.t("risk.s_band"): [f"{i18n.fmt_int(lo, lang)} – {i18n.fmt_int(hi, lang)}"
                               for lo, hi in zip(rows["sure80"], rows["sure50"])],
    }), hide_index=True, width="stretch")
    st.caption(ctx.t("risk.s_note", n=i18n.fmt_int(n, lang)))


def regions_table(ctx: Context, data: risk_page.RiskPage) -> None:
    if data.level is None:
        st.info(ctx.t("risk_model.regions_none"))
        return
    frame = data.regions
    if frame is None or frame.is_empty():
        st.info(ctx.t("risk_model.regions_empty"))
        return
    level = ctx.t(f"risk_model.level_{data.level}")
    title = ctx.t("risk_model.regions_title", level=level, date=i18n.fmt_date(ctx.as_of, ctx.lang))
    st.subheader(title)
    kind = "province" if data.level == "province" else "region"
    table = pl.DataFrame({
        ctx.t("risk_model.col_region"): [i18n.glossary(kind, n, ctx.lang) for n in frame["name"]],
        ctx.t("risk_model.col_high"): frame["n_high"],
        ctx.t("risk_model.col_medium"): frame["n_medium"],
        ctx.t("risk_model.col_scored"): frame["n_scored"],
        ctx.t("risk_model.col_in_flight"): frame["n_in_flight"],
        ctx.t("risk_model.col_red"): frame["n_red"],
        ctx.t("risk_model.col_high_share"): [i18n.fmt_pct(h / n if n else None, ctx.lang)
                                             for h, n in zip(frame["n_high"], frame["n_in_flight"])],
    })
    tables.show(ctx, table, key="risk_regions", title=title, stem="slip-risk-by-region", item_column=None,
                height=380)


def model_card(ctx: Context, meta: dict) -> None:
    e = meta.get("evaluation")
    if not e:
        st.info(ctx.t("risk_model.card_none"))
        return
    lang = ctx.lang
    st.caption(ctx.t("risk_model.card_file", file=meta.get("model_file") or "—", version=meta["data_version"])
               + "  \n" + training_line(ctx, meta))
    st.markdown(ctx.t("risk_model.card_intro", h=e["horizon_days"], cutoff=i18n.fmt_date(_date(e["cutoff"]), lang),
                      n_test=i18n.fmt_int(e["n_test"], lang), test_to=i18n.fmt_date(_date(e["test_dates"][1]), lang),
                      rate=i18n.fmt_pct(e["test_slip_rate"], lang), share=i18n.fmt_pct(e["alert_share"], lang, 0),
                      k=i18n.fmt_int(e["alert_budget"], lang)))
    rows = risk_page.card_rows(e)
    model, rule = rows.row(0, named=True), rows.row(1, named=True)
    if model["precision"] is not None and rule["precision"] is not None and model["precision"] > rule["precision"]:
        st.markdown(ctx.t("risk_model.verdict_beats", model=i18n.fmt_pct(model["precision"], lang),
                          rule=i18n.fmt_pct(rule["precision"], lang),
                          diff=f"{100 * (model['precision'] - rule['precision']):.1f}",
                          warned=i18n.fmt_int(model["n_warned"], lang), slipped=i18n.fmt_int(model["n_slipped_items"], lang),
                          lead=_days(ctx, model["median_lead_days"])))
    else:
        st.markdown(ctx.t("risk_model.verdict_not", model=i18n.fmt_pct(model["precision"], lang),
                          rule=i18n.fmt_pct(rule["precision"], lang)))
    left, right = st.columns([1, 1])
    with left:
        base = e["test_slip_rate"]
        tables.grid(pl.DataFrame({
            ctx.t("risk_model.metric"): [ctx.t("risk_model.roc_auc"), ctx.t("risk_model.pr_auc"), ctx.t("risk_model.brier")],
            ctx.t("risk_model.value"): [_num(e["roc_auc"]), _num(e["pr_auc"]), _num(e["brier"], 4)],
            ctx.t("risk_model.reference"): ["0.500", ctx.t("risk_model.pr_auc_ref", rate=_num(base)),
                                            ctx.t("risk_model.brier_ref", value=_num(base * (1 - base), 4))],
        }), hide_index=True, width="stretch")
    with right:
        fig = risk_figures.reliability(risk_page.reliability_frame(e), {
            "title": ctx.t("risk_model.reliability_title"), "x": ctx.t("risk_model.reliability_x"),
            "y": ctx.t("risk_model.reliability_y"), "ideal": ctx.t("risk_model.reliability_ideal"),
            "model": ctx.t("risk_model.reliability_model"), "rows": ctx.t("risk_model.reliability_rows")})
        charts.show(fig, key="risk_reliability", lang=ctx.lang)
        bins = risk_page.reliability_frame(e)["n"]
        st.caption(ctx.t("risk_model.reliability_caption", n=i18n.fmt_int(e["n_test"], lang), bins=bins.len(),
                         low=i18n.fmt_int(bins.min(), lang), high=i18n.fmt_int(bins.max(), lang)))
    names = {"model": ctx.t("risk_model.rank_model"), "red_light": ctx.t("risk_model.rank_red_light"),
             "rag_red": ctx.t("risk_model.rank_rag_red")}
    pct = lambda v: i18n.fmt_pct(v, lang)  # noqa: E731
    comparison = pl.DataFrame({
        ctx.t("risk_model.ranking"): [names[r] for r in rows["ranking"]],
        ctx.t("risk_model.alerts"): [i18n.fmt_int(v, lang) for v in rows["n_alerts"]],
        ctx.t("risk_model.precision"): [pct(v) for v in rows["precision"]],
        ctx.t("risk_model.recall"): [pct(v) for v in rows["recall"]],
        ctx.t("risk_model.volume"): [i18n.fmt_int(v, lang) for v in rows["volume"]],
        ctx.t("risk_model.rule_at_volume"): [pct(v) for v in rows["rule_precision_at_volume"]],
        ctx.t("risk_model.model_at_volume"): [pct(v) for v in rows["model_precision_at_volume"]],
        ctx.t("risk_model.warned"): [ctx.t("risk_model.warned_value", n=i18n.fmt_int(a, lang), of=i18n.fmt_int(b, lang))
                                     for a, b in zip(rows["n_warned"], rows["n_slipped_items"])],
        ctx.t("risk_model.lead"): [_days(ctx, v) for v in rows["median_lead_days"]],
    })
    tables.grid(comparison, hide_index=True, width="stretch")
    st.caption(ctx.t("risk_model.lead_note"))
    forecast_card(ctx, meta)


def forecast_card(ctx: Context, meta: dict) -> None:
    """How honest the finish dates were on the holdout: the share finished by each date against its level,
    beside the reporters' own forecast end dates, overall and by domain."""
    st.subheader(ctx.t("risk_model.fc_title"))
    rows = risk_page.forecast_rows(meta)
    if rows is None:
        e = ((meta.get("forecast") or {}).get("evaluation") or {})
        st.info(ctx.t("risk_model.fc_none", why=md_escape(e.get("error") or "—")))
        return
    e = meta["forecast"]["evaluation"]
    lang = ctx.lang
    total = rows.filter(pl.col("domain").is_null())
    by = {r["forecast"]: r for r in total.iter_rows(named=True)}
    st.markdown(ctx.t("risk_model.fc_intro", cutoff=i18n.fmt_date(_date(e["cutoff"]), lang),
                      as_of=i18n.fmt_date(_date(e["data_as_of"]), lang), n=i18n.fmt_int(e["n_forecast"], lang),
                      p80=i18n.fmt_pct(by["p80"]["share"], lang), p50=i18n.fmt_pct(by["p50"]["share"], lang),
                      reported=i18n.fmt_pct(by["reported"]["share"], lang)))
    name = {"p50": ctx.t("risk.p50"), "p80": ctx.t("risk.p80"), "reported": ctx.t("risk_model.fc_reported")}

    def table(part: pl.DataFrame, with_domain: bool) -> pl.DataFrame:
        cols = {}
        if with_domain:
            cols[ctx.t("risk_model.fc_domain")] = [i18n.glossary("domain", d, lang) for d in part["domain"]]
        cols |= {
            ctx.t("risk_model.fc_date"): [name[f] for f in part["forecast"]],
            ctx.t("risk_model.fc_nominal"): [i18n.fmt_pct(v, lang, 0) if v is not None else "—" for v in part["nominal"]],
            ctx.t("risk_model.fc_share"): [i18n.fmt_pct(v, lang) for v in part["share"]],
            ctx.t("risk_model.fc_interval"): ["—" if lo is None else f"{i18n.fmt_pct(lo, lang)} – {i18n.fmt_pct(hi, lang)}"
                                              for lo, hi in zip(part["low"], part["high"])],
            ctx.t("risk_model.fc_rows"): [ctx.t("risk_model.fc_rows_value", n=i18n.fmt_int(n, lang),
                                                items=i18n.fmt_int(k, lang)) for n, k in zip(part["n"], part["n_items"])],
        }
        return pl.DataFrame(cols)

    tables.grid(table(total, False), hide_index=True, width="stretch")
    st.caption(ctx.t("risk_model.fc_caption"))
    with st.expander(ctx.t("risk_model.fc_by_domain")):
        tables.grid(table(rows.filter(pl.col("domain").is_not_null() & (pl.col("forecast") != "p50")), True),
                    hide_index=True, width="stretch")


def _num(x, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def _days(ctx: Context, v) -> str:
    return "—" if v is None else ctx.t("risk_model.lead_days", days=f"{v:g}")
