"""The preview of an upload against the current data, and the SQL of the new state of a table.

Rows are matched on the table's key. A row is *changed* when any column the file supplies differs
(columns the file does not have are not compared: an upsert keeps their current values), *missing*
when the table has it and the file does not (replace removes it; upsert keeps it).

SQL here is generated from the contract: table and column names come only from `contract`, never
from a file; values are never spliced into it (they are in the registered frame).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import polars as pl

from analytics import contract

MODES = ("upsert", "replace")
SAMPLE = 20
SHOWN_CHANGED = 5_000  # changed rows the upload page draws (docs/uploads.md says so); its CSV has every one
# what changes in a row the file shares with the table: one line per changed column, values as text
CHANGED_SCHEMA = {"row_key": pl.Utf8, "field": pl.Utf8, "before": pl.Utf8, "after": pl.Utf8, "file_row": pl.Int64}


@dataclass
class Preview:
    table: str
    mode: str
    rows_new: int
    rows_changed: int
    rows_unchanged: int
    rows_missing: int      # in the table, not in the file
    rows_current: int
    new_sample: pl.DataFrame = field(default_factory=pl.DataFrame)
    missing_sample: pl.DataFrame = field(default_factory=pl.DataFrame)
    orphans: dict[str, int] = field(default_factory=dict)  # table → rows that would refer to removed keys

    @property
    def rows_removed(self) -> int:
        return self.rows_missing if self.mode == "replace" else 0

    @property
    def changes_anything(self) -> bool:
        return bool(self.rows_new or self.rows_changed or self.rows_removed)


def _q(name: str) -> str:
    """An identifier from the contract, quoted."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a contract identifier: {name!r}")
    return f'"{name}"'


