"""Drawing the item detail page from `analytics.item.ItemDetail` (and the item's risk, when a model exists)."""
from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import i18n
from analytics.figures.palette import LIGHT_SYMBOLS
from analytics.figures import item as figures_item
from analytics.pages import item
from analytics.pages.item import ItemDetail
from analytics.risk import model as risk_model
from analytics.risk import scores

from ui import auth as auth_ui
from ui import charts, context, filterbar, tables
from ui.blocks import annotations as annotation_blocks
from ui.blocks import freshness as freshness_ui
from ui.blocks.cockpit import light_reason
from ui.context import Context
from ui.page import md_escape
from ui.blocks.authenticity import item_credibility



def finder(ctx: Context) -> None:
    """No item chosen: search the items under the current filters by id or name."""
    st.markdown(ctx.t("item.finder_intro"))
    text = st.text_input(ctx.t("item.finder"), key="item_find", max_chars=100, placeholder=ctx.t("item.finder_hint"))
    found = item.search(context.database(ctx.db_path).cursor(), ctx.selection(), text or "")
    if found.is_empty():
        st.info(ctx.t("item.finder_none"))
        return
    table = pl.DataFrame({
        ctx.t("item.id"): found["project_id"],
        ctx.t("item.name"): found["name"],
        ctx.t("item.region"): [i18n.glossary("province", n, ctx.lang) for n in found["region_name"]],
        ctx.t("item.domain"): [i18n.glossary("domain", d, ctx.lang) for d in found["domain"]],
        ctx.t("item.lead_dept"): [i18n.glossary("dept", d, ctx.lang) for d in found["lead_dept"]],
        ctx.t("item.status"): [i18n.choice_label("projects", "status", s, ctx.lang) for s in found["status"]],
        ctx.t("item.planned_end"): found["planned_end_date"],
    })
    st.caption(ctx.t("item.finder_limit", n=item.MAX_SEARCH_RESULTS))
    tables.show(ctx, table, key="item_finder", title=ctx.t("item.finder"), stem="items",
                item_column=ctx.t("item.id"), searchable=False)


def back(ctx: Context) -> None:
    if st.button(ctx.t("item.back"), icon=":material/arrow_back:", key="item_back"):
        filterbar.set_page_param("item", None)
        st.rerun()


def _light_text(ctx: Context, light: dict | None) -> str:
    if light is None:
        return ctx.t("item.not_in_flight")
    word = ctx.t(f"lights.{light['light']}")
    if light["light"] == "none":
        return f"{LIGHT_SYMBOLS['none']} {word}"
    return f"{LIGHT_SYMBOLS[light['light']]} {word} · {light_reason(ctx, light)}"


def _deadline(ctx: Context, h: dict) -> str:
    """The deadline as a date, with the ledger's wording when it was not one (年底前); an item without a deadline
    (长期坚持) says so instead of showing a date."""
    when, text = h["planned_end_date"], h.get("deadline_text")
    if when is None:
        return f"{text} · {ctx.t('item.no_deadline')}" if text else ctx.t("item.no_deadline")
    return f"{i18n.fmt_date(when, ctx.lang)} ({text})" if text else i18n.fmt_date(when, ctx.lang)


