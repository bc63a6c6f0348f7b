"""Supervised items: place, task, schedule, departments, duplicates and the latent slip factors.

`simulate_items` returns a dict of row-aligned numpy arrays (one row per item). The latent factors
(capacity, department effect, funding problems, late start, slowdown) never go into the database;
they drive the reports, events and the sidecar ground truth.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from analytics.demo import vocab as V
from analytics.demo.common import DEPT_INDEX, DOMAIN_NAMES, DUP_SHARE, N_ITEMS, ND, RISK_INTERCEPT, Calendar, day_number, day_reaching, month_end, sigmoid, year_of
from analytics.demo.places import Geo


def simulate_items(rng, geo: Geo, cal: Calendar, scale: float, as_of: int, h0: int):
    """(items, province capacity, city capacity); the draws happen in a fixed order from `rng`."""
    n_total = max(20, int(round(N_ITEMS * scale)))
    n_dup = int(round(n_total * DUP_SHARE))
    n = n_total - n_dup
    task_dom = np.array([DOMAIN_NAMES.index(t[0]) for t in V.TASKS])
    items = _place(rng, geo, task_dom, n)
    items.update(_schedule(rng, items["task"], task_dom, as_of, h0))
    co_cand = _co_candidates()
    items.update(_departments(rng, items["task"], items["level"], co_cand))
    items["orig"] = np.full(n, -1)
    _add_duplicates(rng, items, geo, co_cand, n_dup)
    prov_cap, city_cap = _capacities(rng, items, geo)
    late_flag = _slip_paths(rng, items, cal, as_of)
    _reporting_habits(rng, items, late_flag)
    return items, prov_cap, city_cap


def _place(rng, geo: Geo, task_dom: np.ndarray, n: int) -> dict:
    tasks = V.TASKS
    nt = len(tasks)
    dom_w = np.array([V.DOMAINS[d][1] for d in DOMAIN_NAMES])
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
    return {"task": task, "level": level, "prov": prov, "county": np.where(level == 0, county, -1),
            "city": np.where(level == 1, city, np.where(level == 0, np.maximum(geo.county_city[county], -1), -1))}


def _schedule(rng, task: np.ndarray, task_dom: np.ndarray, as_of: int, h0: int) -> dict:
    """Start, deadline, domain, source, category and priority."""
    tasks = V.TASKS
    n = task.size
    # dates: starts spread over the history, more launched in Feb–Apr (after the 两会)
    lo, hi = h0 - 60, as_of + 45
    start = rng.integers(lo, hi, size=n)
    spring = rng.random(n) < 0.3
    y = year_of(start)
    alt = np.array([day_number(dt.date(int(yy), 2, 15)) for yy in y]) + rng.integers(0, 60, size=n)
    start = np.where(spring & (alt >= lo) & (alt < hi), alt, start)
    dur_lo = np.array([t[6][0] for t in tasks])[task]
    dur_hi = np.array([t[6][1] for t in tasks])[task]
    dur = (1.65 * (dur_lo + rng.random(n) * (dur_hi - dur_lo))).astype(np.int64)

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
    ye = np.array([day_number(dt.date(int(yy), 12, 31)) for yy in year_of(start)])
    ye = np.where(ye - start < 120, ye + 365, ye)
    planned_end = np.where((cat == 1) & (rng.random(n) < 0.6), ye, planned_end)
    me = month_end(planned_end)
    planned_end = np.where(rng.random(n) < 0.5, me, planned_end)
    priority = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    priority = np.where(cat == 3, np.where(rng.random(n) < 0.7, 2, 1), priority)
    return dict(start=start, planned_end=planned_end, dom=dom, src=src, cat=cat, priority=priority)


def _co_candidates() -> np.ndarray:
    """(task × department) 1.0 where the department usually co-operates on the task."""
    co_cand = np.zeros((len(V.TASKS), ND))
    for i, t in enumerate(V.TASKS):
        for c in t[3]:
            co_cand[i, DEPT_INDEX[c]] = 1.0
    return co_cand


def _departments(rng, task: np.ndarray, level: np.ndarray, co_cand: np.ndarray) -> dict:
    """Lead department, number of co-departments and their order of preference."""
    n = task.size
    lead = np.array([DEPT_INDEX[t[2]] for t in V.TASKS])[task]
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
    return dict(lead=lead, n_co=n_co, co_order=co_order)


def _add_duplicates(rng, items: dict, geo: Geo, co_cand: np.ndarray, n_dup: int) -> None:
    """Append `n_dup` duplicates: the same task reaching the office by another channel."""
    n = items["task"].size
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
    d["cat"] = np.where(rng.random(n_dup) < 0.3, rng.integers(0, len(V.CATEGORIES) - 1, size=n_dup), d["cat"])
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
    n = items["task"].size
    items["is_dup"] = np.arange(n) >= n - n_dup


# ---- latent factors (never stored in the DB)
def _capacities(rng, items: dict, geo: Geo):
    """Local capacity per item (standardised) and the lead department's local effect; returns the raw
    province and city capacities, which also shape the indicator values."""
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
    items.update(cap=cap, dept=dept)
    return prov_cap, city_cap


def _slip_paths(rng, items: dict, cal: Calendar, as_of: int) -> np.ndarray:
    """Funding problems, late starts and the slowdown that follows; the true end and termination.
    Returns which items started late."""
    n = items["task"].size
    cap, dept = items["cap"], items["dept"]
    z_co = (items["n_co"] - 2.6) / 1.6
    fund_issue = rng.random(n) < sigmoid(-1.2 - 0.6 * cap + 0.2 * z_co)
    fund_kind = np.where(rng.random(n) < 0.6, -1, 1) * fund_issue  # -1: funds late, +1: spent ahead
    late_flag = rng.random(n) < sigmoid(-1.9 - 0.6 * cap + 0.3 * z_co + 0.3 * dept)
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
    end = day_reaching(cal, dur.astype(float), s0, ton, ton2, r0, r1, r2)
    end = np.maximum(end, items["start"] + 1)
    shape_a = rng.choice([0.0, 0.5, 1.0], size=n, p=[0.3, 0.4, 0.3])
    # termination: a few started items are stopped (merged, cancelled by a later decision)
    term = (rng.random(n) < 0.015) & (items["start"] < as_of - 30)
    term_day = items["start"] + (rng.uniform(0.2, 0.8, size=n) * (np.minimum(end, as_of) - items["start"])).astype(
        np.int64)
    term &= term_day < np.minimum(end, as_of)
    items.update(fund_kind=fund_kind, late_days=late_days, slow=slow, lp=lp,
                 r0=r0, r1=r1, r2=r2, s0=s0, ton=ton, ton2=ton2, end=end, dur=dur, shape_a=shape_a,
                 term=term, term_day=term_day)
    return late_flag


def _reporting_habits(rng, items: dict, late_flag: np.ndarray) -> None:
    n = items["task"].size
    # reporting: weekly mostly, some monthly; late starters sometimes report only once started
    monthly = rng.random(n) < 0.10
    rstart = np.where(late_flag & (rng.random(n) < 0.5), items["s0"], items["start"])
    thin = rng.random(n) < (0.08 + 0.08 * sigmoid(-items["cap"]))  # reports only forecast + RAG
    budget_null = rng.random(n) < 0.04
    items.update(monthly=monthly, rstart=rstart, thin=thin, budget_null=budget_null)
