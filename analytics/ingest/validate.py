"""Every contract rule, checked cell by cell before anything is written: each problem says the row the
steward sees in their file, the column as they headed it, the value, and what was expected.

Rules come from the contract (types, required, allowed values, ranges, patterns, row rules, keys,
references); the same rules the database's CHECK constraints and `analytics.db.checks` enforce after a
commit, so a file that passes here cannot fail there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from analytics import contract
from analytics.ingest import normalise as N
from analytics.ingest.mapping import Mapping
from analytics.ingest.problems import PROBLEM_SCHEMA, VALUE_SHOWN, UploadError, empty_problems
from analytics.ingest.readers import Limits, Sheet
from analytics.ingest.regions import Resolver

ROW = "__row"
HTML = r"<\s*[a-zA-Z/!?]"


@dataclass
class Checked:
    """One sheet checked against one table: typed rows (with their file row in `__row`), the problems,
    and which contract columns the file supplied (upsert leaves the others as they are)."""

    table: str
    sheet: str
    frame: pl.DataFrame
    problems: pl.DataFrame
    supplied: tuple[str, ...]
    mapping: Mapping | None = None
    blocked: bool = False  # a problem of the whole table (missing or duplicate column): no row can load
    notes: list[str] = field(default_factory=list)

    @property
    def error_rows(self) -> pl.Series:
        errs = self.problems.filter((pl.col("severity") == "error") & pl.col("row").is_not_null())
        return errs["row"].unique()

    def valid(self) -> pl.DataFrame:
        """The rows without an error (none when the table is blocked)."""
        if self.blocked:
            return self.frame.head(0)
        return self.frame.filter(~pl.col(ROW).is_in(self.error_rows.implode()))


@dataclass
class _Pending:
    """A rule to check on `frame`: evaluated with the others on the same frame in one parallel pass, and
    turned into problem rows only where it found any (clean data costs one pass, not one per rule)."""

    frame: pl.DataFrame
    cond: pl.Expr
    kw: dict


def _problem(frame: pl.DataFrame, cond: pl.Expr, **kw) -> _Pending:
    return _Pending(frame, cond, kw)


def _resolve(found: list) -> list[pl.DataFrame]:
    out = [f for f in found if isinstance(f, pl.DataFrame)]
    groups: dict[int, tuple[pl.DataFrame, list[_Pending]]] = {}
    for f in found:
        if isinstance(f, _Pending):
            groups.setdefault(id(f.frame), (f.frame, []))[1].append(f)
    for frame, pending in groups.values():
        flags = frame.select([p.cond.fill_null(False).alias(f"__c{i}") for i, p in enumerate(pending)])
        hits = flags.select(pl.all().any()).row(0)
        for i, (p, hit) in enumerate(zip(pending, hits)):
            if hit:
                out.append(_rows(frame.filter(flags[f"__c{i}"]), **p.kw))
    return out


def _rows(frame: pl.DataFrame, *, table: str, sheet: str, header: str, column: str,
          raw: str | None, rule: str, detail: str | pl.Expr = "", severity: str = "error") -> pl.DataFrame:
    value = (pl.col(raw).str.replace_all(N.CONTROL, "\ufffd").str.slice(0, VALUE_SHOWN) if raw
             else pl.lit(None, pl.Utf8))
    detail_expr = detail if isinstance(detail, pl.Expr) else pl.lit(detail)
    return frame.select(
        pl.lit(table).alias("table"), pl.lit(sheet).alias("sheet"), pl.col(ROW).cast(pl.Int64).alias("row"),
        pl.lit(header).alias("header"), pl.lit(column).alias("column"), value.alias("value"),
        pl.lit(rule).alias("rule"), detail_expr.cast(pl.Utf8).alias("detail"), pl.lit(severity).alias("severity"))


def _whole(table: str, sheet: str, header: str, column: str, rule: str, detail: str, severity: str = "error"):
    return pl.DataFrame([{"table": table, "sheet": sheet, "row": None, "header": header, "column": column,
                          "value": None, "rule": rule, "detail": detail, "severity": severity}],
                        schema=PROBLEM_SCHEMA)


def allowed_detail(table: str, c: contract.Column) -> str:
    if c.choices:
        return "、".join(f"{ch.zh} / {ch.value}" for ch in c.choices)
    lo = "" if c.min_value is None else f"{c.min_value:g}"
    hi = "" if c.max_value is None else f"{c.max_value:g}"
    return f"{lo}–{hi}"


def rows_of(sheet: Sheet, header_index: int) -> pl.DataFrame:
    """The data rows below the header, each with its file row; rows with no cell at all are skipped
    (a blank line is not a record)."""
    body = sheet.cells.slice(header_index + 1)
    body = body.with_row_index(ROW, offset=sheet.first_row + header_index + 1)
    cols = [c for c in body.columns if c != ROW]
    if not cols:
        return body
    filled = pl.any_horizontal(N.clean(pl.col(c)).is_not_null() for c in cols)
    return body.filter(filled)


# a row whose first filled cell is one of these is a total, not a record: skipped, and the preview says so
TOTAL_WORDS = frozenset({"合计", "总计", "小计", "共计", "总合计", "合计数", "total", "totals", "grandtotal", "subtotal",
                         "sum"})


def _is_total(cells: list) -> bool:
    first = next((c for c in cells if c is not None and str(c).strip()), None)
    if first is None:
        return False
    word = "".join(str(first).split()).rstrip(":：").lower()
    return word in TOTAL_WORDS


def split_totals(body: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the records, the total rows: 合计/总计/小计/Total in their first filled cell). A total row was counted as
    errors in every column it could not fill (issue 17); it is skipped and listed as a note instead."""
    cols = [c for c in body.columns if c != ROW]
    if not cols or body.is_empty():
        return body, body.clear()
    flags = pl.Series([_is_total(list(r)) for r in body.select(cols).iter_rows()], dtype=pl.Boolean)
    return body.filter(~flags), body.filter(flags)


