"""Uploads, from bytes to checked rows: formats, encodings, title rows, header synonyms and saved
mappings, value normalisation, every validation rule, and the preview against the fixture database.

The fixture (tests/fixture_db.py) holds items A1 A2 A3 B1 C1 N1 and six progress reports:
A1 2026-06-30/09-30/11-20, B1 2026-06-30/10-31, A2 2025-12-20.
"""
from __future__ import annotations

import io
from datetime import date, datetime

import polars as pl
import pytest

from analytics import contract
from analytics.db import mappings
from analytics.ingest import mapping, pipeline
from analytics.ingest.problems import UploadError
from tests.test_ingest_support import (PROGRESS_HEADER, PROJECT_HEADER, con, csv_bytes, db, october_changes,  # noqa: F401
                                       october_expected, seed_october_reports, xlsx_bytes, zip_bytes)

ROWS = [PROGRESS_HEADER,
        ["A1", "2026/11/21", "92", "80%", "黄", "按计划推进"],
        ["B1", "2026年11月21日", "100", "88", "红", ""],
        ["A1", "2026-06-30", "45", "41", "绿", None]]


def checked(con, data: bytes, name: str, **kw):
    up = pipeline.read(data, name, table=kw.pop("table", None))
    return up, pipeline.check(con, up, **kw)


def only(checks):
    assert len(checks) == 1
    return checks[0]


def rules(c) -> set[tuple[int | None, str, str]]:
    return {(r["row"], r["column"], r["rule"]) for r in c.problems.iter_rows(named=True)}


# ---- formats and encodings ---------------------------------------------------------------------------

@pytest.mark.parametrize("encoding,label", [("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 (BOM)"), ("gbk", "GB18030"),
                                            ("gb18030", "GB18030"), ("utf-16", "UTF-16")])
def test_csv_in_every_encoding_reads_the_same_rows(con, encoding, label):
    up, checks = checked(con, csv_bytes(ROWS, encoding), "进度.csv")
    c = only(checks)
    assert up.parts[0].sheet.encoding == label
    assert c.table == "progress_reports" and c.problems.filter(pl.col("severity") == "error").is_empty()
    assert c.frame.select("project_id", "report_date", "actual_progress_pct", "rag", "note").rows() == [
        ("A1", date(2026, 11, 21), 80.0, "amber", "按计划推进"),
        ("B1", date(2026, 11, 21), 88.0, "red", None),
        ("A1", date(2026, 6, 30), 41.0, "green", None)]
    assert c.frame["__row"].to_list() == [2, 3, 4]


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_tab_and_semicolon_separated_text(con, sep):
    c = only(checked(con, csv_bytes(ROWS, sep=sep), "进度.txt" if sep == "\t" else "进度.csv")[1])
    assert c.frame.height == 3 and c.problems.filter(pl.col("severity") == "error").is_empty()


def test_xlsx_title_rows_above_the_header_and_excel_row_numbers(con):
    rows = [PROGRESS_HEADER, ["A1", date(2026, 11, 21), 92, 80, "黄", None], ["B1", 46347, 100, 200, "红", None]]
    data = xlsx_bytes({"Sheet1": rows}, title="2026年11月督办事项进度汇总表", start_row=1)
    up, checks = checked(con, data, "汇总.xlsx", table="progress_reports")
    c = only(checks)
    # title in Excel row 2, blank row 3, header row 4: data rows are 5 and 6
    assert c.frame["__row"].to_list() == [5, 6]
    assert c.frame["report_date"].to_list() == [date(2026, 11, 21), date(2026, 11, 21)]  # a date cell; a serial
    assert rules(c) == {(6, "actual_progress_pct", "range")}


