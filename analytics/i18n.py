"""Text a user reads, in Simplified Chinese (default) and English, and formatting by language.

Strings live in `analytics/locales/{zh,en}.toml` (shared) and `analytics/locales/<page>.{zh,en}.toml` (one pair
per page key); a test checks both languages have the same keys and placeholders. Enumerated data values take their labels from the contract.
"""
from __future__ import annotations

import tomllib
import re
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from analytics import contract

LANGS = ("zh", "en")
DEFAULT_LANG = "zh"
LOCALE_DIR = Path(__file__).with_name("locales")


def _flatten(d: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out |= _flatten(v, key + ".")
        else:
            out[key] = v
    return out


@lru_cache(maxsize=None)
def catalog(lang: str) -> dict[str, str]:
    """`locales/{lang}.toml` plus one `locales/<page>.{lang}.toml` per page; a key defined twice is an error."""
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: expected one of {LANGS}")
    out: dict[str, str] = {}
    for path in [LOCALE_DIR / f"{lang}.toml", *sorted(LOCALE_DIR.glob(f"*.{lang}.toml"))]:
        with path.open("rb") as f:
            part = _flatten(tomllib.load(f))
        twice = sorted(set(part) & set(out))
        if twice:
            raise ValueError(f"{path.name}: keys already defined in another locale file: {twice[:5]}")
        out |= part
    return out


def normalise_lang(value: str | None) -> str:
    return value if value in LANGS else DEFAULT_LANG


def t(key: str, lang: str, **values) -> str:
    """The text for `key` in `lang`, with `{placeholders}` filled in."""
    text = catalog(lang)[key]
    return text.format(**values) if values else text


def tn(key: str, lang: str, n: int | float | None) -> str:
    """`key` with a count: `key_one` when there is exactly one and the language has such a form."""
    one = f"{key}_one"
    chosen = one if n == 1 and one in catalog(lang) else key
    return t(chosen, lang, n=fmt_int(n, lang))


def has(key: str, lang: str) -> bool:
    return key in catalog(lang)


def glossary(kind: str, value: str | None, lang: str) -> str:
    """Label of a data value with a known translation (domains, departments, provinces), else the value."""
    if value is None:
        return "—"
    if lang == "zh":
        return value
    known = catalog(lang).get(f"{kind}.{value}")
    if known is None and kind in ("province", "region"):  # any region: cities and counties in pinyin (analytics.placenames)
        from analytics import placenames

        return placenames.romanize(value)
    return value if known is None else known


_BATCH = re.compile(r"^(.*?)（第(\d+)批）$")


def milestone_name(name: str | None, lang: str) -> str:
    """A milestone's name with a known translation; "全面实施（第2批）" → "Full implementation (batch 2)"."""
    if name is None or lang == "zh":
        return "—" if name is None else name
    m = _BATCH.match(name)
    if m is None:
        return glossary("milestone", name, lang)
    return f"{glossary('milestone', m.group(1), lang)} (batch {int(m.group(2))})"


def choice_label(table: str, column: str, value: str | None, lang: str) -> str:
    """Label of an enumerated value from the contract, e.g. priority 'key' → 重点 / key."""
    if value is None:
        return "—"
    for c in contract.table(table).column(column).choices:
        if c.value == value:
            return c.zh if lang == "zh" else c.en
    return value


def fmt_int(n: int | float | None, lang: str) -> str:
    return "—" if n is None else f"{int(round(n)):,}"


def fmt_pct(x: float | None, lang: str, digits: int = 1) -> str:
    """A share given as 0–1, shown as a percentage."""
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def fmt_amount_wan(x: float | None, lang: str) -> str:
    """An amount held in 万元 (10,000 yuan): 万元/亿元 in Chinese; ¥ with k/mn/bn in English
    (the compact form fits a KPI card; 亿 = 100 mn)."""
    if x is None:
        return "—"
    if lang == "zh":
        return f"{x / 10_000:,.2f} 亿元" if abs(x) >= 10_000 else f"{x:,.1f} 万元"
    yuan = x * 10_000
    for size, word, digits in ((1e9, "bn", 2), (1e6, "mn", 1), (1e3, "k", 0)):
        if abs(yuan) >= size:
            return f"¥{yuan / size:,.{digits}f} {word}"
    return f"¥{yuan:,.0f}"


def fmt_date(d: date | datetime | None, lang: str) -> str:
    if d is None:
        return "—"
    if lang == "zh":
        return f"{d.year}年{d.month}月{d.day}日"
    return d.strftime("%d %b %Y").lstrip("0")


def _month(year: str, month: str, lang: str, name: str):
    """A month in a period label: its number in Chinese (2026年3月), its name in English (March 2026, not 2026-03)."""
    return int(month) if lang == "zh" else date(int(year), int(month), 1).strftime(name)


def fmt_period_short(period: str, lang: str) -> str:
    """A chart's category label: "第47周" / "wk 47", "2026年11月" / "2026-11", "2026年第3季度" / "Q3 2026" (the year is
    in the chart's title or its neighbours; eight full "2026年第47周" labels crowd a slide's axis)."""
    if "-W" in period:
        return t("period.week_short", lang, week=int(period.split("-W")[1]))
    if "-" in period and "-Q" not in period:
        y, m = period.split("-")
        return t("period.month_short", lang, year=y, month=_month(y, m, lang, "%b"))
    return fmt_period(period, lang)


_DEMO_SOURCE = re.compile(r"demo scale=([0-9.]+) seed=[0-9]+")


def source_label(source: str | None, lang: str) -> str:
    """A data version's source in the reader's words: the demo's generator record ("demo scale=1.0 seed=…", a
    setting on screen) reads "演示数据（规模 1.0）" / "demo data (scale 1.0)"; anything else as it is."""
    if not source:
        return "—"
    m = _DEMO_SOURCE.fullmatch(source)
    return t("data.demo_source", lang, scale=m.group(1)) if m else source


def fmt_period_axis(periods, lang: str) -> list[str]:
    """Category labels of consecutive periods, as short as they can be read: months carry their year only on the
    first label and where the year changes ("2026年5月", "6月", …, "2027年1月" / "May 2026", "Jun", …); weeks and
    quarters as `fmt_period_short`. Eight "2026年5月" labels overlapped on a slide's chart (issue 17)."""
    out, year = [], None
    for p in periods:
        if "-" in p and "-W" not in p and "-Q" not in p:
            y, m = p.split("-")
            if y == year:
                out.append(f"{int(m)}月" if lang == "zh" else date(int(y), int(m), 1).strftime("%b"))
            else:
                out.append(fmt_period_short(p, lang) if lang == "zh" else date(int(y), int(m), 1).strftime("%b %Y"))
            year = y
        else:
            out.append(fmt_period_short(p, lang))
    return out


def fmt_period(period: str, lang: str) -> str:
    """'all', 'YYYY', 'YYYY-Qn', 'YYYY-MM' or an ISO week 'YYYY-Www' for display."""
    if period == "all":
        return t("period.all", lang)
    if "-Q" in period:
        y, q = period.split("-Q")
        return t("period.quarter", lang, year=y, quarter=q)
    if "-W" in period:  # an ISO week of the series ("2026-W47"): words, not a code
        y, w = period.split("-W")
        return t("period.week", lang, year=y, week=int(w))
    if "-" in period:
        y, m = period.split("-")
        return t("period.month", lang, year=y, month=_month(y, m, lang, "%B"))
    return t("period.year", lang, year=period)


def period_note(period: str, as_of: date, lang: str) -> str:
    """What a figure under `period` covers, for a card's note: the as-of date for all time ("2026年12月4日"), else
    the period, with the date it stops at while it is still running ("2026年第3季度"; "2026年12月（截至2026年12月4日）")."""
    from analytics.filters import ALL, cut_short

    if period == ALL:
        return fmt_date(as_of, lang)
    end, name = cut_short(period, as_of), fmt_period(period, lang)
    return name if end is None else t("period.so_far", lang, period=name, date=fmt_date(end, lang))


def fmt_metric(unit: str, value: float | None, lang: str, signed: bool = False) -> str:
    """A metric value in its unit: share → %, pp → 个百分点 / pp, days, rating out of 5, score, count.
    `signed` puts a + before positive values (for changes)."""
    if value is None:
        return "—"
    sign = "+" if signed else ""
    if unit == "share":
        return f"{100 * value:{sign}.1f}%"
    if unit == "count":
        return f"{int(round(value)):{sign},}"
    if unit == "pp":
        return f"{value:{sign}.1f} 个百分点" if lang == "zh" else f"{value:{sign}.1f} pp"
    if unit == "days":
        return f"{value:{sign}.1f} 天" if lang == "zh" else f"{value:{sign}.1f} days"
    if unit == "rating":
        return f"{value:{sign}.2f} / 5"
    return f"{value:{sign}.1f}"


def fmt_change(unit: str, change: float | None, lang: str) -> str | None:
    """A change between periods, signed; shares change in percentage points."""
    if change is None:
        return None
    return fmt_metric("pp" if unit == "share" else unit, 100 * change if unit == "share" else change, lang,
                      signed=True)


def describe_filters(filters, region_names: list[str], lang: str) -> str:
    """One line naming the active filters, for page headers, exports and meeting decks. `region_names` is the
    chosen region's path from its province down (empty for none); the caller looks it up where it can."""
    parts = []
    if filters.period != "all":
        parts.append(fmt_period(filters.period, lang))
    if region_names:
        parts.append(" / ".join(glossary("province", n, lang) for n in region_names))
    sep = "、" if lang == "zh" else ", "
    for key, values in (("filters.domain", [glossary("domain", d, lang) for d in filters.domains]),
                        ("filters.dept", [glossary("dept", d, lang) for d in filters.lead_depts]),
                        ("filters.priority", [choice_label("projects", "priority", p, lang) for p in filters.priorities])):
        if values:
            parts.append(f"{t(key, lang)}{'：' if lang == 'zh' else ': '}{sep.join(values)}")
    if not parts:
        return t("filters.none_active", lang)
    return t("filters.active", lang, summary=" · ".join(parts))


def progress_gap(lag_pp: float, lang: str) -> str:
    """A progress gap in words: "进度落后计划 15 个百分点", "进度超前计划 4 个百分点" or "进度与计划持平" (a negative
    lag is ahead of plan, not "behind by -4")."""
    n = round(lag_pp)
    if n > 0:
        return t("attention.progress", lang, lag=f"{n}")
    if n < 0:
        return t("attention.progress_ahead", lang, lag=f"{-n}")
    return t("attention.progress_on", lang)


def fmt_day(d, lang: str) -> str:
    """A date without its year: "12月4日" / "4 Dec"."""
    return f"{d.month}月{d.day}日" if lang == "zh" else f"{d.day} {d.strftime('%b')}"


def fmt_day_axis(days, lang: str) -> list[str]:
    """Category labels of dates along an axis: the year on the first label and where it changes ("2026年7月5日",
    "7月12日", …, "2027年1月3日" / "5 Jul 2026", "12 Jul", …). Weekly series read "07-05" before (issue 17)."""
    out, year = [], None
    for d in days:
        out.append(fmt_day(d, lang) if d.year == year else (fmt_date(d, lang)))
        year = d.year
    return out
