"""The slip-risk model: labels by hand, no leakage from after the as-of date, train/score/evaluate."""
import math
import shutil
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from analytics.db import store
from analytics.risk import features as F
from analytics.risk import model as M

AS_OF = date(2026, 11, 22)
CUT = date(2026, 3, 1)


@pytest.fixture(scope="module")
def db(demo_small_path):
    return demo_small_path


@pytest.fixture(scope="module")
def trained(db, demo_small_model):
    con = store.connect(db, read_only=True)
    yield con, demo_small_model
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
    # the day each slip became known: the day after expected end + 30 while open, or the moving report
    when = {r["project_id"]: r["slip_date"] for r in lab.iter_rows(named=True)}
    assert when == {"LATE": date(2026, 3, 4), "OPEN": date(2026, 3, 18), "MOVED": date(2026, 2, 1),
                    "OK": None, "FCAST": None, "TERM": None}
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


# ---- features on hand-made reports ------------------------------------------------------------------

def _wobbly(path):
    """One item whose forecast end wobbles by a few days and moves twice by more than a week."""
    con = store.connect(path)
    store.create_schema(con)
    d = date.fromisoformat
    store.write_table(con, "projects", pl.DataFrame([
        {"project_id": "W", "name": "W", "domain": "教育", "region_code": "110101", "lead_dept": "教育局",
         "start_date": d("2025-01-01"), "planned_end_date": d("2026-06-30"), "status": "in_progress"}]))
    reports = [  # report date, forecast end, rag; moves: +3, -2, +10, +1, -8, +7 days
        ("2025-03-01", "2026-06-30", "green"), ("2025-04-01", "2026-07-03", "green"),
        ("2025-05-01", "2026-07-01", "amber_green"), ("2025-06-01", "2026-07-11", "amber"),
        ("2025-07-01", "2026-07-12", "amber"), ("2025-08-01", "2026-07-04", "red"),
        ("2025-09-01", "2026-07-11", "amber")]
    store.write_table(con, "progress_reports", pl.DataFrame(
        [{"project_id": "W", "report_date": d(r), "forecast_end_date": d(f), "rag": g} for r, f, g in reports]))
    store.record_version(con, "test", "wobbly", date(2025, 12, 31))
    return con


def test_forecast_revisions_count_only_moves_beyond_a_week(tmp_path):
    con = _wobbly(tmp_path / "w.duckdb")
    row = F.features(con, date(2025, 9, 15)).row(0, named=True)
    assert row["n_forecast_revisions"] == 2  # +10 and -8; the +3, -2, +1 and +7 wobbles are not counted
    assert F.features(con, date(2025, 9, 15), revision_days=0)["n_forecast_revisions"][0] == 6
    assert row["forecast_slip_days"] == 11  # latest forecast 2026-07-11 minus the first, 2026-06-30
    assert row["forecast_move_last"] == 7  # since the previous report
    assert row["forecast_delay_days"] == 11
    assert row["days_to_expected_end"] == (date(2026, 7, 11) - date(2025, 9, 15)).days
    assert row["rag_ord"] == 2 and row["rag_change_last"] == -2  # red → amber
    assert row["rag_scale"] == 3  # no report on 2025-09-01 uses amber_green / amber_red
    assert row["n_reports"] == 7
    # before the latest report: as of 2025-08-15 the previous-report change is the move to red
    early = F.features(con, date(2025, 8, 15)).row(0, named=True)
    assert early["rag_change_last"] == 2 and early["forecast_move_last"] == -8 and early["n_forecast_revisions"] == 2
    assert F.features(con, date(2025, 5, 15))["rag_scale"][0] == 5  # that day's report used amber_green
    con.close()


