"""Progress reports: weekly or monthly per item, simulated in chunks of items and written as they go.

Reported progress follows the true work curve with noise; spending, forecasts and the RAG rating
carry the early signs of a slip. Beautified items freeze and then jump to plan before deadlines
and inspection campaigns.
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

import numpy as np
import polars as pl

from analytics.demo import vocab as V
from analytics.demo.common import DAY0, RAG_LEVELS, REPORT_CHUNK_ITEMS, Calendar, date_series, day_number, group_offsets, month_end, month_of, progress_curve, sigmoid, work_at, year_of
from analytics.db import store


def inspection_days(h0: int, as_of: int) -> np.ndarray:
    """Inspection campaigns: 20 June and 20 November of every year of the history."""
    insp = []
    for y in range(int(year_of(np.array([h0]))[0]), int(year_of(np.array([as_of]))[0]) + 1):
        insp += [day_number(dt.date(y, 6, 20)), day_number(dt.date(y, 11, 20))]
    return np.array(insp)


def write_reports(con, rng, it: dict, cal: Calendar, as_of: int, ids: np.ndarray, budget: np.ndarray,
                  beaut: np.ndarray, inspections: np.ndarray, say: Callable[[float, str], None]):
    """Write all progress reports; return (row count, first kept report day per item or -1)."""
    n = it["start"].size
    first_report = np.full(n, -1, np.int64)
    written = 0
    chunk = max(1000, REPORT_CHUNK_ITEMS)
    n_chunks = (n + chunk - 1) // chunk
    id_series = pl.Series(ids)  # converted once, gathered per chunk
    for c in range(n_chunks):
        sel = np.arange(c * chunk, min(n, (c + 1) * chunk))
        say(0.2 + 0.45 * c / n_chunks, f"Simulating progress reports ({c + 1}/{n_chunks})")
        frame, items_with, first_day = _reports_chunk(rng, it, sel, cal, as_of, id_series, budget, beaut, inspections)
        first_report[items_with] = first_day
        written += store.write_table(con, "progress_reports", frame, replace=False)
        del frame
    return written, first_report


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
    me1 = month_end(last)
    m1 = np.where(me1 > last, m1 - 1, m1)
    n_m = np.maximum(m1 - m0 + 1, 0)
    cnt = np.where(monthly, n_m, n_w)
    completed = (it["end"][sel] <= as_of) & ~it["term"][sel] & (last >= rstart)
    # a final report on the completion day
    idx, pos = group_offsets(cnt)
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


def _reports_chunk(rng, it: dict, sel: np.ndarray, cal: Calendar, as_of: int, ids: pl.Series,
                   budget: np.ndarray, beaut: np.ndarray, inspections: np.ndarray):
    """(reports of items `sel`, the items among them with a kept report, the day of each one's first)."""
    # the order of the steps is the order of the draws from `rng`: keep it
    ii, t = _report_rows(it, sel, cal, as_of)
    plan, true, rep, done = _progress(rng, it, ii, t, cal)
    spent_pct = _spending(rng, it, ii, sel, true, done)
    fc = _forecasts(rng, it, ii, t, done)
    firsts = np.ones(ii.size, bool)
    firsts[1:] = ii[1:] != ii[:-1]
    lasts = np.ones(ii.size, bool)
    lasts[:-1] = ii[1:] != ii[:-1]
    _beautify(rng, it, ii, t, plan, rep, done, firsts, lasts, beaut, inspections)
    # monotone reported progress and spending per item
    rep = _running_max(firsts, rep)
    spent_pct = _running_max(firsts, spent_pct)
    dev = plan - rep
    rag = _rag(rng, it, ii, t, dev, plan - true, fc, done, beaut)
    drop = _gaps(rng, it, ii, t, firsts, lasts)
    notes = _notes(rng, cal, t, dev, done)

    is_thin = it["thin"][ii]
    bud = budget[ii]
    has_b = ~np.isnan(bud)
    keep = ~drop
    out = pl.DataFrame({
        "project_id": ids.gather(pl.Series(ii[keep])),
        "report_date": date_series("report_date", t[keep]),
        "planned_progress_pct": np.where(is_thin, np.nan, np.round(np.clip(plan, 0, 100), 1))[keep],
        "actual_progress_pct": np.where(is_thin, np.nan, np.round(rep, 1))[keep],
        "forecast_end_date": date_series("forecast_end_date", fc[keep]),
        "budget_spent_wan_yuan": np.where(is_thin | ~has_b, np.nan, np.round(bud * spent_pct / 100, 2))[keep],
        "rag": rag[keep].tolist(),
        "note": notes[keep].tolist(),
    }).with_columns(pl.col("planned_progress_pct", "actual_progress_pct", "budget_spent_wan_yuan").fill_nan(None))
    kk = np.nonzero(keep & firsts)[0]
    return out, ii[kk], t[kk]


def _progress(rng, it: dict, ii: np.ndarray, t: np.ndarray, cal: Calendar):
    """(planned, true, reported progress in %, done) per report row."""
    nrow = ii.size
    dur = it["dur"][ii].astype(float)
    work = work_at(cal, t, it["s0"][ii], it["ton"][ii], it["ton2"][ii], it["r0"][ii], it["r1"][ii], it["r2"][ii])
    a = it["shape_a"][ii]
    true = 100 * progress_curve(work / dur, a)
    done = t >= it["end"][ii]
    true = np.where(done, 100.0, np.minimum(true, 99.5))
    plan = 100 * progress_curve((t - it["start"][ii]) / dur, a)
    rep = np.clip(true + 0.8 * rng.standard_normal(nrow), 0, 100)
    rep = np.where(done, 100.0, np.minimum(rep, 99.5))
    return plan, true, rep, done


def _spending(rng, it: dict, ii: np.ndarray, sel: np.ndarray, true: np.ndarray, done: np.ndarray):
    """Budget spent in % per report row."""
    nrow = ii.size
    # spending: proportional to work, convex if funds arrive late, concave if spent ahead of work
    fk = it["fund_kind"][ii]
    expo = np.where(fk < 0, 2.3, np.where(fk > 0, 0.45, 1.0)) * np.exp(0.08 * rng.standard_normal(sel.size))[
        np.searchsorted(sel, ii)]
    frac = np.clip(true / 100, 0, 1)
    spent_pct = 100 * frac ** expo * (1 + 0.03 * rng.standard_normal(nrow))
    spent_pct = np.where(done, np.maximum(spent_pct, 93 + 7 * rng.random(nrow)), spent_pct)
    return np.clip(spent_pct, 0, 100)


def _forecasts(rng, it: dict, ii: np.ndarray, t: np.ndarray, done: np.ndarray):
    """Forecast end day per report row."""
    # forecasts: stay on the deadline until trouble starts, then drift towards the real end
    pe = it["planned_end"][ii]
    endt = it["end"][ii]
    ton = it["ton"][ii]
    late_by = np.maximum(endt - pe, 0)
    w = np.clip((t - ton) / np.maximum(endt - ton, 1), 0, 1) ** 0.7
    optim = np.where(it["cap"][ii] < -0.5, 0.75, 0.95)
    fc = pe + (w * optim * late_by).astype(np.int64)
    fc = np.where(rng.random(ii.size) < 0.5, month_end(fc), fc)
    return np.where(done, endt, np.maximum(fc, t + 7))


def _beautify(rng, it, ii, t, plan, rep, done, firsts, lasts, beaut, inspections) -> None:
    """Rewrite `rep` in place for beautified items."""
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


def _running_max(firsts: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Cumulative maximum within each item (items start where `firsts` is set)."""
    key = np.cumsum(firsts) - 1
    return pl.DataFrame({"k": key, "v": v}).select(pl.col("v").cum_max().over("k")).to_series().to_numpy()


def _rag(rng, it, ii, t, dev, hidden_dev, fc, done, beaut) -> np.ndarray:
    """RAG rating per report row."""
    pe = it["planned_end"][ii]
    is_thin = it["thin"][ii]
    d_use = np.where(is_thin, hidden_dev, dev)
    lvl = np.digitize(d_use, [5, 10, 15, 20])
    lvl = np.where(fc > pe + 30, np.maximum(lvl, 2), lvl)
    lvl = np.where(fc > pe + 90, np.maximum(lvl, 3), lvl)
    greener = rng.random(ii.size) < np.where(it["cap"][ii] < -0.5, 0.35, 0.15)
    lvl = np.where(greener, np.maximum(lvl - 1, 0), lvl)
    lvl = np.where(t > pe, np.maximum(lvl, 3), lvl)  # past the deadline and not done
    lvl = np.where(t > pe + 30, 4, lvl)
    lvl = np.where(beaut[ii], np.minimum(lvl, 1), lvl)
    lvl = np.where(done, 0, lvl)
    return RAG_LEVELS[lvl]


def _gaps(rng, it, ii, t, firsts, lasts) -> np.ndarray:
    """Which report rows are dropped."""
    # gaps: missed weeks, more in thin-capacity counties and once trouble starts (never the first/last)
    p_gap = (0.02 + 0.08 * sigmoid(-1.5 * it["cap"][ii] - 1)
             + np.where((t > it["ton"][ii]) & (it["slow"][ii] > 0.3), 0.06, 0))
    return (rng.random(ii.size) < p_gap) & ~firsts & ~lasts


def _notes(rng, cal: Calendar, t, dev, done) -> np.ndarray:
    nrow = t.size
    sf = cal.near_spring_festival(t)
    dec = month_of(t) == 12
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
    return notes
