"""Planted ground truth, written to the sidecar folder `<db_path>.truth/` (never into the database)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import polars as pl

from analytics.demo.common import date_series

FUND_ISSUES = np.array(["none", "late", "ahead"], dtype=object)


def write_truth(db_path: Path, it: dict, ids: np.ndarray, orig: np.ndarray, beaut: np.ndarray) -> None:
    """Replace `<db_path>.truth/` (via a temporary folder) with the planted ground truth."""
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
        "fund_issue": FUND_ISSUES[np.where(it["fund_kind"] < 0, 1, np.where(it["fund_kind"] > 0, 2, 0))].tolist(),
        "late_start_days": it["late_days"],
        "risk_logit": np.round(it["lp"], 4),
        "slowdown": np.round(it["slow"], 4),
        "onset_date": date_series("onset_date", it["ton"]),
        "true_end_date": date_series("true_end_date", it["end"]),
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
