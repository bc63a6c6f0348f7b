"""Shared event notes (issue 20): a policy issued, an inspection visit, a flood, a data gap, on a date or a date range
and a region of any level, shown as markers on the time charts and listed on the data page.

Notes are app state, not data: they live in `<db>.annotations.sqlite` (analytics/db/state.py), so the command line
can write them while the app holds the DuckDB file. A deleted note is kept, flagged (`deleted_at`, `deleted_by`),
and every add, delete and refusal is in the audit log.

Which notes a user sees (the scope rule). A note on region N is visible to a user whose scope holds the regions S
when N lies in the scope (N is some s in S or below it) or N is an ancestor of some s (a national or provincial
event matters to the county); with a national scope every note is visible. A note on a sibling or a cousin of the
scope (another county, another province) is hidden. Notes carry no domain, so a domain scope does not narrow them.
A user may add a note only on a region inside the scope (not on its ancestors, whose notes everyone below sees).

Which notes a chart shows. A chart of region C (None: the nation) over [start, end] shows the visible notes whose
dates overlap [start, end] and whose region is C, an ancestor of C, or a descendant of C (a county's flood shows on
its province's chart).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl

from analytics import auth, i18n
from analytics.auth import audit
from analytics.auth import store as auth_store
from analytics.db import queries, state
from analytics.db.queries import Scope
from analytics.region_tree import RegionTree

SCHEMA = """
CREATE TABLE IF NOT EXISTS annotations (
    annotation_id INTEGER PRIMARY KEY,
    start_date TEXT NOT NULL,          -- ISO date
    end_date TEXT NOT NULL,            -- ISO date, = start_date for one day
    region_code TEXT NOT NULL,         -- any level, the nation (100000) included
    kind TEXT NOT NULL,                -- one of KINDS
    text TEXT NOT NULL,                -- 1 to MAX_TEXT characters, shown as text
    author TEXT NOT NULL,
    created_at TEXT NOT NULL,
    data_version INTEGER,              -- the data version the author was looking at
    deleted_at TEXT,                   -- soft delete: set, the note is no longer shown
    deleted_by TEXT,
    CHECK (end_date >= start_date)
);
"""
KINDS = ("policy", "inspection", "disaster", "data_gap", "other")
MAX_TEXT = 200
NATION = "100000"
# bidirectional overrides and isolates: invisible, and able to make a note read backwards
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
COLUMNS = {"annotation_id": pl.Int64, "start_date": pl.Date, "end_date": pl.Date, "region_code": pl.Utf8,
           "region_name": pl.Utf8, "region_level": pl.Utf8, "kind": pl.Utf8, "text": pl.Utf8, "author": pl.Utf8, "created_at": pl.Utf8,
           "data_version": pl.Int64}


class Invalid(ValueError):
    """A note refused before it is stored: which field, and the locale key saying what was expected."""

    def __init__(self, field: str, key: str, **values):
        self.field, self.key, self.values = field, key, values
        super().__init__(f"{field}: {i18n.t(key, 'en', **values)}")

    def message(self, lang: str) -> str:
        return i18n.t("annotations.invalid", lang, field=i18n.t(f"annotations.field_{self.field}", lang),
                      why=i18n.t(self.key, lang, **self.values))


class Refused(PermissionError):
    """The user may not do this (role, scope or authorship); `key` is the locale key saying why."""

    def __init__(self, key: str):
        self.key = key
        super().__init__(i18n.t(key, "en"))


@dataclass(frozen=True)
class Annotation:
    annotation_id: int
    start_date: date
    end_date: date
    region_code: str
    kind: str
    text: str
    author: str
    created_at: str
    data_version: int | None


def path_for(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".annotations.sqlite")


def region_tree(cur: duckdb.DuckDBPyConnection) -> RegionTree:
    """Every region, the nation included: what notes are checked against and matched by."""
    return RegionTree(queries.run(cur, "annotation_regions"))


def kind_label(kind: str, lang: str) -> str:
    return i18n.t(f"annotations.kind_{kind}", lang)


# ---- the region rules ---------------------------------------------------------------------------------------

def lineage(tree: RegionTree, code: str | None) -> list[str]:
    """`code` and its ancestors up to the nation (None: the nation)."""
    code = code or NATION
    out = []
    while code is not None and code not in out:
        out.append(code)
        code = tree.parent.get(code)
    return out


def _below_any(tree: RegionTree, code: str, roots: set[str]) -> bool:
    return any(c in roots for c in lineage(tree, code))


def visible(tree: RegionTree, scope: Scope, code: str) -> bool:
    """Whether a note on `code` is visible to `scope` (module doc: in the scope, or an ancestor of it)."""
    if not scope.region_codes:
        return True
    roots = set(scope.region_codes)
    return _below_any(tree, code, roots) or any(code in lineage(tree, s) for s in roots)


def may_write(tree: RegionTree, scope: Scope, code: str) -> bool:
    """Whether a user with `scope` may add a note on `code`: only inside the scope."""
    return not scope.region_codes or _below_any(tree, code, set(scope.region_codes))


def applies(tree: RegionTree, chart_region: str | None, code: str) -> bool:
    """Whether a note on `code` belongs on a chart of `chart_region`: the same, an ancestor or a descendant."""
    chart = chart_region or NATION
    return code in lineage(tree, chart) or chart in lineage(tree, code)


# ---- validation ---------------------------------------------------------------------------------------------

def _date(value, field: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise Invalid(field, "annotations.bad_date", value=str(value)[:40]) from None


def clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid("text", "annotations.text_empty")
    if len(text) > MAX_TEXT:
        raise Invalid("text", "annotations.text_long", max=MAX_TEXT, n=len(text))
    if any(unicodedata.category(c) == "Cc" or c in _BIDI for c in text):
        raise Invalid("text", "annotations.text_control")
    return text


def validate(tree: RegionTree, start, end, region_code: str, kind: str, text: str) -> tuple[date, date, str, str, str]:
    """(start, end, region, kind, text) as stored, or `Invalid` naming the first field that is wrong."""
    first = _date(start, "start_date")
    last = first if end in (None, "") else _date(end, "end_date")
    if last < first:
        raise Invalid("end_date", "annotations.end_before_start", start=first.isoformat(), end=last.isoformat())
    code = (region_code or "").strip()
    if code not in tree:
        raise Invalid("region_code", "annotations.unknown_region", code=code[:20])
    if kind not in KINDS:
        raise Invalid("kind", "annotations.bad_kind", kinds=", ".join(KINDS))
    return first, last, code, kind, clean_text(text)


# ---- writing ------------------------------------------------------------------------------------------------

def _connect(db_path: str | Path, write: bool = False):
    return state.connect(path_for(db_path), SCHEMA, write)


def _log(db_path, user: auth.User, action: str, target: str, source: str, **detail) -> None:
    audit.append(auth_store.path_for(db_path), actor=user.username, role=user.role, action=action, target=target,
                 detail=detail, source=source)


def add(db_path: str | Path, tree: RegionTree, user: auth.User, *, start, end=None, region_code: str, kind: str,
        text: str, data_version: int | None = None, source: str = "", now: datetime | None = None) -> Annotation:
    """Store one note for `user` (who needs the `annotate` permission and a region inside the scope) and audit it.
    `Invalid` for a wrong field; `Refused` (audited) for a user who may not."""
    first, last, code, kind, text = validate(tree, start, end, region_code, kind, text)
    if not user.may("annotate") or not may_write(tree, user.scope, code):
        why = "annotations.refused_role" if not user.may("annotate") else "annotations.refused_scope"
        _log(db_path, user, "annotation_refused", code, source, reason=why.rsplit("_", 1)[1], attempted="add")
        raise Refused(why)
    stamp = (now or datetime.now()).isoformat(timespec="seconds")
    with _connect(db_path, write=True) as con:
        cur = con.execute("INSERT INTO annotations (start_date, end_date, region_code, kind, text, author, created_at,"
                          " data_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          (first.isoformat(), last.isoformat(), code, kind, text, user.username, stamp, data_version))
        note = Annotation(cur.lastrowid, first, last, code, kind, text, user.username, stamp, data_version)
    _log(db_path, user, "annotation_add", f"annotation {note.annotation_id}", source, start=first.isoformat(),
         end=last.isoformat(), region=code, kind=kind, text=text)
    return note


def get(db_path: str | Path, annotation_id: int) -> Annotation | None:
    """One note that is not deleted."""
    if not state.exists(path_for(db_path)):
        return None
    with _connect(db_path) as con:
        row = con.execute("SELECT annotation_id, start_date, end_date, region_code, kind, text, author, created_at,"
                          " data_version FROM annotations WHERE annotation_id = ? AND deleted_at IS NULL",
                          (int(annotation_id),)).fetchone()
    if row is None:
        return None
    return Annotation(row[0], date.fromisoformat(row[1]), date.fromisoformat(row[2]), *row[3:])


def may_delete(tree: RegionTree, user: auth.User, note: Annotation) -> bool:
    """Its author, or an administrator, holding `annotate`, and only a note the user can see."""
    return (user.may("annotate") and (note.author == user.username or user.role == "admin")
            and visible(tree, user.scope, note.region_code))


def delete(db_path: str | Path, tree: RegionTree, user: auth.User, annotation_id: int, source: str = "",
           now: datetime | None = None) -> Annotation:
    """Flag one note deleted (it stays in the file) and audit it; `Refused` (audited) when the user may not."""
    note = get(db_path, annotation_id)
    if note is None:
        raise Refused("annotations.refused_missing")
    if not may_delete(tree, user, note):
        _log(db_path, user, "annotation_refused", f"annotation {annotation_id}", source, reason="author",
             attempted="delete")
        raise Refused("annotations.refused_author")
    stamp = (now or datetime.now()).isoformat(timespec="seconds")
    with _connect(db_path, write=True) as con:
        con.execute("UPDATE annotations SET deleted_at = ?, deleted_by = ? WHERE annotation_id = ?",
                    (stamp, user.username, note.annotation_id))
    _log(db_path, user, "annotation_delete", f"annotation {note.annotation_id}", source, region=note.region_code,
         kind=note.kind, text=note.text, author=note.author)
    return note


# ---- reading ------------------------------------------------------------------------------------------------

def _all(db_path: str | Path) -> pl.DataFrame:
    if not state.exists(path_for(db_path)):
        return pl.DataFrame(schema=COLUMNS)
    with _connect(db_path) as con:
        rows = con.execute("SELECT annotation_id, start_date, end_date, region_code, kind, text, author, created_at,"
                           " data_version FROM annotations WHERE deleted_at IS NULL").fetchall()
    return pl.DataFrame(
        [(r[0], date.fromisoformat(r[1]), date.fromisoformat(r[2]), r[3], None, None, *r[4:]) for r in rows],
        schema=COLUMNS, orient="row")


def _named(frame: pl.DataFrame, tree: RegionTree) -> pl.DataFrame:
    codes = frame["region_code"].to_list()
    return frame.with_columns(pl.Series("region_name", [tree.name.get(c, c) for c in codes], pl.Utf8),
                              pl.Series("region_level", [tree.level.get(c) for c in codes], pl.Utf8))


def region_label(code: str, name: str | None, level: str | None, lang: str) -> str:
    """A note's region as the reader's language names it (provinces have English names; other regions keep theirs)."""
    if code == NATION:
        return i18n.t("annotations.nation", lang)
    return i18n.glossary("province" if level == "province" else "region", name or code, lang)


def dates_label(start: date, end: date, lang: str) -> str:
    """"2026年11月3日" or "2026年10月25日–11月10日" / "3 Nov 2026" or "25 Oct 2026 – 10 Nov 2026"."""
    if start == end:
        return i18n.fmt_date(start, lang)
    return f"{i18n.fmt_date(start, lang)}–{i18n.fmt_day(end, lang)}" if lang == "zh" and start.year == end.year \
        else f"{i18n.fmt_date(start, lang)} – {i18n.fmt_date(end, lang)}"


def number_label(n: int) -> str:
    """①…⑳, then (21), (22) …"""
    return chr(0x2460 + n - 1) if 1 <= n <= 20 else f"({n})"


def lines(notes: pl.DataFrame, lang: str) -> list[str]:
    """One plain line per note of a chart, for lists, exports and tests: "① 2026年11月3日 · 安徽省 · 政策出台：text"."""
    colon = "：" if lang == "zh" else ": "
    return [f"{number_label(r['number'])} {dates_label(r['start_date'], r['end_date'], lang)} · "
            f"{region_label(r['region_code'], r['region_name'], r['region_level'], lang)} · "
            f"{kind_label(r['kind'], lang)}{colon}{r['text']}" for r in notes.iter_rows(named=True)]


def for_scope(db_path: str | Path, tree: RegionTree, scope: Scope) -> pl.DataFrame:
    """Every note `scope` may see, the newest first (the data page's list)."""
    notes = _all(db_path)
    notes = notes.filter(pl.Series([visible(tree, scope, c) for c in notes["region_code"]], dtype=pl.Boolean))
    return _named(notes, tree).sort(["created_at", "annotation_id"], descending=True)


def for_chart(db_path: str | Path, tree: RegionTree, scope: Scope, region_code: str | None, start: date,
              end: date) -> pl.DataFrame:
    """The notes a chart of `region_code` over [start, end] shows (module doc), numbered 1, 2, … by date: the
    columns of `COLUMNS` and `number`."""
    notes = _all(db_path).filter((pl.col("start_date") <= end) & (pl.col("end_date") >= start))
    keep = [visible(tree, scope, c) and applies(tree, region_code, c) for c in notes["region_code"]]
    notes = _named(notes.filter(pl.Series(keep, dtype=pl.Boolean)), tree)
    notes = notes.sort(["start_date", "end_date", "annotation_id"])
    return notes.with_row_index("number", offset=1).with_columns(pl.col("number").cast(pl.Int64))
