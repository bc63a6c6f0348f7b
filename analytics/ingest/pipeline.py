"""One file's way from bytes to a commit, as the CLI and the upload page both take it:

    upload = read(data, name)                    # sheets, header rows, which table each holds
    checked = check(cur, upload, tables, mappings)   # every rule, every row
    changes = to_changes(checked, mode, valid_only)  # what would be written (or UploadError: rejected)
    versions.commit(cur, changes, ...)           # one transaction, one data version
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from analytics import contract
from analytics.ingest import mapping as M
from analytics.ingest import ledger, readers, validate
from analytics.db import queries, store, versions
from analytics.db.diff import MODES
from analytics.ingest.problems import UploadError, empty_problems
from analytics.ingest.validate import ROW
from analytics.ingest.regions import Resolver

Progress = Callable[[float, str], None]


@dataclass
class Part:
    """One sheet (or file in a zip) of an upload: where its header is and which table it holds."""

    sheet: readers.Sheet
    header_index: int
    table: str | None
    recognised: bool = True  # the header row names known columns (else it is the first row, to map by hand)

    @property
    def headers(self) -> list[str]:
        if self.header_index < 0:
            return []
        row = self.sheet.cells.row(self.header_index)[: self.sheet.width]
        return ["" if c is None else str(c).strip() for c in row]

    @property
    def data_rows(self) -> int:
        return max(self.sheet.cells.height - self.header_index - 1, 0)


@dataclass
class Upload:
    file_name: str
    sha256: str
    size: int
    parts: list[Part]
    skipped: list[str] = field(default_factory=list)  # files in a zip that hold no table
    ledger: Part | None = None  # the sheet holding a monthly 督办台账 (analytics/ingest/ledger.py), if one does

    def part(self, sheet: str) -> Part:
        for p in self.parts:
            if p.sheet.name == sheet:
                return p
        raise KeyError(sheet)


def _first_filled(cells: pl.DataFrame) -> int:
    for i, row in enumerate(cells.head(M.SCAN_ROWS).iter_rows()):
        if any(c is not None and str(c).strip() for c in row):
            return i
    return -1


def read(data: bytes, file_name: str, limits: readers.Limits | None = None, table: str | None = None,
         saved: dict[str, str | None] | None = None, strict: bool = True) -> Upload:
    """Read and recognise an upload (no database needed); `table` forces every sheet to that table.
    A sheet whose header names no known column starts at its first filled row, to be mapped by hand;
    `strict` (the CLI) refuses an upload where no sheet has a header it knows."""
    limits = limits or readers.Limits.from_settings()
    sheets, skipped = readers.read(data, file_name, limits)
    parts = []
    for s in sheets:
        named = table or M.table_from_name(s.name)
        index, guessed = M.find_header(s.cells, named, saved)
        recognised = index >= 0
        if not recognised:
            index = _first_filled(s.cells)
        parts.append(Part(s, index, (named or guessed) if index >= 0 else None, recognised))
    found = None if table else ledger.find(parts)
    if found is None and (all(p.header_index < 0 for p in parts) or (strict and not any(p.recognised for p in parts))):
        raise UploadError("no_header", {"name": file_name})
    return Upload(file_name, hashlib.sha256(data).hexdigest(), len(data), parts, skipped, found)


def _order(name: str | None) -> int:
    names = [t.name for t in contract.TABLES]
    return names.index(name) if name in names else len(names)


def check(cur: duckdb.DuckDBPyConnection, upload: Upload, tables: dict[str, str | None] | None = None,
          mappings: dict[str, dict[str, str | None]] | None = None, modes: dict[str, str] | None = None,
          limits: readers.Limits | None = None, progress: Progress | None = None,
          header_rows: dict[str, int] | None = None) -> list[validate.Checked]:
    """Check every part that holds a table. `tables` maps sheet → table (None: leave the sheet out),
    `mappings` sheet → {header: column} chosen on the mapping screen or from a saved mapping, `modes`
    table → mode (a table being replaced does not count its current keys as references), `header_rows`
    sheet → index of the header row the steward chose instead of the one found."""
    limits = limits or readers.Limits.from_settings()
    tables, mappings, modes = tables or {}, mappings or {}, modes or {}
    resolver = Resolver.from_db(cur)
    parts = [Part(p.sheet, (header_rows or {}).get(p.sheet.name, p.header_index), p.table, p.recognised)
             for p in upload.parts]
    chosen = [(p, tables.get(p.sheet.name, p.table)) for p in parts]
    chosen = sorted([(p, t) for p, t in chosen if t and p.header_index >= 0], key=lambda pt: _order(pt[1]))
    seen = [t for _, t in chosen]
    twice = sorted({t for t in seen if seen.count(t) > 1})
    if twice:
        raise UploadError("table_twice", {"table": ", ".join(twice)})
    in_upload: dict[tuple[str, str], pl.Series] = {}
    out = []
    for n, (part, table) in enumerate(chosen):
        if progress:
            progress(n / max(len(chosen), 1), part.sheet.name)
        t = contract.table(table)
        if not t.uploadable:
            raise UploadError("not_uploadable", {"table": table})
        refs = {}
        for r in t.references:
            if r.table == "regions":
                continue
            key = (r.table, r.target)
            upload_keys = in_upload.get(key)
            replaced = modes.get(r.table) == "replace" and upload_keys is not None
            db_keys = pl.Series(r.target, [], pl.Utf8) if replaced else store.distinct_values(cur, r.table, r.target)
            refs[key] = pl.concat([db_keys.cast(pl.Utf8).rename(r.target)]
                                  + ([upload_keys.cast(pl.Utf8).rename(r.target)] if upload_keys is not None else []))
        m = M.map_headers(table, part.headers, mappings.get(part.sheet.name))
        checked = validate.check(part.sheet, part.header_index, m, resolver, limits, refs)
        valid = checked.valid()
        for c in t.column_names:
            if c in valid.columns:
                in_upload[(t.name, c)] = valid[c]
        out.append(checked)
    if not out:
        raise UploadError("no_table", {"name": upload.file_name})
    _link_regions(cur, out)
    return out


LINKED = ("feedback", "rectifications")  # rows that name an item and carry a region of their own


def _link_regions(cur: duckdb.DuckDBPyConnection, checked: list[validate.Checked]) -> None:
    """A feedback or rectification row linked to an item must lie in the item's region (its region or one inside
    it): a row of another region linked to an item would otherwise be shown with the item to whoever may see the
    item. Each such row is an error naming both codes."""
    items = {}
    for c in checked:
        if c.table == "projects":
            valid = c.valid()
            items |= dict(zip(valid["project_id"].to_list(), valid["region_code"].to_list()))
    for c in checked:
        if c.table not in LINKED or not {"project_id", "region_code"} <= set(c.frame.columns):
            continue
        linked = c.frame.filter(pl.col("project_id").is_not_null() & pl.col("region_code").is_not_null())
        if linked.is_empty():
            continue
        wanted = [k for k in linked["project_id"].unique().to_list() if k not in items]
        if wanted:
            stored = queries.run(cur, "ingest_item_regions", keys=wanted)
            items |= {k: v for k, v in zip(stored["project_id"], stored["region_code"]) if k not in items}
        codes = sorted({items[k] for k in linked["project_id"].to_list() if k in items})
        below = queries.run(cur, "ingest_region_below", codes=codes)
        inside = set(zip(below["ancestor_code"].to_list(), below["region_code"].to_list()))
        bad = [(r[ROW], r["region_code"], r["project_id"], items[r["project_id"]]) for r in linked.iter_rows(named=True)
               if r["project_id"] in items and (items[r["project_id"]], r["region_code"]) not in inside]
        if not bad:
            continue
        header = c.mapping.headers[c.mapping.columns.index("region_code")] if c.mapping and "region_code" in \
            c.mapping.columns else "region_code"
        found = pl.DataFrame([{"table": c.table, "sheet": c.sheet, "row": row, "header": header,
                               "column": "region_code", "value": code, "rule": "link_region",
                               "detail": f"{item} ({item_code})", "severity": "error"}
                              for row, code, item, item_code in bad], schema=c.problems.schema)
        c.problems = pl.concat([c.problems, found])


def problems(checked: list[validate.Checked]) -> pl.DataFrame:
    frames = [c.problems for c in checked if c.problems.height]
    return pl.concat(frames) if frames else empty_problems()


def to_changes(checked: list[validate.Checked], modes: dict[str, str] | str, valid_only: bool) -> list[versions.Change]:
    """What to write: every row, or (`valid_only`) the rows without an error. A file with errors is
    rejected unless `valid_only`; never is a row dropped or changed without being listed."""
    errors = problems(checked).filter(pl.col("severity") == "error")
    if errors.height and not valid_only:
        raise UploadError("rejected", {"errors": f"{errors.height:,}",
                                       "rows": f"{errors['row'].drop_nulls().n_unique():,}"})
    out = []
    for c in checked:
        mode = modes if isinstance(modes, str) else modes.get(c.table, "upsert")
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: expected one of {MODES}")
        valid = c.valid()
        if valid.is_empty():
            continue
        out.append(versions.Change(c.table, mode, valid, c.supplied, c.frame.height - valid.height))
    if not out:
        raise UploadError("nothing_valid", {})
    return out


def preview(cur, changes: list[versions.Change]):
    """table → diff.Preview of each change against the current data."""
    from analytics.db import diff

    return {ch.table: diff.preview(cur, ch.table, ch.frame, ch.supplied, ch.mode, f"_preview_{i}")
            for i, ch in enumerate(changes)}


def changed_rows(cur, change: versions.Change, limit: int | None = None) -> pl.DataFrame:
    """Every row `change` would change, before → after (one line per changed column, in the file's order);
    `limit`: only the first `limit` changed rows. See diff.changed_rows."""
    from analytics.db import diff

    return diff.changed_rows(cur, change.table, change.frame, change.supplied, f"_changed_{change.table}", limit)
