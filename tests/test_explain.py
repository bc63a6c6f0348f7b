"""Why the red share changed (analytics/explain.py, issue 21): each item's contribution, adding up to the change
exactly, against a brute-force recomputation with exact fractions, on hand-made and random item lists; on the
fixture the change explained is the cockpit card's change, for several selections; the CLI prints the same."""
from __future__ import annotations

import json
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest

from analytics import explain, i18n, metrics
from analytics.filters import Filters
from analytics.pages import cockpit
from tests import fixture_db

ROOT = Path(__file__).resolve().parents[1]
DEMO_AS_OF = fixture_db.AS_OF  # the small demo's as-of date (tests/conftest.py: demo_small_path) is the fixture's


def _items(pairs: dict[str, bool]) -> pl.DataFrame:
    return pl.DataFrame({"project_id": list(pairs), "red": list(pairs.values()),
                         "region_code": ["r" + k[0] for k in pairs]}, schema={"project_id": pl.Utf8,
                                                                              "red": pl.Boolean,
                                                                              "region_code": pl.Utf8})


def _exact(before: dict[str, bool], after: dict[str, bool]) -> Fraction:
    share = lambda d: Fraction(sum(d.values()), len(d)) if d else Fraction(0)  # noqa: E731
    return share(after) - share(before)


def test_a_hand_made_change_splits_into_items_that_turned_left_and_entered():
    # before: a1 red, a2 red, a3 not, x1 red (4 lit, 3 red: 75%); after: a1 red, a2 not, a3 red, e1 red, e2 not
    before = {"a1": True, "a2": True, "a3": False, "x1": True}
    after = {"a1": True, "a2": False, "a3": True, "e1": True, "e2": False}
    out = explain.decompose(_items(before), _items(after)).sort("project_id")
    by_id = {r["project_id"]: r for r in out.iter_rows(named=True)}
    assert {k: r["kind"] for k, r in by_id.items()} == {
        "a1": "stayed", "a2": "left_red", "a3": "turned_red", "e1": "entered", "e2": "entered", "x1": "left"}
    # continuing 3 items: 2 red then, 2 red now; N0 = 4, N1 = 5
    assert by_id["a1"]["contribution"] == 0
    assert by_id["a3"]["contribution"] == pytest.approx(1 / 3) and by_id["a2"]["contribution"] == pytest.approx(-1 / 3)
    assert by_id["e1"]["contribution"] == pytest.approx((1 - 2 / 3) / 5)
    assert by_id["e2"]["contribution"] == pytest.approx((0 - 2 / 3) / 5)
    assert by_id["x1"]["contribution"] == pytest.approx((2 / 3 - 1) / 4)
    assert out["contribution"].sum() == pytest.approx(float(_exact(before, after)), abs=1e-15)  # 3/5 − 3/4


@pytest.mark.parametrize("seed", range(40))
def test_contributions_add_up_to_the_change_on_random_item_lists(seed):
    rng = random.Random(seed)
    ids = [f"{rng.choice('abc')}{i}" for i in range(rng.randint(1, 60))]
    before = {i: rng.random() < 0.3 for i in ids if rng.random() < 0.7}
    after = {i: rng.random() < 0.3 for i in ids if rng.random() < 0.7}
    if not before or not after:
        before, after = before or {"z": True}, after or {"z": False}
    out = explain.decompose(_items(before), _items(after))
    assert out["contribution"].sum() == pytest.approx(float(_exact(before, after)), abs=1e-12)
    # any grouping sums to the same: by the region each item carries, and by kind
    by_region = out.group_by("region_code").agg(pl.col("contribution").sum())
    assert by_region["contribution"].sum() == pytest.approx(float(_exact(before, after)), abs=1e-12)
    assert set(out["kind"]) <= {"stayed", *explain.KINDS}


def test_no_continuing_item_is_all_entries_and_exits():
    before, after = {"x1": True, "x2": False}, {"e1": True, "e2": True, "e3": False}
    out = explain.decompose(_items(before), _items(after))
    assert out["contribution"].sum() == pytest.approx(float(_exact(before, after)))
    assert set(out["kind"]) == {"entered", "left"}


@pytest.fixture(scope="module")
def demo_con(demo_small_path):
    """The small demo (its red share moves between the comparison date and now; the fixture's does not)."""
    from analytics.db import store

    con = store.connect(demo_small_path, read_only=True)
    yield con
    con.close()


