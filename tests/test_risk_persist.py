"""Stored slip-risk models (skops, sha256, type allow-list), the `python -m analytics risk` commands, training
in the background, and the risk page over stored scores (its block by hand on the fixture, and under AppTest)."""
import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

from analytics.db import store
from analytics.risk import features as F
from analytics.risk import model as M
from analytics.risk import persist

AS_OF = date(2026, 11, 22)
ROOT = Path(__file__).resolve().parents[1]
# one OpenMP thread: on a busy machine the tree predictors are many times faster than with contention
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def db(demo_small_path):
    return demo_small_path


@pytest.fixture(scope="module")
def trained(db, demo_small_model):
    con = store.connect(db, read_only=True)
    frame = F.features(con, AS_OF)
    con.close()
    return demo_small_model, frame


def _fresh(tmp_path, trained) -> tuple[Path, Path]:
    """A database path of its own (only its `.models` folder is used) holding one saved model."""
    db_path = tmp_path / "x.duckdb"
    return db_path, persist.save(trained[0], db_path)


# ---- persistence ------------------------------------------------------------------------------------

def test_round_trip(tmp_path, trained):
    m, frame = trained
    db_path, path = _fresh(tmp_path, trained)
    assert path.parent == Path(str(db_path) + ".models")
    assert path.name.startswith(f"risk-v{m.data_version}-") and path.suffix == ".skops"
    side = json.loads(path.with_suffix(".json").read_text())
    for k in ("data_version", "data_as_of", "train_from", "train_to", "horizon_days", "tolerance_days",
              "feature_names", "n_rows", "fit_seconds", "sha256"):
        assert k in side
    assert side["n_rows"] == m.n_rows and side["feature_names"] == m.feature_names
    assert not set(side["untrusted_types"]) - persist.ALLOWED_TYPES
    back = persist.load_latest(db_path)
    assert back.feature_names == m.feature_names and back.reference == m.reference
    assert (back.train_from, back.train_to, back.data_as_of, back.data_version) == \
        (m.train_from, m.train_to, m.data_as_of, m.data_version)
    with threadpool_limits(1):
        assert np.array_equal(M.predict(back, frame), M.predict(m, frame))
    assert persist.load_latest(db_path, data_version=m.data_version) is not None
    assert persist.load_latest(db_path, data_version=(m.data_version or 0) + 1) is None
    assert persist.load_latest(tmp_path / "none.duckdb") is None
    # the newest of two saves wins
    second = persist.save(m, db_path)
    assert second != path and persist.load_latest(db_path).extra["path"] == str(second)


def test_one_skops_load_at_a_time_and_one_check_per_file(tmp_path, trained, monkeypatch):
    """Sessions that meet a new model at once: skops loads never overlap (two at once can fail in CPython 3.11's
    AST constructor, python/cpython#106905), and the file is checked once, the other sessions reusing the answer."""
    import threading
    import time

    db_path, path = _fresh(tmp_path, trained)
    real_load, inside, most, loads = sio.load, [0], [0], []
    guard = threading.Lock()

    def slow_load(*args, **kwargs):
        with guard:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
            loads.append(args[0])
        time.sleep(0.05)  # long enough that two unguarded loads would overlap
        try:
            return real_load(*args, **kwargs)
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(sio, "load", slow_load)
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(persist.refusal(db_path, path.name))) for _ in range(6)]
    threads += [threading.Thread(target=lambda: answers.append(persist.load_latest(db_path).data_version))
                for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1
    assert answers.count(None) == 6 and answers.count(trained[0].data_version) == 3
    assert len(loads) == 4  # one check for the six sessions, one load per load_latest


def test_tampered_file_is_refused(tmp_path, trained):
    db_path, path = _fresh(tmp_path, trained)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(persist.ModelFileError, match="sha256"):
        persist.load_latest(db_path)


def test_foreign_type_is_refused(tmp_path, trained):
    db_path, path = _fresh(tmp_path, trained)
    sio.dump(FunctionTransformer(func=math.sqrt), path)  # a type our pipeline never holds
    side = path.with_suffix(".json")
    meta = json.loads(side.read_text())
    meta["sha256"] = persist._sha256(path)  # the sidecar agrees: only the allow-list stands in the way
    side.write_text(json.dumps(meta))
    with pytest.raises(persist.ModelFileError, match="allow-list.*math.sqrt"):
        persist.load_latest(db_path)


# ---- command line -----------------------------------------------------------------------------------

def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "analytics", "risk", *map(str, args)], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=120)


