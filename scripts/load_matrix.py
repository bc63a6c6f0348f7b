"""Issue 18's whole measurement in one command: the served deployment under load, every configuration in a row.

Run (on a quiet machine: nothing else running; about an hour at the default 300 s per run):
    python scripts/load_matrix.py --db /tmp/s10.duckdb [--seconds 300] [--out /tmp/load-matrix]

Runs scripts/load_test.py through the proxy with 1, 2 and 3 app processes × 30, 60 and 90 sessions, then 3 processes
and 60 sessions with one process killed at 120 s, each with the steward's upload and the retraining in the middle.
Each run's full report goes to `<out>/<processes>x<sessions>[-kill].log`; at the end one Markdown table row per run
(page runs, runs per second, p50/p95 of the runs after the first 30 s, errors, reconnections, the upload's click to
publish, publish to every process serving it, memory), ready for docs/performance.md. `--only 2x60,3x60-kill`
runs some of them.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = [(r, s, False) for r in (1, 2, 3) for s in (30, 60, 90)] + [(3, 60, True)]


def name(replicas: int, sessions: int, kill: bool) -> str:
    return f"{replicas}x{sessions}" + ("-kill" if kill else "")


def _find(pattern: str, text: str, default: str = "—") -> str:
    m = re.search(pattern, text)
    return m.group(1) if m else default


def row(replicas: int, sessions: int, kill: bool, report: str, seconds: float) -> str:
    runs = _find(r"; ([\d,]+) page runs;", report)
    elapsed = float(_find(r"\((\d+) s with the last runs\)", report, str(seconds)))  # runs go on past a late publish
    rate = f"{int(runs.replace(',', '')) / elapsed:.1f}" if runs != "—" else "—"
    warm = re.search(r"\| all pages, asked after the first 30 s \| [\d,]+ \| ([\d.]+) \| ([\d.]+) \|", report)
    p50, p95 = warm.groups() if warm else ("—", "—")
    memory = _find(r"memory MB \(at most while sampled / peak\): (.*)", report)
    apps = [int(v.split("/")[0]) for k, v in re.findall(r"(app\S*) (\d+/\d+)", memory)]
    worker = _find(r"worker \d+/(\d+)", memory)
    errors = _find(r"errors: (\d+)", report)
    reconnected = _find(r"reconnections after a dropped connection: (\d+)", report)
    published = _find(r"the worker published it ([\d.]+ s) after the click", report)
    everywhere = _find(r"every app process ([\d.]+ s) after the worker published", report)
    trained = _find(r"risk model was saved ([\d.]+ s) after the click", report, "not by the end")
    scored = _find(r"scored the new version with the model of v\d+ in ([\d.]+ s), before publishing", report, "")
    scored = scored or ("not within " + _find(r"after waiting ([\d.]+ s) for them", report) + ", followed"
                        if "after waiting" in report else "none")
    most = max(apps) if apps else "—"
    return (f"| {replicas}{', one killed at 120 s' if kill else ''} | {sessions} | {runs} | {rate} | {p50} | {p95} | "
            f"{errors} ({reconnected} reconnections) | {published} | {scored} | {everywhere} | {trained} | {most} | {worker} |")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--out", default="/tmp/load-matrix")
    ap.add_argument("--only", default="", help="comma-separated run names, e.g. 2x60,3x60-kill")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    wanted = {w for w in a.only.split(",") if w}
    rows, failed = [], []
    for replicas, sessions, kill in RUNS:
        label = name(replicas, sessions, kill)
        if wanted and label not in wanted:
            continue
        argv = [sys.executable, str(ROOT / "scripts" / "load_test.py"), "--db", a.db, "--replicas", str(replicas),
                "--sessions", str(sessions), "--seconds", str(a.seconds), *(["--kill-at", "120"] if kill else [])]
        t0 = time.time()
        print(f"{time.strftime('%H:%M:%S')} {label}: {' '.join(argv[1:])}", flush=True)
        proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        report = proc.stdout + proc.stderr
        (out / f"{label}.log").write_text(report, encoding="utf-8")
        if proc.returncode != 0:
            failed.append(label)
        rows.append(row(replicas, sessions, kill, report, a.seconds))
        print(f"  done in {time.time() - t0:.0f} s (exit {proc.returncode}): {rows[-1]}", flush=True)
    print("\n| app processes | sessions | page runs | runs/s | p50 s | p95 s | errors | upload: click → published | "
          "scored before publishing | published → every process serves it | click → retrained | "
          "MB per app process (max) | worker peak MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    if failed:
        print(f"\nruns that reported errors or a failed upload: {', '.join(failed)} (see their logs in {out})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
