"""The monthly 督办台账 as offices keep it (analytics/ingest/ledger.py): read as written, matched month after month,
one data version per ledger; bad cells are named by row and column and change nothing."""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from analytics.db import store, versions
from analytics.ingest import ledger, pipeline
from analytics.ingest.problems import UploadError
from tests.ledger_book import HEADER, book

HOME = "340200"  # 芜湖市


@pytest.mark.parametrize("text, expected, kept", [
    ("2026年12月底", date(2026, 12, 31), "2026年12月底"),
    ("2026年10月31日", date(2026, 10, 31), None),
    ("2026.12.31", date(2026, 12, 31), None),
    ("2026-12-31", date(2026, 12, 31), None),
    ("2026-12-31 00:00:00", date(2026, 12, 31), None),  # a date cell, as calamine reads it
    ("46387", date(2026, 12, 31), None),                # an Excel serial
    ("年底前", date(2026, 12, 31), "年底前"),
    ("2026年第四季度", date(2026, 12, 31), "2026年第四季度"),
    ("2027年第一季度", date(2027, 3, 31), "2027年第一季度"),
    ("9月底前", date(2026, 9, 30), "9月底前"),
    ("2026年上半年", date(2026, 6, 30), "2026年上半年"),
    ("长期坚持", None, "长期坚持"),
    ("持续推进", None, "持续推进"),
])
def test_deadlines_as_ledgers_write_them(text, expected, kept):
    d = ledger.parse_deadline(text, 2026)
    assert d.ok and d.when == expected and d.text == kept


@pytest.mark.parametrize("text", ["尽快", "2026年13月底", "下周", "2026-02-30"])
def test_a_deadline_that_cannot_be_read_is_not_guessed(text):
    assert not ledger.parse_deadline(text, 2026).ok


@pytest.mark.parametrize("value, percent_cell, expected", [
    ("65%", False, 65.0), ("65％", False, 65.0), ("65", False, 65.0), ("0.65", True, 65.0), ("1", True, 100.0),
    ("0.5", False, 0.5), (None, False, None), ("", False, None)])
def test_progress_as_text_number_or_percent_cell(value, percent_cell, expected):
    assert ledger.parse_progress(value, percent_cell) == (expected, True)


def test_status_words_keep_the_reported_state():
    assert ledger.parse_status("已办结") == ("completed", None, True)
    assert ledger.parse_status("序时推进") == ("in_progress", "green", True)
    assert ledger.parse_status("正在推进") == ("in_progress", "green", True)  # not reported as lagging
    assert ledger.parse_status("滞后") == ("in_progress", "red", True)  # what the analyses compare against
    assert ledger.parse_status("未启动") == ("not_started", None, True)
    assert ledger.parse_status("差不多") == (None, None, False)


def test_section_rows_name_their_group():
    assert ledger.section_name("一、稳增长促发展（14项）") == "稳增长促发展"
    assert ledger.section_name("（二）城市更新(3项)") == "城市更新"
    assert ledger.section_name("推进重点项目建设") is None


def test_a_small_rename_is_recognised_and_another_department_is_another_item():
    assert ledger.similarity("推进老旧小区改造", "加快推进老旧小区改造") >= ledger.RENAME_AT
    assert ledger.similarity("推进老旧小区改造", "建设保障性租赁住房") < ledger.RENAME_AT


def _db(tmp_path):
    path = tmp_path / "wuhu.duckdb"
    store.init(path, HOME, date(2026, 8, 1), "test")
    return path


def _ingest(path, data: bytes, name="ledger.xlsx", **kw):
    con = store.connect(path)
    try:
        up = pipeline.read(data, name)
        assert up.ledger is not None
        read = ledger.read(con, up.ledger, name, up.sha256, HOME, **kw)
        if read.errors:
            return read, None
        out = versions.commit(con, ledger.to_changes(read), who="test", file_name=name, sha256=up.sha256,
                              as_of=read.as_of, db_path=str(path), retrain=False)
        return read, out
    finally:
        con.close()


SEPT = {"一、稳增长促发展": [
    ("推进老旧小区改造", "市住房城乡建设局", "市财政局、市自然资源和规划局", "镜湖区", "张明远", "2026年12月底", "40%", "正在推进", "已完成设计"),
    ("招商引资", "市商务局", "市投资促进中心，市财政局", None, "李卫国", date(2026, 9, 15), ("pct", 0.6), "滞后", "落后于计划"),
], "二、民生保障": [
    ("稳外贸", "市商务局", None, "无为市", "李卫国", "长期坚持", 50, "序时推进", None),
    ("新建学校", "市教育局", None, None, "赵敏", "2026年第四季度", None, "未启动", None),
]}


