"""Stored slip-risk models (skops, sha256, type allow-list) and the `python -m analytics risk` commands."""
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
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer
from threadpoolctl import threadpool_limits

from analytics import demo, store
from analytics.risk import features as F
from analytics.risk import model as M
from analytics.risk import persist

AS_OF = date(2026, 11, 22)
ROOT = Path(__file__).resolve().parents[1]
# one OpenMP thread: on a busy machine the tree predictors are many times faster than with contention
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("risk_persist") / "demo.duckdb"
    demo.generate(path, scale=0.05, seed=3, as_of=AS_OF)
    return path


@pytest.fixture(scope="module")
def trained(db):
    con = store.connect(db, read_only=True)
    with threadpool_limits(1):
        m = M.train(con)
    frame = F.features(con, AS_OF)
    con.close()
    return m, frame


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
              "train_dates", "test_dates", "train_seconds", "horizon_days", "tolerance_days"):
        assert k in e, k
    assert 0.5 < e["roc_auc"] <= 1 and {"n_alerts", "precision", "recall"} <= set(e["model_at_budget"])
    text = card.read_text()
    assert text.startswith("<!-- generated by `python -m analytics risk evaluate")
    assert "ROC-AUC" in text and "`progress_gap`" in text and "## Limits" in text


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
    from analytics.__main__ import main

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
    from analytics.__main__ import main

    assert main(["risk", "score", "--db", str(tmp_path / "nope.duckdb")]) == 2
    assert "no such database" in capsys.readouterr().err
    assert not (tmp_path / "nope.duckdb").exists()
