"""Uploads from the command line: ingest, versions, rollback."""
from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

from analytics import settings
from analytics.cli.common import _date, _jsonable



def _job_mode(db: Path) -> bool:
    """Whether a worker publishes this database (analytics/worker.py): commits are then its jobs, and this command
    checks the file against the newest published snapshot, while the app keeps running."""
    from analytics.db import snapshots

    return settings.get("COCKPIT_SNAPSHOTS") != "0" and snapshots.published(db)


def _open_for_writing(db: Path, lang: str):
    """(connection, None) or (None, message): a file another process holds gets a clear message. Under a worker, a
    read-only connection to the newest snapshot (the commit is the worker's job: `_commit`)."""
    import duckdb

    from analytics import i18n
    from analytics.db import mappings, snapshots, store

    if not Path(db).is_file():
        return None, f"{db}: no such database file"
    if _job_mode(db):
        snap = snapshots.current(db)
        if snap is None:
            return None, f"{db}: its published snapshot is missing; is the worker starting?"
        return store.connect(snap.path, read_only=True), None
    try:
        con = store.connect(db)
    except duckdb.IOException as e:
        return None, i18n.t("upload.err_locked", lang, detail=str(e).splitlines()[0][:300])
    from analytics.db import versions

    versions.reconcile_audit(con, str(db))  # a commit whose process died before its audit entry
    mappings.migrate(db, con)
    return con, None


def _commit(args, con, changes, *, file_name: str, sha256: str, as_of, mode: str):
    """Commit `changes` as one new version: here, or, under a worker, as its job (waited for unless --no-wait).
    Returns a `versions.Outcome` (status `queued` when the job was left to run)."""
    from analytics import jobs
    from analytics.db import store, versions

    if not _job_mode(args.db):
        out = versions.commit(con, changes, who=_who(args), file_name=file_name, sha256=sha256, as_of=as_of,
                              db_path=str(Path(args.db).resolve()), retrain=_retrain(args))
        if out.status == "committed":
            _audit(args.db, _who(args), "commit", file_name, version=out.version, based_on=out.based_on,
                   sha256=sha256, mode=mode)
        return out
    based_on = store.current_version(con)[0]
    payload, frames = jobs.commit_payload(changes, file_name=file_name, sha256=sha256, as_of=as_of, based_on=based_on,
                                          modes=[mode], audit={"sha256": sha256, "mode": mode},
                                          retrain=_retrain(args))
    job_id = jobs.submit(args.db, "commit", payload, who=_who(args), role="steward", source="cli", title=file_name,
                         frames=frames)
    return _job_outcome(args, job_id, based_on, wait=not args.no_wait)


def _job_outcome(args, job_id: int, based_on: int, wait: bool = True):
    """The `versions.Outcome` of a queued job: waited for while a worker runs (status `queued` otherwise)."""
    from analytics import worker
    from analytics.db import versions
    from analytics.ingest.problems import UploadError

    if not worker.alive(args.db):
        print(f"job {job_id} queued: no worker is running for {args.db}; it runs when `python -m analytics worker` "
              "starts", file=sys.stderr)
        return versions.Outcome("queued", None, based_on)
    if not wait:
        print(f"job {job_id} queued", file=sys.stderr)
        return versions.Outcome("queued", None, based_on)
    job = _wait_for_job(args.db, job_id)
    if job.state == "failed":
        error = (job.result or {}).get("error") or {}
        raise UploadError("job_failed", {"job": job_id, "reason": error.get(args.lang) or job.error})
    return versions.Outcome(job.result["status"], job.result.get("version"), job.result.get("based_on", based_on))


def _restore_by_job(args):
    from analytics import jobs
    from analytics.db import snapshots

    job_id = jobs.submit(args.db, "restore", {"target": args.version}, who=_who(args), role="steward", source="cli",
                         title=f"v{args.version}")
    return _job_outcome(args, job_id, snapshots.current(args.db).version)


