"""Tables as files people take away: CSV that opens in Excel, and XLSX, with their context written in.

Every file says which filters, as-of date and data version produced it, in a few labelled rows above
the table (and, in XLSX, in frozen rows that print on every page), so a number found in a forwarded
file can be traced back to the view it came from.

Text cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a
carriage return) are written with a leading apostrophe: the text is shown, never evaluated (OWASP's
advice against CSV injection). Numbers and dates stay numbers and dates.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LIST_SEPARATOR = "、"
MAX_XLSX_ROWS = 1_048_576 - 20  # Excel's sheet limit, less the context rows


@dataclass(frozen=True)
class Meta:
    """The context of an exported table: each (label, value) becomes one row above the table."""

    title: str
    rows: tuple[tuple[str, str], ...]

    def lines(self) -> list[tuple[str, str]]:
        return [(self.title, ""), *self.rows]


def neutralise(value: object) -> object:
    """A text cell that would start a formula gets a leading apostrophe; anything else is unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Lists joined into text, then every text column guarded against formulas."""
    out = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.List):
            col = col.cast(pl.List(pl.Utf8)).list.join(LIST_SEPARATOR)
            dtype = pl.Utf8
        if dtype in (pl.Utf8, pl.Categorical) or isinstance(dtype, pl.Enum):
            col = col.cast(pl.Utf8)
            guarded = pl.concat_str(pl.lit("'"), col)
            col = pl.when(col.str.contains(r"^[=+\-@\t\r]")).then(guarded).otherwise(col)
        out.append(col.alias(name))
    return frame.select(out) if out else frame


def to_csv(frame: pl.DataFrame, meta: Meta) -> bytes:
    """UTF-8 with a byte-order mark (Excel then reads Chinese correctly); context rows, a blank row, the table."""
    buf = io.StringIO()
    head = pl.DataFrame({"k": [neutralise(k) for k, _ in meta.lines()], "v": [neutralise(v) for _, v in meta.lines()]})
    head.write_csv(buf, include_header=False)
    buf.write("\n")
    _plain(frame).write_csv(buf, datetime_format="%Y-%m-%d %H:%M", date_format="%Y-%m-%d")
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def context_rows(meta: Meta) -> int:
    """How many rows precede the table's header in either format (context rows and one blank row)."""
    return len(meta.lines()) + 1


def to_xlsx(frame: pl.DataFrame, meta: Meta, sheet: str = "data") -> bytes:
    """One sheet: bold context rows, a blank row, the table with a filterable header frozen below them."""
    import xlsxwriter  # only needed when someone exports

    if frame.height > MAX_XLSX_ROWS:
        raise ValueError(f"{frame.height:,} rows do not fit one Excel sheet (at most {MAX_XLSX_ROWS:,}); "
                         "narrow the filters or export CSV")
    plain = _plain(frame)
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False})
    ws = book.add_worksheet(sheet[:31])
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 13})
    header = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1, "text_wrap": True})
    date_fmt = book.add_format({"num_format": "yyyy-mm-dd"})
    time_fmt = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for r, (k, v) in enumerate(meta.lines()):
        ws.write_string(r, 0, str(neutralise(k)), title if r == 0 else bold)
        if v:
            ws.write_string(r, 1, str(neutralise(v)))
    top = context_rows(meta)
    for c, name in enumerate(plain.columns):
        ws.write_string(top, c, str(neutralise(name)), header)
    widths = [max(8, min(40, _width(name))) for name in plain.columns]
    for r, row in enumerate(plain.iter_rows(), start=top + 1):
        for c, value in enumerate(row):
            _write(ws, r, c, value, date_fmt, time_fmt)
            if r < top + 200 and isinstance(value, str):
                widths[c] = max(widths[c], min(40, _width(value)))
    for c, w in enumerate(widths):
        ws.set_column(c, c, w + 2)
    if plain.width:
        ws.autofilter(top, 0, top + max(plain.height, 1), plain.width - 1)
    ws.freeze_panes(top + 1, 0)
    ws.repeat_rows(top)
    book.close()
    return buf.getvalue()


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)  # CJK characters are twice as wide


def _write(ws, r: int, c: int, value, date_fmt, time_fmt) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        ws.write_boolean(r, c, value)
    elif isinstance(value, (int, float)):
        if value == value and value not in (float("inf"), float("-inf")):  # NaN and inf are left blank
            ws.write_number(r, c, value)
    elif isinstance(value, datetime):
        ws.write_datetime(r, c, value.replace(tzinfo=None), time_fmt)
    elif isinstance(value, date):
        ws.write_datetime(r, c, datetime(value.year, value.month, value.day), date_fmt)
    else:
        ws.write_string(r, c, str(value))


def read_back(data: bytes, fmt: str, meta_rows: int) -> pl.DataFrame:
    """The table inside an exported file (for tests and for checking a file someone sent back)."""
    if fmt == "csv":
        text = data.decode("utf-8-sig")
        return pl.read_csv(io.StringIO(text), skip_rows=meta_rows, infer_schema=False)
    if fmt == "xlsx":
        return pl.read_excel(io.BytesIO(data), engine="calamine", read_options={"header_row": meta_rows},
                             infer_schema_length=0)
    raise ValueError(f"format {fmt!r}: expected csv or xlsx")


def filename(stem: str, as_of: date, version: int, fmt: str) -> str:
    """`<stem>-<as-of>-v<version>.<fmt>`; `stem` is a fixed name chosen by the page, never data."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in stem)[:60] or "table"
    return f"{safe}-{as_of.isoformat()}-v{version}.{fmt}"


def meta_for(title: str, filters_text: str, as_of: date, version: int, lang: str,
             extra: Sequence[tuple[str, str]] = ()) -> Meta:
    """The standard context rows in the reader's language."""
    labels = {"zh": ("筛选条件", "数据截至", "数据版本", "导出时间"),
              "en": ("Filters", "Data as of", "Data version", "Exported at")}[lang]
    rows = ((labels[0], filters_text), (labels[1], as_of.isoformat()), (labels[2], f"v{version}"),
            (labels[3], datetime.now().strftime("%Y-%m-%d %H:%M")), *extra)
    return Meta(title, tuple(rows))
