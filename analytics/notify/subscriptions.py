"""Who receives what: per account (or per role, for every account of it without its own), which rules, which regions
(never beyond the account's scope: refused), which channel, how often, and in which language.

An account without a subscription of its own gets its role's, saved by an administrator, else the declared default
below: every role hears of the ladder's steps that fall to it, in the in-app inbox, weekly.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

from analytics.auth.accounts import Account, now_text
from analytics.db.queries import Scope
from analytics.notify import store
from analytics.notify.rules import RULE_KEYS

CHANNELS = ("inbox", "email", "webhook")
FREQUENCIES = ("immediate", "daily", "weekly")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Subscription:
    owner: str  # user:<name> | role:<role>
    channel: str
    rule_keys: tuple[str, ...]
    region_codes: tuple[str, ...] = ()  # () = the account's whole scope
    frequency: str = "weekly"
    address: str = ""  # the e-mail address of the email channel
    lang: str = "zh"
    stream: str = ""  # "": a subscription; owner, owner_daily: an owner's notices (analytics/notify/owners.py)


# role -> the rules it hears of by default (leaders: the bulletins and what is overdue; stewards: reporting)
ROLE_RULES = {
    "leader": ("overdue", "red_weeks", "unanswered", "high_risk"),
    "analyst": RULE_KEYS,
    "presenter": ("red_weeks", "unanswered", "high_risk"),
    "steward": ("silent", "due_soon", "rect_overdue"),
    "admin": RULE_KEYS,
}


class SubscriptionError(ValueError):
    """A refused subscription: `code` names the rule broken (locale key `notify.err_<code>`)."""

    def __init__(self, code: str, **values):
        self.code, self.values = code, values
        super().__init__(f"{code}: {values}")


@lru_cache(maxsize=1)
def _parents() -> dict[str, str | None]:
    from analytics.db.store import read_regions_csv

    frame = read_regions_csv()
    return dict(zip(frame["region_code"].to_list(), frame["parent_code"].to_list()))


@lru_cache(maxsize=8192)
def ancestors(code: str) -> tuple[str, ...]:
    """`code` and every region above it (GB/T 2260, data/regions.csv); () for an unknown code. Cached: a pass asks
    it for every firing and every account."""
    parents, out = _parents(), []
    while code in parents and code not in out:
        out.append(code)
        code = parents[code]
    return tuple(out)


def within(code: str, region_codes) -> bool:
    """Whether region `code` lies in (or is) one of `region_codes`; () is the nation."""
    return not region_codes or bool(set(ancestors(code)) & set(region_codes))


def in_scope(region_code: str, domain: str | None, scope: Scope, region_rule: bool = False) -> bool:
    """The scope's rule for a firing (analytics/db/scope.py): its region lies in the scope and, under a domain
    scope, its domain is one of the scope's (a region's silence has no domain: it lies in no domain scope)."""
    if scope.domains and (region_rule or domain not in scope.domains):
        return False
    return within(region_code, scope.region_codes)


def check(account: Account, sub: Subscription) -> Subscription:
    """`sub` checked for `account`: known channel, frequency, rules and language; regions known and within the
    account's scope (refused otherwise, never silently narrowed); an address for e-mail."""
    if sub.channel not in CHANNELS:
        raise SubscriptionError("channel", channel=sub.channel)
    if sub.frequency not in FREQUENCIES:
        raise SubscriptionError("frequency", frequency=sub.frequency)
    unknown = set(sub.rule_keys) - set(RULE_KEYS)
    if unknown or not sub.rule_keys:
        raise SubscriptionError("rules", rules=", ".join(sorted(unknown)))
    if sub.lang not in ("zh", "en"):
        raise SubscriptionError("lang", lang=sub.lang)
    bad = [c for c in sub.region_codes if not ancestors(c)]
    if bad:
        raise SubscriptionError("region", codes=", ".join(bad))
    beyond = [c for c in sub.region_codes if not within(c, account.region_codes)]
    if beyond:
        raise SubscriptionError("beyond_scope", codes=", ".join(beyond))
    if sub.channel == "email" and not EMAIL_RE.match(sub.address):
        raise SubscriptionError("address", address=sub.address)
    return replace(sub, owner=f"user:{account.username}", rule_keys=tuple(k for k in RULE_KEYS if k in sub.rule_keys))


