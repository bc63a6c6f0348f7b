"""Region levels of a selection: its own level, the levels that can be drawn below it, and the one a page's
table of regions groups by. Every page asks here, so a municipality goes straight to its districts everywhere.

Nation → provinces, cities, counties; a province → its cities, counties (a municipality, which has no cities:
its districts, i.e. counties); a city → its counties; a county → none.
"""
from __future__ import annotations

import duckdb
import polars as pl

from analytics.db import queries


def level_of(cur: duckdb.DuckDBPyConnection, region_code: str | None) -> str:
    """The level of a selected region ('country' for none); an unknown code is an error."""
    if region_code is None:
        return "country"
    rows = queries.run(cur, "region_level", code=region_code)
    if rows.is_empty():
        raise ValueError(f"unknown region code {region_code!r}")
    return rows["level"][0]


def levels_below(cur: duckdb.DuckDBPyConnection, region_code: str | None) -> tuple[str, ...]:
    """Levels that can be drawn below a selection, the default (one level down) first."""
    level = level_of(cur, region_code)
    if level == "country":
        return ("province", "city", "county")
    if level == "province":
        has_cities = queries.run(cur, "region_has_cities", code=region_code)["has_cities"][0]
        return ("city", "county") if has_cities else ("county",)
    return ("county",) if level == "city" else ()


def names(cur: duckdb.DuckDBPyConnection, level: str | None = None, column: str = "name") -> pl.DataFrame:
    """region_code and its name (as `column`), for every region or those of one level: to name the regions of
    rows that came from scoped queries."""
    return queries.run(cur, "region_names", level=level).rename({"name": column})


def child_level(cur: duckdb.DuckDBPyConnection, region_code: str | None) -> str | None:
    """The level one step down from the selection (None below a county)."""
    below = levels_below(cur, region_code)
    return below[0] if below else None