def test_cli_score_train_score(db, tmp_path):
    copy = tmp_path / "cli.duckdb"
    shutil.copy(db, copy)
    con = store.connect(copy, read_only=True)
    open_items = set(F.features(con, AS_OF)["project_id"])
    con.close()

    # no stored model yet: score trains and stores one first
    r = _run("score", "--db", copy, "--json")
    assert r.returncode == 0, r.stderr
    assert "training one" in r.stderr and len(list(Path(str(copy) + ".models").glob("*.skops"))) == 1
    out = json.loads(r.stdout)
    assert out["as_of"] == str(AS_OF) and {x["project_id"] for x in out["rows"]} == open_items
    assert len(out["rows"]) == len(open_items) > 100
    assert all(0 <= x["probability"] <= 1 and x["band"] in ("high", "medium", "low") for x in out["rows"])

    r = _run("train", "--db", copy, "--horizon-days", "60", "--tolerance-days", "20")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert Path(summary["path"]).is_file() and summary["fit_seconds"] > 0 and summary["n_rows"] > 1000
    assert (summary["horizon_days"], summary["tolerance_days"]) == (60, 20)

    # the finish dates trained with it (issue 21), latest against plan first
    r = _run("forecast", "--db", copy, "--json")
    assert r.returncode == 0, r.stderr
    fc = json.loads(r.stdout)
    assert {x["project_id"] for x in fc["rows"]} == open_items and fc["coverage"]["p80"]["n"] > 0
    late = [x["p80_late_days"] for x in fc["rows"] if x["p80_late_days"] is not None]
    assert late == sorted(late, reverse=True)
    assert all(x["p50_date"] <= x["p80_date"] for x in fc["rows"])
    r = _run("forecast", "--db", copy)
    assert r.returncode == 0 and "P80" in r.stderr and r.stdout.startswith("project_id,name,planned_end_date,p50_date")

    # the newest stored model (the one just trained) is used
    r = _run("score", "--db", copy)
    assert r.returncode == 0, r.stderr
    assert "training one" not in r.stderr and summary["path"] in r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert list(rows[0]) == ["project_id", "probability", "band", "top_reasons"]
    assert len(rows) == len(open_items) and {x["project_id"] for x in rows} == open_items
    assert all(0 <= float(x["probability"]) <= 1 for x in rows)


def test_cli_evaluate_json_and_card(db, tmp_path):
    card = tmp_path / "card.md"
    r = _run("evaluate", "--db", db, "--cutoff", "2026-03-01", "--json", "--card", card)
    assert r.returncode == 0, r.stderr
    e = json.loads(r.stdout)
    for k in ("roc_auc", "pr_auc", "brier", "reliability", "alert_budget", "model_at_budget",
              "red_light_at_budget", "rag_red_at_budget", "n_train", "n_test", "test_slip_rate",
              "train_dates", "test_dates", "train_seconds", "horizon_days", "tolerance_days",
              "red_light_at_its_volume", "rag_red_at_its_volume", "lead_time"):
        assert k in e, k
    assert 0.5 < e["roc_auc"] <= 1 and {"n_alerts", "precision", "recall"} <= set(e["model_at_budget"])
    assert sum(b["n"] for b in e["reliability"]) == e["n_test"]
    lead = e["lead_time"]["model"]
    assert 0 < lead["n_warned"] <= lead["n_slipped_items"] and 0 <= lead["median_lead_days"] <= 90
    # the model warns more of the slipped items than the red light does, with the same number of alerts
    assert lead["n_warned"] > e["lead_time"]["red_light"]["n_warned"]
    text = card.read_text()
    assert text.startswith("<!-- generated by `python -m analytics risk evaluate")
    assert "ROC-AUC" in text and "`progress_gap`" in text and "## Limits" in text
    assert "median lead time" in text and "At each rule's own volume" in text
    # the plain-text report of the same evaluation (without --json) names every metric
    from analytics.cli.risk import evaluation_text

    out = evaluation_text(e)
    for k in ("roc_auc:", "pr_auc:", "brier:", "model_at_budget:", "red_light_at_budget:", "rag_red_at_budget:",
              "red_light_at_its_volume:", "median lead time", "  model: ", "reliability (mean predicted", "  P80: "):
        assert k in out, k