def test_a_ledger_becomes_items_and_reports_and_the_same_item_is_found_next_month(tmp_path):
    path = _db(tmp_path)
    read, out = _ingest(path, book(SEPT, title="2026年芜湖市政府重点工作督办台账（截至9月底）", meta=None))
    assert out.status == "committed" and out.version == 1
    assert read.as_of == date(2026, 9, 30) and read.as_of_from == "title"
    assert read.sections == {"稳增长促发展": 2, "民生保障": 2} and read.footer_rows == 2
    con = store.connect(path, read_only=True)
    items = con.sql("SELECT * FROM projects ORDER BY name").pl()
    reports = con.sql("SELECT * FROM progress_reports").pl()
    con.close()
    assert items.height == 4 and reports.height == 4 and set(reports["report_date"]) == {date(2026, 9, 30)}
    by = {r["name"]: r for r in items.iter_rows(named=True)}
    assert by["推进老旧小区改造"]["region_code"] == "340202" and by["新建学校"]["region_code"] == HOME
    assert by["推进老旧小区改造"]["co_depts"] == ["市财政局", "市自然资源和规划局"]
    assert by["稳外贸"]["planned_end_date"] is None and by["稳外贸"]["deadline_text"] == "长期坚持"
    assert by["招商引资"]["planned_end_date"] == date(2026, 9, 15) and by["招商引资"]["domain"] == "稳增长促发展"
    assert by["新建学校"]["status"] == "not_started" and by["新建学校"]["planned_end_date"] == date(2026, 12, 31)
    progress = dict(zip(reports["project_id"], reports["actual_progress_pct"]))
    assert progress[by["招商引资"]["project_id"]] == 60.0  # 0.6 in a percent cell
    assert dict(zip(reports["project_id"], reports["rag"]))[by["招商引资"]["project_id"]] == "red"

    october = {"一、稳增长促发展": [
        ("加快推进老旧小区改造", "市住房城乡建设局", "市财政局", "镜湖区", "张明远", "2026年12月底", "70%", "正在推进", "过半"),
        ("招商引资", "市商务局", None, None, "李卫国", date(2026, 9, 15), "100%", "已办结", "完成"),
    ], "二、民生保障": [("新建学校", "市教育局", None, None, "赵敏", "2026年第四季度", "10%", "正在推进", "开工")]}
    data = book(october)
    read, out = _ingest(path, data)
    assert out.status == "committed" and out.version == 2 and read.as_of == date(2026, 10, 31)
    assert read.count("matched") == 2 and read.count("renamed") == 1 and read.count("new") == 0
    renamed = next(m for m in read.matches if m.how == "renamed")
    assert renamed.old_name == "推进老旧小区改造" and renamed.project_id == by["推进老旧小区改造"]["project_id"]
    assert read.missing["name"].to_list() == ["稳外贸"]  # listed, not deleted
    con = store.connect(path, read_only=True)
    items = {r["name"]: r for r in con.sql("SELECT * FROM projects").pl().iter_rows(named=True)}
    n_reports = con.sql("SELECT count(*) FROM progress_reports").fetchall()[0][0]
    con.close()
    assert set(items) == {"加快推进老旧小区改造", "招商引资", "稳外贸", "新建学校"}
    assert items["招商引资"]["status"] == "completed" and items["招商引资"]["actual_end_date"] == date(2026, 10, 31)
    assert n_reports == 7

    # the same ledger again changes nothing; so does the same content in another file
    _, again = _ingest(path, data)
    assert again.status == "same_file"
    _, again = _ingest(path, data + b"", name="copy.xlsx")
    assert again.status in ("same_file", "unchanged")

    # the steward says the close name is another item: it is loaded as a new one
    (tmp_path / "x").mkdir()
    split_db = _db(tmp_path / "x")
    _ingest(split_db, book(SEPT, title="2026年芜湖市政府重点工作督办台账（截至9月底）", meta=None))
    read, out = _ingest(split_db, data, splits=frozenset({"加快推进老旧小区改造"}))
    assert read.count("renamed") == 0 and read.count("split") == 1 and out.status == "committed"


def test_bad_cells_are_named_by_row_and_column_and_nothing_is_written(tmp_path):
    path = _db(tmp_path)
    rows = {"一、稳增长促发展": [
        ("推进老旧小区改造", "市住房城乡建设局", None, "朝阳区", "张明远", "尽快", "140%", "正在推进", None),
        ("推进老旧小区改造", "市住房城乡建设局", None, "朝阳区", "张明远", "2026年12月底", "40%", "差不多", None),
        ("招商引资", None, None, None, None, "年底前", "10", "正在推进", None),
    ]}
    read, out = _ingest(path, book(rows))
    assert out is None
    p = {(r["row"], r["column"], r["rule"]) for r in read.problems.iter_rows(named=True)}
    # rows 1–3 are the title, the 填报单位 row and the header; row 4 the section; items from row 5
    assert (5, "planned_end_date", "ledger_deadline") in p
    assert (5, "actual_progress_pct", "range") in p
    assert (5, "region_code", "ledger_district") in p and (6, "region_code", "ledger_district") in p
    assert (6, "status", "choice") in p
    assert (7, "lead_dept", "required") in p
    deadline = read.problems.filter(pl.col("rule") == "ledger_deadline").row(0, named=True)
    assert deadline["value"] == "尽快" and deadline["header"] == "完成时限"
    with pytest.raises(UploadError) as e:
        ledger.to_changes(read)
    assert e.value.code == "rejected"
    con = store.connect(path, read_only=True)
    assert con.sql("SELECT count(*) FROM projects").fetchall() == [(0,)]
    assert store.current_version(con)[0] == 0
    con.close()


