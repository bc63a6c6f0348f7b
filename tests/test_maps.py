"""analytics.figures.maps: choropleth decks for st.pydeck_chart (no browser here; see the report)."""
from __future__ import annotations

import json
import re

import polars as pl
import pytest

from analytics import geo
from analytics.figures import classes, geometry, inset, maps, palette, raster


def _frame(rows: list[tuple[str, float | None, int | None]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"region_code": pl.Utf8, "value": pl.Float64, "n": pl.Int64},
                        orient="row")


def _features(spec: maps.MapSpec) -> dict[str, dict]:
    return maps.shown(spec)


@pytest.fixture(scope="module")
def beijing() -> maps.MapSpec:
    codes = [f["properties"]["region_code"] for f in geo.children_of("110000")["features"]]
    rows = [(c, float(i + 1), 10 * (i + 1)) for i, c in enumerate(sorted(codes)[:10])]
    return maps.choropleth("county", _frame(rows), parent_code="110000")


def test_deck_json_has_no_external_url_and_no_basemap(beijing):
    spec = maps.choropleth("province", _frame([("110000", 1.0, 1)]))
    for deck in (spec.deck, beijing.deck):
        text = deck.to_json()
        assert "http" not in text and "mapbox" not in text and "carto" not in text
        doc = json.loads(text)
        # the sentinel Streamlit drops without falling back to Carto; no mapProvider at all
        assert doc["mapStyle"] == "__MAP_STYLE__" and "mapProvider" not in doc
        assert "\n" not in text  # compact, not pydeck's indent=2
    doc = json.loads(beijing.deck.to_json())  # a province's or a city's map: vector (the maritime line is not in view)
    assert [layer["id"] for layer in doc["layers"]] == [maps.REGION_LAYER_ID]
    assert doc["layers"][0]["getFillColor"] == "@@=properties.fill"
    hainan = json.loads(maps.choropleth("city", _frame([]), parent_code="460000").deck.to_json())
    assert [layer["id"] for layer in hainan["layers"]] == [maps.REGION_LAYER_ID, maps.MARITIME_LAYER_ID]
    assert hainan["layers"][1]["lineWidthUnits"] == "pixels"
    # the national map: a picture (a data URI, nothing fetched) under the provinces' invisible shapes
    doc = json.loads(spec.deck.to_json())
    assert [layer["id"] for layer in doc["layers"]][:2] == [maps.PICTURE_LAYER_ID, maps.REGION_LAYER_ID]
    assert doc["layers"][0]["image"].startswith("data:image/png;base64,")
    assert doc["layers"][1]["getFillColor"] == [0, 0, 0, 0] and doc["layers"][1]["pickable"] is True


def test_the_picture_shows_each_region_in_its_class_colour_and_no_data_hatched():
    """What the reader sees of the national map: a province's pixel at its own point has its class colour; a
    no-data province is white with grey hatching; the maritime line and the inset are drawn."""
    from analytics.db.store import read_regions_csv

    spec = maps.choropleth("province", _frame([("650000", 1.0, 5), ("530000", 9.0, 5), ("620000", 5.0, 5)]),
                           inset=True, width=868, height=560, **maps.detail("province", None, 868))
    picture = spec.deck.layers[0]
    image, bounds = picture.image, picture.bounds
    at = read_regions_csv().select("region_code", "lon", "lat").rows_by_key("region_code", unique=True)
    for code in ("650000", "530000", "620000"):
        assert raster.colour_at(image, bounds, *at[code]) == spec.fills[code], code
    assert spec.fills["650000"] == palette.rgba(palette.QUALITY[0])  # the lowest value: the bad end
    pixels = raster.decode(image)
    colours = {tuple(c) for c in pixels.reshape(-1, 4)}
    assert (150, 150, 150, 255) in colours and maps.NO_DATA_COLOR in colours  # no data: white, hatched
    assert maps.MARITIME_COLOR in colours and (255, 255, 255, 0) in colours  # the line; clear outside China


