"""The slip-risk model: labels by hand, no leakage from after the as-of date, train/score/evaluate."""
import math
import shutil
from datetime import date, timedelta

import polars as pl
import pytest

from analytics import demo, store
from analytics.risk import features as F
from analytics.risk import model as M

AS_OF = date(2026, 11, 22)
CUT = date(2026, 3, 1)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("risk") / "demo.duckdb"
    demo.generate(path, scale=0.05, seed=3, as_of=AS_OF)
    return path


@pytest.fixture(scope="module")
def trained(db):
    con = store.connect(db, read_only=True)
    m = M.train(con)
    yield con, m
    con.close()


# ---- labels on a hand-made fixture ----------------------------------------------------------------

A = date(2026, 1, 4)  # A + 90 = 2026-04-04


def _tiny(path):
    con = store.connect(path)
    store.create_schema(con)
    d = date.fromisoformat
    items = [  # id, start, planned end, actual end, status
        ("LATE", "2025-06-01", "2026-02-01", "2026-03-15", "completed"),    # 42 days late > 30: slip
        ("OK", "2025-06-01", "2026-02-01", "2026-02-20", "completed"),      # 19 days late: fine
        ("OPEN", "2025-06-01", "2026-02-15", None, "in_progress"),          # open 48 days past E at A+H: slip
        ("MOVED", "2025-06-01", "2026-12-31", None, "in_progress"),         # forecast moved 59 days after A: slip
        ("FCAST", "2025-06-01", "2026-01-20", None, "in_progress"),         # E is the forecast 04-01: 3 days, fine
        ("TERM", "2025-06-01", "2026-01-10", None, "terminated"),           # terminated: never a slip
        ("DONE", "2025-06-01", "2025-12-01", "2025-12-20", "completed"),    # completed before A: not in flight
        ("LATER", "2026-02-01", "2026-03-01", None, "in_progress"),         # starts after A: not in flight
    ]
    store.write_table(con, "projects", pl.DataFrame(
        [{"project_id": i, "name": i, "domain": "教育", "region_code": "110101", "lead_dept": "教育局",
          "start_date": d(s), "planned_end_date": d(p), "actual_end_date": a and d(a), "status": st}
         for i, s, p, a, st in items]))
    reports = [  # id, report date, forecast end, rag
        ("MOVED", "2025-12-01", "2026-12-31", "green"),
        ("MOVED", "2026-02-01", "2027-03-01", "amber"),
        ("FCAST", "2025-12-28", "2026-04-01", "amber"),
        ("FCAST", "2026-02-01", "2026-04-20", "amber"),  # 19 days beyond E: not a slip
        ("OK", "2026-01-01", "2026-02-20", "green"),      # forecast = actual: E moves, still fine
    ]
    store.write_table(con, "progress_reports", pl.DataFrame(
        [{"project_id": i, "report_date": d(r), "forecast_end_date": d(f), "rag": g} for i, r, f, g in reports]))
    store.record_version(con, "test", "tiny", date(2026, 6, 30))
    return con


def test_labels_by_hand(tmp_path):
    con = _tiny(tmp_path / "tiny.duckdb")
    lab = F.labels(con, A, horizon_days=90, tolerance_days=30)
    got = dict(zip(lab["project_id"], lab["slipped"]))
    assert got == {"LATE": 1, "OK": 0, "OPEN": 1, "MOVED": 1, "FCAST": 0, "TERM": 0}
    ends = dict(zip(lab["project_id"], lab["expected_end"]))
    assert ends["FCAST"] == date(2026, 4, 1) and ends["OPEN"] == date(2026, 2, 15)
    # a longer tolerance forgives the 42-, 48- and 59-day slips
    assert F.labels(con, A, 90, 60)["slipped"].sum() == 0
    # windows not yet observed (A + H after the data's as-of date) are not labelled
    assert F.labels(con, date(2026, 5, 1), 90, 30).height == 0
    # features of the thin fixture run, mostly missing, with terminated items left out
    feats = F.features(con, A)
    assert set(feats["project_id"]) == {"LATE", "OK", "OPEN", "MOVED", "FCAST"}
    assert feats["progress_gap"].null_count() == feats.height
    assert dict(zip(feats["project_id"], feats["forecast_delay_days"]))["FCAST"] == 71
    con.close()


# ---- leakage ----------------------------------------------------------------------------------------

CORRUPT = (
    """UPDATE progress_reports SET planned_progress_pct = 0, actual_progress_pct = 100, rag = 'red',
        budget_spent_wan_yuan = 0, forecast_end_date = report_date + 999 WHERE report_date > $a""",
    "UPDATE projects SET actual_end_date = actual_end_date + 400 WHERE actual_end_date > $a",
    "UPDATE milestones SET actual_date = actual_date + 50 WHERE actual_date > $a",
    "UPDATE rectifications SET closed_date = closed_date + 100 WHERE closed_date > $a",
    "DELETE FROM rectifications WHERE found_date > $a",
    "UPDATE feedback SET is_complaint = NOT coalesce(is_complaint, FALSE) WHERE received_at >= ($a + 1)::TIMESTAMP",
    "DELETE FROM feedback WHERE received_at >= ($a + 30)::TIMESTAMP",
)


