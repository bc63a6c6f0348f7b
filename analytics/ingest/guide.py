"""docs/uploads.md, the stewards' guide, generated from the contract, the upload vocabulary, the settings
and the messages, so what it says is what the code does:

    .venv/bin/python -c "from analytics.ingest import guide; print(guide.markdown(), end='')" > docs/uploads.md
"""
from __future__ import annotations

from analytics import contract, i18n, settings
from analytics.db import diff
from analytics.ingest import mapping, normalise

RULES = ("required", "date", "timestamp", "number", "percent", "integer", "bool", "choice", "period", "range",
         "pattern", "order", "required_when", "duplicate_key", "reference", "region_unknown", "region_ambiguous",
         "control_chars", "too_long", "extra_cells", "duplicate_header", "missing_column", "column_ignored",
         "no_header", "html", "formula_text", "percent_fraction", "ledger_deadline", "ledger_same_item", "ledger_district", "link_region",
         "total_row")
FILE_ERRORS = ("empty", "not_what_name_says", "extension", "xls", "too_large", "line_too_long", "zip_bomb", "macros", "external_links",
               "encrypted", "damaged", "encoding", "header_only", "no_header", "too_many_rows", "rejected", "busy",
               "stale", "contract", "pruned", "locked", "ledger_no_date")

