"""Metric time series: every point is what the cockpit computes for that window, in one pass."""
from dataclasses import replace
from datetime import date

import polars as pl
import pytest

from analytics import metrics, series
from analytics.db import marts
from analytics.db import queries
from analytics.db import store
from analytics.filters import Filters
from analytics.db.queries import Scope

AS_OF = date(2026, 11, 22)
KEYS = tuple(m.key for m in metrics.METRICS)


@pytest.fixture()
def demo_con(demo_small_path):
    con = store.connect(demo_small_path, read_only=True)
    yield con
    con.close()


def _window_summary(con, sel, start, end, level, monkeypatch, label=None):
    """metrics.summarise for the window [start, end] as of `end`: the filter period itself for months and
    quarters; a week is not a filter period, so its bounds are put in for the run."""
    if label is not None and "-W" not in label:
        return metrics.summarise(con, replace(sel, filters=replace(sel.filters, period=label), as_of=end), level)
    with monkeypatch.context() as m:
        m.setattr(queries, "period_bounds", lambda period, as_of: (start, end))
        return metrics.summarise(con, replace(sel, as_of=end), level)


def _close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return a == pytest.approx(b, rel=1e-9, abs=1e-9)


def _point(frame, period, group=None):
    rows = frame.filter((pl.col("period") == period) & (pl.col("group").eq_missing(group)))
    assert rows.height == 1, (period, group, rows)
    return rows.row(0, named=True)


# ---- hand-worked values on the fixture (live path: the fixture has no mart) --------------------------

def test_red_share_by_month_on_the_fixture(fixture_con):
    sel = metrics.Selection(as_of=AS_OF)
    assert not series.has_mart(fixture_con, sel, "month", 3)
    s = series.metric_series(fixture_con, sel, "red_share", "month", 3)
    # Sep 30: A1 lag 10 (green), B1 due that day, lag 10 (green), A3 no data; Oct 31: B1 overdue (red);
    # Nov 22: A1 lag 15 (yellow), B1 red
    assert s["period"].to_list() == ["2026-09", "2026-10", "2026-11"]
    assert s["period_end"].to_list() == [date(2026, 9, 30), date(2026, 10, 31), AS_OF]
    assert s["value"].to_list() == [0.0, 0.5, 0.5] and s["n"].to_list() == [2, 2, 2]
    assert s["group"].to_list() == [None] * 3


