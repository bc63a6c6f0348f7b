"""Bad and hostile files: each gets a clear message (in both languages) and changes nothing."""
from __future__ import annotations

import zipfile

import polars as pl
import pytest

from analytics.db import queries
from analytics.ingest import pipeline, readers
from analytics.db import versions
from analytics.ingest.problems import UploadError
from tests.test_ingest_support import (PROGRESS_HEADER, con, csv_bytes, db, with_members, xlsx_bytes,  # noqa: F401
                                       zip_bytes)

LIMITS = readers.Limits(max_bytes=5 * 1024 * 1024, max_rows=1000, max_text=10_000)
GOOD = [PROGRESS_HEADER, ["A1", "2026-11-21", "92", "80", "黄", ""]]


def attempt(con, data: bytes, name: str, limits=LIMITS):
    """Read, check and commit as the page and CLI do (rejecting a file with errors)."""
    up = pipeline.read(data, name, limits)
    checked = pipeline.check(con, up, limits=limits)
    changes = pipeline.to_changes(checked, "upsert", valid_only=False)
    return versions.commit(con, changes, who="x", file_name=name, sha256=up.sha256)


def refused(con, data: bytes, name: str, code: str, limits=LIMITS) -> UploadError:
    before = con.execute("SELECT count(*) FROM progress_reports").fetchall()
    with pytest.raises(UploadError) as e:
        attempt(con, data, name, limits)
    assert e.value.code == code, e.value.message("en")
    for lang in ("zh", "en"):
        assert len(e.value.message(lang)) > 10 and "{" not in e.value.message(lang)
    assert queries.run(con, "data_version")["version"][0] == 1  # nothing changed
    assert con.execute("SELECT count(*) FROM progress_reports").fetchall() == before
    return e.value


def row_problem(con, data: bytes, name: str, rule: str) -> pl.DataFrame:
    up = pipeline.read(data, name, LIMITS)
    problems = pipeline.problems(pipeline.check(con, up, limits=LIMITS))
    assert rule in set(problems["rule"]), problems
    refused(con, data, name, "rejected")
    return problems.filter(pl.col("rule") == rule)


def test_empty_file(con):
    refused(con, b"", "进度.csv", "empty")
    refused(con, b"\xef\xbb\xbf \r\n", "进度.csv", "empty")


@pytest.mark.parametrize("data,name,found", [
    (csv_bytes(GOOD), "进度.xlsx", "csv"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "进度.csv", "PNG image"),
    (zip_bytes({"a.csv": csv_bytes(GOOD)}), "进度.csv", "zip"),
    (b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "进度.xlsx", "old Excel (.xls) or encrypted workbook"),
])
def test_a_file_that_is_not_what_its_name_says(con, data, name, found):
    e = refused(con, data, name, "not_what_name_says")
    assert e.values["found"] == found


def test_old_xls_and_unknown_extensions(con):
    refused(con, b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "进度.xls", "xls")
    refused(con, csv_bytes(GOOD), "进度.docx", "extension")


def test_a_file_over_the_size_limit(con):
    small = readers.Limits(max_bytes=1000, max_rows=1000, max_text=100)
    e = refused(con, csv_bytes(GOOD + [["A1", f"2026-11-{d:02d}", "1", "1", "", "x" * 50] for d in range(1, 29)]),
                "进度.csv", "too_large", small)
    assert "COCKPIT_UPLOAD_MAX_MB" in e.message("en")


def test_an_xlsx_zip_bomb(con):
    bomb = with_members(xlsx_bytes({"进度": GOOD}), {"xl/media/padding.bin": b"\x00" * (20 * 1024 * 1024)})
    assert len(bomb) < 100_000  # tiny on disk, 20 MB unpacked
    refused(con, bomb, "进度.xlsx", "zip_bomb")


def test_a_zip_bomb_that_hides_behind_many_small_members(con):
    members = {f"pad{i}.csv": b"0" * (1024 * 1024) for i in range(7)}  # each under the ratio test, 7 MB in all
    refused(con, zip_bytes(members), "extract.zip", "zip_bomb")