@pytest.mark.parametrize("args, message", [
    (("evaluate", "--cutoff", "2026-13-01"), "expected a date"),
    (("evaluate", "--cutoff", "1990-01-01"), "outside the data's history"),
    (("evaluate", "--cutoff", "2026-11-30"), "outside the data's history"),
    (("evaluate", "--cutoff", "2026-03-01", "--horizon-days", "0"), "above 0"),
    (("train", "--tolerance-days", "-5"), "above 0"),
    (("train", "--horizon-days", "ninety"), "whole number"),
    (("train", "--as-of", "2020-01-01"), "outside the data's history"),
    (("score", "--as-of", "2027-01-01"), "outside the data's history"),
])
def test_cli_bad_arguments(db, capsys, args, message):
    """In process (same parser and handlers as the subprocess runs), to keep the file fast."""
    from analytics.cli import main

    try:
        code = main(["risk", *args, "--db", str(db)])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert code != 0 and message in err, err


def test_cli_bad_arguments_subprocess(db):
    r = _run("evaluate", "--db", db, "--cutoff", "1990-01-01")
    assert r.returncode == 2 and "--cutoff 1990-01-01: outside the data's history" in r.stderr
    r = _run("train", "--db", db, "--horizon-days", "0")
    assert r.returncode == 2 and "'0': expected a number of days above 0" in r.stderr


def test_cli_missing_database(tmp_path, capsys):
    from analytics.cli import main

    assert main(["risk", "score", "--db", str(tmp_path / "nope.duckdb")]) == 2
    assert "no such database" in capsys.readouterr().err
    assert not (tmp_path / "nope.duckdb").exists()


# ---- training in the background, and what it leaves beside the database ----------------------------

def test_publish_saves_model_scores_and_card(published):
    from analytics.risk import jobs, scores

    copy, meta, stages = published
    # the lock is held while training: a second run is refused, not queued
    handle = jobs._lock(copy)
    con = store.connect(copy, read_only=True)
    with pytest.raises(jobs.Busy):
        jobs.publish(con, copy)
    handle.close()
    con.close()
    shares = [s for s, _ in stages]
    assert shares == sorted(shares) and shares[-1] == 1.0
    assert [st for _, st in stages][-1] == "done"
    assert {"features", "evaluate", "fit", "forecast", "score"} <= {st for _, st in stages}
    model = persist.load_latest(copy, 1)
    saved = scores.load(copy, 1)
    assert meta["model_file"] == Path(model.extra["path"]).name and meta["n_scored"] == saved.height
    assert meta["train_seconds"] > 0 and meta["score_seconds"] > 0 and meta["bands"] == {"high": 0.5, "medium": 0.2}
    card = meta["evaluation"]
    assert card == model.extra["evaluation"]  # the same numbers in the model's own sidecar
    assert 0.5 < card["roc_auc"] <= 1 and card["lead_time"]["model"]["n_warned"] > 0
    assert date.fromisoformat(card["cutoff"]) > model.train_from and card["alert_share"] == 0.1
    assert sum(b["n"] for b in card["reliability"]) == card["n_test"]
    # every scored item carries its finish dates, and the sidecar their holdout check (issue 21)
    assert saved["p50_date"].is_not_null().all() and (saved["p50_date"] <= saved["p80_date"]).all()
    assert (saved["p50_date"] >= saved["as_of"]).all()
    fc = meta["forecast"]
    assert fc["n_rows"] > 1000 and set(fc["evaluation"]["levels"]) == {"p50", "p80"}
    assert fc["evaluation"]["coverage"]["p80"]["n"] > 0


