"""The regions page (区域分析): map values, legend, inset, points, drill-down and the path back up.

Fixture (tests/fixture_db.py), in flight at 2026-11-22: A1 瑶海区 340102 yellow (90 planned vs 75
actual), A3 安徽省 340000 no light data, B1 朝阳区 110105 red (overdue). So nationally by province:
安徽 red share 0 / 1 lit, 北京 1 / 1; both under min_n = 10 items: no rank.
"""
from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import freshness, geo, i18n, metrics
from analytics.figures import inset, maps, palette, raster
from analytics.db import queries
from analytics.pages import regions as rg
from analytics.filters import Filters
from analytics.levels import child_level, levels_below
from analytics.metrics import Selection
from tests import fixture_db

ROOT = Path(__file__).resolve().parents[1]
LABELS = {"value": "红灯占比", "n": "样本数", "rank": "排名", "items": "在办事项", "unit": "{n} 项",
          "red": "红灯", "yellow": "黄灯", "green": "绿灯", "none": "无数据"}


def sel(region: str | None = None, **kw) -> Selection:
    return Selection(Filters(region_code=region, **kw), as_of=fixture_db.AS_OF)


def features(spec: maps.MapSpec) -> dict[str, dict]:
    """Each region as the map shows it (maps.shown: vector maps and pictures alike), as {"properties": …}."""
    return {code: {"properties": props} for code, props in maps.shown(spec).items()}


@pytest.mark.parametrize("region,level", [(None, "province"), (None, "city"), (None, "county"),
                                          ("340000", "city"), ("340000", "county"), ("110000", "county")])
@pytest.mark.parametrize("metric", ["index", "red_share", "overdue", "budget_execution"])
def test_map_values_equal_the_metrics_table(fixture_con, region, level, metric):
    data = rg.page(fixture_con, sel(region), metric=metric, level=level)
    table = metrics.region_table(fixture_con, sel(region), level)
    m = metrics.BY_KEY[metric]
    assert data.level == level
    assert dict(zip(data.values["region_code"], data.values["value"])) == dict(
        zip(table["region_code"], table[metric].cast(pl.Float64)))
    n_col = m.n_column or m.denominator or m.column
    assert dict(zip(data.values["region_code"], data.values["n"])) == dict(
        zip(table["region_code"], table[n_col].cast(pl.Float64)))
    spec = rg.map_deck(data, region, lang="zh", labels=LABELS)
    expected = dict(zip(table["region_code"], table[metric]))
    assert spec.values and set(spec.values) == set(spec.region_codes)
    for code, value in spec.values.items():
        assert value == expected.get(code), code
    if region is None and level != "province":  # a picture: each region's point says its value in words
        points = next(layer for layer in spec.deck.layers if layer.id == maps.REGION_LAYER_ID).data
        assert len(points) == len(spec.region_codes)
        for code, p in zip(spec.region_codes, points):
            assert (p["v"] == "无数据") == (expected.get(code) is None), code


def test_hand_counted_red_share_by_province(fixture_con):
    data = rg.page(fixture_con, sel(), metric="red_share")
    assert data.levels == ("province", "city", "county") and data.level == "province"
    got = {c: (v, n, r) for c, _, v, n, r in data.values.filter(pl.col("value").is_not_null()).iter_rows()}
    assert got == {"340000": (0.0, 1.0, None), "110000": (1.0, 1.0, None)}
    spec = rg.map_deck(data, None, lang="zh", labels=LABELS, value_format=lambda v: i18n.fmt_pct(v, "zh"))
    props = {c: f["properties"] for c, f in features(spec).items()}
    # the tooltip as deck.gl fills its template from the region's own (short) properties
    beijing = maps.pick_properties(spec)[spec.region_codes.index("110000")]
    tip = spec.deck._tooltip["text"].format_map(beijing)
    assert tip == "北京市\n红灯占比: 100.0%\n样本数: 1\n排名: —"  # too few items: not ranked
    assert props["440000"]["value_str"] == "无数据" and props["440000"]["fill"] == list(maps.NO_DATA_COLOR)
    assert "tip" not in props["110000"]  # the labels are in the template once, not in every region


