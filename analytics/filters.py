"""The global filter state shared by every page, and its URL form.

A filter set round-trips through the query string (`to_query` / `from_query`) so that a copied
link reproduces the view. Values from the URL are untrusted: each is checked against the
options the data offers, and what is dropped is reported as a `Problem` for the page to show.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from analytics import contract

PERIOD_RE = re.compile(r"^(?P<year>\d{4})(?:-(?:(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4])))?$")
ALL = "all"
# the URL parameters of the global filters; every other parameter but `lang` belongs to the page shown
FILTER_PARAMS = ("period", "region", "domain", "dept", "priority")
MAX_MULTI = 50  # a URL naming more values than this is not a view anyone built by hand


@dataclass(frozen=True)
class Filters:
    period: str = ALL  # "all", "YYYY", "YYYY-Qn" or "YYYY-MM"
    region_code: str | None = None  # the most specific region chosen; None = everything in scope
    domains: tuple[str, ...] = ()
    lead_depts: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()

    def with_region(self, code: str | None) -> Filters:
        return replace(self, region_code=code)


@dataclass(frozen=True)
class Problem:
    """A URL or filter value that was not accepted: which parameter, what value, what was expected."""

    param: str
    value: str
    expected: str  # in English, for logs and tests
    key: str = ""  # the locale key `filters.expect_<key>` saying it in the reader's language
    n: int = 0  # a number the words need (at most how many)


@dataclass(frozen=True)
class Options:
    """What the data offers; URL values are checked against it."""

    region_codes: frozenset[str]
    domains: tuple[str, ...]
    lead_depts: tuple[str, ...]
    periods: tuple[str, ...] = field(default=())


def cut_short(period: str, as_of: date) -> date | None:
    """The day `as_of` stops `period` at while the period is still running, else None (a whole period, or all
    time)."""
    if period == ALL:
        return None
    _, end = period_bounds(period, as_of)
    return end if end < period_bounds(period, date.max)[1] else None


def period_bounds(period: str, as_of: date) -> tuple[date | None, date]:
    """First and last day of `period`, the last clipped to `as_of`; (None, as_of) for all time."""
    if period == ALL:
        return None, as_of
    m = PERIOD_RE.match(period)
    if not m:
        raise ValueError(f"period {period!r}: expected all, YYYY, YYYY-Qn or YYYY-MM")
    year = int(m["year"])
    if m["month"]:
        start = date(year, int(m["month"]), 1)
        months = 1
    elif m["quarter"]:
        start = date(year, 3 * int(m["quarter"]) - 2, 1)
        months = 3
    else:
        start, months = date(year, 1, 1), 12
    end_month = start.month + months
    end = date(start.year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1) - timedelta(days=1)
    return start, min(end, as_of)


def recent_periods(as_of: date, years: int = 3) -> tuple[str, ...]:
    """Periods offered in the filter, newest first: all, then years, quarters and months up to as_of."""
    out: list[str] = [ALL]
    first_year = as_of.year - years + 1
    out += [str(y) for y in range(as_of.year, first_year - 1, -1)]
    for y in range(as_of.year, first_year - 1, -1):
        out += [f"{y}-Q{q}" for q in range(4, 0, -1) if date(y, 3 * q - 2, 1) <= as_of]
    for y in range(as_of.year, first_year - 1, -1):
        out += [f"{y}-{m:02d}" for m in range(12, 0, -1) if date(y, m, 1) <= as_of]
    return tuple(out)


def _split(raw: str | list[str] | None) -> list[str]:
    if raw is None:
        return []
    parts = raw if isinstance(raw, list) else [raw]
    return [v.strip() for p in parts for v in p.split(",") if v.strip()]


def _multi(param: str, raw, allowed, problems: list[Problem], expected: str, key: str) -> tuple[str, ...]:
    values = _split(raw)
    if len(values) > MAX_MULTI:
        problems.append(Problem(param, f"{len(values)} values", f"at most {MAX_MULTI}", "at_most", MAX_MULTI))
        values = values[:MAX_MULTI]
    kept = []
    for v in values:
        if v in allowed and v not in kept:
            kept.append(v)
        elif v not in allowed:
            problems.append(Problem(param, v[:80], expected, key))
    return tuple(kept)


def from_query(params: dict, options: Options) -> tuple[Filters, list[Problem]]:
    """Filters from URL query parameters; anything not offered by the data is dropped and reported."""
    problems: list[Problem] = []
    period = (_split(params.get("period")) or [ALL])[0]
    if period != ALL and (not PERIOD_RE.match(period) or (options.periods and period not in options.periods)):
        problems.append(Problem("period", period[:80], "all, YYYY, YYYY-Qn or YYYY-MM within the data's history", "period"))
        period = ALL
    region = (_split(params.get("region")) or [None])[0]
    if region is not None and region not in options.region_codes:
        problems.append(Problem("region", region[:80], "a region code within your scope", "region"))
        region = None
    filters = Filters(
        period=period,
        region_code=region,
        domains=_multi("domain", params.get("domain"), set(options.domains), problems, "a domain present in the data",
                       "domain"),
        lead_depts=_multi("dept", params.get("dept"), set(options.lead_depts), problems,
                          "a lead department present in the data", "dept"),
        priorities=_multi("priority", params.get("priority"), set(contract.PROJECTS.column("priority").allowed),
                          problems, "normal, key or urgent", "priority"),
    )
    return filters, problems


def to_query(f: Filters) -> dict[str, str]:
    """URL query parameters for `f`; defaults are left out so links stay short."""
    q: dict[str, str] = {}
    if f.period != ALL:
        q["period"] = f.period
    if f.region_code:
        q["region"] = f.region_code
    if f.domains:
        q["domain"] = ",".join(f.domains)
    if f.lead_depts:
        q["dept"] = ",".join(f.lead_depts)
    if f.priorities:
        q["priority"] = ",".join(f.priorities)
    return q
