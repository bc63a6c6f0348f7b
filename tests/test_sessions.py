"""Sign-ins that survive a reload (analytics/auth/sessions.py, issue 18): a ticket is used once and briefly, a
cookie's token names one session, and a session ends for everyone on sign-out, idle expiry, its longest life or a
disabled account."""
from __future__ import annotations

import pytest

from analytics.auth import accounts, sessions, store
from analytics.db import state

PASSWORD = "Yangtze7riverbank"
T0 = 1_800_000_000.0


@pytest.fixture()
def side(tmp_path, monkeypatch):
    monkeypatch.setenv("COCKPIT_AUTH_IDLE_MINUTES", "30")
    monkeypatch.setenv("COCKPIT_AUTH_SESSION_HOURS", "12")
    path = store.path_for(tmp_path / "db.duckdb")
    accounts.add(path, "wuhu", role="leader", by="test", password=PASSWORD, region_codes=["340200"])
    return path


def test_a_ticket_becomes_one_cookie_once_and_only_within_its_minute(side):
    sid, ticket = sessions.start(side, "wuhu", "password", now=T0)
    token = sessions.adopt(side, ticket, client="10.0.0.8", now=T0 + 5)
    assert token and token != ticket
    assert sessions.adopt(side, ticket, now=T0 + 6) is None  # used up
    assert sessions.resolve(side, token, now=T0 + 10).sid == sid
    _, late = sessions.start(side, "wuhu", "password", now=T0)
    assert sessions.adopt(side, late, now=T0 + sessions.TICKET_SECONDS + 1) is None  # stale
    assert sessions.adopt(side, "made-up", now=T0) is None
    assert sessions.resolve(side, "made-up", now=T0) is None and sessions.resolve(side, None) is None
    with state.connect(side, store.SCHEMA) as con:  # neither the ticket nor the token is stored, only their hashes
        stored = " ".join(str(v) for row in con.execute("SELECT * FROM web_sessions").fetchall() for v in row)
    assert token not in stored and ticket not in stored and sessions._hash(token) in stored


def test_a_session_ends_when_idle_or_old_or_signed_out_and_stays_ended(side):
    sid, ticket = sessions.start(side, "wuhu", "password", now=T0)
    token = sessions.adopt(side, ticket, now=T0)
    # used every 20 minutes it holds well past the 30 idle minutes...
    for minutes in (20, 40, 60):
        assert sessions.resolve(side, token, now=T0 + 60 * minutes).ended is None
    # ...but not past 12 hours after signing in
    assert sessions.resolve(side, token, now=T0 + 12 * 3600 + 1).ended == "expired"
    assert sessions.check(side, sid, now=T0 + 60).ended == "expired"  # written down: it does not come back
    sid2, _ = sessions.start(side, "wuhu", "password", now=T0)
    assert sessions.check(side, sid2, now=T0 + 31 * 60).ended == "expired"  # 31 minutes without a run
    sid3, ticket3 = sessions.start(side, "wuhu", "password", now=T0)
    token3 = sessions.adopt(side, ticket3, now=T0)
    sessions.end(side, sid3, "signed_out", now=T0 + 1)
    assert sessions.resolve(side, token3, now=T0 + 2).ended == "signed_out"
    assert sessions.adopt(side, sessions.start(side, "wuhu", "password", now=T0)[1], now=T0 + 1)
    with pytest.raises(ValueError, match="reason 'bored'"):
        sessions.end(side, sid3, "bored")


def test_disabling_the_account_ends_its_sessions_everywhere(side):
    sid, ticket = sessions.start(side, "wuhu", "password", now=T0)
    token = sessions.adopt(side, ticket, now=T0)
    assert sessions.active(side, now=T0 + 1) == 1
    accounts.set_disabled(side, "wuhu", True, by="admin")
    assert sessions.resolve(side, token, now=T0 + 2).ended == "disabled"
    assert sessions.active(side, now=T0 + 3) == 0
    accounts.set_disabled(side, "wuhu", False, by="admin")
    assert sessions.resolve(side, token, now=T0 + 4).ended == "disabled"  # enabling again does not revive it


def test_an_ended_session_cannot_be_given_a_cookie(side):
    sid, ticket = sessions.start(side, "wuhu", "password", now=T0)
    sessions.end(side, sid, "signed_out", now=T0 + 1)
    assert sessions.adopt(side, ticket, now=T0 + 2) is None