def test_quantile_breaks_hand_computed():
    # values 1..10, 5 classes; type-7 quantiles: q(.2)=2.8, q(.4)=4.6, q(.6)=6.4, q(.8)=8.2
    assert classes.quantile_breaks([float(v) for v in range(10, 0, -1)], 5) == pytest.approx(
        [2.8, 4.6, 6.4, 8.2])
    # ties merge; no threshold at the minimum (the lowest class is never empty)
    # [1,1,1,1,5]: 2 distinct values → 2 classes; q(.5) = 1 = the minimum → dropped
    assert classes.quantile_breaks([1, 1, 1, 1, 5], 4) == []
    # [1,1,1,2,3,3], 3 classes: q(1/3) = 1 (dropped), q(2/3) at position 3⅓ = 2 + ⅓·(3-2)
    assert classes.quantile_breaks([1, 1, 1, 2, 3, 3], 3) == pytest.approx([7 / 3])
    assert classes.quantile_breaks([], 5) == [] and classes.quantile_breaks([4.0], 5) == []
    assert [classes.class_of(v, [2.8, 4.6]) for v in (1, 2.8, 3, 4.6, 9)] == [0, 1, 1, 2, 2]


def test_classes_and_colours_on_a_hand_made_frame():
    provinces = sorted(f["properties"]["region_code"] for f in geo.load_boundaries("province")["features"])
    rows = [(c, float(i + 1), i) for i, c in enumerate(provinces[:10])]  # values 1..10
    spec = maps.choropleth("province", _frame(rows), classes=5)
    assert spec.breaks == pytest.approx((2.8, 4.6, 6.4, 8.2))
    assert len(spec.colors) == 5 and len(set(spec.colors)) == 5
    # higher is better by default: the lowest class takes the bad end (dark red), the highest the good end (pale blue)
    assert spec.colors[0] == palette.rgba(palette.QUALITY[0]) and spec.colors[-1] == palette.rgba(palette.QUALITY[-1])
    props = _features(spec)
    expected = {1: 0, 2: 0, 3: 1, 4: 1, 5: 2, 6: 2, 7: 3, 8: 3, 9: 4, 10: 4}
    for code, value, _ in rows:
        assert tuple(props[code]["fill"]) == spec.colors[expected[int(value)]], code
        assert props[code]["value_str"] == f"{value:,.2f}"
    # given breaks win; k breaks → k+1 colours
    spec2 = maps.choropleth("province", _frame(rows), legend_breaks=[5, 8])
    assert spec2.breaks == (5.0, 8.0) and len(spec2.colors) == 3
    props2 = _features(spec2)
    assert tuple(props2[rows[3][0]]["fill"]) == spec2.colors[0]   # 4 < 5
    assert tuple(props2[rows[4][0]]["fill"]) == spec2.colors[1]   # 5 ≥ 5
    assert tuple(props2[rows[9][0]]["fill"]) == spec2.colors[2]   # 10 ≥ 8
    with pytest.raises(ValueError):
        maps.choropleth("province", _frame(rows), legend_breaks=[5, 5])
    legend = spec2.legend("{:.0f}")
    assert [label for label, _ in legend] == ["< 5", "5 – 8", "≥ 8", "无数据"]
    assert legend[-1][1] == "#ffffff"  # no data is white (outlined), a colour no class takes


def test_no_data_regions_get_the_no_data_colour():
    spec = maps.choropleth("province", _frame([("110000", 3.0, 5), ("120000", None, 7)]),
                           no_data_color=(200, 0, 200), lang="en")
    props = _features(spec)
    assert len(props) == 34
    nd = [200, 0, 200, 255]
    assert props["120000"]["fill"] == nd and props["120000"]["value_str"] == "No data"
    assert props["120000"]["n_str"] == "7"
    assert props["440000"]["fill"] == nd and props["440000"]["n_str"] == "—"  # no row at all
    assert props["110000"]["fill"] != nd and props["110000"]["value_str"] == "3.00"
    assert spec.legend()[-1] == ("No data", "#c800c8")


