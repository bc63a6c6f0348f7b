"""Commits, versions and rollback: one transaction each; upsert vs replace; the same file twice; exact
rollback and roll-forward; a kill in the middle of a million-row commit; concurrent stewards; the CLI."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import polars as pl
import pytest

from analytics.db import checks
from analytics.db import marts
from analytics.db import queries
from analytics.db import store
from analytics.ingest import pipeline
from analytics.db import versions
from analytics.ingest.problems import UploadError
from tests.test_ingest_support import PROGRESS_HEADER, PROJECT_HEADER, con, csv_bytes, db  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
REPORTS = csv_bytes([PROGRESS_HEADER, ["A1", "2026/11/21", "92", "80", "黄", "按计划推进"],
                     ["B1", "2026-11-21", "100", "88", "红", ""], ["A1", "2026-06-30", "45", "41", "绿", ""]])


def commit(con, data: bytes, name: str = "进度.csv", mode: str = "upsert", db=None, **kw):
    up = pipeline.read(data, name, table=kw.pop("table", None))
    changes = pipeline.to_changes(pipeline.check(con, up, modes={p.table: mode for p in up.parts}), mode,
                                  kw.pop("valid_only", False))
    return versions.commit(con, changes, who="测试员", file_name=name, sha256=up.sha256,
                           db_path=str(db) if db else None, **kw)


def version(con) -> int:
    return queries.run(con, "data_version")["version"][0]


def reports(con) -> list[tuple]:
    return con.execute("SELECT project_id, report_date::VARCHAR, actual_progress_pct FROM progress_reports "
                       "ORDER BY 1, 2").fetchall()


BEFORE = [("A1", "2026-06-30", 40.0), ("A1", "2026-09-30", 60.0), ("A1", "2026-11-20", 75.0), ("A2", "2025-12-20", 100.0),
          ("B1", "2026-06-30", 70.0), ("B1", "2026-10-31", 85.0)]
AFTER_UPSERT = sorted(BEFORE[1:] + [("A1", "2026-06-30", 41.0), ("A1", "2026-11-21", 80.0), ("B1", "2026-11-21", 88.0)])


def test_upsert_commits_one_version_with_its_audit_row_and_a_fresh_mart(con, db):
    out = commit(con, REPORTS, db=db)
    assert (out.status, out.version, out.based_on) == ("committed", 2, 1)
    assert reports(con) == AFTER_UPSERT
    assert version(con) == 2  # what the app's header and caches read
    row = versions.history(con).row(0, named=True)
    assert {k: row[k] for k in ("version", "created_by", "kind", "file_name", "table_names", "mode", "rows_new",
                                "rows_changed", "rows_unchanged", "rows_removed", "rows_rejected", "based_on")} == {
        "version": 2, "created_by": "测试员", "kind": "upload", "file_name": "进度.csv", "table_names": "progress_reports",
        "mode": "upsert", "rows_new": 2, "rows_changed": 1, "rows_unchanged": 0, "rows_removed": 0,
        "rows_rejected": 0, "based_on": 1}
    assert len(row["sha256"]) == 64
    assert con.execute("SELECT data_version FROM mart_stamp").fetchall() == [(2,)]
    assert marts.has_snapshots(con, [date_of(con)])
    assert checks.violations(con).is_empty()


def date_of(con):
    return queries.run(con, "data_version")["as_of"][0]


def test_replace_removes_what_the_file_does_not_have(con, db):
    out = commit(con, REPORTS, mode="replace", db=db)
    assert out.previews["progress_reports"].rows_removed == 5
    assert reports(con) == [("A1", "2026-06-30", 41.0), ("A1", "2026-11-21", 80.0), ("B1", "2026-11-21", 88.0)]


def test_upsert_keeps_the_columns_the_file_does_not_have(con, db):
    data = csv_bytes([["事项编号", "事项名称", "领域", "区划代码", "主责单位", "开始日期", "计划完成日期"],
                      ["A1", "高标准农田建设（二期）", "乡村振兴", "340102", "农业农村局", "2026-01-05", "2026-12-31"]])
    out = commit(con, data, "items.csv", db=db)
    assert out.previews["projects"].rows_changed == 1
    row = con.execute("SELECT name, budget_wan_yuan, priority, status, co_depts FROM projects WHERE project_id = 'A1'"
                      ).fetchall()[0]
    assert row == ("高标准农田建设（二期）", 500.0, "key", "in_progress", ["财政局", "自然资源局"])


def test_the_same_file_twice_changes_nothing_and_says_so(con, db):
    first = commit(con, REPORTS, db=db)
    again = commit(con, REPORTS, db=db)
    assert (again.status, again.version) == ("same_file", first.version)
    assert version(con) == 2 and versions.history(con).height == 2


def test_a_file_matching_the_data_makes_no_version(con, db):
    commit(con, REPORTS, db=db)
    renamed = commit(con, REPORTS + b"\n", "copy.csv", db=db)  # other bytes, same rows
    assert (renamed.status, renamed.version) == ("unchanged", None)
    assert version(con) == 2


def test_rollback_and_roll_forward_are_exact_and_are_new_versions(con, db):
    commit(con, REPORTS, db=db)
    back = versions.restore(con, 1, who="测试员", db_path=str(db))
    assert (back.status, back.version) == ("restored", 3)
    assert reports(con) == BEFORE and version(con) == 3
    forward = versions.restore(con, 2, who="测试员", db_path=str(db))
    assert forward.version == 4 and reports(con) == AFTER_UPSERT
    h = versions.history(con)
    assert h.select("version", "restores", "based_on").rows() == [(4, 2, 3), (3, 1, 2), (2, None, 1), (1, None, None)]
    assert h["kind"].to_list() == ["roll_forward", "rollback", "upload", "load"]
    assert con.execute("SELECT data_version FROM mart_stamp").fetchall() == [(4,)]
    assert checks.violations(con).is_empty()
    same = versions.restore(con, 2, who="测试员", db_path=str(db))
    assert same.status == "unchanged" and version(con) == 4


def test_old_versions_are_pruned_beyond_the_kept_number(con, db):
    for i in range(3):
        data = csv_bytes([["项目编号", "填报日期", "实际进度"], ["A1", f"2026-11-2{i + 1}", "80"]])
        commit(con, data, f"d{i}.csv", db=db, keep=2)
    h = versions.history(con)
    assert dict(zip(h["version"], h["restorable"])) == {4: False, 3: True, 2: False, 1: False}
    with pytest.raises(UploadError) as e:
        versions.restore(con, 1, who="x", db_path=str(db), keep=2)
    assert e.value.code == "pruned"
    stored = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%\\_\\_v%' "
                                        "ESCAPE '\\'").fetchall()}
    assert stored == {"progress_reports__v3"}


def test_a_commit_that_would_break_a_reference_is_undone_whole(con, db):
    # replacing projects with A1 alone would leave the reports, feedback and rectifications of B1 pointing nowhere
    data = csv_bytes([PROJECT_HEADER, ["A1", "高标准农田建设", "乡村振兴", "340102", "农业农村局", "2026-01-05",
                                       "2026-12-31", "重点", "推进中", "500"]])
    with pytest.raises(UploadError) as e:
        commit(con, data, "items.csv", mode="replace", db=db)
    assert e.value.code == "contract" and "progress_reports" in e.value.message("en")
    assert version(con) == 1 and con.execute("SELECT count(*) FROM projects").fetchall() == [(6,)]
    assert not store.has_upload_schema(con)  # even the bookkeeping of the attempt was rolled back


def test_valid_rows_only_loads_them_and_counts_the_rejected(con, db):
    data = csv_bytes([["项目编号", "填报日期", "实际进度"], ["A1", "2026-11-21", "80"], ["NOPE", "2026-11-21", "80"],
                      ["A1", "2026-11-22", "180"]])
    with pytest.raises(UploadError) as e:
        commit(con, data, db=db)
    assert e.value.code == "rejected" and version(con) == 1
    out = commit(con, data, db=db, valid_only=True)
    assert out.version == 2 and ("A1", "2026-11-21", 80.0) in reports(con) and len(reports(con)) == 7
    assert versions.history(con)["rows_rejected"][0] == 2


def test_a_zip_of_two_tables_is_one_version(con, db):
    from tests.test_ingest_support import zip_bytes

    projects = csv_bytes([PROJECT_HEADER, ["X9", "新事项", "营商环境", "合肥市", "财政局", "2026-01-01", "2026-12-31", "",
                                           "推进中", ""]])
    progress = csv_bytes([PROGRESS_HEADER, ["X9", "2026-11-20", "50", "40", "绿", ""]])
    out = commit(con, zip_bytes({"事项.csv": projects, "进度.csv": progress}), "extract.zip", db=db)
    assert out.version == 2 and set(out.previews) == {"projects", "progress_reports"}
    assert versions.history(con)["table_names"][0] == "progress_reports,projects"
    versions.restore(con, 1, who="x", db_path=str(db))
    assert con.execute("SELECT count(*) FROM projects WHERE project_id = 'X9'").fetchall() == [(0,)]


def test_the_app_queries_read_the_new_state(con, db):
    from analytics import metrics
    from analytics.filters import Filters

    before = metrics.totals(con, metrics.Selection(Filters(), as_of=date_of(con)))
    commit(con, csv_bytes([["项目编号", "填报日期", "计划进度", "实际进度"], ["A1", "2026-11-21", "90", "90"]]), db=db)
    after = metrics.totals(con, metrics.Selection(Filters(), as_of=date_of(con)))
    assert before != after  # A1 was behind (90 planned, 75 done) and is now on plan
    live = queries.run(con, "items_by_status", as_of=date_of(con), use_marts=False)
    assert live.height > 0


# ---- concurrency --------------------------------------------------------------------------------------

def test_readers_see_the_last_committed_state_during_a_commit(db, monkeypatch):
    database = store.Database(db, read_only=False)
    assert database.writable
    started, release = threading.Event(), threading.Event()
    real = marts.rebuild

    def slow(cur, as_of, version):
        real(cur, as_of, version)
        started.set()
        release.wait(30)

    monkeypatch.setattr(marts, "rebuild", slow)
    writer = database.writer()
    done = {}
    t = threading.Thread(target=lambda: done.setdefault("out", commit(writer, REPORTS, db=db)))
    t.start()
    assert started.wait(30)
    reader = database.cursor()
    assert version(reader) == 1 and len(reports(reader)) == 6  # mid-commit: the previous version, whole
    release.set()
    t.join(30)
    assert done["out"].version == 2 and version(reader) == 2 and len(reports(reader)) == 8
    database.close()


def test_two_stewards_committing_at_once_go_one_after_the_other(db):
    database = store.Database(db, read_only=False)
    files = [csv_bytes([["项目编号", "填报日期", "实际进度"], ["A1", f"2026-11-2{i}", "80"]]) for i in (1, 2)]
    results, errors = [], []

    def run(data, name):
        try:
            results.append(commit(database.writer(), data, name, db=db).version)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=(f, f"s{i}.csv")) for i, f in enumerate(files)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and sorted(results) == [2, 3]
    assert len(reports(database.cursor())) == 8
    database.close()


def test_a_commit_waiting_too_long_is_told_to_retry(con, db):
    lock = versions.lock_for(db)
    lock.acquire()
    try:
        with pytest.raises(UploadError) as e:
            commit(con, REPORTS, db=db, wait=0.1)
    finally:
        lock.release()
    assert e.value.code == "busy" and "retry" in e.value.message("en").lower().replace("try again", "retry")
    assert version(con) == 1


def test_a_stale_preview_is_not_committed(con, db):
    commit(con, csv_bytes([["项目编号", "填报日期", "实际进度"], ["A1", "2026-11-21", "80"]]), db=db)
    with pytest.raises(UploadError) as e:
        commit(con, REPORTS, db=db, based_on=1)
    assert e.value.code == "stale" and version(con) == 2


# ---- a kill in the middle of a large commit ----------------------------------------------------------

KILLED_COMMIT = r"""
import sys, time
from datetime import date, timedelta
import polars as pl
sys.path.insert(0, {root!r})
from analytics.db import marts
from analytics.db import store
from analytics.db import diff
from analytics.db import versions

