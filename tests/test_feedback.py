"""Public feedback: phrases of complaint text on a tiny corpus, the disagreement rule on a hand-made case, the
page's numbers equal to the cockpit's, and the page under AppTest in both languages with a filter change.

The database is tests/fixture_db.py's, reused unchanged, plus two green items and 28 hotline complaints
(as of 2026-11-22; the rule's windows are 26 Oct – 22 Nov, "recent", and 28 Sep – 25 Oct, "previous"):

  G1  340102 瑶海区  green (planned 50, actual 48)   complaints about it: recent 5, previous 1
  G2  340100 合肥市  green (planned 30, actual 30)   recent 2, previous 2
  A1  340102         yellow (lag 15 pp)              recent 3, previous 0
  B1  110105 朝阳区  red (overdue)                   recent 12, previous 2
  —   340100         (no item)                       recent 0, previous 1

Anhui: lit items A1 (yellow), G1, G2 (green) → 2/3 green; complaints 10 recent vs 4 previous → +150%: flagged.
Beijing: complaints rise too (12 vs 2) but its only lit item is red: not flagged. G1: 5 vs 1: flagged; G2: 2
recent, fewer than 3: not flagged; A1 rises from 0 but is yellow: not flagged.
"""
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import metrics
from analytics.db import store
from analytics.pages import feedback as pf
from analytics.filters import Filters
from tests import fixture_db
from tests.app_pages import open_page

ROOT = Path(__file__).resolve().parents[1]
D = date.fromisoformat
AS_OF = fixture_db.AS_OF

GREEN_ITEMS = pl.DataFrame({
    "project_id": ["G1", "G2"], "name": ["农村道路硬化", "政务服务窗口改造"], "policy_id": ["P1", "P2"],
    "domain": ["乡村振兴", "营商环境"], "region_code": ["340102", "340100"], "lead_dept": ["交通运输局", "政务服务管理局"],
    "co_depts": [[], []], "priority": ["normal", "normal"], "start_date": [D("2026-01-01"), D("2026-03-01")],
    "planned_end_date": [D("2027-06-30"), D("2027-03-31")], "actual_end_date": [None, None],
    "budget_wan_yuan": [300.0, 200.0], "status": ["in_progress", "in_progress"],
})
GREEN_REPORTS = pl.DataFrame({
    "project_id": ["G1", "G2"], "report_date": [D("2026-11-15"), D("2026-11-15")],
    "planned_progress_pct": [50.0, 30.0], "actual_progress_pct": [48.0, 30.0], "rag": ["green", "green"],
})
RECENT, PREVIOUS = datetime(2026, 11, 10, 9), datetime(2026, 10, 5, 9)
# (project, region, recent complaints, previous complaints)
COMPLAINTS = [("G1", "340102", 5, 1), ("G2", "340100", 2, 2), ("A1", "340102", 3, 0), ("B1", "110105", 12, 2),
              (None, "340100", 0, 1)]
DOMAIN_OF = {"G1": "乡村振兴", "G2": "营商环境", "A1": "乡村振兴", "B1": "民生保障", None: "营商环境"}


def complaint_rows() -> pl.DataFrame:
    rows = []
    for project, region, n_recent, n_previous in COMPLAINTS:
        for when, n in ((RECENT, n_recent), (PREVIOUS, n_previous)):
            rows += [(project, region, when) for _ in range(n)]
    return pl.DataFrame({
        "feedback_id": [f"H{i + 1}" for i in range(len(rows))],
        "received_at": [r[2] for r in rows], "channel": ["hotline_12345"] * len(rows),
        "region_code": [r[1] for r in rows], "project_id": [r[0] for r in rows],
        "domain": [DOMAIN_OF[r[0]] for r in rows], "satisfaction": pl.Series([None] * len(rows), dtype=pl.Int64),
        "is_complaint": [True] * len(rows), "category": ["道路施工"] * len(rows),
        "responded_at": pl.Series([None] * len(rows), dtype=pl.Datetime("us")),
        "is_resolved": pl.Series([None] * len(rows), dtype=pl.Boolean),
        "text": ["人民路：道路施工噪音扰民，联系人王先生 13812345678"] * len(rows),
    })