def test_children_filtering():
    anhui = maps.choropleth("city", _frame([]), parent_code="340000")
    codes = set(anhui.region_codes)
    regions = geo.regions_frame()
    anhui_cities = set(regions.filter((pl.col("parent_code") == "340000") & (pl.col("level") == "city"))
                       ["region_code"].to_list())
    assert codes == anhui_cities and len(codes) == 16

    assert len(maps.choropleth("county", _frame([]), parent_code="110000").region_codes) == 16
    bj = set(maps.choropleth("county", _frame([]), parent_code="110000").region_codes)
    assert all(re.fullmatch(r"1101\d\d", c) for c in bj)

    # counties of a province: all descendants, through the cities
    anhui_counties = maps.choropleth("county", _frame([]), parent_code="340000").region_codes
    assert len(anhui_counties) > 100 and all(c.startswith("34") for c in anhui_counties)
    assert len(maps.choropleth("province", _frame([])).region_codes) == 34

    # the maritime line is drawn, on top, wherever it is in view: on Hainan's map (三沙), not on Anhui's
    assert [layer.id for layer in anhui.deck.layers] == [maps.REGION_LAYER_ID]
    assert maps.choropleth("city", _frame([]), parent_code="460000").deck.layers[-1].id == maps.MARITIME_LAYER_ID
    # the shared cached boundaries are not touched
    assert set(geo.load_boundaries("city")["features"][0]["properties"]) == {
        "region_code", "name", "level", "parent_code"}
    with pytest.raises(ValueError):
        maps.choropleth("town", _frame([]))


def test_view_is_fitted():
    bj = maps.choropleth("county", _frame([]), parent_code="110000").deck.initial_view_state
    assert 115.4 < bj.longitude < 117.5 and 39.4 < bj.latitude < 41.1 and 6.5 < bj.zoom < 8.5
    cn = maps.choropleth("province", _frame([])).deck.initial_view_state
    assert 1.5 < cn.zoom < 3.5 and 95 < cn.longitude < 115


def test_tooltip_shows_names_as_plain_text():
    spec = maps.choropleth("county", _frame([("110101", 1.0, 2)]), parent_code="110000",
                           tooltip_labels={"value": "执行率", "n": "事项数"})
    tip = spec.deck._tooltip
    # text tooltip: deck.gl sets innerText, so a name is never parsed as HTML
    assert "html" not in tip and tip["text"] == "{name}\n执行率: {value_str}\n事项数: {n_str}"
    layer = spec.deck.layers[0]
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>'
    layer.data["features"][0]["properties"]["name"] = evil  # the deck's own copy
    doc = json.loads(spec.deck.to_json())
    assert doc["layers"][0]["data"]["features"][0]["properties"]["name"] == evil
    assert "<script>" not in json.dumps(spec.deck._tooltip)
    # and geo's cached feature still has its real name
    assert "<" not in geo.children_of("110000")["features"][0]["properties"]["name"]


def test_selected_region_code():
    class Event:
        selection = {"indices": {"regions": [3]},
                     "objects": {"regions": [{"type": "Feature",
                                              "properties": {"region_code": "510000"}}]}}

    assert maps.selected_region_code(Event()) == "510000"
    Event.selection = {"indices": {}, "objects": {}}
    assert maps.selected_region_code(Event()) is None
    assert maps.selected_region_code(None) is None


# --- additions for the regions page: ticks, inset geometry, thinning ---------------------------

def test_nice_ticks_hand_computed():
    assert classes.nice_ticks(0.0, 1.0) == [0.0, 0.5, 1.0]
    assert classes.nice_ticks(12.3, 87.9) == [12.3, 20, 40, 60, 80, 87.9]  # step 20; none crowding an end
    assert classes.nice_ticks(3.0, 3.0) == [3.0]


def test_inset_transform_maps_the_source_box_onto_the_target_box():
    w, s, e, n = inset.SCS_SOURCE
    tw, ts, te, tn = inset.SCS_TARGET
    assert inset.to_inset(w, s) == pytest.approx((tw, ts), abs=1e-3)
    assert inset.to_inset(e, n) == pytest.approx((te, tn), abs=1e-3)
    assert inset.in_inset_only(112.3, 16.8) and not inset.in_inset_only(110.3, 20.0)  # 西沙 yes, 海口 no