def test_the_same_item_twice_is_an_error_on_the_second_row(tmp_path):
    path = _db(tmp_path)
    row = ("推进老旧小区改造", "市住房城乡建设局", None, None, "张明远", "2026年12月底", "40%", "正在推进", None)
    read, out = _ingest(path, book({"一、城市建设": [row, row]}))
    assert out is None
    problem = read.problems.filter(pl.col("rule") == "ledger_same_item").row(0, named=True)
    assert problem["row"] == 6 and problem["detail"] == "5"


def test_a_ledger_without_a_date_asks_for_one(tmp_path):
    path = _db(tmp_path)
    data = book(SEPT, title="芜湖市政府重点工作督办台账", meta=None)
    with pytest.raises(UploadError) as e:
        _ingest(path, data)
    assert e.value.code == "ledger_no_date" and "--as-of" in e.value.message("en")
    read, out = _ingest(path, data, as_of=date(2026, 9, 30))
    assert out.status == "committed" and read.as_of_from == "option"


@pytest.mark.parametrize("start, deadline, when, expected", [
    (date(2026, 1, 1), date(2026, 12, 31), date(2026, 10, 31), round(100 * 303 / 364, 1)),
    (date(2026, 1, 1), date(2026, 12, 31), date(2025, 12, 31), 0.0),     # before the start
    (date(2026, 1, 1), date(2026, 6, 30), date(2026, 10, 31), 100.0),    # past the deadline
    (None, date(2026, 12, 31), date(2026, 10, 31), None),                # no start given
    (date(2026, 1, 1), None, date(2026, 10, 31), None),                  # 长期坚持
])
def test_planned_progress_is_the_elapsed_share_of_start_to_deadline(start, deadline, when, expected):
    assert ledger.elapsed_pct(start, deadline, when) == expected


def test_where_a_ledger_gives_a_start_date_items_are_lit_by_progress_against_elapsed_time(tmp_path):
    from analytics.db import queries
    from analytics.filters import Filters
    from analytics.metrics import Thresholds
    path = _db(tmp_path)
    header = (*HEADER[:6], "开始时间", *HEADER[6:])
    rows = {"一、城市更新": [
        # 2026-01-01 → 2026-12-31 at 31 Oct: 83.2% of the time gone by
        ("老旧小区改造", "市住房城乡建设局", None, None, None, date(2026, 1, 1), date(2026, 12, 31), "80%", "正在推进", None),
        ("雨污分流", "市城管局", None, None, None, date(2026, 1, 1), date(2026, 12, 31), "70%", "正在推进", None),
        ("口袋公园", "市园林局", None, None, None, date(2026, 1, 1), date(2026, 12, 31), "50%", "序时推进", None),
        ("背街小巷", "市城管局", None, None, None, None, date(2026, 12, 31), "50%", "正在推进", None),  # no start
        ("社区食堂", "市民政局", None, None, None, date(2026, 1, 1), "长期坚持", "50%", "正在推进", None),
    ]}
    read, out = _ingest(path, book(rows, header=header))
    assert out is not None and out.status == "committed", read.problems
    con = store.connect(path, read_only=True)
    reports = {r["name"]: r for r in con.sql(
        "SELECT p.name, r.* FROM progress_reports r JOIN projects p USING (project_id)").pl().iter_rows(named=True)}
    assert reports["老旧小区改造"]["planned_progress_pct"] == 83.2
    assert reports["老旧小区改造"]["planned_basis"] == "elapsed"
    assert reports["背街小巷"]["planned_progress_pct"] is None and reports["背街小巷"]["planned_basis"] is None
    assert reports["社区食堂"]["planned_progress_pct"] is None
    th = Thresholds()
    lights = {}
    for use_marts in (True, False):  # the snapshot mart and the live rule agree
        got = queries.run(con, "item_lights", Filters(), as_of=date(2026, 10, 31), use_marts=use_marts, **th.params())
        lights[use_marts] = {r["name"]: (r["rule"], r["light"], r["lag_pp"]) for r in got.iter_rows(named=True)}
    con.close()
    assert lights[True] == lights[False]
    by = lights[True]
    assert by["老旧小区改造"][:2] == ("progress", "green")            # 3.2 pp behind the calendar
    assert by["雨污分流"][:2] == ("progress", "yellow")              # 13.2 pp behind
    assert by["口袋公园"][:2] == ("progress", "red")                 # 33.2 pp behind, though reported 序时推进
    assert round(by["口袋公园"][2], 1) == 33.2
    assert by["背街小巷"][:2] == ("rag", "green")                    # no start: the reported word lights it
    assert by["社区食堂"][:2] == ("rag", "green")                    # no dated deadline: no plan
