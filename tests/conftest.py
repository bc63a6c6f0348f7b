import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import fixture_db  # noqa: E402


@pytest.fixture(scope="session")
def fixture_path(tmp_path_factory) -> Path:
    return fixture_db.build(tmp_path_factory.mktemp("fixture") / "fixture.duckdb")


@pytest.fixture()
def fixture_con(fixture_path):
    from analytics import store

    con = store.connect(fixture_path, read_only=True)
    yield con
    con.close()


@pytest.fixture()
def app_env(fixture_path, monkeypatch):
    """Point the app at the fixture database, read-only: the session shares it with other processes (the
    CLI tests), and a read-write app would hold it exclusively. Upload tests use their own copy."""
    monkeypatch.setenv("COCKPIT_DB", str(fixture_path))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    return fixture_path


@pytest.fixture(scope="session")
def demo_small_path(tmp_path_factory) -> Path:
    """The small demo database (scale 0.05, seed 3, as of 2026-11-22), generated once per session for the
    tests that need a realistic history (the risk model). Read it only: copy it before writing, and save
    models beside copies (a `.models` folder beside it would be seen by every test using it)."""
    from datetime import date

    from analytics import demo

    path = tmp_path_factory.mktemp("demo_small") / "demo.duckdb"
    demo.generate(path, scale=0.05, seed=3, as_of=date(2026, 11, 22))
    return path