def summary(ctx: Context, d: ItemDetail) -> None:
    """Name, light, and the facts people ask first: whose, where, when, how much."""
    h = d.head
    st.subheader(md_escape(h["name"]))
    region = " / ".join(i18n.glossary("province", n, ctx.lang) for n in (h["region_path"] or [h["region_name"]]))
    sep = "、" if ctx.lang == "zh" else ", "
    co = sep.join(i18n.glossary("dept", c, ctx.lang) for c in (h["co_depts"] or [])) or "—"
    forecast = d.reports.filter(pl.col("forecast_end_date").is_not_null())
    latest_fc = forecast["forecast_end_date"][-1] if forecast.height else None
    facts = [
        ("item.light", _light_text(ctx, d.light)),
        ("item.status", i18n.choice_label("projects", "status", h["status"], ctx.lang)),
        ("item.priority", i18n.choice_label("projects", "priority", h["priority"], ctx.lang)),
        ("item.id", h["project_id"]),
        ("item.region", region),
        ("item.domain", i18n.glossary("domain", h["domain"], ctx.lang)),
        ("item.lead_dept", i18n.glossary("dept", h["lead_dept"], ctx.lang)),
        ("item.co_depts", co),
        ("item.start", i18n.fmt_date(h["start_date"], ctx.lang)),
        ("item.planned_end", _deadline(ctx, h)),
        ("item.forecast_end", i18n.fmt_date(latest_fc, ctx.lang) if latest_fc else "—"),
        ("item.actual_end", i18n.fmt_date(h["actual_end_date"], ctx.lang) if h["actual_end_date"] else "—"),
        ("item.budget", i18n.fmt_amount_wan(h["budget_wan_yuan"], ctx.lang) if h["budget_wan_yuan"] is not None else "—"),
        ("item.category", i18n.glossary("item_category", h["category"] or None, ctx.lang)),
        ("item.source", i18n.glossary("item_source", h["source"] or None, ctx.lang)),
        ("item.supervising_unit", i18n.glossary("supervisor", h["supervising_unit"] or None, ctx.lang)),
    ]
    if h.get("responsible_leaders"):
        facts.append(("item.leaders", auth_ui.person_names(ctx, h["responsible_leaders"])))
    for start in range(0, len(facts), 4):
        for col, (key, value) in zip(st.columns(4), facts[start:start + 4]):
            col.markdown(f"**{ctx.t(key)}**  \n{md_escape(str(value))}")
    if h["policy_name"]:
        st.caption(md_escape(ctx.t("item.policy", name=h["policy_name"])))
    if h["description"]:
        with st.expander(ctx.t("item.description")):
            st.text(h["description"])
    # how fresh its reports are (issue 20), then their credibility (数据真实性)
    freshness_ui.item_line(ctx, d.reports, h["start_date"], d.light is not None)
    item_credibility(ctx, h["project_id"])


def _forecast(ctx: Context, d: ItemDetail) -> dict | None:
    """The item's saved finish-date forecast, while it is in flight (None without one)."""
    if d.head.get("actual_end_date") is not None:
        return None
    stamp = scores.stamp(ctx.db_path, ctx.version)
    return ctx.block("item_forecast", project_id=d.head["project_id"], db_path=ctx.db_path, version=ctx.version,
                     stamp=stamp)


def _finish_date(ctx: Context, when, beyond: bool) -> str:
    shown = i18n.fmt_date(when, ctx.lang)
    return ctx.t("risk.later_than", date=shown) if beyond else shown


