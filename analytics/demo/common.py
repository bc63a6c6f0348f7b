"""Shared constants, small numpy/date helpers, the seasonal work calendar and the work curve."""
from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from analytics.demo import vocab as V

DAY0 = np.datetime64("1970-01-01", "D")
DEPTS = np.array(V.DEPARTMENTS, dtype=object)
ND = len(V.DEPARTMENTS)
DEPT_INDEX = {d: i for i, d in enumerate(V.DEPARTMENTS)}
DOMAIN_NAMES = list(V.DOMAINS)
RAG_LEVELS = np.array(["green", "amber_green", "amber", "amber_red", "red"], dtype=object)

# targets at scale 1
N_ITEMS = 20_000
DUP_SHARE = 0.05
N_FEEDBACK = 300_000
N_RECT = 30_000
HISTORY_DAYS = 3 * 365
REPORT_CHUNK_ITEMS = 40_000
WRITE_CHUNK_ROWS = 1_000_000  # rows per insert for the other big tables (their strings are made per chunk)
# DuckDB's own memory (its default is 80 % of RAM); past it, DuckDB spills to `<db>.tmp.spill/`
DUCKDB_MEMORY_LIMIT = "4GB"
RISK_INTERCEPT = -3.9


# --------------------------------------------------------------------------- small helpers
def day_number(d: dt.date) -> int:
    """Days since 1970-01-01."""
    return int((np.datetime64(d, "D") - DAY0).astype(np.int64))


def date_series(name: str, days: np.ndarray) -> pl.Series:
    return pl.Series(name, np.asarray(days, dtype=np.int32)).cast(pl.Date)


def masked(name: str, values, valid: np.ndarray) -> pl.Series:
    s = pl.Series(name, values)
    return pl.select(pl.when(pl.Series(np.asarray(valid, dtype=bool))).then(s).otherwise(None).alias(name)).to_series()


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def month_end(days: np.ndarray) -> np.ndarray:
    d = DAY0 + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    m = d.astype("datetime64[M]")
    return ((m + 1).astype("datetime64[D]") - 1 - DAY0).astype(np.int64)


def month_of(days: np.ndarray) -> np.ndarray:
    """1..12"""
    d = DAY0 + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    return (d.astype("datetime64[M]").astype(np.int64) % 12) + 1


def year_of(days: np.ndarray) -> np.ndarray:
    d = DAY0 + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    return d.astype("datetime64[Y]").astype(np.int64) + 1970


def group_offsets(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For items with `counts` rows each: (item index per row, position within item per row)."""
    counts = np.asarray(counts, dtype=np.int64)
    idx = np.repeat(np.arange(counts.size), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(idx.size) - np.repeat(starts, counts)
    return idx, pos


# --------------------------------------------------------------------------- calendar
class Calendar:
    """Seasonal work-rate multiplier per day and its cumulative sum (work capacity in 'plan days').

    Spring Festival (real dates) slows work to a near stop; National Day week slows it; December
    accelerates (year-end rush). Normalised so the average day is worth one plan day."""

    def __init__(self, first_day: int, last_day: int):
        days = np.arange(first_day, last_day + 1)
        m = np.ones(days.size)
        month = month_of(days)
        dom = (days - ((DAY0 + days.astype("timedelta64[D]")).astype("datetime64[M]").astype("datetime64[D]")
                       - DAY0).astype(np.int64)) + 1
        m[(month == 12) & (dom <= 15)] = 1.25
        m[(month == 12) & (dom > 15)] = 1.5
        m[(month == 1) & (dom <= 10)] = 0.85
        m[(month == 10) & (dom <= 7)] = 0.3
        years = year_of(days)
        sf = {int(s[:4]): day_number(dt.date.fromisoformat(s)) for s in V.SPRING_FESTIVAL}
        for y in range(int(years.min()), int(years.max()) + 1):
            s = sf.get(y, day_number(dt.date(y, 2, 1)))
            rel = days - s
            m[(rel >= -10) & (rel < -2)] = 0.7
            m[(rel >= -2) & (rel <= 7)] = 0.1
            m[(rel > 7) & (rel <= 20)] = 0.55
        m /= m.mean()
        self.mult = m
        self.base = first_day
        self.C = np.concatenate([[0.0], np.cumsum(m)])
        self.spring = np.array(sorted(sf.values()))

    def c(self, d):
        return self.C[np.clip(np.asarray(d, dtype=np.int64) - self.base, 0, self.C.size - 1)]

    def inv(self, v):
        return self.base + np.searchsorted(self.C, v, side="left")

    def near_spring_festival(self, d):
        d = np.asarray(d)
        i = np.clip(np.searchsorted(self.spring, d), 1, self.spring.size - 1)
        rel = np.minimum(np.abs(d - self.spring[i - 1]), np.abs(d - self.spring[i]))
        return rel <= 14


# --------------------------------------------------------------------------- work curve
def progress_curve(x, a):
    """Share of the result visible at work share x: linear (a=0) to S-shaped (a=1)."""
    x = np.clip(x, 0.0, 1.0)
    return (1 - a) * x + a * (3 * x * x - 2 * x * x * x)


def work_at(cal: Calendar, t, s0, ton, ton2, r0, r1, r2):
    """Work done (in plan days) by day t for items with the given (row-aligned) parameters."""
    ct, cs, co, co2 = cal.c(t), cal.c(s0), cal.c(ton), cal.c(ton2)
    return (r0 * (np.clip(ct, cs, co) - cs) + r1 * (np.clip(ct, co, co2) - co)
            + r2 * np.maximum(ct - co2, 0.0))


def day_reaching(cal: Calendar, x, s0, ton, ton2, r0, r1, r2):
    """First day on which the work done reaches x."""
    cs, co, co2 = cal.c(s0), cal.c(ton), cal.c(ton2)
    a1 = r0 * (co - cs)
    a2 = a1 + r1 * (co2 - co)
    v = np.where(x <= a1, cs + x / r0, np.where(x <= a2, co + (x - a1) / r1, co2 + (x - a2) / r2))
    return cal.inv(v)
