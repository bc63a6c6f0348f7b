"""Time demo generation: median of N runs at each scale, with peak memory, in one run of this script.

Run: python scripts/bench_demo.py --scales 1,10 --runs 3
Each run is a fresh process (so peak memory is that run's alone); results print as a Markdown table
for docs/performance.md. "mart s" is the item snapshot mart's build and the final checkpoint.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

RUN_ONE = """
import json, resource, sys, time
from datetime import date
from analytics import demo
t = time.perf_counter()
at = {}  # progress message -> seconds since the start
counts = demo.generate(sys.argv[1], scale=float(sys.argv[2]), seed=20261122, as_of=date(2026, 11, 22),
                       progress=lambda f, m: at.setdefault(m, time.perf_counter() - t))
mart = at.get("Writing the ground-truth sidecar", 0) - at.get("Building the item snapshot mart", 0)
print(json.dumps({"seconds": time.perf_counter() - t, "mart_seconds": mart, "counts": counts,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scales", default="1")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| scale | median s | min s | max s | mart s (median) | peak MB | items | progress reports | feedback |")
    print("|---|---|---|---|---|---|---|---|---|")
    for scale in a.scales.split(","):
        results = []
        for _ in range(a.runs):
            with tempfile.TemporaryDirectory() as tmp:
                out = subprocess.run([sys.executable, "-c", RUN_ONE, f"{tmp}/bench.duckdb", scale],
                                     check=True, capture_output=True, text=True).stdout
                results.append(json.loads(out.strip().splitlines()[-1]))
        secs = [r["seconds"] for r in results]
        c = results[0]["counts"]
        mart = statistics.median(r["mart_seconds"] for r in results)
        print(f"| {scale} | {statistics.median(secs):.1f} | {min(secs):.1f} | {max(secs):.1f} | {mart:.1f} | "
              f"{max(r['peak_mb'] for r in results):,.0f} | {c['projects']:,} | {c['progress_reports']:,} | "
              f"{c['feedback']:,} |")


if __name__ == "__main__":
    main()