def test_workbook_sheets_are_tables_by_name_and_headers(con):
    projects = [PROJECT_HEADER, ["X9", "新事项", "营商环境", "合肥市", "市场监督管理局", "2026-01-01", "2026-12-31", "重点",
                                 "推进中", "1,200"]]
    progress = [PROGRESS_HEADER, ["X9", "2026-11-20", 50, 40, "绿", None]]
    data = xlsx_bytes({"说明": [["本表由市督查室汇编"]], "督办事项": projects, "Sheet3": progress})
    up, checks = checked(con, data, "周报.xlsx")
    assert [(p.sheet.name, p.table) for p in up.parts] == [("说明", None), ("督办事项", "projects"),
                                                          ("Sheet3", "progress_reports")]
    by = {c.table: c for c in checks}
    assert by["projects"].frame.row(0, named=True) | {} == {
        "__row": 2, "project_id": "X9", "name": "新事项", "domain": "营商环境", "region_code": "340100",
        "lead_dept": "市场监督管理局", "start_date": date(2026, 1, 1), "planned_end_date": date(2026, 12, 31),
        "priority": "key", "status": "in_progress", "budget_wan_yuan": 1200.0}
    # X9 exists only in this upload: the report refers to it and passes
    assert by["progress_reports"].problems.is_empty()


def test_choosing_one_sheet_leaves_the_others(con):
    data = xlsx_bytes({"a": ROWS, "b": ROWS})
    up = pipeline.read(data, "x.xlsx")
    checks = pipeline.check(con, up, tables={"a": None, "b": "progress_reports"})
    assert [c.sheet for c in checks] == ["b"]


def test_parquet_keeps_its_types(con):
    frame = pl.DataFrame({"project_id": ["A1"], "report_date": [date(2026, 11, 21)], "actual_progress_pct": [80.5],
                          "rag": ["amber"]})
    buf = io.BytesIO()
    frame.write_parquet(buf)
    c = only(checked(con, buf.getvalue(), "reports.parquet")[1])
    assert c.frame.select("project_id", "report_date", "actual_progress_pct", "rag").rows() == [
        ("A1", date(2026, 11, 21), 80.5, "amber")]
    assert c.frame["__row"].to_list() == [2]


def test_zip_of_several_tables(con):
    projects = csv_bytes([PROJECT_HEADER, ["X9", "新事项", "营商环境", "340100", "财政局", "2026-01-01", "2026-12-31",
                                           "一般", "未启动", ""]])
    data = zip_bytes({"projects.csv": projects, "进度.xlsx": xlsx_bytes({"进度": [PROGRESS_HEADER,
                                                                                ["X9", "2026-11-20", 1, 1, "绿", ""]]}),
                      "readme.md": b"notes"})
    up, checks = checked(con, data, "extract.zip")
    assert sorted(c.table for c in checks) == ["progress_reports", "projects"]
    assert up.skipped == ["readme.md"]
    assert all(c.problems.is_empty() for c in checks)


# ---- headers --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("header,column", [
    ("项目编号", "project_id"), ("督办事项编号", "project_id"), ("事项编号", "project_id"), ("item ID", "project_id"),
    ("责任单位", "lead_dept"), ("牵头单位", "lead_dept"), ("主责单位*", "lead_dept"),
    ("计划完成时间", "planned_end_date"), ("计划完成日期", "planned_end_date"), ("planned_end_date", "planned_end_date"),
    ("预算（万元）", "budget_wan_yuan"), ("预算(元)", "budget_wan_yuan"), ("ＰＲＩＯＲＩＴＹ", "priority"),
])
def test_header_synonyms(header, column):
    assert mapping.column_for(contract.PROJECTS, header) == column


def test_a_synonym_names_the_column_of_the_table_at_hand():
    assert mapping.column_for(contract.RECTIFICATIONS, "责任单位") == "responsible_dept"
    assert mapping.column_for(contract.MILESTONES, "里程碑") == "name"


def test_no_synonym_names_two_columns_of_one_table():
    for t in contract.TABLES:
        owners: dict[str, set[str]] = {}
        for c in t.columns:
            words = (c.name, c.zh, c.en, *contract.SYNONYMS.get(c.name, ()), *contract.TABLE_SYNONYMS.get((t.name, c.name), ()))
            for w in words:
                owners.setdefault(mapping.norm(w), set()).add(c.name)
        clashes = {w: cs for w, cs in owners.items() if len(cs) > 1}
        assert not clashes, (t.name, clashes)


