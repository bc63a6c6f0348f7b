"""Review-meeting deck on the hand-made fixture: comparisons, narratives, chart data, risk flags, notes store.

Fixture as of 2026-11-22 (Sunday). Items in flight: A1 (瑶海区; latest report 11-20: planned 90, actual 75
→ lag 15 pp → yellow; on 11-15 and earlier its latest was 09-30: 70 vs 60 → lag 10 → green), A3 (安徽省; no
reports → no data), B1 (朝阳区; planned end 09-30 → overdue, red since 10-01; on 08-23 its latest report
06-30: 80 vs 70 → green). Rectifications: R1 (B1, deadline 08-15, open → overdue 99 days at 11-22), R2
(closed 2025-11-20). Feedback: F1 2026-08-01, F2 2026-10-03 (rating 5), F3 2025-11-02.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

import polars as pl
import pytest

from analytics import i18n, metrics, series
from analytics.pages import meeting
from analytics.filters import Filters
from analytics.meeting import deck as D
from analytics.meeting import facts as F
from analytics.meeting import notes
from analytics.risk import scores
from tests import fixture_db

AS_OF = fixture_db.AS_OF


def sel(**kw) -> metrics.Selection:
    th = kw.pop("thresholds", metrics.Thresholds())
    return metrics.Selection(Filters(**kw), as_of=AS_OF, thresholds=th)


@pytest.mark.parametrize("preset,period,expected", [
    ("week", "all", ("all", date(2026, 11, 15))),
    ("month", "all", ("all", date(2026, 10, 25))),       # four weeks: still a Sunday
    ("quarter", "all", ("all", date(2026, 8, 23))),      # thirteen weeks
    ("week", "2026-11", ("2026-11", date(2026, 11, 15))),
    ("month", "2026-10", ("2026-09", date(2026, 9, 30))),  # the period before (metrics.previous)
    ("quarter", "2026-Q3", ("2026-Q2", date(2026, 6, 30))),
])
def test_comparison_follows_the_preset(preset, period, expected):
    filters, as_of = F.comparison(preset, Filters(period=period), AS_OF)
    assert (filters.period, as_of) == expected


def test_an_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="preset"):
        F.comparison("year", Filters(), AS_OF)


def test_weekly_narratives_match_the_hand_counted_numbers(fixture_con):
    f = F.build(fixture_con, sel(), "week")
    zh = D.build(f, "zh", "当前筛选：全部数据", 1)
    assert zh.slide("attention").narrative == \
        "本周红灯事项 1 项，与上周持平；其中新转红 0 项，由绿转黄 1 项，主要集中在北京市（1 项）。"
    assert zh.slide("rectification").narrative == (
        "整改完成率 50.0%（目标 ≥ 95.0%，未达标）；逾期未销号 1 项，与上周持平；"
        "自上次会议（2026年11月15日）以来新发现 0 项、销号 0 项。")
    assert zh.slide("feedback").narrative == (
        "自上次会议（2026年11月15日）以来没有收到新的反馈；满意率 33.3%（目标 ≥ 90.0%），按时答复率 100.0%。")
    overview = zh.slide("overview").narrative
    assert overview.startswith("截至2026年11月22日，在办事项 3 项；红灯占比 50.0%（较上周 +0.0 个百分点）")
    assert f"执行综合指数 {f.total['index']:.1f}" in overview
    en = D.build(f, "en", "Filters: all data", 1)
    assert en.slide("attention").narrative == ("This week, red items: 1, the same as last week; newly red: 0; "
                                                "turned from green to yellow: 1; most are in Beijing (1).")
    # the rows: B1 red (red last week too), then A1 green → yellow
    table = zh.slide("attention").tables[0]
    assert table.item_ids == ("B1", "A1")
    assert [r[3:5] for r in table.rows] == [("● 红灯", "● 红灯"), ("◐ 黄灯", "○ 绿灯")]
    assert zh.slide("rectification").tables[0].rows == (
        ("R1", "施工进度滞后于计划", "住房和城乡建设局", "朝阳区", "2026-08-15", "99", ""),)


def test_quarterly_narratives_compare_with_thirteen_weeks_back(fixture_con):
    f = F.build(fixture_con, sel(), "quarter")
    zh = D.build(f, "zh", "", 1)
    assert zh.slide("attention").narrative == \
        "本季度红灯事项 1 项，较上季度增加 1 项；其中新转红 1 项，由绿转黄 1 项，主要集中在北京市（1 项）。"
    assert zh.slide("feedback").narrative == (
        "自上次会议（2026年8月23日）以来收到反馈 1 条，其中投诉 0 条；满意率 33.3%（目标 ≥ 90.0%），按时答复率 100.0%。")
    assert zh.slide("attention").tables[0].rows[0][-1] == "新转红"
    assert zh.slide("feedback").tables[0].rows == (("服务评价", "1", "0", "5.00 / 5"),)


def test_cards_say_better_or_worse_in_words_not_colour_alone(fixture_con):
    f = F.build(fixture_con, sel(), "quarter")
    cards = {c.label: c for c in D.build(f, "zh", "", 1).slide("overview").cards}
    assert cards["红灯占比"].change == "▲ +50.0 个百分点 变差" and cards["红灯占比"].tone == "worse"
    assert cards["满意率"].change == "▲ +33.3 个百分点 好转"  # 0 of 2 rated satisfied on 08-23, 1 of 3 now
    assert "× 未达标" in cards["满意率"].note and "n = 3" in cards["满意率"].note


def test_kpis_and_charts_equal_the_metrics_functions(fixture_con):
    s = sel(thresholds=metrics.Thresholds(min_n=1))  # both provinces with items in flight get ranked
    f = F.build(fixture_con, s, "week")
    total, children = metrics.summarise(fixture_con, s, "province")
    assert f.total == total
    for k in f.kpis:
        assert k.value == total[k.metric.key]
    d = D.build(f, "en", "", 1, min_n=1)
    ranked = metrics.region_table(fixture_con, s, "province").filter(pl.col("rank").is_not_null()).sort("rank")
    chart = d.slide("regions").charts[0]
    assert ranked.height == 2
    assert chart.categories == tuple(i18n.glossary("province", n, "en") for n in ranked["name"])
    assert list(chart.series[0][1]) == ranked["index"].to_list()
    red = d.slide("attention").charts[0]
    assert red.categories == ("Beijing",) and red.series[0][1] == (1.0,)
    trend = series.metric_series(fixture_con, s, "red_share", "week", F.SERIES_PERIODS)
    overview = d.slide("overview").charts[0]
    assert overview.categories == tuple(i18n.fmt_period_short(p, "en") for p in trend["period"])  # not "2026-W47"
    assert list(overview.series[0][1]) == trend["value"].to_list()
    rect = d.slide("rectification").charts[0]
    assert dict(zip(rect.categories, rect.series[0][1]))["overdue"] == total["rect_overdue"] == 1


def test_an_empty_selection_says_so(fixture_con):
    f = F.build(fixture_con, sel(region_code="410000"), "week")  # 河南: only C1, not started
    d = D.build(f, "zh", "", 1)
    assert f.is_empty and len(d.slides) == 1 and d.slides[0].empty


def _scores(path, version: int, as_of: date, high: dict[str, str]) -> None:
    out = scores.path_for(path, version)
    out.parent.mkdir(parents=True, exist_ok=True)
    pl.DataFrame({"project_id": list(high), "probability": [0.8 if b == "high" else 0.1 for b in high.values()],
                  "band": list(high.values()),
                  "top_reasons": [[{"feature": "progress_gap", "value": "15.0", "effect": 0.1}]] * len(high),
                  "data_version": [version] * len(high), "as_of": [as_of] * len(high)}).write_parquet(out)


def test_risk_flags_new_since_the_last_meeting(fixture_con, tmp_path):
    db = tmp_path / "x.duckdb"
    _scores(db, 2, AS_OF, {"A1": "high", "B1": "high", "A3": "low"})
    lights = F.queries.run(fixture_con, "item_lights", Filters(), as_of=AS_OF, **metrics.Thresholds().params())
    r = F.risk_facts(fixture_con, sel(), lights, "province", str(db), 2, date(2026, 11, 15), AS_OF)
    assert r.new_ids is None and set(r.high["project_id"]) == {"A1", "B1"}  # no earlier scores: say so
    f = replace(F.build(fixture_con, sel(), "week"), risk=r)
    assert "无法区分哪些是上次会议以来新增的" in D.build(f, "zh", "", 1).slide("risk").narrative
    _scores(db, 1, date(2026, 11, 1), {"A1": "low", "B1": "high"})
    r = F.risk_facts(fixture_con, sel(), lights, "province", str(db), 2, date(2026, 11, 15), AS_OF)
    assert r.new_ids == frozenset({"A1"}) and r.earlier_as_of == date(2026, 11, 1)
    assert dict(r.by_region.select("name", "n_high").iter_rows()) == {"安徽省": 1, "北京市": 1}
    slide = D.build(replace(f, risk=r), "zh", "", 1).slide("risk")
    assert slide.narrative == ("模型判为高风险的在办事项 2 项，其中自上次会议（2026年11月15日）以来新增 1 项"
                               "（与 2026年11月1日 的评分相比）；1 项目前尚未亮红灯。")
    assert slide.tables[0].item_ids == ("A1", "B1")  # the new one first
    # scores made on data newer than the meeting are not shown as if known then
    assert F.risk_facts(fixture_con, sel(), lights, None, str(db), 2, date(2026, 10, 1), date(2026, 10, 8)) \
        == "scores_after"


def test_notes_are_saved_with_who_and_when_and_shown_at_the_next_meeting(tmp_path):
    db = tmp_path / "x.duckdb"
    f = Filters(region_code="340000")
    first = date(2026, 11, 15)
    notes.save_note(db, "week", f, first, 1, "overview", "  请农业农村局下周报进度  ", "王科长",
                    now=datetime(2026, 11, 16, 9, 30))
    notes.save_note(db, "week", f, first, 1, "risk", "x", "王科长")
    notes.save_note(db, "week", f, first, 1, "risk", "", "王科长")  # emptied: removed
    saved = notes.meeting(db, "week", f, first)
    assert saved.notes["overview"].text == "请农业农村局下周报进度"
    assert (saved.notes["overview"].saved_by, saved.notes["overview"].saved_at) == ("王科长", "2026-11-16T09:30:00")
    assert "risk" not in saved.notes
    later = notes.previous_meeting(db, "week", replace(f, period="2026-11"), date(2026, 11, 22))  # period ignored
    assert later.as_of == first and later.notes["overview"].text == "请农业农村局下周报进度"
    assert notes.previous_meeting(db, "month", f, date(2026, 11, 22)) is None  # another series
    assert notes.previous_meeting(db, "week", Filters(), date(2026, 11, 22)) is None
    assert notes.previous_meeting(db, "week", f, first) is None  # not earlier than itself


def test_the_deck_carries_the_notes_of_this_and_the_last_meeting(fixture_con, tmp_path):
    db = tmp_path / "x.duckdb"
    notes.save_note(db, "week", Filters(), date(2026, 11, 15), 1, "attention", "B1 限期两周", "presenter")
    frozen = meeting.page(fixture_con, sel(), metrics.DEFAULT_WEIGHTS, "week", str(db), 1)
    d = frozen.deck("zh", str(db), 10)
    assert d.slide("attention").previous_note.text == "B1 限期两周" and d.previous_meeting == date(2026, 11, 15)
    decisions = d.slide("decisions")
    assert decisions.tables[0].rows[0][:3] == ("红灯与变差事项", "B1 限期两周", "presenter")
    assert decisions.narrative.startswith("上次会议（2026年11月15日）记录了 1 条备注")


def _number(text: str) -> str:
    """The signed number of a printed change ("▲ +1.1 个百分点 变差" → "+1.1")."""
    import re

    return re.search(r"[+-][\d,.]+", text).group(0)


@pytest.mark.parametrize("as_of, region, preset", [
    (date(2026, 11, 22), None, "week"), (date(2026, 11, 22), "340000", "month"), (date(2026, 11, 15), None, "quarter"),
    (date(2026, 10, 31), "440000", "week"), (date(2026, 9, 30), None, "month"), (date(2026, 11, 22), "110000", "quarter"),
])
def test_every_narrative_says_what_its_slide_shows(demo_small_path, as_of, region, preset):
    """Issue 17, point 1: the overview said "3 improved, 4 worse" beside cards showing 0 better, 3 worse, 5 flat (it
    counted raw changes, the cards the changes as printed). Each narrative is held to its slide's cards, on a
    realistic history, for several dates, scopes and presets, in both languages."""
    import re

    from analytics.db import store

    con = store.connect(demo_small_path, read_only=True)
    try:
        f = F.build(con, metrics.Selection(Filters(region_code=region), as_of=as_of), preset)
    finally:
        con.close()
    for lang in ("zh", "en"):
        d = D.build(f, lang, "", 1)
        s = d.slide("overview")
        cards = {c.label: c for c in s.cards}
        better, worse = sum(c.tone == "better" for c in s.cards), sum(c.tone == "worse" for c in s.cards)
        said = (re.search(r"(\d+) 项主要指标中 (\d+) 项好转、(\d+) 项变差", s.narrative) if lang == "zh" else
                re.search(r"Of (\d+) headline metrics, (\d+) improved and (\d+) got worse", s.narrative))
        assert said and tuple(map(int, said.groups())) == (len(s.cards), better, worse), (s.narrative, s.cards)
        for key in ("red_share", "index"):
            c = cards[metrics.BY_KEY[key].label(lang)]
            assert c.value in s.narrative, (key, c.value, s.narrative)
            if c.tone != "flat" or "+0" in c.change or "-0" in c.change:
                assert _number(c.change) in s.narrative, (key, c.change, s.narrative)
        # issue 21: what the red share's change came from, its parts adding up to the red share card's change
        red = cards[metrics.BY_KEY["red_share"].label(lang)]
        opener = "红灯占比的变化来自：" if lang == "zh" else "The red share's change came from: "
        if opener in s.narrative:
            parts = s.narrative.split(opener, 1)[1].split("。变化最大的地区" if lang == "zh" else ". Regions")[0]
            numbers = [float(x) for x in re.findall(r" ([+-]\d+\.\d)(?=；|; |。|\.$|$)", parts)]
            assert numbers and round(sum(numbers), 1) == float(_number(red.change)), (parts, red.change)
        else:
            assert float(_number(red.change)) == 0, (red.change, s.narrative)
        a = d.slide("attention")
        by = {c.label: c.value for c in a.cards}
        for label in (D.t("card_new_red", lang), D.t("card_worse", lang)):
            assert re.search(rf"(?<![\d,]){re.escape(by[label])}(?![\d,])", a.narrative), (label, by, a.narrative)


def test_every_change_on_a_card_says_what_it_compares_with(fixture_con):
    """Issue 17, point 2: a change names its comparison in words and a date, on the meeting's cards as on the
    cockpit's (metrics.comparison_text)."""
    f = F.build(fixture_con, sel(), "week")
    for lang, words in (("zh", "较上周（2026年11月15日）"), ("en", "vs last week (15 Nov 2026)")):
        d = D.build(f, lang, "", 1)
        changed = [c for s in d.slides for c in s.cards if c.change[:1] in ("▲", "▼", "＝")]
        assert changed and all(words in c.note for c in changed), [(c.label, c.note) for c in changed]


