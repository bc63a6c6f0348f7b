"""One pass of the scheduler (`python -m analytics notify run`; `serve` repeats it): evaluate the rules on the newest
data version if it has not been, queue each person's digest when its period is due, deliver the outbox.

The rules are loaded once per pass, so every digest of a pass (and the evaluation) uses one rules version, whatever
an administrator saves meanwhile. Queuing and delivery need only the state stores, not the database: while the app
holds the DuckDB file for writing, a pass still sends what is queued and says why it could not evaluate.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from analytics import settings
from analytics.auth import accounts
from analytics.auth import store as auth_store
from analytics.notify import digest as D
from analytics.notify import evaluate, firings, outbox, rules, store, subscriptions


@dataclass
class Report:
    data_version: int | None = None
    rules_version: int | None = None
    fired: int = 0
    cleared: int = 0
    evaluated: bool = False
    not_evaluated: str = ""  # why not, when it could not be
    partial: list = field(default_factory=list)  # rules not judged (no risk scores yet): judged again next pass
    queued: int = 0
    delivered: dict = field(default_factory=dict)


def period_of(frequency: str, now: datetime, last_seq: int) -> str | None:
    """The period whose digest is due at `now`: the latest daily or weekly send time (COCKPIT_DIGEST_HOUR, and
    COCKPIT_DIGEST_WEEKDAY for weekly) at or before now, named by its date or ISO week; for `immediate`, the newest
    event. A period missed while the scheduler was down is sent at its next pass (once: its key is its period)."""
    if frequency == "immediate":
        return f"#{last_seq}"
    hour = settings.get("COCKPIT_DIGEST_HOUR")
    send = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    if frequency == "daily":
        send = send if send <= now else send - timedelta(days=1)
        return send.date().isoformat()
    send -= timedelta(days=(send.weekday() - settings.get("COCKPIT_DIGEST_WEEKDAY")) % 7)
    send = send if send <= now else send - timedelta(days=7)
    year, week, _ = send.isocalendar()
    return f"{year}-W{week:02d}"


def evaluate_newest(db_path: str | Path, path: Path, ruleset: rules.RuleSet) -> Report:
    """Fire and clear on the newest data version (once per rules version), opening the file read-only."""
    from analytics.db import store as db_store

    con = db_store.connect(db_path, read_only=True)
    try:
        return evaluate_on(con, db_path, path, ruleset)
    finally:
        con.close()


def evaluate_on(cur, db_path: str | Path, path: Path, ruleset: rules.RuleSet) -> Report:
    """`evaluate_newest` through a cursor the caller holds (the app's, which has the file open for writing)."""
    from analytics.db import queries

    rep = Report(rules_version=ruleset.version)
    v = queries.run(cur, "data_version")
    if v.is_empty():
        rep.not_evaluated = "the database holds no data version yet"
        return rep
    rep.data_version, as_of = int(v["version"][0]), v["as_of"][0]
    if firings.evaluated(path, rep.data_version, ruleset.version, scores_ready(db_path, rep.data_version)):
        return rep
    lines = evaluate.lines(evaluate.Context(cur, str(db_path), rep.data_version, as_of), ruleset)
    rep.partial = [k for k, found in lines.items() if found is None]
    done = firings.record(path, lines, data_version=rep.data_version, as_of=as_of, rules_version=ruleset.version)
    if done:
        rep.evaluated, (rep.fired, rep.cleared) = True, done
    return rep


def scores_ready(db_path: str | Path, data_version: int) -> bool:
    """Whether the version's slip-risk scores are saved (the risk rule can be judged)."""
    from analytics.risk import scores

    return scores.path_for(db_path, data_version).exists()


def evaluate_in_background(db_path: str | Path, connect, wait_seconds: float = 5, patience: float = 3600) -> None:
    """Evaluate the newest version in a thread of its own with `connect()`'s cursor: the app calls it after each
    commit (while it holds the file, no scheduler process can open it). When a rule could not be judged because the
    version's risk scores are being computed, it waits for that training and judges again."""
    import threading

    from analytics.risk import jobs

    def run() -> None:
        waited = 0.0
        try:
            path = store.path_for(db_path)
            rep = evaluate_on(connect(), db_path, path, rules.load(path))
            while rep.partial and waited < patience:
                job = jobs.current(db_path)
                if job is None or job.done:
                    if job is not None:
                        rep = evaluate_on(connect(), db_path, path, rules.load(path))
                    break
                time.sleep(wait_seconds)
                waited += wait_seconds
        except Exception as e:  # a background thread: say it, never crash the app
            print(f"notifications: evaluating {db_path} failed: {type(e).__name__}: {e}", flush=True)

    threading.Thread(target=run, name="notify-evaluate", daemon=True).start()


def newest_evaluation(path: Path) -> tuple[int, date | None]:
    with store.connect(path) as con:
        row = con.execute("SELECT data_version, as_of FROM evaluations ORDER BY data_version DESC, rules_version DESC "
                          "LIMIT 1").fetchone()
    return (row[0], date.fromisoformat(row[1])) if row else (0, None)


def address_of(account: accounts.Account, sub: subscriptions.Subscription) -> str:
    """Where a digest goes: the e-mail address, the person's inbox, or the group robot ("robot": the one
    COCKPIT_WEBHOOK_URL names; the batching and pacing of robots.py are per this address)."""
    return sub.address if sub.channel == "email" else account.username if sub.channel == "inbox" else "robot"


def queue_due(db_path: str | Path, path: Path, ruleset: rules.RuleSet, now: datetime) -> int:
    """Queue the digest of every active account and subscription whose period is due and that has news, and the
    notices of the items an account owns (its department leads them, it is their leader: owners.py)."""
    version, as_of = newest_evaluation(path)
    standing = firings.open_firings(path)
    newest = firings.last_seq(path)
    n = 0
    read: dict[int, list] = {}  # last event received -> the events after it: most streams share one of a few
    for account in accounts.list_all(auth_store.path_for(db_path)):
        if account.disabled:
            continue
        for sub in subscriptions.delivered(path, account, ruleset):
            period = period_of(sub.frequency, now, newest)
            if period is None or outbox.is_queued(path, account.username, period, sub.channel, sub.stream):
                continue
            seq = outbox.last_seq(path, account.username, sub.channel, sub.stream)
            if seq not in read:
                read[seq] = firings.events_after(path, seq)
            events = read[seq]
            d = D.build(account, sub, ruleset, events, standing, period=period, data_version=version, as_of=as_of)
            if d.is_empty:
                continue
            if outbox.enqueue(path, d, address_of(account, sub), now.timestamp()) is not None:
                n += 1
    return n


def run_once(db_path: str | Path, now: datetime | None = None, deliver: bool = True) -> Report:
    import duckdb

    now = now or datetime.now()
    path = store.path_for(db_path)
    ruleset = rules.load(path)  # one rules version for the whole pass
    try:
        rep = evaluate_newest(db_path, path, ruleset)
    except (duckdb.IOException, duckdb.ConnectionException) as e:
        rep = Report(rules_version=ruleset.version, not_evaluated=f"the database is in use: {str(e).splitlines()[0]}")
    rep.queued = queue_due(db_path, path, ruleset, now)
    if deliver:
        rep.delivered = outbox.deliver(path, now.timestamp())
    return rep


def serve(db_path: str | Path, interval: float, passes: int | None = None, log=print) -> None:
    """Run a pass every `interval` seconds (`passes` of them, or for ever)."""
    done = 0
    while passes is None or done < passes:
        started = time.monotonic()
        rep = run_once(db_path)
        log(summary(rep))
        done += 1
        if passes is None or done < passes:
            time.sleep(max(interval - (time.monotonic() - started), 1))


def summary(rep: Report) -> str:
    what = (f"evaluated data version {rep.data_version} under rules version {rep.rules_version}: "
            f"{rep.fired} fired, {rep.cleared} cleared"
            + (f" (not judged yet, no risk scores: {', '.join(rep.partial)})" if rep.partial else "")
            if rep.evaluated else
            f"not evaluated: {rep.not_evaluated}" if rep.not_evaluated else
            f"data version {rep.data_version} already evaluated under rules version {rep.rules_version}")
    sent = rep.delivered or {}
    paced = (f", {sent['paced']} waiting for their group robot (its pace, or an earlier message to it)"
             if sent.get("paced") else "")
    return (f"{what}; {rep.queued} digest(s) queued; {sent.get('sent', 0)} sent, {sent.get('failed', 0)} failed"
            + paced)
