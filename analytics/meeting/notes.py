"""Meetings and their per-slide notes, in a small SQLite file beside the database (`<db>.meetings.sqlite`).

The app may open the DuckDB file read-only, so notes live in a sidecar written with the standard
library, parameterised SQL and one transaction per save. A meeting belongs to a series: its preset
plus the filters other than the period (region, domains, departments, priorities), so the weekly
dispatch for 安徽 is one series whatever period filter the presenter had set. A meeting is one
(series, as-of date); the notes of the newest earlier meeting of the series are shown at the next one.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from analytics.db import state
from analytics.filters import Filters
from analytics.meeting.model import Note

SCHEMA = """
CREATE TABLE IF NOT EXISTS meetings (
    meeting_id INTEGER PRIMARY KEY,
    series_key TEXT NOT NULL,          -- preset + filters other than the period, as JSON
    preset TEXT NOT NULL,
    region_code TEXT,
    as_of TEXT NOT NULL,               -- ISO date the deck was built for
    data_version INTEGER NOT NULL,     -- the version its numbers were frozen at
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    UNIQUE (series_key, as_of)
);
CREATE TABLE IF NOT EXISTS notes (
    meeting_id INTEGER NOT NULL REFERENCES meetings (meeting_id),
    slide_key TEXT NOT NULL,
    text TEXT NOT NULL,
    saved_at TEXT NOT NULL,
    saved_by TEXT NOT NULL,
    PRIMARY KEY (meeting_id, slide_key)
);
"""
MAX_NOTE = 5000  # characters in one note


def path_for(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".meetings.sqlite")


def series_key(preset: str, filters: Filters, scope: tuple = ((), ())) -> str:
    """`scope` (regions, domains) of a user with a limited scope keys the series too, so such a user never reads
    notes written on the national view with the same filters (the national key is unchanged)."""
    key = {"preset": preset, "region": filters.region_code, "domains": sorted(filters.domains),
           "depts": sorted(filters.lead_depts), "priorities": sorted(filters.priorities)}
    if any(scope):
        key["scope"] = [sorted(scope[0]), sorted(scope[1])]
    return json.dumps(key, ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class Meeting:
    meeting_id: int
    as_of: date
    data_version: int
    notes: dict[str, Note]


def _connect(db_path: str | Path, write: bool = False):
    return state.connect(path_for(db_path), SCHEMA, write)


def save_note(db_path: str | Path, preset: str, filters: Filters, as_of: date, data_version: int, slide_key: str,
              text: str, who: str, now: datetime | None = None, scope: tuple = ((), ())) -> Note | None:
    """Record the note for one slide of the meeting (creating the meeting); empty text removes it."""
    text = text.strip()[:MAX_NOTE]
    stamp = (now or datetime.now()).isoformat(timespec="seconds")
    key = series_key(preset, filters, scope)
    with _connect(db_path, write=True) as con:  # one transaction: both rows or neither
        con.execute("INSERT INTO meetings (series_key, preset, region_code, as_of, data_version, created_at, created_by)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series_key, as_of) DO NOTHING",
                    (key, preset, filters.region_code, as_of.isoformat(), data_version, stamp, who))
        (meeting_id,) = con.execute("SELECT meeting_id FROM meetings WHERE series_key = ? AND as_of = ?",
                                    (key, as_of.isoformat())).fetchone()
        if not text:
            con.execute("DELETE FROM notes WHERE meeting_id = ? AND slide_key = ?", (meeting_id, slide_key))
            return None
        con.execute("INSERT INTO notes (meeting_id, slide_key, text, saved_at, saved_by) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (meeting_id, slide_key) DO UPDATE SET text = excluded.text,"
                    " saved_at = excluded.saved_at, saved_by = excluded.saved_by",
                    (meeting_id, slide_key, text, stamp, who))
    return Note(text, who, stamp)


def _meeting(con: sqlite3.Connection, row) -> Meeting:
    meeting_id, as_of, version = row
    notes = {k: Note(text, by, at) for k, text, at, by in con.execute(
        "SELECT slide_key, text, saved_at, saved_by FROM notes WHERE meeting_id = ? ORDER BY slide_key", (meeting_id,))}
    return Meeting(meeting_id, date.fromisoformat(as_of), version, notes)


def meeting(db_path: str | Path, preset: str, filters: Filters, as_of: date, scope: tuple = ((), ())) -> Meeting | None:
    """This meeting (series and as-of date), if anything was saved for it."""
    if not state.exists(path_for(db_path)):
        return None
    with _connect(db_path) as con:
        row = con.execute("SELECT meeting_id, as_of, data_version FROM meetings WHERE series_key = ? AND as_of = ?",
                          (series_key(preset, filters, scope), as_of.isoformat())).fetchone()
        return _meeting(con, row) if row else None


def previous_meeting(db_path: str | Path, preset: str, filters: Filters, as_of: date,
                     scope: tuple = ((), ())) -> Meeting | None:
    """The newest earlier meeting of the same series that recorded at least one note."""
    if not state.exists(path_for(db_path)):
        return None
    with _connect(db_path) as con:
        row = con.execute("SELECT m.meeting_id, m.as_of, m.data_version FROM meetings m WHERE m.series_key = ?"
                          " AND m.as_of < ? AND EXISTS (SELECT 1 FROM notes n WHERE n.meeting_id = m.meeting_id)"
                          " ORDER BY m.as_of DESC LIMIT 1",
                          (series_key(preset, filters, scope), as_of.isoformat())).fetchone()
        return _meeting(con, row) if row else None
