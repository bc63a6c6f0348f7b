"""A commit retrains the slip-risk model on the new version, whoever commits: the app or the command line.

The rest of the suite commits with COCKPIT_RETRAIN_AFTER_COMMIT=0 (tests/conftest.py); these tests turn it on.
"""
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import polars as pl

from analytics.db import store
from analytics.db import versions
from analytics.risk import jobs, persist

ROOT = Path(__file__).resolve().parents[1]


def _copy_with_a_report(demo_small_path, tmp_path) -> tuple[Path, Path]:
    """A copy of the small demo and a CSV of one new progress report for one of its items in flight."""
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_small_path, path)
    con = store.connect(path, read_only=True)
    try:
        _, as_of = store.current_version(con)
        (pid,), = con.execute("SELECT project_id FROM projects WHERE status = 'in_progress' ORDER BY project_id "
                              "LIMIT 1").fetchall()
    finally:
        con.close()
    csv = tmp_path / "report.csv"
    pl.DataFrame({"项目编号": [pid], "填报日期": [(as_of + timedelta(days=1)).isoformat()], "实际进度": [99]}).write_csv(csv)
    return path, csv


def _cli(*args: str, retrain: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=os.environ | {"COCKPIT_RETRAIN_AFTER_COMMIT": retrain,
                                                          # the retraining, not the finish dates (test_forecast.py)
                                                          "COCKPIT_FORECAST": "0"})


def test_a_command_line_commit_retrains_and_waits_for_it(demo_small_path, tmp_path):
    path, csv = _copy_with_a_report(demo_small_path, tmp_path)
    r = _cli("ingest", "--db", str(path), "--table", "progress_reports", str(csv), "--json", retrain="1")
    assert r.returncode == 0, r.stderr
    assert "Retraining the slip-risk model on data version v2" in r.stderr
    assert "Slip-risk model retrained on v2" in r.stderr, r.stderr
    assert persist.load_latest(path, 2) is not None  # the process ended after the model was saved


def test_no_retrain_and_the_setting_leave_the_model_alone(demo_small_path, tmp_path):
    path, csv = _copy_with_a_report(demo_small_path, tmp_path)
    r = _cli("ingest", "--db", str(path), "--table", "progress_reports", str(csv), "--no-retrain", retrain="1")
    assert r.returncode == 0 and "v2" in r.stdout, r.stderr
    assert "Retraining" not in r.stderr and persist.load_latest(path, 2) is None
    r = _cli("rollback", "--db", str(path), "1", retrain="0")
    assert r.returncode == 0 and "v3" in r.stdout, r.stderr
    assert "Retraining" not in r.stderr and persist.load_latest(path, 3) is None


def test_a_commit_in_the_app_process_retrains_in_the_background(demo_small_path, tmp_path, monkeypatch):
    """The upload page commits through versions.commit with the database's path, as here: the commit starts the
    training on a cursor of its own and returns at once; the committing cursor may close."""
    monkeypatch.setenv("COCKPIT_FORECAST", "0")  # the retraining, not the finish dates (test_forecast.py)
    path, csv = _copy_with_a_report(demo_small_path, tmp_path)
    db = store.Database(path, read_only=False)
    try:
        cur = db.writer()
        frame = pl.read_csv(csv).rename({"项目编号": "project_id", "填报日期": "report_date", "实际进度": "actual_progress_pct"})
        frame = frame.with_columns(pl.col("report_date").str.to_date(), pl.col("actual_progress_pct").cast(pl.Float64))
        change = versions.Change("progress_reports", "upsert", frame, tuple(frame.columns))
        out = versions.commit(cur, [change], who="test", file_name="report.csv", sha256="x", db_path=str(path),
                              retrain=None)  # the setting is 0 in the tests: nothing starts
        assert out.version == 2 and jobs.current(path) is None
        out = versions.restore(cur, 1, who="test", db_path=str(path), retrain=True)
        cur.close()
        job = jobs.current(path)
        assert out.version == 3 and job is not None
        deadline = time.time() + 300  # the job runs in a daemon thread: poll it
        while not job.done and time.time() < deadline:
            time.sleep(0.5)
        assert job.done and job.error is None, job.error
        assert persist.load_latest(path, 3) is not None
    finally:
        db.close()


def test_a_writable_app_database_registers_its_cache_listener_once(tmp_path, monkeypatch, fixture_path):
    from ui import context

    path = tmp_path / "fixture.duckdb"
    shutil.copy(fixture_path, path)
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "1")
    before = len(versions.ON_NEW_VERSION)
    db = context.database(str(path))
    context.database(str(path))  # cached: the same connection, no second listener
    try:
        assert db.writable and len(versions.ON_NEW_VERSION) == before + 1  # warm the caches; retraining is the commit's
    finally:
        del versions.ON_NEW_VERSION[before:]
        context._own_database.clear()
        db.close()