SELECTIONS = [Filters(), Filters(region_code="340000"), Filters(period="2026-Q3"), Filters(period="2026-11"),
              Filters(domains=("乡村振兴",)), Filters(region_code="440000", priorities=("key",))]


@pytest.mark.parametrize("filters", SELECTIONS)
def test_the_change_explained_is_the_cockpit_cards_change(demo_con, filters):
    sel = metrics.Selection(filters=filters, as_of=DEMO_AS_OF)
    card = next(k for k in cockpit.summary(demo_con, sel).kpis if k.metric.key == "red_share")
    e = explain.red_share(demo_con, sel)
    assert e.after == pytest.approx(card.value) and e.before == pytest.approx(card.previous)
    assert e.change is not None
    assert e.items["contribution"].sum() == pytest.approx(card.change, abs=1e-12)
    for key in ("child_name", "lead_dept", "domain", "priority", "kind"):
        assert e.by(key)["contribution"].sum() == pytest.approx(card.change, abs=1e-12), key


def test_the_national_change_on_the_demo_moves_and_matches_a_recount(demo_con):
    """Brute force: the two item lists read again, the red shares recounted in exact fractions, and every
    contribution recomputed from its definition."""
    from analytics.db import queries

    sel = metrics.Selection(filters=Filters(), as_of=DEMO_AS_OF)
    e = explain.red_share(demo_con, sel)
    prev_filters, prev_as_of = metrics.previous(sel.filters, sel.as_of)
    lists = []
    for f, d in ((prev_filters, prev_as_of), (sel.filters, sel.as_of)):
        rows = queries.run(demo_con, "item_lights", f, as_of=d, **sel.thresholds.params())
        lists.append({r["project_id"]: r["light"] == "red" for r in rows.iter_rows(named=True)
                      if r["light"] in ("red", "yellow", "green")})
    before, after = lists
    assert e.before == pytest.approx(float(Fraction(sum(before.values()), len(before))))
    assert e.after == pytest.approx(float(Fraction(sum(after.values()), len(after))))
    both = before.keys() & after.keys()
    nc, rc0, rc1 = len(both), sum(before[k] for k in both), sum(after[k] for k in both)
    expected = {k: Fraction(after[k] - before[k], nc) for k in both}
    expected |= {k: (after[k] - Fraction(rc1, nc)) / len(after) for k in after.keys() - both}
    expected |= {k: (Fraction(rc0, nc) - before[k]) / len(before) for k in before.keys() - both}
    got = dict(zip(e.items["project_id"], e.items["contribution"]))
    assert got.keys() == expected.keys()
    assert all(got[k] == pytest.approx(float(v), abs=1e-15) for k, v in expected.items())
    assert sum(expected.values()) == _exact(before, after) and e.change != 0


@pytest.mark.parametrize("values,total", [([3.26, -0.67, -0.32, -2.52], -0.2), ([0.05, 0.05, 0.05], 0.2),
                                          ([0.333, 0.333, 0.334], 1.0), ([-0.06, -0.06], -0.1)])
def test_parts_are_rounded_to_add_up_to_the_rounded_total(values, total):
    parts = explain.rounded_parts(values, total)
    assert round(sum(parts), 1) == total and all(abs(p - v) < 0.1 + 1e-9 for p, v in zip(parts, values))


def test_the_sentence_adds_up_on_screen(demo_con):
    e = explain.red_share(demo_con, metrics.Selection(filters=Filters(), as_of=DEMO_AS_OF))
    text = explain.summary(e, "zh")
    assert text.startswith("红灯占比较") and f"{explain.pp(e.change):+.1f} 个百分点" in text
    import re

    kinds = text.split("：", 1)[1].split("。变化最大的地区")[0]
    parts = [float(x) for x in re.findall(r" ([+-]\d+\.\d)(?=；|。|$)", kinds)]
    assert len(parts) == e.by("kind").height and round(sum(parts), 1) == explain.pp(e.change)  # adds up on screen
    assert explain.summary(e, "en").startswith("Red share ")