def test_a_workbook_with_macros(con):
    xlsm = with_members(xlsx_bytes({"进度": GOOD}), {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 fake vba"})
    refused(con, xlsm, "进度.xlsm", "macros")
    refused(con, xlsm, "进度.xlsx", "macros")


def test_a_workbook_linking_other_workbooks(con):
    linked = with_members(xlsx_bytes({"进度": GOOD}), {
        "xl/externalLinks/externalLink1.xml": b'<externalLink xmlns="http://schemas.openxmlformats.org/'
                                              b'spreadsheetml/2006/main"><externalBook r:id="rId1"/></externalLink>'})
    refused(con, linked, "进度.xlsx", "external_links")


def test_a_password_protected_zip(con):
    data = bytearray(zip_bytes({"a.csv": csv_bytes(GOOD)}))
    data[6] |= 0x1  # the "encrypted" flag of the local header …
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 0x1  # … and of the central directory, as an encrypting zip tool writes them
    refused(con, bytes(data), "extract.zip", "encrypted")


def test_formulas_are_read_as_their_saved_values_never_evaluated(con, db):
    # the formula says 1+1; Excel saved 55 as its value: 55 is what loads
    data = xlsx_bytes({"进度": [PROGRESS_HEADER, ["A1", "2026-11-21", "", "", "黄", ""]]},
                      formulas={("进度", 1, 3): ("=1+1", 55)})
    out = attempt(con, data, "进度.xlsx")
    assert out.version == 2
    assert con.execute("SELECT actual_progress_pct FROM progress_reports WHERE report_date = '2026-11-21'"
                       ).fetchall() == [(55.0,)]


def test_formula_text_in_a_csv_is_stored_as_text_and_exported_guarded(con):
    from analytics import export

    data = csv_bytes([PROGRESS_HEADER, ["A1", "2026-11-21", "1", "1", "", "=cmd|' /C calc'!A0"]])
    up = pipeline.read(data, "进度.csv", LIMITS)
    c = pipeline.check(con, up, limits=LIMITS)[0]
    assert set(c.problems["rule"]) == {"formula_text"} and set(c.problems["severity"]) == {"warning"}
    versions.commit(con, pipeline.to_changes([c], "upsert", False), who="x", file_name="进度.csv", sha256=up.sha256)
    stored = con.execute("SELECT note FROM progress_reports WHERE report_date = '2026-11-21'").fetchall()[0][0]
    assert stored == "=cmd|' /C calc'!A0"
    assert export.to_csv(pl.DataFrame({"note": [stored]}), export.Meta("t", ())).decode("utf-8-sig").count("'=cmd") == 1


def test_html_and_script_are_stored_as_text_and_escaped_when_shown(con):
    from ui.page import md_escape

    data = csv_bytes([PROGRESS_HEADER, ["A1", "2026-11-21", "1", "1", "", '<img src=x onerror="alert(1)">']])
    up = pipeline.read(data, "进度.csv", LIMITS)
    c = pipeline.check(con, up, limits=LIMITS)[0]
    assert set(c.problems["rule"]) == {"html"} and not c.valid().is_empty()  # a note; the row loads as text
    assert c.valid()["note"].to_list() == ['<img src=x onerror="alert(1)">']
    assert md_escape("<img src=x>").startswith("\\<img")  # Markdown shows it, never renders it


@pytest.mark.parametrize("text", ["A1\x00", "进度\x07说明", "x\x1by"])
def test_nul_bytes_and_control_characters(con, text):
    data = csv_bytes([PROGRESS_HEADER, ["A1", "2026-11-21", "1", "1", "", text]])
    p = row_problem(con, data, "进度.csv", "control_chars")
    assert p["row"].to_list() == [2] and "\x00" not in p["value"][0]  # shown with a replacement mark


def test_a_hundred_thousand_character_string(con):
    data = csv_bytes([PROGRESS_HEADER, ["A1", "2026-11-21", "1", "1", "", "长" * 100_000]])
    p = row_problem(con, data, "进度.csv", "too_long")
    assert len(p["value"][0]) == 200  # the report shows the start of it, not all of it


def test_duplicate_headers(con):
    data = csv_bytes([["项目编号", "填报日期", "实际进度", "实际进度"], ["A1", "2026-11-21", "1", "2"]])
    p = row_problem(con, data, "进度.csv", "duplicate_header")
    assert p["row"].to_list() == [None] and "实际进度 / 实际进度" in p["detail"][0]


def test_a_header_row_only(con):
    refused(con, csv_bytes([PROGRESS_HEADER]), "进度.csv", "header_only")
    refused(con, xlsx_bytes({"进度": [PROGRESS_HEADER]}), "进度.xlsx", "header_only")


def test_a_file_with_no_header_we_know(con):
    refused(con, csv_bytes([["a", "b"], ["1", "2"]]), "进度.csv", "no_header")


@pytest.mark.parametrize("data", [b"project_id,report_date\n\x80\x80\xff,2026-11-21\n",
                                  "项目编号,填报日期\nA1,2026-11-21\n".encode("utf-16-le")])
def test_wrong_encoding(con, data):
    refused(con, data, "进度.csv", "encoding")


def test_rows_beyond_the_configured_cap(con):
    rows = [PROGRESS_HEADER] + [["A1", f"2020-01-01", "1", "1", "", ""]] * 1001
    e = refused(con, csv_bytes(rows), "进度.csv", "too_many_rows")
    assert e.values["limit"] == "1,000"


def test_more_cells_than_the_header(con):
    data = csv_bytes([["项目编号", "填报日期", "实际进度"], ["A1", "2026-11-21", "1"], ["A1", "2026-11-22", "1", "shifted"]])
    p = row_problem(con, data, "进度.csv", "extra_cells")
    assert p["row"].to_list() == [3]


def test_a_damaged_zip(con):
    data = zip_bytes({"a.csv": csv_bytes(GOOD)}, compression=zipfile.ZIP_DEFLATED)
    refused(con, data[:40] + b"\x00" * 30 + data[70:], "extract.zip", "damaged")


def test_a_huge_single_line_csv_is_refused_early_in_bounded_memory():
    """Issue 22, medium 8: a 60 MB CSV with no line breaks (190 MB took 3.5 GB and 10 s to parse) is refused before
    it is decoded or parsed, naming the line, with memory bounded by the scan's chunk, not by the file."""
    import tracemalloc

    data = ",".join(PROGRESS_HEADER).encode() + b"\n" + b"A1,2026-11-01," * 4_500_000  # 60 MB in line 2
    tracemalloc.start()
    try:
        with pytest.raises(UploadError) as e:
            pipeline.read(data, "one-line.csv")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert e.value.code == "line_too_long" and e.value.values["line"] == "2"
    assert "line 2" in e.value.message("en") and "第 2 行" in e.value.message("zh")
    assert peak < 64 << 20, f"{peak / 1048576:.0f} MB"
    # the same rows with line breaks are read as usual
    assert readers.long_line(data.replace(b"01,A1", b"01\nA1")) is None
