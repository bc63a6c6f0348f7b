"""docs/security.md, generated (`python -m analytics security-doc > docs/security.md`); a test keeps it current."""
from __future__ import annotations

from analytics import settings
from analytics.auth import audit, roles, scoping

INTRO = """# Security: sign-in, roles, region scope, masking, audit

Generated from `analytics/auth/` by `python -m analytics security-doc`; `tests/test_auth.py` fails when
this file and the declarations differ.

## Turning sign-in on

With no account, the app runs in **demo mode**: every page shows a banner saying that anyone can see
everything (演示模式：任何人都能看到全部数据). Creating the first account turns sign-in on at the next page view:

```bash
python -m analytics users add admin --role admin --db data/cockpit.duckdb          # asks for the password twice
python -m analytics users add wang --role analyst --region 340000 --name 王分析    # a province-scoped analyst
python -m analytics users add li --role leader --region 340102 --region 340103     # a set of counties
python -m analytics users add zhao --role steward --region 340100 --domain 营商环境  # a city and one domain
python -m analytics users list | disable NAME | enable NAME | reset NAME | unlock NAME | change NAME --role ...
python -m analytics audit verify                                                    # exit 1 if the log was changed
```

Accounts and the audit log live in a small SQLite file beside the database, `<db>.auth.sqlite`
(`COCKPIT_AUTH_DB` moves it). Not in DuckDB: the running app holds the DuckDB file open for writing and
DuckDB then lets no other process open it, so accounts kept there could not be managed from the command
line while the app runs. Accounts are never deleted (the audit log names them): they are disabled. Once an
account exists the app never returns to demo mode by itself, even if every account is disabled; deleting the
file does that. Passwords are passed to the CLI on the terminal (or one line of standard input with
`--password-stdin`), never as an argument.

**Single sign-on** (optional): when `.streamlit/secrets.toml` has an `[auth]` section (OpenID Connect, see
Streamlit's `st.login`; Authlib is in requirements.txt), the sign-in page offers it. The identity's e-mail (or
subject) must match an account's `--sso` identity, which gives the role and the scope; an identity without an
active account is refused.

## Sign-in rules

| rule | value | setting |
|---|---|---|
"""

BODY = """
- Text that came from a file or a user (item names, descriptions, notes, feedback, meeting notes, URL parameters
  echoed in a warning) is shown as text on every page: through Markdown it is escaped (`ui.page.md_escape`), and
  the patterns the frontend turns into links and icons after parsing (`http://`, `www.`, `@`, `:material/…:`)
  are broken by an invisible word joiner; tables, `st.html` blocks and exports never interpret it.
  `tests/test_browser_markdown.py` fills every free-text column, a meeting note and the URL parameters with links,
  images, bare URLs, HTML and a shortcode and finds none of them made into a link, an image or an icon on any
  page (chart hover labels, drawn only under the pointer, are not checked there).
- A download (table CSV/XLSX, meeting PPTX/PDF) is made when its button is clicked, outside any page run, so the
  session is checked again then: a button rendered before the account was disabled, its session was ended or
  idled out, its role lost `export` or its scope changed delivers nothing, and the refusal is audited as
  `export_refused` instead of an export (`tests/test_auth_app.py`).
- Passwords are stored as argon2id hashes (argon2-cffi's recommended parameters, rehashed on sign-in when
  those change). No password or hash is ever logged, shown, exported or returned by the CLI.
- Each failed attempt makes the next one from the same client wait (1, 2, 4 … seconds, at most 60); after the
  number of failures above the user name is locked for that client (its address as the app sees it, with the
  proxy's `X-Forwarded-For`), so nobody can lock someone else out by failing on purpose; the name is locked for
  everybody only after ten times as many failures over all clients together, so trying passwords from many
  addresses still ends. This is counted by the name typed, whether or not an account has it, and the message is
  the same for an unknown name, a wrong password and a disabled account, so the answers tell nothing about
  which names exist. The admin page lists the locks in force by client (one client that locked many names is
  guessing); an administrator lifts a lockout (`users unlock`, or on the admin page).
- A session ends after the idle time above without any action, `COCKPIT_AUTH_SESSION_HOURS` after signing in,
  when its account is disabled, and on sign-out, for every tab and app process using it at their next run.
- Served as `make run` serves it (server.py), a password sign-in survives a reload, a new tab and a move to
  another app process: the page swaps a one-time ticket (random, kept only as its SHA-256, usable once within a
  minute) at `POST /auth/adopt`, which accepts it only from this site's own pages (Origin), for a cookie
  `cockpit_session` (HttpOnly, SameSite=Lax, Secure over HTTPS; `COCKPIT_COOKIE_SECURE`) holding a new random token
  that names the server-side session in the accounts store (kept only as its SHA-256). A session resumed from the
  cookie is not a new sign-in in the audit log. Run as bare `streamlit run app.py`, a session belongs to its tab.
- Changes to an account's role or scope apply at its sessions' next page view.

## Region scope (row-level security)

Each account has a region scope: national (no region), or one or more provinces, cities or counties
(each with everything below it), and optionally a set of domains. The scope is applied **in SQL**, in every
named query (`analytics/db/scope.py`): items, feedback and rectifications are read only through the
`scoped_*` fragments, which AND the scope with the filters, so a filter, including a hand-edited URL, can
only narrow what a user sees. A URL naming a region outside the scope is reported and ignored. Aggregates
(KPIs, rankings, maps, trends, heatmaps, the meeting deck, the risk list) are computed on the scoped rows
only, because they are computed from those queries. A user with one scope region opens every page on it.
A row reached through a link is scoped by its own region too: the item page shows an item's feedback and
rectifications only where their own region lies in the scope, and an upload refuses, row by row with both codes,
a feedback or rectification linked to an item whose region is neither the row's region nor above it.

A domain scope has one rule for every table: a row's domain is its own (items, feedback), or else its item's
(feedback without a domain, rectifications, progress reports, milestones). A row with no domain either way, such
as a rectification of no item, lies in no domain scope: a domain-scoped account does not see it, on any page or in
any download.
The duplicate page's "not duplicates" marks (kept beside the database) follow the same scope: a mark and its note
are shown, counted and undoable only when every item of the group lies in the account's scope, a group holding an
item outside it cannot be marked, marking and undoing need the `curate` permission (checked again when the click
arrives), and each mark, undo and refused attempt is written to the audit log (`tests/test_duplicates.py`).
A database created for a home region (`python -m analytics init --home-region CODE`) gives an account without a
region scope, and demo mode, that home region as its scope (`scoping.within_home`); an account's own scope is kept.

`tests/test_scope_everywhere.py` runs every name in `analytics.db.queries.QUERIES` and every block of
`analytics.pages.BLOCKS` with a county scope on the test database and compares the result with the same call on
a copy from which every row outside the county was deleted: any difference is a leak. A new query that is
not scoped fails that test unless it is listed below with the reason it cannot show a row outside the scope.

| unscoped query | why it shows no row outside the scope |
|---|---|
"""

