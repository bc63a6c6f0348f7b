"""Public feedback (hotline, ratings, surveys, third parties, enterprises) on items and regions.

All random draws happen first, for every row at once and in a fixed order (so the data do not
depend on how they are written), into compact numeric arrays: about 100 bytes a row, 3 GB for
the 30 M rows of scale 100. Texts and the other strings are made only while writing, a chunk of
rows at a time, in the order of the table.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import polars as pl

from analytics.demo import vocab as V
from analytics.demo.common import DOMAIN_NAMES, N_FEEDBACK, WRITE_CHUNK_ROWS, group_offsets, masked, month_of, sigmoid, year_of
from analytics.demo.places import Geo

CHANNELS = np.array(["hotline_12345", "rating", "survey", "third_party", "enterprise"], dtype=object)
DOMAIN_ARRAY = np.array(DOMAIN_NAMES, dtype=object)
FLAT_CATS = [c for d in DOMAIN_NAMES for c in V.DOMAINS[d][3]]  # all categories in domain order


@dataclass
class _Rows:
    """Per feedback row, in the order drawn (linked rows, then background rows)."""
    day: np.ndarray
    reg: np.ndarray  # index into Geo.county_codes, or county count + index into Geo.city_codes
    pid: np.ndarray  # item row, or -1
    dom: np.ndarray
    ch: np.ndarray = None
    compl: np.ndarray = None
    ci: np.ndarray = None  # index into FLAT_CATS
    sat: np.ndarray = None
    recv: np.ndarray = None  # µs since 1970
    resp: np.ndarray = None
    has_resp: np.ndarray = None
    resolved: np.ndarray = None
    text: dict = None  # the draws behind the texts (see _text_draws)


def make_feedback(rng, it, ids, geo: Geo, status, first_report, scale, A, h0) -> Iterator[pl.DataFrame]:
    """The feedback table in chunks of rows, in the table's order (received time)."""
    # the order of the steps is the order of the draws from `rng`: keep it
    dom_int = np.array([V.DOMAINS[d][2] for d in DOMAIN_NAMES])
    linked = _linked_feedback(rng, it, geo, status, first_report, dom_int, scale, A)
    background = _background_feedback(rng, it, geo, dom_int, scale, A, h0)
    day, reg, prov, cap, dom, pid, stress = (np.concatenate([a, b]) for a, b in zip(linked, background))
    del linked, background
    rows = _Rows(day=day, reg=reg, pid=pid, dom=dom)
    rows.ch, rows.compl = _channel_and_complaint(rng, dom, stress, cap)
    rows.ci = _categories(rng, geo, dom, prov, day)
    del prov
    rows.sat = _satisfaction(rng, rows.ch, rows.compl, stress)
    sec, rows.recv, rows.resp, rows.has_resp, rows.resolved = _timing(rng, day, rows.ch, rows.compl, cap, stress, A)
    del cap, stress
    rows.text = _text_draws(rng, rows.ci, rows.ch)
    order = np.lexsort((sec, rows.recv))
    del sec
    reg_codes = pl.Series(np.concatenate([geo.county_codes, geo.city_codes]).tolist(), dtype=pl.String)
    id_series = pl.Series(ids.tolist(), dtype=pl.String)
    for a in range(0, order.size, WRITE_CHUNK_ROWS):
        yield _frame(rows, order[a:a + WRITE_CHUNK_ROWS], a, id_series, reg_codes, A)


def _frame(rows: _Rows, sel: np.ndarray, first: int, id_series: pl.Series, reg_codes: pl.Series, A) -> pl.DataFrame:
    """Rows `sel` (positions in drawing order), numbered from `first` in the table's order."""
    years = year_of(rows.day[sel])
    fid = [f"FK{y}{i:08d}" for i, y in enumerate(years.tolist(), start=first + 1)]
    pid = rows.pid[sel]
    compl, has_resp = rows.compl[sel], rows.has_resp[sel]
    return pl.DataFrame({
        "feedback_id": fid,
        "received_at": pl.Series(rows.recv[sel]).cast(pl.Datetime("us")),
        "channel": _pick(CHANNELS, rows.ch[sel]),
        "region_code": reg_codes.gather(rows.reg[sel]),
        "project_id": masked("project_id", id_series.gather(np.maximum(pid, 0)), pid >= 0),
        "domain": _pick(DOMAIN_NAMES, rows.dom[sel]),
        "satisfaction": rows.sat[sel].astype(np.int64),
        "is_complaint": compl,
        "category": _pick(FLAT_CATS, rows.ci[sel]),
        "responded_at": masked("responded_at", pl.Series("responded_at", rows.resp[sel]).cast(pl.Datetime("us")),
                               has_resp),
        "is_resolved": masked("is_resolved", pl.Series(rows.resolved[sel]), compl | has_resp),
        "text": _texts(rows, sel),
    })


