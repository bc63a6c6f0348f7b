"""What a person would receive now (`python -m analytics notify preview`, the admin page's dry run): the rules
evaluated on the newest data version without recording anything, added to the events they have not yet received."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from analytics.auth import accounts
from analytics.auth import store as auth_store
from analytics.notify import digest as D
from analytics.notify import evaluate, firings, outbox, rules, scheduler, store, subscriptions


class UnknownAccount(LookupError):
    pass


def dry_run(db_path: str | Path, ruleset: rules.RuleSet, cur=None) -> tuple[int, object, list[firings.Event],
                                                                           list[firings.Event]]:
    """(data version, as of, the events an evaluation now would append, the firings that would stand after it).
    `cur`: a cursor of the caller's connection (the app's; DuckDB refuses a second one to the same file in one
    process), else the file is opened read-only."""
    from analytics.db import queries
    from analytics.db import store as db_store

    path = store.path_for(db_path)
    con = cur if cur is not None else db_store.connect(db_path, read_only=True)
    try:
        v = queries.run(con, "data_version")
        version, as_of = int(v["version"][0]), v["as_of"][0]
        lines = evaluate.lines(evaluate.Context(con, str(db_path), version, as_of), ruleset)
    finally:
        if cur is None:
            con.close()
    plan = firings.plan(path, lines)
    pending = firings.pending(plan, version)
    gone = {e.firing_id for e in plan.cleared}
    standing = [e for e in firings.open_firings(path) if e.firing_id not in gone]
    return version, as_of, pending, standing + [e for e in pending if e.kind == "fired"]


def preview(db_path: str | Path, username: str, now: datetime | None = None,
            ruleset: rules.RuleSet | None = None, cur=None) -> list[D.Digest]:
    """One digest per subscription of the account, as it would read if its period were due now, and one per owner
    stream (the items its department leads or it is the leader of: owners.py)."""
    account = accounts.get(auth_store.path_for(db_path), username.strip().lower())
    if account is None:
        raise UnknownAccount(username)
    path = store.path_for(db_path)
    ruleset = ruleset or rules.load(path)
    return _digests(path, account, ruleset, dry_run(db_path, ruleset, cur), now)


def everyone(db_path: str | Path, cur=None, now: datetime | None = None) -> list[D.Digest]:
    """Every active account's digests as they would read now, owners' notices included (the admin page's dry run:
    what goes to whom)."""
    path = store.path_for(db_path)
    ruleset = rules.load(path)
    run = dry_run(db_path, ruleset, cur)
    return [d for a in accounts.list_all(auth_store.path_for(db_path)) if not a.disabled
            for d in _digests(path, a, ruleset, run, now)]


def _digests(path: Path, account, ruleset: rules.RuleSet, run, now: datetime | None) -> list[D.Digest]:
    version, as_of, pending, standing = run
    out = []
    for sub in subscriptions.delivered(path, account, ruleset):
        events = firings.events_after(path, outbox.last_seq(path, account.username, sub.channel, sub.stream)) + pending
        period = scheduler.period_of(sub.frequency, now or datetime.now(), firings.last_seq(path))
        out.append(D.build(account, sub, ruleset, events, standing, period=period, data_version=version,
                           as_of=as_of))
    return out