def _wait_for_job(db: Path, job_id: int, poll: float = 0.3):
    from analytics import jobs

    said = ""
    while True:
        job = jobs.get(db, job_id)
        if job.state in ("done", "failed"):
            return job
        line = f"job {job_id}: {job.state} {job.progress}".strip()
        if line != said:
            print(line, file=sys.stderr)
            said = line
        time.sleep(poll)


def _wait_for_retraining(db: Path, version: int | None, lang: str) -> dict | None:
    """The commit started retraining the slip-risk model on the new version (analytics/db/versions.py): wait for
    it, so the process does not end with it half done, and say so on standard error. None when none started."""
    from analytics import i18n
    from analytics.risk import jobs

    job = jobs.current(db)
    if job is None or version is None:
        return None
    print(i18n.t("upload.cli_retraining", lang, version=version), file=sys.stderr)
    while not job.done:
        time.sleep(0.2)
    seconds = round(job.seconds or 0.0, 1)
    if job.error:
        print(i18n.t("upload.cli_retrain_failed", lang, error=job.error), file=sys.stderr)
    else:
        print(i18n.t("upload.cli_retrained", lang, version=version, seconds=seconds), file=sys.stderr)
    return {"seconds": seconds, "error": job.error}


def _retrain(args) -> bool | None:
    """--no-retrain: do not retrain the slip-risk model after this commit; otherwise the setting decides."""
    return False if args.no_retrain else None


def _who(args) -> str:
    return args.who or settings.get("COCKPIT_STEWARD")


def cmd_ingest(args) -> int:
    from analytics import i18n
    from analytics.db import mappings
    from analytics.ingest import pipeline, report
    from analytics.ingest.problems import UploadError

    lang = args.lang
    data = Path(args.file).read_bytes() if Path(args.file).is_file() else None
    if data is None:
        print(f"{args.file}: no such file", file=sys.stderr)
        return 2
    con, error = _open_for_writing(args.db, lang)
    if error:
        print(error, file=sys.stderr)
        return 3
    result = {"file": Path(args.file).name, "db": str(args.db), "mode": args.mode, "dry_run": args.dry_run}
    try:
        saved = None
        if args.mapping:
            found = mappings.load(args.db, args.mapping)
            if found is None:
                print(f"--mapping {args.mapping!r}: no saved mapping by that name "
                      f"(saved: {', '.join(mappings.saved_names(args.db)) or 'none'})", file=sys.stderr)
                return 2
            if args.table and found[0] != args.table:
                print(f"--mapping {args.mapping!r} is for table {found[0]}, not {args.table}", file=sys.stderr)
                return 2
            saved = found[1]
        started = time.perf_counter()
        upload = pipeline.read(data, Path(args.file).name, table=args.table, saved=saved)
        if upload.ledger is not None and not args.mapping:
            return _ingest_ledger(args, con, upload, result, started)
        only = {p.sheet.name: (args.table or p.table) for p in upload.parts}
        if args.table:  # a workbook of several tables: the sheet that holds this one
            fits = [p for p in upload.parts if p.table == args.table and p.header_index >= 0]
            keep = fits[0].sheet.name if fits else None
            only = {name: (args.table if name == keep else None) for name in only}
        mappings = {name: saved for name in only} if saved else None
        modes = {t: args.mode for t in only.values() if t}
        checked = pipeline.check(con, upload, only, mappings, modes)
        problems = pipeline.problems(checked)
        version = _current_or_today(con)
        result |= {"sha256": upload.sha256, "tables": [c.table for c in checked],
                   "rows": {c.table: c.frame.height for c in checked},
                   "errors": int((problems["severity"] == "error").sum()),
                   "warnings": int((problems["severity"] == "warning").sum())}
        if problems.height:
            path = Path(args.report) if args.report else Path(args.file).with_name(Path(args.file).stem +
                                                                                   ".problems.xlsx")
            writer = report.to_csv if path.suffix.lower() == ".csv" else report.to_xlsx
            path.write_bytes(writer(problems, Path(args.file).name, lang, version[1], version[0]))
            result["report"] = str(path)
        try:
            changes = pipeline.to_changes(checked, args.mode, args.valid_rows_only)
        except UploadError as e:
            result |= {"status": "rejected", "message": e.message(lang)}
            return _ingest_out(args, result, problems, 1)
        outside = _outside_home(con, changes, lang)
        if outside:  # a deployment for one city or province holds nothing of another region
            result |= {"status": "rejected", "message": outside}
            return _ingest_out(args, result, problems, 1)
        previews = pipeline.preview(con, changes)
        result["preview"] = {t: {"new": p.rows_new, "changed": p.rows_changed, "unchanged": p.rows_unchanged,
                                 "missing": p.rows_missing, "removed": p.rows_removed}
                             for t, p in previews.items()}
        if args.dry_run:
            result |= {"status": "dry_run", "message": i18n.t("upload.cli_dry_run", lang)}
            return _ingest_out(args, result, problems, 0)
        out = _commit(args, con, changes, file_name=Path(args.file).name, sha256=upload.sha256, as_of=args.as_of,
                      mode=args.mode)
        if out.status == "committed":
            result["retraining"] = _wait_for_retraining(Path(args.db), out.version, lang)
        result |= {"status": out.status, "version": out.version, "based_on": out.based_on,
                   "seconds": round(time.perf_counter() - started, 2),
                   "message": i18n.t(f"upload.cli_{out.status}", lang, version=out.version, based_on=out.based_on)}
        return _ingest_out(args, result, problems, 0)
    except UploadError as e:
        result |= {"status": "error", "code": e.code, "message": e.message(lang)}
        return _ingest_out(args, result, None, 3 if e.code in ("busy", "stale") else 2)
    finally:
        con.close()