def test_average_lag_and_weeks_on_the_fixture(fixture_con):
    sel = metrics.Selection(as_of=AS_OF)
    lag = series.metric_series(fixture_con, sel, "avg_lag_pp", "month", 2)
    assert lag["value"].to_list() == [12.5, 15.0]  # Oct: A1 70−60, B1 100−85; Nov: A1 90−75, B1 100−85
    weeks = series.metric_series(fixture_con, sel, "red_share", "week", 3)
    assert weeks["period"].to_list() == ["2026-W45", "2026-W46", "2026-W47"]
    assert weeks["period_start"].to_list() == [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    assert [d.weekday() for d in weeks["period_end"]] == [6, 6, 6]  # weeks end on Sundays
    assert weeks["value"][-1] == 0.5


def test_regions_domains_scope_and_filters_on_the_fixture(fixture_con):
    sel = metrics.Selection(as_of=AS_OF)
    by_region = series.metric_series(fixture_con, sel, "in_flight", "month", 1, by="region")
    assert dict(zip(by_region["group"], by_region["n"])) == {"110000": 1, "340000": 2}  # B1; A1 and A3
    only = series.metric_series(fixture_con, sel, "in_flight", "month", 1, by="region", groups=("340000", "410000"))
    assert only["group"].to_list() == ["340000", "410000"] and only["value"].to_list() == [2.0, None]
    with_total = series.metric_series(fixture_con, sel, "in_flight", "month", 1, by="region", groups=("340000",),
                                      include_total=True)
    assert with_total["group"].to_list() == [None, "340000"] and with_total["value"].to_list() == [3.0, 2.0]
    # October: F2 (乡村振兴, 5 points) is the only feedback; 民生保障 has an item but no feedback
    sat = series.metric_series(fixture_con, replace(sel, filters=Filters(period="2026-10")), "satisfied_share",
                               "month", 1, by="domain")
    assert dict(zip(sat["group"], sat["value"])) == {"乡村振兴": 1.0, "民生保障": None, "营商环境": None}
    anhui = metrics.Selection(scope=Scope(region_codes=("340000",)), as_of=AS_OF)
    assert series.metric_series(fixture_con, anhui, "in_flight", "month", 1)["value"].to_list() == [2.0]
    business = metrics.Selection(Filters(domains=("营商环境",)), as_of=AS_OF)
    assert series.metric_series(fixture_con, business, "in_flight", "month", 1)["value"].to_list() == [1.0]  # A3
    ended = metrics.Selection(Filters(period="2025-12"), as_of=AS_OF)  # the series ends at the period's end
    s = series.metric_series(fixture_con, ended, "on_time_rate", "quarter", 2)
    assert s["period"].to_list() == ["2025-Q3", "2025-Q4"] and s["value"].to_list() == [None, 1.0]  # A2 early


@pytest.mark.parametrize("grain,periods", [("month", 12), ("week", 8), ("quarter", 4)])
def test_fixture_points_equal_summarise(fixture_con, monkeypatch, grain, periods):
    sel = metrics.Selection(as_of=AS_OF)
    wide = series.panel(fixture_con, sel, KEYS, grain, periods)
    for label, start, end in series.windows(grain, AS_OF, periods):
        total, _ = _window_summary(fixture_con, sel, start, end, None, monkeypatch, label)
        for key in KEYS:
            got = series.as_series(wide, key).filter(pl.col("period") == label).row(0, named=True)
            assert _close(got["value"], total.get(key)), (label, key, got, total.get(key))


# ---- the generated demo (mart path) ---------------------------------------------------------------

@pytest.mark.parametrize("grain", ["month", "week", "quarter"])
def test_demo_totals_equal_summarise_for_every_metric(demo_con, monkeypatch, grain):
    sel = metrics.Selection(as_of=AS_OF)
    assert series.has_mart(demo_con, sel, grain, 4)
    wide = series.panel(demo_con, sel, KEYS, grain, 4)
    for label, start, end in series.windows(grain, AS_OF, 4):
        total, _ = _window_summary(demo_con, sel, start, end, None, monkeypatch, label)
        assert total["n_in_flight"] > 50
        for key in KEYS:
            m = metrics.BY_KEY[key]
            got = _point(series.as_series(wide, key), label)
            assert _close(got["value"], total[key]), (label, key)
            assert got["n"] == int(total[series.n_of(m)]), (label, key)


@pytest.mark.parametrize("grain,filters", [("month", Filters()), ("week", Filters(region_code="440000")),
                                           ("quarter", Filters(priorities=("key",)))])
def test_demo_regions_equal_the_region_table(demo_con, monkeypatch, grain, filters):
    sel = metrics.Selection(filters, as_of=AS_OF)
    level = "province" if filters.region_code is None else "city"
    wide = series.panel(demo_con, sel, KEYS, grain, 3, by="region", level=level)
    for label, start, end in series.windows(grain, AS_OF, 3):
        _, table = _window_summary(demo_con, sel, start, end, level, monkeypatch, label)
        assert table.height > 3
        for key in KEYS:
            got = series.as_series(wide, key, by="region")
            for row in table.iter_rows(named=True):
                point = _point(got, label, row["region_code"])
                assert _close(point["value"], row[key]), (label, key, row["region_code"], point, row[key])


@pytest.mark.parametrize("by,field", [("domain", "domains"), ("dept", "lead_depts")])
def test_demo_domains_and_departments_equal_the_filtered_cockpit(demo_con, monkeypatch, by, field):
    sel = metrics.Selection(as_of=AS_OF)
    wide = series.panel(demo_con, sel, KEYS, "month", 2, by=by)
    groups = sorted(g for g in wide["group"].unique().to_list() if g is not None)[:3]
    assert len(groups) == 3
    for label, start, end in series.windows("month", AS_OF, 2):
        for g in groups:
            narrowed = replace(sel, filters=replace(sel.filters, **{field: (g,)}))
            total, _ = _window_summary(demo_con, narrowed, start, end, None, monkeypatch, label)
            for key in KEYS:
                point = _point(series.as_series(wide, key, (g,), by=by), label, g)
                assert _close(point["value"], total[key]), (by, g, label, key)
    assert not series.splits("rect_completion_rate", "domain") and series.splits("satisfied_share", "domain")
    assert series.splits("red_share", "dept") and not series.splits("index", "dept")


def test_demo_live_and_mart_paths_agree(demo_con, monkeypatch):
    sel = metrics.Selection(Filters(region_code="440000"), as_of=AS_OF)
    mart = series.panel(demo_con, sel, ("red_share", "index", "avg_lag_pp"), "week", 6, by="region")
    monkeypatch.setattr(marts, "has_snapshots", lambda con, dates: False)
    live = series.panel(demo_con, sel, ("red_share", "index", "avg_lag_pp"), "week", 6, by="region")
    key = ["period", "group"]
    assert mart.height > 6
    assert mart.sort(key, nulls_last=True).with_columns(pl.selectors.float().round(9)).equals(
        live.sort(key, nulls_last=True).with_columns(pl.selectors.float().round(9)))


# ---- arguments -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,message", [
    ({"metric": "nope"}, "metric"), ({"grain": "day"}, "grain"), ({"n_periods": 0}, "n_periods"),
    ({"n_periods": 157}, "n_periods"), ({"n_periods": 2.5}, "n_periods"), ({"by": "policy"}, "by"),
    ({"by": "region", "level": "country"}, "level"), ({"by": "domain", "level": "city"}, "level"),
    ({"by": "region", "level": "town"}, "level"),
])
def test_bad_arguments_are_refused_clearly(fixture_con, kwargs, message):
    args = {"metric": "red_share"} | kwargs
    with pytest.raises(ValueError, match=message):
        series.metric_series(fixture_con, metrics.Selection(as_of=AS_OF), **args)


def test_windows():
    assert series.windows("quarter", date(2026, 1, 10), 2) == [
        ("2025-Q4", date(2025, 10, 1), date(2025, 12, 31)), ("2026-Q1", date(2026, 1, 1), date(2026, 1, 10))]
    assert series.windows("week", date(2027, 1, 3), 1) == [("2026-W53", date(2026, 12, 28), date(2027, 1, 3))]
    assert [w[0] for w in series.windows("month", date(2026, 2, 1), 3)] == ["2025-12", "2026-01", "2026-02"]
