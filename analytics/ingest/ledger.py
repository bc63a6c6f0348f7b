"""The monthly 督办台账 as offices keep it → supervised items and one progress report per item at the ledger's date.

A ledger is one sheet, one row per item with its current state, as people write it, not as a database would:

- a merged title row ("2026年XX市政府重点工作督办台账（截至10月底）") and a row with 填报单位 and 截至日期/填报日期 above
  the header; footer rows below the items (注：…, 填表人/联系电话/审核人) are ignored and never stored;
- section rows between the items ("一、稳增长促发展（14项）") name the group of the rows below: it becomes the domain;
- 序号 restarts in every section and changes from month to month, and there is no item ID: an item's ID comes from
  what identifies it (name, lead department, region) and the same item is found again month after month, including
  after a small rename ("推进X" → "加快推进X", same lead department), which the preview lists for the steward to
  confirm or split;
- deadlines as date cells or text ("2026年12月底", "年底前", "2026年第四季度"; "长期坚持"/"持续推进": no deadline);
- progress as "65%", 0.65 in a cell formatted as percent, or 65; status words (已完成, 正在推进, 序时推进, 滞后, 未启动);
- co-departments joined by 、，, or ;; a 责任区县 column naming a district of the home region; responsible leaders.

    ledger = read(cur, upload, home_region, as_of=None, splits=())   # every row parsed, matched, checked
    changes = to_changes(ledger)                                       # or UploadError: rejected
    versions.commit(cur, changes, ..., as_of=ledger.as_of)

What each trait becomes is listed in docs/uploads.md ("Start with your own data"), generated from `TRAITS`.
"""
from __future__ import annotations

import calendar
import difflib
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import polars as pl

from analytics.db.queries import NATIONAL, Scope
from analytics.db import queries, versions
from analytics.filters import Filters
from analytics.ingest import readers
from analytics.ingest.normalise import EXCEL_EPOCH, SERIAL_MAX, SERIAL_MIN
from analytics.ingest.problems import PROBLEM_SCHEMA, VALUE_SHOWN, UploadError
from analytics.ingest.validate import ROW

SCAN_ROWS = 15  # the header is among the first rows, below the title and the 填报单位 row

# ledger field → headers that name it (compared after `_header`: NFKC, no spaces, no bracketed part such as （%）)
FIELDS: dict[str, tuple[str, ...]] = {
    "seq": ("序号", "编号序号"),
    "item_id": ("事项编号", "督办编号", "事项编码", "督办事项编号"),
    "name": ("重点工作任务", "重点工作", "重点任务", "工作任务", "督办事项", "督办事项名称", "事项名称", "任务名称", "工作事项",
             "督办内容", "工作内容", "任务内容", "事项", "项目名称", "目标任务"),
    "lead_dept": ("牵头单位", "牵头责任单位", "责任单位", "主责单位", "牵头部门", "主办单位", "责任部门"),
    "co_depts": ("配合单位", "协办单位", "协同单位", "配合部门", "参与单位", "配合责任单位"),
    "district": ("责任区县", "责任县区", "区县", "所属区县", "责任区", "县区", "责任县市区", "区县市"),
    "leaders": ("责任领导", "分管领导", "牵头领导", "责任市领导", "包保领导", "责任区领导"),
    "deadline": ("完成时限", "完成时间", "时限要求", "办结时限", "完成期限", "时间节点", "计划完成时间"),
    "progress": ("完成进度", "进度", "完成比例", "完成率", "形象进度", "总体进度", "完成进度百分比"),
    "status": ("推进状态", "状态", "办理状态", "进展状态", "完成状态", "事项状态"),
    "note": ("进展情况", "推进情况", "工作进展", "完成情况", "进展", "工作推进情况", "最新进展"),
    "remark": ("备注",),
    "domain": ("领域", "所属领域", "工作类别"),
    "end_date": ("完成日期", "办结日期", "实际完成时间", "实际完成日期", "办结时间"),
    "start_date": ("开始时间", "启动时间", "开始日期"),
}
_BY_HEADER = {h: f for f, hs in FIELDS.items() for h in hs}

