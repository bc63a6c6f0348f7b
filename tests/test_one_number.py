"""A figure shown on two pages is one number: each page's counts against the cockpit's for the same selection.

The other pages are pinned to the cockpit where they are computed: the regions map (test_regions), the domains
heatmaps and department league (test_domains), the trend series (test_series), the ledger (test_rectifications),
public feedback (test_feedback), the item's light and its rectifications (test_item, test_rules), the meeting's
cards (test_meeting). This file holds the rest: the slip-risk page and the two data-quality pages.
"""
from __future__ import annotations

import json
from datetime import date
import shutil

import polars as pl
import pytest

from analytics import metrics
from analytics.db import queries, store
from analytics.filters import Filters
from analytics.pages import authenticity, duplicates, risk
from analytics.risk import scores
from tests import fixture_db

AS_OF = fixture_db.AS_OF
SELECTIONS = [Filters(), Filters(region_code="340000"), Filters(region_code="110000"), Filters(period="2026-Q3"),
              Filters(domains=("乡村振兴",))]


@pytest.fixture(scope="module")
def scored(fixture_path, tmp_path_factory):
    """The fixture database with a score for every item in flight (as a trained model leaves them)."""
    path = tmp_path_factory.mktemp("one_number") / "fixture.duckdb"
    shutil.copy(fixture_path, path)
    con = store.connect(path, read_only=True)
    flying = queries.run(con, "item_lights", Filters(), as_of=AS_OF, **metrics.Thresholds().params())["project_id"]
    con.close()
    out = scores.path_for(path, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    n = flying.len()
    reason = pl.List(pl.Struct({"feature": pl.Utf8, "value": pl.Utf8, "effect": pl.Float64}))
    pl.DataFrame({"project_id": flying, "probability": [0.9 - 0.1 * i for i in range(n)],
                  "band": ["high" if i % 2 == 0 else "medium" for i in range(n)],
                  "top_reasons": pl.Series([[]] * n, dtype=reason), "data_version": [1] * n,
                  "as_of": [AS_OF] * n}).write_parquet(out)
    out.with_suffix(".json").write_text(json.dumps({"data_version": 1, "data_as_of": AS_OF.isoformat()}))
    return path


@pytest.mark.parametrize("filters", SELECTIONS, ids=repr)
def test_the_risk_pages_regions_are_the_cockpits(scored, filters):
    con = store.connect(scored, read_only=True)
    try:
        sel = metrics.Selection(filters, as_of=AS_OF)
        page = risk.page(con, sel, dict(metrics.DEFAULT_WEIGHTS), db_path=str(scored), version=1)
        total, children = metrics.summarise(con, sel, page.level)
        # every scored item in flight in the selection is listed, and only those
        assert page.flagged.height == total.get("n_in_flight", 0)
        if page.level is None:
            assert page.regions is None
            return
        mine = {r["region_code"]: (r["n_in_flight"], r["n_red"]) for r in page.regions.iter_rows(named=True)}
        cockpit = {r["region_code"]: (r["n_in_flight"], r["n_red"]) for r in children.iter_rows(named=True)}
        assert mine == cockpit and sum(n for n, _ in mine.values()) > 0
        assert page.regions["n_scored"].sum() <= page.flagged.height
    finally:
        con.close()


@pytest.mark.parametrize("filters", SELECTIONS[:4], ids=repr)
def test_the_quality_pages_count_the_items_the_cockpit_counts(demo_small_path, filters):
    """Both data-quality pages say how many items the selection holds: the duplicates page the items the cockpit's
    data coverage counts (every item active in the period), the authenticity page those of them with a reported
    progress by the data's date (counted here from the reports)."""
    con = store.connect(demo_small_path, read_only=True)
    try:
        sel = metrics.Selection(filters, as_of=AS_OF)
        coverage = queries.run(con, "overview_counts", filters, as_of=AS_OF)
        dup = duplicates.page(con, sel)
        assert dup.n_items == coverage["n_items"][0] > 0
        auth = authenticity.page(con, sel)
        with_reports = con.sql("SELECT count(DISTINCT project_id) FROM progress_reports "
                               "WHERE actual_progress_pct IS NOT NULL AND report_date <= $as_of "
                               "AND project_id IN (SELECT unnest($ids::VARCHAR[]))", params={"as_of": AS_OF, "ids": list(
                                   queries.run(con, "quality_filtered_ids", filters, as_of=AS_OF)["project_id"])}
                               ).fetchall()[0][0]
        assert auth.n_items == with_reports > 0
    finally:
        con.close()


@pytest.mark.parametrize("parent", [None, "440000", "440300"])  # the nation, 广东省, 深圳市
def test_a_region_has_one_index_in_its_parents_table_and_on_its_own_page(demo_small_path, parent):
    """Issue 17, point 3: 蜀山区 was 48.8 on Hefei's map and 36.8 on its own page (the index was shrunk toward the
    regions it was compared with). One region, one period, one weighting: one index, across levels."""
    con = store.connect(demo_small_path, read_only=True)
    try:
        sel = metrics.Selection(Filters(region_code=parent), as_of=date(2026, 11, 22))
        level = {None: "province", "440000": "city", "440300": "county"}[parent]
        table = metrics.region_table(con, sel, level)
        checked = 0
        for row in table.filter(pl.col("index").is_not_null()).head(6).iter_rows(named=True):
            own = metrics.totals(con, metrics.Selection(Filters(region_code=row["region_code"]), as_of=sel.as_of))
            assert own["index"] == pytest.approx(row["index"], abs=1e-9), (row["region_code"], row["index"], own)
            checked += 1
    finally:
        con.close()
    assert checked >= 2
