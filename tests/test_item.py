"""Item detail: one item in full, only within the user's scope, reachable by link; hand-counted on the fixture."""
from datetime import date

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import privacy
from analytics.pages import item
from analytics.filters import Filters
from analytics.metrics import Selection
from analytics.db.queries import Scope
from tests.test_app import ROOT, start

AS_OF = date(2026, 11, 22)


def test_an_item_in_full(fixture_con):
    d = item.page(fixture_con, Selection(as_of=AS_OF), project_id="B1")
    assert d.head["name"] == "老旧小区改造" and d.head["region_path"] == ["北京市", "朝阳区"]
    assert d.head["policy_name"] == "城镇老旧小区改造实施方案"
    # planned end 2026-09-30, as of 2026-11-22: overdue by 53 days, red by the overdue rule
    assert (d.light["light"], d.light["rule"], d.light["days_late"]) == ("red", "overdue", 53)
    assert d.reports["report_date"].to_list() == [date(2026, 6, 30), date(2026, 10, 31)]
    assert d.reports["actual_progress_pct"].to_list() == [70.0, 85.0]
    assert d.feedback["feedback_id"].to_list() == ["F1"]
    assert d.feedback["hours_to_answer"].to_list() == [24.0]  # 08-01 09:00 → 08-02 09:00
    r = d.rectifications.row(0, named=True)
    # found 2026-07-15, still open on 2026-11-22: 130 days; deadline 08-15 passed
    assert (r["rectification_id"], r["days_open"], r["is_overdue"]) == ("R1", 130, True)
    assert d.milestones.is_empty()


def test_the_light_is_the_cockpits(fixture_con):
    from analytics.db import queries
    from analytics.metrics import Thresholds

    lights = queries.run(fixture_con, "item_lights", Filters(), Scope(), AS_OF, **Thresholds().params())
    for pid in lights["project_id"]:
        d = item.page(fixture_con, Selection(as_of=AS_OF), project_id=pid)
        assert d.light == lights.filter(pl.col("project_id") == pid).row(0, named=True)


def test_filters_do_not_hide_an_item_but_scope_does(fixture_con):
    narrow = Selection(filters=Filters(period="2024", region_code="340000"), as_of=AS_OF)
    assert item.page(fixture_con, narrow, project_id="B1") is not None  # a link opens its item whatever the filters
    anhui = Selection(scope=Scope(region_codes=("340000",)), as_of=AS_OF)
    assert item.page(fixture_con, anhui, project_id="B1") is None  # 北京: outside an Anhui user's scope
    assert item.page(fixture_con, anhui, project_id="A1") is not None
    assert item.page(fixture_con, Selection(scope=Scope(domains=("教育",)), as_of=AS_OF), project_id="A1") is None
    assert item.page(fixture_con, Selection(as_of=AS_OF), project_id="NOPE") is None


def test_not_started_and_terminated_items_have_no_light(fixture_con):
    for pid in ("C1", "N1"):
        d = item.page(fixture_con, Selection(as_of=AS_OF), project_id=pid)
        assert d is not None and d.light is None


def test_search_by_id_or_name_within_filters_and_scope(fixture_con):
    sel = Selection(as_of=AS_OF)
    assert item.search(fixture_con, sel, "改造")["project_id"].to_list() == ["B1"]
    assert item.search(fixture_con, sel, "a1")["project_id"].to_list() == ["A1"]
    anhui = Selection(filters=Filters(region_code="340000"), as_of=AS_OF)
    assert sorted(item.search(fixture_con, anhui, "")["project_id"]) == ["A1", "A2", "A3"]
    scoped = Selection(scope=Scope(region_codes=("110000",)), as_of=AS_OF)
    assert item.search(fixture_con, scoped, "")["project_id"].to_list() == ["B1"]
    assert item.search(fixture_con, sel, "'; DROP TABLE projects; --").is_empty()