def test_the_command_line_explains_in_json(demo_small_path, fixture_path):
    out = subprocess.run([sys.executable, "-m", "analytics", "explain", "--db", str(demo_small_path), "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["metric"] == "red_share" and doc["compared_with"] < doc["as_of"]
    assert doc["change"] is not None and doc["change"] != 0
    if doc["change"] is not None:
        for dim in ("region", "kind", "lead_dept", "domain", "priority"):
            assert sum(p["contribution"] for p in doc["by"][dim]) == pytest.approx(doc["change"], abs=1e-12), dim
    bad = subprocess.run([sys.executable, "-m", "analytics", "explain", "--db", str(fixture_path), "--region",
                          "999999"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "no such region" in bad.stderr


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_cockpit_says_why_the_red_share_changed(app_env, fixture_path, lang):
    """Under the cards: the sentence (the same as the CLI's), and the breakdown whose contributions add up to the
    card's change."""
    from analytics.db import store
    from tests.app_pages import open_page

    at = open_page("cockpit", lang)
    con = store.connect(fixture_path, read_only=True)
    try:
        e = explain.red_share(con, metrics.Selection(filters=Filters(), as_of=fixture_db.AS_OF))
    finally:
        con.close()
    text = " ".join(m.value for m in at.markdown)
    if e.change is None:
        return
    assert explain.summary(e, lang) in text.replace("\\", "")  # md_escape may add backslashes before + - . ( )
    col = "贡献（个百分点）" if lang == "zh" else "Contribution (pp)"
    assert not any(col in d.value.columns for d in at.dataframe)  # nothing moved on the fixture: nothing to take apart


def test_robust_z_by_hand():
    history = [0.0, 0.01, -0.01, 0.02, -0.02, 0.0, 0.01, -0.01]  # median 0, |deviations| median 0.01
    z, med, mad = explain.robust_z(0.05, history)
    assert med == 0 and mad == pytest.approx(0.01) and z == pytest.approx(0.6745 * 0.05 / 0.01)
    assert explain.robust_z(0.05, history[:7])[0] is None  # too little history to judge
    assert explain.robust_z(0.05, [0.0] * 10)[0] is None  # a history that never moved: no scale to judge by


def test_unusual_regions_on_the_demo_match_a_recomputation(demo_con):
    """Each region's change is the cockpit's (its own red share now and at the comparison date), and its z is
    recomputed here from the same weekly series: four-week changes of windows ending by the comparison date."""
    from analytics import series

    sel = metrics.Selection(filters=Filters(), as_of=DEMO_AS_OF)
    odd = explain.unusual_regions(demo_con, sel)
    assert odd.height > 0 and (odd["n_history"] >= explain.MIN_HISTORY).all()
    _, now = metrics.summarise(demo_con, sel, "province")
    prev_filters, prev_as_of = metrics.previous(sel.filters, sel.as_of)
    _, before = metrics.summarise(demo_con, metrics.Selection(filters=prev_filters, as_of=prev_as_of), "province")
    hist = series.metric_series(demo_con, sel, "red_share", "week", 34, by="region", level="province")
    for r in odd.head(3).iter_rows(named=True):
        a = now.filter(pl.col("region_code") == r["region_code"])["red_share"][0]
        b = before.filter(pl.col("region_code") == r["region_code"])["red_share"][0]
        assert r["change"] == pytest.approx(a - b)
        pts = hist.filter((pl.col("group") == r["region_code"]) & (pl.col("period_end") <= prev_as_of)
                          & (pl.col("n") >= sel.thresholds.min_n) & pl.col("value").is_not_null()).sort("period_end")
        v = pts["value"].to_list()
        changes = [y - x for x, y in zip(v, v[4:])]
        assert len(changes) == r["n_history"]
        assert r["z"] == pytest.approx(explain.robust_z(a - b, changes)[0])
    assert explain.unusual_regions(demo_con, metrics.Selection(filters=Filters(period="2026"), as_of=DEMO_AS_OF)).is_empty()


def test_the_cockpit_takes_the_change_apart_on_the_demo(demo_small_path, monkeypatch):
    """On a history where the red share moves: the breakdown's contributions add up to the card's change, and the
    regions flagged as unusual are the ones analytics/explain.py flags."""
    from tests.app_pages import open_page

    monkeypatch.setenv("COCKPIT_DB", str(demo_small_path))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    at = open_page("cockpit", "en")
    from analytics.db import store

    con = store.connect(demo_small_path, read_only=True)
    try:
        sel = metrics.Selection(filters=Filters(), as_of=DEMO_AS_OF)
        e = explain.red_share(con, sel)
        odd = explain.unusual_regions(con, sel).filter(pl.col("z").abs() >= explain.UNUSUAL_Z)
    finally:
        con.close()
    parts = next(d.value for d in at.dataframe if "Contribution (pp)" in d.value.columns)
    assert parts["Contribution (pp)"].sum() == pytest.approx(100 * e.change, abs=0.005 * len(parts))
    text = " ".join(m.value for m in at.markdown)
    assert ("Unusual changes" in text) == (odd.height > 0)
    rates = next(d.value for d in at.dataframe if "Rate effect (pp)" in d.value.columns)  # on-time rate, the default
    assert rates["Contribution (pp)"].sum() == pytest.approx(100 * _on_time_change(demo_small_path),
                                                             abs=0.005 * len(rates))



def test_a_click_on_a_card_opens_its_own_breakdown(demo_small_path, monkeypatch):
    """Issue 21: beside each card whose change can be taken apart, a button opens that card's breakdown, which adds up
    to the card's change: the overdue count item by item, a rate by region."""
    from tests.app_pages import open_page

    monkeypatch.setenv("COCKPIT_DB", str(demo_small_path))
    monkeypatch.setenv("COCKPIT_DB_WRITABLE", "0")
    at = open_page("cockpit", "en")
    keys = {b.key for b in at.button}
    assert {"why_red_share", "why_overdue", "why_on_time_rate", "why_index"} <= keys
    from analytics.db import store

    con = store.connect(demo_small_path, read_only=True)
    try:
        sel = metrics.Selection(filters=Filters(), as_of=DEMO_AS_OF)
        late = explain.overdue(con, sel)
    finally:
        con.close()
    before = len(at.dataframe)
    at.button(key="why_overdue").click().run()
    assert not at.exception, [e.value for e in at.exception]
    parts = next(d.value for d in at.dataframe[before - 1:] if "Contribution (items)" in d.value.columns)
    assert parts["Contribution (items)"].sum() == late.after - late.before
    text = " ".join(m.value for m in at.markdown).replace("\\", "")  # markdown escapes "+" and "."
    assert f"Overdue items {int(late.after - late.before):+,d} vs" in text
    at.button(key="why_index").click().run()
    assert not at.exception, [e.value for e in at.exception]
    con = store.connect(demo_small_path, read_only=True)
    try:
        ic = explain.index_change(con, sel)
    finally:
        con.close()
    points = next(d.value for d in at.dataframe if "Contribution (index points)" in d.value.columns)
    assert points["Contribution (index points)"].sum() == pytest.approx(ic.change, abs=0.005 * len(points))
    at.button(key="why_on_time_rate").click().run()
    rates = [d.value for d in at.dataframe if "Rate effect (pp)" in d.value.columns]
    assert rates and all(r["Contribution (pp)"].sum() == pytest.approx(100 * _on_time_change(demo_small_path),
                                                                       abs=0.005 * len(r)) for r in rates)


@pytest.mark.parametrize("key,region", [("on_time_rate", None), ("rect_completion_rate", None),
                                        ("satisfied_share", None), ("answered_in_time", None), ("landing_rate", None),
                                        ("red_share", None), ("on_time_rate", "340000"), ("red_share", "340000")])
def test_a_rates_change_splits_over_regions_into_rate_and_mix_adding_up_to_the_card(demo_con, key, region):
    sel = metrics.Selection(filters=Filters(region_code=region), as_of=DEMO_AS_OF)
    card = next(k for k in cockpit.summary(demo_con, sel).kpis if k.metric.key == key)
    r = explain.ratio_by_region(demo_con, sel, key)
    assert r.after == pytest.approx(card.value) and r.before == pytest.approx(card.previous)
    assert r.regions["contribution"].sum() == pytest.approx(card.change, abs=1e-12)
    assert ((r.regions["rate"] + r.regions["mix"] - r.regions["contribution"]).abs() < 1e-15).all()
    total, _ = metrics.summarise(demo_con, sel, "province" if region is None else "city")
    assert r.regions["den1"].sum() == pytest.approx(float(total[metrics.BY_KEY[key].denominator]))  # nothing lost


def test_rate_and_mix_by_hand():
    """Two regions: A 8 of 10 then 9 of 10; B 1 of 10 then 6 of 30. Rate 45% → 37.5%."""
    w0, w1 = (0.5, 0.5), (0.25, 0.75)
    r0, r1 = (0.8, 0.1), (0.9, 0.2)
    rate = [(a + b) / 2 * (y - x) for a, b, x, y in zip(w0, w1, r0, r1)]
    mix = [(x + y) / 2 * (b - a) for a, b, x, y in zip(w0, w1, r0, r1)]
    assert sum(rate) + sum(mix) == pytest.approx((9 + 6) / 40 - (8 + 1) / 20)
    assert rate[0] == pytest.approx(0.0375) and mix[0] == pytest.approx(-0.2125)  # A: better rate, less weight


def test_the_command_line_splits_a_rate(demo_small_path):
    out = subprocess.run([sys.executable, "-m", "analytics", "explain", "--db", str(demo_small_path), "--metric",
                          "on_time_rate", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert sum(r["contribution"] for r in doc["regions"]) == pytest.approx(doc["change"], abs=1e-12)


def _on_time_change(path) -> float:
    from analytics.db import store

    con = store.connect(path, read_only=True)
    try:
        sel = metrics.Selection(filters=Filters(), as_of=DEMO_AS_OF)
        return next(k for k in cockpit.summary(con, sel).kpis if k.metric.key == "on_time_rate").change
    finally:
        con.close()



@pytest.mark.parametrize("filters", [Filters(), Filters(region_code="340000"), Filters(period="2026-11")])
def test_the_overdue_change_is_the_cards_item_by_item(demo_con, filters):
    sel = metrics.Selection(filters=filters, as_of=DEMO_AS_OF)
    card = next(k for k in cockpit.summary(demo_con, sel).kpis if k.metric.key == "overdue")
    e = explain.overdue(demo_con, sel)
    assert (e.before, e.after) == (card.previous, card.value)
    assert e.items["contribution"].sum() == card.change
    assert set(e.items["kind"]) <= set(explain.COUNT_KINDS)
    assert (e.items.filter(pl.col("kind") == "became_overdue")["contribution"] == 1).all()
    for key in ("child_name", "lead_dept", "kind"):
        assert e.by(key)["contribution"].sum() == card.change
    text = explain.overdue_summary(e, "zh")
    assert text.startswith("逾期事项较") and f"{int(card.change):+,d} 项" in text



def test_the_command_line_explains_overdue(demo_small_path):
    out = subprocess.run([sys.executable, "-m", "analytics", "explain", "--db", str(demo_small_path), "--metric",
                          "overdue", "--json"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert sum(p["contribution"] for p in doc["by"]["kind"]) == doc["change"] == doc["after"] - doc["before"]


def test_the_index_change_splits_over_its_components_by_hand():
    """Index = 100 × Σ w·s / Σ w over the components with data; each component adds its points now minus then, so a
    component that appears renormalises the others and the parts still add up."""
    from analytics.explain import Summaries

    w = {"landing_rate": 0.3, "on_time_rate": 0.25, "satisfied_share": 0.2, "budget_alignment": 0.15}
    then = {"landing_rate_adj": 0.5, "on_time_rate_adj": 0.4, "satisfied_share_adj": None, "budget_alignment_adj": 1.0}
    now = {"landing_rate_adj": 0.5, "on_time_rate_adj": 0.6, "satisfied_share_adj": 0.8, "budget_alignment_adj": 1.0}
    sums = Summaries(None, DEMO_AS_OF, then, pl.DataFrame(), now, pl.DataFrame())
    ic = explain.index_change(None, metrics.Selection(as_of=DEMO_AS_OF), w, sums=sums)
    before = 100 * (0.3 * 0.5 + 0.25 * 0.4 + 0.15 * 1.0) / 0.7
    after = 100 * (0.3 * 0.5 + 0.25 * 0.6 + 0.2 * 0.8 + 0.15 * 1.0) / 0.9
    assert ic.before == pytest.approx(before) and ic.after == pytest.approx(after)
    parts = dict(zip(ic.parts["component"], ic.parts["contribution"]))
    assert parts["satisfied_share"] == pytest.approx(100 * 0.2 * 0.8 / 0.9)  # appeared: its whole term
    assert parts["landing_rate"] == pytest.approx(100 * 0.3 * 0.5 * (1 / 0.9 - 1 / 0.7))  # same score, less weight
    assert sum(parts.values()) == pytest.approx(after - before, abs=1e-12)


@pytest.mark.parametrize("region", [None, "340000"])
def test_the_index_change_is_the_cockpit_cards(demo_con, region):
    from analytics.pages import cockpit

    sel = metrics.Selection(filters=Filters(region_code=region), as_of=DEMO_AS_OF)
    card = next(k for k in cockpit.summary(demo_con, sel).kpis if k.metric.key == "index")
    ic = explain.index_change(demo_con, sel)
    assert ic.after == pytest.approx(card.value, abs=1e-9) and ic.change == pytest.approx(card.change, abs=1e-9)
    assert ic.parts["contribution"].sum() == pytest.approx(card.change, abs=1e-9)
    text = explain.index_summary(ic, "zh")
    assert text.startswith(f"执行综合指数较") and f"{round(card.change, 1):+.1f}" in text


def test_all_weights_zero_keeps_the_index_and_says_so(app_env):
    """Weights that weigh nothing leave the index nothing to average: the cockpit keeps the weights in use and says so
    (once an interrupted rerun reset the inputs to 0 and the cockpit failed on a sum of nothing)."""
    from tests.app_pages import open_page

    at = open_page("cockpit", "en")
    index = lambda: next(m.value for m in at.metric if m.label == "Execution index")  # noqa: E731
    *first, last = metrics.DEFAULT_WEIGHTS
    for key in first:  # some weights at 0 is a choice: the others carry the index
        at.number_input(key=f"w_{key}").set_value(0.0).run()
        assert not at.exception, [e.value for e in at.exception]
    assert not at.error
    shown = index()
    at.number_input(key=f"w_{last}").set_value(0.0).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("cannot all be 0" in e.value for e in at.error)
    assert index() == shown  # the weights in use are kept
    frame = metrics.with_index(pl.DataFrame({"avg_budget_gap_pp": [5.0], "n_in_flight": [3], "n_completed": [1],
                                             **{f"n_{x}": [1] for x in ("indicators_met", "indicator_values", "on_time",
                                                                         "satisfied", "rated")}}),
                               {k: 0.0 for k in metrics.DEFAULT_WEIGHTS})
    assert frame["index"][0] is None


def _explanation(rows: list[tuple]) -> explain.Explanation:
    """An explanation by hand: (child_name, domain, kind, contribution) per item."""
    items = pl.DataFrame(rows, schema={"child_name": pl.Utf8, "domain": pl.Utf8, "kind": pl.Utf8,
                                       "contribution": pl.Float64}, orient="row")
    total = float(items["contribution"].sum())
    return explain.Explanation(0.1, 0.1 + total, DEMO_AS_OF, DEMO_AS_OF, 100, 100, items)


def test_the_sentence_names_the_largest_single_group():
    """Issue 21's "其中 0.8 来自合肥市住建领域 14 个事项转红": the region one level down × domain × kind of change
    that moved the share most, its value the sum of its items' contributions; never a tie or an anecdote."""
    hefei = [("合肥市", "住房城乡建设", "turned_red", 0.0006)] * 14
    e = _explanation(hefei + [("合肥市", "住房城乡建设", "left", -0.0002)] * 2
                     + [("芜湖市", "住房城乡建设", "turned_red", 0.0006)] * 4 + [(None, "营商环境", "entered", 0.003)])
    cell = explain.top_cell(e)
    assert (cell["child_name"], cell["domain"], cell["kind"], cell["n_items"]) == ("合肥市", "住房城乡建设", "turned_red", 14)
    assert cell["contribution"] == pytest.approx(14 * 0.0006)
    assert explain.summary(e, "zh").endswith("；最集中的一组：合肥市住房城乡建设领域 14 个事项转红 +0.8。")
    assert "the largest single group: 14 items of" in explain.summary(e, "en")
    # a tie between two groups, a group of two items, a group too small to show: no group named
    assert explain.top_cell(_explanation(hefei + [("芜湖市", "住房城乡建设", "turned_red", 0.0006)] * 14)) is None
    assert explain.top_cell(_explanation([("合肥市", "住房城乡建设", "turned_red", 0.01)] * 2
                                         + [("芜湖市", "住房城乡建设", "left", -0.001)] * 3)) is None
    assert explain.top_cell(_explanation([("合肥市", "住房城乡建设", "turned_red", 0.0001)] * 3
                                         + [("芜湖市", "住房城乡建设", "left", -0.00001)] * 3)) is None
    assert "最集中" not in explain.summary(_explanation(hefei + hefei), "zh")  # one group is the whole change
