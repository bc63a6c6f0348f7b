"""Duplicate supervision: reworded duplicates are found, unrelated items in the same county are not, the
"not duplicates" mark persists, precision and recall on a small demo against its planted truth, and the page
renders in both languages."""
import shutil
from datetime import date, timedelta

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import quality
from analytics.pages import duplicates
from analytics.db import store
from analytics.filters import Filters
from analytics.metrics import Selection
from analytics.db.queries import Scope
from tests.test_app import ROOT

AS_OF = date(2026, 11, 22)
D = date.fromisoformat
TASKS = [("高标准农田建设", "农业农村局", "建成高标准农田", "万亩"), ("城市排水管网改造", "住房和城乡建设局", "改造排水管网", "公里"),
         ("企业开办便利化", "市场监督管理局", "压缩企业开办时间", "天"), ("课后服务全覆盖", "教育局", "实现课后服务覆盖", "所学校"),
         ("污水处理厂提标改造", "生态环境局", "新增污水处理能力", "万吨/日"), ("根治欠薪专项行动", "人力资源和社会保障局", "追发欠薪", "万元")]
# background items in other provinces, so that n-grams common to every description carry little weight
FILLER_REGIONS = ["320102", "330102", "370102", "420102", "430102", "440103", "510104", "610102", "130102", "210102"]


def _row(pid, name, desc, region, lead, co, source, start, end, domain="民生保障"):
    return {"project_id": pid, "name": name, "description": desc, "region_code": region, "lead_dept": lead,
            "co_depts": co, "source": source, "start_date": D(start), "planned_end_date": D(end), "domain": domain,
            "priority": "normal", "status": "in_progress", "category": "民生实事", "budget_wan_yuan": 100.0}


def fixture_rows() -> list[dict]:
    rows = [
        # the original and its reworded duplicate from another channel, in the city above the county
        _row("D1", "瑶海区2025年老旧小区改造", "由住房和城乡建设局牵头，会同财政局，2025年改造老旧小区12个，实行清单化管理。",
             "340102", "住房和城乡建设局", ["财政局"], "领导交办", "2025-03-01", "2025-12-31"),
        _row("D2", "关于加快城镇老旧小区改造的督办件", "群众诉求事项：要求住房和城乡建设局会同财政局加快推进城镇老旧小区改造，改造老旧小区8个。",
             "340100", "住房和城乡建设局", ["财政局"], "群众诉求", "2025-03-20", "2026-01-20"),
        # unrelated task, same county, same departments, same dates, another source: the text tells them apart
        _row("U1", "瑶海区2025年城市排水管网建设", "由住房和城乡建设局牵头，会同财政局，2025年新建排水管网30公里，实行清单化管理。",
             "340102", "住房和城乡建设局", ["财政局"], "会议议定", "2025-03-05", "2025-12-31"),
        # the same task in the same county two years earlier: the dates tell them apart
        _row("U2", "瑶海区2023年老旧小区改造", "由住房和城乡建设局牵头，会同财政局，2023年改造老旧小区10个，实行清单化管理。",
             "340102", "住房和城乡建设局", ["财政局"], "上级督查", "2023-02-01", "2023-11-30"),
        # the same task in another county of the same province (not nested): the region tells them apart
        _row("U3", "蚌埠市龙子湖区老旧小区改造", "由住房和城乡建设局牵头，会同财政局，2025年改造老旧小区9个，实行清单化管理。",
             "340302", "住房和城乡建设局", ["财政局"], "审计发现", "2025-03-10", "2025-12-31"),
    ]
    for i, region in enumerate(FILLER_REGIONS):
        for j, (task, lead, goal, unit) in enumerate(TASKS):
            start = D("2024-01-01") + timedelta(days=97 * j + 13 * i)
            rows.append(_row(f"F{i:02d}{j}", f"{task}（{2024 + j % 2}年）", f"由{lead}牵头，会同财政局，{goal}{5 + i}{unit}，实行清单化管理。",
                             region, lead, [], "领导交办", str(start), str(start + timedelta(days=300))))
    return rows


def build(path) -> str:
    con = store.connect(path)
    store.create_schema(con)
    store.install_regions(con)
    store.write_table(con, "projects", pl.DataFrame(fixture_rows()))
    store.record_version(con, "test", "tests/test_duplicates.py", AS_OF, "duplicate pairs")
    con.close()
    return str(path)


@pytest.fixture()
def dup_path(tmp_path):
    return build(tmp_path / "dups.duckdb")


def _page(path, dismissed=(), filters=Filters()):
    con = store.connect(path, read_only=True)
    try:
        return duplicates.page(con, Selection(filters, Scope(), AS_OF), dismissed=dismissed)
    finally:
        con.close()