def _outside_home(con, changes, lang: str) -> str | None:
    """Why an upload may not be written into a database made for one home region (rows of other regions), or None."""
    from analytics import i18n
    from analytics.auth import scoping
    from analytics.db import store

    home = store.home_region(con)
    refusals = scoping.upload_refusals(con, scoping.home_scope(home), changes, home_only=True)
    if not refusals:
        return None
    lines = [i18n.t(f"auth.refuse_{r.rule}", lang, table=r.table, n=i18n.fmt_int(r.n_rows, lang),
                    keys=("、" if lang == "zh" else ", ").join(r.examples)) for r in refusals]
    return i18n.t("upload.err_outside_home", lang, region=home) + "\n" + "\n".join(f"  - {x}" for x in lines)


def _ingest_ledger(args, con, upload, result: dict, started: float) -> int:
    """A monthly 督办台账, recognised by its headers: read, match with the stored items, commit as one version."""
    from analytics import i18n
    from analytics.db import store
    from analytics.ingest import ledger, report
    from analytics.ingest.problems import UploadError

    lang = args.lang
    home = store.home_region(con) or "100000"
    read = ledger.read(con, upload.ledger, upload.file_name, upload.sha256, home, as_of=args.as_of,
                       splits=frozenset(args.split or ()))
    problems = read.problems
    result |= {"kind": "ledger", "sha256": upload.sha256, "sheet": read.sheet, "title": read.title,
               "ledger_date": read.as_of, "ledger_date_from": read.as_of_from, "home_region": home,
               "sections": read.sections, "footer_rows_ignored": read.footer_rows,
               "items": {"rows": len(read.rows), "matched": read.count("matched"), "new": read.count("new"),
                         "renamed": read.count("renamed"), "split": read.count("split"),
                         "not_in_this_ledger": read.missing.height},
               "renamed": [{"row": m.row, "name": m.name, "was": m.old_name, "project_id": m.project_id,
                            "similarity": m.similarity} for m in read.matches if m.how == "renamed"],
               "not_in_this_ledger": read.missing.select("project_id", "name", "lead_dept").to_dicts(),
               "errors": read.errors,
               "warnings": int((problems["severity"] == "warning").sum()) if problems.height else 0}
    if problems.height:
        path = Path(args.report) if args.report else Path(args.file).with_name(Path(args.file).stem + ".problems.xlsx")
        writer = report.to_csv if path.suffix.lower() == ".csv" else report.to_xlsx
        version = _current_or_today(con)
        path.write_bytes(writer(problems, Path(args.file).name, lang, version[1], version[0]))
        result["report"] = str(path)
    try:
        changes = ledger.to_changes(read, args.valid_rows_only)
    except UploadError as e:
        result |= {"status": "rejected", "message": e.message(lang)}
        return _ingest_out(args, result, problems, 1)
    if args.dry_run:
        result |= {"status": "dry_run", "message": i18n.t("upload.cli_dry_run", lang)}
        return _ingest_out(args, result, problems, 0)
    out = _commit(args, con, changes, file_name=upload.file_name, sha256=upload.sha256, as_of=read.as_of,
                  mode="ledger")
    if out.status == "committed":
        result["retraining"] = _wait_for_retraining(Path(args.db), out.version, lang)
    result |= {"status": out.status, "version": out.version, "based_on": out.based_on,
               "seconds": round(time.perf_counter() - started, 2),
               "message": i18n.t(f"upload.cli_{out.status}", lang, version=out.version, based_on=out.based_on)}
    return _ingest_out(args, result, problems, 0)