where = {where!r}
n_items, per_item = 2000, 500  # one million progress reports
ids = [f"K{{i:05d}}" for i in range(n_items)]
projects = pl.DataFrame({{"project_id": ids, "name": ["n"] * n_items, "domain": ["乡村振兴"] * n_items,
    "region_code": ["340100"] * n_items, "lead_dept": ["财政局"] * n_items,
    "start_date": [date(2016, 1, 3)] * n_items, "planned_end_date": [date(2027, 1, 1)] * n_items,
    "status": ["in_progress"] * n_items}}).with_row_index("__row", offset=2)
weeks = pl.date_range(date(2016, 1, 3), date(2016, 1, 3) + timedelta(weeks=per_item - 1), "1w", eager=True)
reports = (pl.DataFrame({{"project_id": ids}}).join(pl.DataFrame({{"report_date": weeks}}), how="cross")
           .with_columns(actual_progress_pct=pl.lit(50.0)).with_row_index("__row", offset=2))
assert reports.height == 1_000_000
con = store.connect({db!r})
if where == "mart":
    def hang(*a, **k):
        print("IN_TRANSACTION", flush=True)
        time.sleep(120)
    marts.rebuild = hang
else:
    real = diff.new_state_sql
    def marker(t, *a, **k):
        if t.name == "progress_reports":
            print("IN_TRANSACTION", flush=True)
        return real(t, *a, **k)
    diff.new_state_sql = marker
