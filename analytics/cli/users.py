"""Accounts: users add | disable | enable | reset | unlock | list. The password is read from the terminal
(asked twice) or, for scripts, one line of standard input with --password-stdin; never from the command
line, where it would stay in the shell history and the process list."""
from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

from analytics import settings


def _actor() -> str:
    try:
        return "cli:" + getpass.getuser()
    except Exception:  # no login name (a container without one)
        return "cli"


def _path(args) -> Path:
    from analytics.auth import store

    return store.path_for(args.db)


def _password(args, username: str) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"password for {username}: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("the two passwords differ; nothing changed")
    return first


def _log(args, action: str, target: str, **detail) -> None:
    from analytics.auth import audit

    audit.append(_path(args), actor=_actor(), role="admin", action=action, target=target, detail=detail, source="cli")


def _fail(e) -> int:
    print(f"refused: {e}", file=sys.stderr)
    return 2


def cmd_add(args) -> int:
    from analytics.auth import accounts

    password = None if args.sso_only else _password(args, args.username)
    try:
        a = accounts.add(_path(args), args.username, role=args.role, by=_actor(), password=password,
                         display_name=args.name or "", region_codes=args.region or (), domains=args.domain or (),
                         sso_identity=args.sso, department=args.department, leader_name=args.leader)
    except accounts.AccountError as e:
        return _fail(e)
    _log(args, "user_add", a.username, role=a.role, regions=list(a.region_codes), domains=list(a.domains),
         sso=bool(a.sso_identity), department=a.department, leader=a.leader_name)
    first = accounts.count(_path(args)) == 1
    print(f"added {a.username} ({a.role}, scope {', '.join(a.region_codes) or 'national'}"
          f"{'; ' + ', '.join(a.domains) if a.domains else ''}{_owner(a)}) to {_path(args)}")
    if first:
        print("sign-in is now required: the app leaves demo mode at its next page view")
    return 0


def cmd_change(args) -> int:
    from analytics.auth import accounts

    try:
        a = accounts.update(_path(args), args.username, by=_actor(), role=args.role,
                            region_codes=args.region if args.region is not None else None,
                            domains=args.domain if args.domain is not None else None, display_name=args.name,
                            lang=None if args.lang is None else ("" if args.lang == "none" else args.lang),
                            department=args.department, leader_name=args.leader)
    except accounts.AccountError as e:
        return _fail(e)
    _log(args, "user_change", a.username, role=a.role, regions=list(a.region_codes), domains=list(a.domains),
         lang=a.lang, department=a.department, leader=a.leader_name)
    print(f"changed {a.username}: {a.role}, scope {', '.join(a.region_codes) or 'national'}, "
          f"notices in {a.lang or 'each subscription’s language'}{_owner(a)}")
    return 0


def _owner(a) -> str:
    """The account's department and leader name, as the command prints them (empty when it has neither)."""
    parts = [f"department {a.department}" if a.department else "", f"leader {a.leader_name}" if a.leader_name else ""]
    return "".join(f"; {p}" for p in parts if p)


def cmd_disable(args, disabled: bool = True) -> int:
    from analytics.auth import accounts

    try:
        a = accounts.set_disabled(_path(args), args.username, disabled, _actor())
    except accounts.AccountError as e:
        return _fail(e)
    _log(args, "user_disable" if disabled else "user_enable", a.username)
    print(f"{'disabled' if disabled else 'enabled'} {a.username}")
    return 0


def cmd_reset(args) -> int:
    from analytics.auth import accounts

    try:
        a = accounts.reset_password(_path(args), args.username, _password(args, args.username), _actor())
    except accounts.AccountError as e:
        return _fail(e)
    _log(args, "user_reset", a.username)
    print(f"new password set for {a.username} (and any lockout lifted)")
    return 0


def cmd_unlock(args) -> int:
    from analytics.auth import accounts

    accounts.unlock(_path(args), args.username)
    _log(args, "user_unlock", args.username.strip().lower())
    print(f"unlocked {args.username}")
    return 0


def cmd_list(args) -> int:
    from dataclasses import asdict

    from analytics.auth import accounts

    rows = [asdict(a) for a in accounts.list_all(_path(args))]  # no password or hash: Account has neither
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print(f"no accounts in {_path(args)}: the app runs in demo mode (anyone can see everything)")
        return 0
    print("username\trole\tscope\tdomains\tstate\tlast sign-in\tdepartment\tleader")  # new columns last
    for r in rows:
        print("\t".join([r["username"], r["role"], ",".join(r["region_codes"]) or "national",
                         ",".join(r["domains"]) or "all", "disabled" if r["disabled"] else "active",
                         r["last_sign_in_at"] or "never", r["department"] or "—", r["leader_name"] or "—"]))
    return 0


def _owner_args(p, change: bool = False) -> None:
    clear = " (\"\" clears it)" if change else ""
    p.add_argument("--department", help="its department (部门/单位) as the items' lead department gives it: the "
                   "notices of the items that department leads reach the account" + clear)
    p.add_argument("--leader", help="its name as the items' responsible leaders (责任领导) give it: the urgings and "
                   "bulletins of those items reach the account" + clear)


def add_commands(sub) -> None:
    from analytics.auth import roles

    users = sub.add_parser("users", help="accounts: add, change, disable, enable, reset, unlock, list")
    usub = users.add_subparsers(dest="users_command", required=True)

    def common(p, name: bool = True):
        p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")),
                       help="the database whose accounts these are (they live in <db>.auth.sqlite)")
        if name:
            p.add_argument("username")
        return p

    p = common(usub.add_parser("add", help="a new account (asks for its password)"))
    p.add_argument("--role", required=True, choices=roles.ROLE_KEYS)
    p.add_argument("--name", help="display name")
    p.add_argument("--region", action="append", help="region code of its scope (repeat for a set; none = national)")
    p.add_argument("--domain", action="append", help="domain of its scope (repeat; none = every domain)")
    p.add_argument("--sso", help="identity (e-mail) single sign-on maps to this account")
    p.add_argument("--sso-only", action="store_true", help="no password: signs in only by single sign-on")
    p.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    _owner_args(p)
    p.set_defaults(func=cmd_add)
    p = common(usub.add_parser("change", help="change an account's role, scope, display name or notice language"))
    p.add_argument("--role", choices=roles.ROLE_KEYS)
    p.add_argument("--name")
    p.add_argument("--region", action="append", help="the new scope's region codes (replaces the old scope)")
    p.add_argument("--domain", action="append", help="the new scope's domains (replaces the old ones)")
    p.add_argument("--lang", choices=("zh", "en", "none"),
                   help="the language of the account's notices (none: each subscription's own)")
    _owner_args(p, change=True)
    p.set_defaults(func=cmd_change)
    p = common(usub.add_parser("disable", help="disable an account (its sessions end at their next page view)"))
    p.set_defaults(func=cmd_disable)
    p = common(usub.add_parser("enable", help="enable a disabled account"))
    p.set_defaults(func=lambda a: cmd_disable(a, False))
    p = common(usub.add_parser("reset", help="set a new password (asks for it) and lift a lockout"))
    p.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    p.set_defaults(func=cmd_reset)
    p = common(usub.add_parser("unlock", help="lift the lockout of a user name"))
    p.set_defaults(func=cmd_unlock)
    p = common(usub.add_parser("list", help="every account: role, scope, state (never a password)"), name=False)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)
