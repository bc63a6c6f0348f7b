"""Sign-ins that survive a reload, a new tab and a switch to another app process (issue 18): a server-side session
in the accounts store, referenced by an HttpOnly cookie.

The sign-in form is Streamlit's, inside a websocket, and cannot set a cookie. So a successful sign-in writes a
one-time **ticket** (random, stored hashed, valid for `TICKET_SECONDS`, used once) and the page posts it to
`/auth/adopt` (server.py; from this site's own pages only), which exchanges it for a new random session **token** in
a cookie while the page goes on. The token itself is never stored: the store keeps its SHA-256. Every run of the app resolves the
cookie's token here and checks that the session has not ended, is not idle for longer than
COCKPIT_AUTH_IDLE_MINUTES and is younger than COCKPIT_AUTH_SESSION_HOURS; signing out, expiry, disabling the
account end it for every tab and process at their next run.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from analytics import settings
from analytics.auth import store

COOKIE = "cockpit_session"
TICKET_SECONDS = 60
TOUCH_SECONDS = 30  # last_seen is written at most this often per session: a run is not a write
ENDINGS = ("signed_out", "expired", "disabled")
# whether this process serves /auth/adopt (server.py sets it): without the route, a sign-in holds in its tab only
ADOPT_ROUTE = False


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start(path: str | Path, username: str, method: str, now: float | None = None) -> tuple[str, str]:
    """A new session for `username`, just signed in by `method` (password or sso): (its id, held by the tab that
    signed in; a one-time ticket the page may swap for the cookie)."""
    now = time.time() if now is None else now
    sid, ticket = secrets.token_urlsafe(16), secrets.token_urlsafe(32)
    with store.connect(path, write=True) as con:
        con.execute("DELETE FROM session_tickets WHERE created_at < ?", (now - TICKET_SECONDS,))
        con.execute("INSERT INTO web_sessions (sid, username, method, created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
                    (sid, username, method, now, now))
        con.execute("INSERT INTO session_tickets (ticket_hash, sid, created_at) VALUES (?, ?, ?)",
                    (_hash(ticket), sid, now))
    return sid, ticket


def adopt(path: str | Path, ticket: str, client: str = "", now: float | None = None) -> str | None:
    """The cookie's token for a valid ticket, which is used up: a new random token now names the ticket's session.
    None for an unknown, used or stale ticket, or a session that has ended or already has its cookie."""
    now = time.time() if now is None else now
    if not ticket or len(ticket) > 100 or not store.exists(path):
        return None
    token = secrets.token_urlsafe(32)
    with store.connect(path, write=True) as con:
        row = con.execute("DELETE FROM session_tickets WHERE ticket_hash = ? RETURNING sid, created_at",
                          (_hash(ticket),)).fetchone()
        if row is None or now - row[1] > TICKET_SECONDS:
            return None
        done = con.execute("UPDATE web_sessions SET token_hash = ?, client = ? WHERE sid = ? AND token_hash IS NULL "
                           "AND ended_at IS NULL", (_hash(token), client[:200], row[0])).rowcount
    return token if done else None


@dataclass(frozen=True)
class Session:
    sid: str
    username: str
    method: str
    created_at: float
    last_seen: float
    ended: str | None  # None while it holds; else why it ended (ENDINGS) — set by `check`


def check(path: str | Path, sid: str, now: float | None = None) -> Session | None:
    """The session `sid` as of now: ended (with why) when it was signed out, has been idle too long, is older than
    the longest session, or its account is gone or disabled; an expiry found here is written down. A session in use
    has its last_seen moved on. None: no such session."""
    return _check(path, "sid = ?", sid, now)


def resolve(path: str | Path, token: str | None, now: float | None = None) -> Session | None:
    """`check` of the session a cookie's token names (None for no cookie or a token never issued)."""
    return _check(path, "token_hash = ?", _hash(token), now) if token and len(token) <= 100 else None


def _check(path: str | Path, where: str, key: str, now: float | None) -> Session | None:
    from analytics.auth import accounts

    now = time.time() if now is None else now
    if not key or not store.exists(path):
        return None
    with store.connect(path) as con:
        if not store.has_table(con, "web_sessions"):
            return None
        row = con.execute("SELECT sid, username, method, created_at, last_seen, end_reason FROM web_sessions "
                          f"WHERE {where}", (key,)).fetchone()  # `where` is one of the two literals above
    if row is None:
        return None
    s = Session(*row)
    if s.ended:
        return s
    account = accounts.get(path, s.username)
    reason = ("disabled" if account is None or account.disabled
              else "expired" if now - s.last_seen > 60 * settings.get("COCKPIT_AUTH_IDLE_MINUTES")
              or now - s.created_at > 3600 * settings.get("COCKPIT_AUTH_SESSION_HOURS") else None)
    if reason:
        end(path, s.sid, reason, now)
        return Session(s.sid, s.username, s.method, s.created_at, s.last_seen, reason)
    if now - s.last_seen >= TOUCH_SECONDS:
        with store.connect(path, write=True) as con:
            con.execute("UPDATE web_sessions SET last_seen = ? WHERE sid = ? AND ended_at IS NULL", (now, s.sid))
    return s


def end(path: str | Path, sid: str, reason: str, now: float | None = None) -> None:
    """End one session (sign-out, expiry, a disabled account): every tab and process using it is signed out."""
    if reason not in ENDINGS:
        raise ValueError(f"reason {reason!r}: expected one of {', '.join(ENDINGS)}")
    now = time.time() if now is None else now
    with store.connect(path, write=True) as con:
        con.execute("UPDATE web_sessions SET ended_at = ?, end_reason = ? WHERE sid = ? AND ended_at IS NULL",
                    (now, reason, sid))


def end_all(path: str | Path, username: str, reason: str = "disabled", now: float | None = None) -> int:
    """End every session of `username` (an administrator disabled the account or reset its password)."""
    now = time.time() if now is None else now
    if not store.exists(path):
        return 0
    with store.connect(path, write=True) as con:
        return con.execute("UPDATE web_sessions SET ended_at = ?, end_reason = ? WHERE username = ? AND "
                           "ended_at IS NULL", (now, reason, username)).rowcount


def active(path: str | Path, now: float | None = None) -> int:
    """How many sessions hold now (not ended, not idle too long): the metric an operator watches."""
    now = time.time() if now is None else now
    if not store.exists(path):
        return 0
    with store.connect(path) as con:
        if not store.has_table(con, "web_sessions"):
            return 0
        return con.execute("SELECT count(*) FROM web_sessions WHERE ended_at IS NULL AND last_seen >= ? AND "
                           "created_at >= ?", (now - 60 * settings.get("COCKPIT_AUTH_IDLE_MINUTES"),
                                               now - 3600 * settings.get("COCKPIT_AUTH_SESSION_HOURS"))).fetchone()[0]
