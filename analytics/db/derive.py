"""Deriving one query's SQL from another's text, so that both use exactly the same formulas."""
from __future__ import annotations


def edit(sql: str, edits: tuple[tuple[str, str], ...], where: str) -> str:
    """`sql` with each (anchor, replacement) applied once, in order. An anchor that is missing or repeated means
    the source query changed shape, and this must fail loudly rather than group or count wrongly; `where` names
    the deriving module in the error."""
    for old, new in edits:
        if sql.count(old) != 1:
            raise RuntimeError(f"{where}: anchor {old!r} found {sql.count(old)} times in the source query")
        sql = sql.replace(old, new)
    return sql
