"""Report authenticity: each rule on a fixture item that triggers exactly that one, the credibility score,
precision and recall on a small demo against its planted truth, and the page in both languages."""
from datetime import date, timedelta

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import quality
from analytics.pages import authenticity
from analytics.db import store
from analytics.filters import Filters
from analytics.metrics import Selection
from analytics.db.queries import Scope
from tests.test_app import ROOT

AS_OF = date(2026, 11, 22)
START = date(2026, 1, 2)  # a Friday; weekly reports from here


def _series(pid, actual, planned, spent, end):
    return [{"project_id": pid, "report_date": START + timedelta(weeks=k), "actual_progress_pct": a,
             "planned_progress_pct": p, "budget_spent_wan_yuan": s} for k, (a, p, s) in enumerate(zip(actual, planned, spent))]


def fixture():
    n = 12
    steady = [3.0 * (k + 1) for k in range(n)]
    projects, reports, milestones = [], [], []

    def item(pid, end, actual, planned, spent, region="340102"):
        projects.append({"project_id": pid, "name": f"事项{pid}", "domain": "民生保障", "region_code": region,
                         "lead_dept": "住房和城乡建设局", "priority": "normal", "start_date": START,
                         "planned_end_date": end, "status": "in_progress", "budget_wan_yuan": 100.0})
        reports.extend(_series(pid, actual, planned, spent, end))

    far = date(2027, 12, 31)
    # N: honest; spending follows progress, plan a little ahead, end far away
    item("N", far, steady, [a + 3 for a in steady], steady)
    # FLAT: 5 identical reports at 15% while spending rises by 12% of the budget
    flat = [3.0, 6.0, 9.0, 12.0, 15.0, 15.0, 15.0, 15.0, 15.0, 18.0, 21.0, 24.0]
    item("FLAT", far, flat, [a + 3 for a in steady], [3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30])
    # JUMP: planned end two weeks after the last report; the last report leaps 20 points onto the plan
    jump = [2.0 * (k + 1) for k in range(n - 1)] + [42.0]
    end = START + timedelta(weeks=n - 1, days=14)
    item("JUMP", end, jump, [3.5 * (k + 1) for k in range(n - 1)] + [42.0], jump)
    # AHEAD: 60% reported, 10% of the budget spent
    ahead = [5.0 * (k + 1) for k in range(n)]
    item("AHEAD", far, ahead, [a + 1 for a in ahead], [a / 6 for a in ahead])
    # DONE: 96% reported while both milestones (due before) are not met
    done = [8.0 * (k + 1) for k in range(n)]
    done[-1] = 96.0
    item("DONE", far, done, [d + 1 for d in done], done)
    milestones += [{"project_id": "DONE", "milestone_id": "M1", "name": "开工建设", "planned_date": START + timedelta(weeks=4),
                    "actual_date": None, "weight": 0.5},
                   {"project_id": "DONE", "milestone_id": "M2", "name": "主体完工", "planned_date": START + timedelta(weeks=8),
                    "actual_date": None, "weight": 0.5}]
    return pl.DataFrame(projects), pl.DataFrame(reports), pl.DataFrame(milestones)


def build(path) -> str:
    projects, reports, milestones = fixture()
    con = store.connect(path)
    store.create_schema(con)
    store.install_regions(con)
    store.write_table(con, "projects", projects)
    store.write_table(con, "progress_reports", reports)
    store.write_table(con, "milestones", milestones)
    store.record_version(con, "test", "tests/test_authenticity.py", AS_OF, "one rule per item")
    con.close()
    return str(path)


@pytest.fixture()
def auth_path(tmp_path):
    return build(tmp_path / "auth.duckdb")


def _analysis(path):
    con = store.connect(path, read_only=True)
    try:
        return authenticity.analyse(con, Scope(), AS_OF)
    finally:
        con.close()


EXPECTED = {"N": None, "FLAT": "flat_while_spending", "JUMP": "jump_to_plan", "AHEAD": "ahead_of_spending",
            "DONE": "done_milestones_unmet"}


def test_each_rule_fires_on_its_own_fixture_and_only_there(auth_path):
    a = _analysis(auth_path)
    for row in a.items.iter_rows(named=True):
        hits = [p for p in authenticity.ITEM_PATTERNS if row[p]]
        want = EXPECTED[row["project_id"]]
        assert hits == ([want] if want else []), (row["project_id"], hits)
        # credibility = 100 − the penalty of the pattern matched
        assert row["credibility"] == 100 - (authenticity.PENALTY[want] if want else 0)
    assert not a.items["unusual_pattern"].any()  # the model needs 20 items; five are not scored


