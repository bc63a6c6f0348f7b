"""What a steward takes away from an upload: the problem report (every problem in their language, summarised
by rule) and the list of every change the upload would make, before → after.

The files go through `analytics.export` (the project's one writer, with its formula guard): the
summary by rule sits in the labelled rows above the table of problems.
"""
from __future__ import annotations

from datetime import date

import polars as pl

from analytics import contract, export, i18n
from analytics.ingest.problems import expected


def _label(table: str | None, column: str | None, lang: str) -> str:
    """A contract column as the reader knows it: 计划完成日期 (planned_end_date)."""
    if not table or not column:
        return ""
    try:
        t = contract.table(table)
        names = [t.column(c.strip()) for c in column.split(",")]
    except KeyError:
        return column
    return "、".join((c.zh if lang == "zh" else c.en) + f" ({c.name})" for c in names)


def _table(table: str | None, lang: str) -> str:
    try:
        t = contract.table(table or "")
    except KeyError:
        return table or ""
    return t.zh if lang == "zh" else t.en


def readable(problems: pl.DataFrame, lang: str) -> pl.DataFrame:
    """One row per problem, headed in the reader's language, with what was expected in words."""
    t = lambda k: i18n.t(f"upload.{k}", lang)  # noqa: E731
    if problems.is_empty():
        return pl.DataFrame(schema={t(k): pl.Utf8 for k in ("col_severity", "col_table", "col_sheet")} |
                            {t("col_row"): pl.Int64} |
                            {t(k): pl.Utf8 for k in ("col_header", "col_field", "col_value", "col_problem")})
    rows = problems.to_dicts()
    return pl.DataFrame({
        t("col_severity"): [t(f"sev_{r['severity']}") for r in rows],
        t("col_table"): [_table(r["table"], lang) for r in rows],
        t("col_sheet"): [r["sheet"] for r in rows],
        t("col_row"): [r["row"] for r in rows],
        t("col_header"): [r["header"] for r in rows],
        t("col_field"): [_label(r["table"], r["column"], lang) for r in rows],
        t("col_value"): [r["value"] for r in rows],
        t("col_problem"): [expected(r["rule"], r["detail"], lang) for r in rows],
    }, schema_overrides={t("col_row"): pl.Int64})


def summary(problems: pl.DataFrame, lang: str) -> pl.DataFrame:
    """One row per (table, rule, column): how many cells, in how many rows, the first row."""
    t = lambda k: i18n.t(f"upload.{k}", lang)  # noqa: E731
    if problems.is_empty():
        return pl.DataFrame(schema={t("col_severity"): pl.Utf8, t("col_table"): pl.Utf8, t("col_rule"): pl.Utf8,
                                    t("col_field"): pl.Utf8, t("col_count"): pl.Int64, t("col_first_row"): pl.Int64})
    g = (problems.group_by("severity", "table", "rule", "column", "header")
         .agg(pl.len().alias("n"), pl.col("row").min().alias("first"), pl.col("detail").first())
         .sort(pl.col("severity") != "error", pl.col("n"), descending=[False, True]))
    rows = g.to_dicts()
    return pl.DataFrame({
        t("col_severity"): [t(f"sev_{r['severity']}") for r in rows],
        t("col_table"): [_table(r["table"], lang) for r in rows],
        t("col_rule"): [t(f"rulename_{r['rule']}") for r in rows],
        t("col_field"): [_label(r["table"], r["column"], lang) or r["header"] for r in rows],
        t("col_count"): [r["n"] for r in rows],
        t("col_first_row"): [r["first"] for r in rows],
    }, schema_overrides={t("col_count"): pl.Int64, t("col_first_row"): pl.Int64})


def to_xlsx(problems: pl.DataFrame, file_name: str, lang: str, as_of: date, version: int) -> bytes:
    t = lambda k, **kw: i18n.t(f"upload.{k}", lang, **kw)  # noqa: E731
    by_rule = summary(problems, lang)
    extra = [(t("report_file"), file_name)]
    for r in by_rule.iter_rows():
        extra.append((f"{r[0]} · {r[2]} · {r[3]}", t("report_cells", n=i18n.fmt_int(r[4], lang),
                                                     row="—" if r[5] is None else str(r[5]))))
    meta = export.meta_for(t("report_title"), "", as_of, version, lang, tuple(extra))
    return export.to_xlsx(readable(problems, lang), meta, sheet=t("report_sheet"))


def to_csv(problems: pl.DataFrame, file_name: str, lang: str, as_of: date, version: int) -> bytes:
    t = lambda k, **kw: i18n.t(f"upload.{k}", lang, **kw)  # noqa: E731
    meta = export.meta_for(t("report_title"), "", as_of, version, lang, ((t("report_file"), file_name),))
    return export.to_csv(readable(problems, lang), meta)


def changes(changed: pl.DataFrame, table: str, lang: str) -> pl.DataFrame:
    """The rows an upload changes (diff.changed_rows: one line per changed column), headed in the reader's language,
    the field as the reader knows it; the page draws it and the CSV writes it."""
    t = lambda k: i18n.t(f"upload.{k}", lang)  # noqa: E731
    fields = {c: _label(table, c, lang) for c in contract.table(table).column_names}
    return changed.select(pl.col("file_row").cast(pl.Int64).alias(t("col_row")), pl.col("row_key").alias(t("key")),
                          pl.col("field").replace(fields).alias(t("col_field")),
                          pl.col("before").alias(t("before")), pl.col("after").alias(t("after")))


def changes_csv(changed: pl.DataFrame, table: str, mode: str, file_name: str, sha256: str, lang: str, as_of: date,
                version: int) -> bytes:
    """Every change of an upload to one table as CSV (UTF-8 with a byte-order mark, so Excel reads Chinese), with
    the file, its SHA-256, the mode and the data version it was compared with written above."""
    t = lambda k, **kw: i18n.t(f"upload.{k}", lang, **kw)  # noqa: E731
    meta = export.meta_for(t("changes_title", table=_table(table, lang)), "", as_of, version, lang,
                           ((t("report_file"), file_name), (t("v_sha"), sha256), (t("mode"), t(f"mode_{mode}"))))
    return export.to_csv(changes(changed, table, lang), meta)
