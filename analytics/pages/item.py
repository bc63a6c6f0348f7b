"""One supervised item in full, as plain data: what it is, how it moved, what was said and fixed.

`page` returns None when the id is unknown or outside the user's scope (the same answer for both).
The item's light is the cockpit's (same query, same thresholds), so the detail and the lists agree.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import duckdb
import polars as pl

from analytics.db import queries
from analytics.filters import Filters
from analytics.metrics import Selection

MAX_ID_LENGTH = 64
MAX_SEARCH_RESULTS = 50


@dataclass(frozen=True)
class ItemDetail:
    head: dict  # the projects row with policy_name, region_name, region_level, region_path
    light: dict | None  # the item_lights row when the item is in flight at the as-of date
    reports: pl.DataFrame
    milestones: pl.DataFrame
    feedback: pl.DataFrame
    rectifications: pl.DataFrame

    @property
    def forecast_history(self) -> pl.DataFrame:
        """Each change of the forecast end date, in report order (a report repeating it is not a change)."""
        fc = self.reports.filter(pl.col("forecast_end_date").is_not_null()).select("report_date", "forecast_end_date")
        return fc.filter(pl.col("forecast_end_date") != pl.col("forecast_end_date").shift(1).fill_null(pl.date(1, 1, 1)))


def valid_id(text: str | None) -> str | None:
    """An item id from a URL: printable, at most 64 characters; else None (the page then offers a search)."""
    if not text or len(text) > MAX_ID_LENGTH or not text.isprintable():
        return None
    return text


def page(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict | None = None, *,
         project_id: str) -> ItemDetail | None:
    whole = replace(sel, filters=Filters())  # scope only: a link must open its item whatever the filters
    run = lambda name, **kw: queries.run(cur, name, whole.filters, whole.scope, whole.as_of,  # noqa: E731
                                         project_id=project_id, **kw)
    head = run("item_head")
    if head.is_empty():
        return None
    row = head.row(0, named=True)
    # the item's light from the cockpit's query, narrowed to its own region, domain and department
    narrow = Filters(region_code=row["region_code"], domains=(row["domain"],), lead_depts=(row["lead_dept"],))
    lights = queries.run(cur, "item_lights", narrow, sel.scope, sel.as_of, **sel.thresholds.params())
    light = lights.filter(pl.col("project_id") == project_id)
    return ItemDetail(head=row, light=light.row(0, named=True) if light.height else None,
                      reports=run("item_reports"), milestones=run("item_milestones"),
                      feedback=run("item_feedback"), rectifications=run("item_rectifications"))


def forecast(cur: duckdb.DuckDBPyConnection, sel: Selection, weights: dict | None = None, *, project_id: str,
             db_path: str = "", version: int = 0, stamp: str = "") -> dict | None:
    """The item's saved finish-date forecast (P50 / P80 dates, chance of finishing by the deadline, as of the
    scores' date), or None (no scores, no forecast, or not in the user's scope). `stamp` only keys the cache."""
    from analytics.risk import scores

    whole = replace(sel, filters=Filters())
    return scores.item_forecast(cur, whole, db_path, version, project_id)


def search(cur: duckdb.DuckDBPyConnection, sel: Selection, text: str) -> pl.DataFrame:
    """Items in scope and filters whose id or name contains `text` (at most 50; an exact id first)."""
    return queries.run(cur, "item_search", sel.filters, sel.scope, sel.as_of, text=text.strip()[:100],
                       limit=MAX_SEARCH_RESULTS)