def check(sheet: Sheet, header_index: int, mapping: Mapping, resolver: Resolver, limits: Limits,
          references: dict[tuple[str, str], pl.Series] | None = None) -> Checked:
    """Check a sheet's rows under `mapping`; `references` gives, per (table, column) referenced, the keys
    that exist (in the database or elsewhere in the upload)."""
    t = contract.table(mapping.table)
    body, totals = split_totals(rows_of(sheet, header_index))
    if body.height > limits.max_rows:
        raise UploadError("too_many_rows", {"name": sheet.name, "rows": f"{body.height:,}",
                                            "limit": f"{limits.max_rows:,}"})
    if body.is_empty():
        raise UploadError("header_only", {"name": sheet.name})
    found, blocked = _header_problems(t, sheet, mapping, body)
    mapped = {c: i for c, i in mapping.mapped().items() if i < sheet.width}
    work, regions = _parse(t, body, mapping, mapped, resolver)
    s = _Scope(t, sheet, mapping, mapped, work)
    found += _cell_problems(s, regions, resolver, limits)
    found += _row_problems(s) + _key_problems(s) + _reference_problems(s, references or {})
    if totals.height:  # said once per row, as a note: nothing of it is stored
        first = next(c for c in totals.columns if c != ROW)
        found.append(_rows(totals, table=t.name, sheet=sheet.name, header="", column="", raw=first,
                           rule="total_row", severity="warning"))
    found = [f for f in _resolve(found) if f.height]
    problems = pl.concat(found, how="vertical") if found else empty_problems()
    problems = problems.sort("row", "column", nulls_last=False)
    from analytics.db.store import polars_schema

    schema = polars_schema(t)
    frame = work.select(ROW, *[pl.col(c).cast(schema[c]) for c in t.column_names if c in mapped])
    return Checked(t.name, sheet.name, frame, problems, tuple(c for c in t.column_names if c in mapped), mapping,
                   blocked)


@dataclass
class _Scope:
    """What every rule needs: the table, the sheet, the mapping and the parsed rows (`raw__<col>` text
    beside each parsed `<col>`)."""

    t: contract.Table
    sheet: Sheet
    mapping: Mapping
    mapped: dict[str, int]
    work: pl.DataFrame

    def kw(self, column: str, header: str | None = None, raw: str | None = None) -> dict:
        return dict(table=self.t.name, sheet=self.sheet.name, column=column,
                    header=self.mapping.headers[self.mapped[column]] if header is None else header,
                    raw=f"raw__{column}" if raw is None else raw)


