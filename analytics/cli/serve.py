"""Serving a deployment (issue 18): worker (the one writer), jobs (its queue), serve (proxy + app processes +
worker on one machine). docs/deployment.md."""
from __future__ import annotations

import json
import signal
import sys
from datetime import datetime
from pathlib import Path

from analytics import settings


def cmd_worker(args) -> int:
    from analytics import worker

    try:
        w = worker.Worker(args.db, log=lambda s: print(f"{datetime.now():%H:%M:%S} worker: {s}", flush=True))
    except worker.WorkerError as e:
        print(str(e), file=sys.stderr)
        return 3
    signal.signal(signal.SIGTERM, lambda *_: w.stop())
    print(f"worker {w.id} for {args.db}: runs the job queue {'until it is empty' if args.once else '(Ctrl-C stops)'}",
          flush=True)
    try:
        w.run(once=args.once)
    except KeyboardInterrupt:
        pass
    finally:
        w.close()
    return 0


def cmd_jobs(args) -> int:
    from analytics import jobs

    if args.retry is not None:
        if not jobs.retry(args.db, args.retry):
            print(f"job {args.retry}: not a failed job", file=sys.stderr)
            return 2
        print(f"job {args.retry} queued again")
        return 0
    listed = jobs.listing(args.db, limit=args.limit)
    workers = jobs.alive_workers(args.db)
    if args.json:
        print(json.dumps({"workers": workers, "jobs": [j.__dict__ for j in listed]}, ensure_ascii=False, indent=2,
                         default=str))
        return 0
    print(("worker(s) alive: " + ", ".join(f"{w['id']} (published v{w['version']})" for w in workers)) if workers
          else "no worker is running: queued jobs wait for `python -m analytics worker`")
    for j in listed:
        when = datetime.fromtimestamp(j.submitted_at).strftime("%Y-%m-%d %H:%M:%S")
        tail = (j.error or "") if j.state == "failed" else json.dumps(j.result, ensure_ascii=False) if j.result else j.progress
        print(f"{j.id:>5} {j.state:<8} {j.kind:<8} {when} {j.submitted_by:<12} {j.title}  {tail}")
    return 0


def cmd_serve(args) -> int:
    from analytics import serve

    try:
        d = serve.Deployment(args.db, args.replicas, args.port, address=args.address,
                             log=lambda s: print(f"{datetime.now():%H:%M:%S} serve: {s}", flush=True))
    except serve.ServeError as e:
        print(str(e), file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        d.run()
    except KeyboardInterrupt:
        pass
    except serve.ServeError as e:
        print(str(e), file=sys.stderr)
        return 3
    finally:
        d.stop()
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser("worker", help="the one writer: run the job queue (commits, restores, retraining), publish "
                       "snapshots for the app processes, send notifications")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--once", action="store_true", help="publish, run the queued jobs, then stop")
    p.set_defaults(func=cmd_worker)
    p = sub.add_parser("jobs", help="the worker's job queue: list, or --retry a failed job")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--retry", type=int, default=None, metavar="ID")
    p.add_argument("--limit", type=int, default=30)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_jobs)
    p = sub.add_parser("serve", help="a proxy (Caddy), N app processes and the worker on this machine")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--replicas", type=int, default=2, help="app processes (about one core each)")
    p.add_argument("--port", type=int, default=settings.get("COCKPIT_SERVE_PORT"), help="the proxy's port; the app "
                   "processes listen on the ports after it, on 127.0.0.1")
    p.add_argument("--address", default="", help="the proxy's address (default: every interface)")
    p.set_defaults(func=cmd_serve)
