"""Deterministic, realistic demo data for the cockpit (see docs/demo-data.md).

`generate(db_path, scale, seed, as_of, progress)` writes a complete DuckDB file. Items slip for
reasons that show in the data before the slip (co-departments, thin county capacity, weak lead
departments, late starts, funding problems, slowing velocity, revised forecasts, open
rectifications, rising complaints), plus noise. Planted ground truth (beautified reports,
duplicate items, per-item latent factors) goes to the sidecar folder `<db_path>.truth/`, never
into the database.

Everything is vectorised with numpy/polars; the only Python loops run over items (not reports)
or over the few hundred beautified items. Memory stays bounded at any scale (scale 100: 2 M items,
89 M reports): the random draws of a stage are made up front as compact numbers, and the big
tables are built and inserted in chunks (reports per REPORT_CHUNK_ITEMS items, the others per
about WRITE_CHUNK_ROWS rows), their strings made only for the chunk being written; the mart is
built a range of dates at a time (`marts.CHUNK_ROWS`). DuckDB gets a memory limit and a spill folder.

Modules: `common` (constants, date helpers, work calendar), `places` (regions), `policies`
(policies and indicators), `items` (simulated items and their latent factors), `projects` (what
the database shows of each item), `reports` (progress reports), `events` (milestones,
rectifications), `feedback`, `truth` (sidecar ground truth), `vocab` (vocabulary).
"""
from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import polars as pl

from analytics.db import marts
from analytics.db import store
from analytics.demo.common import DUCKDB_MEMORY_LIMIT, HISTORY_DAYS, Calendar, day_number
from analytics.demo.events import make_milestones, make_rectifications
from analytics.demo.feedback import make_feedback
from analytics.demo.items import simulate_items
from analytics.demo.places import Geo
from analytics.demo.policies import make_indicators, make_policies
from analytics.demo.projects import Projects, plan_projects, project_status, projects_frames
from analytics.demo.reports import inspection_days, write_reports
from analytics.demo.truth import write_truth

__all__ = ["generate"]


@dataclass(frozen=True)
class _Run:
    """The arguments of one `generate` call and the lookups every stage shares."""
    seed: int
    scale: float
    as_of: dt.date
    A: int  # as_of as a day number
    h0: int  # first day of the simulated history
    say: Callable[[float, str], None]
    geo: Geo
    cal: Calendar

    def rng(self, stage: int) -> np.random.Generator:
        # every stage draws from its own stream: changing one stage never shifts another
        return np.random.default_rng([self.seed, stage])


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
    spill = Path(str(tmp) + ".spill")
    _remove(tmp, Path(str(tmp) + ".wal"))
    shutil.rmtree(spill, ignore_errors=True)
    A = day_number(as_of)
    h0 = A - HISTORY_DAYS
    say(0.01, "Preparing regions and calendar")
    regions = store.read_regions_csv()
    run = _Run(seed, scale, as_of, A, h0, say, Geo(regions), Calendar(h0 - 900, A + 15 * 365))

    say(0.04, "Generating policies and indicators")
    policies = make_policies(run.rng(1), A, h0)
    items, prov_cap, city_cap = simulate_items(run.rng(2), run.geo, run.cal, scale, A, h0)
    indicators, ind_values = make_indicators(run.rng(3), policies, run.geo, prov_cap / (prov_cap.std() or 1),
                                             city_cap / (city_cap.std() or 1), A, h0)
    proj = plan_projects(run.rng(4), items, run.geo, policies, A, say)

    tmp.parent.mkdir(parents=True, exist_ok=True)
    con = store.connect(tmp, memory_limit=DUCKDB_MEMORY_LIMIT, spill_to=spill)
    try:
        counts = _write_reference_tables(con, say, regions, policies, indicators, ind_values)
        counts.update(_write_item_tables(con, run, items, proj))
        say(0.93, "Recording the data version")
        version = store.record_version(con, "demo", f"demo scale={scale} seed={seed}", as_of,
                                       f"synthetic demo data: {counts['projects']} items, "
                                       f"{counts['progress_reports']} progress reports, as of {as_of.isoformat()}")
        say(0.95, "Building the item snapshot mart")
        marts.refresh(con, as_of, version)
        store.checkpoint(con)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    # a WAL left by an older file must not be replayed onto the new one
    _remove(Path(str(db_path) + ".wal"), Path(str(tmp) + ".wal"))
    os.replace(tmp, db_path)

    say(0.98, "Writing the ground-truth sidecar")
    write_truth(db_path, items, proj.ids, proj.orig, proj.beaut)
    say(1.0, f"Done in {time.perf_counter() - t_start:.1f} s")
    return counts


def _remove(*paths: Path) -> None:
    for p in paths:
        if p.exists():
            p.unlink()


def _write_reference_tables(con, say, regions: pl.DataFrame, policies: pl.DataFrame, indicators: pl.DataFrame,
                            ind_values: pl.DataFrame) -> dict[str, int]:
    store.create_schema(con)
    store.install_regions(con, regions)
    counts = {"regions": regions.height}
    say(0.15, "Writing policies and indicators")
    counts["policies"] = store.write_table(con, "policies", policies)
    counts["indicators"] = store.write_table(con, "indicators", indicators)
    counts["indicator_values"] = store.write_table(con, "indicator_values", ind_values)
    return counts


def _write_item_tables(con, run: _Run, items: dict, proj: Projects) -> dict[str, int]:
    """Progress reports, projects, milestones, rectifications and feedback, in that order."""
    counts: dict[str, int] = {}
    A, h0, ids = run.A, run.h0, proj.ids
    counts["progress_reports"], first_report = write_reports(
        con, run.rng(5), items, run.cal, A, ids, proj.budget, proj.beaut, inspection_days(h0, A), run.say)

    run.say(0.66, "Writing supervised items")
    status = project_status(items, first_report, A)
    counts["projects"] = _write_chunks(con, "projects", projects_frames(items, proj, status, run.geo))

    run.say(0.72, "Writing milestones")
    counts["milestones"] = _write_chunks(con, "milestones", make_milestones(run.rng(6), items, ids, status, run.cal, A))

    run.say(0.78, "Writing rectifications")
    counts["rectifications"] = _write_chunks(con, "rectifications", make_rectifications(
        run.rng(7), items, ids, proj.region_code, run.geo, status, first_report, run.scale, A, h0))

    run.say(0.85, "Writing feedback")
    counts["feedback"] = _write_chunks(con, "feedback", make_feedback(
        run.rng(8), items, ids, run.geo, status, first_report, run.scale, A, h0))
    return counts


def _write_chunks(con, name: str, frames) -> int:
    """Append each frame to table `name` (the file is only moved into place once complete)."""
    return sum(store.write_table(con, name, frame, replace=False) for frame in frames)
