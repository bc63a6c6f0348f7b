"""Text cells → contract types, as Polars expressions over whole columns (a million rows in a moment).

Each parser returns null where the text is not a value of its type; validation reports those cells
with what was expected. Nothing is guessed: 3/1/2024 is not a date (day or month first?), 1,5 is not a
number (a decimal comma or a slip?), an ambiguous region name is not a code.
"""
from __future__ import annotations

import unicodedata
from datetime import date

import polars as pl

from analytics import contract

EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (it counts 1900-02-29, which never was, so day 60 is off)
SERIAL_MIN, SERIAL_MAX = 10_000, 99_999  # 1927-05-18 … 2173-10-14: a 5-digit day count is an Excel date
_FULLWIDTH = [chr(0xFF10 + i) for i in range(10)] + ["．", "－", "／", "：", "＋", "，", "％", "　"]
_HALFWIDTH = [str(i) for i in range(10)] + [".", "-", "/", ":", "+", ",", "%", " "]
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # tab, newline and carriage return are text; these are not

_DATE = (r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
         r"(?:[ T]+(\d{1,2})\s*[:时]\s*(\d{1,2})(?:\s*[:分]\s*(\d{1,2})(?:\.\d+)?)?\s*秒?)?$")
_COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
_SERIAL = r"^(\d{5})(\.\d+)?$"
_NUMBER = r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(万元|亿元|万|亿|元|%)?$"
_GROUPED = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?\s*(?:万元|亿元|万|亿|元|%)?$"

TRUE = ("是", "true", "yes", "y", "1", "t", "√", "✓", "对", "有")
FALSE = ("否", "false", "no", "n", "0", "f", "×", "✗", "错", "无")


def clean(e: pl.Expr) -> pl.Expr:
    """Trimmed text (ASCII and ideographic spaces); empty → null."""
    t = e.str.strip_chars(" \t\r\n\u3000\u00a0")
    return pl.when(t.str.len_bytes() > 0).then(t)


def halfwidth(e: pl.Expr) -> pl.Expr:
    return e.str.replace_many(_FULLWIDTH, _HALFWIDTH)


def _pad(e: pl.Expr) -> pl.Expr:
    return e.str.zfill(2)


def parse_date(e: pl.Expr) -> pl.Expr:
    s = halfwidth(e)
    g = s.str.extract_groups(_DATE)
    spelled = pl.concat_str([g.struct.field("1"), _pad(g.struct.field("2")), _pad(g.struct.field("3"))],
                            separator="-").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
    compact = s.str.extract(_COMPACT, 0).str.strptime(pl.Date, "%Y%m%d", strict=False)
    serial = s.str.extract(_SERIAL, 1).cast(pl.Int64, strict=False)
    from_serial = pl.when(serial.is_between(SERIAL_MIN, SERIAL_MAX)).then(
        pl.lit(EXCEL_EPOCH) + pl.duration(days=serial))
    return pl.coalesce(spelled, compact, from_serial.cast(pl.Date))


def parse_timestamp(e: pl.Expr) -> pl.Expr:
    s = halfwidth(e)
    g = s.str.extract_groups(_DATE)
    f = g.struct.field
    text = pl.concat_str([f("1"), pl.lit("-"), _pad(f("2")), pl.lit("-"), _pad(f("3")), pl.lit(" "),
                          _pad(f("4").fill_null("0")), pl.lit(":"), _pad(f("5").fill_null("0")), pl.lit(":"),
                          _pad(f("6").fill_null("0"))])
    spelled = text.str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S", strict=False)
    compact = s.str.extract(_COMPACT, 0).str.strptime(pl.Datetime("us"), "%Y%m%d", strict=False)
    serial = s.str.extract(r"^(\d{5}(?:\.\d+)?)$", 1).cast(pl.Float64, strict=False)
    from_serial = pl.when(serial.is_between(SERIAL_MIN, SERIAL_MAX)).then(
        pl.lit(EXCEL_EPOCH).cast(pl.Datetime("us")) + pl.duration(milliseconds=(serial * 86_400_000).round(0)))
    return pl.coalesce(spelled, compact, from_serial)