@pytest.mark.parametrize("period, lang, expected", [
    ("all", "zh", "较 2026年10月25日（4 周前）"), ("all", "en", "vs 25 Oct 2026 (4 weeks earlier)"),
    ("2026-10", "zh", "较 2026年9月（上期，截至 2026年9月30日）"), ("2026-Q3", "en", "vs Q2 2026 (the period before, to 30 Jun 2026)"),
])
def test_the_cockpits_comparison_in_words_and_dates(period, lang, expected):
    assert metrics.comparison_text(Filters(period=period), AS_OF, lang) == expected


def test_a_ranking_table_shows_the_worst_in_full(demo_small_path):
    """Issue 17, point 4: the 后五 list showed ranks 27–29 and left the two worst to "另有 2 行见 PDF"."""
    from analytics.db import store

    con = store.connect(demo_small_path, read_only=True)
    try:
        f = F.build(con, metrics.Selection(as_of=date(2026, 11, 22)), "week")
    finally:
        con.close()
    ranked = f.league.filter(pl.col("rank").is_not_null())
    assert ranked.height > D.SHOWN
    table = D.build(f, "zh", "", 1).slide("regions").tables[0]
    shown = [int(r[0]) for r in table.rows[:table.shown]]
    assert len(table.rows) <= table.shown  # nothing left to another page
    assert shown[-1] == ranked["rank"].max() and shown[0] == 1