def test_money_in_yuan_is_converted_to_wan_yuan_by_its_header(con):
    header = [h if h != "预算（万元）" else "预算（元）" for h in PROJECT_HEADER]
    data = csv_bytes([header, ["X9", "n", "d", "340100", "x", "2026-01-01", "2026-12-31", "", "", "1,234,000"]])
    c = only(checked(con, data, "p.csv", table="projects")[1])
    assert c.frame["budget_wan_yuan"].to_list() == [123.4]


def test_unknown_header_is_listed_and_a_saved_mapping_maps_it(con, db):  # noqa: F811
    rows = [["事项号", "填报日期", "实际进度", "自定义列"], ["A1", "2026-11-21", "80", "x"]]
    data = csv_bytes(rows)
    c = only(checked(con, data, "p.csv", table="progress_reports")[1])
    assert (None, "project_id", "missing_column") in rules(c) and c.blocked
    assert (None, "", "column_ignored") in rules(c)
    mappings.save(db, "区县周报", "progress_reports", {"事项号": "project_id", "自定义列": None}, "steward")
    assert mappings.saved_names(db) == ["区县周报"]
    table, saved = mappings.load(db, "区县周报")
    up = pipeline.read(data, "p.csv", table=table, saved=saved)
    c = only(pipeline.check(con, up, mappings={"p.csv": saved}))
    assert not c.blocked and c.problems.is_empty()
    assert c.frame.select("project_id", "actual_progress_pct").rows() == [("A1", 80.0)]


def test_duplicate_headers_block_the_table(con):
    data = csv_bytes([["项目编号", "督办事项编号", "填报日期"], ["A1", "A2", "2026-11-21"]])
    c = only(checked(con, data, "p.csv", table="progress_reports")[1])
    assert c.blocked and (None, "project_id", "duplicate_header") in rules(c)
    assert c.valid().is_empty()


# ---- values -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["2024-03-01", "2024/3/1", "2024年3月1日", "20240301", "45352", "2024.3.1",
                                  "２０２４－０３－０１", "2024-03-01 00:00:00"])
def test_date_spellings(con, text):
    data = csv_bytes([["项目编号", "填报日期"], ["A1", text]])
    c = only(checked(con, data, "p.csv", table="progress_reports")[1])
    assert c.frame["report_date"].to_list() == [date(2024, 3, 1)] and c.problems.is_empty()


@pytest.mark.parametrize("text", ["3/1/2024", "2024-02-30", "2024-13-01", "昨天", "999"])
def test_dates_that_are_not_guessed(con, text):
    data = csv_bytes([["项目编号", "填报日期"], ["A1", text]])
    c = only(checked(con, data, "p.csv", table="progress_reports")[1])
    assert rules(c) == {(2, "report_date", "date")}


@pytest.mark.parametrize("text,value", [("1,234.5", 1234.5), ("3500万", 3500.0), ("1.2亿", 12000.0),
                                        ("12000元", 1.2), ("¥800", 800.0), ("0", 0.0)])
def test_money_with_separators_and_units(con, text, value):
    data = csv_bytes([PROJECT_HEADER, ["X9", "n", "d", "340100", "x", "2026-01-01", "2026-12-31", "", "", text]])
    c = only(checked(con, data, "p.csv", table="projects")[1])
    assert c.frame["budget_wan_yuan"].to_list() == [value]


@pytest.mark.parametrize("text", ["1,5", "12.3.4", "一百"])
def test_numbers_that_are_not_guessed(con, text):
    data = csv_bytes([PROJECT_HEADER, ["X9", "n", "d", "340100", "x", "2026-01-01", "2026-12-31", "", "", text]])
    assert rules(only(checked(con, data, "p.csv", table="projects")[1])) == {(2, "budget_wan_yuan", "number")}