# what each trait of a real ledger becomes (docs/uploads.md prints this table)
TRAITS: tuple[tuple[str, str], ...] = (
    ("title row, 填报单位 and 截至日期/填报日期 above the header",
     "the ledger's date is read from the 截至日期/填报日期 cell, else from the title's “截至10月底” (the month's last day); "
     "`--as-of` (the page's ledger date) overrides it; no date anywhere is an error. 填报单位 → `supervising_unit`"),
    ("footer rows (注：…, 填表人/联系电话/审核人)", "everything from the first footer row down is ignored and never stored"),
    ("section rows (一、稳增长促发展（14项）)", "the name without its number and count becomes `domain` of the items below "
     "(a 领域 column, when there is one, wins)"),
    ("序号 restarting per section, no item ID",
     "序号 is ignored; an item's ID is `<region>-<sha1 of region, lead department, name>[:10]`, and a row is the stored "
     "item with the same name, lead department and region (spaces and punctuation ignored), whatever its ID. An "
     "事项编号 column, when present, is the ID"),
    ("a small rename (推进X → 加快推进X)", f"a row with no exact match takes a stored item of the same lead department "
     f"and region that no other row matched, when the names are close (one inside the other, or a similarity of at "
     f"least {0.8:g}); every such match is listed to confirm, and `--split NAME` (the page's tick box) loads it as a "
     "new item instead"),
    ("deadlines", "a date cell, 2026-12-31, 2026.12.31, 2026年10月31日 → that day; 2026年12月底, 9月底前 → the month's last "
     "day; 2026年第四季度 → the quarter's; 年底前, 年内 → 31 December of the ledger's year; 上半年 → 30 June. The text as "
     "written is kept in `deadline_text` when it is not a plain date. 长期坚持, 持续推进, 常态化 → no deadline "
     "(`planned_end_date` empty: never overdue, shown as written). Anything else is an error quoting the cell"),
    ("progress", "65%, 65 or 0.65 in a cell formatted as a percentage → 65 in the item's progress report; blank → not "
     "reported; over 100 or below 0 is an error"),
    ("status words", "已完成/已办结 → `completed` (`actual_end_date`: a 完成日期 cell, else the date already stored, else "
     "the first ledger that says so); 正在推进, 序时推进 → `in_progress`, reported RAG green (not reported as lagging); 滞后 → "
     "`in_progress`, reported RAG red (what the light, the authenticity and risk analyses compare with); 未启动 → "
     "`not_started`; 已终止 → `terminated`; any other word is an error listing the allowed ones"),
    ("配合单位 joined by 、 ， , ; ；", "`co_depts`, a list"),
    ("责任区县", "a district or county of the home region by name (镜湖区, or 镜湖) → `region_code`; blank → the home region; "
     "a name outside it is an error"),
    ("责任领导", "`responsible_leaders` (personal data: masked for roles that may not read it)"),
    ("进展情况, 备注", "the progress report's `note`"),
    ("headers that drift (完成进度 → 完成进度（%）, 牵头单位 → 牵头责任单位)",
     "headers are compared without brackets and spaces, against the synonyms in `FIELDS`"),
    ("start", "a ledger has no start date: `start_date` is the date of the first ledger that lists the item (or its "
     "deadline, when that is earlier); a 开始时间 column, when there is one, wins, and then each report also gets a "
     "planned progress: the share of the time from start to deadline gone by at the ledger's date (序时进度, "
     "`planned_basis` = `elapsed`), so the item is lit by its progress gap (docs/metrics.md)"),
    ("an item missing from a later ledger", "kept as it was and listed as “not in this ledger”; nothing is deleted"),
    ("two rows for the same item", "an error on the second row, naming the first"),
    ("the same ledger twice", "nothing changes and no version is made"),
)

# status words → (contract status, reported RAG: the delivery confidence the reporter gave, which the authenticity and
# risk analyses compare with the progress and the deadline). A ledger offers 滞后 beside 正在推进, so an item in progress
# not reported as lagging is reported on track (绿灯 正常推进, as supervision systems light it); every month's word is
# written, so a later month's 正在推进 clears an earlier 滞后 (the light reads the latest reported RAG)
STATUS_WORDS: dict[str, tuple[str, str | None]] = {
    "已完成": ("completed", None), "已办结": ("completed", None), "完成": ("completed", None),
    "办结": ("completed", None), "已销号": ("completed", None),
    "正在推进": ("in_progress", "green"), "推进中": ("in_progress", "green"), "进行中": ("in_progress", "green"),
    "序时推进": ("in_progress", "green"), "按序时推进": ("in_progress", "green"), "正常推进": ("in_progress", "green"),
    "按计划推进": ("in_progress", "green"),
    "滞后": ("in_progress", "red"), "进度滞后": ("in_progress", "red"), "滞后推进": ("in_progress", "red"),
    "未启动": ("not_started", None), "尚未启动": ("not_started", None), "未开展": ("not_started", None),
    "已终止": ("terminated", None), "终止": ("terminated", None), "已撤销": ("terminated", None),
}
NO_DEADLINE = ("长期坚持", "持续推进", "长期推进", "常态化推进", "持续开展", "长期", "常态化", "持续")