def test_the_reworded_duplicate_is_found_and_nothing_else(dup_path):
    p = _page(dup_path)
    assert [sorted(c) for c in p.clusters["project_ids"].to_list()] == [["D1", "D2"]]
    pair = p.pairs.row(0, named=True)
    assert (pair["project_a"], pair["project_b"], pair["same_region"], pair["start_gap_days"]) == ("D1", "D2", False, 19)
    assert pair["dept_jaccard"] == 1.0 and pair["other_channel"]
    assert duplicates.signals_of(pair) == ("text", "nested_region", "dates", "depts", "channel")
    assert p.clusters["signals"][0].to_list() == ["text", "nested_region", "dates", "depts", "channel"]
    assert 0 < pair["score"] <= 1
    assert p.n_in_clusters == 2 and p.n_items == len(fixture_rows())


def test_each_unrelated_item_fails_for_its_own_reason(dup_path):
    con = store.connect(dup_path, read_only=True)
    items = duplicates.analyse(con, Scope(), AS_OF).items
    con.close()
    loose = duplicates.Rules(text_min=0.0)  # every pair in a block, so we see which signal rejects it
    pairs, _ = duplicates.candidate_pairs(items, loose)
    found = set(zip(pairs["project_a"], pairs["project_b"]))
    assert ("D1", "D2") in found
    # U1 matches every signal but the text: only the text threshold keeps it out
    assert ("D1", "U1") in found and ("D1", "U1") not in set(zip(*_page(dup_path).all_pairs.select("project_a", "project_b")))
    text = dict(zip(zip(pairs["project_a"], pairs["project_b"]), pairs["text_sim"]))
    assert text[("D1", "U1")] < duplicates.RULES.text_min <= text[("D1", "D2")]
    assert ("D1", "U2") not in found and ("D2", "U2") not in found  # two years apart
    assert not any("U3" in pair for pair in found)  # another county: not compared at all


def test_the_filters_narrow_the_clusters_and_the_region_shares(dup_path):
    p = _page(dup_path, filters=Filters(region_code="340000"))
    assert p.group_level == "city"
    shares = {r["region_code"]: (r["n_items"], r["n_in_clusters"]) for r in p.by_region.iter_rows(named=True)}
    assert shares == {"340100": (4, 2), "340300": (1, 0)}  # 合肥: D1, D2, U1, U2; 蚌埠: U3
    assert p.by_region.filter(pl.col("region_code") == "340100")["share"][0] == 0.5
    p = _page(dup_path, filters=Filters(region_code="110000"))
    assert p.clusters.is_empty() and p.n_items == 0
    # a cluster touching the filters is shown whole: filtering to the county keeps D2 (the city's item)
    p = _page(dup_path, filters=Filters(region_code="340102"))
    members = dict(zip(p.members["project_id"], p.members["in_filters"]))
    assert members == {"D1": True, "D2": False}


def test_a_not_duplicates_mark_persists(dup_path):
    key = duplicates.cluster_key(["D1", "D2"])
    assert _page(dup_path).clusters["cluster_key"].to_list() == [key]
    assert quality.mark_not_duplicates(dup_path, ["D2", "D1"], key, "tester", "different estates",
                                       in_scope=None) == 1
    quality.clear_cache()  # a new process: nothing in memory, only the sidecar file
    dismissed = quality.not_duplicate_pairs(dup_path)
    assert dismissed == (("D1", "D2"),)
    p = _page(dup_path, dismissed)
    assert p.clusters.is_empty() and p.n_in_clusters == 0 and p.n_dismissed_pairs == 1
    m = quality.marks(dup_path, in_scope=None).row(0, named=True)
    assert (m["cluster_key"], m["n_pairs"], m["marked_by"], m["note"]) == (key, 1, "tester", "different estates")
    assert quality.unmark(dup_path, key, in_scope=None) == 1
    assert _page(dup_path, quality.not_duplicate_pairs(dup_path)).clusters.height == 1


def test_precision_and_recall_on_a_small_demo(demo_small_path):
    con = store.connect(demo_small_path, read_only=True)
    p = duplicates.page(con, Selection(as_of=AS_OF))
    con.close()
    found = p.all_pairs.select("project_a", "project_b").rows()
    ev = quality.truth_duplicates(demo_small_path, set(p.universe), found)
    # computed by hand from the sidecar: pairs planted with both items started by the as-of date
    planted = pl.read_parquet(str(demo_small_path) + ".truth/duplicates.parquet")
    true = {tuple(sorted(r)) for r in planted.iter_rows() if set(r) <= set(p.universe)}
    assert ev["n_true"] == len(true) > 20
    assert ev["n_correct"] == len(set(found) & true)
    assert ev["precision"] == ev["n_correct"] / len(found)
    assert ev["precision"] >= 0.6 and ev["recall"] >= 0.6, ev
    assert quality.truth_duplicates(None, set(), found) is None


