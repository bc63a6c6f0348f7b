"""The outbox: every digest is queued before it is sent, sent at most once, and retried with backoff until it is.

A message's idempotency key is person + period + channel: queuing it again is a no-op, so two scheduler passes (or
two schedulers) never queue one digest twice. A pass claims due messages in one transaction (state `sending`, with
a lease), so two schedulers never send the same message; a message whose sender died in the lease is due again.
A failure keeps the message with its reason and the time of the next attempt: the retry waits
COCKPIT_NOTIFY_RETRY_SECONDS, doubled at each failure up to an hour. Nothing is dropped.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analytics import settings
from analytics.auth.accounts import now_text
from analytics.notify import channels, robots, store
from analytics.notify.digest import Digest

LEASE_SECONDS = 300
MAX_BACKOFF_SECONDS = 3600


@dataclass(frozen=True)
class Message:
    id: int
    idem_key: str
    username: str
    channel: str
    address: str
    title: str
    body_text: str
    body_markdown: str
    attempts: int


def idem_key(username: str, period: str, channel: str, stream: str = "") -> str:
    """person | period | channel, and the stream for an owner's notices (a subscription's digests keep the key
    they had before owners' notices existed)."""
    return f"{username}|{period}|{channel}" + (f"|{stream}" if stream else "")


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failures: base, 2 × base, 4 × base … up to an hour."""
    return min(settings.get("COCKPIT_NOTIFY_RETRY_SECONDS") * 2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


def enqueue(path: str | Path, digest: Digest, address: str, now: float | None = None) -> int | None:
    """Queue a digest; None when its key is already queued (or sent)."""
    now = time.time() if now is None else now
    with store.connect(path, write=True) as con:
        cur = con.execute(
            "INSERT INTO outbox (idem_key, username, channel, address, period, title, body_text, body_markdown, "
            "last_seq, data_version, rules_version, state, next_attempt_at, created_at, stream) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING",
            (idem_key(digest.username, digest.period, digest.channel, digest.stream), digest.username,
             digest.channel, address, digest.period, digest.title, digest.text, digest.markdown, digest.last_seq,
             digest.data_version, digest.rules_version, now, now_text(), digest.stream))
        return cur.lastrowid if cur.rowcount else None


def is_queued(path: str | Path, username: str, period: str, channel: str, stream: str = "") -> bool:
    """Whether this person's digest of this period on this channel (and stream) is already queued (or sent): not
    built again."""
    with store.connect(path) as con:
        return con.execute("SELECT 1 FROM outbox WHERE idem_key = ?",
                           (idem_key(username, period, channel, stream),)).fetchone() is not None


def last_seq(path: str | Path, username: str, channel: str, stream: str = "") -> int:
    """The newest event a person's queued digests on a channel and stream reported (their next digest on it starts
    after it): a subscription and an owner stream each keep their own place."""
    with store.connect(path) as con:
        return con.execute("SELECT coalesce(max(last_seq), 0) FROM outbox WHERE username = ? AND channel = ? "
                           "AND stream = ?", (username, channel, stream)).fetchone()[0]


def claim(path: str | Path, now: float, limit: int = 100) -> list[Message]:
    with store.connect(path, write=True) as con:
        rows = con.execute(
            "SELECT id, idem_key, username, channel, address, title, body_text, body_markdown, attempts FROM outbox "
            "WHERE state IN ('queued', 'failed', 'sending') AND next_attempt_at <= ? ORDER BY id LIMIT ?",
            (now, limit)).fetchall()
        con.executemany("UPDATE outbox SET state = 'sending', next_attempt_at = ? WHERE id = ?",
                        [(now + LEASE_SECONDS, r[0]) for r in rows])
    return [Message(*r) for r in rows]


def _send(path: str | Path, m: Message) -> None:
    if m.channel == "email":
        channels.send_email(m.address, m.title, m.body_text, m.idem_key.replace("|", "."))
    elif m.channel == "webhook":
        channels.send_webhook(m.title, m.body_markdown)
    else:
        with store.connect(path, write=True) as con:
            con.execute("INSERT INTO inbox (outbox_id, username, title, body_markdown, created_at) "
                        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (outbox_id) DO NOTHING",
                        (m.id, m.username, m.title, m.body_markdown, now_text()))


def deliver(path: str | Path, now: float | None = None) -> dict[str, int]:
    """Send every due message once; returns how many were sent, how many failed (kept for a retry) and how many
    wait for their group robot's pace. Fresh group-robot digests are batched into posts first (robots.py); the
    posts to one robot go in order, one behind the other: when one fails or must wait, the later ones wait too."""
    now = time.time() if now is None else now
    out = {"sent": 0, "failed": 0, "paced": 0}
    with store.connect(path, write=True) as con:
        robots.batch(con, now)
    held: dict[str, float] = {}  # robot address -> when its next message may go (this pass sends it no more)
    for m in claim(path, now):
        if m.channel == "webhook":
            wait = held.get(m.address)
            if wait is None:
                with store.connect(path, write=True) as con:
                    pause = robots.reserve(con, robots.robot_key(settings.get("COCKPIT_WEBHOOK_URL")), now)
                wait = now + pause if pause > 0 else None
            if wait is not None:
                held[m.address] = wait
                with store.connect(path, write=True) as con:
                    con.execute("UPDATE outbox SET state = 'queued', next_attempt_at = ? WHERE id = ?", (wait, m.id))
                out["paced"] += 1
                continue
        try:
            _send(path, m)
        except channels.DeliveryError as e:
            retry = now + backoff(m.attempts + 1)
            with store.connect(path, write=True) as con:
                con.execute("UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?, "
                            "next_attempt_at = ? WHERE id = ?", (str(e), retry, m.id))
            if m.channel == "webhook":
                held[m.address] = retry
            out["failed"] += 1
            continue
        with store.connect(path, write=True) as con:
            con.execute("UPDATE outbox SET state = 'sent', attempts = attempts + 1, last_error = '', sent_at = ? "
                        "WHERE id = ?", (now_text(), m.id))
            # the digests a post carried (the last part of a split one) are delivered with it
            con.execute("UPDATE outbox SET state = 'sent', sent_at = ? WHERE post_id = ? AND state = 'batched'",
                        (now_text(), m.id))
        out["sent"] += 1
    return out


def listing(path: str | Path, limit: int = 200) -> pl.DataFrame:
    """The newest messages with their state, attempts, last error and next attempt (the admin page, `notify outbox`)."""
    with store.connect(path) as con:
        rows = con.execute("SELECT id, created_at, username, channel, period, title, state, attempts, last_error, "
                           "next_attempt_at, sent_at, data_version, rules_version FROM outbox ORDER BY id DESC "
                           "LIMIT ?", (limit,)).fetchall()
    cols = ["id", "created_at", "username", "channel", "period", "title", "state", "attempts", "last_error",
            "next_attempt_at", "sent_at", "data_version", "rules_version"]
    return pl.DataFrame(rows, schema=cols, orient="row", infer_schema_length=None)


def inbox(path: str | Path, username: str, limit: int = 20) -> list[dict]:
    """A person's newest in-app messages, newest first; `read_at` is None for the unread ones."""
    with store.connect(path) as con:
        rows = con.execute("SELECT id, title, body_markdown, created_at, read_at FROM inbox WHERE username = ? "
                           "ORDER BY id DESC LIMIT ?", (username, limit)).fetchall()
    return [dict(zip(("id", "title", "body_markdown", "created_at", "read_at"), r)) for r in rows]


def unread(path: str | Path, username: str) -> int:
    """How many of a person's in-app messages they have not marked read."""
    with store.connect(path) as con:
        return con.execute("SELECT count(*) FROM inbox WHERE username = ? AND read_at IS NULL",
                           (username,)).fetchone()[0]


def mark_read(path: str | Path, username: str, message_id: int) -> bool:
    """Mark one of the person's own messages read; False when it is not theirs, does not exist or was read."""
    with store.connect(path, write=True) as con:
        return con.execute("UPDATE inbox SET read_at = ? WHERE id = ? AND username = ? AND read_at IS NULL",
                           (now_text(), int(message_id), username)).rowcount > 0


def mark_all_read(path: str | Path, username: str) -> int:
    """Mark every unread message of the person read (nobody else's); how many were."""
    with store.connect(path, write=True) as con:
        return con.execute("UPDATE inbox SET read_at = ? WHERE username = ? AND read_at IS NULL",
                           (now_text(), username)).rowcount


def counts(path: str | Path) -> dict[str, int]:
    """How many messages are in each state (queued, sending, sent, failed): the job queue an operator watches."""
    with store.connect(path) as con:
        return dict(con.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
