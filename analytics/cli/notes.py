"""Event notes: notes list | add | delete (docs/annotations.md). The command line acts as the national
administrator, as the `users` commands do (it runs on the server); every add and delete is audited as `cli:<login>`."""
from __future__ import annotations

import json
import sys

from analytics import annotations as A
from analytics import auth
from analytics.db.queries import NATIONAL


def add_commands(sub) -> None:
    p = sub.add_parser("notes", help="event notes shown on the time charts: list | add | delete")
    notes = p.add_subparsers(dest="notes_command", required=True)
    q = notes.add_parser("list", help="every note, the newest first")
    q.add_argument("--db", required=True)
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=run_list)
    q = notes.add_parser("add", help="add a note (a region of any level; 100000 is the nation)")
    q.add_argument("--db", required=True)
    q.add_argument("--start", required=True, help="YYYY-MM-DD")
    q.add_argument("--end", help="YYYY-MM-DD (default: the start: one day)")
    q.add_argument("--region", required=True, help="region code, e.g. 340000")
    q.add_argument("--kind", required=True, choices=A.KINDS)
    q.add_argument("--text", required=True, help=f"1 to {A.MAX_TEXT} characters, one line")
    q.set_defaults(func=run_add)
    q = notes.add_parser("delete", help="flag a note deleted (it stays in the file)")
    q.add_argument("--db", required=True)
    q.add_argument("id", type=int)
    q.set_defaults(func=run_delete)


def _user() -> auth.User:
    from analytics.cli.users import _actor

    name = _actor()
    return auth.User(name, name, "admin", NATIONAL, "cli")


def _tree(db: str):
    from analytics.db import store

    con = store.connect(db, read_only=True)
    try:
        return A.region_tree(con)
    finally:
        con.close()


def run_list(args) -> int:
    notes = A.for_scope(args.db, _tree(args.db), NATIONAL)
    if args.json:
        json.dump(notes.to_dicts(), sys.stdout, ensure_ascii=False, indent=1, default=str)
        print()
        return 0
    for r in notes.iter_rows(named=True):
        end = "" if r["end_date"] == r["start_date"] else f"..{r['end_date']}"
        print(f"{r['annotation_id']:>5}  {r['start_date']}{end}  {r['region_code']} {r['region_name']}  {r['kind']}  "
              f"{r['text']}  ({r['author']}, {r['created_at']})")
    print(f"{notes.height} notes")
    return 0


def run_add(args) -> int:
    try:
        note = A.add(args.db, _tree(args.db), _user(), start=args.start, end=args.end, region_code=args.region,
                     kind=args.kind, text=args.text, source="cli")
    except (A.Invalid, A.Refused) as e:
        print(f"refused: {e}", file=sys.stderr)
        return 2
    print(f"note {note.annotation_id} added")
    return 0


def run_delete(args) -> int:
    try:
        A.delete(args.db, _tree(args.db), _user(), args.id, source="cli")
    except A.Refused as e:
        print(f"refused: {e}", file=sys.stderr)
        return 2
    print(f"note {args.id} deleted")
    return 0
