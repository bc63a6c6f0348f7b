"""Command line: `python -m analytics <command>`. One module per command group, each adding its own
subcommands (`add_commands(sub)`); this module only builds the parser and dispatches.

Groups: data (demo, check, metrics, metrics-doc, contract, settings), risk (train, score, evaluate), ingest (ingest, versions, rollback), meeting (export meeting), bench, users (add, change, disable, enable, reset, unlock, list), audit (verify, show), notify (preview, run, serve, rules, subscribe, outbox), notes (list, add, delete), serve (worker, jobs,
serve).
"""
from __future__ import annotations

import argparse
import sys

from analytics.cli import bench, data, ingest, meeting, risk
from analytics.cli import audit, users
from analytics.cli import notes, notify, quality, serve

GROUPS = (data, risk, ingest, meeting, bench, users, audit, quality, notify, notes, serve)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics", description="Policy execution cockpit tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_commands(sub)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    import duckdb

    try:
        return args.func(args)
    except (duckdb.IOException, duckdb.ConnectionException) as e:
        # DuckDB lets no other process open a file a writer holds (the app, usually): one clear message for every
        # command instead of a traceback
        first = str(e).splitlines()[0][:300]
        if "lock" not in first.lower() and "conflicting" not in first.lower():
            raise
        print(f"{getattr(args, 'db', 'the database')}: another process (the app, probably) has the database file "
              f"open for writing, so it cannot be opened now: {first}. Stop the app first, or use the app's page "
              "for this.", file=sys.stderr)
        return 2
