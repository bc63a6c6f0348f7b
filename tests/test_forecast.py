"""Finish-date forecasts (analytics/risk/forecast.py): the track record's rows, the quantiles, the holdout's
coverage by hand, honest intervals on the small demo, and one value on the risk table and the item page."""
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from analytics.db import store
from analytics.risk import features as F
from analytics.risk import forecast as FC

D0 = date(2026, 1, 1)


def _snaps(rows):
    """(project_id, snapshot_date, days_to_finish or None) → a snapshot frame as `_with_outcomes` makes it."""
    return pl.DataFrame(rows, schema={"project_id": pl.Utf8, "snapshot_date": pl.Date, "days_to_finish": pl.Int64},
                        orient="row")


def test_pairs_label_only_what_was_observed():
    observed_to = D0 + timedelta(days=100)
    snaps = _snaps([("A", D0, 40),                           # finished 40 days after the snapshot
                    ("B", D0, None),                         # still open at observed_to
                    ("C", D0, 150),                          # finished after observed_to: not known then
                    ("D", observed_to - timedelta(days=3), None)])  # 3 days watched: nothing known yet
    rows = FC.pairs(snaps, observed_to, draws=50)
    assert set(rows["project_id"]) == {"A", "B", "C"}  # D is left out
    assert rows.height == 150
    assert rows["k"].min() >= FC.MIN_DAYS and rows["k"].max() <= 100  # never beyond what was watched
    a = rows.filter(pl.col("project_id") == "A")
    assert (a["finished"] == (a["k"] >= 40).cast(pl.Int8)).all() and a["finished"].sum() > 0
    assert rows.filter(pl.col("project_id") != "A")["finished"].sum() == 0  # open, or finished only later
    assert FC.pairs(snaps, observed_to, draws=50, max_rows=20).height == 20
    again = FC.pairs(snaps, observed_to, draws=50)
    assert again.equals(rows)  # seeded: the same rows in every run


def test_coverage_counted_by_hand():
    as_of = D0 + timedelta(days=200)
    d = lambda n: D0 + timedelta(days=n)  # noqa: E731
    test = pl.DataFrame({
        "project_id": ["A", "B", "C", "D", "E"],
        "domain": ["x", "x", "y", "y", "y"],
        "p50_date": [d(10), d(20), d(30), d(300), d(40)],  # D's is after the as-of date: not judged
        "p50_beyond": [False, False, False, False, True],  # E's is a lower bound: not judged
        "p80_date": [d(20), d(40), d(60), d(400), d(40)],
        "p80_beyond": [False, False, False, False, True],
        "expected_end": [d(5), d(50), d(20), d(100), None],
        "actual_end_date": [d(15), d(35), None, d(350), None],
    })
    cov = FC.coverage(test, as_of)
    assert cov["p50"]["n"] == 3 and cov["p50"]["share"] == pytest.approx(0 / 3)          # A 15>10, B 35>20, C open
    assert cov["p80"]["n"] == 3 and cov["p80"]["share"] == pytest.approx(2 / 3)          # A 15<=20, B 35<=40
    assert cov["reported"]["n"] == 4 and cov["reported"]["share"] == pytest.approx(1 / 4)  # B 35<=50 only
    assert cov["p80"]["by_domain"]["x"]["share"] == 1.0 and cov["p80"]["by_domain"]["y"]["share"] == 0.0
    assert cov["p80"]["low"] <= cov["p80"]["share"] <= cov["p80"]["high"]


def test_calibrated_p80_level_is_never_below_p50s(monkeypatch):
    """Thin data (GMPP, 2016): P50's search reaches its nominal share only at level 0.845, P80's runs out of judged
    rows first. P80 must not fall back below P50's level, or its date would come before the P50 date."""
    f_watched = np.r_[np.full(40, 0.9), np.full(60, 0.1)]     # 40 rows judged up to level 0.9, none above
    f_before = np.r_[np.full(20, 0.84), np.full(20, 0.99), np.full(60, np.nan)]  # half met from level 0.845
    monkeypatch.setattr(FC, "conformity", lambda model, snaps, as_of: (f_watched, f_before))
    levels = FC.calibrate(None, None, D0)
    assert levels == {"p50": pytest.approx(0.845), "p80": pytest.approx(0.845)}


@pytest.fixture(scope="module")
def trained(demo_small_path):
    con = store.connect(demo_small_path, read_only=True)
    try:
        model = FC.train_with_card(con)
        feats = F.features(con, F.data_as_of(con)[0])
    finally:
        con.close()
    return model, feats


