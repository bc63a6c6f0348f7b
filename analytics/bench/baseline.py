"""The cockpit's item execution per region, computed the way a typical Streamlit dashboard does it.

The raw tables are loaded once into pandas frames held in memory (`load`, timed apart: a dashboard pays it at
start and after every upload), then each filter state is answered with boolean masks, sorts and groupby
(`region_items`). The rules are the cockpit's own (overdue > progress > milestones > forecast > RAG > no
data; see analytics/db/sql/metrics.py), so the counts equal `queries.run(..., "region_items")` for the
same filters; a test holds them equal. This exists only to measure against: the app never uses it.
"""
from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from analytics.filters import Filters, period_bounds
from analytics.metrics import Thresholds

COUNTS = ("n_in_flight", "n_lit", "n_red", "n_yellow", "n_green", "n_no_data", "n_overdue", "n_completed",
          "n_on_time")


def load(con: duckdb.DuckDBPyConnection) -> dict[str, pd.DataFrame]:
    """Every table the computation reads, as pandas frames (what a dashboard keeps in memory)."""
    out = {name: con.sql(f"SELECT * FROM {name}").df()  # noqa: S608 (fixed table names)
           for name in ("projects", "progress_reports", "milestones", "regions", "region_closure")}
    for frame in out.values():  # DuckDB hands dates over as datetime64: compare them as such
        for col in frame.columns:
            if col.endswith("_date"):
                frame[col] = pd.to_datetime(frame[col])
    return out


def _latest(reports: pd.DataFrame, cols: list[str], value: str) -> pd.Series:
    rows = reports.dropna(subset=cols).sort_values("report_date")
    return rows.groupby("project_id")[value].last()


def region_items(t: dict[str, pd.DataFrame], filters: Filters, as_of: date, level: str,
                 th: Thresholds = Thresholds()) -> pd.DataFrame:
    """One row per region at `level` within the filters: the item counts of the cockpit's region_items."""
    start, end = period_bounds(filters.period, as_of)
    end_ts = pd.Timestamp(end)
    p = t["projects"]
    closure = t["region_closure"]
    mask = p["start_date"] <= end_ts
    if start is not None:
        mask &= p["actual_end_date"].fillna(end_ts) >= pd.Timestamp(start)
    if filters.region_code:
        inside = closure.loc[closure["ancestor_code"] == filters.region_code, "region_code"]
        mask &= p["region_code"].isin(inside)
    for col, values in (("domain", filters.domains), ("lead_dept", filters.lead_depts),
                        ("priority", filters.priorities)):
        if values:
            mask &= p[col].isin(values)
    items = p.loc[mask].set_index("project_id")
    r = t["progress_reports"]
    r = r[(r["report_date"] <= end_ts) & r["project_id"].isin(items.index)]
    planned = _latest(r, ["planned_progress_pct", "actual_progress_pct"], "planned_progress_pct")
    actual = _latest(r, ["planned_progress_pct", "actual_progress_pct"], "actual_progress_pct")
    forecast = _latest(r, ["forecast_end_date"], "forecast_end_date")
    rag = _latest(r, ["rag"], "rag")
    m = t["milestones"]
    m = m[m["project_id"].isin(items.index)].copy()
    m["w"] = m["weight"].fillna(1.0)
    m["due"] = m["planned_date"] <= end_ts
    m["missed"] = m["due"] & (m["actual_date"].isna() | (m["actual_date"] > end_ts))
    m["w_missed"] = m["w"].where(m["missed"], 0.0)
    ms = m.groupby("project_id").agg(weight_total=("w", "sum"), n_due=("due", "sum"), weight_missed=("w_missed", "sum"))
    s = items.join([planned.rename("planned"), actual.rename("actual"), forecast.rename("forecast"),
                    rag.rename("rag"), ms], how="left")
    s["n_due"] = s["n_due"].fillna(0)
    completed = s["actual_end_date"].notna() & (s["actual_end_date"] <= end_ts)
    state = np.select([s["status"] == "terminated", completed, s["start_date"] > end_ts],
                      ["terminated", "completed", "not_started"], "in_flight")
    s["state"] = state
    duration = (s["planned_end_date"] - s["start_date"]).dt.days.clip(lower=1)
    delay = (s["forecast"] - s["planned_end_date"]).dt.days.clip(lower=0)
    rule = np.select([s["planned_end_date"] < end_ts, s["planned"].notna(), s["n_due"] > 0, s["forecast"].notna(),
                      s["rag"].notna()], ["overdue", "progress", "milestones", "forecast", "rag"], "no_data")
    lag = np.select([s["planned"].notna(), s["n_due"] > 0, s["forecast"].notna()],
                    [s["planned"] - s["actual"], 100.0 * s["weight_missed"] / s["weight_total"], 100.0 * delay / duration],
                    np.nan)
    by_lag = np.select([lag > th.red_pp, lag > th.yellow_pp], ["red", "yellow"], "green")
    by_rag = np.select([s["rag"].isin(["red", "amber_red"]), s["rag"] == "amber"], ["red", "yellow"], "green")
    light = np.select([rule == "overdue", rule == "rag", rule == "no_data"], ["red", by_rag, "none"], by_lag)
    s["light"] = np.where(state == "in_flight", light, None)
    s["rule"] = rule
    in_start = pd.Timestamp(start) if start is not None else pd.Timestamp.min
    done_in = (s["state"] == "completed") & (s["actual_end_date"] >= in_start) & (s["actual_end_date"] <= end_ts)
    flying = s["state"] == "in_flight"
    frame = pd.DataFrame({
        "region_code": s["region_code"], "n_in_flight": flying, "n_lit": s["light"].isin(["red", "yellow", "green"]),
        "n_red": s["light"] == "red", "n_yellow": s["light"] == "yellow", "n_green": s["light"] == "green",
        "n_no_data": s["light"] == "none", "n_overdue": flying & (s["rule"] == "overdue"), "n_completed": done_in,
        "n_on_time": done_in & (s["actual_end_date"] <= s["planned_end_date"]),
    })
    levels = t["regions"].set_index("region_code")["level"]
    anc = closure[closure["ancestor_code"].map(levels) == level][["region_code", "ancestor_code"]]
    grouped = frame.merge(anc, on="region_code").groupby("ancestor_code")[list(COUNTS)].sum().astype("int64")
    return grouped.rename_axis("region_code").reset_index().sort_values("region_code", ignore_index=True)