def _pick(words, idx: np.ndarray) -> pl.Series:
    """words[idx] as a polars string column (without a Python object per row)."""
    return pl.Series(list(words), dtype=pl.String).gather(idx)


def _linked_feedback(rng, it, geo: Geo, status, first_report, dom_int, scale, A):
    """Feedback about items: (day, region, province, capacity, domain, item row or -1, stress)."""
    a0 = np.where(first_report >= 0, first_report, it["start"])
    a1 = np.minimum(np.where(it["term"], it["term_day"], it["end"]) + 60, A)
    act = (status != "not_started") & (a1 > a0)
    troubled = it["slow"] > 0.25
    lvl_f = np.array([1.0, 1.6, 2.2, 3.0])[it["level"]]
    lam = np.maximum(a1 - a0, 0) / 7 * dom_int[it["dom"]] * lvl_f * (1 + 1.2 * troubled) * act
    n_linked = int(round(N_FEEDBACK * 0.62 * scale))
    lam = lam * n_linked / max(lam.sum(), 1e-9)
    cnt = rng.poisson(lam)
    idx, _ = group_offsets(cnt)
    m = idx.size
    # trouble shows up in complaints: after onset, weeks before the (missed) deadline
    post = troubled[idx] & (rng.random(m) < 0.6)
    lo = np.where(post, np.maximum(it["ton"][idx], a0[idx]), a0[idx])
    lo = np.minimum(lo, a1[idx] - 1)
    day_l = lo + (rng.random(m) * (a1[idx] - lo)).astype(np.int64)
    del post, lo
    after_onset = day_l >= it["ton"][idx]
    lv = it["level"][idx]
    u = rng.random(m)
    c_in_city = Geo.pick_in(geo.county_by_city, np.maximum(it["city"][idx], 0), u)
    c_in_prov = Geo.pick_in(geo.county_by_prov, it["prov"][idx], u)
    del u
    c_any = rng.choice(geo.county_codes.size, size=m, p=(geo.prov_pop_p[geo.county_prov]
                                                        / np.bincount(geo.county_prov)[geo.county_prov]))
    county_l = np.where(lv == 0, it["county"][idx],
                        np.where(lv == 1, np.where(rng.random(m) < 0.7, c_in_city, -1),
                                 np.where(lv == 2, c_in_prov, c_any)))
    del c_in_city, c_in_prov, c_any, lv
    # a county, else the item's city (numbered after the counties)
    reg_l = np.where(county_l >= 0, county_l, geo.county_codes.size + np.maximum(it["city"][idx], 0)).astype(np.int32)
    del county_l
    prov_l = it["prov"][idx].astype(np.int16)
    cap_l = it["cap"][idx]
    dom_l = it["dom"][idx].astype(np.int8)
    pid_l = np.where(rng.random(m) < 0.45, idx, -1).astype(np.int32)
    stress_l = troubled[idx] & after_onset
    return day_l, reg_l, prov_l, cap_l, dom_l, pid_l, stress_l


def _background_feedback(rng, it, geo: Geo, dom_int, scale, A, h0):
    """Background feedback, not tied to an item, in the same column order as the linked feedback."""
    mb = int(round(N_FEEDBACK * 0.38 * scale))
    cb = rng.choice(geo.county_codes.size, size=mb, p=(geo.prov_pop_p[geo.county_prov]
                                                      / np.bincount(geo.county_prov)[geo.county_prov]))
    dom_b = rng.choice(len(DOMAIN_NAMES), size=mb, p=dom_int / dom_int.sum())
    day_b = h0 + rng.integers(0, A - h0 + 1, size=mb)
    cap_b = it["cap"].mean() + 0.8 * rng.standard_normal(mb)
    return (day_b, cb.astype(np.int32), geo.county_prov[cb].astype(np.int16), cap_b, dom_b.astype(np.int8),
            np.full(mb, -1, np.int32), np.zeros(mb, bool))


def _slices(k: int):
    """Row slices for elementwise work that would need several full-size temporaries at once."""
    return (slice(a, min(k, a + WRITE_CHUNK_ROWS)) for a in range(0, k, WRITE_CHUNK_ROWS))