def _current_or_today(con):
    from analytics.db import store

    return store.current_version(con) or (0, date.today())


def _ingest_out(args, result: dict, problems, code: int) -> int:
    if args.json:
        print(json.dumps(_jsonable(result), ensure_ascii=False, indent=2))
        return code
    print(result.get("message", ""), file=sys.stderr if code else sys.stdout)
    if result.get("kind") == "ledger":
        _ledger_out(result)
    for t, p in result.get("preview", {}).items():
        print(f"  {t}: new {p['new']}, changed {p['changed']}, unchanged {p['unchanged']}, "
              f"missing from the file {p['missing']}, removed {p['removed']}")
    if problems is not None and problems.height:
        from analytics.ingest import report

        print(report.summary(problems, args.lang).write_csv(), end="", file=sys.stderr)
    if result.get("report"):
        print(f"problem report: {result['report']}", file=sys.stderr)
    return code


def _ledger_out(result: dict) -> None:
    i = result["items"]
    print(f"  ledger {result['sheet']!r} of {result['ledger_date']} (date from the {result['ledger_date_from']}), "
          f"home region {result['home_region']}: {i['rows']} items — matched {i['matched']}, new {i['new']}, "
          f"renamed {i['renamed']} (to confirm), split {i['split']}, not in this ledger {i['not_in_this_ledger']}")
    for r in result["renamed"]:
        print(f"  row {r['row']}: “{r['name']}” taken as “{r['was']}” ({r['project_id']}, similarity "
              f"{r['similarity']}); if it is another item, run again with --split \"{r['name']}\"")
    for r in result["not_in_this_ledger"][:20]:
        print(f"  not in this ledger (kept as it was): {r['project_id']} {r['name']} ({r['lead_dept']})")


def cmd_versions(args) -> int:
    import polars as pl

    from analytics.db import store
    from analytics.db import versions

    if not Path(args.db).is_file():
        print(f"{args.db}: no such database file", file=sys.stderr)
        return 2
    try:
        con = store.connect(args.db, read_only=True)
    except Exception as e:  # noqa: BLE001 - the app holds the file: say so
        print(f"{args.db}: {str(e).splitlines()[0]}", file=sys.stderr)
        return 3
    try:
        frame = versions.history(con)
    finally:
        con.close()
    if args.json:
        print(json.dumps(_jsonable(frame.to_dicts()), ensure_ascii=False, default=str, indent=2))
    else:
        cols = ["version", "created_at", "created_by", "kind", "file_name", "sha256", "table_names", "mode",
                "rows_new", "rows_changed", "rows_unchanged", "rows_removed", "rows_rejected", "based_on",
                "as_of", "restorable", "current"]
        out = frame.select(cols).with_columns(pl.col("sha256").str.slice(0, 12),
                                              pl.col("created_at").dt.strftime("%Y-%m-%d %H:%M:%S"))
        print(out.write_csv(), end="")
    return 0


