"""The Monday meeting: many people click through the cockpit at once while a steward commits an upload.

Run: python scripts/load_test.py --db data/cockpit.duckdb [--sessions 30] [--seconds 120] [--no-upload] [--think 0.5,2]
     [--replicas N [--kill-at SECONDS]]

Loopback only, and it stops by itself. The app runs in its own process on a private copy of --db (read-
write, as in production). Each simulated user is a real Streamlit session driven over the app's websocket
(`/_stcore/stream`, the browser's own protocol): it asks for a page (cockpit, regions or risk, with one of
a few filter states and a language), waits for the server to finish the script run, then asks for the next,
for `--seconds`. That measures the server's page-ready time under load, not a browser's drawing. Meanwhile,
after a quarter of the time, one steward uploads and commits 2,000 changed progress reports through the
upload page in headless Chromium (Debian's chromium), so the data version changes mid-run.
Reports p50/p95 page-ready time per page, errors (exceptions on a page, failed runs, dropped connections:
there must be none), the server's peak memory, and the upload's commit time.

With `--replicas N` the app is served as `python -m analytics serve` serves it (issue 18; docs/deployment.md): Caddy in
front of N app processes reading the worker's published snapshots, and the worker, which commits the steward's upload
as a job and retrains the model; every user connects through the proxy. It then also reports each process's memory
and how long after the commit every app process showed the new version (a page run finished on it). `--kill-at S` kills one app process
(SIGKILL) S seconds in: its users' connections drop and reconnect through the proxy to the others, as a browser does
(reported as reconnections; a page run lost that way is not an error, one that fails after reconnecting is).
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.bench.server import app_server, copy_database, cpu_seconds, page_run, rss_mb, session  # noqa: E402

PAGES = ("", "regions", "risk")  # "" is the default page: the cockpit
STATES = ("", "region=340000", "region=440000&period=2026", "region=110000", "region=510100", "domain=教育")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


async def _session(port: int, until: float | list, results: list, errors: list, rng: random.Random,
                   think: tuple[float, float], reconnects: list | None = None) -> None:
    """One user clicking until `until` (a time, or a one-element list holding one that may move later). With
    `reconnects` (a list), a dropped connection is counted there and the user reconnects, as Streamlit's page does;
    without it, a dropped connection is an error."""
    end = until if isinstance(until, list) else [until]
    while time.time() < end[0]:
        try:
            async with session(f"http://127.0.0.1:{port}") as ws:
                while time.time() < end[0]:
                    page, state = rng.choice(PAGES), rng.choice(STATES)
                    query = "&".join(q for q in (state, "lang=" + rng.choice(("zh", "en"))) if q)
                    seconds, size, failed = await page_run(ws, page, query)
                    if failed:
                        errors.append(f"{page or 'cockpit'}?{query}: {failed}")
                    results.append((page or "cockpit", seconds, size, time.time() - seconds))
                    await asyncio.sleep(rng.uniform(*think))  # a person reads before the next click
        except Exception as exc:  # a dropped connection or a timeout
            if reconnects is None:
                errors.append(f"session: {type(exc).__name__}: {exc}"[:300])
                return
            reconnects.append(f"{type(exc).__name__}: {exc}"[:200])
            await asyncio.sleep(1.0)  # the page waits a moment before it reconnects


def _progress_csv(db: Path, rows: int = 2000) -> bytes:
    import polars as pl

    from analytics.db import store

    con = store.connect(db, read_only=True)
    frame = con.sql("SELECT project_id, report_date, planned_progress_pct, actual_progress_pct FROM progress_reports "
                    "WHERE actual_progress_pct IS NOT NULL ORDER BY report_date DESC, project_id LIMIT ?",
                    params=[rows]).pl()
    con.close()
    frame = frame.with_columns((pl.col("actual_progress_pct") + 1).clip(0, 100))
    frame.columns = ["项目编号", "填报日期", "计划进度", "实际进度"]
    buf = io.BytesIO()
    frame.write_csv(buf)
    return buf.getvalue()


def _steward(base: str, csv_path: Path, delay: float, outcome: dict) -> None:
    from playwright.sync_api import sync_playwright

    time.sleep(delay)
    try:
        with sync_playwright() as p:
            b = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=CHROMIUM_ARGS)
            page = b.new_page(viewport={"width": 1600, "height": 1000})
            try:
                page.goto(base + "/upload?lang=en")
                page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv_path),
                                                                                             timeout=120000)
                page.get_by_role("button", name="Commit", exact=True).click(timeout=180000)
                started = time.perf_counter()
                outcome["clicked_at"] = time.time()
                page.get_by_text("Committed as data version").first.wait_for(timeout=300000)
                outcome["commit_s"] = time.perf_counter() - started
                outcome["committed_at"] = time.time()
                outcome["message"] = page.get_by_text("Committed as data version").first.inner_text()[:120]
            except Exception:  # what the steward's page said when it gave up (the job's status, a refusal)
                said = " ".join(page.locator('[data-testid="stMain"]').inner_text(timeout=10000).split())
                outcome["page"] = said[-600:]
                raise
            finally:
                b.close()
    except Exception as exc:
        outcome["error"] = f"{type(exc).__name__}: {exc}"[:300] + (f"\nthe page said: {outcome['page']}"
                                                                   if "page" in outcome else "")


def _background(sample, a, base: str, csv_path: Path, upload: dict) -> threading.Thread | None:
    """Start the sampler and (unless --no-upload) the steward, who uploads a quarter of the way in."""
    threading.Thread(target=sample, daemon=True).start()
    if a.no_upload:
        return None
    steward = threading.Thread(target=_steward, args=(base, csv_path, a.seconds / 4, upload), daemon=True)
    steward.start()
    return steward


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--no-upload", action="store_true")
    ap.add_argument("--think", default="0.5,2", help="seconds a user reads a page before the next click, as "
                    "MIN,MAX (default 0.5,2: far busier than people in a meeting, who read for 10 s or more)")
    ap.add_argument("--replicas", type=int, default=0, help="serve through the proxy with this many app processes "
                    "and the worker (0: one app process that writes, as `make run`)")
    ap.add_argument("--kill-at", type=float, default=None, help="with --replicas: SIGKILL one app process this many "
                    "seconds in")
    a = ap.parse_args()
    if a.replicas:
        return served(a)
    try:
        think = tuple(float(x) for x in a.think.split(","))
        assert len(think) == 2 and 0 <= think[0] <= think[1] <= 120
    except (ValueError, AssertionError):
        print("--think MIN,MAX in seconds, 0 <= MIN <= MAX <= 120", file=sys.stderr)
        return 2
    if not 1 <= a.sessions <= 200 or not 5 <= a.seconds <= 1800:
        print("--sessions 1..200 and --seconds 5..1800", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="load-test-"))
    db = copy_database(a.db, tmp / "cockpit.duckdb")
    csv_path = tmp / "进度更新.csv"
    csv_path.write_bytes(_progress_csv(db))
    results: list = []
    errors: list = []
    upload: dict = {}
    memory: list[float] = []
    try:
        with app_server(tmp / "cockpit.duckdb", env={"COCKPIT_DB_WRITABLE": "1"}) as (base, proc):
            port = int(base.rsplit(":", 1)[1])
            rest_mb = rss_mb(proc.pid)[0]
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    memory.append(rss_mb(proc.pid)[0])
                    stop.wait(1.0)

            steward = _background(sample, a, base, csv_path, upload)
            until = time.time() + a.seconds

            async def everyone() -> None:
                rng = random.Random(20261201)
                await asyncio.gather(*[_session(port, until, results, errors, random.Random(rng.random()), think)
                                       for _ in range(a.sessions)])

            started, cpu_before = time.time(), cpu_seconds(proc.pid)
            asyncio.run(everyone())
            elapsed, cpu_used = time.time() - started, cpu_seconds(proc.pid) - cpu_before
            if steward is not None:
                steward.join(timeout=300)
            stop.set()
            peak = rss_mb(proc.pid)[1]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{a.sessions} sessions for {a.seconds:.0f} s ({elapsed:.0f} s with the last runs), reading {a.think} s "
          f"between clicks, {os.cpu_count()} cores; "
          f"{len(results)} page runs; server CPU {cpu_used:.0f} s, {1000 * cpu_used / max(len(results), 1):.0f} ms "
          f"per page run (the upload and retraining included); load average {os.getloadavg()[0]:.1f}")
    _table(results, started, upload)
    print(f"\nerrors: {len(errors)}" + "".join(f"\n- {e}" for e in errors[:10]))
    print(f"server memory: {rest_mb:.0f} MB at rest, {max(memory, default=0):.0f} MB at most while sampled, "
          f"peak (VmHWM) {peak:.0f} MB")
    if not a.no_upload:
        print("upload: " + (f"committed in {upload['commit_s']:.1f} s ({upload.get('message', '')})"
                            if "commit_s" in upload else f"FAILED {upload.get('error', 'did not finish')}"))
    return 1 if errors or (not a.no_upload and "commit_s" not in upload) else 0


def _table(results: list, started: float, upload: dict) -> None:
    print("| page | runs | p50 s | p95 s | max s | median MB sent |")
    print("|---|---|---|---|---|---|")
    for page in ("cockpit", "regions", "risk"):
        times = sorted(s for p, s, _, _ in results if p == page)
        sizes = [b for p, _, b, _ in results if p == page]
        if times:
            p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
            print(f"| {page} | {len(times)} | {statistics.median(times):.2f} | {p95:.2f} | {times[-1]:.2f} | "
                  f"{statistics.median(sizes) / 1048576:.2f} |")
    warm = sorted(s for _, s, _, t in results if t - started >= 30)
    if warm:  # past the first half minute: the first visitors of a freshly started server have filled its caches
        print(f"| all pages, asked after the first 30 s | {len(warm)} | {statistics.median(warm):.2f} | "
              f"{warm[min(len(warm) - 1, int(0.95 * len(warm)))]:.2f} | {warm[-1]:.2f} | |")
    if "committed_at" in upload:  # the new data version's caches were empty: how the next half minute went
        after = sorted(s for _, s, _, t in results if 0 <= t - upload["committed_at"] <= 30)
        if after:
            print(f"| all pages, asked within 30 s after the commit | {len(after)} | {statistics.median(after):.2f} | "
                  f"{after[min(len(after) - 1, int(0.95 * len(after)))]:.2f} | {after[-1]:.2f} | |")


def _version_of(port: int) -> tuple[int | None, float | None]:
    """The newest data version a finished page run of the app process on `port` showed, and when a finished run first
    showed it by that process's clock (its /metrics; None where it says nothing)."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=3) as r:
            text = r.read().decode()
    except Exception:  # noqa: BLE001 (down or restarting)
        return None, None
    values = {x.split()[0]: float(x.split()[1]) for x in text.splitlines()
              if x.startswith(("cockpit_shown_version ", "cockpit_shown_version_since_seconds "))}
    version = values.get("cockpit_shown_version")  # none before a page run finished
    return (int(version) if version is not None else None), values.get("cockpit_shown_version_since_seconds")