def _header_problems(t: contract.Table, sheet: Sheet, mapping: Mapping, body: pl.DataFrame) -> tuple[list, bool]:
    """Columns mapped twice or missing (no row can load), cells beyond the header, columns not loaded."""
    found, blocked = [], False
    for column, headers in mapping.duplicates().items():
        found.append(_whole(t.name, sheet.name, " / ".join(headers), column, "duplicate_header", " / ".join(headers)))
        blocked = True
    for column in mapping.missing_required():
        c = t.column(column)
        found.append(_whole(t.name, sheet.name, "", column, "missing_column", f"{c.zh} / {c.en} ({column})"))
        blocked = True
    overflow = f"column_{sheet.width + 1}"
    if overflow in body.columns:
        found.append(_problem(body, N.clean(pl.col(overflow)).is_not_null(), table=t.name, sheet=sheet.name,
                              header="", column="", raw=overflow, rule="extra_cells", detail=str(sheet.width)))
    for i, (header, column, how) in enumerate(zip(mapping.headers, mapping.columns, mapping.how)):
        if how in ("saved", "chosen") or column is not None or i >= sheet.width:
            continue  # mapped, or the steward said "do not load" (shown on the mapping screen)
        if body.select(N.clean(pl.col(f"column_{i + 1}")).is_not_null().any()).item():
            found.append(_whole(t.name, sheet.name, header, "", "column_ignored" if header else "no_header",
                                header or f"#{i + 1}", "warning"))
    return found, blocked


def _parse(t: contract.Table, body: pl.DataFrame, mapping: Mapping, mapped: dict[str, int],
           resolver: Resolver) -> tuple[pl.DataFrame, dict]:
    """Cleaned text and parsed value of every mapped column; region names resolved once per distinct name."""
    work = body.select(ROW, *[N.clean(pl.col(f"column_{i + 1}")).alias(f"raw__{c}") for c, i in mapped.items()])
    regions, parsed = {}, []
    for column in mapped:
        raw = pl.col(f"raw__{column}")
        if column == "region_code":
            regions = resolver.resolve(work[f"raw__{column}"].drop_nulls().unique().to_list())
            codes = {v: r[0] for v, r in regions.items()}
            parsed.append(raw.replace_strict(codes, default=None, return_dtype=pl.Utf8).alias(column))
        else:
            parsed.append(N.parse(raw, t.name, t.column(column), mapping.factors.get(column, 1.0)).alias(column))
    return work.with_columns(parsed), regions


TYPE_RULES = {"date": "date", "timestamp": "timestamp", "float": "number", "int": "integer", "bool": "bool"}


def _cell_problems(s: _Scope, regions: dict, resolver: Resolver, limits: Limits) -> list:
    found, work = [], s.work
    for column in s.mapped:
        c = s.t.column(column)
        kw, raw, val = s.kw(column), pl.col(f"raw__{column}"), pl.col(column)
        has_raw = raw.is_not_null()
        found.append(_problem(work, has_raw & raw.str.contains(N.CONTROL), rule="control_chars", **kw))
        found.append(_problem(work, has_raw & (raw.str.len_chars() > limits.max_text), rule="too_long",
                              detail=f"{limits.max_text:,}", **kw))
        if c.required:
            found.append(_problem(work, ~has_raw, rule="required", **kw))
        if column == "region_code":
            why = raw.replace_strict({v: r[1] for v, r in regions.items()}, default="unknown", return_dtype=pl.Utf8)
            found.append(_problem(work, has_raw & why.str.starts_with("ambiguous"), rule="region_ambiguous",
                                  detail=why.str.replace("ambiguous:", ""), **kw))
            found.append(_problem(work, has_raw & ((why == "unknown") | (val.is_not_null()
                                                                       & ~val.is_in(list(resolver.codes)))),
                                  rule="region_unknown", **kw))
            continue
        rule = "choice" if c.choices else "period" if column == "period" else TYPE_RULES.get(c.dtype)
        if rule == "number" and column.endswith("_pct"):
            rule = "percent"
        if rule:
            found.append(_problem(work, has_raw & val.is_null(), rule=rule,
                                  detail=allowed_detail(s.t.name, c) if c.choices else "", **kw))
        if c.min_value is not None or c.max_value is not None:
            lo = val >= c.min_value if c.min_value is not None else pl.lit(True)
            hi = val <= c.max_value if c.max_value is not None else pl.lit(True)
            found.append(_problem(work, val.is_not_null() & ~(lo & hi), rule="range",
                                  detail=allowed_detail(s.t.name, c), **kw))
        if c.pattern:
            found.append(_problem(work, val.is_not_null() & ~val.str.contains(f"^(?:{c.pattern})$"), rule="pattern",
                                  detail=c.pattern, **kw))
        if c.dtype == "text":
            found.append(_problem(work, has_raw & raw.str.contains(HTML), rule="html", severity="warning", **kw))
            found.append(_problem(work, has_raw & raw.str.contains(r"^[=+@]"), rule="formula_text",
                                  severity="warning", **kw))
        if column.endswith("_pct") and s.sheet.kind == "xlsx":  # Excel shows 75% for a cell holding 0.75
            top, fractions = work.select(val.max().alias("top"),
                                         val.is_between(0, 1, closed="none").any().alias("some")).row(0)
            if top is not None and top <= 1 and fractions:
                found.append(_whole(s.t.name, s.sheet.name, kw["header"], column, "percent_fraction", f"{top:g}",
                                    "warning"))
    return found


