"""The people responsible for an item: its lead department and its responsible leaders (the ladder's "sent to the
item's lead department and its responsible leader").

An account with a department (部门/单位, as the items' `lead_dept` and the rectifications' `responsible_dept` write
it) hears of every firing about an item its department leads, or a rectification it is responsible for; an account
with a leader name hears, from the 催办 (urge) step up, of every firing about an item whose `responsible_leaders`
name it (a rectification: those of its item). Always within the account's scope (region and domain): a notice is a
page and obeys the same scope. These notices come in addition to the account's subscriptions, as two streams of
their own with their own idempotency keys and their own "last event received":

- `owner`: the urge and bulletin rules, at once (each scheduler pass with news);
- `owner_daily`: the reminder rules (a department only), daily at COCKPIT_DIGEST_HOUR;

each on the in-app inbox and on every other channel of the account's subscriptions (its e-mail address, the group
robot). An account opts out of a rule as an owner (`owner_optouts`) in its own "My notices"; its subscriptions are
not touched by that. A region's silence has no owner.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analytics.auth.accounts import Account, now_text
from analytics.auth.masking import split_names
from analytics.notify import store
from analytics.notify.rules import DEFAULT_RULES, RuleSet

LEADER_STEPS = ("urge", "bulletin")  # a leader hears of an item from the 催办 step up, not of reminders


@dataclass(frozen=True)
class Stream:
    key: str
    steps: tuple[str, ...]
    frequency: str
    needs_department: bool


STREAMS = (Stream("owner", ("urge", "bulletin"), "immediate", False),
           Stream("owner_daily", ("remind",), "daily", True))
OWNER_RULES = tuple(r.key for r in DEFAULT_RULES if r.subject != "region")  # what an owner may hear of


def _norm(text) -> str:
    return " ".join(str(text or "").split())


def why(account: Account, rule_key: str, step: str, detail: dict, subject: str = "item") -> tuple[str, ...]:
    """Why `account` owns this firing: `dept` (its department leads the item), `dept_rect` (its department is the
    rectification's responsible one), `leader` (it is among the item's responsible leaders, urge step and up);
    () when it does not."""
    out = []
    if account.department and detail.get("owner") and _norm(detail["owner"]) == _norm(account.department):
        out.append("dept_rect" if subject == "rectification" else "dept")
    if account.leader_name and step in LEADER_STEPS:
        name = "".join(account.leader_name.split())
        if name in split_names(detail.get("leaders")):
            out.append("leader")
    return tuple(out)


def is_owner(account: Account) -> bool:
    return bool(account.department or account.leader_name)


def muted(path: str | Path, username: str) -> tuple[str, ...]:
    """The rules `username` opted out of as an owner."""
    with store.connect(path) as con:
        rows = con.execute("SELECT rule_key FROM owner_optouts WHERE username = ?", (username,)).fetchall()
    keys = {r[0] for r in rows}
    return tuple(k for k in OWNER_RULES if k in keys)


def set_muted(path: str | Path, username: str, rule_keys) -> tuple[str, ...]:
    """Replace the rules `username` opted out of as an owner (unknown keys are ignored)."""
    keys = tuple(k for k in OWNER_RULES if k in set(rule_keys))
    with store.connect(path, write=True) as con:
        con.execute("DELETE FROM owner_optouts WHERE username = ?", (username,))
        con.executemany("INSERT INTO owner_optouts (username, rule_key, updated_at) VALUES (?, ?, ?)",
                        [(username, k, now_text()) for k in keys])
    return keys


def subscriptions(path: str | Path, account: Account, ruleset: RuleSet, own: list) -> list:
    """The owner streams of `account` as subscriptions (owner `owner:<name>`, `stream` set): per stream, the
    in-app inbox and each channel of its subscriptions `own` (with their address and language), the stream's rules
    less the ones it opted out of. [] for an account with neither a department nor a leader name."""
    from analytics.notify.subscriptions import Subscription

    if not is_owner(account):
        return []
    off = set(muted(path, account.username))
    by_channel = {"inbox": None} | {s.channel: s for s in own}
    out = []
    for stream in STREAMS:
        if stream.needs_department and not account.department:
            continue
        keys = tuple(k for k in OWNER_RULES if ruleset.get(k).step in stream.steps and k not in off)
        if not keys:
            continue
        for channel, sub in by_channel.items():
            out.append(Subscription(f"owner:{account.username}", channel, keys, (), stream.frequency,
                                    sub.address if sub else "", sub.lang if sub else "zh", stream=stream.key))
    return out