def test_booleans_enums_and_timestamps_in_either_language(con):
    rows = [["反馈编号", "接收时间", "渠道", "区划代码", "满意度", "是否投诉", "是否解决"],
            ["F9", "2026/11/1 9:30", "12345热线", "340100", "4", "是", "否"],
            ["F8", "2026-11-02 10:00:00", "survey", "合肥市", "5", "no", "yes"]]
    c = only(checked(con, csv_bytes(rows), "f.csv", table="feedback")[1])
    assert c.problems.is_empty()
    assert c.frame.select("received_at", "channel", "region_code", "satisfaction", "is_complaint",
                          "is_resolved").rows() == [
        (datetime(2026, 11, 1, 9, 30), "hotline_12345", "340100", 4, True, False),
        (datetime(2026, 11, 2, 10, 0), "survey", "340100", 5, False, True)]


@pytest.mark.parametrize("text,code", [("340100", "340100"), ("合肥市", "340100"), ("安徽省合肥市", "340100"),
                                       ("肥东县", "340122"), ("合肥市肥东县", "340122"), ("北京市朝阳区", "110105")])
def test_regions_by_code_or_name(con, text, code):
    data = csv_bytes([PROJECT_HEADER, ["X9", "n", "d", text, "x", "2026-01-01", "2026-12-31", "", "", ""]])
    assert only(checked(con, data, "p.csv", table="projects")[1]).frame["region_code"].to_list() == [code]


def test_an_ambiguous_region_is_reported_with_every_candidate_not_guessed(con):
    data = csv_bytes([PROJECT_HEADER, ["X9", "n", "d", "朝阳区", "x", "2026-01-01", "2026-12-31", "", "", ""]])
    c = only(checked(con, data, "p.csv", table="projects")[1])
    p = c.problems.row(0, named=True)
    assert (p["row"], p["rule"]) == (2, "region_ambiguous")
    assert "110105 北京市朝阳区" in p["detail"] and "220104" in p["detail"]
    assert c.valid().is_empty()


# ---- validation rules -------------------------------------------------------------------------------------

def test_every_rule_of_the_projects_table(con):
    rows = [PROJECT_HEADER + ["状态说明"],
            ["A1", "改名", "乡村振兴", "340102", "农业农村局", "2026-01-05", "2026-12-31", "重点", "推进中", "500", ""],  # ok
            ["", "无编号", "d", "340100", "x", "2026-01-01", "2026-12-31", "", "", "", ""],                    # 3 required
            ["X2", "n", "d", "999999", "x", "2026-01-01", "2026-12-31", "", "", "", ""],                      # 4 region
            ["X3", "n", "d", "340100", "x", "2026-05-01", "2026-01-01", "", "", "", ""],                      # 5 order
            ["X4", "n", "d", "340100", "x", "2026-01-01", "2026-12-31", "最高", "", "-5", ""],                 # 6 choice, range
            ["X5", "n", "d", "340100", "x", "2026-01-01", "2026-12-31", "", "已完成", "", ""],                 # 7 required when
            ["X6", "n", "d", "340100", "x", "2026-01-01", "2026-12-31", "", "", "", "x"],                     # 8 ok, ignored col
            ["X6", "n", "d", "340100", "x", "2026-01-01", "2026-12-31", "", "", "", ""]]                      # 9 dup key
    c = only(checked(con, csv_bytes(rows), "p.csv", table="projects")[1])
    assert rules(c) == {
        (None, "", "column_ignored"),
        (3, "project_id", "required"),
        (4, "region_code", "region_unknown"),
        (5, "start_date, planned_end_date", "order"),
        (6, "priority", "choice"), (6, "budget_wan_yuan", "range"),
        (7, "actual_end_date", "required_when"),
        (8, "project_id", "duplicate_key"), (9, "project_id", "duplicate_key"),
    }
    assert c.valid()["project_id"].to_list() == ["A1"]


