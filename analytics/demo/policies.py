"""Policies, their three-level indicator trees and quarterly indicator values per region."""
from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from analytics.demo import vocab as V
from analytics.demo.common import date_series, day_number, month_of, year_of
from analytics.demo.places import Geo


def make_policies(rng, as_of: int, h0: int) -> pl.DataFrame:
    counts = {"乡村振兴": 4, "营商环境": 4, "民生保障": 4, "生态环保": 4, "教育": 3, "医疗卫生": 3,
              "社会保障": 3, "安全生产": 3, "基础设施": 4, "科技创新": 3, "就业": 3, "文化旅游": 2}
    rows = []
    for domain, n in counts.items():
        topics = V.POLICY_TOPICS[domain]
        for j in range(n):
            issued = int(h0 - 500 + rng.integers(0, as_of - 120 - (h0 - 500)))
            y = int(year_of(np.array([issued]))[0])
            span = int(rng.choice([1, 2, 3]))
            end = day_number(dt.date(y + span, 12, 31))
            form = V.POLICY_FORMS[int(rng.integers(len(V.POLICY_FORMS)))]
            name = form.format(t=topics[j % len(topics)], y=y + (1 if "三年" in form else 0), z=y + 3)
            rows.append((domain, name, issued, end))
    rows.sort(key=lambda r: (r[2], r[1]))
    seq_by_year: dict[int, int] = {}
    out = []
    for domain, name, issued, end in rows:
        y = int(year_of(np.array([issued]))[0])
        seq_by_year[y] = seq_by_year.get(y, 0) + 1
        out.append((f"ZC{y}-{seq_by_year[y]:03d}", name, domain, V.DOMAINS[domain][0], issued, end))
    df = pl.DataFrame({
        "policy_id": [r[0] for r in out], "name": [r[1] for r in out], "domain": [r[2] for r in out],
        "policy_type": [r[3] for r in out],
        "issued_date": date_series("issued_date", np.array([r[4] for r in out])),
        "end_date": date_series("end_date", np.array([r[5] for r in out])),
    })
    return df


def _quarter_index(days):
    y = year_of(days)
    return y * 4 + (month_of(days) - 1) // 3


def _indicator_tree(policies: pl.DataFrame):
    """The indicators table and its leaves:
    (indicator_id, policy index, name, unit, direction, base, spread, is_count, level-2 name)."""
    ind_rows = []
    leaves = []
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
    return indicators, leaves


def make_indicators(rng, policies: pl.DataFrame, geo: Geo, prov_cap: np.ndarray, city_cap: np.ndarray,
                    as_of: int, h0: int):
    indicators, leaves = _indicator_tree(policies)
    issued = (policies["issued_date"].cast(pl.Int32).to_numpy()).astype(np.int64)
    ends = (policies["end_date"].cast(pl.Int32).to_numpy()).astype(np.int64)
    q_asof = int(_quarter_index(np.array([as_of]))[0])
    q_first = int(_quarter_index(np.array([h0]))[0])
    # which policies also get city values (cheap subset)
    n_pol = policies.height
    city_pols = set(range(0, n_pol, 5))
    frames = []
    for leaf in leaves:
        pi, l2 = leaf[1], leaf[8]
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
            frames.append(_leaf_values(rng, leaf, qs, q0, q_asof, codes, popf, cap))
    values = pl.concat(frames).sort(["indicator_id", "region_code", "period"])
    return indicators, values


def _leaf_values(rng, leaf, qs, q0, q_asof, codes, popf, cap) -> pl.DataFrame:
    """Quarterly target and actual values of one leaf indicator for every region of one level."""
    iid, _, _, unit, direction, base, spread, is_count, _ = leaf
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
    return pl.DataFrame({
        "indicator_id": np.full(r_idx.size, iid, dtype=object).tolist(),
        "region_code": codes[r_idx].tolist(),
        "period": [f"{int(x) // 4}-Q{int(x) % 4 + 1}" for x in q],
        "target_value": np.round(target, 2),
        "actual_value": np.where(done, np.round(actual, 2), np.nan),
    }).with_columns(pl.col("actual_value").fill_nan(None))
