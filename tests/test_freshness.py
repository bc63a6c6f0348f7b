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