_CN_DIGITS = "一二三四五六七八九十"
_SECTION = re.compile(r"^\s*(?:[一二三四五六七八九十百]+\s*[、.．]|[（(]\s*[一二三四五六七八九十]+\s*[)）]|第[一二三四五六七八九十]+"
                      r"(?:部分|类|项|篇)[、:：\s]?|[0-9]+\s*[、．])\s*(.+?)\s*(?:[（(]\s*(?:共\s*)?\d+\s*项\s*[)）])?\s*[:：]?\s*$")
_FOOTER = re.compile(r"^\s*(注|备注|说明)\s*[:：0-9１-９]|填表人|填报人|联系电话|审核人|制表人|制表：|分管领导签字")
_UNIT = re.compile(r"(?:填报|报送|牵头)单位\s*[:：]\s*(\S+?)(?:\s|$)")
_AS_OF_LABEL = re.compile(r"(?:截至|截止|填报|统计)(?:日期|时间)?\s*[:：]\s*(.+)")
_TITLE_AS_OF = re.compile(r"[截至止]+\s*(?:(\d{4})\s*年)?\s*(\d{1,2})\s*月\s*(底|末|(\d{1,2})\s*日)?")
_YEAR = re.compile(r"(\d{4})\s*年")
_PUNCT = re.compile(r"[\s\u3000,，。.、；;：:“”\"'‘’（）()《》<>【】\[\]—\-_·/]")
_SPLIT_DEPTS = re.compile(r"\s*[、，,;；\n]+\s*")
_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s*(?:前|之前))?"
                  r"(?:[ T]+\d{1,2}:\d{2}(?::\d{2})?)?$")
_YM_END = re.compile(r"^(?:(\d{4})\s*年)?\s*(\d{1,2})\s*月(?:份)?\s*(?:底|末|份)?\s*(?:前|之前|完成)?$")
_YM_DOTTED = re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})$")
_QUARTER = re.compile(r"^(?:(\d{4})\s*年)?\s*(?:第)?\s*([一二三四1-4])\s*季度\s*(?:末|底)?\s*(?:前|之前)?$")
_YEAR_END = re.compile(r"^(?:(\d{4})\s*年)?\s*(?:年底|年末|底|末|年内|全年|年度内)\s*(?:前|之前)?$")
_HALF = re.compile(r"^(?:(\d{4})\s*年)?\s*(上|下)\s*半年\s*(?:末|底)?\s*(?:前|之前)?$")
_PCT = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*%?$")


def _text(v: object) -> str | None:
    if v is None:
        return None
    t = unicodedata.normalize("NFKC", str(v)).strip(" \t\r\n\u3000\u00a0")
    return t or None


def _header(v: object) -> str:
    t = _text(v) or ""
    t = re.sub(r"[（(][^）)]*[)）]", "", t)
    return re.sub(r"[\s*＊]", "", t)