UPLOADS = """
### Uploads by a scoped steward

A steward with national scope may upload anything. A steward with a limited scope may only add or update
rows of the scope, and the whole upload is refused, with the rule, the table, the number of rows and the
first keys, before anything is compared or written, when

- any row's region (or, for progress reports and milestones, its item's region) is outside the scope, or its
  domain (its own, else its item's) outside the scope's domains; for a domain-scoped steward a row with no
  domain either way (an item without one, feedback about no item without one, a rectification of no item) is
  refused too, since it would lie in no domain scope;
- a stored row with the same key belongs to another region or domain (it would be overwritten);
- the mode is `replace` (it would delete every other region's rows);
- the table is national reference data (`policies`, `indicators`).

Restoring a data version changes every region's data: only a national steward or administrator may do it.

## Masking of personal data

Everyone reads phone and ID numbers in feedback text masked (138****1234; `analytics/privacy.py`). Roles
without `personal_data` (leader, analyst, presenter, and demo mode) also read complainants' names masked
(张先生 → 某先生, 联系人：王建国 → 联系人：***) and e-mail addresses hidden; data stewards and administrators,
who correct the raw rows, read the text as uploaded. Masking is applied where the text is drawn and in its
downloads (the item page's feedback table). Free text can hold a name no rule recognises: the rules catch
names before an honorific or after a label, not every name.

An item's responsible leaders (`projects.responsible_leaders`, the 责任领导 column of a monthly ledger) are
people's names too: roles without `personal_data` read each as its first character and stars (张明远 → 张**) on the
item page (`analytics/auth/masking.person_names`); stewards and administrators read them as uploaded.
An account may carry a department and a leader name (set by an administrator): the notices of the items its
department leads, or it is a responsible leader of, reach it within its own scope only (docs/notifications.md). The
notices say why ("you are the responsible leader") but never print the item's list of leaders.

Whether the database holds any row of a table at all (the pages and cards that say "no rectifications uploaded
yet" instead of n = 0) is a fact of the whole file, the same for every account: a scoped user learns whether the
office has loaded an extract, never a row of it outside the scope.

A database made for one home region (`python -m analytics init --home-region`) refuses rows of other regions in
every upload, from the page and from the command line; its own stewards may still replace whole tables and load
the shared tables (policies, indicators), which a steward scoped narrower than the home region may not.

## Audit trail

The audit log is read, and accounts are managed, only by an account without a region or domain scope (the
log names every region's accounts and actions): a scoped administrator's admin page says so and shows neither
(`tests/test_auth_app.py`). On a deployment for a home region, an account without a scope is such an account.

These actions are appended to the audit log with who (account and role), when (local time with offset),
what (action, object, detail) and from where (the client's IP address as Streamlit sees it, with
`X-Forwarded-For` when a proxy sets it; `cli` for the command line):

"""