def progress(ctx: Context, d: ItemDetail) -> None:
    reports = d.reports
    if reports.is_empty():
        st.info(ctx.t("item.no_reports"))
        return
    last = reports.row(-1, named=True)
    st.caption(ctx.t("item.reports_n", n=i18n.fmt_int(reports.height, ctx.lang),
                     first=i18n.fmt_date(reports["report_date"][0], ctx.lang),
                     last=i18n.fmt_date(last["report_date"], ctx.lang)))
    has_pct = reports["actual_progress_pct"].is_not_null().any() or reports["spent_share_pct"].is_not_null().any()
    if has_pct:
        labels = {k: ctx.t(f"item.fig_{k}") for k in ("planned", "actual", "spent", "planned_end", "y")}
        # the title names the series the chart holds (a ledger reports actual progress only)
        shown = [ctx.t(f"item.series_{k}") for k, col in (("planned", "planned_progress_pct"),
                                                         ("actual", "actual_progress_pct"), ("spent", "spent_share_pct"))
                 if reports[col].is_not_null().any()]
        labels["title"] = ctx.t("item.series_sep").join(shown)
        if (reports["planned_basis"] == "elapsed").any():
            st.caption(ctx.t("item.planned_elapsed"))
        fc = _forecast(ctx, d)
        if fc is not None:
            labels |= {"fan": ctx.t("item.fig_fan"),
                       "p50": ctx.t("item.fig_p50", date=_finish_date(ctx, fc["p50_date"], fc["p50_beyond"])),
                       "p80": ctx.t("item.fig_p80", date=_finish_date(ctx, fc["p80_date"], fc["p80_beyond"]))}
        # event notes on the item's region, its ancestors or below, from its first report to the as-of date
        lo, hi = reports["report_date"].min(), max(reports["report_date"].max(), ctx.as_of)
        events = annotation_blocks.for_chart(ctx, lo, hi, region_code=d.head["region_code"])
        fig = figures_item.progress(reports, labels, d.head["planned_end_date"], fc, ctx.lang)
        _chart_title(labels["title"])
        charts.show(annotation_blocks.mark(fig, ctx, events, lo, hi), key="item_progress", lang=ctx.lang)
        annotation_blocks.listing(ctx, events)
        if fc is not None:
            st.caption(ctx.t("item.forecast_caption", p50=_finish_date(ctx, fc["p50_date"], fc["p50_beyond"]),
                             p80=_finish_date(ctx, fc["p80_date"], fc["p80_beyond"]),
                             chance=i18n.fmt_pct(fc["p_by_deadline"], ctx.lang),
                             as_of=i18n.fmt_date(fc["as_of"], ctx.lang)))
    else:
        st.info(ctx.t("item.no_progress_pct"))
    if reports["forecast_end_date"].is_not_null().any():
        labels = {"forecast": ctx.t("item.fig_forecast"), "planned_end": ctx.t("item.fig_planned_end"),
                  "title": ctx.t("item.fig_forecast_title"), "y": ctx.t("item.fig_forecast_y")}
        _chart_title(labels["title"])
        charts.show(figures_item.forecast(reports, labels, d.head["planned_end_date"], ctx.lang), key="item_forecast",
                    lang=ctx.lang)
        st.caption(ctx.t("item.forecast_changes", n=i18n.fmt_int(d.forecast_history.height - 1, ctx.lang)))
    table = pl.DataFrame({
        ctx.t("item.report_date"): reports["report_date"],
        ctx.t("item.fig_planned"): reports["planned_progress_pct"],
        ctx.t("item.fig_actual"): reports["actual_progress_pct"],
        ctx.t("item.spent_wan"): reports["budget_spent_wan_yuan"],
        ctx.t("item.fig_spent"): reports["spent_share_pct"].round(1),
        ctx.t("item.fig_forecast"): reports["forecast_end_date"],
        ctx.t("item.rag"): [i18n.choice_label("progress_reports", "rag", r, ctx.lang) if r else None
                            for r in reports["rag"]],
        ctx.t("item.note"): reports["note"],
    }).reverse()
    with st.expander(ctx.t("item.reports_table")):
        tables.show(ctx, table, key="item_reports", title=f"{d.head['project_id']} {ctx.t('item.reports_table')}",
                    stem=f"reports-{d.head['project_id']}")


def _chart_title(title: str) -> None:
    """A chart's title above it, as text that wraps (a Plotly title was cut at 390 px, issue 17)."""
    if title:
        st.markdown(f"**{md_escape(title)}**")


