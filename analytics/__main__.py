"""Command line: python -m analytics demo | check | contract | settings."""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

from . import settings


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date as YYYY-MM-DD") from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number above 0")
    return value


def cmd_demo(args) -> int:
    from . import demo

    def progress(fraction: float, message: str) -> None:
        print(f"\r{fraction:6.1%}  {message:<60}", end="", file=sys.stderr, flush=True)

    started = time.perf_counter()
    counts = demo.generate(args.db, scale=args.scale, seed=args.seed, as_of=args.as_of,
                           progress=None if args.quiet else progress)
    elapsed = time.perf_counter() - started
    if not args.quiet:
        print(file=sys.stderr)
    print(json.dumps({"db": str(args.db), "seconds": round(elapsed, 1), "rows": counts}, ensure_ascii=False, indent=2))
    return 0


def cmd_check(args) -> int:
    from . import checks, store

    con = store.connect(args.db, read_only=True)
    found = checks.violations(con)
    if found.is_empty():
        print("every contract rule holds")
        return 0
    print(found)
    return 1


def cmd_contract(args) -> int:
    from . import contract

    print(contract.markdown(), end="")
    return 0


def cmd_settings(args) -> int:
    print(settings.markdown(), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analytics", description="Policy execution cockpit tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="write a DuckDB file of realistic demo data")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--scale", type=_positive, default=1.0, help="1 ≈ 20,000 items and 1M progress reports")
    p.add_argument("--seed", type=int, default=settings.get("COCKPIT_DEMO_SEED"))
    p.add_argument("--as-of", type=_date, default=None, help="last day of history (default today)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("check", help="check a database against every contract rule")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.set_defaults(func=cmd_check)

    sub.add_parser("contract", help="print docs/data-contract.md").set_defaults(func=cmd_contract)
    sub.add_parser("settings", help="print docs/configuration.md").set_defaults(func=cmd_settings)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
