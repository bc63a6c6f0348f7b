"""The rectification ledger: its numbers worked out by hand on a small ledger, equal to the cockpit's for the
same filters, and the page under AppTest in both languages with a filter change.

The ledger below (as of 2026-11-22) sits on the items of tests/fixture_db.py, whose rows are reused unchanged:

  id  item  region  source           found       deadline    closed      status               relapse  dept
  R1  A1    340102  inspection       2026-10-01  2026-10-31  —           in_progress          no       农业农村局
  R2  A1    340102  warning          2026-11-15  2026-12-15  —           open                 no       农业农村局
  R3  A2    340100  audit            2026-06-01  2026-06-30  2026-06-21  closed               no       财政局
  R4  —     340100  public_feedback  2026-03-01  2026-03-31  2026-04-10  closed               yes      财政局
  R5  B1    110105  inspection       2026-07-15  2026-08-15  —           awaiting_acceptance  no       住房和城乡建设局
  R6  B1    110105  public_feedback  2026-09-01  2026-09-20  2026-09-08  closed               yes      住房和城乡建设局
  R7  A3    340000  other            2025-01-10  2025-02-10  2025-01-30  closed               no       发展和改革委员会
  R8  —     340102  audit            2026-10-20  2026-11-10  —           in_progress          no       财政局

All time, nationally: due (deadline by the end) R1 R3 R4 R5 R6 R7 R8 = 7, of which closed R3 R4 R6 R7 = 4 → 4/7;
overdue R1 (22 days), R5 (99), R8 (12) = 3; days to close 20, 40, 7, 20 → 87/4 = 21.75; relapses R4 R6 of 8
found → 0.25; in the 365 days to the end R7 was not found → 2/7. Open R1 (52 days), R2 (7), R5 (130), R8 (33):
≤15 one, 16–30 none, 31–60 two, >60 one.
"""
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import metrics
from analytics.pages import rectifications
from analytics.db import store
from analytics.filters import Filters
from tests import fixture_db
from tests.app_pages import open_page

ROOT = Path(__file__).resolve().parents[1]
D = date.fromisoformat
AS_OF = fixture_db.AS_OF

RECTIFICATIONS = pl.DataFrame({
    "rectification_id": ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8"],
    "project_id": ["A1", "A1", "A2", None, "B1", "B1", "A3", None],
    "region_code": ["340102", "340102", "340100", "340100", "110105", "110105", "340000", "340102"],
    "source": ["inspection", "warning", "audit", "public_feedback", "inspection", "public_feedback", "other", "audit"],
    "found_date": [D("2026-10-01"), D("2026-11-15"), D("2026-06-01"), D("2026-03-01"), D("2026-07-15"),
                   D("2026-09-01"), D("2025-01-10"), D("2026-10-20")],
    "description": ["进度滞后", "预警未处置", "资金拨付慢", "群众反映问题复发", "施工扰民", "噪音扰民复发", "台账不全",
                    "审计发现挪用"],
    "responsible_dept": ["农业农村局", "农业农村局", "财政局", "财政局", "住房和城乡建设局", "住房和城乡建设局",
                         "发展和改革委员会", "财政局"],
    "deadline": [D("2026-10-31"), D("2026-12-15"), D("2026-06-30"), D("2026-03-31"), D("2026-08-15"),
                 D("2026-09-20"), D("2025-02-10"), D("2026-11-10")],
    "closed_date": [None, None, D("2026-06-21"), D("2026-04-10"), None, D("2026-09-08"), D("2025-01-30"), None],
    "status": ["in_progress", "open", "closed", "closed", "awaiting_acceptance", "closed", "closed", "in_progress"],
    "is_relapse": [False, False, False, True, False, True, False, False],
})


def build(path: Path) -> Path:
    return fixture_db.build(path, "tests/test_rectifications.py", "hand-made ledger", rectifications=RECTIFICATIONS)


@pytest.fixture(scope="module")
def ledger_path(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("ledger") / "rectifications.duckdb")


@pytest.fixture()
def con(ledger_path):
    c = store.connect(ledger_path, read_only=True)
    yield c
    c.close()


def sel(**filters) -> metrics.Selection:
    return metrics.Selection(Filters(**filters), as_of=AS_OF)