def milestones(ctx: Context, d: ItemDetail) -> None:
    ms = d.milestones
    if ms.is_empty():
        st.info(ctx.t("item.no_milestones"))
        return
    ms = ms.with_columns(pl.Series("name", [i18n.milestone_name(n, ctx.lang) for n in ms["name"]], pl.Utf8))
    counts = dict(ms["state"].value_counts().iter_rows())
    st.caption(" · ".join(f"{ctx.t(f'item.ms_{s}')} {counts.get(s, 0)}" for s in ("on_time", "late", "missed", "upcoming")))
    labels = {"planned": ctx.t("item.ms_planned"), "actual": ctx.t("item.ms_actual"), "title": ctx.t("item.fig_ms")}
    _chart_title(labels["title"])
    charts.show(figures_item.milestones(ms, labels, ctx.as_of, ctx.lang), key="item_ms", lang=ctx.lang)
    table = pl.DataFrame({
        ctx.t("item.ms_name"): ms["name"],
        ctx.t("item.ms_planned"): ms["planned_date"],
        ctx.t("item.ms_actual"): ms["actual_date"],
        ctx.t("item.ms_weight"): (ms["weight"] * 100).round(1),
        ctx.t("item.ms_state"): [ctx.t(f"item.ms_{s}") for s in ms["state"]],
        ctx.t("item.ms_days_late"): ms["days_late"],
    })
    tables.show(ctx, table, key="item_ms_table", title=f"{d.head['project_id']} {ctx.t('item.fig_ms')}",
                stem=f"milestones-{d.head['project_id']}")


def feedback(ctx: Context, d: ItemDetail) -> None:
    fb = d.feedback
    if fb.is_empty():
        st.info(ctx.t("item.no_feedback"))
        return
    rated = fb["satisfaction"].drop_nulls()
    st.caption(ctx.t("item.feedback_summary", n=i18n.fmt_int(fb.height, ctx.lang),
                     complaints=i18n.fmt_int(int(fb["is_complaint"].fill_null(False).sum()), ctx.lang),
                     mean="—" if rated.is_empty() else f"{rated.mean():.2f}", n_rated=i18n.fmt_int(rated.len(), ctx.lang)))
    limit = ctx.thresholds.response_hours
    table = pl.DataFrame({
        ctx.t("item.fb_received"): fb["received_at"],
        ctx.t("item.fb_channel"): [i18n.choice_label("feedback", "channel", c, ctx.lang) for c in fb["channel"]],
        ctx.t("item.fb_satisfaction"): fb["satisfaction"],
        ctx.t("item.fb_complaint"): [ctx.t("item.yes") if c else ctx.t("item.no") for c in fb["is_complaint"]],
        ctx.t("item.fb_category"): [i18n.glossary("category", c, ctx.lang) if c else None for c in fb["category"]],
        ctx.t("item.fb_hours"): fb["hours_to_answer"].round(1),
        ctx.t("item.fb_in_time", h=limit): [None if h is None else (ctx.t("item.yes") if h <= limit else ctx.t("item.no"))
                                             for h in fb["hours_to_answer"]],
        ctx.t("item.fb_resolved"): [None if r is None else (ctx.t("item.yes") if r else ctx.t("item.no"))
                                    for r in fb["is_resolved"]],
        ctx.t("item.fb_text"): [auth_ui.feedback_text(ctx, t) for t in fb["text"]],  # masked by role
    })
    tables.show(ctx, table, key="item_fb", title=f"{d.head['project_id']} {ctx.t('item.tab_feedback', n=fb.height)}",
                stem=f"feedback-{d.head['project_id']}")
    if not ctx.may("personal_data"):
        st.caption(ctx.t("item.masked") + " " + ctx.t("auth.masked_names"))


