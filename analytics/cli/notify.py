"""Notifications: notify preview | run | serve | rules | subscribe | outbox (analytics/notify, docs/notifications.md)."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from analytics import settings


def _store(args) -> Path:
    from analytics.notify import store

    return store.path_for(args.db)


def _audit(args, action: str, target: str, **detail) -> None:
    """Rule edits and subscriptions go to the audit trail like every other change (analytics/auth/audit.py)."""
    from analytics.auth import audit
    from analytics.auth import store as auth_store
    from analytics.cli.users import _actor

    audit.append(auth_store.path_for(args.db), actor=_actor(), role="admin", action=action, target=target,
                 detail=detail, source="cli")


def cmd_preview(args) -> int:
    from analytics.notify import preview

    try:
        digests = preview.preview(args.db, args.user)
    except preview.UnknownAccount:
        print(f"no account {args.user!r} in {args.db}.auth.sqlite", file=sys.stderr)
        return 2
    if args.json:
        out = [{k: v for k, v in asdict(d).items() if k not in ("text", "markdown")} for d in digests]
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1, default=str)
        print()
        return 0
    why = {"": "subscription", "owner": "as owner (lead department, leader), at once", "owner_daily":
           "as owner (lead department), daily"}
    for d in digests:
        print(f"--- {d.channel} ({d.lang}) · {why.get(d.stream, d.stream)} ---")
        print(d.text)
    return 0


def cmd_run(args) -> int:
    from analytics.notify import scheduler

    rep = scheduler.run_once(args.db, deliver=not args.no_deliver)
    print(scheduler.summary(rep))
    return 0


def cmd_serve(args) -> int:
    from analytics.notify import scheduler

    print(f"notifications for {args.db}: a pass every {args.interval:g} s (Ctrl-C stops)", flush=True)
    try:
        scheduler.serve(args.db, args.interval, passes=args.passes, log=lambda s: print(s, flush=True))
    except KeyboardInterrupt:
        pass
    return 0


def cmd_rules(args) -> int:
    """List the rules in force, or save an edit: --set KEY.PARAM=N, --enable KEY, --disable KEY."""
    from analytics.notify import rules

    path = _store(args)
    if args.set or args.enable or args.disable:
        overrides = rules.overrides_of(path)
        for item in args.set or []:
            key_param, _, value = item.partition("=")
            key, _, param = key_param.partition(".")
            try:
                number = int(value)
            except ValueError:
                print(f"refused: {item!r}: expected KEY.PARAM=whole number", file=sys.stderr)
                return 2
            overrides.setdefault(key, {}).setdefault("params", {})[param] = number
        for key in args.enable or []:
            overrides.setdefault(key, {})["enabled"] = True
        for key in args.disable or []:
            overrides.setdefault(key, {})["enabled"] = False
        try:
            saved = rules.save(path, overrides, by="cli")
        except rules.RuleError as e:
            print(f"refused: {e}", file=sys.stderr)
            return 2
        _audit(args, "notify_rules", f"v{saved.version}", overrides=overrides)
        print(f"saved rules version {saved.version}")
    rs = rules.load(path)
    print(f"rules version {rs.version}")
    for r in rs.rules:
        params = ", ".join(f"{k}={v}" for k, v in r.params) or "-"
        print(f"{r.key}\t{r.step}\t{'on' if r.enabled else 'off'}\t{params}\t{r.zh} / {r.en}")
    return 0


def cmd_subscribe(args) -> int:
    from analytics.auth import accounts
    from analytics.auth import store as auth_store
    from analytics.notify import subscriptions as S

    if bool(args.username) == bool(args.role):
        print("name an account or give --role (the default of every account of the role without its own)",
              file=sys.stderr)
        return 2
    sub = S.Subscription("", args.channel, tuple(args.rules.split(",")), tuple(args.region or ()), args.frequency,
                         args.address or "", args.lang)
    try:
        if args.role:
            sub = S.save_for_role(_store(args), args.role, sub, by="cli")
        else:
            account = accounts.get(auth_store.path_for(args.db), args.username.strip().lower())
            if account is None:
                print(f"no account {args.username!r}", file=sys.stderr)
                return 2
            sub = S.save(_store(args), account, sub, by="cli")
    except S.SubscriptionError as e:
        print(f"refused: {e}", file=sys.stderr)
        return 2
    _audit(args, "notify_subscribe", sub.owner, channel=sub.channel, rules=list(sub.rule_keys),
           regions=list(sub.region_codes), frequency=sub.frequency)
    print(f"{sub.owner}: {sub.channel}, {sub.frequency}, rules {', '.join(sub.rule_keys)}, "
          f"regions {', '.join(sub.region_codes) or 'the whole scope'}")
    return 0


def cmd_outbox(args) -> int:
    from analytics.notify import outbox

    frame = outbox.listing(_store(args), args.limit)
    if args.json:
        print(json.dumps(frame.to_dicts(), ensure_ascii=False, indent=1, default=str))
        return 0
    for r in frame.iter_rows(named=True):
        print(f"{r['id']}\t{r['state']}\t{r['attempts']}\t{r['username']}\t{r['channel']}\t{r['period']}\t"
              f"{r['last_error']}")
    return 0


def add_commands(sub) -> None:
    from analytics.auth import roles
    from analytics.notify.rules import RULE_KEYS
    from analytics.notify.subscriptions import CHANNELS, FREQUENCIES

    p = sub.add_parser("notify", help="notifications: preview, run, serve, rules, subscribe, outbox")
    nsub = p.add_subparsers(dest="notify_command", required=True)

    def common(q):
        q.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
        return q

    q = common(nsub.add_parser("preview", help="the digest a person would receive now (nothing is recorded)"))
    q.add_argument("--user", required=True)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_preview)
    q = common(nsub.add_parser("run", help="one pass: evaluate the newest data version, queue what is due, deliver"))
    q.add_argument("--no-deliver", action="store_true", help="queue only")
    q.set_defaults(func=cmd_run)
    q = common(nsub.add_parser("serve", help="a pass every --interval seconds"))
    q.add_argument("--interval", type=float, default=settings.get("COCKPIT_NOTIFY_INTERVAL_SECONDS"))
    q.add_argument("--passes", type=int, help="stop after this many passes (default: run until stopped)")
    q.set_defaults(func=cmd_serve)
    q = common(nsub.add_parser("rules", help="the rules in force; --set/--enable/--disable save a new version"))
    q.add_argument("--set", action="append", metavar="KEY.PARAM=N", help=f"keys: {', '.join(RULE_KEYS)}")
    q.add_argument("--enable", action="append", metavar="KEY")
    q.add_argument("--disable", action="append", metavar="KEY")
    q.set_defaults(func=cmd_rules)
    q = common(nsub.add_parser("subscribe", help="save an account's (or with --role, a role's) subscription on one "
                                                 "channel"))
    q.add_argument("username", nargs="?")
    q.add_argument("--role", choices=roles.ROLE_KEYS, help="the subscription of every account of this role that has "
                                                          "none of its own (no regions: each account's scope)")
    q.add_argument("--channel", choices=CHANNELS, default="inbox")
    q.add_argument("--rules", default=",".join(RULE_KEYS), help="comma-separated rule keys")
    q.add_argument("--region", action="append", help="a region within the account's scope (repeat; none = all)")
    q.add_argument("--frequency", choices=FREQUENCIES, default="weekly")
    q.add_argument("--address", help="e-mail address (email channel)")
    q.add_argument("--lang", choices=("zh", "en"), default="zh")
    q.set_defaults(func=cmd_subscribe)
    q = common(nsub.add_parser("outbox", help="the newest messages with their state and last error"))
    q.add_argument("--limit", type=int, default=50)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_outbox)