def key(text: str | None) -> str:
    """What identifies a name or department when matching: NFKC, no spaces or punctuation."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text or ""))


def item_id(region_code: str, lead_dept: str, name: str) -> str:
    """A stable ID from what identifies an item: its region, lead department and name (as `key` reads them)."""
    digest = hashlib.sha1(f"{region_code}|{key(lead_dept)}|{key(name)}".encode()).hexdigest()[:10]
    return f"{region_code}-{digest}"


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def parse_date(text: str | None) -> date | None:
    """A single date: 2026-12-31, 2026/12/31, 2026.12.31, 2026年12月31日, an Excel date; None otherwise."""
    t = _text(text)
    if t is None:
        return None
    m = _YMD.match(t)
    try:
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
        if re.fullmatch(r"\d{5}(\.0+)?", t) and SERIAL_MIN <= int(float(t)) <= SERIAL_MAX:
            return EXCEL_EPOCH + timedelta(days=int(float(t)))
    except ValueError:
        return None
    return None


@dataclass(frozen=True)
class Deadline:
    """A deadline cell read: `when` (None: no deadline, or unreadable when not `ok`), the text when not a plain date."""

    when: date | None
    text: str | None
    ok: bool = True


def parse_deadline(value: object, year: int) -> Deadline:
    """A deadline as ledgers write it; `year` is the ledger's year, for texts without one (年底前, 9月底)."""
    t = _text(value)
    if t is None:
        return Deadline(None, None)
    plain = parse_date(t)
    if plain is not None:
        return Deadline(plain, None)
    compact = re.sub(r"\s", "", t)
    if compact in NO_DEADLINE or any(compact.startswith(w) for w in NO_DEADLINE[:6]):
        return Deadline(None, t)
    try:
        if m := _YM_END.match(compact):
            return Deadline(month_end(int(m[1] or year), int(m[2])), t)
        if m := _YM_DOTTED.match(compact):
            return Deadline(month_end(int(m[1]), int(m[2])), t)
        if m := _QUARTER.match(compact):
            q = int(m[2]) if m[2].isdigit() else _CN_DIGITS.index(m[2]) + 1
            return Deadline(month_end(int(m[1] or year), 3 * q), t)
        if m := _YEAR_END.match(compact):
            return Deadline(date(int(m[1] or year), 12, 31), t)
        if m := _HALF.match(compact):
            return Deadline(month_end(int(m[1] or year), 6 if m[2] == "上" else 12), t)
    except ValueError:  # a month 13, a day 32
        pass
    return Deadline(None, t, ok=False)


def parse_progress(value: object, percent_cell: bool) -> tuple[float | None, bool]:
    """(percentage 0–100 or None, readable): "65%", 65, or 0.65 in a cell formatted as a percentage."""
    t = _text(value)
    if t is None:
        return None, True
    m = _PCT.match(t.replace("％", "%"))
    if not m:
        return None, False
    v = float(m[1])
    if percent_cell and "%" not in t:
        v *= 100.0
    return round(v, 6), True


def parse_status(value: object) -> tuple[str | None, str | None, bool]:
    """(status, reported RAG, readable) from a status word; blank → (None, None, True)."""
    t = _text(value)
    if t is None:
        return None, None, True
    found = STATUS_WORDS.get(re.sub(r"[\s。.]", "", t))
    if found is None:
        return None, None, False
    return found[0], found[1], True


def split_depts(value: object) -> list[str]:
    t = _text(value)
    return [d for d in _SPLIT_DEPTS.split(t) if d] if t else []


def section_name(text: str | None) -> str | None:
    """The group a section row names ("一、稳增长促发展（14项）" → 稳增长促发展), or None when it is not one."""
    t = _text(text)
    if t is None:
        return None
    m = _SECTION.match(t)
    return m[1].strip() if m else None


# ---- the sheet --------------------------------------------------------------------------------------------

def header_row(cells: pl.DataFrame) -> tuple[int, dict[str, int]] | None:
    """(row index, field → column index) of a ledger's header among the first rows, or None when the sheet is not a
    ledger: a row naming the item, its lead department and its progress or state, and no report date."""
    for i, row in enumerate(cells.head(SCAN_ROWS).iter_rows()):
        fields: dict[str, int] = {}
        for j, cell in enumerate(row):
            f = _BY_HEADER.get(_header(cell))
            if f and f not in fields:
                fields[f] = j
        if {"name", "lead_dept"} <= fields.keys() and fields.keys() & {"progress", "status", "note", "deadline"}:
            return i, fields
    return None


def find(parts) -> object | None:
    """The part of an upload (analytics.ingest.pipeline.Part) that holds a ledger, if one does."""
    for p in parts:
        if header_row(p.sheet.cells) is not None:
            return p
    return None


def ledger_date(lines: list[str]) -> tuple[date | None, str]:
    """The ledger's date from the rows above the header: a 截至日期/填报日期 cell first, else the title's
    "截至10月底" (the year from the title); (None, '') when neither says."""
    for line in lines:
        m = _AS_OF_LABEL.search(line)
        if m:
            rest = m[1].strip()
            d = parse_date(re.split(r"\s", rest)[0]) or parse_date(rest)
            if d is None:
                dl = parse_deadline(re.split(r"\s", rest)[0], 0)
                d = dl.when if dl.ok and dl.when and dl.when.year > 1 else None
            if d is not None:
                return d, "sheet"
    for line in lines:
        m = _TITLE_AS_OF.search(line)
        year = _YEAR.search(line)
        if m and (m[1] or year):
            y, mo = int(m[1] or year[1]), int(m[2])
            try:
                return (date(y, mo, int(m[4])) if m[4] else month_end(y, mo)), "title"
            except ValueError:
                continue
    return None, ""