def rectifications(ctx: Context, d: ItemDetail) -> None:
    rc = d.rectifications
    if rc.is_empty():
        st.info(ctx.t("item.no_rectifications"))
        return
    open_ = rc.filter(pl.col("closed_date").is_null())
    st.caption(ctx.t("item.rect_summary", n=rc.height, open=open_.height,
                     overdue=int(rc["is_overdue"].sum()), relapse=int(rc["is_relapse"].fill_null(False).sum())))
    table = pl.DataFrame({
        ctx.t("item.rect_id"): rc["rectification_id"],
        ctx.t("item.rect_status"): [i18n.choice_label("rectifications", "status", s, ctx.lang) for s in rc["status"]],
        ctx.t("item.rect_source"): [i18n.choice_label("rectifications", "source", s, ctx.lang) for s in rc["source"]],
        ctx.t("item.rect_found"): rc["found_date"],
        ctx.t("item.rect_deadline"): rc["deadline"],
        ctx.t("item.rect_closed"): rc["closed_date"],
        ctx.t("item.rect_days_open"): rc["days_open"],
        ctx.t("item.rect_overdue"): [("⚠ " + ctx.t("item.yes")) if o else ctx.t("item.no") for o in rc["is_overdue"]],
        ctx.t("item.rect_relapse"): [ctx.t("item.yes") if r else ctx.t("item.no") for r in rc["is_relapse"]],
        ctx.t("item.rect_dept"): [i18n.glossary("dept", x, ctx.lang) for x in rc["responsible_dept"]],
        ctx.t("item.rect_description"): rc["description"],
    })
    tables.show(ctx, table, key="item_rect", title=f"{d.head['project_id']} {ctx.t('item.tab_rectifications', n=rc.height)}",
                stem=f"rectifications-{d.head['project_id']}")


def risk(ctx: Context, d: ItemDetail) -> None:
    """Probability of slipping now, its reasons, the last year of it, and what would move it."""
    with st.spinner(ctx.t("item.risk_computing")):
        try:
            stamp = scores.stamp(ctx.db_path, ctx.version)
            found = context.item_risk(ctx.db_path, ctx.version, d.head["project_id"], ctx.as_of, stamp)
        except Exception as exc:  # a model file that fails its checks: said, not hidden
            st.error(ctx.t("item.risk_error", error=md_escape(str(exc))))
            return
    if found is None:
        st.info(ctx.t("item.risk_no_model"))
        st.page_link("views/risk.py", label=ctx.t("nav.risk"), icon=":material/warning:")
        return
    info = found["model"]
    st.caption(ctx.t("item.risk_model", version=info["data_version"], to=i18n.fmt_date(info["trained_to"], ctx.lang),
                     h=info["horizon_days"], t=info["tolerance_days"]))
    now = found["current"]
    if now is None:
        st.info(ctx.t("item.risk_not_in_flight"))
        return
    left, right = st.columns([1, 2])
    left.metric(ctx.t("item.risk_probability", h=info["horizon_days"]), i18n.fmt_pct(now["probability"], ctx.lang))
    band = ctx.t(f"risk.{now['band']}")
    left.markdown(f"**{ctx.t('risk.band')}**: {band}")
    with right:
        st.markdown(f"**{ctx.t('risk.reasons')}**")
        if now["reasons"]:
            st.markdown("\n".join(f"- {md_escape(scores.reason_text(r['feature'], None if r['value'] is None else str(r['value']), ctx.lang))}"
                                  for r in now["reasons"]))
        else:
            st.caption(ctx.t("item.risk_no_reasons"))
    history = found["history"]
    if history.height > 1:
        labels = {"probability": ctx.t("risk.probability"), "title": ctx.t("item.risk_history"),
                  "y": ctx.t("risk.probability"), "high": ctx.t("risk.high"), "medium": ctx.t("risk.medium")}
        _chart_title(labels["title"])
        charts.show(figures_item.risk_history(history, labels, risk_model.BANDS, ctx.lang), key="item_risk_h",
                    lang=ctx.lang)
        st.caption(ctx.t("item.risk_history_note"))
    st.markdown(f"**{ctx.t('item.whatif')}**")
    wi = found["what_if"]
    if wi.is_empty():
        st.caption(ctx.t("item.whatif_none"))
        return
    tables.grid(pl.DataFrame({
        ctx.t("item.whatif_action"): [ctx.t(f"item.whatif_{k}") for k in wi["scenario"]],
        ctx.t("risk.probability"): [i18n.fmt_pct(p, ctx.lang) for p in wi["probability"]],
        ctx.t("item.whatif_change"): [i18n.fmt_change("share", c, ctx.lang) for c in wi["change"]],
    }), hide_index=True, width="stretch")
    st.caption(ctx.t("item.whatif_note"))