def _channel_and_complaint(rng, dom, stress, cap):
    k = dom.size
    p_ch = np.tile(np.array([0.45, 0.30, 0.10, 0.03, 0.12]), (len(DOMAIN_NAMES), 1))
    p_ch[DOMAIN_NAMES.index("营商环境")] = [0.25, 0.25, 0.10, 0.05, 0.35]
    p_ch[DOMAIN_NAMES.index("科技创新")] = [0.15, 0.20, 0.15, 0.10, 0.40]
    cum = np.cumsum(p_ch, axis=1)  # per domain
    u = rng.random(k)
    ch = np.empty(k, np.int8)
    for s in _slices(k):
        ch[s] = np.minimum((cum[dom[s]] < u[s][:, None]).sum(axis=1), 4)
    u = rng.random(k)
    compl = np.empty(k, bool)
    for s in _slices(k):
        p_compl = np.array([0.72, 0.12, 0.08, 0.0, 0.4])[ch[s]] + 0.15 * stress[s] - 0.04 * cap[s]
        compl[s] = u[s] < np.clip(p_compl, 0, 0.97)
    return ch, compl


def _categories(rng, geo: Geo, dom, prov, day) -> np.ndarray:
    """Category per row, as an index into FLAT_CATS."""
    k = dom.size
    # category: 供暖 complaints concentrate in the heated north in winter
    cats_per_dom = [V.DOMAINS[d][3] for d in DOMAIN_NAMES]
    cat_start = np.cumsum([0] + [len(c) for c in cats_per_dom])[:-1]
    cat_n = np.array([len(c) for c in cats_per_dom])
    u = rng.random(k)
    ci = np.empty(k, np.int16)
    for s in _slices(k):
        ci[s] = cat_start[dom[s]] + (u[s] * cat_n[dom[s]]).astype(np.int64)
    u = rng.random(k)
    is_heating_cat = np.array([c == "供暖" for c in FLAT_CATS])
    livelihood = DOMAIN_NAMES.index("民生保障")
    for s in _slices(k):
        north = geo.prov_north[prov[s]]
        heating = (dom[s] == livelihood) & north & np.isin(month_of(day[s]), [11, 12, 1, 2, 3])
        c = np.where(heating & (u[s] < 0.6), FLAT_CATS.index("供暖"), ci[s])
        ci[s] = np.where(is_heating_cat[c] & ~north, FLAT_CATS.index("物业"), c)
    return ci


def _satisfaction(rng, ch, compl, stress) -> np.ndarray:
    k = ch.size
    r = rng.random(k)
    sat = np.empty(k, np.int8)
    for s in _slices(k):
        rs, st = r[s], stress[s]
        sat_c = np.where(rs < 0.5, 1, np.where(rs < 0.85, 2, 3))
        sat_o = np.where(rs < 0.08 + 0.1 * st, 3, np.where(rs < 0.35 + 0.15 * st, 4, 5))
        sat_o = np.where((ch[s] == 2) & (rs < 0.12), 2, sat_o)
        sat[s] = np.where(compl[s], sat_c, sat_o)
    return sat


def _timing(rng, day, ch, compl, cap, stress, A):
    """(second within the hour, received µs, responded µs, has response, resolved)."""
    k = day.size
    # received time of day: office hours mostly
    z = rng.normal(13.5, 3.5, size=k)
    sec = rng.integers(0, 3600, size=k)
    recv = np.empty(k, np.int64)
    for s in _slices(k):
        hour = np.clip(np.round(z[s]), 0, 23).astype(np.int64)
        recv[s] = (day[s] * 86400 + hour * 3600 + sec[s]) * 1_000_000
    del z
    # response: complaints and hotline/enterprise items get answered (late in thin-capacity places)
    z = rng.standard_normal(k)
    resp = np.empty(k, np.int64)
    for s in _slices(k):
        delay_h = np.exp(np.log(40) - 0.4 * cap[s] + 0.9 * z[s])
        resp[s] = recv[s] + (delay_h * 3600 * 1_000_000).astype(np.int64)
    u = rng.random(k)
    has_resp = np.empty(k, bool)
    for s in _slices(k):
        needs = compl[s] | (ch[s] == 0) | (ch[s] == 4)
        never = u[s] < sigmoid(-3.0 - 0.6 * cap[s])
        has_resp[s] = needs & ~never & (resp[s] <= (A + 1) * 86400 * 1_000_000 - 1)
    u = rng.random(k)
    resolved = np.empty(k, bool)
    for s in _slices(k):
        resolved[s] = np.where(has_resp[s], u[s] < np.clip(0.78 + 0.08 * cap[s] - 0.15 * stress[s], 0.2, 0.97), False)
    return sec.astype(np.int16), recv, resp, has_resp, resolved