def cmd_rollback(args) -> int:
    from analytics import i18n
    from analytics.db import versions
    from analytics.ingest.problems import UploadError

    con, error = _open_for_writing(args.db, args.lang)
    if error:
        print(error, file=sys.stderr)
        return 3
    try:
        if _job_mode(args.db):  # under a worker: its job, waited for
            con.close()
            out = _restore_by_job(args)
            print(i18n.t(f"upload.cli_{out.status}", args.lang, version=out.version, based_on=out.based_on))
            return 0
        out = versions.restore(con, args.version, who=_who(args), db_path=str(Path(args.db).resolve()),
                               retrain=_retrain(args))
        if out.status == "restored":
            _audit(args.db, _who(args), "rollback", f"v{args.version}", version=out.version, based_on=out.based_on)
        print(i18n.t(f"upload.cli_{out.status}", args.lang, version=out.version, based_on=out.based_on))
        if out.status == "restored":
            _wait_for_retraining(Path(args.db), out.version, args.lang)
    except UploadError as e:
        print(e.message(args.lang), file=sys.stderr)
        return 2
    finally:
        con.close()
    return 0


def _audit(db: Path, who: str, action: str, target: str, **detail) -> None:
    """The same audit trail as the app's (analytics/auth/audit.py), from the command line."""
    from analytics.auth import audit, store as auth_store

    audit.append(auth_store.path_for(db), actor=who, role="steward", action=action, target=target, detail=detail,
                 source="cli")


def _add_upload_commands(sub) -> None:
    p = sub.add_parser("ingest", help="validate an extract and commit it as a new data version")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--table", default=None, help="the contract table the file holds (default: recognised "
                   "from sheet names and headers; a workbook or zip may hold several)")
    p.add_argument("file", help="CSV, XLSX, Parquet or zip")
    p.add_argument("--mapping", default=None, help="a saved named mapping of headers to columns")
    p.add_argument("--mode", choices=("upsert", "replace"), default="upsert")
    p.add_argument("--valid-rows-only", action="store_true", help="load the valid rows, list the rejected")
    p.add_argument("--dry-run", action="store_true", help="validate and preview; write nothing")
    p.add_argument("--report", default=None, help="where to write the problem report (.xlsx or .csv; default "
                   "beside the file)")
    p.add_argument("--as-of", type=_date, default=None, help="the data's as-of date after the commit "
                   "(default: unchanged; a ledger's own date, read from the sheet, by default)")
    p.add_argument("--split", action="append", metavar="NAME", help="a ledger row (by its item name) that is not "
                   "the close-named stored item the preview matched it to: load it as a new item (repeatable)")
    p.add_argument("--who", default=None, help="recorded as the steward (default COCKPIT_STEWARD)")
    p.add_argument("--no-retrain", action="store_true", help="do not retrain the slip-risk model on the new version "
                   "(by default a commit retrains it and the command waits; COCKPIT_RETRAIN_AFTER_COMMIT=0 turns it off)")
    p.add_argument("--no-wait", action="store_true", help="under a worker: queue the commit as its job and return "
                   "(by default the command waits for the job)")
    p.add_argument("--lang", choices=("zh", "en"), default="en")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("versions", help="list the data versions")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_versions)

    p = sub.add_parser("rollback", help="make the data what an earlier (or later) version read, as a new version")
    p.add_argument("--db", type=Path, default=Path(settings.get("COCKPIT_DB")))
    p.add_argument("version", type=int)
    p.add_argument("--who", default=None)
    p.add_argument("--no-retrain", action="store_true", help="do not retrain the slip-risk model on the restored data")
    p.add_argument("--lang", choices=("zh", "en"), default="en")
    p.set_defaults(func=cmd_rollback)


def add_commands(sub) -> None:
    _add_upload_commands(sub)
