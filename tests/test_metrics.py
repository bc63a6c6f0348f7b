"""Metrics on a tiny database built here; every expected value is worked out by hand in the comments.

As of 2026-06-30, default thresholds (yellow > 10 pp, red > 20 pp; blue ≥ 5, orange > 15), 48 h.
Items (安徽 counties 340102 瑶海, 340103 庐阳, 340104 蜀山 of 合肥 340100; 北京 district 110105 朝阳):
  P1 340102 progress 60 planned / 40 actual → lag 20 exactly: yellow (not > 20), orange (> 15)
           budget 100, spent 70 → spent 70% − progress 40 = gap +30 pp
  P2 340102 progress 50 / 45 → lag 5: green, blue (≥ 5); budget 200, spent 90 → gap 45 − 45 = 0
  P3 340103 planned end 2026-05-31 passed, not completed → overdue: red, red, 30 days late; lag 100 − 80 = 20
  P4 340104 no reports; milestones 0.30 done, 0.25 due and missed, 0.45 not yet due → lag 25: red
  P5 110105 thin extract: forecast end 2027-01-31 vs plan 2026-12-31 (31 days late on a 364-day schedule)
           → lag 31/364·100 = 8.52: green, blue
  P6 110105 only RAG amber_red → red light, orange warning
  P7 340102 no data at all → light 'none'
  P8 340102 completed 2026-04-20, planned 2026-04-30 → on time
  P9 340103 completed 2026-05-20, planned 2026-05-10 → late
  P10 340000 (province-level item) progress 30 / 30 → green, lag 0
  P11 not started (starts 2026-09-01); P12 terminated
"""
from datetime import date, datetime

import polars as pl
import pytest

from analytics import metrics
from analytics.db import queries
from analytics.db import store
from analytics.filters import Filters
from analytics.metrics import Selection, Thresholds
from analytics.db.queries import Scope

AS_OF = date(2026, 6, 30)
D = date.fromisoformat


def _items():
    rows = [  # id, region, start, planned end, actual end, status, budget
        ("P1", "340102", "2026-01-01", "2026-12-31", None, "in_progress", 100.0),
        ("P2", "340102", "2026-01-01", "2026-12-31", None, "in_progress", 200.0),
        ("P3", "340103", "2025-10-01", "2026-05-31", None, "in_progress", None),
        ("P4", "340104", "2026-01-01", "2026-12-31", None, "in_progress", None),
        ("P5", "110105", "2026-01-01", "2026-12-31", None, "in_progress", None),
        ("P6", "110105", "2026-01-01", "2026-12-31", None, "in_progress", None),
        ("P7", "340102", "2026-03-01", "2027-03-01", None, "in_progress", None),
        ("P8", "340102", "2025-06-01", "2026-04-30", "2026-04-20", "completed", None),
        ("P9", "340103", "2025-06-01", "2026-05-10", "2026-05-20", "completed", None),
        ("P10", "340000", "2026-01-01", "2026-12-31", None, "in_progress", None),
        ("P11", "340102", "2026-09-01", "2027-06-30", None, "not_started", None),
        ("P12", "340102", "2025-01-01", "2026-12-31", None, "terminated", None),
    ]
    return pl.DataFrame({
        "project_id": [r[0] for r in rows], "name": [f"事项{r[0]}" for r in rows], "domain": ["乡村振兴"] * len(rows),
        "region_code": [r[1] for r in rows], "lead_dept": ["农业农村局"] * len(rows),
        "start_date": [D(r[2]) for r in rows], "planned_end_date": [D(r[3]) for r in rows],
        "actual_end_date": [D(r[4]) if r[4] else None for r in rows], "status": [r[5] for r in rows],
        "budget_wan_yuan": [r[6] for r in rows], "priority": ["normal"] * len(rows),
    })