@dataclass
class Row:
    """One item row of the ledger as read (dates and numbers parsed; `row` is the Excel row)."""

    row: int
    section: str | None
    name: str | None
    lead_dept: str | None
    co_depts: list[str]
    district: str | None
    region_code: str | None
    leaders: str | None
    deadline: Deadline
    progress: float | None
    status: str | None
    rag: str | None
    note: str | None
    end_date: date | None
    start_date: date | None
    domain: str | None
    given_id: str | None


@dataclass
class Match:
    """How a row was matched to the stored items: `matched` (the same name, lead department and region), `renamed`
    (an item of the same lead department and region whose name is close: to confirm), `new`, or `split` (a close
    name the steward said is a different item)."""

    row: int
    name: str
    lead_dept: str
    region_code: str
    project_id: str
    how: str
    old_name: str | None = None
    similarity: float | None = None


@dataclass
class Ledger:
    file_name: str
    sha256: str
    sheet: str
    title: str | None
    unit: str | None
    as_of: date | None
    as_of_from: str              # sheet | title | option
    home_region: str
    headers: dict[str, str]      # field → the header as written
    rows: list[Row]
    sections: dict[str, int]     # section → items under it
    footer_rows: int
    problems: pl.DataFrame
    matches: list[Match] = field(default_factory=list)
    missing: pl.DataFrame = field(default_factory=pl.DataFrame)  # stored items this ledger does not list
    projects: pl.DataFrame = field(default_factory=pl.DataFrame)
    reports: pl.DataFrame = field(default_factory=pl.DataFrame)

    @property
    def errors(self) -> int:
        return int((self.problems["severity"] == "error").sum()) if self.problems.height else 0

    def count(self, how: str) -> int:
        return sum(1 for m in self.matches if m.how == how)


PROJECT_COLUMNS = ("project_id", "name", "domain", "region_code", "lead_dept", "co_depts", "supervising_unit",
                   "start_date", "planned_end_date", "deadline_text", "actual_end_date", "status",
                   "responsible_leaders")
REPORT_COLUMNS = ("project_id", "report_date", "planned_progress_pct", "planned_basis", "actual_progress_pct", "rag",
                  "note")
UNGROUPED = "未分组"


class _Problems:
    def __init__(self, sheet: str):
        self.sheet, self.rows = sheet, []

    def add(self, row: int | None, table: str, column: str, header: str | None, value: object, rule: str,
            detail: str = "", severity: str = "error") -> None:
        text = None if value is None else str(value)[:VALUE_SHOWN]
        self.rows.append({"table": table, "sheet": self.sheet, "row": row, "header": header, "column": column,
                          "value": text, "rule": rule, "detail": detail, "severity": severity})

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(self.rows, schema=PROBLEM_SCHEMA)


def _home_regions(cur: duckdb.DuckDBPyConnection, home: str, scope: Scope) -> pl.DataFrame:
    return queries.run(cur, "ledger_regions", Filters(region_code=home), scope)


def _district(text: str | None, home: str, regions: pl.DataFrame) -> tuple[str | None, str]:
    """(region code, '') for a district named within the home region (blank: the home region), else (None, why)."""
    if text is None:
        return home, ""
    t = key(text)
    if len(t) == 6 and t.isdigit():
        return (t, "") if t in set(regions["region_code"]) else (None, "outside")
    hits = [r for r in regions.iter_rows(named=True) if key(r["name"]) == t]
    if not hits:  # 镜湖 for 镜湖区, 无为 for 无为市
        hits = [r for r in regions.iter_rows(named=True)
                if r["region_code"] != home and key(r["name"]).startswith(t) and len(t) >= 2
                and len(key(r["name"])) - len(t) <= 3]
    if len(hits) == 1:
        return hits[0]["region_code"], ""
    return None, "ambiguous" if hits else "outside"