def test_a_period_cut_short_by_the_as_of_date_says_so(fixture_con):
    """Issue 17, point 5: a period of a few days was plotted as a whole one. The meeting's monthly chart ends with
    November cut at the 22nd and labels it; the trends page's figure draws it hollow, dotted and labelled."""
    from analytics.pages import trends

    f = F.build(fixture_con, sel(), "month")
    chart = D.build(f, "zh", "", 1).slide("overview").charts[0]
    # the year once, on the first month (eight "2026年…月" labels overlapped on a slide)
    assert chart.categories[0].startswith("2026年") and chart.categories[-1] == "11月（截至11月22日）"
    assert not any("截至" in c for c in chart.categories[:-1])
    data = trends.page(fixture_con, sel(), metric="red_share", grain="month")
    assert data.lines["is_partial"].to_list()[-1] and not any(data.lines["is_partial"].to_list()[:-1])
    fig = trends.metric_figure(data, {None: "全国"}, "en", 10)
    tail = next(t for t in fig.data if t.mode == "lines+markers+text")
    assert tail.line.dash == "dot" and tail.marker.symbol[-1] == "circle-open" and tail.text[-1].endswith("(to 22 Nov)")
    main = next(t for t in fig.data if t.mode == "lines+markers")
    assert str(main.x[-1]) < "2026-11-22"  # the full line stops at the last whole month


