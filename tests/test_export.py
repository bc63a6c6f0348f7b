"""Exported tables: context written in, Chinese readable by Excel, formulas never run, data round-trips."""
import io
import zipfile
from datetime import date

import polars as pl
import pytest

from analytics import export

META = export.meta_for("红灯事项 / red items", "安徽省 · 领域：教育", date(2026, 11, 22), 7, "zh")
FRAME = pl.DataFrame({
    "事项名称": ["=HYPERLINK(\"http://x\",\"点我\")", "+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "正常文本", "a-b"],
    "延误天数": [1, -2, 3, 4, 5, 6, 7, 8],
    "计划完成日期": [date(2026, 1, d) for d in range(1, 9)],
    "协同单位": [["财政局", "=evil"], [], None, ["a"], ["b"], ["c"], ["d"], ["e"]],
})
GUARDED = ["'=HYPERLINK(\"http://x\",\"点我\")", "'+1", "'-2+3", "'@SUM(A1)", "'\tTAB", "'\rCR", "正常文本", "a-b"]


def test_csv_has_bom_context_and_round_trips_with_the_guard():
    data = export.to_csv(FRAME, META)
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 Chinese only with the BOM
    text = data.decode("utf-8-sig")
    assert "筛选条件,安徽省 · 领域：教育" in text and "数据截至,2026-11-22" in text and "数据版本,v7" in text
    back = export.read_back(data, "csv", export.context_rows(META))
    assert back.columns == FRAME.columns
    assert back["事项名称"].to_list() == GUARDED
    assert back["延误天数"].to_list() == [str(v) for v in FRAME["延误天数"]]  # numbers are not guarded
    assert back["计划完成日期"][0] == "2026-01-01"
    assert back["协同单位"][0] == "财政局、=evil"  # a list becomes one text cell, guarded as a whole only at its start


def test_xlsx_round_trips_keeps_numbers_and_holds_no_formula():
    data = export.to_xlsx(FRAME, META)
    back = export.read_back(data, "xlsx", export.context_rows(META))
    assert back.columns == FRAME.columns
    assert back["事项名称"].to_list() == GUARDED
    assert [float(v) for v in back["延误天数"]] == [float(v) for v in FRAME["延误天数"]]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode()
    assert "<f>" not in sheet  # nothing is stored as a formula
    assert "数据版本" in strings and "v7" in strings and "2026-11-22" in strings
    assert "<v>-2</v>" in sheet  # -2 is stored as a number (a text cell would hold a shared-string index)


def test_context_rows_are_guarded_too():
    meta = export.meta_for("t", "=cmd|' /C calc'!A0", date(2026, 1, 1), 1, "en")
    text = export.to_csv(pl.DataFrame({"a": [1]}), meta).decode("utf-8-sig")
    assert "Filters,'=cmd|" in text.replace('"', "")


@pytest.mark.parametrize("value,expected", [("=1", "'=1"), ("+", "'+"), ("-x", "'-x"), ("@", "'@"), ("\t", "'\t"),
                                            ("\r", "'\r"), ("ok", "ok"), ("", ""), (-3, -3), (None, None)])
def test_neutralise(value, expected):
    assert export.neutralise(value) == expected


def test_filename_is_made_safe():
    assert export.filename("slip-risk", date(2026, 11, 22), 3, "csv") == "slip-risk-2026-11-22-v3.csv"
    assert export.filename("../../etc/passwd", date(2026, 1, 1), 1, "xlsx") == "------etc-passwd-2026-01-01-v1.xlsx"


def test_too_many_rows_for_one_sheet_is_refused_with_a_reason(monkeypatch):
    monkeypatch.setattr(export, "MAX_XLSX_ROWS", 3)
    with pytest.raises(ValueError, match="do not fit one Excel sheet"):
        export.to_xlsx(FRAME, META)


def test_english_context_labels():
    meta = export.meta_for("Items", "Filters: all data", date(2026, 11, 22), 2, "en")
    text = export.to_csv(pl.DataFrame({"a": [1]}), meta).decode("utf-8-sig")
    assert "Data as of,2026-11-22" in text and "Data version,v2" in text
