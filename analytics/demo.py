"""Deterministic, realistic demo data for the cockpit (see docs/demo-data.md).

`generate(db_path, scale, seed, as_of, progress)` writes a complete DuckDB file. Items slip for
reasons that show in the data before the slip (co-departments, thin county capacity, weak lead
departments, late starts, funding problems, slowing velocity, revised forecasts, open
rectifications, rising complaints), plus noise. Planted ground truth (beautified reports,
duplicate items, per-item latent factors) goes to the sidecar folder `<db_path>.truth/`, never
into the database.

Everything is vectorised with numpy/polars; the only Python loops run over items (not reports)
or over the few hundred beautified items.
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from . import demo_vocab as V
from . import store

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
RISK_INTERCEPT = -3.9


# --------------------------------------------------------------------------- small helpers
def _days(d: dt.date) -> int:
    return int((np.datetime64(d, "D") - DAY0).astype(np.int64))


def _date_series(name: str, days: np.ndarray) -> pl.Series:
    return pl.Series(name, np.asarray(days, dtype=np.int32)).cast(pl.Date)


def _masked(name: str, values, valid: np.ndarray) -> pl.Series:
    s = pl.Series(name, values)
    return pl.select(pl.when(pl.Series(np.asarray(valid, dtype=bool))).then(s).otherwise(None).alias(name)).to_series()


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _month_end(days: np.ndarray) -> np.ndarray:
    d = DAY0 + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    m = d.astype("datetime64[M]")
    return ((m + 1).astype("datetime64[D]") - 1 - DAY0).astype(np.int64)


def _month_of(days: np.ndarray) -> np.ndarray:
    """1..12"""
    d = DAY0 + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    return (d.astype("datetime64[M]").astype(np.int64) % 12) + 1


def _year_of(days: np.ndarray) -> np.ndarray:
    d = DAY0 + np.asarray(days, dtype=np.int64).astype("timedelta64[D]")
    return d.astype("datetime64[Y]").astype(np.int64) + 1970


def _group_offsets(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
        month = _month_of(days)
        dom = (days - ((DAY0 + days.astype("timedelta64[D]")).astype("datetime64[M]").astype("datetime64[D]")
                       - DAY0).astype(np.int64)) + 1
        m[(month == 12) & (dom <= 15)] = 1.25
        m[(month == 12) & (dom > 15)] = 1.5
        m[(month == 1) & (dom <= 10)] = 0.85
        m[(month == 10) & (dom <= 7)] = 0.3
        years = _year_of(days)
        sf = {int(s[:4]): _days(dt.date.fromisoformat(s)) for s in V.SPRING_FESTIVAL}
        for y in range(int(years.min()), int(years.max()) + 1):
            s = sf.get(y, _days(dt.date(y, 2, 1)))
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


def _shape(x, a):
    x = np.clip(x, 0.0, 1.0)
    return (1 - a) * x + a * (3 * x * x - 2 * x * x * x)


def _work_at(cal: Calendar, t, s0, ton, ton2, r0, r1, r2):
    """Work done (in plan days) by day t for items with the given (row-aligned) parameters."""
    ct, cs, co, co2 = cal.c(t), cal.c(s0), cal.c(ton), cal.c(ton2)
    return (r0 * (np.clip(ct, cs, co) - cs) + r1 * (np.clip(ct, co, co2) - co)
            + r2 * np.maximum(ct - co2, 0.0))


def _day_reaching(cal: Calendar, x, s0, ton, ton2, r0, r1, r2):
    """First day on which the work done reaches x."""
    cs, co, co2 = cal.c(s0), cal.c(ton), cal.c(ton2)
    a1 = r0 * (co - cs)
    a2 = a1 + r1 * (co2 - co)
    v = np.where(x <= a1, cs + x / r0, np.where(x <= a2, co + (x - a1) / r1, co2 + (x - a2) / r2))
    return cal.inv(v)


# --------------------------------------------------------------------------- regions
class Geo:
    def __init__(self, regions: pl.DataFrame):
        regions = regions.sort("region_code")
        prov_codes = list(V.PROVINCES)
        self.prov_codes = np.array(prov_codes, dtype=object)
        self.prov_index = {c: i for i, c in enumerate(prov_codes)}
        pop = np.array([V.PROVINCES[c][1] for c in prov_codes], float)
        gdp = np.array([V.PROVINCES[c][2] for c in prov_codes], float)
        self.prov_pop_p = pop / pop.sum()
        self.prov_west = np.array([V.PROVINCES[c][3] for c in prov_codes])
        self.prov_north = np.array([V.PROVINCES[c][4] for c in prov_codes])
        lg = np.log(gdp)
        self.prov_wealth = (lg - lg.mean()) / lg.std()
        names = dict(zip(regions["region_code"].to_list(), regions["name"].to_list()))
        self.names = names
        rows = regions.filter(pl.col("region_code").str.slice(0, 2).is_in([c[:2] for c in prov_codes]))
        cities = rows.filter(pl.col("level") == "city")
        counties = rows.filter(pl.col("level") == "county")
        self.city_codes = np.array(cities["region_code"].to_list(), dtype=object)
        self.city_prov = np.array([self.prov_index[c[:2] + "0000"] for c in self.city_codes])
        self.county_codes = np.array(counties["region_code"].to_list(), dtype=object)
        self.county_prov = np.array([self.prov_index[c[:2] + "0000"] for c in self.county_codes])
        city_index = {c: i for i, c in enumerate(self.city_codes)}
        parents = counties["parent_code"].to_list()
        self.county_city = np.array([city_index.get(p, -1) for p in parents])  # -1: directly under province
        # dept-effect groups: every city, plus one group per province for counties directly under it
        self.county_group = np.where(self.county_city >= 0, self.county_city, len(self.city_codes) + self.county_prov)
        self.city_group = np.arange(len(self.city_codes))
        self.n_groups = len(self.city_codes) + len(prov_codes)
        # lookup tables: counties per province, cities per province, counties per city
        self.county_by_prov = self._index(self.county_prov, len(prov_codes))
        self.city_by_prov = self._index(self.city_prov, len(prov_codes))
        self.county_by_city = self._index(np.where(self.county_city >= 0, self.county_city, len(self.city_codes)),
                                          len(self.city_codes) + 1)

    @staticmethod
    def _index(keys, n):
        order = np.argsort(keys, kind="stable")
        counts = np.bincount(keys, minlength=n)
        starts = np.cumsum(counts) - counts
        return order, starts, counts

    @staticmethod
    def pick_in(table, key, u):
        """Row of a random member of group `key` (u uniform in [0,1)); -1 where the group is empty."""
        order, starts, counts = table
        c = counts[key]
        pos = starts[key] + np.minimum((u * c).astype(np.int64), np.maximum(c - 1, 0))
        return np.where(c > 0, order[np.minimum(pos, order.size - 1)], -1)


# --------------------------------------------------------------------------- policies and indicators
def _policies(rng, as_of: int, h0: int):
    counts = {"乡村振兴": 4, "营商环境": 4, "民生保障": 4, "生态环保": 4, "教育": 3, "医疗卫生": 3,
              "社会保障": 3, "安全生产": 3, "基础设施": 4, "科技创新": 3, "就业": 3, "文化旅游": 2}
    rows = []
    for domain, n in counts.items():
        topics = V.POLICY_TOPICS[domain]
        for j in range(n):
            issued = int(h0 - 500 + rng.integers(0, as_of - 120 - (h0 - 500)))
            y = int(_year_of(np.array([issued]))[0])
            span = int(rng.choice([1, 2, 3]))
            end = _days(dt.date(y + span, 12, 31))
            form = V.POLICY_FORMS[int(rng.integers(len(V.POLICY_FORMS)))]
            name = form.format(t=topics[j % len(topics)], y=y + (1 if "三年" in form else 0), z=y + 3)
            rows.append((domain, name, issued, end))
    rows.sort(key=lambda r: (r[2], r[1]))
    seq_by_year: dict[int, int] = {}
    out = []
    for domain, name, issued, end in rows:
        y = int(_year_of(np.array([issued]))[0])
        seq_by_year[y] = seq_by_year.get(y, 0) + 1
        out.append((f"ZC{y}-{seq_by_year[y]:03d}", name, domain, V.DOMAINS[domain][0], issued, end))
    df = pl.DataFrame({
        "policy_id": [r[0] for r in out], "name": [r[1] for r in out], "domain": [r[2] for r in out],
        "policy_type": [r[3] for r in out],
        "issued_date": _date_series("issued_date", np.array([r[4] for r in out])),
        "end_date": _date_series("end_date", np.array([r[5] for r in out])),
    })
    return df


def _quarter_index(days):
    y = _year_of(days)
    return y * 4 + (_month_of(days) - 1) // 3


def _indicators(rng, policies: pl.DataFrame, geo: Geo, prov_cap: np.ndarray, city_cap: np.ndarray,
                as_of: int, h0: int):
    ind_rows = []
    leaves = []  # (indicator_id, policy index, name, unit, direction, base, spread, is_count)
    for pi, (pid, domain) in enumerate(zip(policies["policy_id"].to_list(), policies["domain"].to_list())):
        for a, (l1, l2s) in enumerate(V.LEVEL1, start=1):
            id1 = f"{pid}-{a}"
            ind_rows.append((id1, l1, pid, None, None, "higher_is_better"))
            for b, l2 in enumerate(l2s, start=1):
                id2 = f"{id1}.{b}"
                ind_rows.append((id2, l2, pid, id1, None, "higher_is_better"))
                specs = V.DOMAIN_LEAVES[domain] if l2 == "数量指标" else V.GENERIC_LEAVES[l2]
                for c, (name, unit, direction, base, spread) in enumerate(specs, start=1):
                    id3 = f"{id2}.{c}"
                    ind_rows.append((id3, name, pid, id2, unit, direction))
                    is_count = unit not in ("%", "天", "个工作日", "微克/立方米", "人") or name == "生产安全事故死亡人数"
                    leaves.append((id3, pi, name, unit, direction, base, spread, is_count, l2))
    indicators = pl.DataFrame(ind_rows, schema=["indicator_id", "name", "policy_id", "parent_indicator_id",
                                                "unit", "direction"], orient="row")
    issued = (policies["issued_date"].cast(pl.Int32).to_numpy()).astype(np.int64)
    ends = (policies["end_date"].cast(pl.Int32).to_numpy()).astype(np.int64)
    q_asof = int(_quarter_index(np.array([as_of]))[0])
    q_first = int(_quarter_index(np.array([h0]))[0])
    # which policies also get city values (cheap subset)
    n_pol = policies.height
    city_pols = set(range(0, n_pol, 5))
    frames = []
    for (iid, pi, name, unit, direction, base, spread, is_count, l2) in leaves:
        q0 = max(int(_quarter_index(issued[pi:pi + 1])[0]), q_first)
        q1 = min(int(_quarter_index(ends[pi:pi + 1])[0]), (q_asof // 4) * 4 + 3)
        if q1 < q0:
            continue
        qs = np.arange(q0, q1 + 1)
        lvl_regions = [("province", geo.prov_codes, geo.prov_pop_p * len(geo.prov_codes), prov_cap)]
        if pi in city_pols and l2 in ("数量指标", "服务对象满意度指标"):
            cpop = geo.prov_pop_p[geo.city_prov] * len(geo.prov_codes)
            cnt = np.bincount(geo.city_prov, minlength=len(geo.prov_codes))[geo.city_prov]
            lvl_regions.append(("city", geo.city_codes, cpop / cnt, city_cap))
        for _, codes, popf, cap in lvl_regions:
            nr = len(codes)
            r_idx = np.repeat(np.arange(nr), qs.size)
            q = np.tile(qs, nr)
            trend = (q - q0) / 4.0  # years since start
            qn = q % 4  # 0..3
            lvl = base * (1 + 0.15 * rng.standard_normal(nr))[r_idx]
            higher = direction == "higher_is_better"
            if is_count:
                target = lvl * popf[r_idx] / 4 * (1 + 0.05 * trend)
                seas = np.array([0.8, 1.0, 1.05, 1.15])[qn]
                actual = target * seas * (1 + 0.08 * cap[r_idx] + 0.08 * rng.standard_normal(r_idx.size))
                if not higher:
                    actual = target * (1 - 0.06 * cap[r_idx] + 0.1 * rng.standard_normal(r_idx.size))
            else:
                step = 0.02 * spread * trend * (1 if higher else -1)
                target = lvl + step
                noise = 0.25 * spread * rng.standard_normal(r_idx.size)
                actual = target + (0.3 * spread * cap[r_idx] if higher else -0.3 * spread * cap[r_idx]) + noise
                actual = actual - np.where(qn == 0, 0.15 * spread, 0) * (1 if higher else -1)
            if unit == "%":
                target = np.clip(target, 0, 99.5)
                actual = np.clip(actual, 0, 100)
            target = np.maximum(target, 0)
            actual = np.maximum(actual, 0)
            done = q < q_asof  # quarter ended before as_of's quarter
            frames.append(pl.DataFrame({
                "indicator_id": np.full(r_idx.size, iid, dtype=object).tolist(),
                "region_code": codes[r_idx].tolist(),
                "period": [f"{int(x) // 4}-Q{int(x) % 4 + 1}" for x in q],
                "target_value": np.round(target, 2),
                "actual_value": np.where(done, np.round(actual, 2), np.nan),
            }).with_columns(pl.col("actual_value").fill_nan(None)))
    values = pl.concat(frames).sort(["indicator_id", "region_code", "period"])
    return indicators, values


# --------------------------------------------------------------------------- items
def _items(rng, geo: Geo, cal: Calendar, scale: float, as_of: int, h0: int):
    n_total = max(20, int(round(N_ITEMS * scale)))
    n_dup = int(round(n_total * DUP_SHARE))
    n = n_total - n_dup
    tasks = V.TASKS
    nt = len(tasks)
    dom_w = np.array([V.DOMAINS[d][1] for d in DOMAIN_NAMES])
    task_dom = np.array([DOMAIN_NAMES.index(t[0]) for t in tasks])
    task_w = dom_w[task_dom] / np.bincount(task_dom)[task_dom]
    task = rng.choice(nt, size=n, p=task_w / task_w.sum())

    level = rng.choice(4, size=n, p=[0.725, 0.17, 0.10, 0.005])  # county, city, province, country
    # denser where people are, with a floor so that small provinces (西藏, 青海) still have items
    p_prov = 0.88 * geo.prov_pop_p + 0.12 / len(geo.prov_codes)
    prov = rng.choice(len(geo.prov_codes), size=n, p=p_prov / p_prov.sum())
    u = rng.random(n)
    county = Geo.pick_in(geo.county_by_prov, prov, u)
    city = Geo.pick_in(geo.city_by_prov, prov, u)
    level = np.where((level == 1) & (city < 0), 0, level)  # municipalities: no city level → district
    items = {"task": task, "level": level, "prov": prov, "county": np.where(level == 0, county, -1),
             "city": np.where(level == 1, city, np.where(level == 0, np.maximum(geo.county_city[county], -1), -1))}

    # dates: starts spread over the history, more launched in Feb–Apr (after the 两会)
    lo, hi = h0 - 60, as_of + 45
    start = rng.integers(lo, hi, size=n)
    spring = rng.random(n) < 0.3
    y = _year_of(start)
    alt = np.array([_days(dt.date(int(yy), 2, 15)) for yy in y]) + rng.integers(0, 60, size=n)
    start = np.where(spring & (alt >= lo) & (alt < hi), alt, start)
    dur_lo = np.array([t[6][0] for t in tasks])[task]
    dur_hi = np.array([t[6][1] for t in tasks])[task]
    dur = (1.65 * (dur_lo + rng.random(n) * (dur_hi - dur_lo))).astype(np.int64)

    cat_names = V.CATEGORIES
    dom = task_dom[task]
    dname = np.array(DOMAIN_NAMES, dtype=object)[dom]
    src = rng.choice(len(V.SOURCES), size=n, p=[0.3, 0.28, 0.15, 0.07, 0.08, 0.12])
    cat = np.full(n, 0)
    r = rng.random(n)
    cat = np.where(np.isin(dname, ["民生保障", "教育", "医疗卫生", "社会保障", "就业"]) & (r < 0.55), 1, cat)
    cat = np.where((dname == "营商环境") & (r < 0.7), 2, cat)
    cat = np.where((dname == "基础设施") & (r < 0.5), 4, cat)
    cat = np.where((dname == "安全生产") & (r < 0.35), 3, cat)
    cat = np.where((r > 0.93), 3, cat)
    cat = np.where((V.SOURCES.index("审计发现") == src) & (rng.random(n) < 0.6), 5, cat)
    dur = np.where((cat == 0) & (rng.random(n) < 0.3), (dur * 1.6).astype(np.int64), dur)
    dur = np.where(cat == 3, rng.integers(30, 121, size=n), dur)
    planned_end = start + dur
    # 民生实事 are mostly due by year end ("年底前完成"); many deadlines are month ends
    ye = np.array([_days(dt.date(int(yy), 12, 31)) for yy in _year_of(start)])
    ye = np.where(ye - start < 120, ye + 365, ye)
    planned_end = np.where((cat == 1) & (rng.random(n) < 0.6), ye, planned_end)
    me = _month_end(planned_end)
    planned_end = np.where(rng.random(n) < 0.5, me, planned_end)
    priority = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    priority = np.where(cat == 3, np.where(rng.random(n) < 0.7, 2, 1), priority)

    lead = np.array([DEPT_INDEX[t[2]] for t in tasks])[task]
    co_cand = np.zeros((nt, ND))
    for i, t in enumerate(tasks):
        for c in t[3]:
            co_cand[i, DEPT_INDEX[c]] = 1.0
    swap = rng.random(n) < 0.08  # sometimes a co-department leads
    scores = rng.random((n, ND)) + 1.5 * co_cand[task]
    scores[np.arange(n), lead] = -9
    alt_lead = np.argmax(scores, axis=1)
    lead = np.where(swap, alt_lead, lead)
    n_co = rng.choice(7, size=n, p=[0.12, 0.2, 0.22, 0.18, 0.13, 0.09, 0.06])
    n_co = np.where(level >= 2, np.minimum(n_co + rng.integers(0, 2, size=n), 6), n_co)
    scores = rng.random((n, ND)) + 1.2 * co_cand[task]
    scores[np.arange(n), lead] = -9
    co_order = np.argsort(-scores, axis=1, kind="stable")[:, :6]

    items.update(start=start, planned_end=planned_end, dom=dom, src=src, cat=cat, priority=priority,
                 lead=lead, n_co=n_co, co_order=co_order, orig=np.full(n, -1))

    # ---- duplicates: the same task reaching the office by another channel
    o = np.sort(rng.choice(n, size=n_dup, replace=False))
    d = {k: v[o].copy() for k, v in items.items()}
    d["orig"] = o
    rr = rng.random(n_dup)
    # nested region: county → its city (25%), city → one of its counties (35%); else same region
    up = (d["level"] == 0) & (d["city"] >= 0) & (rr < 0.25)
    d["level"] = np.where(up, 1, d["level"])
    d["county"] = np.where(up, -1, d["county"])
    down = (d["level"] == 1) & (rr > 0.65) & ~up
    dc = Geo.pick_in(geo.county_by_city, np.maximum(d["city"], 0), rng.random(n_dup))
    down &= dc >= 0
    d["level"] = np.where(down, 0, d["level"])
    d["county"] = np.where(down, dc, d["county"])
    d["src"] = (d["src"] + rng.integers(1, len(V.SOURCES), size=n_dup)) % len(V.SOURCES)
    d["cat"] = np.where(rng.random(n_dup) < 0.3, rng.integers(0, len(cat_names) - 1, size=n_dup), d["cat"])
    d["start"] = d["start"] + rng.integers(-30, 46, size=n_dup)
    ddur = ((d["planned_end"] - items["start"][o]) * rng.uniform(0.85, 1.2, size=n_dup)).astype(np.int64)
    d["planned_end"] = d["start"] + np.maximum(ddur, 30)
    d["priority"] = np.where(rng.random(n_dup) < 0.3, rng.integers(0, 3, size=n_dup), d["priority"])
    # lead: same, or one of the original's co-departments (then the original lead co-operates)
    has_co = d["n_co"] > 0
    sw = has_co & (rng.random(n_dup) < 0.3)
    new_lead = np.where(sw, d["co_order"][:, 0], d["lead"])
    bonus = np.zeros((n_dup, ND))
    rows = np.arange(n_dup)
    for j in range(6):
        m = j < d["n_co"]
        bonus[rows[m], d["co_order"][m, j]] = 2.5
    bonus[rows, d["lead"]] = np.where(sw, 3.0, 0.0)
    sc = rng.random((n_dup, ND)) + bonus + 0.8 * co_cand[d["task"]]
    sc[rows, new_lead] = -9
    d["lead"] = new_lead
    d["co_order"] = np.argsort(-sc, axis=1, kind="stable")[:, :6]
    d["n_co"] = np.clip(d["n_co"] + rng.integers(-1, 2, size=n_dup), 0, 6)
    for k in items:
        items[k] = np.concatenate([items[k], d[k]])
    n = n_total
    items["is_dup"] = np.arange(n) >= n - n_dup

    # ---- latent factors (never stored in the DB)
    lv = items["level"]
    p = items["prov"]
    prov_cap = 0.7 * geo.prov_wealth - 0.45 * geo.prov_west + 0.25 * rng.standard_normal(len(geo.prov_codes))
    county_cap = prov_cap[geo.county_prov] + 0.75 * rng.standard_normal(len(geo.county_codes))
    city_cap = prov_cap[geo.city_prov] + 0.45 * rng.standard_normal(len(geo.city_codes)) + 0.2
    cap = np.where(lv == 0, county_cap[np.maximum(items["county"], 0)],
                   np.where(lv == 1, city_cap[np.maximum(items["city"], 0)],
                            np.where(lv == 2, prov_cap[p] + 0.35, 0.6)))
    sd = cap.std() or 1.0
    cap = cap / sd
    prov_dept = 0.6 * rng.standard_normal((len(geo.prov_codes), ND))
    group_dept = 0.75 * rng.standard_normal((geo.n_groups, ND))
    grp = np.where(lv == 0, geo.county_group[np.maximum(items["county"], 0)],
                   np.where(lv == 1, np.maximum(items["city"], 0), -1))
    dept = prov_dept[p, items["lead"]] + np.where(grp >= 0, group_dept[np.maximum(grp, 0), items["lead"]], 0)
    dept = np.where(lv == 3, 0.0, dept)
    z_co = (items["n_co"] - 2.6) / 1.6
    fund_issue = rng.random(n) < _sigmoid(-1.2 - 0.6 * cap + 0.2 * z_co)
    fund_kind = np.where(rng.random(n) < 0.6, -1, 1) * fund_issue  # -1: funds late, +1: spent ahead
    late_flag = rng.random(n) < _sigmoid(-1.9 - 0.6 * cap + 0.3 * z_co + 0.3 * dept)
    late_days = np.where(late_flag, 10 + rng.gamma(2.0, 15.0, size=n), 0).astype(np.int64)
    urgent = items["priority"] == 2
    signal = (0.55 * z_co - 0.6 * cap + 0.5 * dept + 1.1 * fund_issue + 0.5 * late_flag - 0.35 * urgent)
    noise = 1.0 * rng.standard_normal(n)
    lp = RISK_INTERCEPT + signal + noise
    slow = np.minimum(0.9 * np.exp(lp), 3.0)  # 0: on plan; 1: half speed after onset
    rho = 1.0 / (1.0 + slow)
    r0 = np.exp(0.06 * rng.standard_normal(n))
    dur = items["planned_end"] - items["start"]
    s0 = items["start"] + late_days
    onset_frac = rng.uniform(0.15, 0.7, size=n)
    ton = s0 + np.maximum((onset_frac * dur).astype(np.int64), 1)
    ramp = rng.integers(21, 50, size=n)
    ton2 = ton + ramp
    r1 = r0 * (1 + rho) / 2
    r2 = r0 * rho
    end = _day_reaching(cal, dur.astype(float), s0, ton, ton2, r0, r1, r2)
    end = np.maximum(end, items["start"] + 1)
    shape_a = rng.choice([0.0, 0.5, 1.0], size=n, p=[0.3, 0.4, 0.3])
    # termination: a few started items are stopped (merged, cancelled by a later decision)
    term = (rng.random(n) < 0.015) & (items["start"] < as_of - 30)
    term_day = items["start"] + (rng.uniform(0.2, 0.8, size=n) * (np.minimum(end, as_of) - items["start"])).astype(
        np.int64)
    term &= term_day < np.minimum(end, as_of)
    # reporting: weekly mostly, some monthly; late starters sometimes report only once started
    monthly = rng.random(n) < 0.10
    rstart = np.where(late_flag & (rng.random(n) < 0.5), s0, items["start"])
    thin = rng.random(n) < (0.08 + 0.08 * _sigmoid(-cap))  # reports only forecast + RAG
    budget_null = rng.random(n) < 0.04
    items.update(cap=cap, dept=dept, fund_kind=fund_kind, late_days=late_days, slow=slow, lp=lp,
                 r0=r0, r1=r1, r2=r2, s0=s0, ton=ton, ton2=ton2, end=end, dur=dur, shape_a=shape_a,
                 term=term, term_day=term_day, monthly=monthly, rstart=rstart, thin=thin, budget_null=budget_null)
    return items, prov_cap, city_cap


# --------------------------------------------------------------------------- reports
def _report_rows(it: dict, sel: np.ndarray, cal: Calendar, as_of: int):
    """(item index, report day) for the selected items, sorted by item then day."""
    rstart = it["rstart"][sel]
    last = np.minimum(np.minimum(it["end"][sel], as_of), np.where(it["term"][sel], it["term_day"][sel], 1 << 40))
    monthly = it["monthly"][sel]
    # weekly on Fridays (day % 7 == 1 counted from 1970-01-01, a Thursday)
    first_w = rstart + ((1 - rstart) % 7)
    n_w = np.where(last >= first_w, (last - first_w) // 7 + 1, 0)
    m0 = (DAY0 + rstart.astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64)
    m1 = (DAY0 + last.astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64)
    me1 = _month_end(last)
    m1 = np.where(me1 > last, m1 - 1, m1)
    n_m = np.maximum(m1 - m0 + 1, 0)
    cnt = np.where(monthly, n_m, n_w)
    completed = (it["end"][sel] <= as_of) & ~it["term"][sel] & (last >= rstart)
    # a final report on the completion day
    idx, pos = _group_offsets(cnt)
    wk = first_w[idx] + 7 * pos
    mo = ((np.datetime64("1970-01", "M") + (m0[idx] + pos + 1).astype("timedelta64[M]")).astype("datetime64[D]")
          - 1 - DAY0).astype(np.int64)
    day = np.where(monthly[idx], mo, wk)
    fin_items = np.nonzero(completed)[0]
    fin_day = it["end"][sel][fin_items]
    idx = np.concatenate([idx, fin_items])
    day = np.concatenate([day, fin_day])
    order = np.lexsort((day, idx))
    idx, day = idx[order], day[order]
    keep = np.ones(idx.size, bool)
    keep[1:] = ~((idx[1:] == idx[:-1]) & (day[1:] == day[:-1]))
    return sel[idx[keep]], day[keep]


def _reports_chunk(rng, it: dict, sel: np.ndarray, cal: Calendar, as_of: int, ids: np.ndarray,
                   budget: np.ndarray, beaut: np.ndarray, inspections: np.ndarray):
    ii, t = _report_rows(it, sel, cal, as_of)
    nrow = ii.size
    dur = it["dur"][ii].astype(float)
    work = _work_at(cal, t, it["s0"][ii], it["ton"][ii], it["ton2"][ii], it["r0"][ii], it["r1"][ii], it["r2"][ii])
    a = it["shape_a"][ii]
    true = 100 * _shape(work / dur, a)
    done = t >= it["end"][ii]
    true = np.where(done, 100.0, np.minimum(true, 99.5))
    plan = 100 * _shape((t - it["start"][ii]) / dur, a)
    rep = np.clip(true + 0.8 * rng.standard_normal(nrow), 0, 100)
    rep = np.where(done, 100.0, np.minimum(rep, 99.5))
    # spending: proportional to work, convex if funds arrive late, concave if spent ahead of work
    fk = it["fund_kind"][ii]
    expo = np.where(fk < 0, 2.3, np.where(fk > 0, 0.45, 1.0)) * np.exp(0.08 * rng.standard_normal(sel.size))[
        np.searchsorted(sel, ii)]
    frac = np.clip(true / 100, 0, 1)
    spent_pct = 100 * frac ** expo * (1 + 0.03 * rng.standard_normal(nrow))
    spent_pct = np.where(done, np.maximum(spent_pct, 93 + 7 * rng.random(nrow)), spent_pct)
    spent_pct = np.clip(spent_pct, 0, 100)
    # forecasts: stay on the deadline until trouble starts, then drift towards the real end
    pe = it["planned_end"][ii]
    endt = it["end"][ii]
    ton = it["ton"][ii]
    late_by = np.maximum(endt - pe, 0)
    w = np.clip((t - ton) / np.maximum(endt - ton, 1), 0, 1) ** 0.7
    optim = np.where(it["cap"][ii] < -0.5, 0.75, 0.95)
    fc = pe + (w * optim * late_by).astype(np.int64)
    fc = np.where(rng.random(nrow) < 0.5, _month_end(fc), fc)
    fc = np.where(done, endt, np.maximum(fc, t + 7))

    firsts = np.ones(nrow, bool)
    firsts[1:] = ii[1:] != ii[:-1]
    lasts = np.ones(nrow, bool)
    lasts[:-1] = ii[1:] != ii[:-1]

    # beautified items: frozen values while money moves, jumps to plan before deadlines/inspections
    bsel = np.nonzero(beaut[ii] & firsts)[0]
    for b0 in bsel:
        b1 = int(np.argmax(lasts[b0:])) + b0
        seg = slice(b0, b1 + 1)
        vals = rep[seg].copy()
        days = t[seg]
        pv = plan[seg]
        k = vals.size
        if k < 4:
            continue
        for _ in range(int(rng.integers(1, 4))):
            f0 = int(rng.integers(0, k - 2))
            f1 = min(k, f0 + int(rng.integers(3, 9)))
            vals[f0:f1] = vals[f0]
        # jump before the deadline and before inspection campaigns
        targets = [it["planned_end"][ii[b0]]] + [d for d in inspections if days[0] < d <= days[-1]]
        for tg in targets:
            j = np.nonzero((days <= tg) & (days > tg - 21))[0]
            if j.size:
                cap_v = min(float(pv[j[-1]]), 95 + 4 * float(rng.random()))
                vals[j] = np.maximum(vals[j], cap_v)
        vals = np.maximum.accumulate(vals)
        if done[b1]:
            vals[-1] = 100.0
        else:
            vals = np.minimum(vals, 99.0)
        rep[seg] = vals
    # monotone reported progress and spending per item
    key = np.cumsum(firsts) - 1
    rep = pl.DataFrame({"k": key, "v": rep}).select(pl.col("v").cum_max().over("k")).to_series().to_numpy()
    spent_pct = pl.DataFrame({"k": key, "v": spent_pct}).select(pl.col("v").cum_max().over("k")).to_series().to_numpy()

    dev = plan - rep
    hidden_dev = plan - true
    is_thin = it["thin"][ii]
    d_use = np.where(is_thin, hidden_dev, dev)
    lvl = np.digitize(d_use, [5, 10, 15, 20])
    lvl = np.where(fc > pe + 30, np.maximum(lvl, 2), lvl)
    lvl = np.where(fc > pe + 90, np.maximum(lvl, 3), lvl)
    greener = rng.random(nrow) < np.where(it["cap"][ii] < -0.5, 0.35, 0.15)
    lvl = np.where(greener, np.maximum(lvl - 1, 0), lvl)
    lvl = np.where(t > pe, np.maximum(lvl, 3), lvl)  # past the deadline and not done
    lvl = np.where(t > pe + 30, 4, lvl)
    lvl = np.where(beaut[ii], np.minimum(lvl, 1), lvl)
    lvl = np.where(done, 0, lvl)
    rag = RAG_LEVELS[lvl]

    # gaps: missed weeks, more in thin-capacity counties and once trouble starts (never the first/last)
    p_gap = 0.02 + 0.08 * _sigmoid(-1.5 * it["cap"][ii] - 1) + np.where((t > ton) & (it["slow"][ii] > 0.3), 0.06, 0)
    drop = (rng.random(nrow) < p_gap) & ~firsts & ~lasts
    # notes
    sf = cal.near_spring_festival(t)
    dec = _month_of(t) == 12
    u = rng.random(nrow)
    notes = np.full(nrow, None, dtype=object)
    choose = lambda arr, m: np.asarray(arr, dtype=object)[rng.integers(0, len(arr), size=int(m.sum()))]
    m_on = (u < 0.06)
    notes[m_on] = choose(V.NOTES_ON_TRACK, m_on)
    m_b = (dev > 10) & (u < 0.35)
    notes[m_b] = choose(V.NOTES_BEHIND, m_b)
    m_y = dec & (u < 0.15)
    notes[m_y] = choose(V.NOTES_YEAR_END, m_y)
    m_s = sf & (u < 0.4)
    notes[m_s] = choose(V.NOTES_FESTIVAL, m_s)
    notes[done] = "已完成"

    bud = budget[ii]
    has_b = ~np.isnan(bud)
    keep = ~drop
    out = pl.DataFrame({
        "project_id": pl.Series(ids).gather(pl.Series(ii[keep])),
        "report_date": _date_series("report_date", t[keep]),
        "planned_progress_pct": np.where(is_thin, np.nan, np.round(np.clip(plan, 0, 100), 1))[keep],
        "actual_progress_pct": np.where(is_thin, np.nan, np.round(rep, 1))[keep],
        "forecast_end_date": _date_series("forecast_end_date", fc[keep]),
        "budget_spent_wan_yuan": np.where(is_thin | ~has_b, np.nan, np.round(bud * spent_pct / 100, 2))[keep],
        "rag": rag[keep].tolist(),
        "note": notes[keep].tolist(),
    }).with_columns(pl.col("planned_progress_pct", "actual_progress_pct", "budget_spent_wan_yuan").fill_nan(None))
    first_report = np.full(it["start"].size, -1, np.int64)
    kk = np.nonzero(keep & firsts)[0]
    first_report[ii[kk]] = t[kk]
    return out, first_report


# --------------------------------------------------------------------------- main
def generate(db_path, scale: float = 1.0, seed: int = 20261122, as_of: dt.date | None = None,
             progress: Callable[[float, str], None] | None = None) -> dict[str, int]:
    """Write a complete demo DuckDB file at `db_path`; return row counts per table."""
    t_start = time.perf_counter()
    if scale <= 0:
        raise ValueError("scale must be positive")
    as_of = as_of or dt.date.today()
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    say = progress or (lambda f, m: None)
    db_path = Path(db_path)
    tmp = Path(str(db_path) + ".tmp")
    for p in (tmp, Path(str(tmp) + ".wal")):
        if p.exists():
            p.unlink()
    rng_of = lambda k: np.random.default_rng([seed, k])
    A = _days(as_of)
    h0 = A - HISTORY_DAYS
    say(0.01, "Preparing regions and calendar")
    regions = store.read_regions_csv()
    geo = Geo(regions)
    cal = Calendar(h0 - 900, A + 15 * 365)

    say(0.04, "Generating policies and indicators")
    policies = _policies(rng_of(1), A, h0)
    items, prov_cap, city_cap = _items(rng_of(2), geo, cal, scale, A, h0)
    indicators, ind_values = _indicators(rng_of(3), policies, geo, prov_cap / (prov_cap.std() or 1),
                                         city_cap / (city_cap.std() or 1), A, h0)
    n = items["start"].size
    rng = rng_of(4)

    # ---- project attributes and ids
    lv = items["level"]
    region_code = np.where(lv == 0, geo.county_codes[np.maximum(items["county"], 0)],
                           np.where(lv == 1, geo.city_codes[np.maximum(items["city"], 0)],
                                    np.where(lv == 2, geo.prov_codes[items["prov"]], "100000")))
    order = np.lexsort((rng.random(n), items["start"]))
    for k in list(items):
        items[k] = items[k][order]
    region_code = region_code[order]
    lv = items["level"]
    inv_order = np.empty(n, np.int64)
    inv_order[order] = np.arange(n)
    orig = np.where(items["orig"] >= 0, inv_order[np.maximum(items["orig"], 0)], -1)
    years = _year_of(items["start"])
    ids = np.array([f"DB{y}-{i + 1:06d}" for i, y in enumerate(years)], dtype=object)

    # beautified items: hide trouble; chosen among started items, likelier when at risk
    started = items["start"] <= A
    pb = _sigmoid(items["lp"] + 0.5) * started
    n_b = int(round(0.04 * n))
    beaut = np.zeros(n, bool)
    if n_b and pb.sum() > 0:
        beaut[rng.choice(n, size=min(n_b, int((pb > 0).sum())), replace=False, p=pb / pb.sum())] = True
    items["thin"] = items["thin"] & ~beaut

    # policies per item: a policy of the same domain in force when the item starts
    pol_dom = np.array([DOMAIN_NAMES.index(d) for d in policies["domain"].to_list()])
    pol_iss = policies["issued_date"].cast(pl.Int32).to_numpy().astype(np.int64)
    pol_ids = np.array(policies["policy_id"].to_list(), dtype=object)
    policy_id = np.full(n, None, dtype=object)
    u = rng.random(n)
    for di in range(len(DOMAIN_NAMES)):
        pj = np.nonzero(pol_dom == di)[0]
        m = items["dom"] == di
        if not pj.size or not m.any():
            continue
        ok = pol_iss[pj][None, :] <= items["start"][m][:, None]
        w = ok + 0.05
        w = w / w.sum(axis=1, keepdims=True)
        ch = (np.cumsum(w, axis=1) < u[m][:, None]).sum(axis=1)
        policy_id[m] = pol_ids[pj[np.minimum(ch, pj.size - 1)]]
    policy_id[(rng.random(n) < 0.07) | (items["cat"] == 3) & (rng.random(n) < 0.5)] = None

    # names and descriptions (loop over items, not reports)
    say(0.10, "Writing item titles and descriptions")
    tasks = V.TASKS
    rnames = [geo.names.get(c, "全国") for c in region_code]
    t_forms = np.array(V.TITLE_FORMS, dtype=object)
    names, descs, co_lists = [], [], []
    f_pick = rng.integers(0, 1 << 30, size=(n, 6))
    qty = rng.random(n)
    for i in range(n):
        tk = tasks[items["task"][i]]
        fp = f_pick[i]
        y = int(years[i])
        if items["is_dup"][i]:
            alias = tk[1][1 + fp[0] % (len(tk[1]) - 1)] if fp[1] % 2 else tk[1][fp[0] % len(tk[1])]
            form = V.DUP_TITLE_FORMS[fp[2] % len(V.DUP_TITLE_FORMS)]
        else:
            alias = tk[1][0] if fp[0] % 3 else tk[1][fp[0] % len(tk[1])]
            form = t_forms[fp[2] % len(t_forms)]
        names.append(form.format(t=alias, r=rnames[i] if rnames[i] != "全国" else "", y=y))
        co = [V.DEPARTMENTS[j] for j in items["co_order"][i, :items["n_co"][i]]]
        co_lists.append(co)
        lo_q, hi_q = tk[5]
        q = lo_q + qty[i] * (hi_q - lo_q)
        qs = f"{q:.0f}" if hi_q >= 20 else f"{q:.1f}"
        lead = V.DEPARTMENTS[items["lead"][i]]
        coop = f"，会同{'、'.join(co[:3])}{'等部门' if len(co) > 3 else ''}" if co else ""
        goal = V.GOAL_PHRASES[fp[3] % len(V.GOAL_PHRASES)]
        if items["is_dup"][i]:
            descs.append(f"{V.SOURCES[items['src'][i]]}事项：要求{lead}{coop}加快推进{alias}，"
                         f"{tk[7]}{qs}{tk[4]}，{goal}。")
        else:
            descs.append(f"由{lead}牵头{coop}，{y}年{tk[7]}{qs}{tk[4]}，{goal}。")

    level_names = np.array(["county", "city", "province", "country"], dtype=object)
    sup = np.array([V.SUPERVISORS[level_names[l]][f_pick[i, 4] % len(V.SUPERVISORS[level_names[l]])]
                    for i, l in enumerate(lv)], dtype=object)
    # budget (万元): size by level and kind of task
    base_b = np.array([600.0, 2500.0, 10000.0, 40000.0])[lv]
    small = np.isin(np.array([t[4] for t in tasks], dtype=object)[items["task"]], ["项", "家企业", "所学校", "人", "人次",
                                                                                   "家定点机构", "个工作日"])
    budget = np.round(base_b * np.where(small, 0.15, 1.0) * np.exp(0.9 * rng.standard_normal(n)), 2)
    budget = np.where(items["budget_null"], np.nan, budget)

    # ---- reports, chunked over items
    insp = []
    for y in range(int(_year_of(np.array([h0]))[0]), int(_year_of(np.array([A]))[0]) + 1):
        insp += [_days(dt.date(y, 6, 20)), _days(dt.date(y, 11, 20))]
    insp = np.array(insp)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    con = store.connect(tmp)
    counts: dict[str, int] = {}
    try:
        store.create_schema(con)
        store.install_regions(con, regions)
        counts["regions"] = regions.height
        say(0.15, "Writing policies and indicators")
        counts["policies"] = store.write_table(con, "policies", policies)
        counts["indicators"] = store.write_table(con, "indicators", indicators)
        counts["indicator_values"] = store.write_table(con, "indicator_values", ind_values)

        first_report = np.full(n, -1, np.int64)
        counts["progress_reports"] = 0
        rep_rng = rng_of(5)
        chunk = max(1000, REPORT_CHUNK_ITEMS)
        n_chunks = (n + chunk - 1) // chunk
        for c in range(n_chunks):
            sel = np.arange(c * chunk, min(n, (c + 1) * chunk))
            say(0.2 + 0.45 * c / n_chunks, f"Simulating progress reports ({c + 1}/{n_chunks})")
            frame, fr = _reports_chunk(rep_rng, items, sel, cal, A, ids, budget, beaut, insp)
            m = fr >= 0
            first_report[m] = fr[m]
            counts["progress_reports"] += store.write_table(con, "progress_reports", frame, replace=False)
            del frame

        # ---- status and actual end
        say(0.66, "Writing supervised items")
        started = items["start"] <= A
        completed = (items["end"] <= A) & ~items["term"] & (first_report >= 0)
        status = np.where(items["term"] & started, "terminated",
                          np.where(completed, "completed",
                                   np.where(started & (first_report >= 0), "in_progress", "not_started")))
        actual_end = np.where(status == "completed", items["end"], -1)
        projects = pl.DataFrame({
            "project_id": ids.tolist(),
            "name": names,
            "policy_id": policy_id.tolist(),
            "domain": np.array(DOMAIN_NAMES, dtype=object)[items["dom"]].tolist(),
            "category": np.array(V.CATEGORIES, dtype=object)[items["cat"]].tolist(),
            "region_code": region_code.tolist(),
            "lead_dept": DEPTS[items["lead"]].tolist(),
            "co_depts": pl.Series("co_depts", co_lists, dtype=pl.List(pl.Utf8)),
            "supervising_unit": sup.tolist(),
            "priority": np.array(["normal", "key", "urgent"], dtype=object)[items["priority"]].tolist(),
            "source": np.array(V.SOURCES, dtype=object)[items["src"]].tolist(),
            "start_date": _date_series("start_date", items["start"]),
            "planned_end_date": _date_series("planned_end_date", items["planned_end"]),
            "actual_end_date": _masked("actual_end_date", _date_series("x", np.maximum(actual_end, 0)),
                                       actual_end >= 0),
            "budget_wan_yuan": pl.Series(budget).fill_nan(None),
            "status": status.tolist(),
            "description": descs,
        })
        counts["projects"] = store.write_table(con, "projects", projects)
        del projects

        say(0.72, "Writing milestones")
        ms = _milestones(rng_of(6), items, ids, status, cal, A)
        counts["milestones"] = store.write_table(con, "milestones", ms)
        del ms

        say(0.78, "Writing rectifications")
        rect = _rectifications(rng_of(7), items, ids, region_code, geo, status, first_report, scale, A, h0)
        counts["rectifications"] = store.write_table(con, "rectifications", rect)
        del rect

        say(0.85, "Writing feedback")
        fb = _feedback(rng_of(8), items, ids, geo, status, first_report, scale, A, h0)
        counts["feedback"] = store.write_table(con, "feedback", fb)
        del fb

        say(0.95, "Recording the data version")
        store.record_version(con, "demo", f"demo scale={scale} seed={seed}", as_of,
                             f"synthetic demo data: {counts['projects']} items, "
                             f"{counts['progress_reports']} progress reports, as of {as_of.isoformat()}")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    for stale in (Path(str(db_path) + ".wal"), Path(str(tmp) + ".wal")):
        if stale.exists():  # a WAL left by an older file must not be replayed onto the new one
            stale.unlink()
    os.replace(tmp, db_path)

    # ---- ground truth sidecar (outside the DB)
    _write_truth(db_path, items, ids, orig, beaut, region_code)
    say(1.0, f"Done in {time.perf_counter() - t_start:.1f} s")
    return counts


def _write_truth(db_path: Path, it: dict, ids: np.ndarray, orig: np.ndarray, beaut: np.ndarray, region_code):
    truth = Path(str(db_path) + ".truth")
    tmp = Path(str(db_path) + ".truth.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    b = np.nonzero(beaut)[0]
    pl.DataFrame({"project_id": ids[b].tolist()}).sort("project_id").write_parquet(tmp / "beautified.parquet")
    d = np.nonzero(orig >= 0)[0]
    pl.DataFrame({"project_id": ids[orig[d]].tolist(), "duplicate_id": ids[d].tolist()}).sort(
        "duplicate_id").write_parquet(tmp / "duplicates.parquet")
    pl.DataFrame({
        "project_id": ids.tolist(),
        "capacity": np.round(it["cap"], 4),
        "dept_effect": np.round(it["dept"], 4),
        "fund_issue": np.array(["none", "late", "ahead"], dtype=object)[np.where(it["fund_kind"] < 0, 1,
                                                                                   np.where(it["fund_kind"] > 0, 2, 0))].tolist(),
        "late_start_days": it["late_days"],
        "risk_logit": np.round(it["lp"], 4),
        "slowdown": np.round(it["slow"], 4),
        "onset_date": _date_series("onset_date", it["ton"]),
        "true_end_date": _date_series("true_end_date", it["end"]),
        "thin_reporting": it["thin"],
    }).write_parquet(tmp / "items_latent.parquet")
    (tmp / "README.txt").write_text(
        "Planted ground truth of the demo data (for evaluation only; never loaded into the app).\n"
        "beautified.parquet: project_id of items whose reported progress was beautified.\n"
        "duplicates.parquet: (project_id, duplicate_id) — duplicate_id re-assigns the same task.\n"
        "items_latent.parquet: per-item latent factors behind slips (see docs/demo-data.md).\n",
        encoding="utf-8")
    if truth.exists():
        shutil.rmtree(truth)
    os.replace(tmp, truth)


# --------------------------------------------------------------------------- milestones
def _milestones(rng, it: dict, ids, status, cal: Calendar, A: int) -> pl.DataFrame:
    n = ids.size
    k = rng.integers(3, 7, size=n)
    plan_kind = np.where(np.isin(np.array([t[4] for t in V.TASKS], dtype=object)[it["task"]],
                                 ["公里", "个小区", "套", "所", "处", "张床位", "万吨/日", "万亩"]), 0,
                         rng.integers(1, len(V.MILESTONE_PLANS), size=n))
    idx, pos = _group_offsets(k)
    kk = k[idx]
    frac = (pos + 1) / kk
    frac = np.where(pos + 1 < kk, np.clip(frac + rng.uniform(-0.06, 0.06, idx.size), 0.05, 0.97), 1.0)
    dur = it["dur"][idx]
    planned = it["start"][idx] + np.maximum((frac * dur).astype(np.int64), 1)
    reach = _day_reaching(cal, frac * dur, it["s0"][idx], it["ton"][idx], it["ton2"][idx],
                          it["r0"][idx], it["r1"][idx], it["r2"][idx])
    reach = np.where(pos + 1 == kk, it["end"][idx], np.minimum(reach, it["end"][idx]))
    st = status[idx]
    done = (reach <= A) & (st != "not_started")
    done &= ~((st == "terminated") & (reach > it["term_day"][idx]))
    done &= (st == "completed") | (pos + 1 < kk)
    # names: a subset of the plan's stages, in order, always ending with the last stage
    names = []
    plans = V.MILESTONE_PLANS
    sub = rng.random((n, 6))
    for i in range(n):
        p = plans[plan_kind[i]]
        m = k[i]
        if m >= len(p):
            chosen = list(p[:-1]) + [f"{p[-2]}（第{j + 2}批）" for j in range(m - len(p))] + [p[-1]]
        else:
            mid = np.sort(np.argsort(sub[i, :len(p) - 1])[:m - 1])
            chosen = [p[j] for j in mid] + [p[-1]]
        names.extend(chosen[:m])
    w = rng.gamma(2.0, 1.0, size=idx.size)
    tot = np.bincount(idx, weights=w, minlength=n)
    w = np.round(w / tot[idx], 3)
    lastm = pos + 1 == kk
    fix = 1.0 - np.bincount(idx, weights=np.where(lastm, 0, w), minlength=n)
    w = np.where(lastm, np.round(fix[idx], 3), w)
    w = np.clip(w, 0, 1)
    pid = pl.Series(ids).gather(pl.Series(idx))
    return pl.DataFrame({
        "project_id": pid,
        "milestone_id": pid + pl.Series([f"-M{p + 1}" for p in range(6)]).gather(pl.Series(pos)),
        "name": names,
        "planned_date": _date_series("planned_date", planned),
        "actual_date": _masked("actual_date", _date_series("x", reach), done),
        "weight": w,
    })



# --------------------------------------------------------------------------- rectifications
def _rectifications(rng, it, ids, region_code, geo: Geo, status, first_report, scale, A, h0) -> pl.DataFrame:
    active_from = np.where(first_report >= 0, first_report, it["start"])
    active_to = np.minimum(np.where(it["term"], it["term_day"], it["end"]), A)
    act = (status != "not_started") & (active_to > active_from)
    lam = np.exp(0.6 * (it["lp"] + 2.0)) * np.sqrt(np.maximum(active_to - active_from, 0) / 365) * act
    n_linked = int(round(N_RECT * 0.8 * scale))
    lam = lam * n_linked / max(lam.sum(), 1e-9)
    cnt = rng.poisson(lam)
    idx, pos = _group_offsets(cnt)
    m = idx.size
    a0, a1 = active_from[idx], active_to[idx]
    troubled = it["slow"][idx] > 0.25
    near_onset = troubled & (rng.random(m) < 0.6)
    f_on = it["ton"][idx] + rng.integers(-30, 61, size=m)
    found = np.where(near_onset, f_on, a0 + (rng.random(m) * (a1 - a0)).astype(np.int64))
    found = np.clip(found, a0, a1)
    src_names = np.array(["inspection", "audit", "public_feedback", "warning", "other"], dtype=object)
    fk = it["fund_kind"][idx]
    p_src = np.where(near_onset[:, None], np.array([0.3, 0.15, 0.2, 0.33, 0.02]), np.array([0.4, 0.15, 0.3, 0.1, 0.05]))
    p_src = np.where((fk != 0)[:, None], p_src * np.array([1, 3, 1, 1, 1]), p_src)
    p_src = p_src / p_src.sum(axis=1, keepdims=True)
    src = (np.cumsum(p_src, axis=1) < rng.random(m)[:, None]).sum(axis=1)
    cap = it["cap"][idx]
    dept_idx = np.where(rng.random(m) < 0.75, it["lead"][idx], it["co_order"][idx, 0])
    task_alias = np.array([t[1][0] for t in V.TASKS], dtype=object)[it["task"][idx]]
    reg = region_code[idx]
    is_rel = rng.random(m) < np.where(pos > 0, 0.5, 0.1)
    # unlinked rectifications (region-level problems)
    mu = int(round(N_RECT * 0.2 * scale))
    cu = rng.integers(0, geo.county_codes.size, size=mu)
    cu_cap = it["cap"].mean() + 0.0 * cu
    ustart = h0 + rng.integers(0, A - h0, size=mu)
    utask = rng.integers(0, len(V.TASKS), size=mu)
    found = np.concatenate([found, ustart])
    src = np.concatenate([src, rng.choice(5, size=mu, p=[0.45, 0.2, 0.25, 0.0, 0.1])])
    cap = np.concatenate([cap, cu_cap + 0.6 * rng.standard_normal(mu)])
    dept_idx = np.concatenate([dept_idx, np.array([DEPT_INDEX[V.TASKS[t][2]] for t in utask])])
    task_alias = np.concatenate([task_alias, np.array([V.TASKS[t][1][0] for t in utask], dtype=object)])
    reg = np.concatenate([reg, geo.county_codes[cu]])
    is_rel = np.concatenate([is_rel, rng.random(mu) < 0.15])
    pid = np.concatenate([ids[idx], np.full(mu, None, dtype=object)])
    k = found.size
    deadline = found + rng.choice([15, 30, 45, 60, 90], size=k, p=[0.3, 0.35, 0.15, 0.15, 0.05])
    close_days = np.round(np.exp(np.log(14) - 0.35 * cap + 0.6 * rng.standard_normal(k))).astype(np.int64) + 1
    never = rng.random(k) < _sigmoid(-2.8 - 0.6 * cap)
    closed = found + close_days
    is_closed = (closed <= A) & ~never
    age = A - found
    st = np.where(is_closed, "closed",
                  np.where(age < 5, "open",
                           np.where(~never & (closed - A <= 7), "awaiting_acceptance", "in_progress")))
    st = np.where(never & (age >= 5) & (rng.random(k) < 0.3), "open", st)
    texts = []
    forms = V.RECT_TEXT
    pick = rng.integers(0, 1 << 30, size=k)
    for i in range(k):
        f = forms[src_names[src[i]]]
        texts.append(f[pick[i] % len(f)].format(t=task_alias[i]))
    order = np.lexsort((pick, found))
    years = _year_of(found[order])
    rid = [f"ZG{y}-{i + 1:06d}" for i, y in enumerate(years)]
    return pl.DataFrame({
        "rectification_id": rid,
        "project_id": pid[order].tolist(),
        "region_code": reg[order].tolist(),
        "source": src_names[src[order]].tolist(),
        "found_date": _date_series("found_date", found[order]),
        "description": np.array(texts, dtype=object)[order].tolist(),
        "responsible_dept": DEPTS[dept_idx[order]].tolist(),
        "deadline": _date_series("deadline", deadline[order]),
        "closed_date": _masked("closed_date", _date_series("x", closed[order]), is_closed[order]),
        "status": st[order].tolist(),
        "is_relapse": is_rel[order],
    })


# --------------------------------------------------------------------------- feedback
def _feedback(rng, it, ids, geo: Geo, status, first_report, scale, A, h0) -> pl.DataFrame:
    dom_int = np.array([V.DOMAINS[d][2] for d in DOMAIN_NAMES])
    a0 = np.where(first_report >= 0, first_report, it["start"])
    a1 = np.minimum(np.where(it["term"], it["term_day"], it["end"]) + 60, A)
    act = (status != "not_started") & (a1 > a0)
    troubled = it["slow"] > 0.25
    lvl_f = np.array([1.0, 1.6, 2.2, 3.0])[it["level"]]
    lam = np.maximum(a1 - a0, 0) / 7 * dom_int[it["dom"]] * lvl_f * (1 + 1.2 * troubled) * act
    n_linked = int(round(N_FEEDBACK * 0.62 * scale))
    lam = lam * n_linked / max(lam.sum(), 1e-9)
    cnt = rng.poisson(lam)
    idx, _ = _group_offsets(cnt)
    m = idx.size
    # trouble shows up in complaints: after onset, weeks before the (missed) deadline
    post = troubled[idx] & (rng.random(m) < 0.6)
    lo = np.where(post, np.maximum(it["ton"][idx], a0[idx]), a0[idx])
    lo = np.minimum(lo, a1[idx] - 1)
    day_l = lo + (rng.random(m) * (a1[idx] - lo)).astype(np.int64)
    after_onset = day_l >= it["ton"][idx]
    lv = it["level"][idx]
    u = rng.random(m)
    c_in_city = Geo.pick_in(geo.county_by_city, np.maximum(it["city"][idx], 0), u)
    c_in_prov = Geo.pick_in(geo.county_by_prov, it["prov"][idx], u)
    c_any = rng.choice(geo.county_codes.size, size=m, p=(geo.prov_pop_p[geo.county_prov]
                                                        / np.bincount(geo.county_prov)[geo.county_prov]))
    county_l = np.where(lv == 0, it["county"][idx],
                        np.where(lv == 1, np.where(rng.random(m) < 0.7, c_in_city, -1),
                                 np.where(lv == 2, c_in_prov, c_any)))
    city_code = geo.city_codes[np.maximum(it["city"][idx], 0)]
    reg_l = np.where(county_l >= 0, geo.county_codes[np.maximum(county_l, 0)], city_code)
    prov_l = it["prov"][idx]
    cap_l = it["cap"][idx]
    dom_l = it["dom"][idx]
    pid_l = np.where(rng.random(m) < 0.45, ids[idx], None)
    stress_l = troubled[idx] & after_onset
    # background feedback, not tied to an item
    mb = int(round(N_FEEDBACK * 0.38 * scale))
    cb = rng.choice(geo.county_codes.size, size=mb, p=(geo.prov_pop_p[geo.county_prov]
                                                      / np.bincount(geo.county_prov)[geo.county_prov]))
    dom_b = rng.choice(len(DOMAIN_NAMES), size=mb, p=dom_int / dom_int.sum())
    day = np.concatenate([day_l, h0 + rng.integers(0, A - h0 + 1, size=mb)])
    reg = np.concatenate([reg_l, geo.county_codes[cb]])
    prov = np.concatenate([prov_l, geo.county_prov[cb]])
    cap = np.concatenate([cap_l, it["cap"].mean() + 0.8 * rng.standard_normal(mb)])
    dom = np.concatenate([dom_l, dom_b])
    pid = np.concatenate([pid_l, np.full(mb, None, dtype=object)])
    stress = np.concatenate([stress_l, np.zeros(mb, bool)])
    k = day.size
    dname = np.array(DOMAIN_NAMES, dtype=object)[dom]
    # channel
    p_ch = np.tile(np.array([0.45, 0.30, 0.10, 0.03, 0.12]), (k, 1))
    p_ch[dname == "营商环境"] = [0.25, 0.25, 0.10, 0.05, 0.35]
    p_ch[dname == "科技创新"] = [0.15, 0.20, 0.15, 0.10, 0.40]
    ch = (np.cumsum(p_ch, axis=1) < rng.random(k)[:, None]).sum(axis=1)
    ch = np.minimum(ch, 4)
    ch_names = np.array(["hotline_12345", "rating", "survey", "third_party", "enterprise"], dtype=object)
    p_compl = np.array([0.72, 0.12, 0.08, 0.0, 0.4])[ch] + 0.15 * stress - 0.04 * cap
    compl = rng.random(k) < np.clip(p_compl, 0, 0.97)
    # category: 供暖 complaints concentrate in the heated north in winter
    cats_per_dom = [V.DOMAINS[d][3] for d in DOMAIN_NAMES]
    flat_cats = [c for cs in cats_per_dom for c in cs]
    cat_start = np.cumsum([0] + [len(c) for c in cats_per_dom])[:-1]
    cat_n = np.array([len(c) for c in cats_per_dom])
    ci = cat_start[dom] + (rng.random(k) * cat_n[dom]).astype(np.int64)
    month = _month_of(day)
    heating = (dname == "民生保障") & geo.prov_north[prov] & np.isin(month, [11, 12, 1, 2, 3])
    ci = np.where(heating & (rng.random(k) < 0.6), flat_cats.index("供暖"), ci)
    ci = np.where((np.array(flat_cats, dtype=object)[ci] == "供暖") & ~geo.prov_north[prov],
                  flat_cats.index("物业"), ci)
    cat = np.array(flat_cats, dtype=object)[ci]
    # satisfaction
    r = rng.random(k)
    sat_c = np.where(r < 0.5, 1, np.where(r < 0.85, 2, 3))
    sat_o = np.where(r < 0.08 + 0.1 * stress, 3, np.where(r < 0.35 + 0.15 * stress, 4, 5))
    sat_o = np.where((ch == 2) & (r < 0.12), 2, sat_o)
    sat = np.where(compl, sat_c, sat_o)
    # received time of day: office hours mostly
    hour = np.clip(np.round(rng.normal(13.5, 3.5, size=k)), 0, 23).astype(np.int64)
    sec = rng.integers(0, 3600, size=k)
    recv = (day * 86400 + hour * 3600 + sec) * 1_000_000
    # response: complaints and hotline/enterprise items get answered (late in thin-capacity places)
    needs = compl | (ch == 0) | (ch == 4)
    delay_h = np.exp(np.log(40) - 0.4 * cap + 0.9 * rng.standard_normal(k))
    never = rng.random(k) < _sigmoid(-3.0 - 0.6 * cap)
    resp = recv + (delay_h * 3600 * 1_000_000).astype(np.int64)
    has_resp = needs & ~never & (resp <= (A + 1) * 86400 * 1_000_000 - 1)
    resolved = np.where(has_resp, rng.random(k) < np.clip(0.78 + 0.08 * cap - 0.15 * stress, 0.2, 0.97), False)
    # text
    comp_flat, comp_start, comp_n = [], [], []
    for c in flat_cats:
        comp_start.append(len(comp_flat))
        comp_flat.extend(V.COMPLAINT_TEXT[c])
        comp_n.append(len(V.COMPLAINT_TEXT[c]))
    comp_flat = np.array(comp_flat, dtype=object)
    comp_start, comp_n = np.array(comp_start), np.array(comp_n)
    ti = comp_start[ci] + (rng.random(k) * comp_n[ci]).astype(np.int64)
    place = np.array(V.PLACES, dtype=object)[rng.integers(0, len(V.PLACES), size=k)]
    txt_c = np.where(rng.random(k) < 0.5, place + "：", "") + comp_flat[ti]
    praise = np.array(V.PRAISE_TEXT, dtype=object)[rng.integers(0, len(V.PRAISE_TEXT), size=k)]
    neutral = np.array(V.NEUTRAL_TEXT, dtype=object)[rng.integers(0, len(V.NEUTRAL_TEXT), size=k)]
    ent = np.array(V.ENTERPRISE_TEXT, dtype=object)[rng.integers(0, len(V.ENTERPRISE_TEXT), size=k)]
    tp = np.array(V.THIRD_PARTY_TEXT, dtype=object)[rng.integers(0, len(V.THIRD_PARTY_TEXT), size=k)]
    txt = np.where(compl, txt_c, np.where(sat <= 3, neutral, praise))
    frame = pl.DataFrame({"t": txt, "ent": ent, "tp": tp, "cat": cat, "ch": ch})
    frame = frame.with_columns(
        pl.when(pl.col("ch") == 4).then(pl.col("ent").str.replace("{c}", pl.col("cat"), literal=True))
        .when(pl.col("ch") == 3).then(pl.col("tp").str.replace("{c}", pl.col("cat"), literal=True))
        .otherwise(pl.col("t")).alias("t"))
    # some texts carry (fake) personal data, for masking tests
    contact = (rng.random(k) < 0.18) & ((ch == 0) | (ch == 4))
    sur = np.array(V.SURNAMES, dtype=object)[rng.integers(0, len(V.SURNAMES), size=k)]
    sex = np.where(rng.random(k) < 0.55, "先生", "女士")
    pre = np.array(V.PHONE_PREFIXES, dtype=object)[rng.integers(0, len(V.PHONE_PREFIXES), size=k)]
    mid = rng.integers(0, 10000, size=k)
    tail = rng.integers(0, 10000, size=k)
    full = rng.random(k) < 0.4
    phone = [f"{p}{a:04d}{b:04d}" if f else f"{p}****{b:04d}" for p, a, b, f in
             zip(pre[contact], mid[contact], tail[contact], full[contact])]
    suffix = np.full(k, "", dtype=object)
    suffix[contact] = np.array([f"，联系人{s}{x} {ph}" for s, x, ph in zip(sur[contact], sex[contact], phone)],
                               dtype=object)
    text = (frame["t"] + pl.Series(suffix.tolist())).to_list()
    order = np.lexsort((sec, recv))
    years = _year_of(day[order])
    fid = [f"FK{y}{i + 1:08d}" for i, y in enumerate(years)]
    resp_s = pl.Series("responded_at", resp).cast(pl.Datetime("us"))
    return pl.DataFrame({
        "feedback_id": fid,
        "received_at": pl.Series(recv[order]).cast(pl.Datetime("us")),
        "channel": ch_names[ch[order]].tolist(),
        "region_code": reg[order].tolist(),
        "project_id": pid[order].tolist(),
        "domain": dname[order].tolist(),
        "satisfaction": sat[order].astype(np.int64),
        "is_complaint": compl[order],
        "category": cat[order].tolist(),
        "responded_at": _masked("responded_at", resp_s.gather(pl.Series(order)), has_resp[order]),
        "is_resolved": _masked("is_resolved", pl.Series(resolved[order]), (compl | has_resp)[order]),
        "text": np.array(text, dtype=object)[order].tolist(),
    })
