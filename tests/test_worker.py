"""One writer, many readers (issue 18): the worker runs the job queue, publishes snapshots readers switch to, refuses
the second of two commits previewed on the same version with a reason, and survives kill -9 mid-commit; the CLI and
the upload page hand it their commits while the app runs."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from analytics import jobs, worker
from analytics.auth import audit
from analytics.auth import store as auth_store
from analytics.db import queries, snapshots, store
from analytics.ingest import pipeline
from tests.test_ingest_support import PROGRESS_HEADER, csv_bytes, db  # noqa: F401
from tests.test_ingest_versions import BEFORE, REPORTS, reports

ROOT = Path(__file__).resolve().parents[1]
OTHER = csv_bytes([PROGRESS_HEADER, ["B1", "2026-11-22", "100", "90", "绿", ""]])


def _submit(db, data: bytes, name: str, based_on: int, who: str = "李四") -> int:
    snap = snapshots.current(db)
    con = store.connect(snap.path if snap else db, read_only=True)
    try:
        up = pipeline.read(data, name)
        changes = pipeline.to_changes(pipeline.check(con, up, modes={p.table: "upsert" for p in up.parts}), "upsert",
                                      False)
    finally:
        con.close()
    payload, frames = jobs.commit_payload(changes, file_name=name, sha256=up.sha256, as_of=None, based_on=based_on,
                                          modes=["upsert"], audit={"sha256": up.sha256})
    return jobs.submit(db, "commit", payload, who=who, role="steward", source="10.0.0.8", title=name, frames=frames)


def _published(db) -> tuple[int, list]:
    snap = snapshots.current(db)
    con = store.connect(snap.path, read_only=True)
    try:
        return queries.run(con, "data_version")["version"][0], reports(con)
    finally:
        con.close()


def test_the_worker_commits_a_queued_upload_and_publishes_it(db):
    w = worker.Worker(db, log=lambda s: None)
    try:
        w.start()
        assert snapshots.current(db).version == 1  # the first start publishes what the file holds
        job_id = _submit(db, REPORTS, "进度.csv", based_on=1)
        assert jobs.get(db, job_id).state == "queued" and jobs.ahead_of(db, job_id) == 0
        assert w.run(once=True) == 1
    finally:
        w.close()
    job = jobs.get(db, job_id)
    assert job.state == "done" and job.result["status"] == "committed" and job.result["version"] == 2
    version, rows = _published(db)
    assert version == 2 and ("A1", "2026-11-21", 80.0) in rows  # readers of the snapshot see the new version
    assert not jobs.files_for(db, job_id).exists()  # a done job's files are removed
    entry = [e for e in audit.entries(auth_store.path_for(db)) if e.action == "commit"][0]
    assert (entry.actor, entry.role, entry.source, entry.detail["job"], entry.detail["version"]) == \
        ("李四", "steward", "10.0.0.8", job_id, 2)


def test_two_commits_previewed_on_one_version_the_second_is_refused_saying_why(db):
    w = worker.Worker(db, log=lambda s: None)
    try:
        w.start()
        first, second = _submit(db, REPORTS, "a.csv", based_on=1), _submit(db, OTHER, "b.csv", based_on=1)
        w.run(once=True)
    finally:
        w.close()
    assert jobs.get(db, first).state == "done"
    refused = jobs.get(db, second)
    assert refused.state == "failed"
    assert refused.result["error"]["en"] == ("The preview was of v1, but the data is now v2. Look at the preview "
                                             "again, then commit.")
    assert "预览基于 v1" in refused.result["error"]["zh"]
    assert _published(db)[0] == 2
    assert jobs.files_for(db, second).exists()  # kept for a retry


def test_snapshots_beyond_the_newest_three_are_deleted_never_the_current(db):
    con = store.connect(db)
    try:
        for v in range(1, 6):
            snapshots.publish(con, db, v)
            time.sleep(0.02)
    finally:
        con.close()
    kept = sorted(p.name.split("-")[0] for p in snapshots.folder(db).glob("v*.duckdb"))
    assert kept == ["v3", "v4", "v5"] and snapshots.current(db).version == 5


def test_publishing_waits_for_another_cursors_open_write_and_keeps_it(db):
    """The load test's 2 × 60 run: the steward's commit failed at publishing with "Cannot CHECKPOINT: there are other
    write transactions active", another cursor of the worker's writer being mid-write. Publishing waits for it."""
    con = store.connect(db)
    other = con.cursor()
    try:
        other.execute("BEGIN TRANSACTION")
        other.execute("CREATE TABLE scratch AS SELECT 1 AS x")  # a catalog change: a plain CHECKPOINT refuses
        with pytest.raises(Exception, match="other write transactions"):
            con.cursor().execute("CHECKPOINT")  # what publishing did

        def finish() -> None:
            time.sleep(0.5)
            other.execute("COMMIT")

        threading.Thread(target=finish).start()
        t0 = time.perf_counter()
        snap = snapshots.publish(con, db, 7)
        assert time.perf_counter() - t0 >= 0.4  # it waited for the other transaction to end
        assert snapshots.current(db).version == 7
        assert con.execute("SELECT x FROM scratch").fetchall() == [(1,)]  # whose work was kept, not aborted
    finally:
        other.close()
        con.close()
    reader = store.connect(snap.path, read_only=True)
    try:  # the snapshot opens read-only and holds the data committed before it
        assert reader.execute("SELECT count(*) FROM data_versions").fetchone()[0] >= 1
    finally:
        reader.close()