def build(path: Path) -> Path:
    return fixture_db.build(
        path, "tests/test_feedback.py", "fixture + green items and complaints",
        projects=pl.concat([fixture_db.PROJECTS, GREEN_ITEMS], how="vertical_relaxed"),
        progress_reports=pl.concat([fixture_db.PROGRESS, GREEN_REPORTS], how="vertical_relaxed"),
        feedback=pl.concat([fixture_db.FEEDBACK, complaint_rows()], how="vertical_relaxed"))


@pytest.fixture(scope="module")
def feedback_path(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("feedback") / "feedback.duckdb")


@pytest.fixture()
def con(feedback_path):
    c = store.connect(feedback_path, read_only=True)
    yield c
    c.close()


def sel(**filters) -> metrics.Selection:
    return metrics.Selection(Filters(**filters), as_of=AS_OF)


# --------------------------------------------------------------------------- phrases
CORPUS = ["小区停车难", "和平小区：小区停车难，晚上更严重", "人民路：垃圾清运不及时", "垃圾清运不及时",
          "联系人王先生 13812345678 反映噪音扰民", "人民路：噪音扰民"]


def test_clean_text_drops_lead_ins_contact_details_and_stop_words():
    assert pf.clean_text("和平小区：小区停车难，晚上更严重") == "小区停车难 晚上更严重"
    assert pf.clean_text("联系人王先生 13812345678 反映噪音扰民") == "王 噪音扰民"
    assert pf.clean_text("企业反映：人民路：道路施工") == "道路施工"  # two lead-ins at most
    assert pf.clean_text("这是一段很长的开头说明文字：内容") == "这是一段很长的开头说明文字 内容"  # not a short lead-in


def test_top_terms_on_a_tiny_corpus():
    # each phrase is in two of the six texts; the 2–4 character n-grams inside it are covered by it, and the
    # overlapping 4-grams join into the whole phrase. "人民路" (a lead-in twice) and the contact are not terms.
    terms = pf.top_terms(CORPUS)
    assert terms["term"].to_list() == ["噪音扰民", "垃圾清运不及时", "小区停车难"]
    assert terms["n"].to_list() == [2, 2, 2]
    assert terms["share"].to_list() == pytest.approx([2 / 6] * 3)
    weighted = pf.top_terms(CORPUS, weights=[1, 1, 5, 1, 1, 1])  # a text received five times counts five times
    assert weighted.row(0) == ("垃圾清运不及时", 6, pytest.approx(6 / 10))
    assert pf.top_terms(["好", ""]).is_empty()  # nothing long enough to be a phrase


def test_examples_are_masked():
    ex = pf.examples(CORPUS, [1] * len(CORPUS), ["噪音扰民"])
    assert ex["噪音扰民"] == ["联系人王先生 138****5678 反映噪音扰民", "人民路：噪音扰民"]


def test_complaint_terms_of_the_selection(con):
    t = pf.complaint_terms(con, sel())
    assert t.n_complaints == 30 and t.n_distinct == 3  # F1, F3 and 28 identical hotline texts
    first = t.frame.row(0, named=True)
    assert first["term"] == "道路施工噪音扰民" and first["n"] == 28
    assert first["examples"] == ["人民路：道路施工噪音扰民，联系人王先生 138****5678"]


# --------------------------------------------------------------------------- disagreement
def test_the_disagreement_rule_on_the_hand_made_case(con):
    regions, items = pf.disagreement(con, sel(), "province")
    assert regions["region_code"].to_list() == ["340000"]
    r = regions.row(0, named=True)
    assert (r["n_lit"], r["n_green"], r["n_recent"], r["n_previous"]) == (3, 2, 10, 4)
    assert r["rise"] == pytest.approx(1.5)
    assert items["project_id"].to_list() == ["G1"]
    assert items.row(0, named=True)["rise"] == pytest.approx(4.0)


def test_the_rule_settings_move_the_boundaries(con):
    loose = pf.DisagreementRule(min_recent_item=2, green_share=0.0)
    regions, items = pf.disagreement(con, sel(), "province", loose)
    assert set(regions["region_code"]) == {"340000", "110000"}  # Beijing is red, now allowed
    assert set(items["project_id"]) == {"G1"}  # G2: 2 vs 2 is no rise of 50%
    strict = pf.DisagreementRule(min_rise=4.5)  # G1 rose by exactly 400%: not enough
    assert pf.disagreement(con, sel(), "province", strict)[1].is_empty()