def parse_number(e: pl.Expr, column: str, header_factor: float = 1.0) -> pl.Expr:
    """A number; thousands separators only in groups of three; 万/亿/元 scale money into 万元 (and a plain
    number is in the header's unit); % only in percentage columns."""
    s = halfwidth(e).str.replace_all(r"^[¥￥]\s*", "")
    grouped_ok = ~s.str.contains(",") | s.str.contains(_GROUPED)
    s = pl.when(grouped_ok).then(s.str.replace_all(",", ""))
    g = s.str.extract_groups(_NUMBER)
    value = g.struct.field("1").cast(pl.Float64, strict=False)
    unit = g.struct.field("2")
    if column.endswith("_wan_yuan"):
        factor = (pl.when(unit.is_in(["亿", "亿元"])).then(10_000.0).when(unit.is_in(["万", "万元"])).then(1.0)
                  .when(unit == "元").then(0.0001).when(unit.is_null()).then(header_factor))
    elif column.endswith("_pct"):
        factor = pl.when(unit.is_null() | (unit == "%")).then(1.0)
    else:
        factor = (pl.when(unit.is_null()).then(1.0).when(unit == "万").then(10_000.0)
                  .when(unit == "亿").then(100_000_000.0))
    out = value * factor
    return pl.when(out.is_finite()).then(out)


def parse_int(e: pl.Expr, column: str) -> pl.Expr:
    v = parse_number(e, column)
    return pl.when(v == v.floor()).then(v).cast(pl.Int64, strict=False)


def parse_bool(e: pl.Expr) -> pl.Expr:
    low = halfwidth(e).str.to_lowercase()
    return pl.when(low.is_in(TRUE)).then(True).when(low.is_in(FALSE)).then(False)


def choice_words(table: str, column: contract.Column) -> dict[str, str]:
    """Every accepted spelling (lower case, NFKC) → the allowed value."""
    out = {}
    for ch in column.choices:
        for w in (ch.value, ch.zh, ch.en, ch.value.replace("_", " "), ch.value.replace("_", "-")):
            out[unicodedata.normalize("NFKC", w).lower()] = ch.value
    for w, v in contract.CHOICE_SYNONYMS.get((table, column.name), {}).items():
        out[unicodedata.normalize("NFKC", w).lower()] = v
    return out


def parse_choice(e: pl.Expr, table: str, column: contract.Column) -> pl.Expr:
    words = choice_words(table, column)
    return halfwidth(e).str.to_lowercase().replace_strict(words, default=None, return_dtype=pl.Utf8)


def parse_list(e: pl.Expr) -> pl.Expr:
    items = e.str.replace_all(r"[、,，;；/|\n]+", "\u001f").str.split("\u001f")
    items = items.list.eval(pl.element().str.strip_chars(" \u3000"))
    return items.list.eval(pl.element().filter(pl.element().str.len_bytes() > 0))


def parse_period(e: pl.Expr) -> pl.Expr:
    """YYYY-MM, YYYY-Qn or YYYY from 2026-3, 2026年3月, 2026Q1, 2026年第1季度, 2026年."""
    s = halfwidth(e).str.to_uppercase()
    month = s.str.extract_groups(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
    quarter = s.str.extract_groups(r"^(\d{4})\s*(?:-|年)?\s*(?:第)?\s*Q?([1-4])\s*(?:季度)?$")
    year = s.str.extract(r"^(\d{4})\s*年?$", 1)
    m = month.struct.field("2").cast(pl.Int32, strict=False)
    by_month = pl.when(m.is_between(1, 12)).then(
        pl.concat_str([month.struct.field("1"), m.cast(pl.Utf8).str.zfill(2)], separator="-"))
    by_quarter = pl.when(s.str.contains("Q|季")).then(
        pl.concat_str([quarter.struct.field("1"), pl.lit("-Q"), quarter.struct.field("2")]))
    return pl.coalesce(by_month, by_quarter, year)


def parse(e: pl.Expr, table: str, column: contract.Column, header_factor: float = 1.0) -> pl.Expr:
    """The parsed value of cleaned text `e` for `column` (region codes are resolved separately)."""
    if column.choices:
        return parse_choice(e, table, column)
    if column.dtype == "date":
        return parse_date(e)
    if column.dtype == "timestamp":
        return parse_timestamp(e)
    if column.dtype == "float":
        return parse_number(e, column.name, header_factor)
    if column.dtype == "int":
        return parse_int(e, column.name)
    if column.dtype == "bool":
        return parse_bool(e)
    if column.dtype == "text_list":
        return parse_list(e)
    if column.name == "period":
        return parse_period(e)
    return e