def test_quantiles_are_the_first_day_the_curve_reaches_the_level(trained):
    model, feats = trained
    part = feats.head(60)
    x = FC._design(model, part)
    curve = FC.cdf(model, part, np.linspace(0, model.max_days, 40))
    assert (np.diff(curve, axis=1) >= -1e-12).all()  # F rises with the horizon (the monotonic constraint)
    for level in (*FC.LEVELS, 0.63):
        q, beyond = FC.quantile_days(model, x, level)
        at_q, before_q = FC._f(model, x, q), FC._f(model, x, np.maximum(q - 1, 0))
        assert (beyond == (FC._f(model, x, np.full(len(q), model.max_days)) < level)).all()
        assert (q[beyond] == model.max_days).all()
        inside = ~beyond
        assert (at_q[inside] >= level).all()  # reached on day q …
        assert ((before_q[inside] < level) | (q[inside] == 0)).all()  # … and not the day before
    out = FC.predict(model, part)
    assert (out["p50_date"] <= out["p80_date"]).all() and (out["p50_date"] >= part["snapshot_date"]).all()
    past = (part["days_to_planned_end"] < 0).to_numpy()
    assert (out["p_by_deadline"].to_numpy()[past] == 0).all()  # a deadline gone by is not met any more
    ahead = np.flatnonzero(~past & part["days_to_planned_end"].is_not_null().to_numpy())
    i = ahead[0]
    assert out["p_by_deadline"][int(i)] == pytest.approx(
        float(FC.cdf(model, part[int(i)], [part["days_to_planned_end"][int(i)]])[0, 0]))


def test_intervals_are_honest_on_the_holdout(trained):
    """Issue 21: of the items in flight after the cutoff, about half finish by their P50 date and four in five by
    their P80 date (the small demo: a few hundred items, so the band is wider than scale 1's ±5 points)."""
    e = trained[0].extra["evaluation"]
    cov = e["coverage"]
    assert cov["p80"]["n_items"] > 50 and cov["p50"]["n_items"] > 50
    assert 0.70 <= cov["p80"]["share"] <= 0.90 and 0.40 <= cov["p50"]["share"] <= 0.60
    assert trained[0].extra["levels"] == e["levels"]  # the pages' dates read the levels the holdout chose
    assert cov["p80"]["low"] <= cov["p80"]["share"] <= cov["p80"]["high"]
    assert cov["p50"]["share"] < cov["p80"]["share"]
    assert date.fromisoformat(str(e["cutoff"])) < e["data_as_of"]


def test_no_finished_item_no_forecast():
    snaps = _snaps([("A", D0, None), ("B", D0, None)])
    with pytest.raises(ValueError, match="no finished item"):
        FC.fit(FC.pairs(snaps.with_columns(pl.lit(1.0).alias("elapsed_share")), D0 + timedelta(days=90)),
               D0 + timedelta(days=90))


def test_s_curve_counted_by_hand():
    """The portfolio S-curve over a fixed population: plan, expected (sum of the curves), 50 % / 80 % sure."""
    from analytics.pages.risk import s_curve

    d = lambda n: D0 + timedelta(days=n)  # noqa: E731
    items = pl.DataFrame({
        "project_id": ["A", "B", "C"], "planned_end_date": [d(10), d(30), None],
        "p50_date": [d(14), d(28), d(42)], "p50_beyond": [False, False, True],
        "p80_date": [d(28), d(42), d(42)], "p80_beyond": [False, False, True], "as_of": [D0] * 3})
    curves = pl.DataFrame({"project_id": ["A", "B", "C"],
                           "finish_curve": [[0.0, 0.6, 0.9, 1.0], [0.0, 0.1, 0.5, 0.8], [0.0, 0.0, 0.0, 0.2]]})
    out = s_curve(items, curves, 14)
    assert out["date"].to_list() == [d(0), d(14), d(28), d(42)]
    assert out["planned"].to_list() == [0, 1, 1, 2]
    assert out["expected"].to_list() == pytest.approx([0.0, 0.7, 1.4, 2.0])
    assert out["sure50"].to_list() == [0, 1, 2, 2]  # C's 50 % date is a lower bound: never counted
    assert out["sure80"].to_list() == [0, 0, 1, 2]
    assert set(out["n"]) == {3}
    # it stops once 99 % are expected finished
    done = curves.with_columns(pl.lit([0.0, 1.0, 1.0, 1.0]).alias("finish_curve"))
    assert s_curve(items, done, 14).height == 2
