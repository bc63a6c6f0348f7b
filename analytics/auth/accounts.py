"""Local accounts: argon2id password hashes, a password policy, throttling and lockout of failed sign-ins.

Nothing here logs or returns a password or a hash: `Account` carries neither, errors name the rule broken,
and the audit log records who and why a sign-in failed, never what was typed.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from analytics import i18n, settings
from analytics.auth import roles, store

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
_HASHER = PasswordHasher()  # argon2id with the library's current recommended parameters
# verified against when the name has no account, so an unknown name takes as long as a wrong password
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
COMMON_PASSWORDS = frozenset({"password1234", "1234567890", "qwertyuiop", "admin12345", "abc1234567",
                              "password123", "1qaz2wsx3edc", "woaini1314520", "a123456789", "zxcvbnm123"})


class AccountError(ValueError):
    """A refused change, by rule: `code` names it (locale key `auth.err_<code>`), `values` fill it."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values
        super().__init__(self.message("en"))

    def message(self, lang: str) -> str:
        return i18n.t(f"auth.err_{self.code}", lang, **{k: str(v) for k, v in self.values.items()})


@dataclass(frozen=True)
class Account:
    username: str
    display_name: str
    role: str
    region_codes: tuple[str, ...]
    domains: tuple[str, ...]
    sso_identity: str | None
    disabled: bool
    has_password: bool
    created_at: str
    created_by: str
    updated_at: str
    last_sign_in_at: str | None
    lang: str | None = None  # the language of the person's notices (zh | en); None: each subscription's
    department: str | None = None  # 部门/单位, as items' lead_dept (rectifications' responsible_dept) give it
    leader_name: str | None = None  # the person's name as items' responsible_leaders give it


@dataclass(frozen=True)
class SignIn:
    """The outcome of one attempt: ok | failed | locked | throttled (`retry_after` seconds for the last two)."""

    status: str
    account: Account | None = None
    retry_after: int = 0
    reason: str = ""  # for the audit log only: unknown, wrong_password, disabled, no_password


def now_text() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def normalise_username(text: str) -> str:
    name = (text or "").strip().lower()
    if not USERNAME_RE.match(name):
        raise AccountError("username")
    return name


def password_problems(password: str, username: str = "") -> list[str]:
    """Which rules of the password policy `password` breaks (locale keys `auth.pw_<rule>`); [] = fine."""
    out = []
    if len(password) < settings.get("COCKPIT_AUTH_MIN_PASSWORD"):
        out.append("length")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        out.append("classes")
    shape_ok = not out  # long enough, letters and digits: only then is its guessability worth a word
    if username and username.lower() in password.lower():
        out.append("username")
    if (password.lower() in COMMON_PASSWORDS or len(set(password)) < 4
            or (shape_ok and _guessable(password, username))):
        out.append("common")
    return out


MIN_GUESSES_LOG10 = 8  # zxcvbn's score 3: "safely unguessable" online (10^8 guesses)


def _guessable(password: str, username: str) -> bool:
    """Whether zxcvbn (the lists it ships: common passwords, English and name frequency lists, keyboard layouts)
    guesses `password` in under 10^8 tries: Password12, qwerty1234, P@ssw0rd2024, asdfghjkl1 and 1qaz2wsx3edc are.
    The user name counts as known to the attacker."""
    from zxcvbn import zxcvbn

    return zxcvbn(password[:100], user_inputs=[username] if username else [])["guesses_log10"] < MIN_GUESSES_LOG10


def _check_password(password: str, username: str) -> None:
    problems = password_problems(password, username)
    if problems:
        raise AccountError("password", rules=", ".join(problems), n=settings.get("COCKPIT_AUTH_MIN_PASSWORD"))


def _check_role(role: str) -> None:
    if role not in roles.ROLE_KEYS:
        raise AccountError("role", role=role, roles=", ".join(roles.ROLE_KEYS))