def _match(t: contract.Table, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{_q(k)} = {right}.{_q(k)}" for k in t.key)


def new_state_sql(t: contract.Table, incoming: str, supplied: tuple[str, ...], mode: str) -> str:
    """SELECT of the table's rows after the upload (`incoming` is the registered frame of valid rows)."""
    cols = t.column_names
    if mode == "replace":
        return "SELECT " + ", ".join(f"i.{_q(c)}" if c in supplied else f"NULL AS {_q(c)}" for c in cols) + \
            f" FROM {incoming} i"
    if mode != "upsert":
        raise ValueError(f"mode {mode!r}: expected one of {MODES}")
    kept = (f"SELECT {', '.join('c.' + _q(c) for c in cols)} FROM {t.name} c "
            f"WHERE NOT EXISTS (SELECT 1 FROM {incoming} i WHERE {_match(t, 'i', 'c')})")
    updated = ("SELECT " + ", ".join(f"i.{_q(c)}" if c in supplied else f"c.{_q(c)}" for c in cols) +
               f" FROM {incoming} i LEFT JOIN {t.name} c ON {_match(t, 'i', 'c')}")
    return kept + " UNION ALL " + updated


def _as_text(expr: str) -> str:
    return f"CAST({expr} AS VARCHAR)"


def preview(cur: duckdb.DuckDBPyConnection, table: str, valid: pl.DataFrame, supplied: tuple[str, ...],
            mode: str, incoming: str = "_incoming", samples: bool = True) -> Preview:
    """Counts and (`samples`) examples of what committing `valid` in `mode` would do; the changed rows
    themselves, before → after, are `changed_rows`."""
    t = contract.table(table)
    cur.register(incoming, valid)
    try:
        return _preview(cur, t, supplied, mode, incoming, samples)
    finally:
        cur.unregister(incoming)


def _preview(cur, t: contract.Table, supplied, mode, incoming, samples: bool) -> Preview:
    compared = [c for c in supplied if c not in t.key]
    differs = " OR ".join(f"i.{_q(c)} IS DISTINCT FROM c.{_q(c)}" for c in compared) or "FALSE"
    first = _q(t.key[0])
    counts = cur.execute(
        f"""SELECT count(*) FILTER (WHERE c.{first} IS NULL),
                   count(*) FILTER (WHERE c.{first} IS NOT NULL AND ({differs})),
                   count(*) FILTER (WHERE c.{first} IS NOT NULL AND NOT ({differs}))
            FROM {incoming} i LEFT JOIN {t.name} c ON {_match(t, 'i', 'c')}""").fetchall()[0]
    missing, current = cur.execute(
        f"""SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM {incoming} i WHERE {_match(t, 'i', 'c')})),
                   count(*) FROM {t.name} c""").fetchall()[0]
    if not samples:
        return Preview(t.name, mode, counts[0], counts[1], counts[2], missing, current)
    new = cur.sql(f"SELECT i.* FROM {incoming} i WHERE NOT EXISTS (SELECT 1 FROM {t.name} c "
                  f"WHERE {_match(t, 'i', 'c')}) ORDER BY i.__row LIMIT {SAMPLE}").pl()
    gone = cur.sql(f"SELECT c.* FROM {t.name} c WHERE NOT EXISTS (SELECT 1 FROM {incoming} i "
                   f"WHERE {_match(t, 'i', 'c')}) ORDER BY {', '.join('c.' + _q(k) for k in t.key)} "
                   f"LIMIT {SAMPLE}").pl()
    orphans = _orphans(cur, t, incoming) if mode == "replace" and missing else {}
    return Preview(t.name, mode, counts[0], counts[1], counts[2], missing, current, new, gone, orphans)


def changed_rows(cur: duckdb.DuckDBPyConnection, table: str, valid: pl.DataFrame, supplied: tuple[str, ...],
                 incoming: str = "_changed", limit: int | None = None) -> pl.DataFrame:
    """Every row of `valid` whose stored row (same key) differs in a column the file supplies, before → after:
    one line per changed column (row_key, field, before, after, file_row; values as text), in the file's order.
    `limit` keeps the first `limit` changed rows, each with all its changed columns (the page draws a few
    thousand; its CSV has them all)."""
    t = contract.table(table)
    cur.register(incoming, valid)
    try:
        return _changed(cur, t, supplied, incoming, limit)
    finally:
        cur.unregister(incoming)


def _changed(cur, t: contract.Table, supplied, incoming: str, limit: int | None) -> pl.DataFrame:
    compared = [c for c in supplied if c not in t.key]
    if not compared:
        return pl.DataFrame(schema=CHANGED_SCHEMA)
    differs = " OR ".join(f"i.{_q(c)} IS DISTINCT FROM c.{_q(c)}" for c in compared)
    key_text = " || ' / ' || ".join(_as_text(f"i.{_q(k)}") for k in t.key)
    # the changed rows of the file (the first `limit` of them), then what changed in each
    picked = (f"SELECT i.* FROM {incoming} i JOIN {t.name} c ON {_match(t, 'i', 'c')} WHERE {differs} "
              "ORDER BY i.__row" + (" LIMIT $limit" if limit is not None else ""))
    unions = " UNION ALL ".join(
        f"SELECT {key_text} AS row_key, '{c}' AS field, {_as_text('c.' + _q(c))} AS before, "
        f"{_as_text('i.' + _q(c))} AS after, i.__row AS file_row FROM picked i JOIN {t.name} c "
        f"ON {_match(t, 'i', 'c')} WHERE i.{_q(c)} IS DISTINCT FROM c.{_q(c)}" for c in compared)
    params = {"limit": int(limit)} if limit is not None else None
    out = cur.sql(f"WITH picked AS MATERIALIZED ({picked}) SELECT * FROM ({unions}) ORDER BY file_row, field",
                  params=params).pl()
    return out.cast({k: v for k, v in CHANGED_SCHEMA.items() if k in out.columns})


def _orphans(cur, t: contract.Table, incoming: str) -> dict[str, int]:
    """Rows of other tables that would point at keys a replace removes (references must resolve)."""
    out = {}
    for other in contract.TABLES:
        for r in other.references:
            if r.table != t.name or other.name == t.name:
                continue
            n = cur.execute(
                f"""SELECT count(*) FROM {other.name} o WHERE o.{_q(r.column)} IS NOT NULL
                    AND NOT EXISTS (SELECT 1 FROM {incoming} i WHERE i.{_q(r.target)} = o.{_q(r.column)})""").fetchall()
            if n[0][0]:
                out[other.name] = out.get(other.name, 0) + n[0][0]
    return out