def test_the_loop_numbers_of_the_hand_made_ledger(con):
    p = rectifications.page(con, sel())
    t = p.totals
    assert (t["n_rect_due"], t["n_rect_closed"]) == (7, 4)
    assert t["rect_completion_rate"] == pytest.approx(4 / 7)
    assert t["rect_overdue"] == 3
    assert t["avg_days_to_close"] == pytest.approx(21.75) and t["n_rect_closed_in_window"] == 4
    assert t["relapse_rate"] == pytest.approx(0.25) and t["n_rect_found"] == 8
    assert t["relapse_rate_12m"] == pytest.approx(2 / 7) and t["n_rect_found_12m"] == 7
    assert (t["n_open"], t["n_le15"], t["n_d16_30"], t["n_d31_60"], t["n_gt60"]) == (4, 1, 0, 2, 1)
    assert dict(p.status.iter_rows()) == {"open": 1, "in_progress": 2, "awaiting_acceptance": 1, "closed": 4}
    assert list(p.status["status"]) == list(rectifications.STATUSES)  # the flow, in order


def test_the_ledger_lists_overdue_worst_first_then_open_then_closed(con):
    rows = rectifications.page(con, sel()).rows
    assert rows["rectification_id"].to_list() == ["R5", "R1", "R8", "R2", "R4", "R3", "R7", "R6"]
    by_id = {r["rectification_id"]: r for r in rows.iter_rows(named=True)}
    assert [by_id[i]["days_overdue"] for i in ("R5", "R1", "R8")] == [99, 22, 12]
    assert [by_id[i]["days_open"] for i in ("R1", "R2", "R5", "R8", "R4")] == [52, 7, 130, 33, 40]
    assert [by_id[i]["bucket"] for i in ("R1", "R2", "R5", "R8")] == ["d31_60", "le15", "gt60", "d31_60"]
    assert by_id["R4"]["bucket"] is None and not by_id["R2"]["is_overdue"]
    assert by_id["R1"]["item_name"] == "高标准农田建设" and by_id["R4"]["project_id"] is None


def test_by_region_and_by_department(con):
    p = rectifications.page(con, sel())
    regions = {r["region_code"]: r for r in p.by_region.iter_rows(named=True)}
    assert p.by_region["region_code"].to_list() == ["110000", "340000"]  # lowest completion first
    assert regions["340000"]["rect_completion_rate"] == pytest.approx(3 / 5)
    assert regions["340000"]["avg_days_to_close"] == pytest.approx(80 / 3)
    anhui = regions["340000"]
    assert (anhui["n_rect_overdue"], anhui["n_open"], anhui["n_d31_60"]) == (2, 3, 2)
    assert regions["110000"]["rect_completion_rate"] == pytest.approx(0.5) and regions["110000"]["n_gt60"] == 1
    assert regions["110000"]["relapse_rate"] == pytest.approx(0.5)
    depts = {r["dept"]: r for r in p.by_dept.iter_rows(named=True)}
    assert p.by_dept["dept"].to_list() == ["农业农村局", "住房和城乡建设局", "财政局", "发展和改革委员会"]
    assert depts["财政局"]["rect_completion_rate"] == pytest.approx(2 / 3)
    assert depts["财政局"]["avg_days_to_close"] == pytest.approx(30.0)
    assert depts["农业农村局"]["rect_completion_rate"] == 0 and depts["农业农村局"]["n_open"] == 2


def test_a_county_has_no_regions_below_and_keeps_its_totals(con):
    p = rectifications.page(con, sel(region_code="340102"))
    assert p.level is None and p.by_region.is_empty()
    assert p.rows["rectification_id"].to_list() == ["R1", "R8", "R2"]
    assert p.totals["rect_overdue"] == 2 and p.totals["n_rect_due"] == 2


def test_the_page_department_choice_narrows_by_responsible_department(con):
    p = rectifications.page(con, sel(), rect_depts=("财政局",))
    assert set(p.rows["rectification_id"]) == {"R3", "R4", "R8"}
    assert p.totals["rect_completion_rate"] == pytest.approx(2 / 3) and p.totals["rect_overdue"] == 1
    assert p.by_dept["dept"].to_list() == ["财政局"]


def test_the_lead_department_and_domain_filters_do_not_narrow_it_as_in_the_cockpit(con):
    plain = rectifications.page(con, sel()).totals
    for filtered in (sel(lead_depts=("农业农村局",)), sel(domains=("乡村振兴",))):
        got = rectifications.page(con, filtered).totals
        cockpit = metrics.totals(con, filtered)
        for key in rectifications.METRIC_KEYS:
            assert got[key] == pytest.approx(plain[key]) and got[key] == pytest.approx(cockpit[key])


def test_red_items_and_their_rectifications(con):
    p = rectifications.page(con, sel())
    assert p.red_items == ("B1",)  # overdue since 30 Sep; A1 is yellow (lag 15 pp)
    assert p.n_red_items == 2  # R5, R6


