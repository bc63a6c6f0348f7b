"""A new data version has its slip-risk scores (and finish dates) at once, scored with the newest earlier model, so the
risk page, the meeting, the item page and the cockpit never show a version without them while the model retrains:
served, before the worker points readers at it (issue 18: the worker "retrains and scores the risk model, and then
publishes"); in one process, before the retraining the commit starts. The retraining's scores replace them."""
from __future__ import annotations

import shutil
import threading
import time
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics import jobs as queue
from analytics import worker
from analytics.db import snapshots, store, versions
from analytics.risk import features as F
from analytics.risk import forecast as FC
from analytics.risk import jobs, persist, scores
from analytics.risk import model as M

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def scored_v1(demo_small_path, demo_small_model, tmp_path_factory) -> tuple[Path, FC.ForecastModel]:
    """The small demo whose v1 has a saved model, a saved forecast model (with its holdout check, as the risk page
    reads it) and the scores they made: what `risk.jobs.publish` leaves, without training the slip model again."""
    path = tmp_path_factory.mktemp("score_at_once") / "demo.duckdb"
    shutil.copy(demo_small_path, path)
    con = store.connect(path, read_only=True)
    try:
        fc = FC.train_with_card(con)
        model_path = persist.save(demo_small_model, path)
        fc_path = persist.save_forecast(fc, path, 1)
        scores.refresh(con, path, demo_small_model, model_path=model_path, forecast=fc, forecast_path=fc_path)
    finally:
        con.close()
    return path, fc


@pytest.fixture
def scored(scored_v1, tmp_path) -> Path:
    """A copy of `scored_v1` of this test's own."""
    source, fc = scored_v1
    path = tmp_path / "demo.duckdb"
    shutil.copy(source, path)
    shutil.copytree(persist.models_dir(source), persist.models_dir(path))
    FORECASTS[str(path)] = fc
    return path


FORECASTS: dict[str, FC.ForecastModel] = {}  # the fixture's forecast model as trained, before it was saved


def _commit(path: Path, retrain: bool, restore: int | None = None, db: store.Database | None = None) -> int:
    """A new version: one more progress report (99 %) for the first item in flight, dated the day after the data's
    as-of date, or with `restore` an earlier version's data again. Through `db` when given (the app's database,
    left open: the retraining it starts reads through it), else a writer opened and closed here."""
    own = db is None
    db = store.Database(path, read_only=False) if own else db
    try:
        cur = db.writer()
        if restore is not None:
            out = versions.restore(cur, restore, who="test", db_path=str(path), retrain=retrain)
        else:
            _, as_of = store.current_version(cur)
            (pid,), = cur.execute("SELECT project_id FROM projects WHERE status = 'in_progress' ORDER BY project_id "
                                  "LIMIT 1").fetchall()
            frame = pl.DataFrame({"project_id": [pid], "report_date": [as_of + timedelta(days=1)],
                                  "actual_progress_pct": [99.0]})
            change = versions.Change("progress_reports", "upsert", frame, tuple(frame.columns))
            out = versions.commit(cur, [change], who="test", file_name="report.csv", sha256="x", db_path=str(path),
                                  retrain=retrain)
        cur.close()
        return out.version
    finally:
        if own:
            db.close()


def _score(path: Path) -> dict | None:
    con = store.connect(path, read_only=True)
    try:
        return jobs.score_with_latest(con, path)
    finally:
        con.close()