def _app(path, lang):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("views/duplicates.py").run()
    return at


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_in_both_languages(dup_path, monkeypatch, lang):
    monkeypatch.setenv("COCKPIT_DB", dup_path)
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    at = _app(dup_path, lang)
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == ("重复督办" if lang == "zh" else "Duplicate supervision")
    values = {m.label: m.value for m in at.metric}
    label = "疑似重复组" if lang == "zh" else "Groups of probable duplicates"
    assert values[label] == ("1 组" if lang == "zh" else "1 groups")
    # a filter change: Beijing has no items, and the page says so
    at.selectbox(key="f_province").select("110000").run()
    assert not at.exception
    assert any(("没有督办事项" if lang == "zh" else "No supervised items") in i.value for i in at.info)


def test_marking_on_the_page_is_remembered(dup_path, monkeypatch):
    monkeypatch.setenv("COCKPIT_DB", dup_path)
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    at = _app(dup_path, "en")
    at.text_input(key="duplicates_note").input("checked on site")
    next(b for b in at.button if "not duplicates" in b.label).click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert quality.not_duplicate_pairs(dup_path) == (("D1", "D2"),)
    at = _app(dup_path, "en")  # a fresh session
    values = {m.label: m.value for m in at.metric}
    assert values["Groups of probable duplicates"] == "0 groups"
    assert values["Pairs marked “not duplicates”"] == "1 pairs"


def test_marks_act_and_show_only_within_the_scope(dup_path):
    """Issue 22, high 3: a mark on a Hefei group is not shown to, counted for, or undoable by a Beijing account, and
    nobody can mark a group holding items outside their scope."""
    key = duplicates.cluster_key(["D1", "D2"])
    hefei, beijing = Scope(region_codes=("340100",)), Scope(region_codes=("110000",))
    con = store.connect(dup_path, read_only=True)
    try:
        in_hefei = duplicates.page(con, Selection(Filters(), hefei, AS_OF)).universe
        in_beijing = duplicates.page(con, Selection(Filters(), beijing, AS_OF)).universe
    finally:
        con.close()
    assert {"D1", "D2"} <= in_hefei and "D1" not in in_beijing
    with pytest.raises(quality.OutOfScope):
        quality.mark_not_duplicates(dup_path, ["D1", "D2"], key, "beijing", "", in_scope=in_beijing)
    assert quality.not_duplicate_pairs(dup_path) == ()
    quality.mark_not_duplicates(dup_path, ["D1", "D2"], key, "hefei", "site visit: two estates", in_scope=in_hefei)
    assert quality.marks(dup_path, in_scope=in_hefei)["note"].to_list() == ["site visit: two estates"]
    assert quality.marks(dup_path, in_scope=in_beijing).is_empty()  # nor its note
    con = store.connect(dup_path, read_only=True)
    try:
        seen = duplicates.page(con, Selection(Filters(), beijing, AS_OF), dismissed=quality.not_duplicate_pairs(dup_path))
    finally:
        con.close()
    assert seen.n_dismissed_pairs == 0
    with pytest.raises(quality.OutOfScope):
        quality.unmark(dup_path, key, in_scope=in_beijing)
    assert quality.not_duplicate_pairs(dup_path) == (("D1", "D2"),)  # still there
    assert quality.unmark(dup_path, key, in_scope=in_hefei) == 1


def test_on_the_page_marking_needs_the_permission_and_is_audited(dup_path, monkeypatch):
    from analytics.auth import accounts, audit
    from analytics.auth import store as auth_store
    from tests.test_auth_app import PASSWORD, sign_in

    monkeypatch.setenv("COCKPIT_DB", dup_path)
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    side = auth_store.path_for(dup_path)
    for name, role, regions in (("leader", "leader", ["340100"]), ("analyst", "analyst", ["340000"]),
                                ("beijing", "analyst", ["110000"])):
        accounts.add(side, name, role=role, by="test", password=PASSWORD, region_codes=regions)

    def signed(name):
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
        at.query_params["lang"] = "en"
        sign_in(at.run(), name)
        at.switch_page("views/duplicates.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    at = signed("leader")  # view only: the group is shown, the decision is not offered
    assert not [b for b in at.button if "not duplicates" in b.label]
    assert any("needs the permission" in c.value for c in at.caption)
    at = signed("analyst")
    at.text_input(key="duplicates_note").input("two estates")
    next(b for b in at.button if "not duplicates" in b.label).click().run()
    assert not at.exception and ("D1", "D2") in quality.not_duplicate_pairs(dup_path)
    at = signed("leader")  # sees the mark within its scope, cannot undo it
    assert any("two estates" in d.value.to_string() for d in at.dataframe)
    assert not [b for b in at.button if b.key == "duplicates_unmark"]
    at = signed("beijing")  # another province: neither the mark nor its note
    assert all("two estates" not in d.value.to_string() for d in at.dataframe)
    at = signed("analyst")
    at.button(key="duplicates_unmark").click().run()
    assert quality.not_duplicate_pairs(dup_path) == ()
    logged = [(e.actor, e.action) for e in sorted(audit.entries(side), key=lambda e: e.seq)
              if e.action.startswith("duplicates")]
    assert logged == [("analyst", "duplicates_mark"), ("analyst", "duplicates_unmark")]
    assert audit.verify(side)[2] == []
