"""bench: the benchmark suite (analytics/bench), Markdown or JSON."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def _scales(text: str) -> tuple[float, ...]:
    import argparse

    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected scales like 1,10") from None
    if not values or any(v <= 0 or v > 100 for v in values):
        raise argparse.ArgumentTypeError(f"{text!r}: each scale must be above 0 and at most 100")
    return values


def cmd_bench(args) -> int:
    from analytics import bench

    if args.db is not None and not Path(args.db).is_file():
        print(f"{args.db}: no such database file", file=sys.stderr)
        return 2
    skip = tuple(s for s in (args.skip or "").split(",") if s)
    unknown = set(skip) - {"pages", "baseline", "ingest", "risk"}
    if unknown:
        print(f"--skip {','.join(sorted(unknown))}: expected pages, baseline, ingest or risk", file=sys.stderr)
        return 2
    results = bench.run(scales=() if args.db else args.scale, db=args.db, runs=args.runs, skip=skip,
                        log=lambda m: print(m, file=sys.stderr))
    print(json.dumps(results, ensure_ascii=False, indent=2) if args.json else bench.markdown(results))
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("bench", help="time every page's work, a pandas baseline, uploads and the risk model")
    p.add_argument("--scale", type=_scales, default=(1.0,), help="demo scales to generate and time (default 1)")
    p.add_argument("--db", type=Path, default=None, help="time this database instead (a copy is used)")
    p.add_argument("--runs", type=int, default=5, help="runs per measurement (medians)")
    p.add_argument("--skip", default="", help="comma-separated parts to leave out: pages, baseline, ingest, risk")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