@pytest.mark.parametrize("filters", [{}, {"region_code": "340000"}, {"region_code": "340100"},
                                     {"period": "2026-Q3"}, {"period": "2026", "region_code": "110000"},
                                     {"period": "2025"}])
def test_the_ledger_equals_the_cockpit_for_the_same_filter(con, filters):
    s = sel(**filters)
    p = rectifications.page(con, s)
    total, children = metrics.summarise(con, s, p.level)
    for key in rectifications.METRIC_KEYS:
        assert p.totals.get(key) == pytest.approx(total[key]), key
    # the overdue flag of the rows counts exactly the cockpit's overdue rectifications
    assert p.rows["is_overdue"].sum() == total["rect_overdue"]
    if p.level:
        mine = {r["region_code"]: r for r in p.by_region.iter_rows(named=True)}
        for r in children.iter_rows(named=True):
            if r["region_code"] not in mine:  # a region without rectifications in the period is not listed
                assert (r["n_rect_due"], r["n_rect_found"], r["rect_overdue"], r["n_rect_closed_in_window"]) == (0,) * 4
                continue
            for key in rectifications.METRIC_KEYS:
                assert mine[r["region_code"]][key] == pytest.approx(r[key]), (r["region_code"], key)


def test_the_ledger_equals_the_cockpit_on_the_demo_data(demo_small_path):
    c = store.connect(demo_small_path, read_only=True)
    try:
        for filters in ({}, {"region_code": "340000"}, {"period": "2026-Q2"}):
            s = sel(**filters)
            p = rectifications.page(c, s)
            total, children = metrics.summarise(c, s, p.level)
            assert p.totals["n_rect_due"] > 0
            for key in rectifications.METRIC_KEYS:
                assert p.totals[key] == pytest.approx(total[key])
            assert p.rows["is_overdue"].sum() == total["rect_overdue"]
            mine = {r["region_code"]: r for r in p.by_region.iter_rows(named=True)}
            assert set(mine) <= set(children["region_code"])
            for r in children.filter(pl.col("region_code").is_in(list(mine))).iter_rows(named=True):
                for key in rectifications.METRIC_KEYS:
                    assert mine[r["region_code"]][key] == pytest.approx(r[key]), (r["region_code"], key)
    finally:
        c.close()


# --------------------------------------------------------------------------- the page
@pytest.fixture()
def ledger_env(ledger_path, monkeypatch):
    monkeypatch.setenv("COCKPIT_DB", str(ledger_path))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    return ledger_path


def start(lang: str, **params) -> AppTest:
    return open_page("rectifications", lang, **params)


def values(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_page_in_chinese_with_a_region_filter(ledger_env):
    at = start("zh")
    assert at.title[0].value == "整改台账"
    v = values(at)
    assert v["整改完成率"] == "57.1%" and v["逾期整改"] == "3" and v["平均整改用时"] == "21.8 天"
    assert v["未销号整改"] == "4" and v["近12个月反弹率"] == "28.6%"
    overdue = at.dataframe[0].value
    assert overdue["整改编号"].tolist() == ["R5", "R1", "R8"]
    assert overdue["逾期"].tolist()[0] == "⚠ 超期 99 天"
    at.selectbox(key="f_province").select("340000").run()
    assert not at.exception
    v = values(at)
    assert v["整改完成率"] == "60.0%" and v["逾期整改"] == "2"
    assert at.query_params["region"] == "340000"


def test_page_in_english_with_the_department_choice_in_the_url(ledger_env):
    at = start("en")
    assert at.title[0].value == "Rectification ledger"
    assert values(at)["Rectification completion rate"] == "57.1%"
    at.multiselect(key="ledger_rdept").select("财政局").run()
    assert not at.exception
    assert values(at)["Rectification completion rate"] == "66.7%"
    assert at.query_params["rdept"] == "财政局"
    at = start("en", rdept="财政局,不存在的局")  # a link: the known name is kept, the unknown one reported
    assert values(at)["Overdue rectifications"] == "1"
    assert any("不存在的局" in w.value for w in at.warning)


def test_page_says_the_lead_department_filter_does_not_narrow_it(ledger_env):
    at = start("en", dept="农业农村局")
    assert values(at)["Rectification completion rate"] == "57.1%"  # unchanged, as in the cockpit
    assert any("does not narrow" in c.value or "do not narrow" in c.value for c in at.caption)
    assert any("lead department or domain is chosen" in c.value for c in at.caption)


def test_an_empty_ledger_says_so(ledger_env):
    at = start("en", region="410000")  # 河南: no rectification
    assert any("No rectifications match" in i.value for i in at.info)
