"""Report freshness (issue 20): each region's latest report, days without one, share reported in the cycle, and
the silent regions on the cockpit and the data page; by hand on the fixture."""
import json
from datetime import date

import pytest

from analytics import freshness, metrics
from analytics.filters import Filters
from tests import fixture_db

AS_OF = fixture_db.AS_OF  # 2026-11-22


def test_freshness_by_hand(fixture_con):
    f = freshness.regions(fixture_con, metrics.Selection(as_of=AS_OF), days=30)
    rows = {r["region_code"]: r for r in f.regions.iter_rows(named=True)}
    # in flight on 22 Nov: A1 (瑶海区, last report 20 Nov), B1 (朝阳区, 31 Oct), A3 (安徽省 itself, never; started 1 Jun)
    assert set(rows) == {"340102", "110105", "340000"}
    assert rows["340102"]["last_report"] == date(2026, 11, 20) and rows["340102"]["days_silent"] == 2
    assert rows["110105"]["days_silent"] == 22 and rows["110105"]["n_reported_in_cycle"] == 1
    assert rows["340000"]["last_report"] is None and rows["340000"]["days_silent"] == 174  # from its start
    assert f.silent["region_code"].to_list() == ["340000"]
    assert f.regions["region_code"].to_list() == ["340000", "110105", "340102"]  # longest without a report first
    short = freshness.regions(fixture_con, metrics.Selection(as_of=AS_OF), days=20)
    assert set(short.silent["region_code"]) == {"340000", "110105"}  # 22 days > 20
    assert short.regions.filter(short.regions["region_code"] == "110105")["share_in_cycle"][0] == 0.0


def test_freshness_keeps_to_the_selection_and_scope(fixture_con):
    beijing = freshness.regions(fixture_con, metrics.Selection(filters=Filters(region_code="110000"), as_of=AS_OF))
    assert beijing.regions["region_code"].to_list() == ["110105"] and beijing.silent.is_empty()
    from analytics.db.queries import Scope

    scoped = freshness.regions(fixture_con, metrics.Selection(scope=Scope(("340000",)), as_of=AS_OF))
    assert set(scoped.regions["region_code"]) == {"340102", "340000"}


def test_a_bad_cycle_is_refused(monkeypatch):
    monkeypatch.setenv("COCKPIT_SILENT_DAYS", "0")
    with pytest.raises(ValueError, match="COCKPIT_SILENT_DAYS"):
        freshness.cycle_days()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_cockpit_names_the_silent_regions_and_the_data_page_lists_all(app_env, lang):
    from tests.app_pages import open_page

    at = open_page("cockpit", lang)
    text = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert ("1 个地区超过 30 天没有进度填报" if lang == "zh" else "Silent for more than 30 days: 1 of the 3 regions") in text
    silent = next(d.value for d in at.dataframe if ("未填报天数" if lang == "zh" else "Days without a report") in d.value.columns)
    assert silent.iloc[:, 0].tolist() == (["安徽省"] if lang == "zh" else ["Anhui"])
    assert silent.iloc[0, 3] == ("从未填报" if lang == "zh" else "never") and silent.iloc[0, 4] == 174
    at = open_page("data", lang)
    table = next(d.value for d in at.dataframe if ("未填报天数" if lang == "zh" else "Days without a report") in d.value.columns)
    assert len(table) == 3