@pytest.mark.parametrize("raw,ok", [("B1", True), ("DB2023-000005", True), ("", False), (None, False),
                                    ("x" * 65, False), ("a\nb", False)])
def test_valid_id(raw, ok):
    assert (item.valid_id(raw) is not None) == ok


def test_phone_and_id_numbers_are_masked():
    assert privacy.mask("联系人吴先生 15889912345，") == "联系人吴先生 158****2345，"
    assert privacy.mask("电话0551-62345678") == "电话0551-****5678"
    assert privacy.mask("身份证340102199001011234") == "身份证340102***********4"
    assert privacy.mask("编号 2026001，进度 85%") == "编号 2026001，进度 85%"
    assert privacy.mask(None) is None


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_item_page_by_link_in_both_languages(app_env, lang):
    at = start(lang, item="B1")
    at.switch_page("views/item.py")
    at.query_params["item"] = "B1"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.subheader[0].value == "老旧小区改造"
    tabs = [t.label for t in at.tabs]
    assert tabs[0] == ("进度" if lang == "zh" else "Progress") and len(tabs) == 5
    light = next(m.value for m in at.markdown if ("当前灯色" in m.value or "Current light" in m.value))
    assert ("红灯" in light and "已逾期 53 天" in light) if lang == "zh" else ("Red" in light or "red" in light)


def test_an_unknown_or_hostile_id_says_so_and_offers_search(app_env):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("views/item.py")
    at.query_params["item"] = "<script>alert(1)</script>"
    at.run()
    assert not at.exception
    assert "<script>alert(1)</script>" in at.warning[0].value  # shown as text (st.warning escapes it)
    assert at.text_input(key="item_find") is not None


def test_finder_lists_items_and_narrows_by_text(app_env):
    at = start("zh")
    at.switch_page("views/item.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert sorted(table["事项编号"]) == ["A1", "A2", "A3", "B1", "N1"]  # C1 has not started
    at.text_input(key="item_find").input("农田").run()
    assert list(at.dataframe[0].value["事项编号"]) == ["A1"]


def test_rows_linked_to_an_item_in_scope_but_of_a_region_outside_it_are_not_shown(tmp_path):
    """Issue 22 (high, 1): feedback and rectifications are scoped by their own region, whatever they link to."""
    from datetime import datetime

    import polars as pl

    from analytics.db import queries, store
    from analytics.db.queries import Scope
    from analytics.filters import Filters
    from tests import fixture_db

    stray_fb = fixture_db.FEEDBACK.head(1).with_columns(
        pl.lit("F-STRAY").alias("feedback_id"), pl.lit("A1").alias("project_id"), pl.lit("110105").alias("region_code"),
        pl.lit(datetime(2026, 9, 1, 9)).alias("received_at"), pl.lit(None).cast(pl.Datetime("us")).alias("responded_at"))
    stray_rect = fixture_db.RECTIFICATIONS.head(1).with_columns(
        pl.lit("R-STRAY").alias("rectification_id"), pl.lit("A1").alias("project_id"),
        pl.lit("110105").alias("region_code"))
    path = fixture_db.build(tmp_path / "stray.duckdb", feedback=pl.concat([fixture_db.FEEDBACK, stray_fb]),
                            rectifications=pl.concat([fixture_db.RECTIFICATIONS, stray_rect]))
    con = store.connect(path, read_only=True)
    try:
        for scope, sees in ((Scope(("340000",)), False), (Scope(), True)):
            fb = queries.run(con, "item_feedback", Filters(), scope, fixture_db.AS_OF, project_id="A1")
            rect = queries.run(con, "item_rectifications", Filters(), scope, fixture_db.AS_OF, project_id="A1")
            assert ("F-STRAY" in fb["feedback_id"].to_list()) is sees
            assert ("R-STRAY" in rect["rectification_id"].to_list()) is sees
            assert fb.height >= 1  # the item's own in-scope feedback is still there
    finally:
        con.close()