def parse(sheet: readers.Sheet, home: str, regions: pl.DataFrame, as_of: date | None, home_name: str) -> tuple:
    """The sheet's rows read (no database): (header index, fields, title, unit, as_of, as_of_from, rows, sections,
    footer rows, problems)."""
    found = header_row(sheet.cells)
    if found is None:
        raise UploadError("no_header", {"name": sheet.name})
    index, fields = found
    problems = _Problems(sheet.name)
    width = sheet.width or sheet.cells.width
    above = [[_text(c) for c in r[:width]] for r in sheet.cells.head(index).iter_rows()]
    lines = [" ".join(c for c in r if c) for r in above if any(r)]
    title = lines[0] if lines else None
    unit = next((m[1] for line in lines if (m := _UNIT.search(line))), None)
    found_date, source = ledger_date(lines)
    if as_of is not None:
        found_date, source = as_of, "option"
    if found_date is None:
        raise UploadError("ledger_no_date", {"name": sheet.name})
    headers = {f: str(sheet.cells.row(index)[j]).strip() for f, j in fields.items()}
    percent = sheet.percent_cells
    first_excel_row = sheet.first_row + index + 1
    rows: list[Row] = []
    sections: dict[str, int] = {}
    section = None
    footer = 0
    for n, raw in enumerate(sheet.cells.slice(index + 1).iter_rows()):
        excel_row = first_excel_row + n
        cells = [_text(c) for c in raw[:width]]
        if footer or not any(cells):
            footer += bool(footer and any(cells))
            continue
        get = lambda f: cells[fields[f]] if f in fields and fields[f] < len(cells) else None  # noqa: E731
        filled = [c for c in cells if c]
        if get("name") is None and get("lead_dept") is None:
            if _FOOTER.search(filled[0]) or any(_FOOTER.search(c) for c in filled):
                footer = 1
                continue
            if len(set(filled)) == 1 and (s := section_name(filled[0])):
                section = s
                sections.setdefault(section, 0)
                continue
        if len(filled) == 1 and get("name") and get("lead_dept") is None and (s := section_name(get("name"))):
            section = s  # a section row merged from the name column
            sections.setdefault(section, 0)
            continue
        name, lead = get("name"), get("lead_dept")
        for f, v in (("name", name), ("lead_dept", lead)):
            if v is None:
                problems.add(excel_row, "projects", f, headers.get(f), None, "required")
        dl = parse_deadline(get("deadline"), found_date.year)
        if not dl.ok:
            problems.add(excel_row, "projects", "planned_end_date", headers.get("deadline"), get("deadline"),
                         "ledger_deadline", get("deadline") or "")
        col = fields.get("progress")
        pct_cell = col is not None and (n + index + 1, col) in percent
        progress, ok = parse_progress(get("progress"), pct_cell)
        if not ok:
            problems.add(excel_row, "progress_reports", "actual_progress_pct", headers.get("progress"),
                         get("progress"), "percent")
        elif progress is not None and not 0 <= progress <= 100:
            problems.add(excel_row, "progress_reports", "actual_progress_pct", headers.get("progress"),
                         get("progress"), "range", "0–100%")
        status, rag, ok = parse_status(get("status"))
        if not ok:
            problems.add(excel_row, "projects", "status", headers.get("status"), get("status"), "choice",
                         "、".join(dict.fromkeys(STATUS_WORDS)))
        code, why = _district(get("district"), home, regions)
        if code is None:
            problems.add(excel_row, "projects", "region_code", headers.get("district"), get("district"),
                         "ledger_district", home_name)
        end = None
        if get("end_date") is not None:
            end = parse_date(get("end_date"))
            if end is None:
                problems.add(excel_row, "projects", "actual_end_date", headers.get("end_date"), get("end_date"),
                             "date")
        start = None
        if get("start_date") is not None:
            start = parse_date(get("start_date"))
            if start is None:
                problems.add(excel_row, "projects", "start_date", headers.get("start_date"), get("start_date"), "date")
        note = get("note")
        if get("remark"):
            note = f"{note}\n备注：{get('remark')}" if note else f"备注：{get('remark')}"
        rows.append(Row(excel_row, section, name, lead, split_depts(get("co_depts")), get("district"), code,
                        get("leaders"), dl, progress if ok else None, status, rag, note, end, start, get("domain"),
                        get("item_id")))
        if section is not None:
            sections[section] += 1
    _same_item_twice(rows, problems, headers)
    return index, fields, title, unit, found_date, source, rows, sections, footer, problems, headers


