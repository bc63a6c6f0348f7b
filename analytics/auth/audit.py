"""The audit trail (全程留痕): who did what, when, from where; each entry carries the hash of the one before.

An entry's hash is SHA-256 over its own fields and the previous entry's hash, so editing an entry breaks
its own hash, and deleting one breaks the link of the next (and leaves a gap in the sequence numbers);
deleting the newest entries is seen from SQLite's own record of the highest number ever issued. `verify`
checks all three. What this cannot stop is someone who rewrites the whole file, recomputing every hash:
`python -m analytics audit verify` prints the newest hash, which an operator can keep elsewhere and
compare later (`--head`).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from collections.abc import Iterable
from pathlib import Path

from analytics.auth import store
from analytics.auth.accounts import now_text

GENESIS = "0" * 64
ACTIONS = ("sign_in", "sign_in_failed", "sign_out", "session_expired", "upload", "upload_refused", "commit",
           "rollback", "export", "export_refused", "retrain", "user_add", "user_change", "user_disable", "user_enable",
           "user_reset", "user_unlock", "commit_recovered", "duplicates_mark", "duplicates_unmark", "duplicates_refused",
           "notify_subscribe", "notify_rules",
           "annotation_add", "annotation_delete", "annotation_refused")


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    actor: str
    role: str
    action: str
    target: str
    detail: dict
    source: str
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Problem:
    seq: int | None
    kind: str  # edited | broken_link | gap | truncated | head_mismatch | missing | anchor_mismatch
    message: str


def entry_hash(seq: int, at: str, actor: str, role: str, action: str, target: str, detail: str, source: str,
               prev_hash: str) -> str:
    payload = json.dumps([seq, at, actor, role, action, target, detail, source, prev_hash], ensure_ascii=False,
                         separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def append(path: str | Path, *, actor: str, role: str, action: str, target: str = "", detail: dict | None = None,
           source: str = "") -> Entry:
    """Add one entry at the end of the chain (one transaction holding the write lock, so concurrent writers
    are chained one after the other). `detail` must never hold a password or a hash of one."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    detail_text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    at = now_text()
    with store.connect(path, write=True) as con:
        last = con.execute("SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        prev = last[0] if last else GENESIS
        cur = con.execute("INSERT INTO audit_log (at, actor, role, action, target, detail, source, prev_hash, hash) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '')",
                          (at, actor, role, action, target, detail_text, source or "", prev))
        seq = cur.lastrowid
        digest = entry_hash(seq, at, actor, role, action, target, detail_text, source or "", prev)
        con.execute("UPDATE audit_log SET hash = ? WHERE seq = ?", (digest, seq))
    return Entry(seq, at, actor, role, action, target, detail or {}, source or "", prev, digest)


def _rows(con, limit: int | None = None, newest_first: bool = False):
    order = "DESC" if newest_first else "ASC"
    sql = f"SELECT seq, at, actor, role, action, target, detail, source, prev_hash, hash FROM audit_log ORDER BY seq {order}"
    return con.execute(sql + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()


def entries(path: str | Path, limit: int | None = 500) -> list[Entry]:
    """The newest entries first."""
    if not store.exists(path):
        return []
    with store.connect(path) as con:
        if not store.has_table(con, "audit_log"):
            return []
        rows = _rows(con, limit, newest_first=True)
    return [Entry(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7], r[8], r[9]) for r in rows]


def newest(path: str | Path) -> tuple[int, str] | None:
    """The newest entry's (number, hash), or None when there is no log or no entry."""
    if not store.exists(path):
        return None
    with store.connect(path) as con:
        if not store.has_table(con, "audit_log"):
            return None
        row = con.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else None


def verify(path: str | Path, head: str | None = None,
           anchors: Iterable[tuple[int, int, str]] = ()) -> tuple[int, str, list[Problem]]:
    """(entries checked, newest hash, problems); no problems means the chain is intact, still holds every entry the
    data versions recorded at their commits (`anchors`: version, entry number, hash, kept in the DuckDB file, which
    an attacker of this file does not also control), and, with `head`, still ends at the hash recorded earlier or
    has only grown from it. A missing file or log with a head or an anchor recorded is a problem, never
    "0 entries, intact"."""
    anchors = list(anchors)
    rows, issued = [], None
    if store.exists(path):
        with store.connect(path) as con:
            if store.has_table(con, "audit_log"):
                rows = _rows(con)
                issued = con.execute("SELECT seq FROM sqlite_sequence WHERE name = 'audit_log'").fetchone()
    problems: list[Problem] = []
    if not rows and (anchors or (head and head != GENESIS)):
        what = "the file is missing" if not store.exists(path) else "it holds no entries"
        problems.append(Problem(None, "missing", f"no audit log at {path} ({what}), but "
                                + (f"data version {anchors[-1][0]} recorded its entry {anchors[-1][1]}" if anchors
                                   else "a newest hash was recorded") + ": it was deleted or replaced"))
        return 0, GENESIS, problems
    prev_hash, prev_seq = GENESIS, 0
    hashes, by_seq = set(), {}
    for seq, at, actor, role, action, target, detail, source, stored_prev, stored in rows:
        if entry_hash(seq, at, actor, role, action, target, detail, source, stored_prev) != stored:
            problems.append(Problem(seq, "edited", f"entry {seq}: its content does not match its hash (edited)"))
        if stored_prev != prev_hash:
            problems.append(Problem(seq, "broken_link", f"entry {seq}: does not follow entry {prev_seq} "
                                    "(an entry before it was deleted or edited)"))
        if seq != prev_seq + 1:
            problems.append(Problem(seq, "gap", f"entries {prev_seq + 1} to {seq - 1} are missing (deleted)"))
        prev_hash, prev_seq = stored, seq
        hashes.add(stored)
        by_seq[seq] = stored
    if issued and issued[0] > prev_seq:
        problems.append(Problem(None, "truncated", f"entries {prev_seq + 1} to {issued[0]} are missing "
                                "(the newest entries were deleted)"))
    for version, seq, digest in anchors:
        if by_seq.get(seq) != digest:
            found = "another entry stands there" if seq in by_seq else "the log has no such entry"
            problems.append(Problem(seq, "anchor_mismatch", f"data version {version} recorded entry {seq} with hash "
                                    f"{digest[:16]}…, but {found} (the log was rewound, replaced or rewritten)"))
    if head and head != prev_hash and head not in hashes:
        problems.append(Problem(None, "head_mismatch", f"the recorded hash {head[:16]}… is not in the chain"))
    return len(rows), prev_hash, problems


def unanchored(n_entries: int, anchors: list[tuple[int, int, str]]) -> tuple[int, int]:
    """The entries after the newest anchor, (first, last): what a check without `--head` cannot vouch for, since
    deleting the newest entries and rewinding SQLite's counter in the same file leaves no trace in it."""
    last = max((seq for _, seq, _ in anchors), default=0)
    return last + 1, n_entries


RECORDED = ("commit", "rollback", "commit_recovered")  # the entries that name a data version they made


def reconcile(path: str | Path, made: Iterable[dict]) -> list[Entry]:
    """Append a `commit_recovered` entry for every data version in `made` (version, kind, created_by, created_at,
    file_name, sha256, source) that no commit, rollback or earlier recovery entry names: the process that committed
    it died before writing its entry (kill -9 between the DuckDB commit and this file). Returns what was added."""
    named = set()
    if store.exists(path):
        with store.connect(path) as con:
            if store.has_table(con, "audit_log"):
                for action, detail in con.execute("SELECT action, detail FROM audit_log").fetchall():
                    if action in RECORDED:
                        named.add(json.loads(detail).get("version"))
    added = []
    for v in made:
        if v["version"] in named:
            continue
        added.append(append(path, actor=v.get("created_by") or "?", role="?", action="commit_recovered",
                            target=v.get("file_name") or v.get("source") or f"v{v['version']}",
                            detail={"version": v["version"], "kind": v.get("kind"), "sha256": v.get("sha256"),
                                    "committed_at": str(v.get("created_at")),
                                    "reason": "the data version has no audit entry"},
                            source="recovered"))
    return added
