"""Milestones and rectifications of the supervised items."""
from __future__ import annotations

from typing import Iterator

import numpy as np
import polars as pl

from analytics.demo import vocab as V
from analytics.demo.common import DEPT_INDEX, DEPTS, N_RECT, WRITE_CHUNK_ROWS, Calendar, date_series, day_reaching, group_offsets, masked, sigmoid, year_of
from analytics.demo.places import Geo


# --------------------------------------------------------------------------- milestones
PLANNED_UNITS = ["公里", "个小区", "套", "所", "处", "张床位", "万吨/日", "万亩"]  # tasks that follow plan 0


def make_milestones(rng, it: dict, ids, status, cal: Calendar, A: int) -> Iterator[pl.DataFrame]:
    """The milestones table in chunks of whole items (3–6 rows each), in item order."""
    # every draw is made up front (numbers only), in the order they always had; rows are built per chunk
    n = ids.size
    k = rng.integers(3, 7, size=n)
    plan_kind = np.where(np.isin(np.array([t[4] for t in V.TASKS], dtype=object)[it["task"]], PLANNED_UNITS), 0,
                         rng.integers(1, len(V.MILESTONE_PLANS), size=n))
    jitter = rng.uniform(-0.06, 0.06, int(k.sum()))
    sub = rng.random((n, 6))  # which stages a plan keeps
    gam = rng.gamma(2.0, 1.0, size=jitter.size)  # weights before normalising
    row0 = np.concatenate([[0], np.cumsum(k)])  # first row of each item
    step = max(1, WRITE_CHUNK_ROWS // 6)
    for i0 in range(0, n, step):
        items = np.arange(i0, min(n, i0 + step))
        rows = slice(row0[i0], row0[items[-1] + 1])
        yield _milestones_chunk(it, ids, status, cal, A, items, k[items], plan_kind[items], jitter[rows], sub[items],
                                gam[rows])


def _milestones_chunk(it, ids, status, cal, A, items, k, plan_kind, jitter, sub, gam) -> pl.DataFrame:
    local, pos = group_offsets(k)
    idx = items[local]
    kk = k[local]
    frac = (pos + 1) / kk
    frac = np.where(pos + 1 < kk, np.clip(frac + jitter, 0.05, 0.97), 1.0)
    dur = it["dur"][idx]
    planned = it["start"][idx] + np.maximum((frac * dur).astype(np.int64), 1)
    reach = day_reaching(cal, frac * dur, it["s0"][idx], it["ton"][idx], it["ton2"][idx],
                         it["r0"][idx], it["r1"][idx], it["r2"][idx])
    reach = np.where(pos + 1 == kk, it["end"][idx], np.minimum(reach, it["end"][idx]))
    st = status[idx]
    done = (reach <= A) & (st != "not_started")
    done &= ~((st == "terminated") & (reach > it["term_day"][idx]))
    done &= (st == "completed") | (pos + 1 < kk)
    names = _milestone_names(sub, k, plan_kind)
    w = _milestone_weights(gam, local, pos, kk, items.size)
    pid = pl.Series(ids[idx].tolist())
    return pl.DataFrame({
        "project_id": pid,
        "milestone_id": pid + pl.Series([f"-M{p + 1}" for p in range(6)]).gather(pl.Series(pos)),
        "name": names,
        "planned_date": date_series("planned_date", planned),
        "actual_date": masked("actual_date", date_series("x", reach), done),
        "weight": w,
    })


def _milestone_names(sub: np.ndarray, k: np.ndarray, plan_kind: np.ndarray) -> list[str]:
    # names: a subset of the plan's stages, in order, always ending with the last stage
    names = []
    plans = V.MILESTONE_PLANS
    for i in range(k.size):
        p = plans[plan_kind[i]]
        m = k[i]
        if m >= len(p):
            chosen = list(p[:-1]) + [f"{p[-2]}（第{j + 2}批）" for j in range(m - len(p))] + [p[-1]]
        else:
            mid = np.sort(np.argsort(sub[i, :len(p) - 1])[:m - 1])
            chosen = [p[j] for j in mid] + [p[-1]]
        names.extend(chosen[:m])
    return names


def _milestone_weights(gam, idx, pos, kk, n) -> np.ndarray:
    """Weights rounded to 3 decimals that sum to 1 per item (the last milestone takes the rest)."""
    tot = np.bincount(idx, weights=gam, minlength=n)
    w = np.round(gam / tot[idx], 3)
    lastm = pos + 1 == kk
    fix = 1.0 - np.bincount(idx, weights=np.where(lastm, 0, w), minlength=n)
    w = np.where(lastm, np.round(fix[idx], 3), w)
    return np.clip(w, 0, 1)


# --------------------------------------------------------------------------- rectifications
RECT_SOURCES = np.array(["inspection", "audit", "public_feedback", "warning", "other"], dtype=object)
TASK_ALIAS = np.array([t[1][0] for t in V.TASKS], dtype=object)  # a task's usual name


def make_rectifications(rng, it, ids, region_code, geo: Geo, status, first_report, scale, A,
                        h0) -> Iterator[pl.DataFrame]:
    """The rectifications table in chunks of rows, in the table's order (found date)."""
    linked = _linked_rectifications(rng, it, ids, region_code, status, first_report, scale, A)
    unlinked = _unlinked_rectifications(rng, it, geo, scale, A, h0)
    found, src, cap, dept_idx, task, reg, is_rel, pid = (np.concatenate([a, b]) for a, b in zip(linked, unlinked))
    k = found.size
    deadline = found + rng.choice([15, 30, 45, 60, 90], size=k, p=[0.3, 0.35, 0.15, 0.15, 0.05])
    close_days = np.round(np.exp(np.log(14) - 0.35 * cap + 0.6 * rng.standard_normal(k))).astype(np.int64) + 1
    never = rng.random(k) < sigmoid(-2.8 - 0.6 * cap)
    closed = found + close_days
    is_closed = (closed <= A) & ~never
    age = A - found
    st = np.where(is_closed, "closed",
                  np.where(age < 5, "open",
                           np.where(~never & (closed - A <= 7), "awaiting_acceptance", "in_progress")))
    st = np.where(never & (age >= 5) & (rng.random(k) < 0.3), "open", st)
    pick = rng.integers(0, 1 << 30, size=k)
    order = np.lexsort((pick, found))
    for a in range(0, k, WRITE_CHUNK_ROWS):
        o = order[a:a + WRITE_CHUNK_ROWS]
        years = year_of(found[o])
        texts = []
        for s, t, pk in zip(RECT_SOURCES[src[o]], TASK_ALIAS[task[o]], pick[o].tolist()):
            f = V.RECT_TEXT[s]
            texts.append(f[pk % len(f)].format(t=t))
        yield pl.DataFrame({
            "rectification_id": [f"ZG{y}-{i:06d}" for i, y in enumerate(years.tolist(), start=a + 1)],
            "project_id": pid[o].tolist(),
            "region_code": reg[o].tolist(),
            "source": RECT_SOURCES[src[o]].tolist(),
            "found_date": date_series("found_date", found[o]),
            "description": texts,
            "responsible_dept": DEPTS[dept_idx[o]].tolist(),
            "deadline": date_series("deadline", deadline[o]),
            "closed_date": masked("closed_date", date_series("x", closed[o]), is_closed[o]),
            "status": st[o].tolist(),
            "is_relapse": is_rel[o],
        })


def _linked_rectifications(rng, it, ids, region_code, status, first_report, scale, A):
    """Problems found on items, more on items at risk and around the onset of trouble:
    (found, source, capacity, dept index, task, region, is_relapse, project_id)."""
    active_from = np.where(first_report >= 0, first_report, it["start"])
    active_to = np.minimum(np.where(it["term"], it["term_day"], it["end"]), A)
    act = (status != "not_started") & (active_to > active_from)
    lam = np.exp(0.6 * (it["lp"] + 2.0)) * np.sqrt(np.maximum(active_to - active_from, 0) / 365) * act
    n_linked = int(round(N_RECT * 0.8 * scale))
    lam = lam * n_linked / max(lam.sum(), 1e-9)
    cnt = rng.poisson(lam)
    idx, pos = group_offsets(cnt)
    m = idx.size
    a0, a1 = active_from[idx], active_to[idx]
    troubled = it["slow"][idx] > 0.25
    near_onset = troubled & (rng.random(m) < 0.6)
    f_on = it["ton"][idx] + rng.integers(-30, 61, size=m)
    found = np.where(near_onset, f_on, a0 + (rng.random(m) * (a1 - a0)).astype(np.int64))
    found = np.clip(found, a0, a1)
    fk = it["fund_kind"][idx]
    p_src = np.where(near_onset[:, None], np.array([0.3, 0.15, 0.2, 0.33, 0.02]), np.array([0.4, 0.15, 0.3, 0.1, 0.05]))
    p_src = np.where((fk != 0)[:, None], p_src * np.array([1, 3, 1, 1, 1]), p_src)
    p_src = p_src / p_src.sum(axis=1, keepdims=True)
    src = (np.cumsum(p_src, axis=1) < rng.random(m)[:, None]).sum(axis=1)
    cap = it["cap"][idx]
    dept_idx = np.where(rng.random(m) < 0.75, it["lead"][idx], it["co_order"][idx, 0])
    reg = region_code[idx]
    is_rel = rng.random(m) < np.where(pos > 0, 0.5, 0.1)
    return found, src, cap, dept_idx, it["task"][idx], reg, is_rel, ids[idx]


def _unlinked_rectifications(rng, it, geo: Geo, scale, A, h0):
    """Region-level problems not tied to an item, in the same column order as the linked ones."""
    mu = int(round(N_RECT * 0.2 * scale))
    cu = rng.integers(0, geo.county_codes.size, size=mu)
    cu_cap = it["cap"].mean() + 0.0 * cu
    ustart = h0 + rng.integers(0, A - h0, size=mu)
    utask = rng.integers(0, len(V.TASKS), size=mu)
    src = rng.choice(5, size=mu, p=[0.45, 0.2, 0.25, 0.0, 0.1])
    cap = cu_cap + 0.6 * rng.standard_normal(mu)
    dept_idx = np.array([DEPT_INDEX[t[2]] for t in V.TASKS])[utask]
    is_rel = rng.random(mu) < 0.15
    return (ustart, src, cap, dept_idx, utask, geo.county_codes[cu], is_rel, np.full(mu, None, dtype=object))