INTRO = """# Uploading data (for data stewards)

Generated from `analytics/contract.py`, `analytics/ingest/` and `analytics/settings.py`; do not edit by hand
(a test fails when this file and the code disagree). The data contract itself is in
[data-contract.md](data-contract.md).

An upload goes through six steps, on the 数据上传 / Data upload page or with `python -m analytics ingest`:

1. **File.** CSV (UTF-8, UTF-8 with BOM, GBK/GB18030, UTF-16 with BOM; comma, tab, semicolon or bar
   separated), Excel `.xlsx`, Parquet, or a `.zip` holding several of them. A workbook may hold several
   tables, one per sheet. The file's contents decide what it is, not its name: a CSV renamed `.xlsx` is
   refused. Excel formulas are never calculated: the value Excel saved with the file is read.
2. **Sheets and tables.** Each sheet (or file in a zip) is matched to a table by its name (e.g. 督办事项,
   进度) or by its headers; the header row is found among the first 30 rows, under any title rows. Choose
   the mode per table: **upsert** adds new rows and updates existing ones (matched on the table's key;
   columns the file does not have keep their values, an empty cell in a column it has empties the value),
   **replace** makes the table exactly the file.
3. **Mapping.** Headers are matched to the contract's columns by name, Chinese and English label and the
   synonyms below (after full-width → half-width, case, spaces and `*` marks are ignored). Anything not
   recognised is listed; map it by hand and save the mapping under a name to reuse next week.
4. **Checks.** Every contract rule on every row, before anything is written. Each problem gives the row
   number in your file (Excel's row; a CSV's line, unless a cell spans lines), the column as you headed it,
   the value, and what was expected. Download the report as XLSX, summarised by rule.
5. **Preview.** Rows new, changed, unchanged, and missing from the file, against the current data. Every
   changed row is listed, before → after, one line per changed field (on screen the first {shown_changed},
   in a table that scrolls); download them all as CSV (UTF-8, opens in Excel), with the file, its SHA-256,
   the mode and the data version they were compared with written above. A file with errors is rejected,
   unless you choose to load only its valid rows (the rejected rows are in the report and counted in the
   version).
6. **Commit.** One transaction: all of it or none of it is visible, even if the machine dies halfway.
   It creates a data version (who, when, file name and SHA-256, tables, mode, row counts, the version it was
   based on), re-checks the contract on the result and refreshes the summaries, so every page shows the new
   version at once. The same file committed twice changes nothing and says so. Two stewards committing at
   once go one after the other; one who waits longer than the setting below is asked to retry.

## Start with your own data

An office begins with an empty database for its home region (a province, a city or a county; `100000` for the
nation), then loads its first extract into it. In the app, the first start with no database offers this ("Start
with our own data", the home region searched by name) beside the demo, and opens the upload page; on a server,
`COCKPIT_HOME_REGION` does it without asking. From the command line:

```bash
python -m analytics init --db data/hefei.duckdb --home-region 340100
python -m analytics ingest --db data/hefei.duckdb --table projects 督办事项.xlsx
COCKPIT_DB=data/hefei.duckdb make run
```

`init` writes the contract's schema, the regions and the home region, with an empty data version 0; it never
overwrites an existing file and refuses a code that is not a region. The first upload makes version 1.

### The monthly ledger (督办台账)

Most offices keep one workbook: one sheet, one row per supervised item with its current state, refreshed every
month. Load it as it is, no hand-editing and no `--table`: a sheet whose header names the item, its lead
department and its progress or state is recognised as a ledger.

```bash
python -m analytics init --db data/wuhu.duckdb --home-region 340200
python -m analytics ingest --db data/wuhu.duckdb data/examples/wuhu-2026-08.xlsx   # version 1
python -m analytics ingest --db data/wuhu.duckdb data/examples/wuhu-2026-09.xlsx   # version 2, and so on
```

Each ledger becomes one data version dated the ledger's date: its items created or updated, one progress report
per item at that date, completed items closed. The preview (and the command's output) lists the items matched,
new, matched by a close name (to confirm) and stored but not in this ledger. What each trait of a ledger becomes:

## Versions and rollback

Every commit and every rollback is a new data version; nothing is overwritten. The tables the app reads hold
the current state; the states of earlier versions are kept beside them (`projects__v7`), so restoring a
version (rolling back, or forward again) is a rename inside one transaction: exact, and quick. The newest
`COCKPIT_KEEP_VERSIONS` versions stay restorable; older states are dropped at the next commit, their audit
rows stay. The page lists every version with its counts and offers restore; so does the command line:

```bash
python -m analytics ingest --db data/cockpit.duckdb --table progress_reports 进度.csv \\
    [--mapping NAME] [--mode upsert|replace] [--valid-rows-only] [--dry-run] [--json] [--report PATH] [--no-retrain]
    [--no-wait]
python -m analytics versions --db data/cockpit.duckdb [--json]
python -m analytics rollback --db data/cockpit.duckdb 5 [--no-retrain]
```

`ingest` exits 0 after a commit (or when nothing changed), 1 when the file is rejected (the problem report
is written beside the file, or to `--report`), 2 for a file that cannot be used, and 3 when the database is
busy: while the app runs as one process (`make run`) it holds the database for writing, so upload through its page
instead. Served with a worker (`make serve`, docs/deployment.md) the app processes only read, and a commit from
the page or from `ingest` is the worker's job: `ingest` checks the file against the newest published version,
queues the commit and waits for it (`--no-wait` returns at once; `python -m analytics jobs` lists the queue), and
the page follows the job's state, so the steward may leave and come back. Two commits previewed on the same
version are run one after the other; the second is refused with the reason (look at its preview again). Saved
header mappings live beside the database (`<db>.mappings.sqlite`), so any app process can save one.

A new version has no slip-risk model yet: every commit and rollback, from the page or the command line, retrains
it on the new data. First, in seconds, the newest earlier model scores the new version's items (the risk page
says so), so the risk page, the meeting and the item pages never go without scores meanwhile; the retrained
model's scores replace them. The page goes on at once (the risk page shows the training's progress); the command
line waits for it and says how long it took, or why it could not train (the data is committed either way).
`--no-retrain` skips it for one command, and `COCKPIT_RETRAIN_AFTER_COMMIT=0` for every commit.
"""


def _settings() -> list[str]:
    names = ("COCKPIT_UPLOAD_MAX_MB", "COCKPIT_UPLOAD_MAX_ROWS", "COCKPIT_UPLOAD_MAX_TEXT", "COCKPIT_KEEP_VERSIONS",
             "COCKPIT_UPLOAD_WAIT_SECONDS", "COCKPIT_STEWARD", "COCKPIT_DB_WRITABLE", "COCKPIT_RETRAIN_AFTER_COMMIT")
    out = ["## Settings", "", "| variable | default | meaning |", "|---|---|---|"]
    for n in names:
        s = settings.BY_NAME[n]
        out.append(f"| `{n}` | `{s.default}` | {s.help} |")
    return out + [""]