def test_the_evidence_says_what_was_measured(auth_path):
    ev = {r["project_id"]: r for r in _analysis(auth_path).evidence.iter_rows(named=True)}
    assert ev["FLAT"]["pattern"] == "flat_while_spending" and ev["FLAT"]["value"] == 15.0 and ev["FLAT"]["amount"] == 5
    assert ev["FLAT"]["date"] == START + timedelta(weeks=5)  # the first repeat
    assert ev["JUMP"]["amount"] == pytest.approx(20.0) and ev["JUMP"]["value"] == 42.0
    assert ev["AHEAD"]["amount"] == pytest.approx(50.0)  # 60 − 100 × 10 / 100
    assert ev["DONE"]["amount"] == 2  # two milestones due and not met
    assert "N" not in ev


def test_bands_the_page_and_the_item(auth_path):
    con = store.connect(auth_path, read_only=True)
    sel = Selection(Filters(), Scope(), AS_OF)
    p = authenticity.page(con, sel)
    assert p.n_items == 5
    assert set(p.flagged["project_id"]) == {"FLAT", "JUMP"}  # 65 and 70; AHEAD (80) and DONE (85) stay "high"
    cred = authenticity.item_credibility(con, sel, project_id="FLAT")
    assert cred["credibility"] == 65 and cred["band"] == "medium" and cred["patterns"] == ["flat_while_spending"]
    assert authenticity.item_credibility(con, sel, project_id="nope") is None
    by_pattern = dict(p.by_pattern.iter_rows())
    assert by_pattern == {"flat_while_spending": 1, "jump_to_plan": 1, "ahead_of_spending": 1,
                          "done_milestones_unmet": 1, "unusual_pattern": 0}
    assert authenticity.page(con, Selection(Filters(region_code="110000"), Scope(), AS_OF)).n_items == 0
    con.close()


def test_precision_and_recall_on_a_small_demo(demo_small_path):
    con = store.connect(demo_small_path, read_only=True)
    p = authenticity.page(con, Selection(as_of=AS_OF))
    con.close()
    ev = quality.truth_beautified(demo_small_path, set(p.universe), p.all_flagged)
    planted = set(pl.read_parquet(str(demo_small_path) + ".truth/beautified.parquet")["project_id"]) & set(p.universe)
    assert ev["n_true"] == len(planted) > 10
    assert ev["n_correct"] == len(planted & set(p.all_flagged))
    assert ev["precision"] >= 0.5 and ev["recall"] >= 0.6, ev


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_in_both_languages(auth_path, monkeypatch, lang):
    monkeypatch.setenv("COCKPIT_DB", auth_path)
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("views/authenticity.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == ("数据真实性" if lang == "zh" else "Report authenticity")
    values = {m.label: m.value for m in at.metric}
    items = "有进度填报的事项" if lang == "zh" else "Items with progress reports"
    assert values[items] == ("5 项" if lang == "zh" else "5 items")
    at.selectbox(key="f_province").select("110000").run()
    assert not at.exception
    assert any(("没有带进度填报" if lang == "zh" else "No supervised items") in i.value for i in at.info)
    # the item detail shows the credibility section
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["lang"] = lang
    at.query_params["item"] = "FLAT"
    at.run()
    at.switch_page("views/item.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(("数据可信度" if lang == "zh" else "Data credibility") in s.value for s in at.subheader)


def test_items_without_reports_are_an_empty_state_not_an_error(tmp_path):
    from tests import test_duplicates

    path = test_duplicates.build(tmp_path / "no_reports.duckdb")  # items, no progress reports
    con = store.connect(path, read_only=True)
    p = authenticity.page(con, Selection(as_of=AS_OF))
    con.close()
    assert p.n_items == 0 and p.flagged.is_empty() and p.by_pattern["n_items"].sum() == 0


def test_departments_held_nationally_are_named_not_coded():
    """The smoother-than-peers table groups items by province; items held nationally (100000) showed the code."""
    import polars as pl

    from analytics import i18n
    from analytics.region_tree import RegionTree

    tree = RegionTree(pl.DataFrame({"region_code": ["340000"], "name": ["安徽省"], "level": ["province"],
                                    "parent_code": ["100000"]}))
    assert [i18n.glossary("province", tree.name.get(c, c), lang) for c in ("100000", "340000") for lang in
            ("zh", "en")] == ["全国", "China", "安徽省", "Anhui"]
    assert "100000" not in tree and tree.provinces() == ["340000"]  # a name only: nothing to pick