KILLED = """
import sys, time
sys.path.insert(0, {root!r})
from analytics import worker
from analytics.db import marts
def hang(*a, **k):
    print("IN_TRANSACTION", flush=True)
    time.sleep(120)
marts.rebuild = hang
w = worker.Worker({db!r}, log=lambda s: None)
w.run(once=True)
"""


def test_kill_9_of_the_worker_mid_commit_keeps_the_published_version_and_the_job_can_be_retried(db):
    w = worker.Worker(db, log=lambda s: None)
    w.start()
    w.close()
    job_id = _submit(db, REPORTS, "进度.csv", based_on=1)
    proc = subprocess.Popen([sys.executable, "-c", KILLED.format(root=str(ROOT), db=str(db))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "IN_TRANSACTION", proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert jobs.get(db, job_id).state == "running"
    assert _published(db) == (1, BEFORE)  # readers never saw a half commit
    time.sleep(5 * jobs.HEARTBEAT_SECONDS + 0.5)  # the dead worker's heartbeat goes stale
    logged = []
    w = worker.Worker(db, log=logged.append)
    try:
        w.start()
        job = jobs.get(db, job_id)
        assert job.state == "failed" and "nothing of it was committed" in job.error, job
        assert any("marked failed" in line for line in logged)
        assert jobs.retry(db, job_id)
        w.run(once=True)
    finally:
        w.close()
    assert jobs.get(db, job_id).state == "done"
    assert _published(db)[0] == 2


def test_the_cli_hands_its_commit_to_the_running_worker(db, tmp_path):
    w = worker.Worker(db, log=lambda s: None)
    w.start()
    f = tmp_path / "进度.csv"
    f.write_bytes(REPORTS)
    thread = threading.Thread(target=w.run, kwargs={"poll": 0.1}, daemon=True)
    thread.start()
    try:
        r = subprocess.run([sys.executable, "-m", "analytics", "ingest", "--db", str(db), str(f), "--json"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120, env=os.environ | {"COCKPIT_DB": str(db)})
    finally:
        w.stop()
        thread.join(10)
        w.close()
    assert r.returncode == 0, r.stderr
    assert '"status": "committed"' in r.stdout and '"version": 2' in r.stdout
    assert _published(db)[0] == 2


def test_the_cli_queues_when_no_worker_runs_and_says_so(db, tmp_path):
    w = worker.Worker(db, log=lambda s: None)
    w.start()
    w.close()  # published, then gone
    f = tmp_path / "进度.csv"
    f.write_bytes(REPORTS)
    r = subprocess.run([sys.executable, "-m", "analytics", "ingest", "--db", str(db), str(f)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "no worker is running" in r.stderr and "Queued for the worker" in r.stdout
    assert [j.state for j in jobs.listing(db)] == ["queued"]


def test_a_second_worker_on_the_same_file_is_refused_with_a_reason(db):
    w = worker.Worker(db, log=lambda s: None)
    try:
        proc = subprocess.run([sys.executable, "-m", "analytics", "worker", "--db", str(db), "--once"], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
    finally:
        w.close()
    assert proc.returncode == 3 and "cannot open" in proc.stderr and "for writing" in proc.stderr


@pytest.fixture()
def served_db(db, monkeypatch):
    """`db` published by a worker (then stopped), as the app processes of a served deployment read it."""
    w = worker.Worker(db, log=lambda s: None)
    w.start()
    w.close()
    monkeypatch.setenv("COCKPIT_DB", str(db))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    return db


def test_the_upload_page_queues_the_commit_and_shows_the_new_version_once_published(served_db):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page("views/upload.py").run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "data version v1" in text and "Commits in the worker's queue" in " ".join(e.label for e in at.expander)
    assert "COCKPIT_DB_WRITABLE" not in text  # a reader of snapshots may upload: the worker commits
    at.file_uploader[0].set_value(("进度.csv", REPORTS, "text/csv")).run()
    at.button(key="up_commit").click().run()
    assert not at.exception, [e.value for e in at.exception]
    infos = " ".join(i.value for i in at.info) + " ".join(w.value for w in at.warning)
    infos = infos.replace("\\", "")
    assert "Handed to the worker as job 1" in infos and "No worker is running" in infos
    assert jobs.get(served_db, 1).state == "queued" and jobs.get(served_db, 1).submitted_by
    w = worker.Worker(served_db, log=lambda s: None)
    try:
        w.run(once=True)
    finally:
        w.close()
    at.run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "data version v2" in text
    assert "Job 1: Committed as data version v2" in " ".join(s.value for s in at.success).replace("\\", "")


def test_a_restore_is_a_job_that_publishes_the_earlier_state_as_a_new_version(db):
    w = worker.Worker(db, log=lambda s: None)
    try:
        w.start()
        _submit(db, REPORTS, "进度.csv", based_on=1)
        w.run(once=True)
        job_id = jobs.submit(db, "restore", {"target": 1}, who="王五", role="steward", source="10.0.0.9", title="v1")
        w.run(once=True)
    finally:
        w.close()
    job = jobs.get(db, job_id)
    assert job.state == "done" and (job.result["status"], job.result["version"]) == ("restored", 3)
    assert _published(db) == (3, BEFORE)
    assert [e.action for e in audit.entries(auth_store.path_for(db))][:2] == ["rollback", "commit"]


def test_retraining_asked_on_the_risk_page_is_the_workers_job(served_db):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = "en"
    at.run()
    at.switch_page("views/risk.py").run()
    assert not at.exception, [e.value for e in at.exception]
    keys = [b.key for b in at.button if b.key and b.key.startswith(("risk_retrain", "risk_train"))]
    assert keys, [b.key for b in at.button]
    at.button(key=keys[0]).click().run()
    assert not at.exception, [e.value for e in at.exception]
    (job,) = jobs.listing(served_db)
    assert (job.kind, job.state) == ("retrain", "queued")  # no training thread in this (reading) process
    from analytics.risk import jobs as risk_jobs

    assert risk_jobs.current(served_db) is None
    assert "Retraining by the worker (job 1): queued" in " ".join(i.value for i in at.info).replace("\\", "")


def test_the_worker_builds_the_national_quality_analyses_that_readers_then_load(db):
    from analytics import quality
    from analytics.db.queries import Scope
    from analytics.pages import authenticity, duplicates

    w = worker.Worker(db, log=lambda s: None)
    try:
        w.run(once=True)  # publishes, then, the queue being empty, builds the analyses
    finally:
        w.close()
    snap = snapshots.current(db)
    marts = sorted(p.name for p in (snapshots.folder(db) / "marts").iterdir())
    assert [m.split("-v")[0] for m in marts] == ["authenticity", "duplicates"]
    con = store.connect(snap.path, read_only=True)
    try:
        as_of = store.current_version(con)[1]
        quality.clear_cache()
        computed = []
        real = duplicates.candidate_pairs
        duplicates.candidate_pairs = lambda *a, **k: computed.append(1) or real(*a, **k)
        try:
            loaded = duplicates.analyse(con, Scope(), as_of)
        finally:
            duplicates.candidate_pairs = real
        assert computed == []  # read from the mart, not computed
        quality.clear_cache()
        (snapshots.folder(db) / "marts").rename(snapshots.folder(db) / "away")  # no mart: computed here
        fresh = duplicates.analyse(con, Scope(), as_of)
        assert loaded.pairs.equals(fresh.pairs) and loaded.items.equals(fresh.items)
        assert loaded.n_compared == fresh.n_compared
        auth = authenticity.analyse(con, Scope(), as_of)
        assert auth.items.height > 0
    finally:
        con.close()


def test_the_cli_rollback_under_a_worker_is_its_job(db):
    w = worker.Worker(db, log=lambda s: None)
    w.start()
    _submit(db, REPORTS, "进度.csv", based_on=1)
    w.run(once=True)
    thread = threading.Thread(target=w.run, kwargs={"poll": 0.1}, daemon=True)
    thread.start()
    try:
        r = subprocess.run([sys.executable, "-m", "analytics", "rollback", "--db", str(db), "1"], cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    finally:
        w.stop()
        thread.join(10)
        w.close()
    assert r.returncode == 0, r.stderr
    assert "Restored as the new data version v3" in r.stdout
    assert _published(db) == (3, BEFORE)