def test_legend_breaks_and_colour_direction(fixture_con):
    # two values 0 and 1: two quantile classes, the threshold at the median 0.5
    red = rg.map_deck(rg.page(fixture_con, sel(), metric="red_share"), None, lang="zh", labels=LABELS)
    assert red.breaks == (0.5,)
    # lower is better for the red share: the better 安徽 takes the good end (pale blue), 北京 the bad end (dark red)
    assert red.colors == tuple(palette.quality_colours(2, False)) and not red.higher_is_better
    best, worst = palette.rgba(palette.QUALITY[-1]), palette.rgba(palette.QUALITY[0])
    props = {c: f["properties"] for c, f in features(red).items()}
    assert tuple(props["340000"]["fill"]) == best
    assert tuple(props["110000"]["fill"]) == worst
    assert [label for label, _ in red.legend("{:.1f}")] == ["< 0.5", "≥ 0.5", "无数据"]
    # continuous: the same ends, the ramp from the minimum to the maximum with round ticks between
    cont = rg.map_deck(rg.page(fixture_con, sel(), metric="red_share"), None, lang="zh", labels=LABELS,
                       scale="continuous")
    props = {c: f["properties"] for c, f in features(cont).items()}
    assert tuple(props["340000"]["fill"]) == best
    assert tuple(props["110000"]["fill"]) == worst
    assert (cont.vmin, cont.vmax) == (0.0, 1.0) and cont.ticks() == [0.0, 0.5, 1.0]
    assert cont.gradient()[0] == palette.QUALITY[-1] and cont.gradient()[-1] == palette.QUALITY[0]  # low = better
    # higher is better (on-time rate): the good end at the high values
    on_time = rg.map_deck(rg.page(fixture_con, sel(), metric="on_time_rate"), None, lang="zh", labels=LABELS,
                          scale="continuous")
    assert on_time.higher_is_better and on_time.gradient()[-1] == palette.QUALITY[-1]


def test_metric_rank_puts_the_best_first_and_leaves_small_regions_out():
    table = pl.DataFrame({"region_code": ["a", "b", "c", "d", "e"], "red_share": [0.3, 0.1, None, 0.1, 0.0],
                          "is_small": [False, False, False, False, True], "rank": [1, 2, 3, 4, None]})
    ranks = rg.metric_rank(table, metrics.BY_KEY["red_share"]).to_list()
    assert ranks == [3, 1, None, 1, None]  # lower is better; ties share a rank; e has too few items
    table = table.rename({"red_share": "on_time_rate"})
    assert rg.metric_rank(table, metrics.BY_KEY["on_time_rate"]).to_list() == [1, 2, None, 2, None]


def test_levels_offered_and_empty_states(fixture_con):
    assert levels_below(fixture_con, "340000") == ("city", "county")
    assert levels_below(fixture_con, "110000") == ("county",)  # a municipality: its districts
    assert levels_below(fixture_con, "340100") == ("county",)
    assert levels_below(fixture_con, "340102") == ()
    # every page groups by the first of them (analytics/levels.py); the risk page used to group Beijing by cities
    assert [child_level(fixture_con, c) for c in (None, "340000", "110000", "340100", "340102")] == [
        "province", "city", "county", "county", None]
    county = rg.page(fixture_con, sel("340102"))
    assert county.level is None and county.total["n_in_flight"] == 1
    dongguan = rg.page(fixture_con, sel("441900"))  # a prefecture city without counties: nothing to draw
    assert dongguan.level == "county" and not dongguan.has_boundaries
    # a level not offered falls back to the default
    assert rg.page(fixture_con, sel("340000"), level="province").level == "city"


def ranking(at):
    """The page's ranking table (the silent regions' table, in an expander above, comes first)."""
    return next(d.value for d in at.dataframe if "区划代码" in d.value.columns or "Code" in d.value.columns)


