"""Three monthly example 督办台账 (supervision ledgers) of 芜湖市 as Excel workbooks.

    python -m analytics.demo.ledgers [--out data/examples]

writes wuhu-2026-08.xlsx, wuhu-2026-09.xlsx and wuhu-2026-10.xlsx: the input a ledger importer
meets in an office, with a title row, a unit/date row, section rows with counts, drifting
headers, deadlines and progress written in several ways, and footer rows. The items are
fictional (`analytics.demo.ledger_items`). The output is deterministic: the same bytes on
every run (fixed created date, no randomness outside a seeded `random.Random`).
Standard library and xlsxwriter only.
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import random
from pathlib import Path

import xlsxwriter

from analytics.demo.ledger_items import BY_KEY, MONTHS, ORDER, SECTIONS, NOT_STARTED, Item

CITY = "芜湖市"
FILE_STEM = "wuhu"
YEAR = 2026
SEED = 3402  # the progress cells' written form (text "65%", 0.65 as percent, plain 65) per row
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "data" / "examples"
SHEET = "督办台账"
CN_NUMERALS = "一二三四五六七八九十"
NOTE = "注：1.完成进度按牵头单位报送口径填列；2.状态为“滞后”的事项须说明原因。"
SIGNATURE = "填表人：王丽  联系电话：0553-1234567  审核人：陈刚"

# (header as of August, width in Excel character units, wrap the text)
COLUMNS = (("序号", 5, False), ("重点工作任务", 30, True), ("牵头单位", 16, True), ("配合单位", 24, True),
           ("责任区县", 9, False), ("责任领导", 11, True), ("完成时限", 13, True), ("完成进度", 9, True),
           ("推进状态", 9, False), ("进展情况", 40, True), ("备注", 22, True))
LAST_COL = len(COLUMNS) - 1


def as_of(month: int) -> dt.date:
    """The last day of the month the ledger reports on."""
    return dt.date(YEAR, month + 1, 1) - dt.timedelta(days=1)


def headers(month: int) -> list[str]:
    """The header row as written that month: the sheet's columns drift from September on."""
    names = [name for name, _, _ in COLUMNS]
    if month >= 9:
        names[7] = "完成进度（%）"
    if month >= 10:
        names[2] = "牵头责任单位"
    return names


def title(month: int) -> str:
    return f"{YEAR}年{CITY}政府重点工作督办台账（截至{month}月底）"


def date_line(month: int) -> str:
    label = "填报日期" if month >= 10 else "截至日期"  # both spellings occur in offices' files
    d = as_of(month)
    return f"{label}：{d.year}年{d.month}月{d.day}日"


def section_title(index: int, count: int) -> str:
    return f"{CN_NUMERALS[index]}、{SECTIONS[index]}（{count}项）"


def item_rows(month: int) -> list[tuple[int, list[Item]]]:
    """The sections of the month's ledger with their items in written order."""
    return [(i, [BY_KEY[k] for k in keys]) for i, keys in enumerate(ORDER[month])]