def test_the_windows_of_the_rule():
    assert pf.windows_of(pf.DisagreementRule(), D("2026-11-22")) == (D("2026-09-28"), D("2026-10-26"))


# --------------------------------------------------------------------------- equal to the cockpit
@pytest.mark.parametrize("filters", [{}, {"region_code": "340000"}, {"period": "2026-Q3"}, {"domains": ("乡村振兴",)}])
def test_the_feedback_numbers_equal_the_cockpit(con, filters):
    s = sel(**filters)
    p = pf.page(con, s)
    total, children = metrics.summarise(con, s, p.level)
    for key in pf.METRIC_KEYS:
        assert p.totals.get(key) == pytest.approx(total[key]), key
    mine = {r["region_code"]: r for r in p.by_region.iter_rows(named=True)}
    for r in children.filter(pl.col("n_feedback") > 0).iter_rows(named=True):
        for key in pf.METRIC_KEYS:
            assert mine[r["region_code"]][key] == pytest.approx(r[key]), (r["region_code"], key)
    whole = p.by_channel.filter(pl.col("channel").is_null()).row(0, named=True)
    assert whole["n_feedback"] == total["n_feedback"]
    assert p.by_channel.filter(pl.col("channel").is_not_null())["n_feedback"].sum() == total["n_feedback"]


def test_the_domain_table_is_the_cockpit_filtered_to_each_domain(con):
    p = pf.page(con, sel())
    for r in p.by_domain.iter_rows(named=True):
        cockpit = metrics.totals(con, sel(domains=(r["domain"],)))
        assert r["n_feedback"] == cockpit["n_feedback"]
        for key in pf.METRIC_KEYS:
            assert r[key] == pytest.approx(cockpit[key]), (r["domain"], key)


@pytest.mark.parametrize("filters", [{}, {"region_code": "340000"}, {"period": "2026-Q3"}])
def test_the_channel_table_is_the_channel_series_over_the_period(con, filters):
    # the page's one-scan breakdown per channel against the channel series with one window, the filter period
    from analytics.filters import period_bounds

    s = sel(**filters)
    start, end = period_bounds(s.filters.period, s.as_of)
    series_rows = pf.channel_series(con, s, [("p", start or D("1900-01-01"), end)])
    p = pf.page(con, s)
    assert p.by_channel.height == series_rows.height > 1
    mine = {r["channel"]: r for r in p.by_channel.iter_rows(named=True)}
    for r in series_rows.iter_rows(named=True):
        for key in ("n_feedback", "n_complaints", "n_need_response", "n_answered_in_time", *pf.METRIC_KEYS):
            assert mine[r["channel"]][key] == pytest.approx(r[key]), (r["channel"], key)


def test_channel_series_by_month(con):
    wins = [w for w in pf.series.windows("month", AS_OF, 4)]
    frame = pf.channel_series(con, sel(), wins)
    hotline = dict(frame.filter(pl.col("channel") == "hotline_12345").select("period", "n_complaints").iter_rows())
    assert hotline == {"2026-08": 1, "2026-10": 6, "2026-11": 22}  # F1 in August; the hand-made complaints
    nov = frame.filter((pl.col("period") == "2026-11") & pl.col("channel").is_null()).row(0, named=True)
    assert nov["complaint_rate"] == pytest.approx(1.0) and nov["n_feedback"] == 22
    # a month point equals the cockpit with the period set to that month
    for period in ("2026-10", "2026-11"):
        point = frame.filter((pl.col("period") == period) & pl.col("channel").is_null()).row(0, named=True)
        cockpit = metrics.totals(con, metrics.Selection(Filters(period=period), as_of=AS_OF))
        assert point["n_complaints"] == cockpit["n_complaints"]


def test_trend_by_region_and_domain_comes_from_the_series(con):
    s = sel()
    wins = pf._windows(s, "month")
    trend, complaints = pf.trend_of(con, s, "complaint_rate", "month", "region", "province", wins)
    nov = {r["group"]: r["n"] for r in complaints.filter(pl.col("period") == "2026-11").iter_rows(named=True)}
    assert nov["340000"] == 10 and nov["110000"] == 12
    want = pf.series.metric_series(con, s, "complaint_rate", "month", 12, by="region", level="province")
    assert trend.equals(want)