def test_inset_at_national_level_only(fixture_con):
    data, fresh = rg.page(fixture_con, sel()), freshness.regions(fixture_con, sel())
    data = rg.with_freshness(data, fresh, queries.run(fixture_con, "region_ancestor_at", level=data.level,
                                                      codes=freshness.ancestor_codes(fresh)), fixture_db.AS_OF)
    spec = rg.map_deck(data, None, lang="zh", labels=LABELS, width=868, height=560)
    ids = [layer.id for layer in spec.deck.layers]
    assert ids == [maps.PICTURE_LAYER_ID, maps.REGION_LAYER_ID, maps.INSET_FRAME_LAYER_ID,
                   maps.INSET_LABEL_LAYER_ID, maps.SILENT_LAYER_ID]  # the fixture's 安徽省 itself is silent: a ring
    w, s, e, n = inset.SCS_TARGET
    label = spec.deck.layers[-2]
    assert label.data[0]["text"] == "南海诸岛" and w < label.data[0]["position"][0] < e

    def inside(p):
        return w <= p[0] <= e and s <= p[1] <= n

    # Hainan island is drawn again in the inset, and its shape there takes a click too; nothing of the main map
    # lies south of Hainan any more
    hainan = next(layer for layer in spec.deck.layers if layer.id == maps.REGION_LAYER_ID).data["features"][
        spec.region_codes.index("460000")]["geometry"]["coordinates"]
    assert any(all(inside(p) for p in poly[0]) for poly in hainan)
    assert all(min(p[1] for p in poly[0]) > inset.MAIN_SOUTH - 0.5 for poly in hainan
               if not all(inside(p) for p in poly[0]))
    # the maritime line: dashes in the inset and three north of 17.6°N on the main map, in the picture
    picture = spec.deck.layers[0]
    lines = [line for f in geo.maritime_line()["features"] for line in f["geometry"]["coordinates"]]
    north = [line for line in lines if min(p[1] for p in line) >= inset.MAIN_SOUTH]
    assert len(north) == 3
    for line in north[:1] + [[list(inset.to_inset(*lines[-1][0][:2]))]]:
        x, y = line[0][:2]
        assert raster.colour_at(picture.image, picture.bounds, x, y) == maps.MARITIME_COLOR
    # the map stops around Hainan: the view's south edge is above the Spratlys
    assert 100 < spec.deck.initial_view_state.longitude < 110
    text = spec.deck.to_json()
    assert "http" not in text and json.loads(text)["mapStyle"] == "__MAP_STYLE__"

    province = rg.map_deck(rg.page(fixture_con, sel("460000")), "460000", lang="en", labels=LABELS)
    assert [layer.id for layer in province.deck.layers] == [maps.REGION_LAYER_ID, maps.MARITIME_LAYER_ID]


def test_points_count_the_items_of_item_lights_per_region_and_light(fixture_con):
    th = metrics.Thresholds()
    for region in (None, "340000"):
        data = rg.page(fixture_con, sel(region), with_lights=True)
        items = queries.run(fixture_con, "item_lights", Filters(region_code=region), as_of=fixture_db.AS_OF,
                            **th.params())
        expected = items.group_by("region_code", "light").agg(pl.len().alias("n_items")).sort("region_code", "light")
        assert data.lights.select("region_code", "light", "n_items").sort("region_code", "light").to_dicts() == \
            expected.with_columns(pl.col("n_items").cast(pl.Int64)).to_dicts()
    data = rg.page(fixture_con, sel(), with_lights=True)
    assert {(r["region_code"], r["light"], r["n_items"]) for r in data.lights.to_dicts()} == {
        ("340102", "yellow", 1), ("340000", "none", 1), ("110105", "red", 1)}
    spec = rg.map_deck(data, None, lang="zh", labels=LABELS, layer="points")
    points = next(layer for layer in spec.deck.layers if layer.id == maps.POINTS_LAYER_ID)
    # nationally a county's items are drawn at its city (蜀山区 → 合肥市); a municipality's district stays itself
    assert sorted((p["region_code"], p["name"], p["tip"].split("\n")[0], p["color"]) for p in points.data) == [
        ("110105", "朝阳区", "红灯: 1 项", list(palette.light_rgba("red"))),
        ("340000", "安徽省", "无数据: 1 项", list(palette.light_rgba("none"))),
        ("340100", "合肥市", "黄灯: 1 项", list(palette.light_rgba("yellow")))]
    chaoyang = next(p for p in points.data if p["region_code"] == "110105")
    assert chaoyang["tip"] == "红灯: 1 项\n红灯 1" and "light" not in chaoyang  # the colour says it
    below = rg.map_deck(rg.page(fixture_con, sel("340000"), with_lights=True), "340000", lang="zh", labels=LABELS,
                        layer="points")  # below the nation, each region of record
    assert "340102" in {p["region_code"] for p in next(layer for layer in below.deck.layers
                                                         if layer.id == maps.POINTS_LAYER_ID).data}
    hexes = rg.map_deck(data, None, lang="zh", labels=LABELS, layer="hexagon", light="red")
    hex_layer = next(layer for layer in hexes.deck.layers if layer.id == maps.HEXAGON_LAYER_ID)
    assert [p["n"] for p in hex_layer.data] == [1]  # only the red item


