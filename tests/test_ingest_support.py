"""Builders of upload files for the ingest tests (no tests here): XLSX with title rows, zips, and a fresh
writable copy of the fixture database per test."""
from __future__ import annotations

import io
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest

from analytics.db import store


@pytest.fixture()
def db(fixture_path, tmp_path) -> Path:
    """A copy of the fixture database this test may write to."""
    copy = tmp_path / "upload.duckdb"
    shutil.copy(fixture_path, copy)
    return copy


@pytest.fixture()
def con(db):
    c = store.connect(db)
    yield c
    c.close()


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8", sep: str = ",") -> bytes:
    import csv

    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows([["" if v is None else v for v in r] for r in rows])
    text = buf.getvalue()
    if encoding == "utf-8-sig":
        return b"\xef\xbb\xbf" + text.encode("utf-8")
    return text.encode(encoding)


def xlsx_bytes(sheets: dict[str, list[list[object]]], title: str | None = None, start_row: int = 0,
               formulas: dict[tuple[str, int, int], tuple[str, object]] | None = None) -> bytes:
    """A workbook; `title` is merged across the first row above each sheet's table; `formulas` puts a
    formula with a cached value at (sheet, row, col)."""
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_numbers": False})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        ws = book.add_worksheet(name)
        r0 = start_row
        if title:
            ws.merge_range(r0, 0, r0, max(len(rows[0]) - 1, 1), title)
            r0 += 2  # a blank row under the title, as stewards do
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                if isinstance(v, (datetime, date)):
                    ws.write_datetime(r0 + r, c, v if isinstance(v, datetime) else datetime(v.year, v.month, v.day),
                                      date_fmt)
                elif v is not None:
                    ws.write(r0 + r, c, v)
        for (sheet, r, c), (formula, value) in (formulas or {}).items():
            if sheet == name:
                ws.write_formula(r, c, formula, None, value)
    book.close()
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def with_members(xlsx: bytes, extra: dict[str, bytes]) -> bytes:
    """An existing workbook with more parts added (macros, external links)."""
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            z.writestr(item, src.read(item))
        for name, data in extra.items():
            z.writestr(name, data)
    return buf.getvalue()


PROGRESS_HEADER = ["项目编号", "填报日期", "计划进度", "实际进度", "红黄绿评级", "备注"]
PROJECT_HEADER = ["督办事项编号", "事项名称", "领域", "所属地区", "牵头单位", "开始日期", "计划完成时间", "优先级", "状态",
                  "预算（万元）"]


def seed_october_reports(con, days: int = 30) -> None:
    """`days` progress reports of item A1, 2026-10-01 onwards: planned 50, actual 40 + day, green, no note."""
    con.executemany("INSERT INTO progress_reports (project_id, report_date, planned_progress_pct, actual_progress_pct, "
                    "rag) VALUES ('A1', $date, 50, $actual, 'green')",
                    [{"date": date(2026, 10, d), "actual": 40 + d} for d in range(1, days + 1)])


def october_changes(days: int = 30) -> bytes:
    """The seeded reports again with actual progress one point higher, and a note on every third day."""
    rows = [["A1", f"2026-10-{d:02d}", "50", str(41 + d), "绿", "复核" if d % 3 == 0 else ""] for d in range(1, days + 1)]
    return csv_bytes([PROGRESS_HEADER, *rows])


def october_expected(days: int = 30) -> list[tuple]:
    """What `october_changes` changes, worked out by hand: (file row, key, field, before, after), one per field."""
    out = []
    for d in range(1, days + 1):
        key = f"A1 / 2026-10-{d:02d}"
        out.append((d + 1, key, "actual_progress_pct", f"{40 + d}.0", f"{41 + d}.0"))
        if d % 3 == 0:
            out.append((d + 1, key, "note", None, "复核"))
    return out