TAIL = """
Each entry stores the SHA-256 of its own fields and of the previous entry's hash. `python -m analytics audit
verify` (and the admin page) recomputes the chain: an edited entry no longer matches its hash, a deleted one
breaks the next entry's link and leaves a gap in the numbers, and deleting the newest entries is seen from
SQLite's record of the highest number issued. It exits 1 and names the entries.

A commit's audit entry is written right after the DuckDB commit, by the same process; if that process is killed
in between, the next opening of the database (the app's, or the command line's before it commits) finds the data
version without an entry and appends `commit_recovered` with its version, file, sha256 and time
(`tests/test_ingest_versions.py`).

The log is anchored outside its own file: every commit and rollback records the log's newest entry (number and
hash) in the data versions of the DuckDB file, and verify checks that the chain still holds each recorded entry.
So a deleted log file, a dropped table, a log that restarted at entry 1, and newest entries deleted together
with SQLite's counter rewound are found, back to the last commit (`tests/test_auth.py`). A log file or table
that is missing while a head or an anchor was recorded is a failure, never "0 entries"; `verify` with neither a
database nor a log at `--db` exits 1. What it cannot detect, and says so when it runs: without `--head`, the
entries after the last commit's anchor can be deleted together with the counter, and someone who can rewrite
both the log and the DuckDB file can rewrite both. Against that, keep the newest hash that `verify` prints (and
the admin page shows) off the server and pass it back with `--head`. The command line cannot read the anchors
while the app holds the database for writing; it says so, and the admin page shows the cross-checked result.
Unknown user names of failed sign-ins are recorded as
`?` (a password typed into the name box must not be written down).

## Event notes

Event notes (a policy issued, an inspection, a disaster, a data gap: `analytics/annotations.py`) are kept in
`<db>.annotations.sqlite`. Adding one needs `annotate` and a region inside the account's scope (not one of its
ancestors, whose notes everyone below would read); deleting one needs to be its author or an administrator, and
only flags it deleted. A note is visible to an account when its region lies in the scope or is an ancestor of a
scope region (a national or provincial event matters to a county), never on another county or province; notes
carry no domain. Every add, delete and refusal is an audit entry (`annotation_add`, `annotation_delete`,
`annotation_refused`) holding the note's text. The text is shown as text everywhere (escaped in charts' hover and
in Markdown), and line breaks, tabs and direction overrides are refused.

## Known limits

- The sign-in cookie is set by the page's script after the sign-in (Streamlit's form runs over a websocket, which
  cannot set one): with scripts blocked, the sign-in holds in its tab only. A sign-in by single sign-on relies on
  Streamlit's own cookie instead. The cookie route sits at the site's root: a `server.baseUrlPath` other than
  `/` is not supported by it yet.
- Besides the sign-in, the browser keeps two kinds of cookie, numbers only and read only to fit maps
  (ui/mapfit.py): `cockpit_vw`, the window's width, written by one line of script the server puts first in every
  HTML page, and `cockpit_w_<map>`, the width a map's column was measured at. A Content-Security-Policy added in
  front must allow that inline script by its hash (the sha256 of the text between `<script>` and `</script>` in
  `mapfit._VIEWPORT_JS`), or the first visit of a map page falls back to measuring (one run more). The charts'
  script (plotly.js's cartesian build, ui/charts.py) comes from the site itself, `/cockpit-static/`: `script-src
  'self'` allows it; nothing is loaded from elsewhere.
- The address recorded is what Streamlit reports: none for a browser on the same machine (`localhost`), and
  behind a proxy the proxy's unless it sets `X-Forwarded-For` (recorded beside it, as the client claims it).
- The command line acts as the national administrator (it runs on the server): `ingest` and `rollback` there
  are recorded in the data versions, not in this audit log; the `users` commands are.
- Version history on the upload page (who loaded which file when) and table sizes on the data page are not
  scoped: metadata, no rows (see the unscoped queries above).
"""


def markdown() -> str:
    from analytics import pages

    rules = [
        ("failed sign-ins before the name is locked", "COCKPIT_AUTH_MAX_FAILURES"),
        ("minutes a locked name stays locked", "COCKPIT_AUTH_LOCKOUT_MINUTES"),
        ("minutes without an action before a session ends", "COCKPIT_AUTH_IDLE_MINUTES"),
        ("fewest characters of a password (with a letter and a digit, not containing the user name, not "
         "guessed by zxcvbn's shipped lists in under 10^8 tries: common passwords, keyboard walks, words with a "
         "year, such as Password12 or qwerty1234)", "COCKPIT_AUTH_MIN_PASSWORD"),
    ]
    out = INTRO + "\n".join(f"| {what} | {settings.BY_NAME[name].default} | `{name}` |" for what, name in rules)
    out += "\n" + BODY
    out += "\n".join(f"| `{name}` | {why} |" for name, why in sorted(scoping.UNSCOPED.items()))
    out += "\n" + UPLOADS
    out += "\n".join(f"- `{a}`" for a in audit.ACTIONS) + "\n" + TAIL + "\n"
    out += roles.markdown(pages.PAGES)
    return out