def _same_item_twice(rows: list[Row], problems: _Problems, headers: dict[str, str]) -> None:
    first: dict[tuple, int] = {}
    for r in rows:
        if not (r.name and r.lead_dept and r.region_code):
            continue
        k = (r.region_code, key(r.lead_dept), key(r.name))
        if k in first:
            problems.add(r.row, "projects", "name", headers.get("name"), r.name, "ledger_same_item", str(first[k]))
        else:
            first[k] = r.row


# ---- matching with the stored items ------------------------------------------------------------------------

def similarity(a: str, b: str) -> float:
    """How close two item names are, 0–1; one inside the other ("推进X" in "加快推进X") counts as close."""
    a, b = key(a), key(b)
    if not a or not b:
        return 0.0
    if (a in b or b in a) and min(len(a), len(b)) >= 4:
        return max(0.9, difflib.SequenceMatcher(None, a, b).ratio())
    return difflib.SequenceMatcher(None, a, b).ratio()


RENAME_AT = 0.8  # keep in step with TRAITS; names at least this close, same lead department and region: a rename to confirm


def match(rows: list[Row], stored: pl.DataFrame, splits: frozenset[str] = frozenset()) -> list[Match]:
    """Each readable row → the stored item it continues, or a new ID. `splits`: names of rows the steward said are
    not the close-named stored item the preview proposed."""
    by_key = {(r["region_code"], key(r["lead_dept"]), key(r["name"])): r["project_id"]
              for r in stored.iter_rows(named=True)}
    ids = set(stored["project_id"]) if stored.height else set()
    out: list[Match | None] = []
    taken: set[str] = set()
    pending = []
    for r in rows:
        if not (r.name and r.lead_dept and r.region_code):
            out.append(None)
            continue
        if r.given_id:
            pid, how = r.given_id, "matched" if r.given_id in ids else "new"
        elif (k := (r.region_code, key(r.lead_dept), key(r.name))) in by_key:
            pid, how = by_key[k], "matched"
        else:
            pid, how = item_id(r.region_code, r.lead_dept, r.name), "new"
            if pid in ids:
                how = "matched"
        if how == "matched":
            taken.add(pid)
        else:
            pending.append(len(out))
        out.append(Match(r.row, r.name, r.lead_dept, r.region_code, pid, how))
    # renames: a stored item of the same lead department and region that no row matched, with a close name
    free = [s for s in stored.iter_rows(named=True) if s["project_id"] not in taken]
    candidates = []
    for i in pending:
        m = out[i]
        if m.name in splits:
            m.how = "split"
            continue
        for s in free:
            if s["region_code"] == m.region_code and key(s["lead_dept"]) == key(m.lead_dept):
                score = similarity(m.name, s["name"])
                if score >= RENAME_AT:
                    candidates.append((score, i, s))
    for score, i, s in sorted(candidates, key=lambda c: -c[0]):
        m = out[i]
        if m.how != "new" or s["project_id"] in taken:
            continue
        m.project_id, m.how, m.old_name, m.similarity = s["project_id"], "renamed", s["name"], round(score, 2)
        taken.add(s["project_id"])
    return [m for m in out if m is not None]


# ---- the whole path -------------------------------------------------------------------------------------------

def read(cur: duckdb.DuckDBPyConnection, part, file_name: str, sha256: str, home: str, *, as_of: date | None = None,
         splits: frozenset[str] = frozenset(), scope: Scope = NATIONAL) -> Ledger:
    """Read, check and match a ledger sheet (`part` from `find`) against the items of the home region in `scope`."""
    regions = _home_regions(cur, home, scope)
    if regions.is_empty():
        raise UploadError("ledger_outside_scope", {"region": home})
    home_name = regions.filter(pl.col("region_code") == home)["name"].to_list()
    home_name = home_name[0] if home_name else home
    (_, _, title, unit, when, source, rows, sections, footer, problems,
     headers) = parse(part.sheet, home, regions, as_of, home_name)
    stored = queries.run(cur, "ledger_items", Filters(region_code=home), scope)
    ledger = Ledger(file_name, sha256, part.sheet.name, title, unit, when, source, home, headers, rows, sections,
                    footer, problems.frame())
    ledger.matches = match(rows, stored, splits)
    seen = {m.project_id for m in ledger.matches}
    ledger.missing = stored.filter(~pl.col("project_id").is_in(list(seen)))
    ledger.projects, ledger.reports = _frames(ledger, stored)
    return ledger


