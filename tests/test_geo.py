"""The region hierarchy (data/regions.csv) and the boundary files (data/geo/)."""
from __future__ import annotations

import re

import polars as pl
import pytest
import shapely
from shapely.geometry import shape

from analytics import geo
from analytics.settings import GEO_DIR

# China incl. the South China Sea islands (曾母暗沙 ~3.9°N) and the far west/east/north
LON, LAT = (73.0, 135.5), (3.0, 54.0)
FUNCTIONAL_ZONE = re.compile(r"^\d{4}7\d$")  # 开发区/新区/管理区 …: statistical codes without boundaries


@pytest.fixture(scope="module")
def regions() -> pl.DataFrame:
    return geo.regions_frame()


@pytest.fixture(scope="module")
def shapes() -> dict[str, dict[str, object]]:
    return {level: {f["properties"]["region_code"]: shape(f["geometry"])
                    for f in geo.load_boundaries(level)["features"]} for level in geo.LEVELS}


def _codes(regions: pl.DataFrame, level: str) -> set[str]:
    return set(regions.filter(pl.col("level") == level)["region_code"].to_list())


def test_hierarchy_complete_and_consistent(regions):
    codes = regions["region_code"].to_list()
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"[1-9][0-9]{5}", c) for c in codes)
    level = dict(zip(codes, regions["level"].to_list()))
    parent = dict(zip(codes, regions["parent_code"].to_list()))
    assert [c for c in codes if level[c] == "country"] == ["100000"] and parent["100000"] is None
    provinces = _codes(regions, "province")
    assert len(provinces) == 34 and {"710000", "810000", "820000"} <= provinces
    for c in codes:
        if level[c] == "province":
            assert parent[c] == "100000", c
        elif level[c] == "city":
            assert level.get(parent[c]) == "province", c
        elif level[c] == "county":
            assert level.get(parent[c]) in ("city", "province"), c
        else:
            assert level[c] == "country", c


def test_geometry_files_valid_and_keyed_by_regions(regions, shapes):
    by_code = {r["region_code"]: r for r in regions.iter_rows(named=True)}
    for level in geo.LEVELS:
        features = geo.load_boundaries(level)["features"]
        keys = [f["properties"]["region_code"] for f in features]
        assert len(keys) == len(set(keys)), level
        for f in features:
            p = f["properties"]
            r = by_code[p["region_code"]]
            assert (p["level"], p["name"], p["parent_code"]) == (level, r["name"], r["parent_code"])
            assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        geoms = list(shapes[level].values())
        assert not any(shapely.is_empty(geoms)), level
        assert all(shapely.is_valid(geoms)), level


def test_coverage_per_level(regions, shapes):
    assert set(shapes["province"]) == _codes(regions, "province")
    assert set(shapes["city"]) == _codes(regions, "city")
    counties = {c for c in _codes(regions, "county") if not FUNCTIONAL_ZONE.match(c)}
    assert len(set(shapes["county"]) & counties) / len(counties) >= 0.99


def test_islands_and_maritime_line(shapes):
    hainan = shapes["province"]["460000"]
    assert len(hainan.geoms) > 100 and hainan.bounds[1] < 4.5  # 南海诸岛 down to 曾母暗沙
    (feature,) = geo.maritime_line()["features"]
    line = shape(feature["geometry"])
    assert line.geom_type == "MultiLineString" and len(line.geoms) == 10
    minx, miny, maxx, maxy = line.bounds
    assert 105 < minx and maxx < 125 and 2 < miny and maxy < 26


def test_total_size_under_15_mb():
    assert sum(p.stat().st_size for p in GEO_DIR.glob("*.geojson")) < 15e6


def test_every_region_has_a_point_in_china(regions):
    assert regions["lon"].null_count() == 0 and regions["lat"].null_count() == 0
    assert regions["lon"].is_between(*LON).all() and regions["lat"].is_between(*LAT).all()


def test_points_inside_their_polygons(regions, shapes):
    rows = {r["region_code"]: r for r in regions.iter_rows(named=True)}

    def province_of(code):
        while rows[code]["level"] != "province":
            code = rows[code]["parent_code"]
        return code

    own, in_province = [], []
    for level in geo.LEVELS:
        for code, g in shapes[level].items():
            pt = shapely.Point(rows[code]["lon"], rows[code]["lat"])
            own.append(g.distance(pt) < 1e-3)
            if level == "county":
                in_province.append(shapes["province"][province_of(code)].distance(pt) < 1e-3)
    assert all(own)
    assert sum(in_province) / len(in_province) >= 0.98


def test_children_of():
    assert len(geo.children_of("100000")["features"]) == 34
    beijing = geo.children_of("110000")["features"]
    assert len(beijing) == 16 and all(f["properties"]["level"] == "county" for f in beijing)
    henan = {f["properties"]["region_code"]: f["properties"]["level"] for f in geo.children_of("410000")["features"]}
    assert henan["410100"] == "city" and henan["419001"] == "county"  # 济源 is administered by the province
    assert {f["properties"]["parent_code"] for f in geo.children_of("440300")["features"]} == {"440300"}
    assert geo.children_of("999999")["features"] == []


def test_load_boundaries_validates_level():
    with pytest.raises(ValueError):
        geo.load_boundaries("country")
