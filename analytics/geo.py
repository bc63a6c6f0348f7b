"""Boundaries for maps: the GeoJSON files under data/geo/ (built by scripts/build_geo.py).

All coordinates are WGS84. Results are cached and shared: treat them as read-only.
Maps shown to users in China must also draw `maritime_line()` (see data/geo/README.md).
"""
from __future__ import annotations

import json
from functools import lru_cache

import polars as pl

from analytics.settings import GEO_DIR
from analytics.db.store import read_regions_csv

LEVELS = ("province", "city", "county")


def _read(name: str) -> dict:
    with (GEO_DIR / f"{name}.geojson").open(encoding="utf-8") as f:
        return json.load(f)


@lru_cache(maxsize=None)
def load_boundaries(level: str) -> dict:
    """FeatureCollection of one level; properties region_code, name, level, parent_code."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    return _read(level)


@lru_cache(maxsize=1)
def maritime_line() -> dict:
    """FeatureCollection with the South China Sea maritime boundary line (MultiLineString)."""
    return _read("maritime")


@lru_cache(maxsize=1)
def regions_frame() -> pl.DataFrame:
    """data/regions.csv: region_code, name, level, parent_code, lon, lat."""
    return read_regions_csv()


@lru_cache(maxsize=512)
def children_of(parent_code: str) -> dict:
    """FeatureCollection of the direct children of a region, by parent_code in regions.csv.

    100000 → provinces; a province → its cities and the counties hanging directly under it
    (municipalities' districts, province-administered county-level units); a city → its counties.
    Children without a polygon (e.g. development zones) are simply absent.
    """
    kids = regions_frame().filter(pl.col("parent_code") == parent_code)
    features = []
    for level in LEVELS:
        codes = set(kids.filter(pl.col("level") == level)["region_code"].to_list())
        if codes:
            features += [f for f in load_boundaries(level)["features"]
                         if f["properties"]["region_code"] in codes]
    return {"type": "FeatureCollection", "features": features}
