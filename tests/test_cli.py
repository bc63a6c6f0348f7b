"""The command line prints the numbers the library computes, and refuses bad arguments clearly."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from analytics import metrics
from analytics.db import store
from analytics.filters import Filters
from tests.fixture_db import AS_OF

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_metrics_json_equals_the_library(fixture_path):
    out = cli("metrics", "--db", str(fixture_path), "--level", "province", "--json")
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["as_of"] == str(AS_OF) and got["level"] == "province"
    con = store.connect(fixture_path, read_only=True)
    expected = metrics.region_table(con, metrics.Selection(Filters(), as_of=AS_OF), "province")
    con.close()
    by_code = {r["region_code"]: r for r in got["rows"]}
    assert set(by_code) == set(expected["region_code"])
    for row in expected.iter_rows(named=True):
        for m in metrics.METRICS:
            assert by_code[row["region_code"]][m.key] == pytest.approx(row[m.key]), (row["region_code"], m.key)


def test_metrics_csv_has_a_row_per_region(fixture_path):
    out = cli("metrics", "--db", str(fixture_path), "--level", "county", "--region", "340000")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("region_code,name,rank") and len(lines) == 2  # 瑶海区 (A1) only
    assert lines[1].startswith("340102,瑶海区")


@pytest.mark.parametrize("args,message", [
    (["--level", "province", "--region", "3400"], "6-digit region code"),
    (["--level", "province", "--region", "999999"], "no such region code"),
    (["--level", "town"], "invalid choice"),
    (["--level", "city", "--as-of", "2026-13-01"], "expected a date"),
])
def test_metrics_refuses_bad_arguments(fixture_path, args, message):
    out = cli("metrics", "--db", str(fixture_path), *args)
    assert out.returncode != 0 and message in out.stderr


@pytest.mark.parametrize("args", [("risk", "train"), ("metrics", "--level", "province"), ("audit", "verify")])
def test_a_database_the_app_holds_gets_a_clear_message_not_a_traceback(fixture_path, tmp_path, args):
    """Issue 22, low 14: DuckDB lets no other process open a file a writer holds; every command says so plainly."""
    import shutil

    import duckdb

    db = tmp_path / "held.duckdb"
    shutil.copy(fixture_path, db)
    holder = duckdb.connect(str(db))  # as the app holds it
    try:
        out = cli(*args, "--db", str(db))
    finally:
        holder.close()
    assert "Traceback" not in out.stderr, out.stderr
    if args[0] == "audit":  # verify reads the log, and says it could not cross-check the data versions
        assert out.returncode in (0, 1) and "in use by another process" in out.stdout + out.stderr
    else:
        assert out.returncode == 2 and "another process (the app, probably)" in out.stderr