def test_the_new_version_gets_the_earlier_models_scores_and_forecasts_and_a_training_wins(scored, demo_small_model):
    assert _commit(scored, retrain=False) == 2
    assert not scores.path_for(scored, 2).exists()
    meta = _score(scored)
    first = scores.load_meta(scored, 1)
    assert (meta["scored_version"], meta["data_version"]) == (2, 1)  # v2, with the model trained on v1
    assert (meta["model_file"], meta["forecast_file"]) == (first["model_file"], first["forecast_file"])
    assert meta["forecast_file"].startswith("forecast-v1-")
    assert meta["trained_at"] == first["trained_at"] and meta["scored_at"] >= first["scored_at"]  # when each was done
    assert meta["evaluation"] == first["evaluation"]  # the same model card, the finish dates' check included
    assert meta["forecast"] == first["forecast"] | {"forecast_seconds": meta["forecast"]["forecast_seconds"]}
    assert meta["forecast"]["evaluation"]["coverage"]["p80"]["n"] > 0
    two = scores.load(scored, 2).sort("project_id")
    # by hand: the models as trained (the forecast one before it went to its file) on v2's data at v2's date
    con = store.connect(scored, read_only=True)
    try:
        as_of, version = F.data_as_of(con)
        expected = M.score(con, demo_small_model, as_of).sort("project_id")
        forecast = FC.predict(FORECASTS[str(scored)], F.features(con, as_of)).sort("project_id")
    finally:
        con.close()
    assert version == 2 and meta["scored_as_of"] == as_of.isoformat() and (two["as_of"] == as_of).all()
    assert two["data_version"].unique().to_list() == [2]
    assert two.select("project_id", "probability", "band").equals(expected.select("project_id", "probability", "band"))
    assert two.select(forecast.columns).equals(forecast.select(forecast.columns))
    assert two["p80_date"].is_not_null().all()

    # once there, it is not done again; and it never writes over scores a training saved meanwhile
    stamp = scores.path_for(scored, 2).stat().st_mtime_ns
    assert _score(scored) is None
    assert scores.path_for(scored, 2).stat().st_mtime_ns == stamp
    con = store.connect(scored, read_only=True)
    try:
        model = persist.load_file(scored, meta["model_file"])
        assert scores.refresh(con, scored, model, version=2, as_of=as_of, replace=False) is None
    finally:
        con.close()
    assert scores.path_for(scored, 2).stat().st_mtime_ns == stamp

    # the item page's model is the one that made the version's scores: one probability, one value
    from ui import context

    assert Path(context.risk_model(str(scored), 2, meta["trained_at"]).extra["path"]).name == meta["model_file"]


def test_a_damaged_earlier_model_scores_nothing(scored):
    _commit(scored, retrain=False)
    model_file = persist.models_dir(scored) / scores.load_meta(scored, 1)["model_file"]
    model_file.write_bytes(model_file.read_bytes() + b"x")  # changed after it was saved: refused (issue 22)
    assert _score(scored) is None
    assert not scores.path_for(scored, 2).exists()


def test_in_one_process_the_commit_scores_at_once_and_then_retrains(scored, monkeypatch):
    release = threading.Event()
    trained: list[int] = []

    def slow_training(con, db_path, progress=None, **kw):  # a training of minutes, held until released
        release.wait(120)
        trained.append(store.current_version(con)[0])
        return None

    monkeypatch.setattr(jobs, "publish", slow_training)
    db = store.Database(scored, read_only=False)  # the app's, open while it runs
    try:
        assert _commit(scored, retrain=True, db=db) == 2
        job = jobs.current(scored)
        deadline = time.time() + 120
        while not scores.path_for(scored, 2).with_suffix(".json").exists() and time.time() < deadline:
            time.sleep(0.2)
        assert not job.done  # the training has not finished, and the version already has its scores
        assert scores.load_meta(scored, 2)["scored_version"] == 2 and scores.load(scored, 2).height > 0
        release.set()
        while not job.done and time.time() < deadline:
            time.sleep(0.2)
        assert job.error is None and trained == [2]
    finally:
        release.set()
        db.close()


@pytest.mark.parametrize("lang, said", [("en", "rated with this model (trained on v1) right after the upload"),
                                        ("zh", "是上传后立即用该模型（基于数据版本 v1）评估的结果")])
def test_the_risk_page_says_which_model_scored_the_new_version(scored, monkeypatch, lang, said):
    from streamlit.testing.v1 import AppTest

    _commit(scored, retrain=False)
    _score(scored)
    monkeypatch.setenv("COCKPIT_DB", str(scored))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    at.switch_page("views/risk.py").run()
    assert not at.exception, [e.value for e in at.exception]
    text = " ".join(c.value for c in at.caption)
    assert said in text and "v2" in text
    flagged = scores.load(scored, 2).filter(pl.col("band") != "low").height
    assert flagged > 0 and len(at.dataframe[0].value) > 0  # the flagged items of v2, not "no model has scored it"


