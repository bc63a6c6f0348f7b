"""The audit trail: audit verify | show; and security-doc (docs/security.md from the declarations)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from analytics import settings


def _anchors(db: Path) -> tuple[list, str]:
    """The data versions' anchors, and why they could not be read ('' when they were)."""
    import duckdb

    from analytics.db import store, versions

    try:
        con = store.connect(db, read_only=True)
    except (duckdb.IOException, duckdb.ConnectionException) as e:
        return [], f"the database is in use by another process ({str(e).splitlines()[0][:120]})"
    try:
        return versions.audit_anchors(con), ""
    finally:
        con.close()


def cmd_verify(args) -> int:
    from analytics.auth import audit, store

    path = store.path_for(args.db)
    if not Path(args.db).is_file():
        if not store.exists(path):
            print(f"no database at {args.db} and no audit log at {path}: nothing to verify (check --db)",
                  file=sys.stderr)
            return 1
        anchors, why = [], f"there is no database at {args.db}"
    else:
        anchors, why = _anchors(Path(args.db))
    n, head, problems = audit.verify(path, args.head, anchors)
    for p in problems:
        print(p.message, file=sys.stderr)
    if problems:
        print(f"audit log {path}: {len(problems)} problem(s) in {n} entries: it was changed", file=sys.stderr)
        return 1
    if n == 0:
        print(f"audit log {path}: no entries yet, and no data version recorded one")
    else:
        print(f"audit log {path}: {n} entries, chain intact; newest hash {head}")
        print("Keep this hash off the server and pass it back with --head next time.")
    # what this run could not detect, said plainly (docs/security.md)
    if why:
        print(f"Not cross-checked with the data versions' anchors: {why}. Run it while the app is stopped, or "
              "read the check on the admin page.")
    elif anchors:
        print(f"Cross-checked with {len(anchors)} data version(s): entry {anchors[-1][1]} is the newest recorded "
              f"at a commit (version {anchors[-1][0]}).")
    if not args.head:
        first, last = audit.unanchored(n, [] if why else anchors)
        if first <= last:
            print(f"Not detectable without --head: deleting entries {first} to {last} together with rewinding "
                  "SQLite's counter in the same file.")
    return 0


def cmd_show(args) -> int:
    from dataclasses import asdict

    from analytics.auth import audit, store

    rows = audit.entries(store.path_for(args.db), args.last)
    if args.json:
        print(json.dumps([asdict(e) for e in rows], ensure_ascii=False, indent=2))
        return 0
    for e in reversed(rows):
        print("\t".join([str(e.seq), e.at, e.actor, e.role, e.action, e.target, e.source,
                         json.dumps(e.detail, ensure_ascii=False)]))
    return 0


def cmd_security_doc(args) -> int:
    from analytics.auth import doc

    print(doc.markdown(), end="")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("security-doc", help="print docs/security.md (roles, permissions, scope, audit)")
    p.set_defaults(func=cmd_security_doc)
    audit = sub.add_parser("audit", help="the audit trail: verify its hash chain, show entries")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    p = asub.add_parser("verify", help="check that no entry was edited or deleted (exit 1 if one was)")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--head", help="a newest hash printed earlier: also check the chain still contains it")
    p.set_defaults(func=cmd_verify)
    p = asub.add_parser("show", help="the newest entries")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--last", type=int, default=50)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_show)