REPORTS = pl.DataFrame({
    "project_id": ["P1", "P1", "P2", "P3", "P5", "P6", "P10", "P1"],
    "report_date": [D("2026-05-31"), D("2026-06-28"), D("2026-06-28"), D("2026-06-28"), D("2026-06-28"),
                    D("2026-06-28"), D("2026-06-28"), D("2026-07-05")],  # the last is after the as-of date
    "planned_progress_pct": [45.0, 60.0, 50.0, 100.0, None, None, 30.0, 99.0],
    "actual_progress_pct": [40.0, 40.0, 45.0, 80.0, None, None, 30.0, 1.0],
    "budget_spent_wan_yuan": [50.0, 70.0, 90.0, None, None, None, None, 99.0],
    "forecast_end_date": [None, None, None, None, D("2027-01-31"), None, None, None],
    "rag": [None, None, None, None, "amber", "amber_red", None, "red"],
})
MILESTONES = pl.DataFrame({
    "project_id": ["P4"] * 3, "milestone_id": ["M1", "M2", "M3"], "name": ["方案", "施工", "验收"],
    "planned_date": [D("2026-03-31"), D("2026-06-15"), D("2026-09-30")],
    "actual_date": [D("2026-04-10"), None, None], "weight": [0.30, 0.25, 0.45],
})
RECTIFICATIONS = pl.DataFrame({
    "rectification_id": ["R1", "R2", "R3", "R4"], "region_code": ["340102", "340102", "340103", "110105"],
    "source": ["inspection"] * 4, "description": ["问题"] * 4, "responsible_dept": ["农业农村局"] * 4,
    "found_date": [D("2026-03-01"), D("2026-04-01"), D("2026-05-01"), D("2026-02-01")],
    "deadline": [D("2026-04-01"), D("2026-05-01"), D("2026-08-01"), D("2026-03-01")],
    "closed_date": [D("2026-03-20"), None, None, D("2026-03-08")],
    "status": ["closed", "in_progress", "open", "closed"], "is_relapse": [False, False, True, False],
})
FEEDBACK = pl.DataFrame({
    "feedback_id": ["F1", "F2", "F3", "F4", "F5"],
    "received_at": [datetime(2026, 6, 1, 9), datetime(2026, 6, 10, 9), datetime(2026, 6, 5), datetime(2026, 5, 1),
                    datetime(2026, 6, 20, 8)],
    "channel": ["hotline_12345", "hotline_12345", "rating", "enterprise", "rating"],
    "region_code": ["340102", "340102", "340103", "110105", "110105"],
    "domain": ["乡村振兴"] * 5, "satisfaction": [2, 4, 5, 3, 4],
    "is_complaint": [True, True, False, False, True],
    "responded_at": [datetime(2026, 6, 2, 8), datetime(2026, 6, 13, 9), None, None, datetime(2026, 6, 20, 18)],
    "is_resolved": [True, False, None, None, True],
})
POLICIES = pl.DataFrame({"policy_id": ["PL"], "name": ["乡村振兴实施意见"], "domain": ["乡村振兴"]})
INDICATORS = pl.DataFrame({"indicator_id": ["I1", "I2"], "name": ["农村公路通达率", "返贫发生率"], "policy_id": ["PL", "PL"],
                           "direction": ["higher_is_better", "lower_is_better"]})
INDICATOR_VALUES = pl.DataFrame({
    "indicator_id": ["I1", "I1", "I2", "I2", "I1"],
    "region_code": ["340000", "340100", "340000", "340000", "340000"],
    "period": ["2026-Q1", "2026-Q1", "2026-Q1", "2026-Q2", "2026-Q3"],  # Q3 ends after the as-of date
    "target_value": [100.0, 100.0, 5.0, 5.0, 100.0],
    "actual_value": [110.0, 90.0, 4.0, 5.0, 120.0],  # met, missed, met (lower), met (equal), out of window
})


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    c = store.connect(tmp_path_factory.mktemp("metrics") / "m.duckdb")
    store.create_schema(c)
    store.install_regions(c)
    for name, frame in [("policies", POLICIES), ("projects", _items()), ("progress_reports", REPORTS),
                        ("milestones", MILESTONES), ("rectifications", RECTIFICATIONS), ("feedback", FEEDBACK),
                        ("indicators", INDICATORS), ("indicator_values", INDICATOR_VALUES)]:
        store.write_table(c, name, frame)
    yield c
    c.close()


def test_each_item_gets_its_light_warning_and_rule(con):
    got = {r["project_id"]: (r["rule"], r["light"], r["warning"]) for r in queries.run(
        con, "item_lights", Filters(), as_of=AS_OF, **Thresholds().params()).iter_rows(named=True)}
    assert got == {
        "P1": ("progress", "yellow", "orange"), "P2": ("progress", "green", "blue"),
        "P3": ("overdue", "red", "red"), "P4": ("milestones", "red", "red"),
        "P5": ("forecast", "green", "blue"), "P6": ("rag", "red", "orange"),
        "P7": ("no_data", "none", "none"), "P10": ("progress", "green", "none"),
    }