def test_the_worker_scores_a_new_version_before_readers_are_pointed_at_it(scored, monkeypatch):
    logs: list[str] = []
    pointed: list[tuple[int, bool]] = []
    real = snapshots.publish

    def publish(cur, db_path, version, before_pointing=None):
        def check(snapshot):
            before_pointing(snapshot)
            pointed.append((version, scores.path_for(db_path, version).exists()))
        return real(cur, db_path, version, before_pointing=check)

    monkeypatch.setattr(snapshots, "publish", publish)
    steps: list[str] = []
    real_progress = queue.progress
    monkeypatch.setattr(queue, "progress", lambda db, job, text: steps.append(text) or real_progress(db, job, text))
    assert _commit(scored, retrain=False) == 2  # committed while no worker ran: v2 has no scores yet
    w = worker.Worker(scored, log=logs.append)
    try:
        w.start()  # publishes v2, the newest
        job_id = queue.submit(scored, "restore", {"target": 1}, who="王五", role="steward", source="10.0.0.9",
                              title="v1")
        w.run(once=True)  # v3: v1's data again
    finally:
        w.close()
    assert queue.get(scored, job_id).state == "done" and snapshots.current(scored).version == 3
    assert pointed == [(2, True), (3, True)]  # each had its scores before readers were pointed at it
    assert steps == ["restoring v1", "scoring", "publishing"]  # what the steward's page follows
    for v in (2, 3):
        said = [i for i, line in enumerate(logs) if f"scored v{v} with the model of v1 before publishing" in line]
        published = [i for i, line in enumerate(logs) if line.startswith(f"published v{v}")]
        assert said and published and said[0] < published[0], logs
    assert scores.load_meta(scored, 3)["scored_version"] == 3
    # v3 holds v1's data: the same model gives it v1's probabilities
    assert scores.load(scored, 3).select("project_id", "probability").sort("project_id").equals(
        scores.load(scored, 1).select("project_id", "probability").sort("project_id"))


@pytest.mark.parametrize("lang, expected", [
    ("en", ["writing the data", "restoring v3", "rating the new version's slip risk with the current model",
            "publishing the new version to readers", "features 40%"]),
    ("zh", ["写入数据", "恢复 v3", "用现有模型评估新版本的延误风险", "向读者发布新版本", "features 40%"])])
def test_the_upload_page_says_the_workers_step_in_the_readers_language(lang, expected):
    from types import SimpleNamespace

    from analytics import i18n
    from ui.blocks import jobs as job_blocks

    ctx = SimpleNamespace(lang=lang, t=lambda key, **v: i18n.t(key, lang, **v))
    steps = ["committing", "restoring v3", "scoring", "publishing", "features 40%"]
    assert [job_blocks._step(ctx, s) for s in steps] == expected


def test_past_its_budget_the_worker_publishes_and_the_scores_follow(scored, monkeypatch):
    """...and from then on the scoring is background work: its thread, at the commit's priority while the worker
    waited for it, is lowered so the readers' first runs on the published version come first."""
    import os

    monkeypatch.setenv("COCKPIT_SCORE_BEFORE_PUBLISH_SECONDS", "0.5")
    monkeypatch.setenv("COCKPIT_BACKGROUND_NICE", "5")
    release = threading.Event()
    real = jobs._score_with_latest
    nice: dict[str, int] = {}
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def slow(con, db_path):  # scoring on a saturated machine: minutes
        nice["waited for"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        release.wait(60)
        nice["after the publish"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        return real(con, db_path)

    monkeypatch.setattr(jobs, "_score_with_latest", slow)
    assert _commit(scored, retrain=False) == 2
    logs: list[str] = []
    w = worker.Worker(scored, log=logs.append)
    try:
        w.start()  # publishes v2 after half a second, without its scores
        assert snapshots.current(scored).version == 2 and not scores.path_for(scored, 2).exists()
        assert any("publishing v2 before its risk scores" in line for line in logs), logs
        release.set()
        deadline = time.time() + 120
        while not scores.path_for(scored, 2).with_suffix(".json").exists() and time.time() < deadline:
            time.sleep(0.2)
        assert scores.load_meta(scored, 2)["scored_version"] == 2  # they follow
        assert nice == {"waited for": base, "after the publish": min(19, base + 5)}
    finally:
        release.set()
        w.close()


def test_the_meeting_shows_scores_that_arrived_after_someone_opened_it(scored, monkeypatch):
    """The meeting's numbers are cached per data version for every session of the process. Scores that land after
    the version was published (past the worker's budget, or the retraining's) key that cache too: the next
    presenter's risk slide has them, rather than "No risk scores." until the cache's TTL."""
    from streamlit.testing.v1 import AppTest

    _commit(scored, retrain=False)
    monkeypatch.setenv("COCKPIT_DB", str(scored))

    def risk_slide() -> str:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.query_params["lang"] = "en"
        at.query_params["slide"] = "risk"
        at.run()
        at.switch_page("views/meeting.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return " ".join(h.body for h in at.get("html")) + " ".join(m.value for m in at.markdown)

    assert "No risk scores." in risk_slide()
    _score(scored)
    shown = risk_slide()  # a new session, as the next presenter
    assert "No risk scores." not in shown and "High-risk items" in shown