def test_one_background_training_at_a_time(db, tmp_path):
    import time

    from analytics.risk import jobs

    copy = tmp_path / "bg.duckdb"
    shutil.copy(db, copy)
    job, started = jobs.start(copy, lambda: store.connect(copy, read_only=True), forecast=False)
    again, started_again = jobs.start(copy, lambda: store.connect(copy, read_only=True), forecast=False)
    assert started and not started_again and again is job  # the running job, not a second one
    deadline = time.monotonic() + 120
    while not job.done and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.done and job.error is None, job.error
    assert job.share == 1.0 and job.stage == "done" and job.meta["evaluation"] and job.seconds > 0
    assert jobs.current(copy) is job
    _, restarted = jobs.start(tmp_path / "missing.duckdb", lambda: store.connect(tmp_path / "m.duckdb"))
    assert restarted  # a finished (or other) database's job does not block a new one


# ---- the risk page over stored scores --------------------------------------------------------------

HAND_SCORES = {"A1": (0.7, "high"), "A3": (0.3, "medium"), "B1": (0.6, "high")}  # the fixture's items in flight


def _hand_scored(fixture_path, tmp_path) -> Path:
    """A copy of the hand-made fixture with scores written by hand beside it (no model needed)."""
    import polars as pl

    from analytics.risk import scores

    copy = tmp_path / "fixture.duckdb"
    shutil.copy(fixture_path, copy)
    out = scores.path_for(copy, 1)
    out.parent.mkdir(parents=True)
    reason = pl.List(pl.Struct({"feature": pl.Utf8, "value": pl.Utf8, "effect": pl.Float64}))
    pl.DataFrame({"project_id": list(HAND_SCORES), "probability": [p for p, _ in HAND_SCORES.values()],
                  "band": [b for _, b in HAND_SCORES.values()],
                  "top_reasons": pl.Series([[{"feature": "progress_gap", "value": "15.0", "effect": 0.2}], [], []],
                                           dtype=reason)}).write_parquet(out)
    out.with_suffix(".json").write_text(json.dumps({"trained_at": "2026-11-22T08:00:00", "data_version": 1,
                                                    "data_as_of": "2026-11-22", "n_rows": 10, "evaluation": None}))
    return copy


@pytest.mark.parametrize("region, level, expected", [
    # national: provinces. Anhui holds A1 (county of Hefei, high) and A3 (the province itself, medium),
    # Beijing B1 (high); C1 has not started and N1 is terminated, so Henan has nothing in flight
    (None, "province", {"340000": (1, 1, 2), "110000": (1, 0, 1)}),
    # Anhui: cities. Hefei holds A1; A3 sits at province level, in no city
    ("340000", "city", {"340100": (1, 0, 1)}),
    ("340100", "county", {"340102": (1, 0, 1)}),
    ("340102", None, None),  # a county has no level below
])
def test_flags_by_region_by_hand(fixture_path, tmp_path, region, level, expected):
    from analytics import metrics
    from analytics.filters import Filters
    from analytics.pages import risk as risk_page

    copy = _hand_scored(fixture_path, tmp_path)
    con = store.connect(copy, read_only=True)
    sel = metrics.Selection(Filters(region_code=region), as_of=AS_OF)
    data = risk_page.page(con, sel, {}, db_path=str(copy), version=1)
    assert data.level == level
    probs = data.flagged["probability"].to_list()
    assert probs == sorted(probs, reverse=True)
    if level is None:
        assert data.regions is None and data.flagged["project_id"].to_list() == ["A1"]
        con.close()
        return
    got = {r["region_code"]: (r["n_high"], r["n_medium"], r["n_scored"]) for r in data.regions.iter_rows(named=True)
           if r["n_scored"]}
    assert got == expected
    # items in flight and red lights are the metrics' own numbers for the same selection and level
    table = metrics.region_table(con, sel, level)
    assert data.regions.select("region_code", "n_in_flight", "n_red").sort("region_code").equals(
        table.select("region_code", "n_in_flight", "n_red").sort("region_code"))
    con.close()


def test_no_scores_no_page(fixture_path):
    from analytics import metrics
    from analytics.pages import risk as risk_page

    con = store.connect(fixture_path, read_only=True)
    assert risk_page.page(con, metrics.Selection(as_of=AS_OF), {}, db_path=str(fixture_path), version=1) is None
    con.close()


@pytest.fixture(scope="module")
def published(db, tmp_path_factory):
    from analytics.risk import jobs

    copy = tmp_path_factory.mktemp("risk_page") / "demo.duckdb"
    shutil.copy(db, copy)
    con = store.connect(copy, read_only=True)
    stages = []
    meta = jobs.publish(con, copy, lambda share, stage: stages.append((share, stage)))
    con.close()
    return copy, meta, stages


