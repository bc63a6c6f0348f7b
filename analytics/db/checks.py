"""Data tests derived from the contract: keys unique, references resolve, row rules hold.

Types, required columns, allowed values and ranges are enforced by the DDL itself; these are the
rules a column constraint cannot express. Identifiers come from the contract, never from input.
"""
from __future__ import annotations

import duckdb
import polars as pl

from analytics import contract


def _rule_sql(t: contract.Table) -> list[tuple[str, str]]:
    """(rule description, SQL counting the rows that break it, with one example) for table `t`."""
    out = []
    key = ", ".join(t.key)
    out.append((f"key ({key}) unique",
                f"SELECT count(*), any_value(concat_ws('/', {key})) FROM "
                f"(SELECT {key} FROM {t.name} GROUP BY ALL HAVING count(*) > 1)"))
    for r in t.references:
        out.append((f"{r.column} → {r.table}.{r.target}",
                    f"SELECT count(*), any_value(a.{r.column}) FROM {t.name} a "
                    f"WHERE a.{r.column} IS NOT NULL AND NOT EXISTS "
                    f"(SELECT 1 FROM {r.table} b WHERE b.{r.target} = a.{r.column})"))
    for rule in t.rules:
        if isinstance(rule, contract.Order):
            cond = f"{rule.earlier} > {rule.later}"
        else:
            cond = f"{rule.status_column} = '{rule.value}' AND {rule.column} IS NULL"
        first = t.key[0]
        out.append((str(rule), f"SELECT count(*), any_value({first}) FROM {t.name} WHERE {cond}"))
    return out


def violations(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...] | None = None) -> pl.DataFrame:
    """One row per contract rule broken: table, rule, how many rows, one example key (`tables`: only these)."""
    rows = []
    for t in contract.TABLES:
        if tables is not None and t.name not in tables:
            continue
        for rule, sql in _rule_sql(t):
            n, example = con.execute(sql).fetchall()[0]
            if n:
                rows.append({"table": t.name, "rule": rule, "n_rows": n, "example": str(example)})
    return pl.DataFrame(rows, schema={"table": pl.Utf8, "rule": pl.Utf8, "n_rows": pl.Int64, "example": pl.Utf8})