def _headers() -> list[str]:
    out = ["## Headers each table accepts", "",
           "Besides these, a saved named mapping can map any header. `*` marks a required column.", ""]
    for t in mapping.uploadable():
        out += [f"### `{t.name}` — {t.zh} / {t.en}", "", "| column | 中文 | English | also accepted |", "|---|---|---|---|"]
        for c in t.columns:
            also = (*contract.SYNONYMS.get(c.name, ()), *contract.TABLE_SYNONYMS.get((t.name, c.name), ()))
            star = "*" if c.required else ""
            out.append(f"| `{c.name}`{star} | {c.zh} | {c.en} | {'、'.join(also)} |")
        out.append("")
    return out


def _values() -> list[str]:
    out = ["## Values", "",
           "- **Dates**: 2024-03-01, 2024/3/1, 2024.3.1, 2024年3月1日, 20240301, an Excel date or date serial "
           f"({normalise.SERIAL_MIN}–{normalise.SERIAL_MAX}), full-width digits. Not 3/1/2024: day or month first "
           "cannot be told.",
           "- **Date-times**: a date as above followed by 9:30, 09:30:00 or 9时30分.",
           "- **Numbers**: thousands separators only in groups of three (1,234.5; never 1,5). Amounts in 万元 "
           "columns may carry 万/万元, 亿/亿元 (×10,000) or 元 (÷10,000); a header saying （元） or （亿元） scales "
           "the whole column. Percentages may carry %.",
           "- **Yes/no**: " + " / ".join(normalise.TRUE) + " — " + " / ".join(normalise.FALSE) + ".",
           "- **Regions**: a 6-digit code, or a name: 合肥市, 安徽省合肥市, 肥东县, 合肥市肥东县, 安徽. A name several "
           "regions share (朝阳区 is in 北京 and 长春) is reported with every candidate, never guessed.",
           "- **Lists** (co-departments): separated by 、 , ， ; ； / or a line break.",
           "- **Periods**: 2026-03, 2026年3月, 2026-Q1, 2026Q1, 2026年第1季度, 2026.",
           "", "Enumerations accept the value, its Chinese and English label (any case) and these spellings:", "",
           "| table.column | accepted → value |", "|---|---|"]
    for t in mapping.uploadable():
        for c in t.columns:
            if c.choices:
                words = normalise.choice_words(t.name, c)
                shown = "; ".join(f"{w} → `{v}`" for w, v in words.items() if w != v)
                out.append(f"| `{t.name}.{c.name}` | {shown} |")
    return out + [""]


def _messages() -> list[str]:
    out = ["## What is checked, and what the report says", "", "| rule | 中文 | English |", "|---|---|---|"]
    for r in RULES:
        zh = i18n.t(f"upload.rule_{r}", "zh", detail="…").replace("|", "\\|")
        en = i18n.t(f"upload.rule_{r}", "en", detail="…").replace("|", "\\|")
        out.append(f"| {i18n.t(f'upload.rulename_{r}', 'en')} | {zh} | {en} |")
    out += ["", "## Files refused as a whole (nothing changes)", "", "| problem | 中文 | English |", "|---|---|---|"]
    for e in FILE_ERRORS:
        values = {k: "…" for k in ("name", "claimed", "found", "size", "limit", "member", "tried", "rows", "errors",
                                   "seconds", "based_on", "current", "detail", "version", "keep", "error", "table",
                                   "line")}
        zh = i18n.t(f"upload.err_{e}", "zh", **values).replace("|", "\\|")
        en = i18n.t(f"upload.err_{e}", "en", **values).replace("|", "\\|")
        out.append(f"| `{e}` | {zh} | {en} |")
    return out + [""]


def _traits() -> list[str]:
    from analytics.ingest import ledger

    out = ["| in the ledger | becomes |", "|---|---|"]
    out += [f"| {a} | {b} |" for a, b in ledger.TRAITS]
    return out + [""]


def markdown() -> str:
    head, tail = INTRO.replace("{shown_changed}", f"{diff.SHOWN_CHANGED:,}").split("## Versions and rollback", 1)
    return "\n".join([head.rstrip("\n") + "\n", *_traits(), "## Versions and rollback" + tail, *_settings(),
                      *_headers(), *_values(), *_messages()])
