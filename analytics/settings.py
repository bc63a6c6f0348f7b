"""Every setting, declared once: name, default, help. Read from the environment.

`docs/configuration.md` is generated from this list (`python -m analytics settings`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
REGIONS_CSV = DATA_DIR / "regions.csv"
GEO_DIR = DATA_DIR / "geo"


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    kind: type = str
    secret: bool = False  # also read from `[notify]` of .streamlit/secrets.toml; never printed

    def get(self):
        raw = os.environ.get(self.name)
        if raw is None and self.secret:
            raw = _secrets_file().get(self.name.removeprefix("COCKPIT_").lower())
        raw = self.default if raw is None else raw
        try:
            return self.kind(raw)
        except ValueError:
            raise ValueError(f"setting {self.name}={raw!r}: expected a {self.kind.__name__}") from None


SETTINGS = (
    Setting("COCKPIT_DB", str(DATA_DIR / "cockpit.duckdb"),
            "Path of the DuckDB file the app reads. When it is missing, the first start asks whether to explore the "
            "demo data or start on the office's own data (or follows COCKPIT_HOME_REGION)."),
    Setting("COCKPIT_HOME_REGION", "", "On a server: the GB/T 2260 code of the office's home region (a province, "
            "city or county; 100000 for the nation). When the database is missing, the first start creates it empty "
            "for this region (as `python -m analytics init`) and opens the upload page, instead of asking. Empty: ask."),
    Setting("COCKPIT_DEMO_SCALE", "1", "Scale of the demo data created on first start (1 ≈ 20,000 items).",
            float),
    Setting("COCKPIT_DEMO_SEED", "20261122", "Random seed of the demo data created on first start.", int),
    Setting("COCKPIT_DEMO_AS_OF", "", "As-of date (YYYY-MM-DD) of the demo data; empty means today."),
    Setting("COCKPIT_CACHE_TTL_SECONDS", "3600", "How long query results stay cached (they are also keyed "
            "on the data version, so a new upload shows at once).", int),
    Setting("COCKPIT_QUALITY_MAX_ITEMS", "300000", "Most items the duplicate and authenticity analyses take at "
            "once (they hold every item's reports in memory: the national analysis at demo scale 100, 2 M items, "
            "needs over 14 GB). Above it they run per chosen region, and the pages ask for a province or city.", int),
    Setting("COCKPIT_RISK_HIGH", "0.5", "Slip probability at or above which an item is in the high risk band.",
            float),
    Setting("COCKPIT_RISK_MEDIUM", "0.2", "Slip probability at or above which an item is in the medium risk band "
            "(below the high band's).", float),
    Setting("COCKPIT_RISK_ALERT_SHARE", "0.1", "Share of open items the slip-risk model may alert (the alert "
            "budget its precision and recall are measured at, against the red-light rule).", float),
    Setting("COCKPIT_RISK_MAX_TRAIN_ROWS", "1000000", "Most training rows (item × snapshot) the slip-risk model "
            "trains on. Above it, a fixed share of the items is kept with all of their snapshots (chosen by a hash of "
            "the item ID, the same at every training), which bounds training time and memory: at demo scale 10 the "
            "2.2 M rows took 231 s and 5.6 GB inside the app process. The model card says when it is a sample.", int),
    Setting("COCKPIT_RETRAIN_AFTER_COMMIT", "1", "1: every commit or rollback, from the upload page or the "
            "command line, retrains the slip-risk model on the new data version in the background (the command line "
            "waits for it; `--no-retrain` skips it); 0: the model is retrained only on demand (the risk page's button, "
            "`python -m analytics risk train`).", int),
    Setting("COCKPIT_SILENT_DAYS", "30", "The reporting cycle in days: a region whose items in flight have had no "
            "progress report for longer is flagged as silent on the cockpit, the regions page (a ring on the map), the "
            "domains and trends pages, and an item in flight without a report for longer on its own page; the data "
            "page gives every region's share of items in flight reported on within it (docs/freshness.md).", int),
    Setting("COCKPIT_FORECAST", "1", "1: each training of the slip-risk model also learns the finish-date forecasts "
            "(P50 / P80 dates, chance of finishing by the deadline, the portfolio S-curve; about 45 s more at demo "
            "scale 1, 2 minutes at scale 10); 0: the scores come without them and the pages say so.", int),
    Setting("COCKPIT_RISK_THREADS", "1", "Threads the slip-risk model may use to train and score (OpenMP); keep "
            "low on a shared machine, where more threads than free cores make it many times slower.", int),
    Setting("COCKPIT_REFERENCE_DIR", str(ROOT.parent / "shared" / "reference-data"), "Folder of the reference "
            "data sets the model is checked on (uk-gmpp/raw/: the UK GMPP publications; "
            "`python -m analytics.reference.uk_gmpp_doc`). By default the project's shared folder beside the checkout."),
    # uploads (analytics/ingest, docs/uploads.md)
    Setting("COCKPIT_DB_WRITABLE", "1", "1: the app opens the database for writing, so stewards can upload "
            "through it (DuckDB then lets no other process open the file); 0: read-only, uploads only with "
            "`python -m analytics ingest` while the app is stopped.", int),
    Setting("COCKPIT_STEWARD", "steward", "Who an upload or rollback is recorded as in demo mode (signed in: the account)."),
    Setting("COCKPIT_PRESENTER", "presenter", "Who a review meeting's notes are recorded as in demo mode (signed in: the account)."),
    Setting("COCKPIT_UPLOAD_MAX_MB", "200", "Largest file accepted for upload, in MB (also the largest a zip "
            "or workbook may unpack to).", int),
    Setting("COCKPIT_UPLOAD_MAX_ROWS", "3000000", "Most data rows one upload may hold.", int),
    Setting("COCKPIT_UPLOAD_MAX_TEXT", "10000", "Most characters a text cell may hold.", int),
    Setting("COCKPIT_KEEP_VERSIONS", "10", "How many of the newest data versions stay restorable; older "
            "stored table states are dropped at the next commit (their audit rows stay).", int),
    Setting("COCKPIT_UPLOAD_WAIT_SECONDS", "30", "How long a commit waits for another steward's commit to "
            "finish before it is told to retry.", int),
    # access control (analytics/auth, docs/security.md)
    Setting("COCKPIT_AUTH_DB", "", "Path of the accounts and audit-log file (SQLite); empty means "
            "`<COCKPIT_DB>.auth.sqlite`. No account in it: demo mode, where anyone can see everything."),
    Setting("COCKPIT_AUTH_MAX_FAILURES", "5", "Failed sign-ins in a row after which a user name is locked.", int),
    Setting("COCKPIT_AUTH_LOCKOUT_MINUTES", "15", "How long a locked user name stays locked, in minutes.", int),
    Setting("COCKPIT_AUTH_IDLE_MINUTES", "30", "Minutes without any action after which a session is signed out.",
            int),
    Setting("COCKPIT_STATE_URL", "", "Where accounts, sessions, the audit log, notifications, notes, saved mappings and "
            "jobs live: empty for SQLite files beside the database (one machine), or `postgresql://user:password@host/"
            "db` (psycopg 3) for several machines sharing them; each store is then a schema of that database."),
    Setting("COCKPIT_STATE_NAMESPACE", "", "With COCKPIT_STATE_URL: the stores' schema prefix (`cockpit` gives "
            "`cockpit_auth`, …). Set it when machines reach the database file by different paths; empty derives it "
            "from the database file's path."),
    Setting("COCKPIT_STATE_WAIT_SECONDS", "30", "With COCKPIT_STATE_URL: how long a request waits and retries while "
            "PostgreSQL does not answer (a restart) before it fails.", int),
    Setting("COCKPIT_SERVE_PORT", "8501", "The port `python -m analytics serve` (make serve) listens on; its app "
            "processes take the ports after it, on 127.0.0.1 only.", int),
    Setting("COCKPIT_WORKER_NOTIFY_SECONDS", "60", "How often the worker (`python -m analytics worker`) queues and "
            "sends the notification digests that are due, in seconds; 0: never (run `notify serve` instead).", int),
    Setting("COCKPIT_WARM_BEFORE_PUBLISH_SECONDS", "20", "Served with a worker: how long it may spend computing the "
            "most asked-for results of a new version before pointing the app processes at it, so their first pages on "
            "it are quick; it computes them while it waits for the version's risk scores, so a longer scoring gives it "
            "longer (the rest is computed after publishing). `0`: none before publishing.", float),
    Setting("COCKPIT_SCORE_BEFORE_PUBLISH_SECONDS", "120", "Served with a worker: how long it may wait for a new "
            "version's slip-risk scores (the newest earlier model scoring it: seconds on a province's data, about a "
            "minute on 200,000 items) before pointing the app processes at it anyway; the scores then follow when "
            "done, at the background priority, and the risk page says none are there meanwhile. `0`: publish at "
            "once.", float),
    Setting("COCKPIT_BACKGROUND_NICE", "10", "How much lower the priority of background work is than page runs and "
            "commits, as a Linux nice increment (0–19): retraining the risk model, and in the worker the warming and "
            "quality marts after publishing, so that on a busy machine people's pages come first (nice orders threads "
            "of one session or cgroup only: docs/deployment.md). `0`: the same.", int),
    Setting("COCKPIT_MAX_RUNS", "6", "Page runs one app process works on at once; more wait their turn, first come "
            "first served (one process has one Python interpreter lock: 90 runs at once are all slow together, and a "
            "new data version shows only after every one of them). `0`: no limit.", int),
    Setting("COCKPIT_SNAPSHOTS", "auto", "How the app reads the database: `auto` reads the snapshots a worker publishes "
            "(`<db>.snapshots/`) when there are any, else opens the file itself as one process; `0` always opens the "
            "file itself (a worker's snapshots are then ignored)."),
    Setting("COCKPIT_AUTH_SESSION_HOURS", "12", "Hours after signing in at which a session ends however active it "
            "is (the cookie that keeps a sign-in across reloads and tabs lasts no longer).", int),
    Setting("COCKPIT_COOKIE_SECURE", "auto", "Whether the sign-in cookie is sent only over HTTPS: `auto` (when the "
            "request came by HTTPS, also as the proxy's X-Forwarded-Proto says), `1` always, `0` never."),
    Setting("COCKPIT_AUTH_MIN_PASSWORD", "10", "Fewest characters a password may have (it also needs a letter "
            "and a digit, and may not contain the user name).", int),
    Setting("COCKPIT_SSO_PROVIDER", "", "Single sign-on: the provider's name in `[auth.<name>]` of "
            "`.streamlit/secrets.toml`; empty uses `[auth]` itself. SSO is offered only when `[auth]` is configured."),
    # notifications (analytics/notify, docs/notifications.md)
    Setting("COCKPIT_BASE_URL", "http://localhost:8501", "The app's address as readers open it: every link in a "
            "notification starts with it (an item opens at `<base>/item?item=<id>&region=<code>&lang=zh`)."),
    Setting("COCKPIT_NOTIFY_DB", "", "Path of the notifications file (rules, firings, subscriptions, the outbox and "
            "the inbox; SQLite); empty means `<COCKPIT_DB>.notify.sqlite`."),
    Setting("COCKPIT_DIGEST_HOUR", "8", "Hour of the day (0–23, the server's time) from which the daily and weekly "
            "digests are sent.", int),
    Setting("COCKPIT_DIGEST_WEEKDAY", "0", "Day of the week the weekly digest is sent on (0 Monday … 6 Sunday).",
            int),
    Setting("COCKPIT_NOTIFY_RETRY_SECONDS", "60", "Wait before the first retry of a message that could not be "
            "delivered; each further failure doubles it, up to an hour.", int),
    Setting("COCKPIT_NOTIFY_INTERVAL_SECONDS", "300", "How often `python -m analytics notify serve` runs a pass "
            "(evaluate the rules on a new data version, queue the digests that are due, deliver the outbox).", int),
    Setting("COCKPIT_SMTP_HOST", "", "Mail server for e-mail notifications; empty: no e-mail is sent (messages "
            "wait in the outbox)."),
    Setting("COCKPIT_SMTP_PORT", "587", "Mail server port (587 with STARTTLS, 25 without).", int),
    Setting("COCKPIT_SMTP_STARTTLS", "1", "1: upgrade the mail connection with STARTTLS before signing in "
            "(refused when the server does not offer it); 0: plain (only on a trusted internal network).", int),
    Setting("COCKPIT_SMTP_USER", "", "User name to sign in to the mail server with; empty: no sign-in."),
    Setting("COCKPIT_SMTP_PASSWORD", "", "Password for the mail server. A secret: set it in the environment or as "
            "`smtp_password` under `[notify]` in `.streamlit/secrets.toml`, never in a committed file.",
            secret=True),
    Setting("COCKPIT_SMTP_FROM", "cockpit@localhost", "Sender address of notification e-mails."),
    Setting("COCKPIT_WEBHOOK_URL", "", "Group robot address of the office's messaging platform (DingTalk-style "
            "markdown messages); empty: no webhook messages are sent."),
    Setting("COCKPIT_WEBHOOK_SECRET", "", "Signing secret of the group robot (each message is signed with it, as "
            "DingTalk robots require); empty: unsigned. A secret: set it in the environment or as `webhook_secret` "
            "under `[notify]` in `.streamlit/secrets.toml`.", secret=True),
    Setting("COCKPIT_WEBHOOK_PER_MINUTE", "20", "Most messages sent to one group robot (webhook URL) in any 60 "
            "seconds (WeCom, DingTalk and Feishu robots take about 20); the rest wait in the outbox, queued with "
            "the time they may go. 0: no limit.", int),
    Setting("COCKPIT_WEBHOOK_MAX_BYTES", "4096", "Largest Markdown text of one group robot message, in bytes of "
            "UTF-8 (WeCom: 4096; DingTalk takes 20000). The digests queued for one robot and period go as few "
            "messages as fit; a longer digest is split between its items into parts marked (1/3), (2/3) ….", int),
)
BY_NAME = {s.name: s for s in SETTINGS}
SECRETS_FILE = ROOT / ".streamlit" / "secrets.toml"


def _secrets_file() -> dict:
    """`[notify]` of the git-ignored secrets file (where Streamlit keeps the SSO secrets too): the scheduler runs
    outside Streamlit, so it reads the file itself. {} when there is none."""
    import tomllib

    try:
        with SECRETS_FILE.open("rb") as f:
            section = tomllib.load(f).get("notify", {})
    except (FileNotFoundError, tomllib.TOMLDecodeError):
        return {}
    return {k: str(v) for k, v in section.items()} if isinstance(section, dict) else {}


def get(name: str):
    return BY_NAME[name].get()


def markdown() -> str:
    lines = ["# Configuration", "", "Generated from `analytics/settings.py` by `python -m analytics settings`.",
             "Each setting is an environment variable; Streamlit's own options live in "
             "`.streamlit/config.toml`.", "", "| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        # paths relative to the checkout, so the document is the same wherever it lies
        default = s.default.replace(str(ROOT) + "/", "").replace(str(ROOT.parent) + "/", "../") or "(empty)"
        lines.append(f"| `{s.name}` | `{default}` | {s.help} |")
    return "\n".join(lines) + "\n"
