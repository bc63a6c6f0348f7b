"""Benchmark of uploads (now part of `python -m analytics bench`; kept as a shortcut for this one part).

    .venv/bin/python scripts/bench_ingest.py [--db data/cockpit.duckdb] [--runs 3]

See analytics/bench/ingest.py for what is uploaded and timed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.bench import ingest  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=ROOT / "data" / "cockpit.duckdb")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    for r in ingest.times(a.db, a.runs):
        print(f"{r['file']}: {r['rows']:,} rows, {r['mb']:.1f} MB; {r['changes']}")
        print(f"  median of {a.runs}: " + ", ".join(f"{k} {r[k + '_s']:.2f} s" for k in ("read", "check", "preview", "commit", "total")))
        if "commit_whole_mart_s" in r:
            print(f"  commit rebuilding every item snapshot instead: {r['commit_whole_mart_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
