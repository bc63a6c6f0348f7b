"""Each slide's narrative, filled from the numbers with the zh/en templates in `locales/meeting.*.toml`.

Only numbers from `Facts` go in; where a number is missing the sentence says so rather than guessing.
"""
from __future__ import annotations

import polars as pl

from analytics import explain, i18n, metrics
from analytics.meeting.facts import Facts, RiskFacts


def t(key: str, lang: str, **values) -> str:
    return i18n.t(f"meeting.{key}", lang, **values)


def prev_word(preset: str, lang: str) -> str:
    return t(f"prev_{preset}", lang)


def count_change(now: int | None, before: int | None, preset: str, lang: str) -> str:
    """"较上周增加 5 项" / "5 more than last week"; "no comparison" without a previous count."""
    if now is None or before is None:
        return t("no_comparison", lang)
    d = int(now) - int(before)
    key = "count_up" if d > 0 else "count_down" if d < 0 else "count_same"
    return t(key, lang, n=i18n.fmt_int(abs(d), lang), prev=prev_word(preset, lang))


def shown_change(unit: str, d: float) -> float:
    """A change rounded as it is printed, so that "+0.0" is never called better or worse."""
    digits = {"share": 3, "count": 0, "rating": 2}.get(unit, 1)
    return round(d, digits) + 0.0  # + 0.0 turns -0.0 into 0.0


def metric_change(key: str, now: float | None, before: float | None, preset: str, lang: str) -> str:
    m = metrics.BY_KEY[key]
    if now is None or before is None:
        return t("no_comparison", lang)
    return t("metric_change", lang, change=i18n.fmt_change(m.unit, shown_change(m.unit, now - before), lang),
             prev=prev_word(preset, lang))


def value(key: str, record: dict, lang: str) -> str:
    return i18n.fmt_metric(metrics.BY_KEY[key].unit, record.get(key), lang)


def region_name(name: str | None, lang: str) -> str:
    return i18n.glossary("province", name, lang)


def listing(pairs: list[tuple[str, int]], lang: str) -> str:
    """"北京市（3 项）、安徽省（2 项）" / "Beijing (3), Anhui (2)"."""
    sep = "、" if lang == "zh" else ", "
    return sep.join(t("name_count", lang, name=name, n=i18n.fmt_int(n, lang)) for name, n in pairs)


def overview(f: Facts, lang: str, cards) -> str:
    """The overview slide's sentence, from the slide's own cards: how many improved and got worse is counted from
    their tones (the change rounded as printed), so "3 improved" never sits beside three cards saying worse."""
    better = sum(c.tone == "better" for c in cards)
    worse = sum(c.tone == "worse" for c in cards)
    return t("overview_text", lang, date=i18n.fmt_date(f.as_of, lang),
             n=i18n.fmt_int(f.total.get("n_in_flight"), lang),
             red_share=value("red_share", f.total, lang),
             red_change=metric_change("red_share", f.total.get("red_share"), f.total_previous.get("red_share"),
                                      f.preset, lang),
             index=value("index", f.total, lang),
             index_change=metric_change("index", f.total.get("index"), f.total_previous.get("index"), f.preset, lang),
             better=better, worse=worse, n_kpis=len(cards)) + _why(f, lang)


def _why(f: Facts, lang: str) -> str:
    """What the red share's change came from (analytics/explain.py), its parts adding up to the card's change."""
    if f.why is None or f.why.change is None or explain.pp(f.why.change) == 0:
        return ""
    return (" " if lang == "en" else "") + explain.summary(f.why, lang, head=False)


def red_regions(f: Facts, top: int = 3) -> list[tuple[str, int]]:
    """The regions one level down holding most red items (from the metrics' own per-region n_red)."""
    if f.league.is_empty():
        return []
    rows = f.league.filter(pl.col("n_red") > 0).sort(["n_red", "region_code"], descending=[True, False]).head(top)
    return [(r["name"], r["n_red"]) for r in rows.iter_rows(named=True)]


def attention(f: Facts, lang: str) -> str:
    n_red = f.total.get("n_red")
    text = t("attention_text", lang, now=t(f"now_{f.preset}", lang), n=i18n.fmt_int(n_red, lang),
             change=count_change(n_red, f.total_previous.get("n_red"), f.preset, lang),
             new=i18n.fmt_int(int(f.attention["is_new_red"].sum()), lang),
             worse=i18n.fmt_int(int((f.attention["light"] != "red").sum()), lang))
    places = red_regions(f)
    if places:
        text += t("attention_where", lang, regions=listing([(region_name(n, lang), c) for n, c in places], lang))
    return text + t("end", lang)


