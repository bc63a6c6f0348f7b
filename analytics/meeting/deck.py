"""Assemble the deck from the frozen `Facts`, in one language, with this meeting's and the last meeting's notes.

Slides, in order (exception first): overview, red and worsening items, region ranking, new risk flags,
rectification, public feedback, decisions to record. Every table row, card and chart point comes from
`Facts`; labels and narratives from the locale files.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import polars as pl

from analytics import annotations, contract, i18n, metrics, series
from analytics.risk import scores
from analytics.meeting import narrative as N
from analytics.meeting.facts import Facts, RiskFacts
from analytics.meeting.model import Card, Chart, Deck, Mark, Note, Slide, Table

SLIDES = ("overview", "attention", "regions", "risk", "rectification", "feedback", "decisions")
SHOWN = 8           # table rows on a slide (the PDF continues; the page offers the full list)
CHART_REGIONS = 20  # regions in a ranking chart (best and worst ten beyond that)
LIGHT_KEYS = ("red", "yellow", "green", "none")
RECT_STATES = ("overdue", "open", "in_progress", "awaiting_acceptance", "closed")

t = N.t


def light(value: str | None, lang: str) -> str:
    return t(f"light_{value}", lang) if value in LIGHT_KEYS else "—"


def _label(table: str, lang: str) -> str:
    tb = contract.table(table)
    return tb.zh if lang == "zh" else tb.en


def card(key: str, f: Facts, lang: str, min_n: int) -> Card:
    """A KPI card: value, signed change with an arrow and a word (better/worse), n and target verdict."""
    m = metrics.BY_KEY[key]
    if metrics.KPI_TABLES.get(key) in f.missing:  # never uploaded: say so, not "n = 0, small sample"
        return Card(m.label(lang), "—", t("not_uploaded", lang, table=_label(metrics.KPI_TABLES[key], lang)), "", "flat")
    now, before = f.total.get(key), f.total_previous.get(key)
    change, tone = t("no_comparison", lang), "flat"
    if now is not None and before is not None:
        d = N.shown_change(m.unit, now - before)
        better = (d > 0) == (m.direction == "higher_is_better")
        tone = "flat" if d == 0 else "better" if better else "worse"
        arrow = {"flat": "＝", "better": "▲" if d > 0 else "▼", "worse": "▲" if d > 0 else "▼"}[tone]
        change = f"{arrow} {i18n.fmt_change(m.unit, d, lang)} {t('tone_' + tone, lang)}".strip()
    n = f.total.get(m.n_col)
    notes = [t("card_n", lang, n=i18n.fmt_int(n, lang))]
    if now is not None and before is not None:  # what the change compares with, in words and a date
        notes.append(vs(f, lang))
    if n is not None and n < min_n and m.unit in ("share", "pp", "days", "rating"):
        notes.append("⚠ " + t("small_sample", lang))
    if m.target is not None and now is not None:
        met = now >= m.target if m.direction == "higher_is_better" else now <= m.target
        op = "≥" if m.direction == "higher_is_better" else "≤"
        notes.append(t("card_target", lang, op=op, target=i18n.fmt_metric(m.unit, m.target, lang))
                     + " " + ("✓ " + t("target_met", lang) if met else "× " + t("target_missed", lang)))
    return Card(m.label(lang), i18n.fmt_metric(m.unit, now, lang),
                change, " · ".join(notes), tone)


def vs(f: Facts, lang: str) -> str:
    """"较上周（2026年11月15日）" / "vs last week (15 Nov 2026)": the comparison every change on the slides makes."""
    return t("vs_prev", lang, prev=N.prev_word(f.preset, lang), date=i18n.fmt_date(f.previous_as_of, lang))


def count_card(label: str, now: int | None, before: int | None, lang: str, preset: str, worse_up: bool = True, *,
               f: Facts) -> Card:
    change, tone = t("no_comparison", lang), "flat"
    if now is not None and before is not None:
        d = int(now) - int(before)
        tone = "flat" if d == 0 else ("worse" if (d > 0) == worse_up else "better")
        arrow = "＝" if d == 0 else "▲" if d > 0 else "▼"
        change = f"{arrow} {d:+,} {t('tone_' + tone, lang)}"
    return Card(label, i18n.fmt_int(now, lang), change, vs(f, lang), tone)


def reason(row: dict, lang: str) -> str:
    """Why an item has its light, in words (the same texts as the cockpit's list)."""
    rule = row["rule"]
    if rule == "overdue":
        return i18n.t("attention.overdue", lang, days=row["days_late"])
    if rule == "progress":
        return i18n.progress_gap(row["lag_pp"], lang)
    if rule == "forecast":
        return i18n.t("attention.forecast", lang, lag=f"{row['lag_pp']:.0f}")
    if rule == "milestones":
        return i18n.t("attention.milestones", lang, missed=row["n_missed"])
    if rule == "rag":
        return i18n.t("attention.rag", lang, rag=i18n.choice_label("progress_reports", "rag", row["rag"], lang))
    return t("light_none", lang)


def chart_marks(trend: pl.DataFrame, events: pl.DataFrame | None, lang: str) -> tuple[Mark, ...]:
    """The event notes of a time chart (`annotations.for_chart`, numbered) on its periods: each covers the periods
    its dates overlap."""
    if events is None or events.is_empty() or not trend.height:
        return ()
    spans = list(zip(trend["period_start"].to_list(), trend["period_end"].to_list()))
    out = []
    for r, line in zip(events.iter_rows(named=True), annotations.lines(events, lang)):
        hit = [i for i, (s, e) in enumerate(spans) if s <= r["end_date"] and e >= r["start_date"]]
        if hit:
            out.append(Mark(annotations.number_label(r["number"]), hit[0], hit[-1], line))
    return tuple(out)


def overview(f: Facts, lang: str, min_n: int, events: pl.DataFrame | None = None) -> Slide:

    trend = f.trend
    grain = f.preset  # the presets are the series' grains: week, month, quarter
    if trend.height:  # a period the as-of date cuts short says so under its point ("2026-12（截至12月3日）")
        trend = series.with_partial(trend, grain)
    labels = [label + (t("partial", lang, date=i18n.fmt_day(e, lang)) if cut else "")
              for label, e, cut in zip(i18n.fmt_period_axis(trend["period"].to_list(), lang), trend["period_end"],
                                   trend["is_partial"] if trend.height else [])]
    chart = Chart("line", t("chart_red_share", lang, grain=t(f"grain_{f.preset}", lang)),
                  tuple(labels), ((t("red_share", lang), tuple(trend["value"].to_list())),),
                  unit="share", note=t("chart_red_share_note", lang), marks=chart_marks(trend, events, lang))
    cards = tuple(card(k, f, lang, min_n) for k in metrics.KPI_KEYS)
    # the narrative is written from these cards (their rounded changes and tones), so it says what they show
    return Slide("overview", t("title_overview", lang), N.overview(f, lang, cards), cards=cards, charts=(chart,))


def attention(f: Facts, lang: str) -> Slide:
    a = f.attention
    n_new, n_worse = int(a["is_new_red"].sum()), int((a["light"] != "red").sum())
    cards = (count_card(t("card_red", lang), f.total.get("n_red"), f.total_previous.get("n_red"), lang, f.preset, f=f),
             Card(t("card_new_red", lang), i18n.fmt_int(n_new, lang), note=t("since", lang, date=i18n.fmt_date(
                 f.previous_as_of, lang))),
             Card(t("card_worse", lang), i18n.fmt_int(n_worse, lang), note=t("worse_note", lang)),
             count_card(t("card_overdue", lang), f.total.get("overdue"), f.total_previous.get("overdue"), lang,
                        f.preset, f=f))
    rows = list(a.iter_rows(named=True))
    table = Table(t("table_attention", lang),
                  (t("col_item", lang), t("col_region", lang), t("col_dept", lang), t("col_light", lang),
                   t("col_before", lang), t("col_reason", lang), t("col_mark", lang)),
                  tuple((r["name"], N.region_name(r["region_name"], lang), i18n.glossary("dept", r["lead_dept"], lang),
                         light(r["light"], lang), light(r["light_previous"], lang), reason(r, lang),
                         t("mark_new_red", lang) if r["is_new_red"] else t("mark_worse", lang) if r["is_worse"] else "")
                        for r in rows), SHOWN, t("table_attention_note", lang, n=i18n.fmt_int(len(rows), lang)),
                  tuple(r["project_id"] for r in rows))
    charts = ()
    places = N.red_regions(f, top=10)
    if places:
        charts = (Chart("bar", t("chart_red_by_region", lang), tuple(N.region_name(n, lang) for n, _ in places),
                        ((t("card_red", lang), tuple(float(c) for _, c in places)),), unit="count"),)
    return Slide("attention", t("title_attention", lang), N.attention(f, lang), cards=cards,
                 tables=(table,) if rows else (), charts=charts, empty="" if rows else t("attention_empty", lang))


def ranking_rows(f: Facts) -> pl.DataFrame:
    """The ranked regions the chart shows: all of them, or the best and worst ten when there are more."""
    ranked = f.league.filter(pl.col("rank").is_not_null()).sort("rank")
    if ranked.height > CHART_REGIONS:
        ranked = pl.concat([ranked.head(CHART_REGIONS // 2), ranked.tail(CHART_REGIONS // 2)])
    return ranked


def regions(f: Facts, lang: str, min_n: int) -> Slide:
    if f.league.is_empty():
        return Slide("regions", t("title_regions", lang), N.regions(f, lang, min_n), empty=t("regions_none", lang))
    ranked = ranking_rows(f)
    trend = {"up": t("trend_up", lang), "down": t("trend_down", lang), "flat": t("trend_flat", lang), None: "—"}
    full = f.league.filter(pl.col("rank").is_not_null()).sort("rank")
    # best and worst, as many as a slide shows: the worst always in full (they are what the meeting is for)
    picked = full if full.height <= SHOWN else pl.concat([full.head(SHOWN // 2), full.tail(SHOWN - SHOWN // 2)])
    table = Table(t("table_regions", lang),
                  ("#", t("col_region", lang), t("col_index", lang), t("col_change", lang), t("col_trend", lang),
                   t("col_in_flight", lang), t("col_red_share", lang)),
                  tuple((str(r["rank"]), N.region_name(r["name"], lang), f"{r['index']:.1f}",
                         "—" if r["index_change"] is None else f"{N.shown_change('score', r['index_change']):+.1f}", trend[r["trend"]],
                         i18n.fmt_int(r["n_in_flight"], lang), i18n.fmt_pct(r["red_share"], lang))
                        for r in picked.iter_rows(named=True)), SHOWN,
                  t("table_regions_note", lang, n=full.height, min_n=min_n,
                    small=int(f.league["is_small"].sum())))
    chart = Chart("bar", t("chart_index", lang), tuple(N.region_name(n, lang) for n in ranked["name"].to_list()),
                  ((t("col_index", lang), tuple(ranked["index"].to_list())),), unit="score",
                  note=t("chart_index_note", lang) if full.height > CHART_REGIONS else "")
    return Slide("regions", t("title_regions", lang), N.regions(f, lang, min_n), tables=(table,) if full.height else (),
                 charts=(chart,) if ranked.height else (), empty="" if full.height else N.regions(f, lang, min_n))


def _finish(when, beyond, lang: str) -> str:
    """An 80 % finish date as the risk page writes it ("after …" when it is a lower bound)."""
    if when is None:
        return "—"
    shown = i18n.fmt_date(when, lang)
    return i18n.t("risk.later_than", lang, date=shown) if beyond else shown


def risk(f: Facts, lang: str) -> Slide:
    r = f.risk
    title = t("title_risk", lang)
    if not isinstance(r, RiskFacts):
        return Slide("risk", title, N.risk(f, lang), empty=t(f"risk_empty_{r}", lang))
    rows = list(r.high.iter_rows(named=True))
    if r.new_ids is not None:  # new ones first: the slide is about what changed
        rows.sort(key=lambda x: (x["project_id"] not in r.new_ids, -x["probability"]))
    cards = (Card(t("card_high", lang), i18n.fmt_int(len(rows), lang), note=t("scored_on", lang, date=i18n.fmt_date(
                 r.scored_as_of, lang))),
             Card(t("card_new_high", lang), "—" if r.new_ids is None else i18n.fmt_int(len(r.new_ids), lang),
                  note=t("new_unknown", lang) if r.new_ids is None else t("since", lang, date=i18n.fmt_date(
                      r.earlier_as_of, lang))),
             Card(t("card_not_red", lang), i18n.fmt_int(sum(x["light"] != "red" for x in rows), lang),
                  note=t("not_red_note", lang)))
    table = Table(t("table_risk", lang),
                  (t("col_item", lang), t("col_dept", lang), t("col_probability", lang), t("col_p80", lang),
                   t("col_light", lang), t("col_mark", lang), t("col_reasons", lang)),
                  tuple((x["name"], i18n.glossary("dept", x["lead_dept"], lang), i18n.fmt_pct(x["probability"], lang),
                         _finish(x["p80_date"], x["p80_beyond"], lang), light(x["light"], lang),
                         "" if r.new_ids is None else t("mark_new", lang) if x["project_id"] in r.new_ids else "",
                         scores.reasons_text(x["top_reasons"], lang)) for x in rows), SHOWN,
                  t("table_risk_note", lang, n=i18n.fmt_int(len(rows), lang)), tuple(x["project_id"] for x in rows))
    charts = ()
    if r.by_region.height:
        top = r.by_region.head(10)
        charts = (Chart("bar", t("chart_high_by_region", lang), tuple(N.region_name(n, lang) for n in top["name"]),
                        ((t("card_high", lang), tuple(float(v) for v in top["n_high"])),), unit="count"),)
    return Slide("risk", title, N.risk(f, lang), cards=cards, tables=(table,) if rows else (), charts=charts,
                 empty="" if rows else t("risk_none", lang))


def rectification(f: Facts, lang: str, min_n: int) -> Slide:
    counts = N.rect_counts(f)
    chart = Chart("column", t("chart_rect", lang), tuple(t(f"rect_{s}", lang) for s in RECT_STATES),
                  ((t("col_n", lang), tuple(float(counts.get(s, 0)) for s in RECT_STATES)),), unit="count",
                  note=t("chart_rect_note", lang, date=i18n.fmt_date(f.previous_as_of, lang)))
    rows = list(f.rect_overdue.iter_rows(named=True))
    table = Table(t("table_rect", lang),
                  (t("col_rect_id", lang), t("col_problem", lang), t("col_resp", lang), t("col_region", lang),
                   t("col_deadline", lang), t("col_days_overdue", lang), t("col_relapse", lang)),
                  tuple((r["rectification_id"], r["description"], i18n.glossary("dept", r["responsible_dept"], lang),
                         N.region_name(r["region_name"], lang), r["deadline"].isoformat(),
                         i18n.fmt_int(r["days_overdue"], lang), t("yes", lang) if r["is_relapse"] else "")
                        for r in rows), SHOWN, t("table_rect_note", lang, n=i18n.fmt_int(len(rows), lang)))
    cards = tuple(card(k, f, lang, min_n) for k in ("rect_completion_rate", "rect_overdue", "avg_days_to_close",
                                                     "relapse_rate"))
    return Slide("rectification", t("title_rectification", lang), N.rectification(f, lang), cards=cards,
                 tables=(table,) if rows else (), charts=(chart,) if sum(counts.values()) else (),
                 empty="" if rows or counts else t("not_uploaded", lang, table=_label("rectifications", lang))
                 if "rectifications" in f.missing else t("rect_empty", lang))


def feedback(f: Facts, lang: str, min_n: int) -> Slide:
    fb = f.feedback
    cards = tuple(card(k, f, lang, min_n) for k in ("satisfied_share", "complaint_rate", "answered_in_time",
                                                     "resolution_rate"))
    rows = list(fb.iter_rows(named=True))
    table = Table(t("table_feedback", lang),
                  (t("col_category", lang), t("col_feedback", lang), t("col_complaints", lang), t("col_satisfaction", lang)),
                  tuple((r["category"] or t("no_category", lang), i18n.fmt_int(r["n_feedback"], lang),
                         i18n.fmt_int(r["n_complaints"], lang),
                         i18n.fmt_metric("rating", r["avg_satisfaction"], lang) if r["n_rated"] else "—")
                        for r in rows), SHOWN, t("table_feedback_note", lang, date=i18n.fmt_date(f.previous_as_of, lang)))
    top = fb.head(10)
    charts = (Chart("bar", t("chart_feedback", lang), tuple(r or t("no_category", lang) for r in top["category"]),
                    ((t("col_feedback", lang), tuple(float(v) for v in top["n_feedback"])),
                     (t("col_complaints", lang), tuple(float(v) for v in top["n_complaints"]))), unit="count"),
              ) if top.height else ()
    return Slide("feedback", t("title_feedback", lang), N.feedback(f, lang), cards=cards,
                 tables=(table,) if rows else (), charts=charts,
                 empty="" if rows else t("not_uploaded", lang, table=_label("feedback", lang)) if "feedback" in f.missing
                 else t("feedback_empty", lang, date=i18n.fmt_date(f.previous_as_of, lang)))


def decisions(lang: str, titles: dict[str, str], previous: dict[str, Note], previous_as_of: date | None) -> Slide:
    rows = tuple((titles.get(k, k), n.text, n.saved_by, n.saved_at) for k, n in previous.items())
    table = Table(t("table_decisions", lang), (t("col_slide", lang), t("col_note", lang), t("col_who", lang),
                                                t("col_when", lang)), rows, SHOWN)
    return Slide("decisions", t("title_decisions", lang), N.decisions(previous, previous_as_of, lang),
                 tables=(table,) if rows else (), empty="" if rows else t("decisions_empty", lang))


def footer(f: Facts, lang: str, filters_text: str, version: int) -> str:
    return t("footer", lang, filters=filters_text, date=i18n.fmt_date(f.as_of, lang), version=version,
             prev=i18n.fmt_date(f.previous_as_of, lang), preset=t(f"preset_{f.preset}", lang))


def build(f: Facts, lang: str, filters_text: str, version: int, min_n: int = metrics.Thresholds().min_n,
          notes: dict[str, Note] | None = None, previous_notes: dict[str, Note] | None = None,
          previous_meeting: date | None = None, events: pl.DataFrame | None = None) -> Deck:
    """The deck for one language. `notes` are this meeting's per slide; `previous_notes` the last meeting's;
    `events` the event notes on the overview's trend (`annotations.for_chart` over its periods)."""
    notes, previous_notes = notes or {}, previous_notes or {}
    if f.is_empty:
        slides = (Slide("overview", t("title_overview", lang), t("empty", lang), empty=t("empty", lang)),)
    else:
        slides = [overview(f, lang, min_n, events), attention(f, lang), regions(f, lang, min_n), risk(f, lang),
                  rectification(f, lang, min_n), feedback(f, lang, min_n)]
        titles = {s.key: s.title for s in slides} | {"decisions": t("title_decisions", lang)}
        slides.append(decisions(lang, titles, previous_notes, previous_meeting))
        slides = tuple(replace(s, note=notes.get(s.key), previous_note=previous_notes.get(s.key)) for s in slides)
    return Deck(lang, t("deck_title", lang, preset=t(f"preset_{f.preset}", lang)),
                t("deck_subtitle", lang, date=i18n.fmt_date(f.as_of, lang), prev=i18n.fmt_date(f.previous_as_of, lang)),
                footer(f, lang, filters_text, version), f.as_of, f.previous_as_of, version, f.preset, tuple(slides),
                previous_meeting)
