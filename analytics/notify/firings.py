"""A rule fires once when its condition starts and is reset when it clears: no daily repeat of the same fact.

Each data version is evaluated once per rules version (`evaluations`): the subjects on a rule's line that have no
open firing fire (a new row in `firings`, with the data version and rules version it came from); the open firings
whose subject is no longer on the line are cleared (with the version it cleared in). A subject that clears and later
crosses the line again fires again. Both are appended to `events`, which the digests read in order.

A rule that could not be judged on a version (no saved risk scores) neither fires nor clears; a disabled rule's
open firings stay as they are until it is enabled again.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from analytics.auth.accounts import now_text
from analytics.db import state
from analytics.notify import store
from analytics.notify.evaluate import Line


@dataclass(frozen=True)
class Event:
    seq: int | None  # None: what a dry run would record (a preview)
    kind: str  # fired | cleared
    firing_id: int | None
    rule_key: str
    subject: str
    region_code: str
    domain: str | None
    detail: dict
    data_version: int
    is_open: bool  # the condition still holds


@dataclass(frozen=True)
class Plan:
    """What recording a version's lines would change: the lines that fire, and the open firings that clear."""

    fired: list[Line]
    cleared: list[Event]


def _open(con) -> dict[tuple[str, str], Event]:
    rows = con.execute("SELECT id, rule_key, subject, region_code, domain, detail, data_version FROM firings "
                       "WHERE cleared_version IS NULL").fetchall()
    return {(r[1], r[2]): Event(None, "cleared", r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], False)
            for r in rows}


def _plan(con, lines: dict[str, list[Line] | None]) -> Plan:
    open_ = _open(con)
    fired, now = [], set()
    for key, found in lines.items():
        if found is None:  # not judged on this version: leave its firings alone
            now |= {k for k in open_ if k[0] == key}
            continue
        for line in found:
            now.add((key, line.subject))
            if (key, line.subject) not in open_:
                fired.append(line)
    cleared = [e for k, e in open_.items() if k not in now and k[0] in lines]
    return Plan(fired, cleared)


def plan(path: str | Path, lines: dict[str, list[Line] | None]) -> Plan:
    """What `record` would do with these lines, written nowhere (the preview's dry run)."""
    with store.connect(path) as con:
        return _plan(con, lines)


def evaluated(path: str | Path, data_version: int, rules_version: int, scores_ready: bool = False) -> bool:
    """Whether this version was judged under these rules: completely, or without the risk rule while its scores are
    still missing (`scores_ready` False)."""
    with store.connect(path) as con:
        row = con.execute("SELECT complete FROM evaluations WHERE data_version = ? AND rules_version = ?",
                          (data_version, rules_version)).fetchone()
    return row is not None and (bool(row[0]) or not scores_ready)


def record(path: str | Path, lines: dict[str, list[Line] | None], *, data_version: int, as_of, rules_version: int
           ) -> tuple[int, int] | None:
    """Fire and clear for one data version, in one transaction; None when this version was already judged
    completely under these rules (so running twice changes nothing). Returns (fired, cleared). A version some rule
    could not be judged on (its risk scores are still being computed) is marked incomplete and judged again once
    they are saved: what fired already does not fire twice, and the missing rule gets its turn."""
    stamp = now_text()
    complete = all(found is not None for found in lines.values())
    with store.connect(path, write=True) as con:
        if con.execute("SELECT 1 FROM evaluations WHERE data_version = ? AND rules_version = ? AND complete = 1",
                       (data_version, rules_version)).fetchone():
            return None
        p = _plan(con, lines)
        for line in p.fired:
            cur = con.execute(
                "INSERT INTO firings (rule_key, subject, region_code, domain, data_version, as_of, rules_version, "
                "detail, fired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (line.rule_key, line.subject, line.region_code, line.domain, data_version, str(as_of), rules_version,
                 json.dumps(line.detail, ensure_ascii=False, default=str), stamp))
            con.execute("INSERT INTO events (firing_id, kind, data_version) VALUES (?, 'fired', ?)",
                        (cur.lastrowid, data_version))
        for e in p.cleared:
            con.execute("UPDATE firings SET cleared_version = ?, cleared_as_of = ? WHERE id = ?",
                        (data_version, str(as_of), e.firing_id))
            con.execute("INSERT INTO events (firing_id, kind, data_version) VALUES (?, 'cleared', ?)",
                        (e.firing_id, data_version))
        con.execute("INSERT INTO evaluations (data_version, rules_version, as_of, evaluated_at, n_fired, n_cleared, "
                    "complete) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (data_version, rules_version) DO UPDATE SET "
                    "evaluated_at = excluded.evaluated_at, n_fired = evaluations.n_fired + excluded.n_fired, "
                    "n_cleared = evaluations.n_cleared + excluded.n_cleared, complete = excluded.complete",
                    (data_version, rules_version, str(as_of), stamp, len(p.fired), len(p.cleared), int(complete)))
    return len(p.fired), len(p.cleared)


def events_after(path: str | Path, seq: int) -> list[Event]:
    """Every event after `seq`, oldest first."""
    with store.connect(path) as con:
        rows = con.execute(
            "SELECT e.seq, e.kind, f.id, f.rule_key, f.subject, f.region_code, f.domain, f.detail, e.data_version, "
            "f.cleared_version IS NULL FROM events e JOIN firings f ON f.id = e.firing_id WHERE e.seq > ? "
            "ORDER BY e.seq", (seq,)).fetchall()
    return [Event(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8], bool(r[9])) for r in rows]


def pending(p: Plan, data_version: int) -> list[Event]:
    """A dry run's plan as the events it would append (seq None)."""
    fired = [Event(None, "fired", None, ln.rule_key, ln.subject, ln.region_code, ln.domain, ln.detail, data_version,
                   True) for ln in p.fired]
    cleared = [Event(None, "cleared", e.firing_id, e.rule_key, e.subject, e.region_code, e.domain, e.detail,
                     data_version, False) for e in p.cleared]
    return fired + cleared


def open_firings(path: str | Path) -> list[Event]:
    """Every firing whose condition still holds (the inbox and the dry run's standing counts)."""
    with store.connect(path) as con:
        rows = con.execute("SELECT id, rule_key, subject, region_code, domain, detail, data_version FROM firings "
                           "WHERE cleared_version IS NULL ORDER BY id").fetchall()
    return [Event(None, "fired", r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], True) for r in rows]


def last_seq(path: str | Path) -> int:
    with store.connect(path) as con:
        return con.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]


def open_since(path: str | Path, rule_key: str) -> dict[str, date]:
    """Subject → the as-of date of its open firing of `rule_key` (when the condition was first seen): what the
    ladder's next step counts from. Empty while the store does not exist yet."""
    if not state.exists(path):
        return {}
    with store.connect(path) as con:
        rows = con.execute("SELECT subject, as_of FROM firings WHERE rule_key = ? AND cleared_version IS NULL",
                           (rule_key,)).fetchall()
    return {subject: date.fromisoformat(as_of) for subject, as_of in rows}