def _first_runs(log: Path, before: int | None, n: int = 6) -> list[dict]:
    """The first `n` page runs an app process's log records on a data version newer than `before` (its access log
    lines, in the order they ended)."""
    runs = []
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return runs
    for line in lines:
        if '"event": "page_run"' not in line:
            continue
        try:
            run = json.loads(line[line.index("{"):])
        except ValueError:
            continue
        if (run.get("data_version") or 0) > (before or 0):
            runs.append(run)
            if len(runs) == n:
                break
    return runs


def _ended(run: dict, published_at: float | None) -> str:
    from datetime import datetime

    try:
        return f"+{datetime.strptime(run['at'], '%Y-%m-%dT%H:%M:%S%z').timestamp() - published_at:.0f} s"
    except (KeyError, TypeError, ValueError):
        return "?"


def served(a) -> int:
    """The run through `python -m analytics serve`'s proxy (issue 18)."""
    from analytics import serve
    from analytics.bench.server import free_port

    try:
        think = tuple(float(x) for x in a.think.split(","))
    except ValueError:
        print("--think MIN,MAX", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="load-test-served-"))
    db = copy_database(a.db, tmp / "cockpit.duckdb")
    csv_path = tmp / "进度更新.csv"
    csv_path.write_bytes(_progress_csv(db))
    results, errors, reconnects, upload = [], [], [], {}
    memory: dict[str, list[float]] = {}
    propagation: dict[int, float] = {}  # port → when a finished run first showed the new version (its own clock)
    polled: dict[int, float] = {}  # port → when this script's polling of /metrics first saw that
    killed: list[str] = []
    d = serve.Deployment(db, a.replicas, free_port(), app_ports=[free_port() for _ in range(a.replicas)],
                         log_dir=tmp / "logs", log=lambda s: None)
    try:
        t0 = time.time()
        d.start(timeout=600)
        print(f"started the proxy, {a.replicas} app process(es) and the worker in {time.time() - t0:.0f} s",
              flush=True)
        base = f"http://127.0.0.1:{d.port}"
        stop = threading.Event()
        from analytics.db import snapshots

        before = snapshots.current(db).version  # published at the start; a page showing a newer one shows the commit
        planned_end = [time.time() + a.seconds]  # set again when the sessions start
        until = [planned_end[0]]

        def sample() -> None:
            while not stop.is_set():
                for proc in d.processes:
                    if proc.alive():
                        memory.setdefault(proc.name, []).append(rss_mb(proc.proc.pid)[0])
                # the sessions go on until 30 s past the publishing (at most 5 minutes past the planned end), so every
                # process is seen serving the new version under the same load however long the commit took
                if "clicked_at" in upload and "published_seen" not in upload:
                    if (snapshots.current(db).version or 0) > (before or 0):
                        upload["published_seen"] = time.time()
                        until[0] = max(planned_end[0], min(time.time() + 30, planned_end[0] + 300))
                    else:
                        until[0] = planned_end[0] + 300  # held while the commit is on its way
                if "clicked_at" in upload:
                    for port in d.app_ports:
                        if port in propagation:
                            continue
                        version, since = _version_of(port)
                        if (version or 0) > (before or 0):  # a finished page run showed the new version
                            polled[port] = time.time()
                            propagation[port] = since or polled[port]
                stop.wait(0.5)

        steward = _background(sample, a, base, csv_path, upload)

        def kill() -> None:
            time.sleep(a.kill_at)
            victim = d.apps[-1]
            os.killpg(victim.proc.pid, 9)
            killed.append(f"{victim.name} at {a.kill_at:.0f} s")

        if a.kill_at is not None:
            threading.Thread(target=kill, daemon=True).start()
        planned_end[0] = until[0] = time.time() + a.seconds

        async def everyone() -> None:
            rng = random.Random(20261201)
            await asyncio.gather(*[_session(d.port, until, results, errors, random.Random(rng.random()), think,
                                            reconnects) for _ in range(a.sessions)])

        started = time.time()
        asyncio.run(everyone())
        elapsed = time.time() - started
        if steward is not None:
            steward.join(timeout=600)
        stop.set()
        peaks = {p.name: rss_mb(p.proc.pid)[1] for p in d.processes if p.alive()}
        snap = snapshots.current(db)
        published_at = snap.published_at if snap and snap.version > (before or 0) else None
        from analytics.risk import persist

        trained = sorted(p.stat().st_mtime for p in persist.models_dir(db).glob(f"risk-v{snap.version}-*.skops")) \
            if published_at else []
        # the worker scores the new version with the earlier model before pointing readers at it (risk.jobs)
        worker_log = d.worker.log.read_text(encoding="utf-8", errors="replace")
        scored = re.findall(rf"scored v{snap.version} with the model of v(\d+) before publishing it, in ([\d.]+) s",
                            worker_log)
        waited = re.findall(rf"publishing v{snap.version} before its risk scores, after ([\d.]+) s", worker_log)
        warmed = re.findall(r"warmed (\d+) results of v" + str(snap.version) + r"-\S+ before publishing it, in ([\d.]+) s",
                            worker_log)
        first_runs = {app.name: _first_runs(app.log, before) for app in d.apps}
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    longer = until[0] - planned_end[0]
    print(f"{a.sessions} sessions through the proxy for {a.seconds:.0f} s"
          + (f" and {longer:.0f} s more, to 30 s after the publishing" if longer > 0 else "")
          + f" ({elapsed:.0f} s with the last runs), "
          f"{a.replicas} app process(es), reading {a.think} s between clicks, {os.cpu_count()} cores; "
          f"{len(results)} page runs; load average {os.getloadavg()[0]:.1f}")
    _table(results, started, upload)
    print(f"\nerrors: {len(errors)}" + "".join(f"\n- {e}" for e in errors[:10]))
    print(f"reconnections after a dropped connection: {len(reconnects)}"
          + (f" (killed {', '.join(killed)})" if killed else ""))
    print("memory MB (at most while sampled / peak): " + ", ".join(
        f"{name} {max(vals):.0f}/{peaks.get(name, 0):.0f}" for name, vals in sorted(memory.items())))
    if not a.no_upload:
        print("upload: " + (f"the page said committed {upload['commit_s']:.1f} s after the click "
                            f"({upload.get('message', '')}); the worker published it "
                            f"{published_at - upload['clicked_at']:.1f} s after the click"
                            if "commit_s" in upload and published_at else
                            f"FAILED {upload.get('error', 'did not finish')}"))
        if "commit_s" not in upload or not published_at:  # what the worker was doing, or it cannot be told afterwards
            print("the worker's log, last lines:\n" + "\n".join(worker_log.splitlines()[-15:]))
        if published_at:
            print("risk scores: " + (f"the worker scored the new version with the model of v{scored[0][0]} in "
                                     f"{scored[0][1]} s, before publishing it" if scored else
                                     f"the worker published the new version after waiting {waited[0]} s for them "
                                     "(its budget); they followed" if waited else
                                     "the new version was published without risk scores"))
        if published_at:  # the results readers asked for most, computed by the worker before it pointed them at it
            print("warming: " + (f"the worker computed {warmed[0][0]} results of the new version in {warmed[0][1]} s "
                                 "before publishing it" if warmed else "none before publishing"))
        if "clicked_at" in upload:  # retraining is background work (COCKPIT_BACKGROUND_NICE): people come first
            print("retraining: " + (f"the new version's risk model was saved {trained[0] - upload['clicked_at']:.1f} s"
                                    " after the click" if trained else "not finished when the run ended"))
        alive_ports = [p for p, app in zip(d.app_ports, d.apps) if app.name not in " ".join(killed)]
        if published_at and all(p in propagation for p in alive_ports):
            print(f"new version served by every app process {max(propagation[p] for p in alive_ports) - published_at:.1f}"
                  " s after the worker published it (when each process's first run on it finished, by its own clock; "
                  f"polling /metrics every 0.5 s saw it {max(polled[p] for p in alive_ports) - published_at:.1f} s "
                  "after); each process: " + ", ".join(f"{propagation[p] - published_at:.1f} s" for p in alive_ports))
        else:
            print(f"new version not seen served by every app process: {propagation}")
        for name, runs in first_runs.items():  # where a process's time to show the new version went
            if runs:
                print(f"first runs on the new version, {name} (page: seconds in all / of them waiting for a turn, "
                      "ended how long after the publishing): "
                      + "; ".join(f"{r['page']} {r['seconds']:.1f}/{r.get('waited', 0):.1f} s ({r['outcome']}, "
                                  f"{_ended(r, published_at)})" for r in runs))
    return 1 if errors or (not a.no_upload and "commit_s" not in upload) else 0


if __name__ == "__main__":
    sys.exit(main())
