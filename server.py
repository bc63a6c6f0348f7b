"""The production entry point (issue 18): the app (app.py) served by Streamlit's ASGI server with an operator's
routes beside it. `streamlit run server.py` (make run) or any ASGI server: `uvicorn server:app`.

- `/healthz`  liveness: the process answers (a proxy or orchestrator restarts it when it does not);
- `/readyz`   readiness: Streamlit's runtime accepts sessions and the database and the state stores answer
              (a proxy sends no new sessions to a process that is not ready); JSON, 200 or 503;
- `/metrics`  the process's counters in the Prometheus text format (analytics/ops.py): page runs and times by page
              and outcome, sessions, the data version, the notification outbox by state, memory;
- every HTML page carries one line of script that keeps the window's width in a cookie (ui/mapfit.py: a first
  visit's maps are drawn at their column's width at once);
- `/cockpit-static/<file>` the app's own scripts: the cartesian build of plotly.js every chart is drawn with
              (ui/charts.py), cached for a year under its versioned name, gzipped when the browser takes it;
- `/auth/adopt` (POST, from the app's own page) swaps the one-time ticket a password sign-in issued for the sign-in
              cookie, so the sign-in survives a reload, a new tab and another process (analytics/auth/sessions.py).

As it starts, the process imports every module the pages run on and warms the results readers asked for most
(analytics/warming.py), in the background, so the first reader after a restart does not pay for either.

Every run of app.py writes one JSON log line to stderr (logger `cockpit.access`): time, page, user, role, outcome,
seconds (and of them waited for a turn), data version. docs/deployment.md says how to use them.
"""
from __future__ import annotations

import functools
import gzip
import logging
import os
import sys
import time
from pathlib import Path

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from analytics import ops, settings
from analytics.auth import sessions
from ui import charts, context, mapfit

_handler = logging.StreamHandler(sys.stderr)
_handler.setFormatter(logging.Formatter("%(message)s"))
ops.ACCESS_LOG.addHandler(_handler)
ops.ACCESS_LOG.setLevel(logging.INFO)
ops.ACCESS_LOG.propagate = False
sessions.ADOPT_ROUTE = True  # the sign-in form may now hand its ticket to /auth/adopt
charts.SERVED = True  # charts are drawn with the plotly.js build served at /cockpit-static


def preload() -> list[str]:
    """Import every module the pages run on now, at start, rather than in the first reader's run: measured, the
    first visit of / after a start took 5.1 s against 2.1 s for the next reader, 1.3 s of it importing these."""
    import importlib
    import pkgutil

    loaded = []
    for package in ("ui", "ui.blocks", "analytics.pages", "analytics.figures"):
        for info in pkgutil.iter_modules(importlib.import_module(package).__path__):
            loaded.append(importlib.import_module(f"{package}.{info.name}").__name__)
    return loaded


preload()
context.warm_at_start(settings.get("COCKPIT_DB"))  # what readers asked for most, ready before they come back


def _runtime():
    from streamlit.runtime import Runtime

    return Runtime.instance() if Runtime.exists() else None


def _data_version(db_path: str) -> tuple[int, object] | None:
    from ui import context

    return context.data_version(db_path)


def _checks() -> dict[str, str]:
    """Each dependency of serving a page and what it said; "ok" or the reason it is not."""
    db_path = settings.get("COCKPIT_DB")
    checks: dict[str, str] = {}
    if not Path(db_path).is_file():
        checks["database"] = "ok: not created yet (the first visit sets it up)"
    else:
        try:
            newest = _data_version(db_path)
            checks["database"] = f"ok: version {newest[0]} as of {newest[1]}" if newest else "ok: no data yet"
        except Exception as e:  # noqa: BLE001 (reported, not raised: this is the report)
            checks["database"] = f"failed: {type(e).__name__}: {e}"
    from analytics.auth import store as auth_store
    from analytics.notify import store as notify_store

    for name, module in (("accounts", auth_store), ("notifications", notify_store)):
        if module is auth_store and not auth_store.exists(auth_store.path_for(db_path)):
            checks[name] = "ok: no accounts (demo mode)"
            continue
        try:
            with module.connect(module.path_for(db_path)) as con:
                con.execute("SELECT 1").fetchone()
            checks[name] = "ok"
        except Exception as e:  # noqa: BLE001
            checks[name] = f"failed: {type(e).__name__}: {e}"
    from analytics.db import snapshots

    if snapshots.published(db_path):  # reading does not need the worker: said, never a reason to be unready
        from analytics import jobs

        checks["worker"] = "ok" if jobs.alive_workers(db_path) else "ok: no worker running (commits wait in its queue)"
    return checks


async def healthz(request) -> PlainTextResponse:
    return PlainTextResponse(f"ok pid={os.getpid()} uptime_s={time.time() - ops.STARTED_AT:.0f}\n")


async def readyz(request) -> JSONResponse:
    runtime = _runtime()
    ok, message = (await runtime.is_ready_for_browser_connection) if runtime else (False, "no runtime")
    checks = {"runtime": "ok" if ok else f"failed: {message}"} | await run_in_threadpool(_checks)
    ready = all(v.startswith("ok") for v in checks.values())
    return JSONResponse({"ready": ready, "pid": os.getpid(), "checks": checks}, status_code=200 if ready else 503)