def test_rolled_up_to_the_regions_pages_rows(fixture_con):
    """National view by province: 安徽省 holds 瑶海区 (A1, 20 Nov) and itself (A3, never; silent), 北京市 holds 朝阳区
    (B1, 31 Oct); by city under 安徽, A3 hangs above the rows and belongs to none."""
    sel = metrics.Selection(as_of=AS_OF)
    f = freshness.regions(fixture_con, sel, days=30)
    rows = {r["region_code"]: r for r in freshness.rolled_up(fixture_con, sel, "province", f).iter_rows(named=True)}
    assert set(rows) == {"340000", "110000"}
    assert rows["340000"]["last_report"] == date(2026, 11, 20) and rows["340000"]["days_silent"] == 2
    assert rows["340000"]["n_in_flight"] == 2 and rows["340000"]["n_silent"] == 1
    assert rows["340000"]["share_in_cycle"] == pytest.approx(0.5)
    assert rows["110000"]["last_report"] == date(2026, 10, 31) and rows["110000"]["n_silent"] == 0
    anhui = metrics.Selection(filters=Filters(region_code="340000"), as_of=AS_OF)
    cities = freshness.rolled_up(fixture_con, anhui, "city", freshness.regions(fixture_con, anhui, days=30))
    assert cities.to_dicts() == [{"region_code": "340100", "n_in_flight": 1, "last_report": date(2026, 11, 20),
                                  "days_silent": 2, "share_in_cycle": 1.0, "n_silent": 0}]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_regions_page_shows_freshness_and_rings_the_silent(app_env, fixture_con, lang):
    from analytics.figures import maps
    from tests.app_pages import open_page

    at = open_page("regions", lang)
    text = " ".join(m.value for m in at.markdown).replace("\\", "")
    assert ("1 个地区超过 30 天没有进度填报" if lang == "zh" else "Silent for more than 30 days: 1 of the 3 regions") in text
    assert ("超过 30 天未填报的地区（1 个" if lang == "zh" else "no report for more than 30 days (1") in text
    col = "超30天未填报的下属地区" if lang == "zh" else "Regions within silent > 30 days"
    ranking = next(d.value for d in at.dataframe if col in d.value.columns)
    assert ranking[("最近填报" if lang == "zh" else "Latest report")].tolist() == (
        ["2026年11月20日", "2026年10月31日"] if lang == "zh" else ["20 Nov 2026", "31 Oct 2026"])
    by_name = dict(zip(ranking.iloc[:, 1], ranking[col]))
    assert by_name[("安徽省" if lang == "zh" else "Anhui")] == "1"
    # the ring is drawn at the silent region's own point, over every other layer
    deck = at.get("deck_gl_json_chart")[0].proto.json
    layers = {layer["id"]: layer for layer in json.loads(deck)["layers"]}
    assert list(layers)[-1] == maps.SILENT_LAYER_ID
    lon, lat = fixture_con.execute("SELECT lon, lat FROM regions WHERE region_code = '340000'").fetchone()
    assert layers[maps.SILENT_LAYER_ID]["data"] == [{"position": [round(lon, 4), round(lat, 4)]}]


# ---- per table (issue 20: "for each region and each table, the date of its latest report") ----------------------
INDICATORS = fixture_db.pl.DataFrame({"indicator_id": ["I1", "I2"], "name": ["企业开办时间", "高标准农田面积"],
                                      "policy_id": ["P2", "P1"], "direction": ["lower_is_better", "higher_is_better"]})
INDICATOR_VALUES = fixture_db.pl.DataFrame({
    "indicator_id": ["I1", "I1", "I2", "I1"],
    "region_code": ["340000", "340000", "340102", "340100"],
    "period": ["2026-Q3", "2026-Q4", "2026-10", "2025"],  # 2026-Q4 ends 31 Dec, after the as-of date: not counted
    "target_value": [3.0, 3.0, 100.0, 5.0],
    "actual_value": [2.5, 2.0, 80.0, 4.0],
})
# closed on 1 Dec, after the as-of date (22 Nov): not known yet, so its found date counts
LATE_CLOSE = fixture_db.RECTIFICATIONS.head(1).with_columns(
    fixture_db.pl.lit("R3").alias("rectification_id"), fixture_db.pl.lit(None, fixture_db.pl.Utf8).alias("project_id"),
    fixture_db.pl.lit("340102").alias("region_code"), fixture_db.pl.lit(date(2026, 11, 1)).alias("found_date"),
    fixture_db.pl.lit(date(2026, 12, 1)).alias("closed_date"), fixture_db.pl.lit("closed").alias("status"))


@pytest.fixture(scope="module")
def tables_con(tmp_path_factory):
    from analytics.db import store

    path = fixture_db.build(tmp_path_factory.mktemp("freshness") / "t.duckdb", indicators=INDICATORS,
                            indicator_values=INDICATOR_VALUES,
                            rectifications=fixture_db.pl.concat([fixture_db.RECTIFICATIONS, LATE_CLOSE]))
    con = store.connect(path, read_only=True)
    yield con
    con.close()


def _latest(frame) -> dict:
    return {(r["region_code"], r["table"]): (r["latest"], r["days_since"]) for r in frame.iter_rows(named=True)}


