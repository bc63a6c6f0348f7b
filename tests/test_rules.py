"""The rules every page shares (analytics/db/sql/rules.py) are one rule wherever they are read.

An overdue rectification is one that was past its deadline at the period end and not closed by then. The item
page used to test `closed_date IS NULL`, so for a past period it called a rectification closed after the period
end "not overdue" while the ledger and the cockpit counted it: these tests hold the three to one count, on a
period for which such rectifications exist.
"""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analytics import metrics
from analytics.db import queries, store
from analytics.db.sql import rules
from analytics.filters import Filters
from analytics.pages import item, rectifications

AS_OF = date(2026, 11, 22)


@pytest.fixture(scope="module")
def demo(demo_small_path):
    con = store.connect(demo_small_path, read_only=True)
    yield con
    con.close()


@pytest.mark.parametrize("as_of", [date(2025, 12, 31), date(2026, 6, 30), AS_OF])
def test_overdue_rectifications_are_one_rule_on_the_item_page_the_ledger_and_the_cockpit(demo, as_of):
    """The item page judges an item's rectifications as of the selection's date, whatever the period filter (a
    link opens its item from any table); the ledger and the cockpit judge them at the end of the period, here the
    same date. Earlier dates than the data's hold rectifications closed after them: the case that drifted."""
    sel = metrics.Selection(Filters(), as_of=as_of)
    ledger = rectifications.page(demo, sel)
    total, _ = metrics.summarise(demo, sel, ledger.level)
    overdue = ledger.rows.filter(pl.col("is_overdue"))
    assert overdue.height == total["rect_overdue"] > 0
    closed_later = overdue.filter(pl.col("closed_date").is_not_null())
    if as_of < AS_OF:
        assert closed_later.height > 0, "the data must hold the case this test is about"
    expected = {pid: sorted(g["rectification_id"]) for (pid,), g in overdue.group_by("project_id") if pid}
    # every item with a rectification closed after the date, and a sample of the others
    chosen = set(closed_later["project_id"].drop_nulls()) | set(sorted(expected)[:30])
    for project_id in sorted(chosen):
        shown = item.page(demo, sel, project_id=project_id).rectifications
        assert sorted(shown.filter(pl.col("is_overdue"))["rectification_id"]) == expected[project_id], project_id


@pytest.mark.parametrize("as_of", [date(2025, 6, 30), date(2026, 3, 31), AS_OF])
def test_in_flight_is_the_item_marts_state(demo, as_of):
    """The `in_flight` predicate (marts, the risk model, the weekly chart) selects exactly the items whose state in
    the item mart is in flight."""
    by_rule = demo.sql("SELECT count(*) FROM projects p WHERE " + rules.in_flight("p", "$at::DATE"),
                       params={"at": as_of}).fetchall()[0][0]
    lights = queries.run(demo, "item_lights", Filters(), as_of=as_of, use_marts=False,
                         **metrics.Thresholds().params())
    assert by_rule == lights.height > 0


def test_a_hole_takes_only_an_alias_a_column_or_a_parameter():
    assert rules.rect_overdue("r", "w_end") == ("(r.deadline < w_end AND NOT "
                                                "(r.closed_date IS NOT NULL AND r.closed_date <= w_end))")
    for bad in ("r; DROP TABLE projects", "1=1", "r.deadline OR TRUE", "'x'"):
        with pytest.raises(ValueError):
            rules.rect_overdue(bad)
        with pytest.raises(ValueError):
            rules.in_flight("p", bad)