versions.commit(con, [versions.Change("projects", "upsert", projects, tuple(c for c in projects.columns if c != "__row")),
                      versions.Change("progress_reports", "upsert", reports, ("project_id", "report_date", "actual_progress_pct"))],
                who="k", file_name="big.csv", sha256="0" * 64, db_path={db!r})
print("COMMITTED", flush=True)
"""


@pytest.mark.parametrize("where", ["insert", "mart"])
def test_a_kill_during_a_million_row_commit_leaves_the_previous_version_intact(db, where):
    proc = subprocess.Popen([sys.executable, "-c", KILLED_COMMIT.format(root=str(ROOT), db=str(db), where=where)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "IN_TRANSACTION", proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    con = store.connect(db, read_only=True)
    try:
        assert version(con) == 1
        assert reports(con) == BEFORE
        assert con.execute("SELECT count(*) FROM projects").fetchall() == [(6,)]
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%\\_\\_%' ESCAPE '\\'"
                           ).fetchall() == [(0,)]
        assert checks.violations(con).is_empty()
        assert queries.run(con, "items_by_status", as_of=date_of(con))["n_items"].sum() == 5  # the app reads it
    finally:
        con.close()
    con = store.connect(db)  # and the file takes the next commit
    try:
        assert commit(con, REPORTS, db=db).version == 2
    finally:
        con.close()


# ---- command line ------------------------------------------------------------------------------------

def cli(*args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, env=(os.environ | (env or {})))


def test_cli_ingest_versions_and_rollback(db, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([["项目编号", "填报日期", "实际进度"], ["A1", "2026-11-21", "80"], ["A1", "bad", "80"]]))
    r = cli("ingest", "--db", str(db), "--table", "progress_reports", str(bad), "--json")
    assert r.returncode == 1, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "rejected" and out["errors"] == 1 and Path(out["report"]).is_file()
    r = cli("ingest", "--db", str(db), "--table", "progress_reports", str(bad), "--valid-rows-only", "--dry-run",
            "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["preview"]["progress_reports"]["new"] == 1
    good = tmp_path / "good.csv"
    good.write_bytes(REPORTS)
    r = cli("ingest", "--db", str(db), "--table", "progress_reports", str(good), "--who", "王五", "--as-of", "2026-11-30")
    assert r.returncode == 0 and "v2" in r.stdout
    r = cli("ingest", "--db", str(db), "--table", "progress_reports", str(good))
    assert r.returncode == 0 and "v2" in r.stdout and "nothing changed" in r.stdout.lower()
    r = cli("versions", "--db", str(db), "--json")
    rows = json.loads(r.stdout)
    assert [(v["version"], v["created_by"], v["kind"], v["as_of"]) for v in rows] == [
        (2, "王五", "upload", "2026-11-30"), (1, "test", "load", "2026-11-22")]
    r = cli("rollback", "--db", str(db), "1", "--lang", "zh")
    assert r.returncode == 0 and "v3" in r.stdout
    r = cli("rollback", "--db", str(db), "7")
    assert r.returncode == 2 and "no version v7" in r.stderr
    # the commit and the rollback are in the audit trail too, chained like the app's entries
    from analytics.auth import audit, store as auth_store

    log = auth_store.path_for(db)
    entries = sorted(audit.entries(log), key=lambda e: e.seq)  # entries() lists the newest first
    actions = [(e.action, e.actor, e.target, e.source) for e in entries]
    assert actions == [("commit", "王五", "good.csv", "cli"), ("rollback", "steward", "v1", "cli")], actions
    assert not audit.verify(log)[2]


def test_cli_ingest_says_clearly_when_the_app_holds_the_file(db, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(REPORTS)
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('open', flush=True); time.sleep(60)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        r = cli("ingest", "--db", str(db), "--table", "progress_reports", str(good))
        assert r.returncode == 3 and "Upload through the app" in r.stderr
    finally:
        holder.kill()
        holder.wait()


def test_cli_uses_a_saved_mapping(db, tmp_path):
    from analytics.db import mappings

    mappings.save(db, "区县周报", "progress_reports", {"事项号": "project_id", "日期": "report_date"}, "steward")
    f = tmp_path / "weekly.csv"
    f.write_bytes(csv_bytes([["事项号", "日期", "实际进度"], ["A1", "2026-11-21", "80"]]))
    r = cli("ingest", "--db", str(db), "--table", "progress_reports", str(f), "--mapping", "区县周报", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["status"] == "committed"
    r = cli("ingest", "--db", str(db), str(f), "--mapping", "no such")
    assert r.returncode == 2 and "区县周报" in r.stderr


def test_after_commits_and_rollbacks_the_mart_and_the_live_path_agree(con, db):
    from analytics.metrics import Thresholds

    extra = Thresholds().params()
    as_of = date_of(con)

    def lights(use_marts: bool):
        return queries.run(con, "item_lights", as_of=as_of, use_marts=use_marts, **extra).sort("project_id")

    commit(con, csv_bytes([["项目编号", "填报日期", "计划进度", "实际进度"], ["A1", "2026-11-21", "90", "40"],
                           ["B1", "2026-11-21", "100", "100"]]), db=db)
    assert marts.has_snapshots(con, [as_of])  # the commit rebuilt the mart for the new version
    assert lights(True).equals(lights(False))
    versions.restore(con, 1, who="x", db_path=str(db))
    assert marts.has_snapshots(con, [as_of]) and lights(True).equals(lights(False))
    assert n_items(con) == 5


def n_items(con) -> int:
    return queries.run(con, "overview_counts", as_of=date_of(con))["n_items"][0]


def test_an_upload_the_mart_does_not_read_only_restamps_it(con, db):
    commit(con, REPORTS, db=db)  # the first commit builds the mart (the fixture has none)
    before = con.execute("SELECT * FROM item_snapshots ORDER BY ALL").fetchall()
    data = csv_bytes([["反馈编号", "接收时间", "渠道", "区划代码", "满意度"], ["F9", "2026-11-20 09:00", "好差评", "合肥市", "4"]])
    out = commit(con, data, "反馈.csv", db=db)
    assert out.version == 3 and con.execute("SELECT data_version FROM mart_stamp").fetchall() == [(3,)]
    assert marts.has_snapshots(con, [date_of(con)])
    assert con.execute("SELECT * FROM item_snapshots ORDER BY ALL").fetchall() == before


def test_a_version_whose_process_died_before_its_audit_entry_is_audited_as_recovered(con, db):
    """Issue 22, medium 7: the commit is in the DuckDB file but the process was killed before the audit entry was
    written; the next opening of the database (the app's, or the command line's before it commits) records it as
    recovered, with its sha256, once."""
    from analytics.auth import audit
    from analytics.auth import store as auth_store

    out = commit(con, REPORTS, db=db)  # the entry the app or the CLI writes next never comes
    side = auth_store.path_for(db)
    assert not [e for e in audit.entries(side) if e.action != "commit_recovered"]
    assert versions.reconcile_audit(con, str(db)) == []  # younger than a minute: its own process may still write it
    added = versions.reconcile_audit(con, str(db), settle_seconds=0)
    assert [(e.action, e.detail["version"], e.source) for e in added] == [("commit_recovered", out.version, "recovered")]
    sha = con.execute("SELECT sha256 FROM data_versions WHERE version = ?", [out.version]).fetchall()[0][0]
    assert added[0].detail["sha256"] == sha and added[0].actor == "测试员"
    assert versions.reconcile_audit(con, str(db), settle_seconds=0) == []  # once
    assert audit.verify(side)[2] == []
    # a version with its own entry is left alone
    out2 = commit(con, csv_bytes([PROGRESS_HEADER, ["A1", "2026-11-22", "93", "81", "黄", ""]]), name="b.csv", db=db)
    audit.append(side, actor="测试员", role="steward", action="commit", target="b.csv", detail={"version": out2.version})
    assert versions.reconcile_audit(con, str(db), settle_seconds=0) == []