def test_lags_and_days_late(con):
    rows = {r["project_id"]: r for r in queries.run(con, "item_lights", Filters(), as_of=AS_OF,
                                                    **Thresholds().params()).iter_rows(named=True)}
    assert rows["P1"]["lag_pp"] == 20.0  # the report after the as-of date is not seen
    assert rows["P4"]["lag_pp"] == pytest.approx(25.0)
    assert rows["P5"]["lag_pp"] == pytest.approx(31 / 364 * 100)
    assert rows["P3"]["days_late"] == 30
    # relative lag = (planned − actual) / planned, only where progress figures exist
    assert rows["P1"]["rel_lag"] == pytest.approx(20 / 60) and rows["P2"]["rel_lag"] == pytest.approx(5 / 50)
    assert rows["P3"]["rel_lag"] == pytest.approx(20 / 100) and rows["P10"]["rel_lag"] == 0
    assert rows["P4"]["rel_lag"] is None and rows["P5"]["rel_lag"] is None


def test_national_totals(con):
    t = metrics.totals(con, Selection(as_of=AS_OF))
    assert (t["n_in_flight"], t["n_lit"], t["n_red"], t["n_overdue"]) == (8, 7, 3, 1)
    assert t["red_share"] == pytest.approx(3 / 7)
    assert t["avg_lag_pp"] == pytest.approx((20 + 5 + 20 + 0) / 4)
    assert t["on_time_rate"] == 0.5  # P8 on time, P9 late
    assert t["budget_execution"] == pytest.approx(160 / 300)
    assert t["budget_gap_pp"] == pytest.approx(15.0)  # mean of +30 and 0
    assert t["rect_completion_rate"] == pytest.approx(2 / 3)  # R1, R4 closed of R1, R2, R4 due
    assert t["rect_overdue"] == 1  # R2
    assert t["avg_days_to_close"] == pytest.approx(27.0)  # R1 19 days, R4 35 days
    assert t["relapse_rate"] == 0.25
    assert t["avg_satisfaction"] == pytest.approx(3.6)
    assert t["satisfied_share"] == 0.6 and t["complaint_rate"] == 0.6
    assert t["answered_in_time"] == 0.5  # F1 (23 h), F5 (10 h) of F1, F2, F4, F5 needing an answer
    assert t["resolution_rate"] == pytest.approx(2 / 3)
    assert t["landing_rate"] == 0.75  # I2 lower-is-better met, I2 equal met, I1 missed in 合肥
    # one group, so shrinkage leaves each rate as it is:
    # 100 · (0.30·0.75 + 0.25·0.5 + 0.20·0.6 + 0.15·(1 − 15/100)) / 0.90
    assert t["index"] == pytest.approx(100 * (0.225 + 0.125 + 0.12 + 0.1275) / 0.9)


def test_provinces_and_a_municipality(con):
    table = {r["region_code"]: r for r in metrics.region_table(con, Selection(as_of=AS_OF), "province")
             .iter_rows(named=True)}
    assert set(table) == {"340000", "110000"}
    anhui, beijing = table["340000"], table["110000"]
    assert (anhui["n_in_flight"], anhui["n_lit"], anhui["n_red"]) == (6, 5, 2)  # P1–P4, P7, P10
    assert (beijing["n_in_flight"], beijing["n_red"], beijing["red_share"]) == (2, 1, 0.5)
    assert beijing["on_time_rate"] is None  # nothing completed there: no rate, not zero
    assert anhui["is_small"] and beijing["is_small"]  # fewer than min_n = 10 items


def test_province_level_items_stay_out_of_the_city_ranking(con):
    cities = metrics.region_table(con, Selection(filters=Filters(region_code="340000"), as_of=AS_OF), "city")
    assert cities["region_code"].to_list() == ["340100"]
    assert cities["n_in_flight"][0] == 5  # P1–P4 and P7; P10 is recorded at province level


def test_thresholds_are_parameters(con):
    strict = Thresholds(blue_pp=1, yellow_pp=4, orange_pp=6, red_pp=8)
    t = metrics.totals(con, Selection(as_of=AS_OF, thresholds=strict))
    assert t["n_red"] == 5  # P1 (20), P3, P4, P5 (8.52 > 8) and P6
    with pytest.raises(ValueError):
        Thresholds(yellow_pp=25)  # above red