def test_categories_over_time(con):
    cats = pf.category_series(con, sel(), pf.series.windows("month", AS_OF, 3), top=1)
    assert cats.filter(pl.col("period") == "2026-11").rows() == [("2026-11", "道路施工", 22)]


# --------------------------------------------------------------------------- the page
@pytest.fixture()
def feedback_env(feedback_path, monkeypatch):
    monkeypatch.setenv("COCKPIT_DB", str(feedback_path))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    return feedback_path


def start(lang: str, **params) -> AppTest:
    return open_page("feedback", lang, **params)


def values(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def frames(at) -> list:
    return [d.value for d in at.dataframe]


def test_page_in_chinese_with_a_region_filter(feedback_env):
    at = start("zh")
    assert at.title[0].value == "群众反馈"
    assert values(at)["投诉占比"] == "96.8%"  # 30 complaints of 31 pieces of feedback
    region_tables = [f for f in frames(at) if "近期投诉（条）" in f.columns and "绿灯占比（%）" in f.columns]
    assert region_tables and region_tables[0]["地区"].tolist() == ["安徽省"]
    item_tables = [f for f in frames(at) if "事项编号" in f.columns]
    assert item_tables and item_tables[0]["事项编号"].tolist() == ["G1"]
    at.selectbox(key="f_province").select("110000").run()
    assert not at.exception
    assert values(at)["投诉占比"] == "100.0%"  # Beijing: F1 and 14 hotline complaints
    assert at.query_params["region"] == "110000"


def test_page_in_english_with_grain_and_grouping_in_the_url(feedback_env):
    at = start("en")
    assert at.title[0].value == "Public feedback"
    assert values(at)["Complaint share"] == "96.8%"
    terms = [f for f in frames(at) if "Phrase" in f.columns]
    assert terms and terms[0]["Phrase"].tolist()[0] == "道路施工噪音扰民"
    assert "138****5678" in terms[0]["Examples (masked)"].tolist()[0]
    at.segmented_control(key="fb_by").set_value("region").run()
    assert not at.exception and at.query_params["by"] == "region"
    at.segmented_control(key="fb_grain").set_value("quarter").run()
    assert not at.exception and at.query_params["grain"] == "quarter"
    at = start("en", metric="bogus", region="340000")
    assert any("bogus" in w.value for w in at.warning)
    assert values(at)["Complaint share"] == "93.8%"  # Anhui: 15 complaints of 16


def test_an_empty_selection_says_so(feedback_env):
    at = start("en", region="410000")
    assert any("No public feedback matches" in i.value for i in at.info)


def test_a_county_draws_the_trend_by_channel_and_says_so(feedback_env):
    at = start("en", region="340102", by="region")
    assert any("drawn by channel instead" in i.value for i in at.info)
    assert at.subheader[0].value.endswith("by channel")


def test_the_short_last_month_is_pale_and_labelled_and_categories_are_in_english(feedback_env):
    """Issue 17: a month cut short by the as-of date (22 November) was drawn like a whole month, so its bars read
    as a collapse; complaint categories stayed in Chinese on the English page."""
    import json

    at = start("en")
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    bars = [s for s in specs if any(t.get("type") == "bar" for t in s["data"])]
    assert len(bars) == 2  # complaints by channel, and by category
    for spec in bars:
        [note] = spec["layout"]["annotations"]
        assert note["text"] == "to 22 Nov" and note["x"] == "Nov"  # months after the first carry no year
        assert any("Nov" in trace["x"] for trace in spec["data"])
        for trace in spec["data"]:
            assert all(o == (0.4 if x == "Nov" else 1.0) for x, o in zip(trace["x"], trace["marker"]["opacity"]))
    names = {t["name"] for t in bars[1]["data"]}
    assert "Road works" in names and "道路施工" not in names  # 道路施工: a category with a known translation
    at = start("zh", grain="quarter")  # the quarter to 22 November is cut short too
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    notes = [a["text"] for s in specs for a in s["layout"].get("annotations", [])]
    assert "截至11月22日" in notes