@pytest.mark.parametrize("a", [date(2025, 9, 28), CUT])
def test_features_do_not_see_the_future(db, tmp_path, a):
    con = store.connect(db, read_only=True)
    before = F.features(con, a)
    con.close()
    copy = tmp_path / "corrupt.duckdb"
    shutil.copy(db, copy)
    con = store.connect(copy)
    changed = 0
    for sql in CORRUPT:
        changed += con.execute(sql, {"a": a}).fetchall()[0][0]
    after = F.features(con, a)
    con.close()
    assert changed > 1000 and before.height > 200
    assert before.null_count().sum_horizontal()[0] < before.height * before.width  # not all empty
    assert after.equals(before)


# ---- train, score, evaluate -------------------------------------------------------------------------

def test_train_and_score(trained):
    con, m = trained
    assert m.n_rows > 1000 and 0 < m.base_rate < 0.5 and m.data_as_of == AS_OF
    assert m.train_to + timedelta(days=90) <= AS_OF
    assert "progress_gap" in m.feature_names and "domain" in m.feature_names
    s = M.score(con, m, AS_OF)
    assert s.columns == ["project_id", "probability", "band", "top_reasons"]
    assert s.height == F.features(con, AS_OF).height > 100
    assert s["probability"].is_between(0, 1).all()
    assert set(s["band"]) <= {"high", "medium", "low"} and "low" in set(s["band"])
    top = s.row(0, named=True)
    assert top["band"] in ("high", "medium") and 1 <= len(top["top_reasons"]) <= 3
    assert all(r["feature"] in m.feature_names and r["effect"] > 0 for r in top["top_reasons"])


def test_train_and_score_on_a_thin_extract(db, tmp_path):
    copy = tmp_path / "thin.duckdb"
    shutil.copy(db, copy)
    con = store.connect(copy)
    con.execute("""UPDATE progress_reports SET planned_progress_pct = NULL, actual_progress_pct = NULL,
                   budget_spent_wan_yuan = NULL""")
    con.execute("UPDATE projects SET budget_wan_yuan = NULL")
    m = M.train(con)
    s = M.score(con, m, AS_OF)
    feats = F.features(con, AS_OF)
    con.close()
    assert feats["progress_gap"].null_count() == feats.height
    assert s.height == feats.height and s["probability"].is_between(0, 1).all()
    reasons = {r["feature"] for rs in s["top_reasons"] for r in rs}
    assert reasons and "progress_gap" not in reasons


def test_evaluate_beats_the_red_light(trained):
    con, _ = trained
    e = M.evaluate(con, CUT, 90, 30)
    for k in ("roc_auc", "pr_auc", "brier"):
        assert 0 <= e[k] <= 1 and not math.isnan(e[k])
    assert e["roc_auc"] > 0.7 and e["brier"] < e["test_slip_rate"]
    assert len(e["reliability"]) >= 5
    assert e["train_dates"][1] + timedelta(days=90) <= CUT <= e["test_dates"][0]
    model, rule, rag = e["model_at_budget"], e["red_light_at_budget"], e["rag_red_at_budget"]
    assert model["n_alerts"] == e["alert_budget"] == math.ceil(0.1 * e["n_test"])
    assert rule["n_alerts"] <= e["alert_budget"] and rag["n_alerts"] <= e["alert_budget"]
    assert model["precision"] > rule["precision"] and model["recall"] > rule["recall"]
    assert model["precision"] > rag["precision"]


# ---- one item: its risk now, its history, what-ifs ----------------------------------------------

def test_one_items_features_and_score_equal_the_whole_runs(trained):
    from analytics.risk import item as risk_item

    con, m = trained
    every = M.score(con, m, AS_OF)
    for pid in every["project_id"].head(5):
        one = risk_item.current(con, m, pid, AS_OF)
        assert one["probability"] == pytest.approx(every.filter(pl.col("project_id") == pid)["probability"][0])
    assert F.features(con, AS_OF, project_id=every["project_id"][0]).height == 1


def test_risk_history_is_four_weekly_and_ends_at_the_as_of_date(trained):
    from analytics.risk import item as risk_item

    con, m = trained
    pid = M.score(con, m, AS_OF)["project_id"][0]
    h = risk_item.history(con, m, pid, AS_OF)
    assert h["snapshot_date"][-1] == AS_OF and h.height <= 14
    assert h["snapshot_date"].diff().drop_nulls().dt.total_days().unique().to_list() == [28]
    assert h["probability"][-1] == pytest.approx(risk_item.current(con, m, pid, AS_OF)["probability"])


def test_what_if_offers_only_actions_that_apply_and_rescores_them(trained):
    from analytics.risk import item as risk_item

    con, m = trained
    feats = F.features(con, AS_OF)
    row = feats.filter((pl.col("rect_open") > 0) & (pl.col("progress_gap") > 5)).row(0, named=True)
    wi = risk_item.what_if(m, row)
    assert {"catch_up", "rect_closed"} <= set(wi["scenario"])
    closed = row | {"rect_open": 0.0, "rect_overdue": 0.0}
    expected = float(M.predict(m, pl.DataFrame([closed]))[0])
    assert wi.filter(pl.col("scenario") == "rect_closed")["probability"][0] == pytest.approx(expected)
    calm = feats.filter((pl.col("rect_open") == 0) & (pl.col("progress_gap").fill_null(0) <= 0)
                        & (pl.col("forecast_delay_days").fill_null(0) <= 0) & (pl.col("ms_missed").fill_null(0) == 0)
                        & (pl.col("weeks_since_report").fill_null(0) <= 2))
    if calm.height:
        assert risk_item.what_if(m, calm.row(0, named=True)).is_empty()
