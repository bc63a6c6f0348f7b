"""After a commit through the app, the slip-risk model retrains on the new version in the background."""
import shutil
import time

from analytics.risk import jobs, persist
from analytics.db.store import Database


def test_the_committed_database_and_only_it_retrains(demo_small_path, tmp_path):
    from ui import context

    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_small_path, path)
    db = Database(path, read_only=False)
    try:
        assert context.retrain_after_commit(db, str(path), str(tmp_path / "other.duckdb")) is False
        assert jobs.current(path) is None
        assert context.retrain_after_commit(db, str(path), str(path)) is True
        job = jobs.current(path)
        deadline = time.time() + 300
        while not job.done and time.time() < deadline:
            time.sleep(0.5)
        assert job.done and job.error is None, job.error
        version = db.cursor().execute("SELECT max(version) FROM data_versions").fetchall()[0][0]
        assert persist.load_latest(path, version) is not None
    finally:
        db.close()


def test_a_writable_app_database_registers_the_hook_once(tmp_path, monkeypatch, fixture_path):
    from analytics.ingest import versions
    from ui import context

    path = tmp_path / "fixture.duckdb"
    shutil.copy(fixture_path, path)
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "1")
    before = len(versions.AFTER_COMMIT)
    db = context.database(str(path))
    context.database(str(path))  # cached: the same connection, no second hook
    try:
        assert db.writable and len(versions.AFTER_COMMIT) == before + 2  # warm the caches, retrain the model
    finally:
        del versions.AFTER_COMMIT[before:]
        context.database.clear()
        db.close()