def test_risk_slide_gives_each_flag_its_80_percent_date(fixture_con, tmp_path):
    """Issue 21: the meeting's risk table carries the same 80 % finish date as the risk page ("—" without one)."""
    db = tmp_path / "x.duckdb"
    _scores(db, 2, AS_OF, {"A1": "high", "B1": "high"})
    out = scores.path_for(db, 2)
    pl.read_parquet(out).with_columns(
        pl.Series("p80_date", [date(2027, 3, 31), None], dtype=pl.Date),
        pl.Series("p80_beyond", [False, None], dtype=pl.Boolean)).write_parquet(out)
    lights = F.queries.run(fixture_con, "item_lights", Filters(), as_of=AS_OF, **metrics.Thresholds().params())
    r = F.risk_facts(fixture_con, sel(), lights, "province", str(db), 2, date(2026, 11, 15), AS_OF)
    f = replace(F.build(fixture_con, sel(), "week"), risk=r)
    for lang, col, when in (("zh", "八成把握完成", "2027年3月31日"), ("en", "80 % sure done by", "31 Mar 2027")):
        table = D.build(f, lang, "", 1).slide("risk").tables[0]
        i = table.columns.index(col)
        assert dict(zip(table.item_ids, (row[i] for row in table.rows))) == {"A1": when, "B1": "—"}


def test_a_weekly_line_in_a_slide_names_every_other_week_and_writes_only_the_last_highest_and_lowest_values():
    """Eight weekly labels and eight values ran into each other in the slide's narrow column at 1280×720."""
    from analytics.figures import meeting as meeting_figures
    from analytics.meeting.model import Chart

    weeks = tuple(f"第{w}周" for w in range(42, 49)) + ("第49周（截至12月4日）",)
    values = (0.078, 0.075, 0.084, 0.078, 0.070, 0.068, 0.067, 0.077)
    fig = meeting_figures.figure(Chart("line", "红灯占比（按周）", weeks, (("红灯占比", values),), unit="share"))
    written = [t for t in fig.data[0].text if t]
    assert written == ["8.4%", "6.7%", "7.7%"]  # the highest, the lowest and the last, in order
    shown = [t for t in fig.layout.xaxis.ticktext if t]
    assert shown == ["第43周", "第45周", "第47周", "第49周<br>（截至12月4日）"]
    few = meeting_figures.figure(Chart("line", "t", weeks[:4], (("s", values[:4]),), unit="share"))
    assert all(few.data[0].text) and few.layout.xaxis.ticktext is None  # four fit: all written and named
