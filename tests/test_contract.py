"""The contract module, the DDL, the data checks and the generated docs agree."""
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from analytics import contract, settings
from analytics.db import checks
from analytics.db import store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def empty_con(tmp_path):
    con = store.connect(tmp_path / "empty.duckdb")
    store.create_schema(con)
    store.install_regions(con)
    yield con
    con.close()


def test_ddl_columns_types_and_nullability_follow_the_contract(empty_con):
    for t in contract.TABLES:
        rows = empty_con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_name = ? ORDER BY ordinal_position", [t.name]).fetchall()
        assert [r[0] for r in rows] == list(t.column_names), t.name
        for (name, dtype, nullable), c in zip(rows, t.columns):
            assert dtype == contract.SQL_TYPES[c.dtype], (t.name, name)
            assert (nullable == "NO") == c.required, (t.name, name)


@pytest.mark.parametrize("table,frame,problem", [
    ("projects", {"project_id": ["X"], "name": ["n"], "domain": ["d"], "region_code": ["34010"], "lead_dept": ["x"],
                  "start_date": [date(2026, 1, 1)], "planned_end_date": [date(2026, 2, 1)]}, "region_code"),
    ("projects", {"project_id": ["X"], "name": ["n"], "domain": ["d"], "region_code": ["340100"], "lead_dept": ["x"],
                  "priority": ["high"], "start_date": [date(2026, 1, 1)], "planned_end_date": [date(2026, 2, 1)]},
     "priority"),
    ("progress_reports", {"project_id": ["X"], "report_date": [date(2026, 1, 1)], "actual_progress_pct": [101.0]},
     "actual_progress_pct"),
    ("feedback", {"feedback_id": ["F"], "received_at": [None], "channel": ["rating"], "region_code": ["340100"]},
     "received_at"),
])
def test_ddl_rejects_values_outside_the_contract(empty_con, table, frame, problem):
    with pytest.raises(duckdb.Error, match=problem):
        store.write_table(empty_con, table, pl.DataFrame(frame))
    assert empty_con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0] == 0  # nothing half-written


def test_write_table_refuses_columns_outside_the_contract(empty_con):
    with pytest.raises(ValueError, match="not in the contract"):
        store.write_table(empty_con, "policies", pl.DataFrame({"policy_id": ["P"], "name": ["n"], "domain": ["d"],
                                                               "will_slip": [True]}))


def test_checks_report_duplicate_keys_broken_references_and_date_order(empty_con):
    store.write_table(empty_con, "projects", pl.DataFrame({
        "project_id": ["A", "A", "B"], "name": ["a", "a", "b"], "domain": ["d"] * 3,
        "region_code": ["340100", "340100", "999999"], "lead_dept": ["x"] * 3, "policy_id": [None, None, "NOPE"],
        "start_date": [date(2026, 1, 1)] * 3,
        "planned_end_date": [date(2026, 2, 1), date(2026, 2, 1), date(2025, 2, 1)],
        "status": ["in_progress", "in_progress", "completed"],
    }))
    found = {(r["table"], r["rule"]): r["n_rows"] for r in checks.violations(empty_con).iter_rows(named=True)}
    assert found == {
        ("projects", "key (project_id) unique"): 1,
        ("projects", "policy_id → policies.policy_id"): 1,
        ("projects", "region_code → regions.region_code"): 1,
        ("projects", "start_date ≤ planned_end_date"): 1,
        ("projects", "actual_end_date is set when status = completed"): 1,
    }


def test_fixture_database_breaks_no_rule(fixture_con):
    assert checks.violations(fixture_con).is_empty()


def test_generated_docs_are_up_to_date():
    assert (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8") == contract.markdown(), \
        "run: python -m analytics contract > docs/data-contract.md"
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == settings.markdown(), \
        "run: python -m analytics settings > docs/configuration.md"
    from analytics import metrics

    assert (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8") == metrics.markdown(), \
        "run: python -m analytics metrics-doc > docs/metrics.md"


def test_every_column_has_labels_in_both_languages_and_a_description():
    for t in contract.TABLES:
        for c in t.columns:
            assert c.zh and c.en and c.description, (t.name, c.name)
            assert c.dtype in contract.SQL_TYPES
        assert set(t.key) <= set(t.column_names)
        for r in t.references:
            assert r.column in t.column_names and r.target in contract.table(r.table).column_names


def test_every_grain_and_description_has_chinese_text_for_the_app():
    def cjk(s):
        return any("\u4e00" <= ch <= "\u9fff" for ch in s)

    for t in contract.TABLES:
        assert t.grain_zh and cjk(t.grain_zh), t.name
        assert t.grain_in("zh") == t.grain_zh and t.grain_in("en") == t.grain, t.name
        for c in t.columns:
            assert c.description_zh and cjk(c.description_zh), (t.name, c.name)
            assert c.description_in("zh") == c.description_zh and c.description_in("en") == c.description
    # without Chinese text, Chinese readers get the English rather than nothing
    bare = contract.Column("x", "text", "甲", "x", "english only")
    assert bare.description_in("zh") == bare.description_in("en") == "english only"