def elapsed_pct(start: date | None, deadline: date | None, when: date | None) -> float | None:
    """The planned progress a ledger implies where it gives a start date: the share of the time from start to
    deadline gone by at the ledger's date (0–100, one decimal), or None without a start, a dated deadline or a date.
    A ledger has no planned progress of its own; this is the 序时进度 (progress due by the calendar) that offices
    compare the reported progress with."""
    if start is None or deadline is None or when is None or deadline <= start:
        return None
    share = (when - start).days / (deadline - start).days
    return round(100 * min(max(share, 0.0), 1.0), 1)


def _frames(ledger: Ledger, stored: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The projects and progress_reports rows the ledger writes (readable rows only), each with its Excel row in
    `__row` as the other uploads carry it (the preview's samples name it)."""
    before = {r["project_id"]: r for r in stored.iter_rows(named=True)}
    by_row = {m.row: m for m in ledger.matches}
    bad = set(ledger.problems.filter(pl.col("severity") == "error")["row"].drop_nulls().to_list()) \
        if ledger.problems.height else set()
    items, reports = [], []
    when = ledger.as_of
    for r in ledger.rows:
        m = by_row.get(r.row)
        if m is None or r.row in bad:
            continue
        old = before.get(m.project_id, {})
        end = None
        if r.status == "completed":
            end = r.end_date or old.get("actual_end_date") or when
        firsts = [d for d in (r.start_date or old.get("start_date") or when, r.deadline.when, end) if d is not None]
        items.append({ROW: r.row, "project_id": m.project_id, "name": r.name, "domain": r.domain or r.section or UNGROUPED,
                      "region_code": r.region_code, "lead_dept": r.lead_dept, "co_depts": r.co_depts or None,
                      "supervising_unit": ledger.unit, "start_date": min(firsts),
                      "planned_end_date": r.deadline.when, "deadline_text": r.deadline.text, "actual_end_date": end,
                      "status": r.status or "in_progress", "responsible_leaders": r.leaders})
        planned = elapsed_pct(r.start_date, r.deadline.when, when) if r.progress is not None and end is None else None
        reports.append({ROW: r.row, "project_id": m.project_id, "report_date": when, "planned_progress_pct": planned,
                        "planned_basis": "elapsed" if planned is not None else None,
                        "actual_progress_pct": r.progress, "rag": r.rag, "note": r.note})
    projects = pl.DataFrame(items, schema={ROW: pl.Int64, "project_id": pl.Utf8, "name": pl.Utf8, "domain": pl.Utf8,
                                           "region_code": pl.Utf8, "lead_dept": pl.Utf8,
                                           "co_depts": pl.List(pl.Utf8), "supervising_unit": pl.Utf8,
                                           "start_date": pl.Date, "planned_end_date": pl.Date,
                                           "deadline_text": pl.Utf8, "actual_end_date": pl.Date, "status": pl.Utf8,
                                           "responsible_leaders": pl.Utf8})
    reports = pl.DataFrame(reports, schema={ROW: pl.Int64, "project_id": pl.Utf8, "report_date": pl.Date,
                                            "planned_progress_pct": pl.Float64, "planned_basis": pl.Utf8,
                                            "actual_progress_pct": pl.Float64, "rag": pl.Utf8, "note": pl.Utf8})
    return projects, reports


def to_changes(ledger: Ledger, valid_only: bool = False) -> list[versions.Change]:
    """What the ledger writes: its items (created or updated; items it does not list are kept) and one progress
    report per item at the ledger's date. A ledger with errors is rejected unless `valid_only`."""
    errors = ledger.problems.filter(pl.col("severity") == "error") if ledger.problems.height else ledger.problems
    if errors.height and not valid_only:
        raise UploadError("rejected", {"errors": f"{errors.height:,}",
                                       "rows": f"{errors['row'].drop_nulls().n_unique():,}"})
    if ledger.projects.is_empty():
        raise UploadError("nothing_valid", {})
    rejected = len(ledger.rows) - ledger.projects.height
    return [versions.Change("projects", "upsert", ledger.projects, PROJECT_COLUMNS, rejected),
            versions.Change("progress_reports", "upsert", ledger.reports, REPORT_COLUMNS, rejected)]