def _gauges() -> dict:
    db_path = settings.get("COCKPIT_DB")
    gauges: dict = {}
    runtime = _runtime()
    if runtime is not None:
        gauges["cockpit_sessions"] = ("Browser sessions connected to this process.",
                                      [({}, runtime._session_mgr.num_active_sessions())])
    gate = ops.admission()
    gauges["cockpit_page_runs_running"] = ("Page runs this process works on now (at most COCKPIT_MAX_RUNS).",
                                           [({}, gate.running)])
    gauges["cockpit_page_runs_waiting"] = ("Page runs waiting for their turn in this process.", [({}, gate.waiting)])
    if ops.SHOWN.version is not None:
        gauges["cockpit_shown_version"] = ("The newest data version a finished page run of this process showed.",
                                           [({}, ops.SHOWN.version)])
        gauges["cockpit_shown_version_since_seconds"] = (
            "When a finished page run of this process first showed that version, seconds since the epoch.",
            [({}, ops.SHOWN.since)])
    if Path(db_path).is_file():
        try:
            newest = _data_version(db_path)
        except Exception:  # noqa: BLE001 (/readyz says why)
            newest = None
        if newest:
            gauges["cockpit_data_version"] = ("The data version this process serves.", [({}, newest[0])])
    from analytics.notify import outbox
    from analytics.notify import store as notify_store

    from analytics.auth import store as auth_store

    gauges["cockpit_signed_in_sessions"] = (
        "Sign-in sessions that hold now (not ended, not idle too long), in the shared accounts store.",
        [({}, sessions.active(auth_store.path_for(db_path)))])
    from analytics.db import snapshots

    if snapshots.published(db_path):  # served with a worker: its queue, whether it beats, what it published
        from analytics import jobs

        queued = jobs.counts(db_path)
        gauges["cockpit_jobs"] = ("Jobs in the worker's queue (commits, restores, retraining), by state.",
                                  [({"state": s}, queued.get(s, 0)) for s in jobs.STATES])
        gauges["cockpit_worker_up"] = ("1 when a worker sent its heartbeat within the last 10 s.",
                                       [({}, 1 if jobs.alive_workers(db_path) else 0)])
        snap = snapshots.current(db_path)
        gauges["cockpit_published_version"] = ("The data version the worker published last.",
                                               [({}, snap.version if snap else 0)])
    counts = outbox.counts(notify_store.path_for(db_path))
    gauges["cockpit_outbox_messages"] = ("Notification messages in the outbox, by state.",
                                         [({"state": s}, counts.get(s, 0))
                                          for s in ("queued", "sending", "sent", "failed")])
    return gauges


async def metrics(request) -> PlainTextResponse:
    text = ops.exposition(await run_in_threadpool(_gauges))
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


def _secure(request) -> bool:
    choice = settings.get("COCKPIT_COOKIE_SECURE").strip().lower()
    if choice in ("1", "true", "yes"):
        return True
    if choice in ("0", "false", "no"):
        return False
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "").lower() == "https"


async def adopt(request) -> PlainTextResponse:
    """POST ticket=…: the sign-in cookie for a one-time ticket (204), from a page of this site only (403)."""
    origin = request.headers.get("origin", "")
    if not origin or origin.split("://", 1)[-1] != request.headers.get("host", ""):
        return PlainTextResponse("a sign-in ticket is accepted from this site's own pages only\n", status_code=403)
    ticket = str((await request.form()).get("ticket", ""))
    client = request.headers.get("x-forwarded-for") or (request.client.host if request.client else "")
    from analytics.auth import store as auth_store

    token = await run_in_threadpool(sessions.adopt, auth_store.path_for(settings.get("COCKPIT_DB")), ticket,
                                    client)
    if token is None:
        return PlainTextResponse("unknown, used or expired ticket\n", status_code=400,
                                 headers={"Cache-Control": "no-store"})
    response = PlainTextResponse("", status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(sessions.COOKIE, token, max_age=3600 * settings.get("COCKPIT_AUTH_SESSION_HOURS"),
                        path="/", httponly=True, samesite="lax", secure=_secure(request))
    return response


_STATIC = {charts.PLOTLY_JS: "text/javascript; charset=utf-8"}  # what /cockpit-static serves, nothing else


@functools.cache  # read, and compressed, once per process
def _static_body(name: str, gzipped: bool) -> bytes:
    raw = (charts.STATIC_DIR / name).read_bytes()
    return gzip.compress(raw, 6) if gzipped else raw


async def static(request) -> Response:
    """One of the app's own scripts (`_STATIC`): immutable under its versioned name, so cached for a year."""
    name = request.path_params["name"]
    if name not in _STATIC:
        return PlainTextResponse("not found\n", status_code=404)
    gzipped = "gzip" in request.headers.get("accept-encoding", "")
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding",
               "X-Content-Type-Options": "nosniff"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    body = await run_in_threadpool(_static_body, name, gzipped)
    return Response(body if request.method == "GET" else b"", media_type=_STATIC[name], headers=headers)


# every HTML page keeps the window's width in a cookie before Streamlit connects: a first visit's maps are drawn
# at once at their column's width (ui/mapfit.py)
app = st.App("app.py", middleware=[Middleware(mapfit.ViewportCookie)], routes=[Route("/healthz", healthz, methods=["GET", "HEAD"]),
                               Route("/readyz", readyz, methods=["GET", "HEAD"]),
                               Route("/metrics", metrics, methods=["GET"]),
                               Route("/auth/adopt", adopt, methods=["POST"]),
                               Route(charts.STATIC_ROUTE + "/{name}", static, methods=["GET", "HEAD"])])