def test_a_tiny_region_keeps_its_own_index_and_is_not_ranked():
    """Issue 17, point 3: the index is each region's own (once shrunk toward the regions compared, so a region had
    another value in every table); a region of few items is left unranked instead."""
    frame = pl.DataFrame({  # A: 2 of 2 on time with 2 items; B: 80 of 100 with 100 items; C: 9 of 10, 12 items
        "region_code": ["A", "B", "C"], "n_in_flight": [2, 100, 12], "n_on_time": [2, 80, 9],
        "n_completed": [2, 100, 10], "n_indicators_met": [0, 0, 0], "n_indicator_values": [0, 0, 0],
        "n_satisfied": [0, 0, 0], "n_rated": [0, 0, 0], "avg_budget_gap_pp": [None, None, None],
    }, schema_overrides={"avg_budget_gap_pp": pl.Float64})
    frame = frame.with_columns([pl.lit(None, pl.Float64).alias(m.column) for m in metrics.METRICS
                                if m.column and m.column not in frame.columns and m.key != "index"]
                               + [pl.lit(0).alias(c) for c in sorted({c for m in metrics.METRICS
                                                                       for c in (m.numerator, m.denominator)
                                                                       if c and c not in frame.columns})])
    out = metrics.add_metrics(frame, Thresholds(min_n=10), {"on_time_rate": 1.0})
    got = {r["region_code"]: r for r in out.iter_rows(named=True)}
    assert got["A"]["index"] == pytest.approx(100.0)  # 2 of 2
    assert got["B"]["index"] == pytest.approx(80.0)
    assert got["C"]["index"] == pytest.approx(90.0)
    # the same region alone (its own page) has the same index as in the table of its siblings
    alone = metrics.add_metrics(frame.filter(pl.col("region_code") == "C"), Thresholds(min_n=10), {"on_time_rate": 1.0})
    assert alone["index"][0] == pytest.approx(got["C"]["index"])
    assert got["A"]["is_small"] and got["A"]["rank"] is None  # raw 100% on 2 items: not ranked first
    assert (got["C"]["rank"], got["B"]["rank"]) == (1, 2)
    assert out["region_code"].to_list() == ["C", "B", "A"]  # ranked first, the small one after


def test_a_filter_that_matches_nothing_gives_no_totals(con):
    assert metrics.totals(con, Selection(filters=Filters(domains=("教育",)), as_of=AS_OF)) == {}


def test_scope_applies_to_metrics(con):
    t = metrics.totals(con, Selection(scope=Scope(region_codes=("110000",)), as_of=AS_OF))
    assert (t["n_in_flight"], t["n_feedback"], t["n_rect_due"]) == (2, 2, 1)  # Beijing only


def test_previous_period():
    assert metrics.previous(Filters(period="2026-Q1"), AS_OF) == (Filters(period="2025-Q4"), D("2025-12-31"))
    assert metrics.previous(Filters(period="2026-01"), AS_OF) == (Filters(period="2025-12"), D("2025-12-31"))
    assert metrics.previous(Filters(period="2026"), AS_OF) == (Filters(period="2025"), D("2025-12-31"))
    assert metrics.previous(Filters(), AS_OF) == (Filters(), D("2026-06-02"))


def test_every_metric_is_declared_completely():
    for m in metrics.METRICS:
        assert m.zh and m.en and m.formula_zh and m.formula_en and m.seed, m.key
        assert m.unit in {"share", "count", "pp", "days", "rating", "score"} and m.direction in {
            "higher_is_better", "lower_is_better"}
        assert bool(m.numerator) == bool(m.denominator) and (m.numerator or m.column)


def test_the_index_rests_on_the_items_in_flight_and_completed():
    """Issue 17, point 7: a region whose items had all finished showed its index with "n = 0" (items in flight):
    the index's n counts the items it speaks about, in flight and completed in the window."""
    frame = pl.DataFrame({"n_in_flight": [0, 3], "n_completed": [2, 0], "n_on_time": [1, 0],
                          "n_indicators_met": [None, None], "n_indicator_values": [None, None],
                          "n_satisfied": [None, None], "n_rated": [None, None], "avg_budget_gap_pp": [None, None]},
                         schema_overrides={c: pl.Int64 for c in ("n_indicators_met", "n_indicator_values",
                                                                 "n_satisfied", "n_rated")} | {
                             "avg_budget_gap_pp": pl.Float64})
    out = metrics.with_index(frame, metrics.DEFAULT_WEIGHTS)
    assert out["index"].to_list() == [50.0, None]  # one of two completed on time; nothing measurable for the other
    assert out["n_index"].to_list() == [2, 3]
    assert metrics.BY_KEY["index"].n_col == "n_index"