def test_ranges_of_progress_and_satisfaction(con):
    progress = csv_bytes([["项目编号", "填报日期", "实际进度"], ["A1", "2026-11-21", "100.5"], ["A1", "2026-11-22", "-1"],
                          ["A1", "2026-11-23", "100"]])
    assert rules(only(checked(con, progress, "p.csv", table="progress_reports")[1])) == {
        (2, "actual_progress_pct", "range"), (3, "actual_progress_pct", "range")}
    feedback = csv_bytes([["反馈编号", "接收时间", "渠道", "区划代码", "满意度"], ["F9", "2026-11-01", "好差评", "340100", "6"],
                          ["F8", "2026-11-01", "好差评", "340100", "4.5"]])
    assert rules(only(checked(con, feedback, "f.csv", table="feedback")[1])) == {
        (2, "satisfaction", "range"), (3, "satisfaction", "integer")}


def test_references_to_items_must_exist(con):
    data = csv_bytes([["项目编号", "填报日期"], ["A1", "2026-11-21"], ["NOPE", "2026-11-21"]])
    c = only(checked(con, data, "p.csv", table="progress_reports")[1])
    assert rules(c) == {(3, "project_id", "reference")}


def test_messages_say_what_was_expected_in_both_languages(con):
    from analytics.ingest import report

    data = csv_bytes([["项目编号", "填报日期", "红黄绿评级"], ["A1", "3/1/2026", "紫"]])
    c = only(checked(con, data, "p.csv", table="progress_reports")[1])
    zh, en = report.readable(c.problems, "zh"), report.readable(c.problems, "en")
    assert zh.columns == ["级别", "数据表", "工作表/文件", "行号", "文件中的列", "规范字段", "单元格内容", "问题与要求"]
    assert set(zh["行号"]) == {2} and set(zh["单元格内容"]) == {"3/1/2026", "紫"}
    assert any("2024年3月1日" in p for p in zh["问题与要求"]) and any("红 / red" in p for p in zh["问题与要求"])
    assert any("Expected a date" in p for p in en["Problem and what is expected"])
    summary = report.summary(c.problems, "en")
    assert sorted(summary["Rule"]) == ["date format", "value not allowed"] and summary["Cells"].to_list() == [1, 1]


def test_the_report_downloads_as_xlsx_with_the_summary_above(con):
    from analytics import export
    from analytics.ingest import report

    data = csv_bytes([["项目编号", "填报日期", "备注"], ["A1", "bad", "=HYPERLINK(\"http://x\")"]])
    c = only(checked(con, data, "p.csv", table="progress_reports")[1])
    xlsx = report.to_xlsx(c.problems, "p.csv", "zh", date(2026, 11, 22), 1)
    meta_rows = 4 + 2 + report.summary(c.problems, "zh").height + 1  # title + 4 standard + file + one per rule
    back = export.read_back(xlsx, "xlsx", meta_rows)
    assert back.height == 2 and set(back["行号"].cast(pl.Int64)) == {2}
    assert "'=HYPERLINK(\"http://x\")" in back["单元格内容"].to_list()  # the formula guard of export.py


# ---- preview ------------------------------------------------------------------------------------------

def test_preview_counts_new_changed_unchanged_missing_with_before_and_after(con):
    c = only(checked(con, csv_bytes(ROWS), "p.csv")[1])
    changes = pipeline.to_changes([c], "upsert", valid_only=False)
    p = pipeline.preview(con, changes)["progress_reports"]
    # A1 and B1 on 11-21 are new; A1 06-30 has actual 41 (was 40) and a note; the other 5 reports are not in the file
    assert (p.rows_new, p.rows_changed, p.rows_unchanged, p.rows_missing, p.rows_removed) == (2, 1, 0, 5, 0)
    assert pipeline.changed_rows(con, changes[0]).select("row_key", "field", "before", "after").rows() == [
        ("A1 / 2026-06-30", "actual_progress_pct", "40.0", "41.0")]
    replace = pipeline.preview(con, pipeline.to_changes([c], "replace", valid_only=False))["progress_reports"]
    assert replace.rows_removed == 5