def test_clip_ring_to_a_box():
    square = [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]]
    clipped = inset.clip_ring(square, (1, 1, 2, 5))
    assert sorted(map(tuple, clipped[:-1])) == [(1, 1), (1, 4), (2, 1), (2, 4)] and clipped[0] == clipped[-1]
    assert inset.clip_ring(square, (10, 10, 11, 11)) == []


def test_thinning_keeps_shared_borders_identical():
    thin = geometry.geometries("county", 3, None, 3)
    full = geometry.geometries("county", 3)

    def vertices(g):
        return {tuple(p) for poly in geometry.polygons(g) for ring in poly for p in ring}

    # 东城区 and 西城区 share a border: the vertices both had in common, each keeps the same ones
    a, b = "110101", "110102"
    shared = vertices(full[a]) & vertices(full[b])
    assert len(shared) >= 5
    assert vertices(thin[a]) & shared == vertices(thin[b]) & shared
    assert sum(len(vertices(g)) for g in thin.values()) < 0.5 * sum(len(vertices(g)) for g in full.values())


@pytest.mark.parametrize("level,parent,width", [
    ("province", None, 358), ("province", None, 868), ("province", None, 1400),  # the cockpit's and regions' map
    ("city", None, 358), ("city", None, 868), ("city", None, 1400),  # regions: every city, nationally
    ("county", None, 358), ("county", None, 868), ("county", None, 1400),  # regions: every county, nationally
    ("county", "510000", 868), ("county", "510000", 358), ("county", "650000", 868), ("city", "340000", 868),
    ("city", "440000", 1400), ("county", "340100", 868)])  # a province's cities, a city's counties
def test_a_map_message_stays_under_300_kb(level, parent, width):
    """Issue 17, point 14: the map message (the deck's JSON, which is what Streamlit sends) is at most 300 KB at
    every level and width. The cockpit's national map was 1.5 MB (full-precision coordinates, thousands of
    sub-pixel islands), the national maps of every city and county 0.5–1.8 MB (now a picture and a point per
    region). Sichuan's counties are the heaviest provincial map. With ranks and names, as the regions page sends."""
    feats = geometry.region_features(level, parent)
    values = pl.DataFrame({"region_code": [f["properties"]["region_code"] for f in feats],
                           "value": [None if i % 23 == 0 else 1000.0 * (i % 7) + 0.123 for i in range(len(feats))],
                           "n": [12345.0] * len(feats), "rank": [i + 1 for i in range(len(feats))]})
    spec = maps.choropleth(level, values, parent_code=parent, inset=parent is None, width=width,
                           height=max(300, min(560, round(width * 0.8))), rank_label="排名", value_format="{:,.1f}",
                           **maps.detail(level, parent, width))
    assert len(spec.deck.to_json().encode()) < 300_000
    assert len(spec.region_codes) == len(feats)  # generalising drops islands, never a region


def test_generalising_keeps_every_south_china_sea_island_and_each_regions_largest_part():
    from analytics.figures.geometry import KEEP_ISLANDS_SOUTH_OF, _round_polygons

    tiny_north = [[[120.0, 30.0], [120.001, 30.0], [120.001, 30.001], [120.0, 30.0]]]
    tiny_south = [[[112.0, 10.0], [112.001, 10.0], [112.001, 10.001], [112.0, 10.0]]]
    big = [[[121.0, 31.0], [122.0, 31.0], [122.0, 32.0], [121.0, 32.0], [121.0, 31.0]]]
    assert 10.0 < KEEP_ISLANDS_SOUTH_OF
    kept = _round_polygons([big, tiny_north, tiny_south], None, 0.1)
    assert len(kept) == 2 and kept[0][0][0] == [121.0, 31.0]  # the sub-pixel northern islet is gone
    assert kept[1][0][0] == [112.0, 10.0]  # the southern one stays, as a small ring
    alone = _round_polygons([tiny_north], None, 0.1)  # a region that is only an islet keeps it
    assert len(alone) == 1 and len(alone[0][0]) >= 4
