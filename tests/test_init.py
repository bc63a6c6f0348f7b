"""An office starts on its own data: `python -m analytics init` makes an empty database for its home region, and the
first upload into it makes data version 1 (issue 16's first step; the app's first-start choice comes later)."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from analytics.db import store
from tests import fixture_db

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=os.environ)


def test_init_makes_an_empty_database_for_a_home_city_and_the_first_upload_is_version_1(tmp_path):
    db = tmp_path / "hefei.duckdb"
    r = cli("init", "--db", str(db), "--home-region", "340100", "--as-of", "2026-10-31", "--who", "王五")
    assert r.returncode == 0, r.stderr
    con = store.connect(db, read_only=True)
    try:
        assert store.home_region(con) == "340100"
        assert store.current_version(con) == (0, date(2026, 10, 31))
        assert con.execute("SELECT count(*) FROM projects").fetchall() == [(0,)]
        assert con.execute("SELECT count(*) FROM regions WHERE region_code = '340102'").fetchall() == [(1,)]
    finally:
        con.close()
    assert cli("check", "--db", str(db)).returncode == 0  # an empty database keeps every contract rule

    items = tmp_path / "items.parquet"
    (fixture_db.PROJECTS.filter(pl.col("region_code").str.starts_with("3401"))
     .with_columns(pl.lit(None, pl.Utf8).alias("policy_id")).write_parquet(items))
    r = cli("ingest", "--db", str(db), "--table", "projects", str(items), "--no-retrain")
    assert r.returncode == 0 and "v1 (based on v0)" in r.stdout, r.stderr
    r = cli("metrics", "--db", str(db), "--level", "county", "--region", "340100", "--json")
    assert r.returncode == 0 and '"data_version": 1' in r.stdout, r.stderr


def test_init_never_overwrites_and_refuses_an_unknown_home_region(tmp_path):
    db = tmp_path / "x.duckdb"
    assert cli("init", "--db", str(db), "--home-region", "340000").returncode == 0
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    r = cli("init", "--db", str(db), "--home-region", "110000")
    assert r.returncode == 2 and "already exists" in r.stderr
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    other = tmp_path / "y.duckdb"
    r = cli("init", "--db", str(other), "--home-region", "999999")
    assert r.returncode == 2 and "999999" in r.stderr and not other.exists()


def test_a_database_without_a_home_region_is_national(fixture_path):
    con = store.connect(fixture_path, read_only=True)
    try:
        assert store.home_region(con) is None
    finally:
        con.close()
    with pytest.raises(store.InitError):
        store.init(fixture_path, "340100", date(2026, 11, 22), "test")


def test_every_page_opens_on_a_fresh_empty_database(tmp_path, monkeypatch):
    """No item yet: every page renders (its empty state), none raises."""
    from streamlit.testing.v1 import AppTest

    from analytics.pages import PAGES

    db = tmp_path / "empty.duckdb"
    store.init(db, "340100", date(2026, 11, 30), "test")
    monkeypatch.setenv("COCKPIT_DB", str(db))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    for p in PAGES:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
        if not p.default:
            at.switch_page(p.file).run()
        assert not at.exception, (p.key, [e.value for e in at.exception])


def test_a_city_deployment_opens_on_its_city_and_offers_nothing_outside_it(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    db = tmp_path / "hefei.duckdb"
    store.init(db, "340100", date(2026, 11, 22), "test")
    con = store.connect(db)
    store.write_table(con, "projects", fixture_db.PROJECTS.filter(pl.col("region_code").str.starts_with("3401"))
                      .with_columns(pl.lit(None, pl.Utf8).alias("policy_id")))
    con.close()
    monkeypatch.setenv("COCKPIT_DB", str(db))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    ctx = at.session_state["_context"]
    assert ctx.filters.region_code == "340100" and ctx.scope.region_codes == ("340100",)
    tree = at.session_state["_tree"]
    assert "110000" not in tree.level and "340102" in tree.level  # no Beijing in the cascade; Hefei's districts
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["region"] = "110000"  # a hand-edited link to another region
    at.run()
    assert not at.exception and at.session_state["_context"].filters.region_code == "340100"


def test_a_city_database_refuses_rows_of_other_regions_from_the_command_line(tmp_path):
    db = tmp_path / "hefei.duckdb"
    assert cli("init", "--db", str(db), "--home-region", "340100", "--as-of", "2026-10-31").returncode == 0
    items = tmp_path / "items.parquet"
    frame = fixture_db.PROJECTS.with_columns(pl.lit(None, pl.Utf8).alias("policy_id"))
    assert frame.filter(~pl.col("region_code").str.starts_with("3401")).height > 0
    frame.write_parquet(items)
    r = cli("ingest", "--db", str(db), "--table", "projects", str(items), "--no-retrain")
    assert r.returncode == 1 and "340100" in r.stderr and "outside" in r.stderr, r.stderr
    con = store.connect(db, read_only=True)
    try:
        assert store.current_version(con)[0] == 0 and con.execute("SELECT count(*) FROM projects").fetchall() == [(0,)]
    finally:
        con.close()
