"""Small 督办台账 workbooks for tests: the traits real ledgers have (title and 截至日期 rows, sections, footer,
percent cells, date cells), with the rows a test gives."""
from __future__ import annotations

import io
from datetime import date, datetime

import xlsxwriter

HEADER = ("序号", "重点工作任务", "牵头单位", "配合单位", "责任区县", "责任领导", "完成时限", "完成进度", "推进状态", "进展情况")


def book(sections: dict[str, list[tuple]], *, title: str = "2026年芜湖市政府重点工作督办台账（截至10月底）",
         meta: str | None = "截至日期：2026年10月31日", header: tuple[str, ...] = HEADER,
         footer: bool = True) -> bytes:
    """An XLSX ledger. Each row: (name, lead, co, district, leaders, deadline, progress, status, note); a deadline
    may be a date (written as a date cell); a progress given as ("pct", 0.65) is written as a percent cell."""
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.set_properties({"created": datetime(2026, 1, 1)})
    ws = wb.add_worksheet("督办台账")
    pct = wb.add_format({"num_format": "0%"})
    day = wb.add_format({"num_format": "yyyy年m月d日"})
    last = len(header) - 1
    ws.merge_range(0, 0, 0, last, title)
    r = 1
    if meta is not None:
        ws.merge_range(1, 0, 1, 3, "填报单位：市政府督查室")
        ws.merge_range(1, 4, 1, last, meta)
        r = 2
    for j, h in enumerate(header):
        ws.write(r, j, h)
    r += 1
    for section, rows in sections.items():
        if section:
            ws.merge_range(r, 0, r, last, f"{section}（{len(rows)}项）")
            r += 1
        for n, row in enumerate(rows, 1):
            ws.write(r, 0, n)
            for j, v in enumerate(row, 1):
                if v is None:
                    continue
                if isinstance(v, date):
                    ws.write_datetime(r, j, datetime(v.year, v.month, v.day), day)
                elif isinstance(v, tuple) and v[0] == "pct":
                    ws.write_number(r, j, v[1], pct)
                else:
                    ws.write(r, j, v)
            r += 1
    if footer:
        ws.merge_range(r, 0, r, last, "注：1.完成进度按牵头单位报送口径填列；2.状态为“滞后”的事项须说明原因。")
        ws.write(r + 1, 0, "填表人：王丽  联系电话：0553-1234567  审核人：陈刚")
    wb.close()
    return buf.getvalue()
