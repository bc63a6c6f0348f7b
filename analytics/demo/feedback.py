"""Public feedback (hotline, ratings, surveys, third parties, enterprises) on items and regions."""
from __future__ import annotations

import numpy as np
import polars as pl

from . import vocab as V
from .common import DOMAIN_NAMES, N_FEEDBACK, group_offsets, masked, month_of, sigmoid, year_of
from .places import Geo

CHANNELS = np.array(["hotline_12345", "rating", "survey", "third_party", "enterprise"], dtype=object)


def make_feedback(rng, it, ids, geo: Geo, status, first_report, scale, A, h0) -> pl.DataFrame:
    # the order of the steps is the order of the draws from `rng`: keep it
    dom_int = np.array([V.DOMAINS[d][2] for d in DOMAIN_NAMES])
    linked = _linked_feedback(rng, it, ids, geo, status, first_report, dom_int, scale, A)
    background = _background_feedback(rng, it, geo, dom_int, scale, A, h0)
    day, reg, prov, cap, dom, pid, stress = (np.concatenate([a, b]) for a, b in zip(linked, background))
    k = day.size
    dname = np.array(DOMAIN_NAMES, dtype=object)[dom]
    ch, compl = _channel_and_complaint(rng, dname, stress, cap)
    flat_cats, ci = _categories(rng, geo, dname, dom, prov, day)
    cat = np.array(flat_cats, dtype=object)[ci]
    # satisfaction
    r = rng.random(k)
    sat_c = np.where(r < 0.5, 1, np.where(r < 0.85, 2, 3))
    sat_o = np.where(r < 0.08 + 0.1 * stress, 3, np.where(r < 0.35 + 0.15 * stress, 4, 5))
    sat_o = np.where((ch == 2) & (r < 0.12), 2, sat_o)
    sat = np.where(compl, sat_c, sat_o)
    sec, recv, resp, has_resp, resolved = _timing(rng, day, ch, compl, cap, stress, A)
    text = _texts(rng, flat_cats, ci, cat, ch, compl, sat)
    order = np.lexsort((sec, recv))
    years = year_of(day[order])
    fid = [f"FK{y}{i + 1:08d}" for i, y in enumerate(years)]
    resp_s = pl.Series("responded_at", resp).cast(pl.Datetime("us"))
    return pl.DataFrame({
        "feedback_id": fid,
        "received_at": pl.Series(recv[order]).cast(pl.Datetime("us")),
        "channel": CHANNELS[ch[order]].tolist(),
        "region_code": reg[order].tolist(),
        "project_id": pid[order].tolist(),
        "domain": dname[order].tolist(),
        "satisfaction": sat[order].astype(np.int64),
        "is_complaint": compl[order],
        "category": cat[order].tolist(),
        "responded_at": masked("responded_at", resp_s.gather(pl.Series(order)), has_resp[order]),
        "is_resolved": masked("is_resolved", pl.Series(resolved[order]), (compl | has_resp)[order]),
        "text": np.array(text, dtype=object)[order].tolist(),
    })


def _linked_feedback(rng, it, ids, geo: Geo, status, first_report, dom_int, scale, A):
    """Feedback about items: (day, region, province, capacity, domain, project_id or None, stress)."""
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
    return day_l, reg_l, prov_l, cap_l, dom_l, pid_l, stress_l


def _background_feedback(rng, it, geo: Geo, dom_int, scale, A, h0):
    """Background feedback, not tied to an item, in the same column order as the linked feedback."""
    mb = int(round(N_FEEDBACK * 0.38 * scale))
    cb = rng.choice(geo.county_codes.size, size=mb, p=(geo.prov_pop_p[geo.county_prov]
                                                      / np.bincount(geo.county_prov)[geo.county_prov]))
    dom_b = rng.choice(len(DOMAIN_NAMES), size=mb, p=dom_int / dom_int.sum())
    day_b = h0 + rng.integers(0, A - h0 + 1, size=mb)
    cap_b = it["cap"].mean() + 0.8 * rng.standard_normal(mb)
    return (day_b, geo.county_codes[cb], geo.county_prov[cb], cap_b, dom_b, np.full(mb, None, dtype=object),
            np.zeros(mb, bool))


def _channel_and_complaint(rng, dname, stress, cap):
    k = dname.size
    p_ch = np.tile(np.array([0.45, 0.30, 0.10, 0.03, 0.12]), (k, 1))
    p_ch[dname == "营商环境"] = [0.25, 0.25, 0.10, 0.05, 0.35]
    p_ch[dname == "科技创新"] = [0.15, 0.20, 0.15, 0.10, 0.40]
    ch = (np.cumsum(p_ch, axis=1) < rng.random(k)[:, None]).sum(axis=1)
    ch = np.minimum(ch, 4)
    p_compl = np.array([0.72, 0.12, 0.08, 0.0, 0.4])[ch] + 0.15 * stress - 0.04 * cap
    compl = rng.random(k) < np.clip(p_compl, 0, 0.97)
    return ch, compl


def _categories(rng, geo: Geo, dname, dom, prov, day):
    """(all categories in domain order, category index per row)."""
    k = dname.size
    # category: 供暖 complaints concentrate in the heated north in winter
    cats_per_dom = [V.DOMAINS[d][3] for d in DOMAIN_NAMES]
    flat_cats = [c for cs in cats_per_dom for c in cs]
    cat_start = np.cumsum([0] + [len(c) for c in cats_per_dom])[:-1]
    cat_n = np.array([len(c) for c in cats_per_dom])
    ci = cat_start[dom] + (rng.random(k) * cat_n[dom]).astype(np.int64)
    month = month_of(day)
    heating = (dname == "民生保障") & geo.prov_north[prov] & np.isin(month, [11, 12, 1, 2, 3])
    ci = np.where(heating & (rng.random(k) < 0.6), flat_cats.index("供暖"), ci)
    ci = np.where((np.array(flat_cats, dtype=object)[ci] == "供暖") & ~geo.prov_north[prov],
                  flat_cats.index("物业"), ci)
    return flat_cats, ci


def _timing(rng, day, ch, compl, cap, stress, A):
    """(second within the hour, received µs, responded µs, has response, resolved)."""
    k = day.size
    # received time of day: office hours mostly
    hour = np.clip(np.round(rng.normal(13.5, 3.5, size=k)), 0, 23).astype(np.int64)
    sec = rng.integers(0, 3600, size=k)
    recv = (day * 86400 + hour * 3600 + sec) * 1_000_000
    # response: complaints and hotline/enterprise items get answered (late in thin-capacity places)
    needs = compl | (ch == 0) | (ch == 4)
    delay_h = np.exp(np.log(40) - 0.4 * cap + 0.9 * rng.standard_normal(k))
    never = rng.random(k) < sigmoid(-3.0 - 0.6 * cap)
    resp = recv + (delay_h * 3600 * 1_000_000).astype(np.int64)
    has_resp = needs & ~never & (resp <= (A + 1) * 86400 * 1_000_000 - 1)
    resolved = np.where(has_resp, rng.random(k) < np.clip(0.78 + 0.08 * cap - 0.15 * stress, 0.2, 0.97), False)
    return sec, recv, resp, has_resp, resolved


def _texts(rng, flat_cats, ci, cat, ch, compl, sat) -> list[str]:
    k = ci.size
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
    return (frame["t"] + pl.Series(_contact_suffixes(rng, ch).tolist())).to_list()


def _contact_suffixes(rng, ch) -> np.ndarray:
    """Per row: an empty string, or a (fake) contact name and phone number to append to the text."""
    k = ch.size
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
    return suffix
