"""export meeting: the review-meeting deck as PPTX or PDF."""
from __future__ import annotations

import sys
from pathlib import Path

from analytics import settings
from analytics.cli.common import _date, _known_region, _region



def cmd_export_meeting(args) -> int:
    from analytics import metrics
    from analytics.pages import meeting
    from analytics.db import store
    from analytics.filters import Filters
    from analytics.meeting import fonts

    if not Path(args.db).is_file():
        print(f"--db {args.db}: no such database file", file=sys.stderr)
        return 2
    if not Path(args.out).resolve().parent.is_dir():
        print(f"--out {args.out}: the folder {Path(args.out).resolve().parent} does not exist", file=sys.stderr)
        return 2
    if args.brief and args.format != "pdf":
        print("--brief: only with --format pdf", file=sys.stderr)
        return 2
    con = store.connect(args.db, read_only=True)
    try:
        version = store.current_version(con)
        if version is None:
            print(f"--db {args.db}: no data version", file=sys.stderr)
            return 2
        as_of = args.as_of or version[1]
        if as_of > version[1]:
            print(f"--as-of {as_of}: after the data's as-of date {version[1]}", file=sys.stderr)
            return 2
        if args.region and not _known_region(con, args.region):
            print(f"--region {args.region}: no such region code", file=sys.stderr)
            return 2
        sel = metrics.Selection(Filters(region_code=args.region), as_of=as_of)
        deck = meeting.make_deck(con, sel, args.period, args.lang, str(args.db), version[0])
    finally:
        con.close()
    if args.format == "pptx":
        from analytics.meeting import pptx_writer

        data = pptx_writer.write(deck)
    else:
        from analytics.meeting import pdf_writer

        try:
            data = pdf_writer.write_brief(deck) if args.brief else pdf_writer.write_deck(deck)
        except fonts.FontMissing as e:
            print(f"cannot write the PDF: {e}", file=sys.stderr)
            return 3
    Path(args.out).write_bytes(data)
    print(f"wrote {args.out}: {len(deck.slides)} slides, as of {deck.as_of}, data version v{deck.version}, "
          f"compared with {deck.previous_as_of}", file=sys.stderr)
    return 0


def _add_export_commands(sub) -> None:
    export = sub.add_parser("export", help="export a pack: meeting")
    esub = export.add_subparsers(dest="export_command", required=True)
    p = esub.add_parser("meeting", help="the review-meeting deck (weekly, monthly, quarterly) as PPTX or PDF")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--as-of", type=_date, default=None, help="the meeting's as-of date (default: the data's)")
    p.add_argument("--period", choices=("week", "month", "quarter"), required=True,
                   help="the meeting preset; comparisons follow it (previous week, month, quarter)")
    p.add_argument("--region", type=_region, default=None, help="only this region and below")
    p.add_argument("--format", choices=("pptx", "pdf"), required=True)
    p.add_argument("--brief", action="store_true", help="with --format pdf: the one-page leadership brief")
    p.add_argument("--lang", choices=("zh", "en"), default="zh")
    p.add_argument("--out", type=Path, required=True)
    p.set_defaults(func=cmd_export_meeting)


def add_commands(sub) -> None:
    _add_export_commands(sub)