def regions(f: Facts, lang: str, min_n: int) -> str:
    if f.league.is_empty():
        return t("regions_none", lang)
    ranked = f.league.filter(pl.col("rank").is_not_null()).sort("rank")
    n_small = int(f.league["is_small"].sum())
    if ranked.is_empty():
        return t("regions_all_small", lang, n=i18n.fmt_int(f.league.height, lang), min_n=min_n)
    best, worst = ranked.row(0, named=True), ranked.row(-1, named=True)
    return t("regions_text", lang, n=i18n.fmt_int(ranked.height, lang), min_n=min_n,
             best=region_name(best["name"], lang), best_index=f"{best['index']:.1f}",
             worst=region_name(worst["name"], lang), worst_index=f"{worst['index']:.1f}",
             up=int((ranked["trend"] == "up").sum()), down=int((ranked["trend"] == "down").sum()),
             prev=prev_word(f.preset, lang), small=i18n.fmt_int(n_small, lang))


def risk(f: Facts, lang: str) -> str:
    r = f.risk
    if not isinstance(r, RiskFacts):
        return t(f"risk_{r}", lang, date=i18n.fmt_date(f.as_of, lang))
    not_red = int((r.high["light"] != "red").sum())
    if r.new_ids is None:
        return t("risk_text_unknown", lang, n=i18n.fmt_int(r.high.height, lang), not_red=i18n.fmt_int(not_red, lang),
                 date=i18n.fmt_date(f.previous_as_of, lang))
    return t("risk_text", lang, n=i18n.fmt_int(r.high.height, lang), new=i18n.fmt_int(len(r.new_ids), lang),
             not_red=i18n.fmt_int(not_red, lang), date=i18n.fmt_date(f.previous_as_of, lang),
             earlier=i18n.fmt_date(r.earlier_as_of, lang))


def rect_counts(f: Facts) -> dict[str, int]:
    return {r["state"]: int(r["n_rect"]) for r in f.rect_status.iter_rows(named=True)}


def rectification(f: Facts, lang: str) -> str:
    counts = rect_counts(f)
    n_new = int(f.rect_status["n_new"].sum()) if f.rect_status.height else 0
    rate = f.total.get("rect_completion_rate")
    m = metrics.BY_KEY["rect_completion_rate"]
    verdict = "" if rate is None else t("target_met" if rate >= m.target else "target_missed", lang)
    return t("rect_text", lang, rate=value("rect_completion_rate", f.total, lang),
             target=i18n.fmt_metric("share", m.target, lang), verdict=verdict,
             overdue=i18n.fmt_int(f.total.get("rect_overdue"), lang),
             change=count_change(f.total.get("rect_overdue"), f.total_previous.get("rect_overdue"), f.preset, lang),
             new=i18n.fmt_int(n_new, lang), closed=i18n.fmt_int(counts.get("closed", 0), lang),
             date=i18n.fmt_date(f.previous_as_of, lang))


def feedback(f: Facts, lang: str) -> str:
    fb = f.feedback
    sat = t("feedback_rates", lang, satisfied=value("satisfied_share", f.total, lang),
            target=i18n.fmt_metric("share", metrics.BY_KEY["satisfied_share"].target, lang),
            answered=value("answered_in_time", f.total, lang))
    if fb.is_empty():
        return t("feedback_none", lang, date=i18n.fmt_date(f.previous_as_of, lang)) + sat
    top = fb.filter(pl.col("n_complaints") > 0).head(3)
    text = t("feedback_text", lang, date=i18n.fmt_date(f.previous_as_of, lang),
             n=i18n.fmt_int(int(fb["n_feedback"].sum()), lang), complaints=i18n.fmt_int(int(fb["n_complaints"].sum()), lang))
    if top.height:
        text += t("feedback_about", lang, categories=listing(
            [(r["category"] or t("no_category", lang), r["n_complaints"]) for r in top.iter_rows(named=True)], lang))
    return text + sat


def decisions(previous: dict, previous_as_of, lang: str) -> str:
    if previous_as_of is None:
        return t("decisions_first", lang)
    return t("decisions_text", lang, date=i18n.fmt_date(previous_as_of, lang), n=i18n.fmt_int(len(previous), lang))