def test_national_item_points_are_per_city_over_the_provinces_under_300_kb(fixture_con):
    """Issue 17, point 14: the national "items as points" map was 0.75 MB (one circle per county × light, over the
    counties' picture). Every county of the country with items of all four lights: drawn per city, over the
    provinces, under 300 KB whatever level is chosen. (Every county with all four lights at once, a worst case no
    real office has, is still 457 KB.)"""
    import dataclasses

    counties = geo.regions_frame().filter(pl.col("level") == "county")
    lights = pl.DataFrame({"light": ["red", "green"]}).join(
        counties.select("region_code", "name", "level", "lon", "lat"), how="cross").with_columns(
        pl.lit(3, pl.Int64).alias("n_items")).select("region_code", "name", "level", "light", "n_items", "lon", "lat")
    for level in ("province", "county"):
        data = dataclasses.replace(rg.page(fixture_con, sel(), level=level, with_lights=True), lights=lights)
        spec = rg.map_deck(data, None, lang="en", labels=LABELS, layer="points", width=1400, height=560)
        text = spec.deck.to_json()
        assert len(text.encode()) < 300_000
        points = next(layer for layer in spec.deck.layers if layer.id == maps.POINTS_LAYER_ID).data
        assert len(points) < 4 * 400 and "340102" not in {p["region_code"] for p in points}
        hefei = [p for p in points if p["region_code"] == "340100"]
        assert len(hefei) == 2 and hefei[0]["name"] == "Hefei"  # its counties' items, named in English


@pytest.mark.parametrize("layer", ["choropleth"])
def test_national_county_map_is_a_picture_with_a_point_per_county(fixture_con, layer):
    """Issue 17, point 14: 2,845 county polygons were 1.4–2 MB of GeoJSON and seconds of software WebGL; now one
    PNG and an invisible point per county that carries its tooltip and its click, under 300 KB."""
    data = rg.page(fixture_con, sel(), level="county", with_lights=layer == "points")
    spec = rg.map_deck(data, None, lang="zh", labels=LABELS, layer=layer, width=868, height=560)
    text = spec.deck.to_json()
    assert len(text.encode()) < 300_000
    doc = json.loads(text)
    ids = [layer["id"] for layer in doc["layers"]]
    assert ids[:2] == [maps.PICTURE_LAYER_ID, maps.REGION_LAYER_ID]
    picture, points = doc["layers"][0], doc["layers"][1]
    assert picture["image"].startswith("data:image/png;base64,") and "http" not in text
    assert len(points["data"]) == len(spec.region_codes) > 2800 and "region_code" not in points["data"][0]
    # a click on the n-th point is the n-th region code
    chaoyang = spec.region_codes.index("110105")

    class Event:
        selection = {"indices": {maps.REGION_LAYER_ID: [chaoyang]},
                     "objects": {maps.REGION_LAYER_ID: [points["data"][chaoyang]]}}

    assert maps.selected_code(Event(), spec=spec) == "110105"
    assert points["data"][chaoyang]["t" if layer == "choropleth" else "name"] == "朝阳区"


