"""File headers → contract columns: the column's name, its zh/en labels and the contract's synonyms,
then a steward's saved named mapping, which wins. Also finds the header row under title rows and
guesses which table a sheet holds."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import polars as pl

from analytics import contract

SCAN_ROWS = 30  # the header must be among a sheet's first rows (title rows, notes, blank rows above it)
MONEY_COLUMNS = ("budget_wan_yuan", "budget_spent_wan_yuan")
_BRACKETS = re.compile(r"[(\[【].*?[)\]】]")
_MARKS = re.compile(r"[\s*:：#△▲★☆※]+")


def norm(text: object) -> str:
    """A header as compared: NFKC (full-width → half-width), lower case, no spaces or required marks."""
    if text is None:
        return ""
    return _MARKS.sub("", unicodedata.normalize("NFKC", str(text))).lower()


def uploadable() -> tuple[contract.Table, ...]:
    return tuple(t for t in contract.TABLES if t.uploadable)


def vocabulary(t: contract.Table) -> dict[str, str]:
    """Normalised header → column of table `t` (its names, labels and synonyms)."""
    out: dict[str, str] = {}
    for c in t.columns:
        words = (c.name, c.zh, c.en, *contract.SYNONYMS.get(c.name, ()), *contract.TABLE_SYNONYMS.get((t.name, c.name), ()))
        for w in words:
            for key in (norm(w), norm(_BRACKETS.sub("", w))):
                if key:
                    out.setdefault(key, c.name)
    return out


def column_for(t: contract.Table, header: object) -> str | None:
    vocab = vocabulary(t)
    key = norm(header)
    return vocab.get(key) or vocab.get(norm(_BRACKETS.sub("", unicodedata.normalize("NFKC", str(header or "")))))


def money_factor(header: object) -> float:
    """What a money column's numbers must be multiplied by to be 万元, from the unit in its header."""
    h = unicodedata.normalize("NFKC", str(header or ""))
    if "亿" in h:
        return 10_000.0
    if "万" in h:
        return 1.0
    if "元" in h or "yuan" in h.lower() and "10k" not in h.lower():
        return 0.0001
    return 1.0


@dataclass
class Mapping:
    """How one sheet's columns map onto a table; `columns[i]` is the contract column of file column i."""

    table: str
    headers: list[str]
    columns: list[str | None]
    how: list[str]  # name | label | synonym | saved | chosen | unknown
    factors: dict[str, float] = field(default_factory=dict)

    def mapped(self) -> dict[str, int]:
        """contract column → the first file column mapped to it."""
        out: dict[str, int] = {}
        for i, c in enumerate(self.columns):
            if c and c not in out:
                out[c] = i
        return out

    def duplicates(self) -> dict[str, list[str]]:
        """contract column → the headers of every file column mapped to it, where there is more than one."""
        seen: dict[str, list[str]] = {}
        for h, c in zip(self.headers, self.columns):
            if c:
                seen.setdefault(c, []).append(h)
        return {c: hs for c, hs in seen.items() if len(hs) > 1}

    def missing_required(self) -> list[str]:
        mapped = set(self.columns)
        return [c for c in contract.table(self.table).required if c not in mapped]

    def as_dict(self) -> dict[str, str | None]:
        return {h: c for h, c in zip(self.headers, self.columns) if h}


def map_headers(table: str, headers: list[str], saved: dict[str, str | None] | None = None) -> Mapping:
    """Map each header; `saved` (header → column or None for "ignore") comes from a named mapping or
    the steward's choices on the mapping screen, and wins over the built-in vocabulary."""
    t = contract.table(table)
    saved_norm = {norm(h): c for h, c in (saved or {}).items()}
    columns, how = [], []
    for h in headers:
        key = norm(h)
        if key and key in saved_norm:
            c = saved_norm[key]
            columns.append(c if c in t.column_names else None)
            how.append("saved")
            continue
        c = column_for(t, h) if key else None
        columns.append(c)
        if c is None:
            how.append("unknown" if key else "blank")
        elif key == norm(c):
            how.append("name")
        elif key in (norm(t.column(c).zh), norm(t.column(c).en)):
            how.append("label")
        else:
            how.append("synonym")
    factors = {c: money_factor(headers[i]) for i, c in enumerate(columns) if c in MONEY_COLUMNS}
    return Mapping(table, [str(h or "") for h in headers], columns, how, factors)


def score(t: contract.Table, row: list[object]) -> int:
    """How many cells of a row are headers of table `t` (distinct columns)."""
    vocab = vocabulary(t)
    return len({vocab[k] for k in (norm(c) for c in row) if k in vocab})


def find_header(cells: pl.DataFrame, table: str | None = None,
                saved: dict[str, str | None] | None = None) -> tuple[int, str | None]:
    """(index of the header row among the sheet's rows, the table it best fits) — the first of the first
    SCAN_ROWS rows naming the most columns of one table; (-1, None) when no row names two."""
    tables = [contract.table(table)] if table else list(uploadable())
    saved_keys = {norm(h) for h in (saved or {})}
    best = (-1, None, 1)
    for i, row in enumerate(cells.head(SCAN_ROWS).iter_rows()):
        for t in tables:
            s = score(t, list(row)) + sum(1 for c in row if norm(c) in saved_keys)
            if s > best[2]:
                best = (i, t.name, s)
    return best[0], best[1]


def table_from_name(name: str) -> str | None:
    """The table a sheet or file name announces (its contract name, labels or a TABLE_NAMES word)."""
    stem = norm(re.sub(r"\.[A-Za-z0-9]+$", "", name))
    for t in uploadable():
        words = {norm(t.name), norm(t.zh), norm(t.en), *(norm(w) for w in contract.TABLE_NAMES.get(t.name, ()))}
        if stem in words:
            return t.name
    return None