def _check_regions(codes) -> tuple[str, ...]:
    from analytics.db.store import read_regions_csv

    codes = tuple(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    known = set(read_regions_csv()["region_code"].to_list())
    bad = [c for c in codes if c not in known]
    if bad:
        raise AccountError("region", codes=", ".join(bad))
    return tuple(c for c in codes if c != "100000")  # the nation is the empty scope


def _row(r) -> Account:
    return Account(username=r[0], display_name=r[1], role=r[2], region_codes=tuple(json.loads(r[3])),
                   domains=tuple(json.loads(r[4])), sso_identity=r[5], disabled=bool(r[6]), has_password=bool(r[7]),
                   created_at=r[8], created_by=r[9], updated_at=r[10], last_sign_in_at=r[11], lang=r[12],
                   department=r[13], leader_name=r[14])


_COLUMNS = ("username, display_name, role, region_codes, domains, sso_identity, disabled, password_hash IS NOT NULL, "
            "created_at, created_by, updated_at, last_sign_in_at, lang, department, leader_name")
LANGS = ("zh", "en")
MAX_OWNER_TEXT = 64  # characters of a department or a leader's name


def check_owner_text(text: str | None, what: str) -> str | None:
    """A department or leader name as stored: trimmed, inner runs of white space as one space, None when empty;
    refused (`AccountError`) when longer than MAX_OWNER_TEXT characters or holding control or format characters
    (a line break, a zero-width or direction mark would make it match nothing the data says while looking equal)."""
    import unicodedata

    if text is None:
        return None
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
        raise AccountError(f"{what}_chars")
    text = " ".join(text.split())
    if len(text) > MAX_OWNER_TEXT:
        raise AccountError(f"{what}_length", n=MAX_OWNER_TEXT)
    return text or None


def count(path: str | Path) -> int:
    """How many accounts exist (disabled ones too): 0 means demo mode. No file is 0, and creates none."""
    if not store.exists(path):
        return 0
    with store.connect(path) as con:
        if not store.has_table(con, "users"):
            return 0
        return con.execute("SELECT count(*) FROM users").fetchone()[0]


def get(path: str | Path, username: str) -> Account | None:
    if not store.exists(path):
        return None
    with store.connect(path) as con:
        if not store.has_table(con, "users"):
            return None
        r = con.execute(f"SELECT {_COLUMNS} FROM users WHERE username = ?", (username,)).fetchone()
    return _row(r) if r else None


def by_sso(path: str | Path, identity: str) -> Account | None:
    if not identity or not store.exists(path):
        return None
    with store.connect(path) as con:
        if not store.has_table(con, "users"):
            return None
        r = con.execute(f"SELECT {_COLUMNS} FROM users WHERE sso_identity = ?", (identity.strip().lower(),)).fetchone()
    return _row(r) if r else None


def list_all(path: str | Path) -> list[Account]:
    if not store.exists(path):
        return []
    with store.connect(path) as con:
        if not store.has_table(con, "users"):
            return []
        return [_row(r) for r in con.execute(f"SELECT {_COLUMNS} FROM users ORDER BY username").fetchall()]


def add(path: str | Path, username: str, *, role: str, by: str, password: str | None = None,
        display_name: str = "", region_codes=(), domains=(), sso_identity: str | None = None,
        department: str | None = None, leader_name: str | None = None) -> Account:
    """A new account. It needs a password (checked against the policy) or an SSO identity, or both. `department`
    and `leader_name` (optional) make it an owner of the items whose lead department or responsible leaders they
    are: their notices reach it (analytics/notify/owners.py)."""
    name = normalise_username(username)
    _check_role(role)
    regions = _check_regions(region_codes)
    department, leader_name = check_owner_text(department, "department"), check_owner_text(leader_name, "leader")
    if password is None and not sso_identity:
        raise AccountError("no_credential")
    if password is not None:
        _check_password(password, name)
    stamp = now_text()
    with store.connect(path, write=True) as con:
        if con.execute("SELECT 1 FROM users WHERE username = ?", (name,)).fetchone():
            raise AccountError("exists", username=name)
        sso = sso_identity.strip().lower() if sso_identity else None
        if sso and con.execute("SELECT 1 FROM users WHERE sso_identity = ?", (sso,)).fetchone():
            raise AccountError("sso_taken", identity=sso)
        con.execute("INSERT INTO users (username, display_name, role, region_codes, domains, password_hash, "
                    "sso_identity, disabled, created_at, created_by, updated_at, password_changed_at, department, "
                    "leader_name) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
                    (name, display_name.strip() or name, role, json.dumps(list(regions)),
                     json.dumps(sorted(set(domains)), ensure_ascii=False),
                     _HASHER.hash(password) if password is not None else None, sso, stamp, by, stamp,
                     stamp if password is not None else None, department, leader_name))
    return get(path, name)


def update(path: str | Path, username: str, *, by: str, role: str | None = None, region_codes=None,
           domains=None, display_name: str | None = None, lang: str | None = None, department: str | None = None,
           leader_name: str | None = None) -> Account:
    """Change an account's role, scope, name, the language of its notices, its department or its leader name (the
    next page view of its sessions applies it). `lang`, `department`, `leader_name`: "" clears it, None leaves it
    as it is."""
    current = _existing(path, username)
    department = current.department if department is None else check_owner_text(department, "department")
    leader_name = current.leader_name if leader_name is None else check_owner_text(leader_name, "leader")
    if role is not None:
        _check_role(role)
    if lang not in (None, "", *LANGS):
        raise AccountError("lang", value=lang)
    regions = _check_regions(region_codes) if region_codes is not None else current.region_codes
    with store.connect(path, write=True) as con:
        con.execute("UPDATE users SET role = ?, region_codes = ?, domains = ?, display_name = ?, lang = ?, "
                    "department = ?, leader_name = ?, updated_at = ? WHERE username = ?",
                    (role or current.role, json.dumps(list(regions)),
                     json.dumps(sorted(set(domains if domains is not None else current.domains)), ensure_ascii=False),
                     (display_name or "").strip() or current.display_name,
                     current.lang if lang is None else (lang or None), department, leader_name, now_text(),
                     current.username))
    return get(path, current.username)


def _existing(path, username: str) -> Account:
    account = get(path, normalise_username(username))
    if account is None:
        raise AccountError("unknown", username=username)
    return account


def set_disabled(path: str | Path, username: str, disabled: bool, by: str) -> Account:
    """Disable (its sessions end at their next page view) or enable an account. Accounts are never deleted:
    the audit log names them."""
    account = _existing(path, username)
    with store.connect(path, write=True) as con:
        con.execute("UPDATE users SET disabled = ?, updated_at = ? WHERE username = ?",
                    (int(disabled), now_text(), account.username))
    return get(path, account.username)


def reset_password(path: str | Path, username: str, password: str, by: str) -> Account:
    """A new password (checked against the policy); also lifts a lockout."""
    account = _existing(path, username)
    _check_password(password, account.username)
    stamp = now_text()
    with store.connect(path, write=True) as con:
        con.execute("UPDATE users SET password_hash = ?, password_changed_at = ?, updated_at = ? WHERE username = ?",
                    (_HASHER.hash(password), stamp, stamp, account.username))
        con.execute("DELETE FROM sign_in_failures WHERE username = ?", (account.username,))
        con.execute("DELETE FROM sign_in_failures_by_client WHERE username = ?", (account.username,))
    return get(path, account.username)


def unlock(path: str | Path, username: str) -> None:
    typed = (username or "").strip().lower()
    with store.connect(path, write=True) as con:
        con.execute("DELETE FROM sign_in_failures WHERE username = ?", (typed,))
        con.execute("DELETE FROM sign_in_failures_by_client WHERE username = ?", (typed,))


def throttle_seconds(n_failures: int) -> int:
    """Seconds to wait before the next attempt after `n_failures` failures in a row: 0, 1, 2, 4, … 60."""
    return 0 if n_failures <= 0 else min(2 ** (n_failures - 1), 60)


# A name is locked for everybody only after this many times the per-client limit, counted over every client: so
# failing five times from one machine cannot lock someone out everywhere, and trying passwords from many
# addresses (or behind a spoofed X-Forwarded-For) still ends at a lockout.
NAME_WIDE_FACTOR = 10


def lock_state(path: str | Path, username: str, now: float | None = None) -> tuple[int, float | None]:
    """(failures in a row over every client, the latest lock of the name from any client or for everybody)."""
    now = time.time() if now is None else now
    if not store.exists(path):
        return 0, None
    typed = (username or "").strip().lower()
    with store.connect(path) as con:
        if not store.has_table(con, "sign_in_failures_by_client"):
            return 0, None
        r = con.execute("SELECT n_failures, locked_until FROM sign_in_failures WHERE username = ?", (typed,)).fetchone()
        by_client = con.execute("SELECT max(locked_until) FROM sign_in_failures_by_client WHERE username = ?",
                                (typed,)).fetchone()
    until = max((u for u in ((r[1] if r else None), by_client[0]) if u), default=None)
    return (r[0] if r else 0), (until if until and until > now else None)


def lockouts(path: str | Path, now: float | None = None) -> list[dict]:
    """The locks in force, by client: the client, how many names it locked and which, until when. One client that
    locked many names is guessing names or spraying a password; an administrator sees it here (issue 22)."""
    now = time.time() if now is None else now
    if not store.exists(path):
        return []
    with store.connect(path) as con:
        if not store.has_table(con, "sign_in_failures_by_client"):
            return []
        rows = con.execute("SELECT client, count(*), group_concat(username, ', '), max(locked_until) "
                           "FROM sign_in_failures_by_client WHERE locked_until > ? GROUP BY client "
                           "ORDER BY 2 DESC, 1", (now,)).fetchall()
    return [{"client": c, "n_names": n, "names": names, "until": until} for c, n, names, until in rows]


def authenticate(path: str | Path, username: str, password: str, now: float | None = None,
                 client: str = "") -> SignIn:
    """Check a sign-in from `client` (its address as the app sees it). After COCKPIT_AUTH_MAX_FAILURES failures in a
    row from one client the name is locked for that client for COCKPIT_AUTH_LOCKOUT_MINUTES, and before that each
    failure makes its next attempt wait (`throttle_seconds`); after NAME_WIDE_FACTOR times as many over every client
    it is locked for everybody. The same holds for names that have no account, so the answers tell nothing about
    which names exist."""
    now = time.time() if now is None else now
    typed = (username or "").strip().lower()[:64]
    client = (client or "")[:200]
    max_failures = settings.get("COCKPIT_AUTH_MAX_FAILURES")
    lockout = 60 * settings.get("COCKPIT_AUTH_LOCKOUT_MINUTES")
    with store.connect(path, write=True) as con:
        r = con.execute("SELECT n_failures, locked_until FROM sign_in_failures WHERE username = ?", (typed,)).fetchone()
        name_n, name_until = r if r else (0, None)
        if name_until and now < name_until:
            return SignIn("locked", retry_after=int(name_until - now) + 1, reason="locked")
        if name_until:
            name_n, name_until = 0, None
        r = con.execute("SELECT n_failures, last_failure, locked_until FROM sign_in_failures_by_client "
                        "WHERE username = ? AND client = ?", (typed, client)).fetchone()
        n, last, locked_until = r if r else (0, 0.0, None)
        if locked_until and now < locked_until:
            return SignIn("locked", retry_after=int(locked_until - now) + 1, reason="locked")
        if locked_until:  # the lockout is over: a fresh start
            n, locked_until = 0, None
        wait = last + throttle_seconds(n) - now
        if wait > 0:
            return SignIn("throttled", retry_after=int(wait) + 1, reason="throttled")
        row = con.execute("SELECT password_hash, disabled FROM users WHERE username = ?", (typed,)).fetchone()
        stored = row[0] if row else None
        try:
            ok = _HASHER.verify(stored or _DUMMY_HASH, password or "") and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        reason = ("unknown" if row is None else "no_password" if stored is None else
                  "wrong_password" if not ok else "disabled" if row[1] else "")
        if reason:
            n, name_n = n + 1, name_n + 1
            locked_until = now + lockout if n >= max_failures else None
            name_until = now + lockout if name_n >= max_failures * NAME_WIDE_FACTOR else None
            con.execute("INSERT INTO sign_in_failures_by_client (username, client, n_failures, last_failure, "
                        "locked_until) VALUES (?, ?, ?, ?, ?) ON CONFLICT (username, client) DO UPDATE SET "
                        "n_failures = excluded.n_failures, last_failure = excluded.last_failure, "
                        "locked_until = excluded.locked_until", (typed, client, n, now, locked_until))
            con.execute("INSERT INTO sign_in_failures (username, n_failures, last_failure, locked_until) "
                        "VALUES (?, ?, ?, ?) ON CONFLICT (username) DO UPDATE SET n_failures = excluded.n_failures, "
                        "last_failure = excluded.last_failure, locked_until = excluded.locked_until",
                        (typed, name_n, now, name_until))
            if locked_until or name_until:
                return SignIn("locked", retry_after=int(max(locked_until or 0, name_until or 0) - now), reason=reason)
            return SignIn("failed", retry_after=throttle_seconds(n), reason=reason)
        con.execute("DELETE FROM sign_in_failures WHERE username = ?", (typed,))
        con.execute("DELETE FROM sign_in_failures_by_client WHERE username = ? AND client = ?", (typed, client))
        if _HASHER.check_needs_rehash(stored):
            con.execute("UPDATE users SET password_hash = ? WHERE username = ?", (_HASHER.hash(password), typed))
        con.execute("UPDATE users SET last_sign_in_at = ? WHERE username = ?", (now_text(), typed))
    return SignIn("ok", account=get(path, typed))


def signed_in_by_sso(path: str | Path, identity: str) -> Account | None:
    """The active account an identity provider's identity maps to (None: none, or disabled)."""
    account = by_sso(path, identity)
    if account is None or account.disabled:
        return None
    with store.connect(path, write=True) as con:
        con.execute("UPDATE users SET last_sign_in_at = ? WHERE username = ?", (now_text(), account.username))
    return account