@pytest.mark.parametrize("lang, region", [("en", None), ("zh", "440000")])
def test_risk_page_shows_the_model_card(published, monkeypatch, lang, region):
    from streamlit.testing.v1 import AppTest

    copy, meta, _ = published
    monkeypatch.setenv("COCKPIT_DB", str(copy))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = lang
    if region:
        at.query_params["region"] = region
    at.run()
    at.switch_page("views/risk.py").run()
    assert not at.exception, [e.value for e in at.exception]
    e = meta["evaluation"]
    text = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert meta["model_file"] in text and f"v{meta['data_version']}" in text  # which model, which data
    assert ("every region's items" if lang == "en" else "所有地区的事项") in text  # national figures, said so (issue 22)
    assert f"{100 * e['model_at_budget']['precision']:.1f}%" in text  # the verdict's numbers
    assert f"{100 * e['red_light_at_budget']['precision']:.1f}%" in text
    metrics_table = next(d.value for d in at.dataframe if len(d.value) == 3 and d.value.shape[1] == 3)
    assert f"{e['roc_auc']:.3f}" in metrics_table.iloc[0].tolist() and f"{e['brier']:.4f}" in metrics_table.iloc[2].tolist()
    comparison = next(d.value for d in at.dataframe if d.value.shape == (3, 9))
    assert len(comparison) == 3 and f"{e['lead_time']['model']['median_lead_days']:g}" in comparison.iloc[0, -1]
    charts = at.get("plotly_chart")
    assert len(charts) == 2  # the portfolio's S-curve and the card's reliability curve
    fig = json.loads(next(c for c in charts if "risk_reliability" in str(c.proto.id)).proto.spec)
    s_curve = json.loads(next(c for c in charts if "risk_s_curve" in str(c.proto.id)).proto.spec)
    assert len(s_curve["data"]) == 5
    model_trace = fig["data"][1]
    assert [round(v, 6) for v in model_trace["x"]] == [round(b["mean_predicted"], 6) for b in e["reliability"]]
    assert model_trace["customdata"] == [b["n"] for b in e["reliability"]]
    regions = at.dataframe[2].value  # flags by region (after the S-curve's table): provinces nationally, cities of Guangdong
    assert len(regions) > 0 and regions.iloc[:, 1].sum() <= (
        sum(1 for b in at.dataframe[0].value.iloc[:, 2] if b in ("high", "高")))
    # issue 21: the finish dates beside the probability, and the card's holdout check of them
    items = at.dataframe[0].value
    p50, p80 = ("Finish (50 % sure)", "Finish (80 % sure)") if lang == "en" else ("预计完成（五成把握）", "预计完成（八成把握）")
    assert p50 in items.columns and p80 in items.columns
    assert items[p80].map(lambda v: v != "—").all()
    cov = meta["forecast"]["evaluation"]["coverage"]
    check = next(d.value for d in at.dataframe if d.value.shape == (3, 5))
    assert f"{100 * cov['p80']['share']:.1f}%" in check.iloc[1].tolist()
    assert f"{100 * cov['reported']['share']:.1f}%" in check.iloc[2].tolist()