# --- the page under AppTest ---------------------------------------------------------------------

def start(lang="zh", **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("views/regions.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def headline(at) -> str:
    return next(m.value for m in at.markdown if m.value.startswith("**") and "n = " in m.value or "样本数" in m.value)


@pytest.mark.parametrize("lang,title", [("zh", "区域分析"), ("en", "Regions")])
def test_page_renders_in_both_languages(app_env, lang, title):
    at = start(lang)
    assert at.title[0].value == title
    assert len(at.get("deck_gl_json_chart")) == 1
    table = ranking(at)
    rank_col, region_col = ("排名", "地区") if lang == "zh" else ("Rank", "Region")
    assert set(table[region_col]) >= ({"安徽省", "北京市"} if lang == "zh" else {"Anhui", "Beijing"})
    captions = " ".join(c.value for c in at.caption)
    assert ("南海诸岛" in captions) == (lang == "zh") and ("South China Sea" in captions) == (lang == "en")
    assert ("按省级着色" if lang == "zh" else "by provinces:") in captions  # a level mid-sentence, not "by Provinces"


def test_a_filter_change_changes_the_numbers_and_the_map_level(app_env):
    at = start("zh", metric="red_share")
    assert "全国：红灯占比 50.0%（样本数 2" in headline(at).replace("\\", "")
    at.selectbox(key="f_province").select("340000").run()
    assert not at.exception
    assert "安徽省：红灯占比 0.0%（样本数 1" in headline(at).replace("\\", "")
    assert at.segmented_control(key="regions_level").value == "city"
    assert at.query_params["metric"] == "red_share" and at.query_params["region"] == "340000"
    table = ranking(at)
    assert "合肥市" in set(table["地区"])


def test_page_state_goes_into_the_url_and_bad_values_are_reported(app_env):
    at = start("en", metric="bogus", layer="points")
    assert any("metric=bogus" in w.value for w in at.warning)
    assert at.selectbox(key="regions_metric").value == "index"
    at.selectbox(key="regions_metric").select("overdue").run()
    assert at.query_params["metric"] == "overdue"
    at.segmented_control(key="regions_level").set_value("county").run()
    assert at.query_params["level"] == "county"
    assert at.query_params["layer"] == "points"


def test_breadcrumb_goes_back_up(app_env):
    at = start("zh", region="340102")
    assert any("已到区县一级" in i.value for i in at.info)
    labels = [b.label for b in at.button if b.key and b.key.startswith("regions_path_")]
    assert labels == ["全国", "安徽省", "合肥市", "瑶海区"]
    at.button(key="regions_path_340100").click().run()
    assert at.query_params["region"] == "340100"
    assert at.segmented_control(key="regions_level").value == "county"
    at.button(key="regions_path_340000").click().run()
    assert at.query_params["region"] == "340000" and "level" not in at.query_params
    at.button(key="regions_path_country").click().run()
    assert "region" not in at.query_params
    assert "全国" in headline(at)


def test_a_selection_without_items_says_so(app_env):
    at = start("en", region="410000")  # 河南: only C1, not started
    assert "No supervised items in flight match" in at.info[0].value
    assert at.button(key="empty_reset")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_county_lists_its_own_items_instead_of_a_dead_end(app_env, lang):
    """Issue 17, point 12: at the lowest level the page said there was nothing below. It lists the county's items
    in flight, red first, each opening the item page (A1 is 瑶海区's, yellow: 15 pp behind plan)."""
    at = start(lang, region="340102")
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[-1].value
    assert table.iloc[:, 0].tolist() == ["A1"]
    assert ("黄" if lang == "zh" else "yellow") in str(table.iloc[0, 2]).lower()
    assert "15" in str(table.iloc[0, 3])  # the reason, in words, with its number
