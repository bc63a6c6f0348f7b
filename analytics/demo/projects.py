"""What the database shows of each item: id, region, policy, title, description, supervisor, budget, status."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import polars as pl

from analytics.demo import vocab as V
from analytics.demo.common import DEPTS, DOMAIN_NAMES, WRITE_CHUNK_ROWS, date_series, masked, sigmoid, year_of
from analytics.demo.places import Geo

LEVEL_NAMES = np.array(["county", "city", "province", "country"], dtype=object)
# tasks counted in small units get smaller budgets
SMALL_UNITS = ["项", "家企业", "所学校", "人", "人次", "家定点机构", "个工作日"]


@dataclass
class Projects:
    """Per-item attributes, row-aligned with the items after they are put in start-date order."""
    ids: np.ndarray
    region_code: np.ndarray
    orig: np.ndarray  # row of the original item for duplicates, else -1
    beaut: np.ndarray = None  # beautified reports
    policy_id: np.ndarray = None
    f_pick: np.ndarray = None  # (items × 6) draws behind titles, descriptions and supervising units
    qty: np.ndarray = None  # draws behind the quantity in the description
    budget: np.ndarray = None


def plan_projects(rng, items: dict, geo: Geo, policies: pl.DataFrame, as_of: int,
                  say: Callable[[float, str], None]) -> Projects:
    """Sort `items` (in place) by start date and draw their database attributes."""
    # the order of the steps is the order of the draws from `rng`: keep it
    p = _order_items(rng, items, geo)
    p.beaut = _choose_beautified(rng, items, as_of)
    p.policy_id = _link_policies(rng, items, policies)
    say(0.10, "Drawing item titles, descriptions and budgets")
    _describe(rng, items, geo, p)
    p.budget = _budgets(rng, items)
    return p


def _order_items(rng, items: dict, geo: Geo) -> Projects:
    n = items["start"].size
    lv = items["level"]
    region_code = np.where(lv == 0, geo.county_codes[np.maximum(items["county"], 0)],
                           np.where(lv == 1, geo.city_codes[np.maximum(items["city"], 0)],
                                    np.where(lv == 2, geo.prov_codes[items["prov"]], "100000")))
    order = np.lexsort((rng.random(n), items["start"]))
    for k in list(items):
        items[k] = items[k][order]
    region_code = region_code[order]
    inv_order = np.empty(n, np.int64)
    inv_order[order] = np.arange(n)
    orig = np.where(items["orig"] >= 0, inv_order[np.maximum(items["orig"], 0)], -1)
    years = year_of(items["start"])
    ids = np.array([f"DB{y}-{i + 1:06d}" for i, y in enumerate(years)], dtype=object)
    return Projects(ids=ids, region_code=region_code, orig=orig)


def _choose_beautified(rng, items: dict, as_of: int) -> np.ndarray:
    # beautified items: hide trouble; chosen among started items, likelier when at risk
    n = items["start"].size
    started = items["start"] <= as_of
    pb = sigmoid(items["lp"] + 0.5) * started
    n_b = int(round(0.04 * n))
    beaut = np.zeros(n, bool)
    if n_b and pb.sum() > 0:
        beaut[rng.choice(n, size=min(n_b, int((pb > 0).sum())), replace=False, p=pb / pb.sum())] = True
    items["thin"] = items["thin"] & ~beaut
    return beaut


def _link_policies(rng, items: dict, policies: pl.DataFrame) -> np.ndarray:
    # policies per item: a policy of the same domain in force when the item starts
    n = items["start"].size
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
    return policy_id


def _describe(rng, items: dict, geo: Geo, p: Projects) -> None:
    """Draw what titles, descriptions and supervising units are made of (the texts are made while writing)."""
    n = items["start"].size
    p.f_pick = rng.integers(0, 1 << 30, size=(n, 6))
    p.qty = rng.random(n)


def _texts(items: dict, geo: Geo, p: Projects, sel: np.ndarray):
    """(titles, descriptions, supervising units) of items `sel` (a loop over items)."""
    tasks = V.TASKS
    years = year_of(items["start"][sel])
    t_forms = np.array(V.TITLE_FORMS, dtype=object)
    names, descs = [], []
    for r, i in enumerate(sel):
        tk = tasks[items["task"][i]]
        fp = p.f_pick[i]
        y = int(years[r])
        rname = geo.names.get(p.region_code[i], "全国")
        if items["is_dup"][i]:
            alias = tk[1][1 + fp[0] % (len(tk[1]) - 1)] if fp[1] % 2 else tk[1][fp[0] % len(tk[1])]
            form = V.DUP_TITLE_FORMS[fp[2] % len(V.DUP_TITLE_FORMS)]
        else:
            alias = tk[1][0] if fp[0] % 3 else tk[1][fp[0] % len(tk[1])]
            form = t_forms[fp[2] % len(t_forms)]
        names.append(form.format(t=alias, r=rname if rname != "全国" else "", y=y))
        co = [V.DEPARTMENTS[d] for d in items["co_order"][i, :items["n_co"][i]]]
        lo_q, hi_q = tk[5]
        q = lo_q + p.qty[i] * (hi_q - lo_q)
        qs = f"{q:.0f}" if hi_q >= 20 else f"{q:.1f}"
        lead = V.DEPARTMENTS[items["lead"][i]]
        coop = f"，会同{'、'.join(co[:3])}{'等部门' if len(co) > 3 else ''}" if co else ""
        goal = V.GOAL_PHRASES[fp[3] % len(V.GOAL_PHRASES)]
        if items["is_dup"][i]:
            descs.append(f"{V.SOURCES[items['src'][i]]}事项：要求{lead}{coop}加快推进{alias}，"
                         f"{tk[7]}{qs}{tk[4]}，{goal}。")
        else:
            descs.append(f"由{lead}牵头{coop}，{y}年{tk[7]}{qs}{tk[4]}，{goal}。")
    sup = [V.SUPERVISORS[LEVEL_NAMES[l]][p.f_pick[i, 4] % len(V.SUPERVISORS[LEVEL_NAMES[l]])]
           for i, l in zip(sel, items["level"][sel])]
    return names, descs, sup


def _co_depts(items: dict, sel: np.ndarray) -> pl.Series:
    """The co-departments of items `sel`, in order of preference (polars builds a list column from Python
    lists with several KB of memory per row, so it is assembled from six columns instead)."""
    n_co = items["n_co"][sel]
    slots = pl.DataFrame({f"c{j}": masked(f"c{j}", DEPTS[items["co_order"][sel, j]].tolist(), j < n_co)
                          for j in range(6)})
    return slots.select(pl.concat_list(pl.all()).list.drop_nulls().alias("co_depts"))["co_depts"]


def _budgets(rng, items: dict) -> np.ndarray:
    # budget (万元): size by level and kind of task
    n = items["start"].size
    base_b = np.array([600.0, 2500.0, 10000.0, 40000.0])[items["level"]]
    small = np.isin(np.array([t[4] for t in V.TASKS], dtype=object)[items["task"]], SMALL_UNITS)
    budget = np.round(base_b * np.where(small, 0.15, 1.0) * np.exp(0.9 * rng.standard_normal(n)), 2)
    return np.where(items["budget_null"], np.nan, budget)


def project_status(items: dict, first_report: np.ndarray, as_of: int) -> np.ndarray:
    started = items["start"] <= as_of
    completed = (items["end"] <= as_of) & ~items["term"] & (first_report >= 0)
    return np.where(items["term"] & started, "terminated",
                    np.where(completed, "completed",
                             np.where(started & (first_report >= 0), "in_progress", "not_started")))


def projects_frames(items: dict, p: Projects, status: np.ndarray, geo: Geo) -> Iterator[pl.DataFrame]:
    """The projects table in chunks of items, in item order."""
    step = max(1, WRITE_CHUNK_ROWS // 4)  # rows with long texts
    for a in range(0, p.ids.size, step):
        yield _projects_frame(items, p, status, geo, np.arange(a, min(p.ids.size, a + step)))


def _projects_frame(items: dict, p: Projects, status: np.ndarray, geo: Geo, sel: np.ndarray) -> pl.DataFrame:
    names, descs, sup = _texts(items, geo, p, sel)
    st = status[sel]
    actual_end = np.where(st == "completed", items["end"][sel], -1)
    return pl.DataFrame({
        "project_id": p.ids[sel].tolist(),
        "name": names,
        "policy_id": p.policy_id[sel].tolist(),
        "domain": np.array(DOMAIN_NAMES, dtype=object)[items["dom"][sel]].tolist(),
        "category": np.array(V.CATEGORIES, dtype=object)[items["cat"][sel]].tolist(),
        "region_code": p.region_code[sel].tolist(),
        "lead_dept": DEPTS[items["lead"][sel]].tolist(),
        "co_depts": _co_depts(items, sel),
        "supervising_unit": sup,
        "priority": np.array(["normal", "key", "urgent"], dtype=object)[items["priority"][sel]].tolist(),
        "source": np.array(V.SOURCES, dtype=object)[items["src"][sel]].tolist(),
        "start_date": date_series("start_date", items["start"][sel]),
        "planned_end_date": date_series("planned_end_date", items["planned_end"][sel]),
        "actual_end_date": masked("actual_end_date", date_series("x", np.maximum(actual_end, 0)), actual_end >= 0),
        "budget_wan_yuan": pl.Series(p.budget[sel]).fill_nan(None),
        "status": st.tolist(),
        "description": descs,
    })