def test_scores_of_a_refused_model_are_not_shown(published, tmp_path, monkeypatch):
    """Issue 22, low 11: once the model file fails its checks, the scores it made are not shown anywhere."""
    from streamlit.testing.v1 import AppTest

    from analytics import metrics
    from analytics.risk import scores

    src, meta, _ = published
    db = tmp_path / "demo.duckdb"
    shutil.copy(src, db)
    shutil.copytree(str(src) + ".models", str(db) + ".models")
    version = meta["data_version"]
    con = store.connect(db, read_only=True)
    try:
        assert scores.refusal(db, version) is None and scores.scoped(con, metrics.Selection(), db, version) is not None
        model = persist.models_dir(db) / meta["model_file"]
        data = bytearray(model.read_bytes())
        data[len(data) // 2] ^= 0xFF
        model.write_bytes(bytes(data))
        assert "sha256" in scores.refusal(db, version)
        assert scores.scoped(con, metrics.Selection(), db, version) is None
    finally:
        con.close()
    monkeypatch.setenv("COCKPIT_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception and not [m for m in at.markdown if "Model flags" in m.value]  # the cockpit's early warnings
    at.switch_page("views/risk.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("failed its checks" in e.value for e in at.error)
    assert not at.dataframe  # no flagged items, no model card


def test_item_page_shows_the_risk_tables_finish_dates(published, monkeypatch):
    """One number, one value (issue 21): the item page's fan and caption carry the same P50 / P80 dates as the
    risk page's table, for the item most likely to slip."""
    from streamlit.testing.v1 import AppTest

    from analytics import i18n
    from analytics.risk import scores

    copy, meta, _ = published
    saved = scores.load(copy, meta["data_version"]).sort("probability", descending=True)
    row = saved.row(0, named=True)
    monkeypatch.setenv("COCKPIT_DB", str(copy))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = "zh"
    at.query_params["item"] = row["project_id"]
    at.run()
    at.switch_page("views/item.py").run()
    assert not at.exception, [e.value for e in at.exception]

    def shown(when, beyond):
        text = i18n.fmt_date(when, "zh")
        return i18n.t("risk.later_than", "zh", date=text) if beyond else text

    p50, p80 = shown(row["p50_date"], row["p50_beyond"]), shown(row["p80_date"], row["p80_beyond"])
    caption = next(c.value for c in at.caption if "完成日期预测" in c.value)
    assert p50 in caption and p80 in caption and i18n.fmt_pct(row["p_by_deadline"], "zh") in caption
    fig = json.loads(next(c for c in at.get("plotly_chart") if "item_progress" in str(c.proto.id)).proto.spec)
    marks = [t for t in fig["data"] if t.get("mode") == "markers" and t.get("y") == [100]]
    assert [m["x"][0] for m in marks] == [str(row["p50_date"]), str(row["p80_date"])]
    assert p50 in marks[0]["name"] and p80 in marks[1]["name"]


def test_cockpit_lists_carry_the_same_finish_dates(published, monkeypatch):
    """The cockpit's needs-attention list and its model flags show each item's 80 % date as the risk page does."""
    from streamlit.testing.v1 import AppTest

    from analytics import i18n
    from analytics.risk import scores

    copy, meta, _ = published
    saved = scores.load(copy, meta["data_version"])
    want = {r["project_id"]: (i18n.t("risk.later_than", "en", date=i18n.fmt_date(r["p80_date"], "en"))
                              if r["p80_beyond"] else i18n.fmt_date(r["p80_date"], "en"))
            for r in saved.iter_rows(named=True)}
    monkeypatch.setenv("COCKPIT_DB", str(copy))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    col = "Finish (80 % sure)"
    attention = next(d.value for d in at.dataframe if "Item ID" in d.value.columns and col in d.value.columns)
    assert len(attention) > 0
    for pid, shown in zip(attention["Item ID"], attention[col]):
        assert shown == want.get(pid, "—")
    assert any(col in d.value.columns and "Slip probability" in d.value.columns for d in at.dataframe)  # model flags


def test_s_curve_is_the_flagged_items_and_agrees_with_their_dates(published):
    """The S-curve's population is the risk table's items, and its band's edges count the table's P50 / P80 dates."""
    from analytics import metrics
    from analytics.pages import risk as risk_page

    copy, meta, _ = published
    con = store.connect(copy, read_only=True)
    try:
        for region in (None, "440000"):
            sel = metrics.Selection(filters=metrics.Filters(region_code=region), as_of=AS_OF)
            data = risk_page.page(con, sel, {}, db_path=str(copy), version=meta["data_version"])
            curve, flagged = data.s_curve, data.flagged
            assert set(curve["n"]) == {flagged.height} and flagged.height > 0
            last = curve.row(-1, named=True)
            sure80 = flagged.filter(~pl.col("p80_beyond") & (pl.col("p80_date") <= last["date"])).height
            assert last["sure80"] == sure80 and last["sure50"] >= last["sure80"]
            assert curve["expected"].is_sorted() and curve["planned"].is_sorted()
            assert last["planned"] == flagged.filter(pl.col("planned_end_date") <= last["date"]).height
    finally:
        con.close()