def _row_problems(s: _Scope) -> list:
    """The contract's row rules: date order, and columns required for a status."""
    found = []
    for r in s.t.rules:
        if isinstance(r, contract.Order) and r.earlier in s.mapped and r.later in s.mapped:
            e, l_ = pl.col(r.earlier), pl.col(r.later)
            kw = s.kw(r.later, header=f"{s.kw(r.earlier)['header']} / {s.kw(r.later)['header']}")
            found.append(_problem(s.work, e.is_not_null() & l_.is_not_null() & (e > l_),
                                  **(kw | {"column": f"{r.earlier}, {r.later}"}), rule="order",
                                  detail=pl.concat_str([pl.col(f"raw__{r.earlier}"), pl.lit(" > "),
                                                        pl.col(f"raw__{r.later}")])))
        elif isinstance(r, contract.RequiredWhen) and r.status_column in s.mapped:
            cond = pl.col(r.status_column) == r.value
            if r.column in s.mapped:
                cond = cond & pl.col(r.column).is_null()
            header = s.kw(r.column)["header"] if r.column in s.mapped else ""
            found.append(_problem(s.work, cond, **s.kw(r.column, header=header, raw=f"raw__{r.status_column}"),
                                  rule="required_when", detail=f"{r.status_column} = {r.value}"))
    return found


def _key_problems(s: _Scope) -> list:
    """Every row sharing a key with another (none of them is guessed to be the right one)."""
    key = list(s.t.key)
    if not all(k in s.mapped for k in key):
        return []
    dup = (s.work.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in key))
           .with_columns(pl.len().over(key).alias("__n"), pl.col(ROW).min().over(key).alias("__first"))
           .filter(pl.col("__n") > 1))
    header = " / ".join(s.kw(k)["header"] for k in key)
    return [_problem(dup, pl.lit(True), **(s.kw(key[0], header=header) | {"column": ", ".join(key)}),
                     rule="duplicate_key",
                     detail=pl.concat_str([pl.col("__n").cast(pl.Utf8), pl.lit(" × "), pl.col("__first").cast(pl.Utf8)]))]


def _reference_problems(s: _Scope, references: dict[tuple[str, str], pl.Series]) -> list:
    found = []
    for ref in s.t.references:
        known = references.get((ref.table, ref.target))
        if ref.column not in s.mapped or ref.table == "regions" or known is None:
            continue  # regions are checked with the names; a table not referenced is not checked
        if ref.table == s.t.name and ref.target in s.mapped:  # a tree within the table: its own rows count
            known = pl.concat([known, s.work[ref.target].drop_nulls()])
        found.append(_problem(s.work, pl.col(ref.column).is_not_null() & ~pl.col(ref.column).is_in(known.implode()),
                              **s.kw(ref.column), rule="reference", detail=f"{ref.table}.{ref.target}"))
    return found