def test_snapshots_follow_batched_report_dates(tmp_path):
    con = _wobbly(tmp_path / "w.duckdb")
    # seven report dates against a 28-day grid of ten: reporting is batched, so the report dates are used
    dates, kind = F.snapshot_plan(con, date(2025, 12, 31), 28)
    assert kind == "report_dates" and dates == sorted(F.report_dates(con, date(2025, 12, 31))) and len(dates) == 7
    dates, kind = F.snapshot_plan(con, date(2025, 12, 31), 7)  # a weekly grid: still more dates than reports
    assert kind == "report_dates"
    con.execute("INSERT INTO progress_reports (project_id, report_date, forecast_end_date) "
                "SELECT 'W', DATE '2025-03-01' + i::INTEGER, DATE '2026-07-11' FROM range(10, 300, 3) t(i)")
    dates, kind = F.snapshot_plan(con, date(2025, 12, 31), 28)  # reports on most days now: the grid
    assert kind == "grid" and dates[-1] == date(2025, 12, 31) and dates[0] >= date(2025, 3, 1)
    assert {(b - a).days for a, b in zip(dates, dates[1:])} == {28}
    con.close()


# ---- lead time --------------------------------------------------------------------------------------

def test_lead_time_from_first_alert_to_slip_by_hand():
    d = date.fromisoformat
    test = pl.DataFrame({  # four snapshots of three items; alerted rows marked below
        "project_id": ["X", "X", "X", "Y", "Y", "Z", "Z"],
        "snapshot_date": [d("2026-01-01"), d("2026-01-29"), d("2026-02-26"), d("2026-01-01"), d("2026-01-29"),
                          d("2026-01-01"), d("2026-01-29")],
        "slipped": [1, 1, 1, 1, 0, 0, 0],
        "slip_date": [d("2026-03-20"), d("2026-03-15"), d("2026-03-15"), d("2026-02-10"), None, None, None],
    })
    # X: alerted on 01-29 and 02-26; its slip is the earliest slip_date, 03-15: lead 45 days.
    # Y: slipped 02-10, never alerted: missed. Z: alerted, never slipped: no lead time.
    lead = M.lead_time(test, np.array([1, 2, 5]), horizon_days=90)
    assert lead == {"n_slipped_items": 2, "n_warned": 1, "median_lead_days": 45.0}
    # an alert more than the horizon before the slip does not count as warning it
    assert M.lead_time(test, np.array([0]), horizon_days=30)["n_warned"] == 0
    assert M.lead_time(test, np.array([0]), horizon_days=90)["median_lead_days"] == 73.0
    both = M.lead_time(test, np.array([0, 3]), horizon_days=90)  # X 73 days, Y 40 days
    assert both["n_warned"] == 2 and both["median_lead_days"] == pytest.approx(56.5)


def test_threads_are_capped(monkeypatch):
    from threadpoolctl import threadpool_info

    monkeypatch.setenv("COCKPIT_RISK_THREADS", "1")
    with M.limited_threads():
        openmp = [i for i in threadpool_info() if i["user_api"] == "openmp"]
        assert openmp and all(i["num_threads"] == 1 for i in openmp)


def test_bands_and_alert_share_are_declared_settings(monkeypatch):
    from analytics import settings

    assert {"COCKPIT_RISK_HIGH", "COCKPIT_RISK_MEDIUM", "COCKPIT_RISK_ALERT_SHARE", "COCKPIT_RISK_THREADS"} \
        <= set(settings.BY_NAME)
    assert M.BANDS == (("high", 0.5), ("medium", 0.2)) and M.ALERT_SHARE == 0.1
    monkeypatch.setenv("COCKPIT_RISK_HIGH", "0.6")
    monkeypatch.setenv("COCKPIT_RISK_MEDIUM", "0.3")
    assert M._bands() == (("high", 0.6), ("medium", 0.3))
    assert M.band(0.55, M._bands()) == "medium" and M.band(0.55) == "high"
    monkeypatch.setenv("COCKPIT_RISK_MEDIUM", "0.7")  # above high: refused
    with pytest.raises(ValueError, match="COCKPIT_RISK_MEDIUM"):
        M._bands()
    monkeypatch.setenv("COCKPIT_RISK_ALERT_SHARE", "1.5")
    with pytest.raises(ValueError, match="ALERT_SHARE"):
        M._alert_share()


def test_a_missing_signal_is_named_as_missing_not_as_a_number():
    from analytics.risk import scores

    assert scores.reason_text("progress_gap", None, "zh") == "没有填报计划和实际进度"
    assert scores.reason_text("rag_ord", None, "en") == "no delivery rating reported"
    assert scores.reason_text("n_co_depts", None, "en") == "no data for n_co_depts"
    assert scores.reason_text("progress_gap", "18.2", "zh") == "进度落后计划 18 个百分点"
