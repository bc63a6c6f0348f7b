"""The state stores on a real PostgreSQL server (issue 18; COCKPIT_STATE_URL): a throw-away cluster of Debian's
`postgresql` (tests/pg_support.py) runs the state-store tests again on it, and holds the audit chain's guarantees
while two processes write at once and while the server restarts."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests import pg_support

ROOT = Path(__file__).resolve().parents[1]
# the tests of everything kept in the state stores: accounts, sign-in sessions and the audit chain; notifications;
# event notes; the worker's job queue; saved header mappings; meeting notes; duplicate marks; the warming list
STORE_TESTS = ["tests/test_auth.py", "tests/test_sessions.py", "tests/test_notify.py", "tests/test_notify_owners.py",
               "tests/test_annotations.py",
               "tests/test_worker.py", "tests/test_ingest.py::test_mappings_an_earlier_version_kept_in_the_database_"
               "file_are_carried_over", "tests/test_ingest.py::test_unknown_header_is_listed_and_a_saved_mapping_"
               "maps_it",
               "tests/test_meeting.py::test_notes_are_saved_with_who_and_when_and_shown_at_the_next_meeting",
               "tests/test_duplicates.py::test_a_not_duplicates_mark_persists",
               "tests/test_duplicates.py::test_marks_act_and_show_only_within_the_scope",
               "tests/test_warming.py::test_the_warming_list_adds_every_process_counts_and_forgets_what_nobody_asks_"
               "for"]


@pytest.fixture(scope="module")
def pg():
    if pg_support.binaries() is None:
        if os.environ.get("CI"):
            pytest.fail("no PostgreSQL binaries: .ci/run must apt-get install postgresql", pytrace=False)
        pytest.skip("no PostgreSQL binaries (apt-get install -y postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="cockpit-pg-", dir="/tmp"))  # reachable by the server's own user
    with pg_support.cluster(folder) as url:
        yield url, folder


def test_the_state_store_tests_pass_on_postgresql(pg):
    url, _ = pg
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *STORE_TESTS],
                       cwd=ROOT, env=os.environ | {"COCKPIT_STATE_URL": url}, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert " passed" in r.stdout and " failed" not in r.stdout


def test_every_store_lives_in_its_own_schema_and_no_file_is_written(pg, tmp_path, monkeypatch):
    from analytics import jobs
    from analytics.auth import accounts, audit
    from analytics.auth import store as auth_store
    from analytics.db import mappings, state

    url, _ = pg
    monkeypatch.setenv("COCKPIT_STATE_URL", url)
    db = tmp_path / "office.duckdb"
    assert accounts.count(auth_store.path_for(db)) == 0  # nothing yet: demo mode, and nothing is created
    assert not state.exists(auth_store.path_for(db))
    accounts.add(auth_store.path_for(db), "wang", role="admin", by="test", password="Yangtze7riverbank")
    mappings.save(db, "周报", "progress_reports", {"事项号": "project_id"}, "wang")
    jobs.heartbeat(db, "1@host")
    assert list(tmp_path.iterdir()) == []  # on PostgreSQL, nothing beside the database file
    with state._pg() as con:
        schemas = {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
    assert {state.schema_name(auth_store.path_for(db)), state.schema_name(mappings.path_for(db)),
            state.schema_name(jobs.path_for(db))} <= schemas
    monkeypatch.setenv("COCKPIT_STATE_NAMESPACE", "Office 1")
    assert state.schema_name(auth_store.path_for(db)) == "office_1_auth"
    assert audit.verify(auth_store.path_for(db))[2] == []


APPEND = """
import sys
sys.path.insert(0, {root!r})
from analytics.auth import audit
for i in range(40):
    audit.append({side!r}, actor="p{n}", role="admin", action="sign_in", target=str(i), source="cli")
"""


def test_two_processes_appending_at_once_keep_one_intact_chain(pg, tmp_path):
    from analytics.auth import audit

    url, _ = pg
    side = str(tmp_path / "busy.duckdb.auth.sqlite")
    env = os.environ | {"COCKPIT_STATE_URL": url}
    procs = [subprocess.Popen([sys.executable, "-c", APPEND.format(root=str(ROOT), side=side, n=n)], env=env)
             for n in (1, 2)]
    assert [p.wait(120) for p in procs] == [0, 0]
    os.environ["COCKPIT_STATE_URL"] = url
    try:
        entries = audit.entries(side, limit=1000)
        assert len(entries) == 80 and sorted(e.seq for e in entries) == list(range(1, 81))
        assert audit.verify(side)[2] == []
    finally:
        del os.environ["COCKPIT_STATE_URL"]


def test_a_postgresql_restart_makes_requests_wait_not_fail(pg, tmp_path, monkeypatch):
    """Requests that come while the server is down wait for it (COCKPIT_STATE_WAIT_SECONDS) and then succeed; a
    page whose run was cut by the restart runs again (app.py)."""
    import time

    from analytics.auth import audit

    url, folder = pg
    monkeypatch.setenv("COCKPIT_STATE_URL", url)
    monkeypatch.setenv("COCKPIT_STATE_WAIT_SECONDS", "60")
    side = tmp_path / "restart.duckdb.auth.sqlite"
    audit.append(side, actor="a", role="admin", action="sign_in", source="cli")
    pg_support.stop(folder)
    errors, done = [], []

    def write() -> None:
        try:
            for i in range(5):
                audit.append(side, actor="a", role="admin", action="sign_in", target=str(i), source="cli")
            done.append(time.monotonic())
        except Exception as e:  # noqa: BLE001 (what the assertion below reports)
            errors.append(repr(e))

    writer = threading.Thread(target=write)
    writer.start()
    time.sleep(3)
    assert not done and not errors  # waiting, not failing
    up = time.monotonic()
    pg_support.start(folder)
    writer.join(120)
    assert errors == [] and done and done[0] >= up
    assert len(audit.entries(side, limit=100)) == 6 and audit.verify(side)[2] == []
