"""The example 督办台账 in data/examples: regenerated identically, and carrying the traits an importer must handle."""
import csv
import re
from pathlib import Path

import fastexcel
import pytest

from analytics.demo import ledgers
from analytics.demo.ledger_items import DEADLINE_TEXTS, MONTHS, STATUSES

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"
SECTION = re.compile(r"^[一二三四五六七八九十]+、.+（(\d+)项）$")
DATE_CELL = re.compile(r"^\d{4}-\d{2}-\d{2} 00:00:00$")  # how fastexcel renders a date cell as a string


def _rows(path: Path) -> list[list[str | None]]:
    frame = fastexcel.read_excel(path.read_bytes()).load_sheet(0, header_row=None, dtypes="string").to_polars()
    return [list(row) for row in frame.iter_rows()]


@pytest.fixture(scope="module")
def sheets() -> dict[int, list[list[str | None]]]:
    return {month: _rows(EXAMPLES / ledgers.file_name(month)) for month in MONTHS}


def _items(rows):
    """Item rows as (section title, row), between the header and the footer."""
    section, out = None, []
    for row in rows[3:]:
        if row[0] and SECTION.match(row[0]):
            section = row[0]
        elif row[0] and row[0].isdigit():
            out.append((section, row))
    return out


def test_regenerating_writes_the_committed_files_byte_for_byte(tmp_path):
    written = ledgers.write_ledgers(tmp_path)
    assert [p.name for p in written] == ["wuhu-2026-08.xlsx", "wuhu-2026-09.xlsx", "wuhu-2026-10.xlsx"]
    for path in written:
        assert path.read_bytes() == (EXAMPLES / path.name).read_bytes(), f"{path.name}: run python -m analytics.demo.ledgers"


def test_title_unit_and_date_rows(sheets):
    for month, rows in sheets.items():
        assert rows[0][0] == f"2026年芜湖市政府重点工作督办台账（截至{month}月底）"
        assert rows[0][1:] == [None] * 10  # merged across all columns
        assert rows[1][0] == "填报单位：市政府督查室"
    assert sheets[8][1][8] == "截至日期：2026年8月31日"
    assert sheets[9][1][8] == "截至日期：2026年9月30日"
    assert sheets[10][1][8] == "填报日期：2026年10月31日"


def test_header_drifts_between_months(sheets):
    august = ["序号", "重点工作任务", "牵头单位", "配合单位", "责任区县", "责任领导", "完成时限", "完成进度", "推进状态",
              "进展情况", "备注"]
    assert sheets[8][2] == august
    assert sheets[9][2] == august[:7] + ["完成进度（%）"] + august[8:]
    assert sheets[10][2] == august[:2] + ["牵头责任单位"] + august[3:7] + ["完成进度（%）"] + august[8:]


def test_section_counts_match_their_items_and_numbers_restart(sheets):
    for month, rows in sheets.items():
        by_section: dict[str, list[str]] = {}
        for section, row in _items(rows):
            by_section.setdefault(section, []).append(row[0])
        assert len(by_section) == 5
        for section, numbers in by_section.items():
            assert int(SECTION.match(section).group(1)) == len(numbers), (month, section)
            assert numbers == [str(n) for n in range(1, len(numbers) + 1)]
        assert 40 <= sum(map(len, by_section.values())) <= 45


def test_footer_rows_follow_the_last_item(sheets):
    for rows in sheets.values():
        assert rows[-2][0] == "注：1.完成进度按牵头单位报送口径填列；2.状态为“滞后”的事项须说明原因。"
        assert rows[-1][0] == "填表人：王丽  联系电话：0553-1234567  审核人：陈刚"


def test_every_deadline_form_at_least_twice_per_file(sheets):
    for month, rows in sheets.items():
        deadlines = [row[6] for _, row in _items(rows)]
        assert sum(bool(DATE_CELL.match(d)) for d in deadlines) >= 2, month
        for text in DEADLINE_TEXTS:
            assert deadlines.count(text) >= 2, (month, text)


def test_status_words_and_progress_forms(sheets):
    for month, rows in sheets.items():
        items = [row for _, row in _items(rows)]
        assert {row[8] for row in items} == set(STATUSES), month
        progress = [row[7] for row in items if row[7] is not None]
        assert any(p.endswith("%") for p in progress)                       # text "65%"
        assert any("." in p and float(p) < 1 for p in progress)             # 0.65 formatted as percent
        assert any(p.isdigit() and int(p) > 1 for p in progress)            # plain 65
        assert all(row[7] is None for row in items if row[8] == "未启动")
        assert any(row[7] is None and row[8] != "未启动" for row in items)  # not reported
        done = [row[7] for row in items if row[8] in ("已完成", "已办结")]
        assert done and all(p in ("100%", "1", "100") for p in done)


def test_co_departments_counties_and_leaders(sheets):
    with open(ROOT / "data" / "regions.csv", encoding="utf-8") as f:
        counties = {r["name"] for r in csv.DictReader(f) if r["parent_code"] == "340200"}
    co = [row[3] for rows in sheets.values() for _, row in _items(rows)]
    for separator in ("、", "，", ",", ";"):
        assert any(c and separator in c for c in co), separator
    assert None in co
    for month, rows in sheets.items():
        items = [row for _, row in _items(rows)]
        named = [row[4] for row in items if row[4]]
        assert set(named) <= counties
        assert 0.25 <= len(named) / len(items) <= 0.45
        assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}(、[\u4e00-\u9fff]{2,3})?", row[5]) for row in items)


def test_month_to_month_events(sheets):
    names = {m: [row[1] for _, row in _items(rows)] for m, rows in sheets.items()}
    assert "推进城东片区棚户区改造" in names[8] and "加快推进城东片区棚户区改造" in names[9]
    assert "开展夏季防溺水专项行动" in names[9] and "开展夏季防溺水专项行动" not in names[10]
    assert len(set(names[9]) - set(names[8]) - {"加快推进城东片区棚户区改造"}) == 1
    twins = [row[2] for _, row in _items(sheets[10]) if row[1] == "实施城市更新行动"]
    assert len(twins) == 2 and len(set(twins)) == 2