def test_latest_date_per_region_and_table_by_hand(tables_con):
    """By hand on the fixture, as of 22 Nov 2026. Progress reports (items in flight only): A1 瑶海区 20 Nov, B1 朝阳区
    31 Oct (A3 安徽省 never reported; A2 合肥市 is completed). Feedback received: F1 朝阳区 1 Aug, F2 瑶海区 3 Oct, F3 合肥市
    2 Nov 2025. Rectifications, the later of found and closed: R1 朝阳区 found 15 Jul (open), R2 合肥市 closed 20 Nov 2025
    (found 1 Oct 2025), R3 瑶海区 found 1 Nov (its close on 1 Dec is after the as-of date). Indicator values, the end
    of the latest period ended: 安徽省 2026-Q3 → 30 Sep (2026-Q4 not ended), 瑶海区 2026-10 → 31 Oct, 合肥市 2025 → 31 Dec
    2025."""
    got = freshness.tables(tables_con, metrics.Selection(as_of=AS_OF))
    assert _latest(got) == {
        ("340102", "progress_reports"): (date(2026, 11, 20), 2), ("110105", "progress_reports"): (date(2026, 10, 31), 22),
        ("110105", "feedback"): (date(2026, 8, 1), 113), ("340102", "feedback"): (date(2026, 10, 3), 50),
        ("340100", "feedback"): (date(2025, 11, 2), 385),
        ("110105", "rectifications"): (date(2026, 7, 15), 130), ("340100", "rectifications"): (date(2025, 11, 20), 367),
        ("340102", "rectifications"): (date(2026, 11, 1), 21),
        ("340000", "indicator_values"): (date(2026, 9, 30), 53), ("340102", "indicator_values"): (date(2026, 10, 31), 22),
        ("340100", "indicator_values"): (date(2025, 12, 31), 326),
    }
    # one region's rows together, its tables in the pages' order
    assert got.filter(got["region_code"] == "340102")["table"].to_list() == list(freshness.TABLES)
    assert freshness.latest_by_table(got) == {"progress_reports": date(2026, 11, 20), "feedback": date(2026, 10, 3),
                                              "rectifications": date(2026, 11, 1),
                                              "indicator_values": date(2026, 10, 31)}
    block = freshness.block(tables_con, metrics.Selection(as_of=AS_OF))
    assert block.tables.equals(got) and block.silent["region_code"].to_list() == ["340000"]


def test_latest_per_table_keeps_to_the_scope_and_the_filters(tables_con):
    from analytics.db.queries import Scope

    hefei = freshness.tables(tables_con, metrics.Selection(scope=Scope(("340100",)), as_of=AS_OF))
    # 合肥市 and 瑶海区 below it; nothing of 朝阳区 (Beijing) nor of 安徽省 itself (above the scope)
    assert set(_latest(hefei)) == {("340102", "progress_reports"), ("340102", "feedback"), ("340100", "feedback"),
                                   ("340100", "rectifications"), ("340102", "rectifications"),
                                   ("340102", "indicator_values"), ("340100", "indicator_values")}
    assert freshness.latest_by_table(hefei)["feedback"] == date(2026, 10, 3)
    # a domain filter: 乡村振兴 holds A1 (瑶海区), F2 and the indicator I2 (policy P1)
    rural = freshness.tables(tables_con, metrics.Selection(filters=Filters(domains=("乡村振兴",)), as_of=AS_OF))
    assert {k for k in _latest(rural) if k[1] != "rectifications"} == {
        ("340102", "progress_reports"), ("340102", "feedback"), ("340102", "indicator_values")}


def test_the_regions_page_runs_the_freshness_query_once(app_env, monkeypatch):
    """The regions page's ranking and map reuse the pages' one cached freshness block (review of issue 20)."""
    import streamlit as st

    from analytics.db import queries
    from tests.app_pages import open_page

    st.cache_resource.clear()
    asked, run = [], queries.run
    monkeypatch.setattr(queries, "run", lambda cur, name, *a, **kw: (asked.append(name), run(cur, name, *a, **kw))[1])
    open_page("regions", "zh")
    assert asked.count("region_freshness") == 1


def _captions(at) -> str:
    return " ".join(c.value for c in at.caption).replace("\\", "")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("key", ["domains", "trends"])
def test_the_domains_and_trends_pages_say_how_fresh_their_numbers_are(app_env, key, lang):
    from tests.app_pages import open_page

    text = _captions(open_page(key, lang))
    assert ("1 个地区超过 30 天未填报 · 数据截至 进度填报 11月20日 · 反馈 10月3日 · 整改 7月15日" if lang == "zh" else
            "Silent for more than 30 days: 1 regions · Latest data: progress reports 20 Nov · feedback 3 Oct · "
            "rectifications 15 Jul") in text


@pytest.mark.parametrize("lang,item,expected", [
    ("zh", "A1", "本事项最近一次进度填报为 2026年11月20日（2 天前），在 30 天填报周期内"),
    ("en", "A1", "this item's latest progress report is of 20 Nov 2026 (2 d ago), within the 30-day reporting cycle"),
    ("zh", "A3", "本事项尚无进度填报（开始于 2026年6月1日，174 天前）"),
    ("en", "A2", "it is no longer in flight"),
])
def test_the_item_page_says_how_fresh_its_reports_are(app_env, lang, item, expected):
    from tests.app_pages import open_page

    assert expected in _captions(open_page("item", lang, item=item))