def _text_draws(rng, ci, ch) -> dict:
    """The draws behind each row's text, as small integers and flags."""
    k = ci.size
    comp_n = np.array([len(V.COMPLAINT_TEXT[c]) for c in FLAT_CATS])
    u = rng.random(k)
    d = {"ti": np.empty(k, np.int16)}  # complaint text within the category
    for s in _slices(k):
        d["ti"][s] = (u[s] * comp_n[ci[s]]).astype(np.int64)
    del u
    small = lambda n: rng.integers(0, n, size=k).astype(np.int16)
    d["place"] = small(len(V.PLACES))
    d["prefix"] = rng.random(k) < 0.5  # the complaint starts with a place
    d["praise"] = small(len(V.PRAISE_TEXT))
    d["neutral"] = small(len(V.NEUTRAL_TEXT))
    d["ent"] = small(len(V.ENTERPRISE_TEXT))
    d["tp"] = small(len(V.THIRD_PARTY_TEXT))
    # some texts carry (fake) personal data, for masking tests
    d["contact"] = (rng.random(k) < 0.18) & ((ch == 0) | (ch == 4))
    d["sur"] = small(len(V.SURNAMES))
    d["male"] = rng.random(k) < 0.55
    d["pre"] = small(len(V.PHONE_PREFIXES))
    d["mid"] = small(10000)
    d["tail"] = small(10000)
    d["full"] = rng.random(k) < 0.4
    return d


def _texts(rows: _Rows, sel: np.ndarray) -> pl.Series:
    d = {name: v[sel] for name, v in rows.text.items()}
    ci = rows.ci[sel]
    comp_flat, comp_start = [], []
    for c in FLAT_CATS:
        comp_start.append(len(comp_flat))
        comp_flat.extend(V.COMPLAINT_TEXT[c])
    frame = pl.DataFrame({
        "complaint": _pick(comp_flat, np.array(comp_start)[ci] + d["ti"]),
        "place": _pick(V.PLACES, d["place"]),
        "prefix": d["prefix"],
        "praise": _pick(V.PRAISE_TEXT, d["praise"]),
        "neutral": _pick(V.NEUTRAL_TEXT, d["neutral"]),
        "ent": _pick(V.ENTERPRISE_TEXT, d["ent"]),
        "tp": _pick(V.THIRD_PARTY_TEXT, d["tp"]),
        "cat": _pick(FLAT_CATS, ci),
        "ch": rows.ch[sel],
        "compl": rows.compl[sel],
        "sat": rows.sat[sel],
    })
    complaint = (pl.when(pl.col("prefix")).then(pl.col("place") + "：").otherwise(pl.lit("")) + pl.col("complaint"))
    text = (pl.when(pl.col("ch") == 4).then(pl.col("ent").str.replace("{c}", pl.col("cat"), literal=True))
            .when(pl.col("ch") == 3).then(pl.col("tp").str.replace("{c}", pl.col("cat"), literal=True))
            .when(pl.col("compl")).then(complaint)
            .when(pl.col("sat") <= 3).then(pl.col("neutral"))
            .otherwise(pl.col("praise")))
    return frame.select(text.alias("t"))["t"] + _contact_suffixes(d)


def _contact_suffixes(d: dict) -> pl.Series:
    """Per row: an empty string, or a (fake) contact name and phone number to append to the text."""
    c = d["contact"]
    sur = np.array(V.SURNAMES, dtype=object)[d["sur"][c]]
    sex = np.where(d["male"][c], "先生", "女士")
    pre = np.array(V.PHONE_PREFIXES, dtype=object)[d["pre"][c]]
    phone = [f"{p}{a:04d}{b:04d}" if f else f"{p}****{b:04d}" for p, a, b, f in
             zip(pre, d["mid"][c].tolist(), d["tail"][c].tolist(), d["full"][c])]
    with_contact = pl.Series([f"，联系人{s}{x} {ph}" for s, x, ph in zip(sur, sex, phone)], dtype=pl.String)
    return pl.Series([""], dtype=pl.String).gather(np.zeros(c.size, np.int64)).scatter(np.nonzero(c)[0], with_contact)