def test_an_upsert_lists_every_changed_row_before_and_after_and_its_csv_has_them_all(con):
    """Issue 17, point 16: the preview showed 20 changed rows; a steward must see every one of them."""
    from analytics import export
    from analytics.ingest import report

    seed_october_reports(con)
    changes = pipeline.to_changes([only(checked(con, october_changes(), "p.csv")[1])], "upsert", valid_only=False)
    p = pipeline.preview(con, changes)["progress_reports"]
    assert (p.rows_new, p.rows_changed, p.rows_unchanged, p.rows_missing) == (0, 30, 0, 6)
    every = pipeline.changed_rows(con, changes[0])
    # 30 rows, 40 fields: each row's actual progress, and every third row's note
    assert every.select("file_row", "row_key", "field", "before", "after").rows() == october_expected()
    first = pipeline.changed_rows(con, changes[0], limit=25)  # the first 25 changed rows, each with all its fields
    assert first.rows() == every.filter(pl.col("file_row") <= 26).rows() and first["row_key"].n_unique() == 25
    data = report.changes_csv(every, "progress_reports", "upsert", "p.csv", "ab" * 32, "zh", date(2026, 11, 22), 1)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with a byte-order mark: Excel reads the Chinese
    back = export.read_back(data, "csv", 1 + 4 + 3 + 1)  # title, the 4 standard rows, file, SHA-256, mode, a blank
    assert back.columns == ["行号", "主键", "规范字段", "原值", "新值"] and back.height == 40
    assert back.row(3) == ("4", "A1 / 2026-10-03", "备注 (note)", None, "复核")
    assert back.filter(pl.col("主键") == "A1 / 2026-10-30").rows() == [
        ("31", "A1 / 2026-10-30", "实际进度（%） (actual_progress_pct)", "70.0", "71.0"),
        ("31", "A1 / 2026-10-30", "备注 (note)", None, "复核")]


def test_the_stewards_guide_is_up_to_date():
    from pathlib import Path

    from analytics.ingest import guide

    doc = Path(__file__).resolve().parents[1] / "docs" / "uploads.md"
    assert doc.read_text(encoding="utf-8") == guide.markdown(), (
        "run: .venv/bin/python -c \"from analytics.ingest import guide; print(guide.markdown(), end='')\" "
        "> docs/uploads.md")


def test_percentages_that_excel_stored_as_fractions_are_pointed_out(con):
    data = xlsx_bytes({"进度": [PROGRESS_HEADER, ["A1", "2026-11-21", 0.9, 0.75, "黄", None]]})
    c = only(checked(con, data, "进度.xlsx")[1])
    notes = c.problems.filter(pl.col("rule") == "percent_fraction")
    assert set(notes["column"]) == {"planned_progress_pct", "actual_progress_pct"}
    assert set(notes["severity"]) == {"warning"} and c.valid().height == 1  # told, not changed


def test_a_header_that_names_nothing_known_can_still_be_mapped(con):
    data = csv_bytes([["事项号", "日期", "进度"], ["A1", "2026-11-21", "80"]])
    with pytest.raises(UploadError) as e:  # the CLI cannot guess
        pipeline.read(data, "p.csv")
    assert e.value.code == "no_header"
    up = pipeline.read(data, "p.csv", strict=False)  # the page offers the mapping screen
    assert (up.parts[0].header_index, up.parts[0].recognised, up.parts[0].table) == (0, False, None)
    c = only(pipeline.check(con, up, tables={"p.csv": "progress_reports"},
                            mappings={"p.csv": {"事项号": "project_id", "日期": "report_date", "进度": "actual_progress_pct"}}))
    assert c.problems.is_empty() and c.frame.row(0) == (2, "A1", date(2026, 11, 21), 80.0)


def test_the_steward_can_move_the_header_row(con):
    # a legend row that looks like a header comes first; the real header, in the steward's words, is row 2
    data = csv_bytes([["项目编号", "填报日期"], ["事项号", "日期", "计划进度", "实际进度"], ["A1", "2026-11-21", "1", "2"]])
    up = pipeline.read(data, "p.csv")
    assert up.parts[0].header_index == 0
    c = only(pipeline.check(con, up, header_rows={"p.csv": 1},
                            mappings={"p.csv": {"事项号": "project_id", "日期": "report_date"}}))
    assert c.problems.is_empty()
    assert c.frame["__row"].to_list() == [3] and c.frame["actual_progress_pct"].to_list() == [2.0]


