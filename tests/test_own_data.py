"""An office on its own data, end to end from the command line: `init` for 芜湖市, the three example ledgers of
data/examples ingested, and `metrics --json` giving the overdue, completed and red counts that a person counts from
the ledgers' own cells; the last ledger again changes nothing. The cells are read here with fastexcel and judged by
the rules of docs/metrics.md written out by hand, not by analytics/ingest/ledger.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import fastexcel
import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "data" / "examples"
MONTHS = ("2026-08", "2026-09", "2026-10")
AS_OF = date(2026, 10, 31)
# the deadline texts the example ledgers use, read by a person (None: no deadline)
DEADLINES = {"2026-06-30 00:00:00": date(2026, 6, 30), "2026-07-31 00:00:00": date(2026, 7, 31),
             "2026-08-20 00:00:00": date(2026, 8, 20), "2026-08-31 00:00:00": date(2026, 8, 31),
             "2026-09-30 00:00:00": date(2026, 9, 30), "2026-11-30 00:00:00": date(2026, 11, 30),
             "2026-12-20 00:00:00": date(2026, 12, 20), "2026-12-31": date(2026, 12, 31),
             "2026.12.31": date(2026, 12, 31), "2026年10月31日": date(2026, 10, 31), "2026年12月底": date(2026, 12, 31),
             "2026年6月底": date(2026, 6, 30), "2026年9月底": date(2026, 9, 30), "2026年第四季度": date(2026, 12, 31),
             "年底前": date(2026, 12, 31), "持续推进": None, "长期坚持": None}
RENAMED = {"加快推进城东片区棚户区改造": "推进城东片区棚户区改造"}  # the September rename, as a person reads it


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=os.environ)


def latest_rows() -> dict[tuple, dict]:
    """Each item's row in the newest ledger that lists it: (lead department, district, name) → its cells."""
    out: dict[tuple, dict] = {}
    for month in MONTHS:
        cells = fastexcel.read_excel((EXAMPLES / f"wuhu-{month}.xlsx").read_bytes()).load_sheet(
            0, header_row=None, dtypes="string").to_polars()
        header = next(i for i, r in enumerate(cells.iter_rows()) if r[0] == "序号")
        names = cells.row(header)
        col = {h: names.index(h) for h in names}
        lead = col.get("牵头单位", col.get("牵头责任单位"))
        for r in cells.slice(header + 1).iter_rows():
            if not (r[0] or "").isdigit():  # section, footer
                continue
            name = RENAMED.get(r[col["重点工作任务"]], r[col["重点工作任务"]])
            out[(r[lead], r[col["责任区县"]], name)] = {"deadline": r[col["完成时限"]], "status": r[col["推进状态"]]}
    return out


def test_by_hand():
    rows = latest_rows()
    assert len(rows) == 45  # 42 in August, one added in September, two in October (the dropped one is kept)
    completed = [k for k, r in rows.items() if r["status"] in ("已完成", "已办结")]
    in_flight = {k: r for k, r in rows.items() if k not in completed}
    overdue = [k for k, r in in_flight.items() if DEADLINES[r["deadline"]] is not None
               and DEADLINES[r["deadline"]] < AS_OF]
    red = [k for k, r in in_flight.items() if k in overdue or r["status"] == "滞后"]
    assert (len(completed), len(overdue), len(red)) == (11, 2, 8)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    db = tmp_path_factory.mktemp("own") / "wuhu.duckdb"
    r = cli("init", "--db", str(db), "--home-region", "340200", "--as-of", "2026-08-01")
    assert r.returncode == 0, r.stderr
    for n, month in enumerate(MONTHS, 1):
        r = cli("ingest", "--db", str(db), str(EXAMPLES / f"wuhu-{month}.xlsx"), "--no-retrain", "--json")
        assert r.returncode == 0, r.stdout + r.stderr
        out = json.loads(r.stdout)
        assert out["status"] == "committed" and out["version"] == n and out["kind"] == "ledger"
    return db


def test_three_ledgers_give_the_counts_a_person_counts(city):
    rows = latest_rows()
    completed = sum(r["status"] in ("已完成", "已办结") for r in rows.values())
    in_flight = {k: r for k, r in rows.items() if r["status"] not in ("已完成", "已办结")}
    overdue = sum(1 for r in in_flight.values() if (d := DEADLINES[r["deadline"]]) is not None and d < AS_OF)
    red = sum(1 for r in in_flight.values()
              if ((d := DEADLINES[r["deadline"]]) is not None and d < AS_OF) or r["status"] == "滞后")
    r = cli("metrics", "--db", str(city), "--level", "city", "--region", "340000", "--as-of", str(AS_OF), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["data_version"] == 3 and out["as_of"] == str(AS_OF)
    (wuhu,) = [x for x in out["rows"] if x["region_code"] == "340200"]
    assert wuhu["in_flight"] == len(in_flight)
    assert wuhu["overdue"] == overdue
    assert wuhu["n_completed"] == completed
    assert round(wuhu["red_share"] * wuhu["n_lit"]) == red


def test_the_last_ledger_again_changes_nothing(city):
    r = cli("ingest", "--db", str(city), str(EXAMPLES / "wuhu-2026-10.xlsx"), "--no-retrain", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["status"] in ("same_file", "unchanged") and out["items"]["matched"] == 44
    r = cli("versions", "--db", str(city), "--json")
    assert max(v["version"] for v in json.loads(r.stdout)) == 3