def _write(path: str | Path, sub: Subscription, by: str) -> None:
    with store.connect(path, write=True) as con:
        con.execute("INSERT INTO subscriptions (owner, channel, rule_keys, region_codes, frequency, address, lang, "
                    "updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owner, channel) DO "
                    "UPDATE SET rule_keys = excluded.rule_keys, region_codes = excluded.region_codes, "
                    "frequency = excluded.frequency, address = excluded.address, lang = excluded.lang, "
                    "updated_at = excluded.updated_at, updated_by = excluded.updated_by",
                    (sub.owner, sub.channel, json.dumps(list(sub.rule_keys)), json.dumps(list(sub.region_codes)),
                     sub.frequency, sub.address, sub.lang, now_text(), by))


def save(path: str | Path, account: Account, sub: Subscription, by: str) -> Subscription:
    """Save an account's own subscription on one channel (checked: `SubscriptionError` when refused)."""
    sub = check(account, sub)
    _write(path, sub, by)
    return sub


def save_for_role(path: str | Path, role: str, sub: Subscription, by: str) -> Subscription:
    """Save a role's subscription (regions: none, since accounts of a role have different scopes)."""
    from analytics.auth import roles

    if role not in roles.ROLE_KEYS:
        raise SubscriptionError("role", role=role)
    probe = Account(f"role-{role}", "", role, (), (), None, False, False, "", "", "", None)
    sub = replace(check(probe, replace(sub, region_codes=())), owner=f"role:{role}")
    _write(path, sub, by)
    return sub


def remove(path: str | Path, owner: str, channel: str) -> None:
    with store.connect(path, write=True) as con:
        con.execute("DELETE FROM subscriptions WHERE owner = ? AND channel = ?", (owner, channel))


def _rows(path: str | Path, owner: str) -> list[Subscription]:
    with store.connect(path) as con:
        rows = con.execute("SELECT owner, channel, rule_keys, region_codes, frequency, address, lang "
                           "FROM subscriptions WHERE owner = ? ORDER BY channel", (owner,)).fetchall()
    return [Subscription(r[0], r[1], tuple(json.loads(r[2])), tuple(json.loads(r[3])), r[4], r[5], r[6])
            for r in rows]


def default_for(role: str) -> list[Subscription]:
    return [Subscription(f"role:{role}", "inbox", ROLE_RULES.get(role, RULE_KEYS))]


def effective(path: str | Path, account: Account) -> list[Subscription]:
    """The subscriptions in force for an account: its own, else its role's, else the role's default."""
    return (_rows(path, f"user:{account.username}") or _rows(path, f"role:{account.role}")
            or default_for(account.role))


def delivered(path: str | Path, account: Account, ruleset) -> list[Subscription]:
    """Everything an account receives: its subscriptions in force (`effective`), then its owner streams, if its
    department or leader name make it an owner of items (analytics/notify/owners.py)."""
    from analytics.notify import owners

    subs = effective(path, account)
    return subs + owners.subscriptions(path, account, ruleset, subs)


def scope_of(account: Account, sub: Subscription) -> Scope:
    """The scope a subscription reads: its regions (each within the account's scope, or dropped if the account's
    scope has since shrunk), else the account's own; the account's domains always."""
    regions = tuple(c for c in sub.region_codes if within(c, account.region_codes))
    if sub.region_codes and not regions:  # every chosen region is now outside the scope: nothing, not everything
        regions = ("000000",)
    return Scope(regions or tuple(account.region_codes), tuple(account.domains))
