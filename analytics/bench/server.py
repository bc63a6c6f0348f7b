"""The app in its own process on a free loopback port: for browser tests, browser timing and the load test."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(db: Path, env: dict[str, str] | None = None, log: Path | None = None,
               timeout: float = 90, wait_for: str = "/readyz") -> Iterator[tuple[str, subprocess.Popen]]:
    """`streamlit run server.py` (the app with the operator's routes, as `make run` starts it) on `db`; yields
    (base URL, process) once `wait_for` answers 200 (/readyz: it is ready; /healthz: it is alive); stops it after."""
    port = free_port()
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "server.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, env=os.environ | {"COCKPIT_DB": str(db)} | (env or {}), stdout=out, stderr=subprocess.STDOUT,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(base + wait_for, timeout=2):
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    tail = Path(log).read_text()[-2000:] if log else ""
                    raise RuntimeError(f"the app did not start on {base}: {tail}") from None
                time.sleep(0.3)
        yield base, proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if log:
            out.close()


def copy_database(src: Path, dst: Path) -> Path:
    """Copy the database `src` to `dst` with its saved models and scores (`<db>.models/`, which the risk page
    reads), so a benchmark or a test server works on its own copy; returns `dst`."""
    import shutil

    shutil.copy(src, dst)
    models = Path(str(src) + ".models")  # risk/persist.models_dir (not imported: it pulls in scikit-learn)
    if models.is_dir():
        shutil.copytree(models, Path(str(dst) + ".models"))
    return dst


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, in MB, from /proc (0, 0 when it is gone)."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        return 0.0, 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far, in seconds (0 when it is gone). Under a shared
    machine's noise this says more than wall time: the work the server did, whatever else ran beside it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


async def page_run(ws, page: str, query: str = "", timeout: float = 180) -> tuple[float, int, str | None]:
    """Ask a Streamlit session (the open websocket `ws` on `/_stcore/stream`) for one script run of `page`
    (its URL path, "" for the default page) with `query` (the URL's query string), as a browser does, and wait
    for the run to finish: (seconds, bytes the server sent, the first exception shown on the page or None)."""
    import asyncio

    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    msg = BackMsg()
    msg.rerun_script.query_string = query
    msg.rerun_script.page_name = page
    started = time.perf_counter()
    await ws.send(msg.SerializeToString())
    size, failed = 0, None
    while True:
        data = await asyncio.wait_for(ws.recv(), timeout=timeout)
        size += len(data)
        f = ForwardMsg()
        f.ParseFromString(data)
        kind = f.WhichOneof("type")
        if failed is None and kind == "delta" and f.delta.WhichOneof("type") == "new_element" \
                and f.delta.new_element.WhichOneof("type") == "exception":
            failed = f.delta.new_element.exception.message[:200]
        if kind == "script_finished":
            return time.perf_counter() - started, size, failed


def session(base: str):
    """A new Streamlit session on the app at `base`: an async context manager yielding its websocket."""
    import websockets

    return websockets.connect(base.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"],
                              max_size=None, open_timeout=60, ping_timeout=None)