def test_the_size_limit_is_a_setting(monkeypatch):
    from analytics.ingest import readers

    monkeypatch.setenv("COCKPIT_UPLOAD_MAX_MB", "1")
    monkeypatch.setenv("COCKPIT_UPLOAD_MAX_ROWS", "10")
    limits = readers.Limits.from_settings()
    assert (limits.max_bytes, limits.max_rows) == (1024 * 1024, 10)
    with pytest.raises(UploadError) as e:
        pipeline.read(b"project_id\n" + b"A1\n" * 600_000, "p.csv")
    assert e.value.code == "too_large"


def test_a_linked_row_of_a_region_outside_its_item_is_an_error_naming_both_codes(con):
    """Issue 22 (high, 1): feedback linked to an Anhui county item but recorded for a Beijing district is refused
    row by row; a row at the item's region or inside it, or linked to no item, loads."""
    header = ["反馈编号", "接收时间", "渠道", "区划代码", "事项编号", "满意度"]
    data = csv_bytes([header,
                      ["F9", "2026-11-01 09:00", "12345热线", "110105", "A1", "3"],   # A1 is in 340102
                      ["F10", "2026-11-01 10:00", "12345热线", "340102", "A1", "4"],
                      ["F11", "2026-11-01 11:00", "12345热线", "110105", "", "4"]])
    _, checks = checked(con, data, "反馈.csv", table="feedback")
    c = only(checks)
    bad = c.problems.filter(pl.col("rule") == "link_region")
    assert bad["row"].to_list() == [2] and bad["value"].to_list() == ["110105"]
    assert bad["detail"].to_list() == ["A1 (340102)"] and bad["header"].to_list() == ["区划代码"]
    assert sorted(c.valid()["feedback_id"].to_list()) == ["F10", "F11"]


@pytest.mark.parametrize("word", ["合计", "总 计", "小计：", "Total"])
def test_a_total_row_is_skipped_and_said_not_counted_as_errors(con, word):
    """Issue 17, point 16: a 合计 row was counted as two errors. It is skipped, stored nowhere, and listed once as a
    note with its row."""
    c = only(checked(con, csv_bytes(ROWS + [[word, None, "237", "209", None, None]]), "进度.csv")[1])
    assert c.problems.filter(pl.col("severity") == "error").is_empty()
    (note,) = c.problems.filter(pl.col("rule") == "total_row").iter_rows(named=True)
    assert (note["row"], note["severity"]) == (5, "warning")
    assert c.frame["__row"].to_list() == [2, 3, 4]


def test_mappings_an_earlier_version_kept_in_the_database_file_are_carried_over(con, db):  # noqa: F811
    """Saved mappings moved from the DuckDB file to a state store any process may write (issue 18): none is lost."""
    from analytics.db import store

    for stmt in store.UPLOAD_DDL:
        con.execute(stmt)
    con.execute("INSERT INTO upload_mappings VALUES ('区县周报', 'progress_reports', '事项号', 'project_id', "
                "TIMESTAMP '2026-11-01 09:00:00', '李四'), ('区县周报', 'progress_reports', '备注列', NULL, "
                "TIMESTAMP '2026-11-01 09:00:00', '李四')")
    assert mappings.saved_names(db) == []
    assert mappings.migrate(db, con) == 2
    assert mappings.load(db, "区县周报") == ("progress_reports", {"事项号": "project_id", "备注列": None})
    mappings.save(db, "区县周报", "progress_reports", {"事项号": "project_id"}, "王五")  # a newer save wins
    assert mappings.migrate(db, con) == 0
    assert mappings.load(db, "区县周报") == ("progress_reports", {"事项号": "project_id"})
