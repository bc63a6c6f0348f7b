"""Support for tests/test_notify.py (no tests here): real servers to deliver to (an aiosmtpd SMTP server, an
http.server group robot that checks the DingTalk signature), and the rules' lines computed independently of the
app's SQL, in Polars, from the raw tables."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import polars as pl


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and localhost and its key, made by the openssl command (no Python library)."""
    import subprocess

    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


class Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps what it receives and checks the sign-in; with `tls`
    (cert, key) it offers STARTTLS and accepts mail and sign-in only after it."""

    def __init__(self, port: int, user: str = "notify", password: str = "pw-1234", tls: tuple[str, str] | None = None):
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list = []
        self.logins: list[tuple[str, str]] = []
        box = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                import email
                from email import policy

                box.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, auth_data):
            login, pw = auth_data.login.decode(), auth_data.password.decode()
            box.logins.append((login, pw))
            return AuthResult(success=(login, pw) == (user, password))

        kw = {"auth_require_tls": False}
        if tls:
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            kw = {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticate, **kw)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class Robot:
    """A group robot on a local http.server: answers {"errcode": 0} to a correctly signed Markdown message
    (HMAC-SHA256 of "<timestamp>\\n<secret>", base64), {"errcode": 310000} otherwise."""

    def __init__(self, secret: str, fail_first: int = 0):
        self.secret, self.received, self.rejected, self.fail_first = secret, [], [], fail_first
        robot = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                q = parse_qs(urlparse(self.path).query)
                ts, sign = q.get("timestamp", [""])[0], q.get("sign", [""])[0]
                want = base64.b64encode(hmac.new(robot.secret.encode(), f"{ts}\n{robot.secret}".encode(),
                                                 hashlib.sha256).digest()).decode()
                if robot.fail_first > 0:
                    robot.fail_first -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                ok = bool(ts) and hmac.compare_digest(sign, want)
                (robot.received if ok else robot.rejected).append(body)
                answer = json.dumps({"errcode": 0 if ok else 310000, "errmsg": "ok" if ok else "sign not match"})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/robot/send?access_token=t0k"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


# ---- the rules' lines, worked out from the raw tables without the app's SQL -------------------------------

def _in_flight(projects: pl.DataFrame, d: date) -> pl.DataFrame:
    return projects.filter((pl.col("start_date") <= d) & (pl.col("actual_end_date").is_null()
                                                           | (pl.col("actual_end_date") > d))
                           & (pl.col("status").fill_null("") != "terminated"))


def lights(con, d: date) -> pl.DataFrame:
    """Every item in flight at `d`: project_id, region_code, planned_end_date, lag (pp or null), light, overdue."""
    items = _in_flight(con.sql("SELECT * FROM projects").pl(), d)
    reports = con.sql("SELECT * FROM progress_reports").pl().filter(pl.col("report_date") <= d).sort("report_date")
    both = (reports.filter(pl.col("planned_progress_pct").is_not_null() & pl.col("actual_progress_pct").is_not_null())
            .group_by("project_id").agg(pl.col("planned_progress_pct").last().alias("planned"),
                                        pl.col("actual_progress_pct").last().alias("actual")))
    fc = (reports.filter(pl.col("forecast_end_date").is_not_null()).group_by("project_id")
          .agg(pl.col("forecast_end_date").last().alias("forecast")))
    rag = reports.filter(pl.col("rag").is_not_null()).group_by("project_id").agg(pl.col("rag").last())
    ms = con.sql("SELECT * FROM milestones").pl().with_columns(pl.col("weight").fill_null(1))
    late = (pl.col("planned_date") <= d) & (pl.col("actual_date").is_null() | (pl.col("actual_date") > d))
    ms = ms.group_by("project_id").agg(pl.col("weight").sum().alias("wt"),
                                       (pl.col("planned_date") <= d).sum().alias("n_due"),
                                       pl.col("weight").filter(late).sum().alias("wm"))
    x = (items.join(both, on="project_id", how="left").join(fc, on="project_id", how="left")
         .join(rag, on="project_id", how="left").join(ms, on="project_id", how="left"))
    out = []
    for r in x.iter_rows(named=True):
        overdue = r["planned_end_date"] < d
        lag = None
        if r["planned"] is not None:
            lag = r["planned"] - r["actual"]
        elif (r["n_due"] or 0) > 0:
            lag = 100.0 * r["wm"] / r["wt"]
        elif r["forecast"] is not None:
            lag = (100.0 * max((r["forecast"] - r["planned_end_date"]).days, 0)
                   / max((r["planned_end_date"] - r["start_date"]).days, 1))
        if overdue:
            light = "red"
        elif lag is not None:
            light = "red" if lag > 20 else "yellow" if lag > 10 else "green"
        elif r["rag"] is not None:
            light = "red" if r["rag"] in ("red", "amber_red") else "yellow" if r["rag"] == "amber" else "green"
        else:
            light = "none"
        out.append((r["project_id"], r["region_code"], r["planned_end_date"], lag, light, overdue))
    return pl.DataFrame(out, schema=["project_id", "region_code", "planned_end_date", "lag", "light", "overdue"],
                        orient="row")


def expected_lines(con, d: date, high: set[str], due_days=14, weeks=3, silent_days=30) -> dict[str, set[tuple]]:
    """rule key -> {(subject, region_code)} over the whole database."""
    now = lights(con, d)
    out = {"overdue": {(r[0], r[1]) for r in now.filter(pl.col("overdue")).iter_rows()}}
    days_left = (pl.col("planned_end_date") - pl.lit(d)).dt.total_days()
    out["due_soon"] = {(r[0], r[1]) for r in now.filter(~pl.col("overdue") & (pl.col("lag") > 10)
                                                         & days_left.is_between(0, due_days)).iter_rows()}
    red = set(now.filter(pl.col("light") == "red")["project_id"])
    last_sunday = d - timedelta(days=(d.weekday() + 1) % 7 or 7)  # red at the week ends before `d` as well
    for k in range(weeks - 1):
        red &= set(lights(con, last_sunday - timedelta(days=7 * k)).filter(pl.col("light") == "red")["project_id"])
    out["red_weeks"] = {(r[0], r[1]) for r in now.filter(pl.col("project_id").is_in(sorted(red))).iter_rows()}
    out["high_risk"] = {(r[0], r[1]) for r in now.filter(pl.col("project_id").is_in(sorted(high))).iter_rows()}
    out["unanswered"] = set()  # nothing was urged before this first look: the ladder's next step counts from an urging
    rect = con.sql("SELECT * FROM rectifications").pl().filter(
        (pl.col("found_date") <= d) & (pl.col("deadline") < d)
        & ~(pl.col("closed_date").is_not_null() & (pl.col("closed_date") <= d)))
    out["rect_overdue"] = {(r["rectification_id"], r["region_code"]) for r in rect.iter_rows(named=True)}
    items = _in_flight(con.sql("SELECT * FROM projects").pl(), d)
    last = (con.sql("SELECT * FROM progress_reports").pl().filter(pl.col("report_date") <= d)
            .group_by("project_id").agg(pl.col("report_date").max().alias("last")))
    per = (items.join(last, on="project_id", how="left").group_by("region_code")
           .agg(pl.col("last").max(), pl.col("start_date").min()))
    out["silent"] = {(r["region_code"], r["region_code"]) for r in per.iter_rows(named=True)
                     if (d - (r["last"] or r["start_date"])).days > silent_days}
    return out