# --------------------------------------------------------------------------- writing
def _formats(wb: xlsxwriter.Workbook) -> dict[str, object]:
    base = {"font_name": "宋体", "font_size": 11, "valign": "vcenter"}
    cell = {**base, "border": 1}
    return {
        "title": wb.add_format({**base, "font_name": "黑体", "font_size": 16, "align": "center"}),
        "meta_left": wb.add_format({**base, "align": "left"}),
        "meta_right": wb.add_format({**base, "align": "right"}),
        "header": wb.add_format({**cell, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#D9D9D9"}),
        "section": wb.add_format({**cell, "bold": True, "align": "left", "bg_color": "#F2F2F2"}),
        "text": wb.add_format({**cell, "align": "left", "text_wrap": True}),
        "center": wb.add_format({**cell, "align": "center", "text_wrap": True}),
        "percent": wb.add_format({**cell, "align": "center", "num_format": "0%"}),
        "date_slash": wb.add_format({**cell, "align": "center", "num_format": "yyyy/m/d"}),
        "date_cn": wb.add_format({**cell, "align": "center", "num_format": 'yyyy"年"m"月"d"日"'}),
        "footer": wb.add_format({**base, "align": "left", "text_wrap": True}),
    }


def _display_width(text: str) -> float:
    """Width in Excel character units: a CJK character is about two digits wide."""
    return sum(2.1 if ord(ch) > 0x2E7F else 1.05 for ch in text)


def _row_height(values: list[str]) -> float:
    """Excel does not re-flow wrapped rows of a written file reliably: set the height from the text."""
    lines = 1
    for (_, width, wrap), value in zip(COLUMNS, values):
        if wrap and value:
            lines = max(lines, math.ceil(_display_width(value) / (width - 1.5)))
    return 15.0 * lines + 4


def _write_progress(ws, row: int, pct: float | None, rng: random.Random, fmt: dict[str, object]) -> str:
    """Progress as departments write it: '65%', 0.65 formatted as percent, or 65; blank when not reported."""
    if pct is None:
        ws.write_blank(row, 7, None, fmt["center"])
        return ""
    form = rng.choice(("text", "percent", "number"))
    if form == "text":
        ws.write_string(row, 7, f"{pct:g}%", fmt["center"])
    elif form == "percent":
        ws.write_number(row, 7, pct / 100, fmt["percent"])
    else:
        ws.write_number(row, 7, pct, fmt["center"])
    return f"{pct:g}%"


def _write_item(ws, row: int, number: int, item: Item, month: int, rng: random.Random,
                fmt: dict[str, object]) -> None:
    pct, status, progress_text, note = item.state_in(month)
    if status == NOT_STARTED:
        pct = None
    ws.write_number(row, 0, number, fmt["center"])
    texts = [str(number), item.name_in(month), item.lead, item.co, item.county, item.leaders, "", "", status,
             progress_text, note]
    for col in (1, 2, 3, 4, 5, 8, 9, 10):
        value = texts[col]
        style = fmt["center"] if col in (4, 5, 8) else fmt["text"]
        if value:
            ws.write_string(row, col, value, style)
        else:
            ws.write_blank(row, col, None, style)
    if isinstance(item.deadline, dt.date):
        style = fmt["date_slash"] if int(item.key[1:]) % 2 else fmt["date_cn"]
        ws.write_datetime(row, 6, dt.datetime.combine(item.deadline, dt.time()), style)
        texts[6] = "2026年12月31日"  # the longest way Excel shows it, for the row height
    else:
        ws.write_string(row, 6, item.deadline, fmt["center"])
        texts[6] = item.deadline
    texts[7] = _write_progress(ws, row, pct, rng, fmt)
    ws.set_row(row, _row_height(texts))


def write_ledger(path: Path, month: int) -> Path:
    """Write the month's ledger workbook to `path`."""
    wb = xlsxwriter.Workbook(str(path))
    # a fixed created date also fixes the zip entries' timestamps: the same bytes on every run
    wb.set_properties({"title": title(month), "author": "市政府督查室", "company": f"{CITY}人民政府办公室",
                       "created": dt.datetime.combine(as_of(month), dt.time(17, 30))})
    fmt = _formats(wb)
    ws = wb.add_worksheet(SHEET)
    for col, (_, width, _) in enumerate(COLUMNS):
        ws.set_column(col, col, width)
    ws.merge_range(0, 0, 0, LAST_COL, title(month), fmt["title"])
    ws.set_row(0, 32)
    ws.merge_range(1, 0, 1, 3, "填报单位：市政府督查室", fmt["meta_left"])
    ws.merge_range(1, 8, 1, LAST_COL, date_line(month), fmt["meta_right"])
    ws.set_row(1, 20)
    ws.write_row(2, 0, headers(month), fmt["header"])
    ws.set_row(2, 34)
    rng = random.Random(SEED * 100 + month)
    row = 3
    for section, items in item_rows(month):
        ws.merge_range(row, 0, row, LAST_COL, section_title(section, len(items)), fmt["section"])
        ws.set_row(row, 20)
        row += 1
        for number, item in enumerate(items, start=1):
            _write_item(ws, row, number, item, month, rng, fmt)
            row += 1
    ws.merge_range(row, 0, row, LAST_COL, NOTE, fmt["footer"])
    ws.merge_range(row + 1, 0, row + 1, LAST_COL, SIGNATURE, fmt["footer"])
    ws.freeze_panes(3, 2)
    ws.repeat_rows(0, 2)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    wb.close()
    return path


def file_name(month: int) -> str:
    return f"{FILE_STEM}-{YEAR}-{month:02d}.xlsx"


def write_ledgers(out_dir: Path = DEFAULT_OUT) -> list[Path]:
    """Write the three monthly ledgers into `out_dir` (created if missing)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_ledger(out_dir / file_name(month), month) for month in MONTHS]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the example 督办台账 workbooks of 芜湖市.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder to write into (default: data/examples)")
    args = parser.parse_args(argv)
    for path in write_ledgers(args.out):
        print(path)


if __name__ == "__main__":
    main()
