"""Trained slip-risk models on disk, with skops (never pickle).

Models live beside the database in `<db_path>.models/`: one `risk-v{data_version}-{YYYYmmddHHMMSS}.skops`
per trained model (the calibrated pipeline only) plus a `.json` sidecar of the same name holding
everything else a `TrainedModel` carries (feature lists, training medians, window, horizon, tolerance)
and the sha256 of the `.skops` file. Loading checks the sha256 first, then asks skops which types in
the file it would not trust by default and loads only if every one of them is in `ALLOWED_TYPES`;
those, and only those, are then passed as `trusted`.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import date, datetime
from pathlib import Path

import sklearn
import skops
import skops.io as sio
from sklearn.calibration import CalibratedClassifierCV

from analytics.risk.model import TrainedModel

# Types our own pipeline (CalibratedClassifierCV over ColumnTransformer + OrdinalEncoder +
# HistGradientBoostingClassifier) makes skops report as untrusted. `functools.partial` is needed
# because the ColumnTransformer keeps `partial(check_array, ...)`; the function it wraps is reported
# (and checked) separately, so trusting the wrapper trusts no arbitrary callable.
ALLOWED_TYPES = frozenset({
    "functools.partial",
    "sklearn.utils.validation.check_array",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.loss.HalfBinomialLoss",
    "numpy.dtype",
    "numpy.ndarray",
})

PREFIX = "risk-v"


class ModelFileError(ValueError):
    """A stored model that must not be loaded (changed bytes, unexpected types, broken sidecar)."""


def models_dir(db_path: str | Path) -> Path:
    return Path(str(db_path) + ".models")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _meta(model: TrainedModel) -> dict:
    return {
        "data_version": model.data_version,
        "data_as_of": model.data_as_of.isoformat(),
        "train_from": model.train_from.isoformat(),
        "train_to": model.train_to.isoformat(),
        "horizon_days": model.horizon_days,
        "tolerance_days": model.tolerance_days,
        "feature_names": model.feature_names,
        "numeric": model.numeric,
        "categorical": model.categorical,
        "reference": model.reference,
        "n_rows": model.n_rows,
        "base_rate": model.base_rate,
        "fit_seconds": model.fit_seconds,
        "extra": model.extra,
    }


def _dump(db_path, stem: str, obj, meta: dict) -> Path:
    """Write `obj` with skops to `<models>/<stem>.skops` (`<stem>-2.skops`… when two saves fall in one second) and
    `meta` to its `.json` sidecar with the file's name, sha256, types and library versions, each atomically; returns
    the `.skops` path."""
    folder = models_dir(db_path)
    folder.mkdir(parents=True, exist_ok=True)
    path, n = folder / f"{stem}.skops", 1
    while path.exists() or path.with_suffix(".json").exists():  # two saves within one second
        n += 1
        path = folder / f"{stem}-{n}.skops"
    tmp = path.with_name(path.name + ".tmp")
    sio.dump(obj, tmp)
    os.replace(tmp, path)
    meta = {"file": path.name, "sha256": _sha256(path), "skops_version": skops.__version__,
            "sklearn_version": sklearn.__version__, "untrusted_types": sorted(sio.get_untrusted_types(file=path)),
            **meta}
    side = path.with_suffix(".json")
    tmp = side.with_name(side.name + ".tmp")
    tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, side)
    return path


def _sidecar(path: Path) -> dict:
    """The sidecar of the model file `path`, with its `path`; ModelFileError when it cannot be read."""
    side = path.with_suffix(".json")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{side}: unreadable sidecar ({e})") from None
    meta["path"] = side.with_suffix(".skops")
    return meta


def save(model: TrainedModel, db_path) -> Path:
    """Write `model` to `<db_path>.models/` and return the path of the `.skops` file."""
    now = datetime.now()
    stem = f"{PREFIX}{model.data_version if model.data_version is not None else 0}-{now:%Y%m%d%H%M%S}"
    return _dump(db_path, stem, model.pipeline, {"saved_at": now.isoformat(timespec="microseconds"), **_meta(model)})


def list_models(db_path, data_version: int | None = None) -> list[dict]:
    """Sidecars of stored models (newest first), each with its `path`; for `data_version` if given."""
    folder = models_dir(db_path)
    out = []
    for side in folder.glob(f"{PREFIX}*.json") if folder.is_dir() else ():
        meta = _sidecar(side)
        if data_version is None or meta.get("data_version") == data_version:
            out.append(meta)
    out.sort(key=lambda m: (m.get("saved_at", ""), m["path"].name), reverse=True)
    return out


# One skops load at a time in a process. skops reads every array's header with ast.literal_eval (a model holds
# about two thousand), and CPython 3.11 keeps the AST constructor's recursion depth in state shared by all
# threads: two loads in two page threads at once can fail with "SystemError: AST constructor recursion depth
# mismatch" (python/cpython#106905; seen once in 1,440 runs of the 1 x 90 load test, right after a commit made
# every session check the new model). Loads are rare (once per model file and process), so the wait is short.
_LOAD_LOCK = threading.Lock()


def _load_pipeline(path: Path, expected_sha: str, kind: type = CalibratedClassifierCV):
    with _LOAD_LOCK:
        return _load_pipeline_locked(path, expected_sha, kind)


def _load_pipeline_locked(path: Path, expected_sha: str, kind: type = CalibratedClassifierCV):
    if not path.is_file():
        raise ModelFileError(f"{path}: model file missing")
    if _sha256(path) != expected_sha:
        raise ModelFileError(f"{path}: sha256 does not match its sidecar; the file was changed, refusing to load")
    untrusted = sio.get_untrusted_types(file=path)
    foreign = sorted(set(untrusted) - ALLOWED_TYPES)
    if foreign:
        raise ModelFileError(f"{path}: holds types outside the allow-list, refusing to load: {', '.join(foreign)}")
    pipeline = sio.load(path, trusted=list(untrusted))
    if not isinstance(pipeline, kind):
        raise ModelFileError(f"{path}: holds a {type(pipeline).__name__}, not a {kind.__name__}")
    return pipeline


_CHECKED: dict[tuple, str | None] = {}  # (file, size, mtime, sidecar mtime) -> why it is refused (None: it is not)


def refusal(db_path, model_file: str | None) -> str | None:
    """Why the model file `model_file` (a name in the models folder) must not be trusted, or None: the same checks
    as loading it (its sidecar, its sha256, the type allow-list), remembered per file state so a page view does not
    hash the file again. Scores credited to a refused model are not shown (issue 22)."""
    if not model_file:  # scores written without a model file (hand-made, or by an older version): nothing to check
        return None
    path = models_dir(db_path) / Path(model_file).name
    side = path.with_suffix(".json")
    try:
        key = (str(path), path.stat().st_size, path.stat().st_mtime_ns, side.stat().st_mtime_ns)
    except OSError:
        return f"{path}: model file or its sidecar missing"
    if key in _CHECKED:
        return _CHECKED[key]
    with _LOAD_LOCK:  # the sessions that see a new model at once: one checks it, the others wait for its answer
        if key not in _CHECKED:
            try:
                meta = json.loads(side.read_text(encoding="utf-8"))
                _load_pipeline_locked(path, meta["sha256"])
                _CHECKED[key] = None
            except (ModelFileError, OSError, ValueError, KeyError) as e:
                _CHECKED[key] = str(e)
        return _CHECKED[key]


def load_latest(db_path, data_version: int | None = None) -> TrainedModel | None:
    """The newest stored model (for `data_version` if given), or None when there is none.
    Raises ModelFileError when the newest file fails the sha256 or the type allow-list."""
    found = list_models(db_path, data_version)
    return _model(found[0]) if found else None


def load_file(db_path, model_file: str) -> TrainedModel:
    """The stored model `model_file` (a name in the models folder, as a scores sidecar names it), with the same
    checks as `load_latest`; ModelFileError when it is missing or fails them."""
    return _model(_sidecar(models_dir(db_path) / Path(model_file).name))


def _model(m: dict) -> TrainedModel:
    pipeline = _load_pipeline(m["path"], m["sha256"])
    return TrainedModel(
        pipeline=pipeline, numeric=list(m["numeric"]), categorical=list(m["categorical"]),
        reference=dict(m["reference"]), horizon_days=int(m["horizon_days"]),
        tolerance_days=int(m["tolerance_days"]), train_from=date.fromisoformat(m["train_from"]),
        train_to=date.fromisoformat(m["train_to"]), data_version=m["data_version"],
        data_as_of=date.fromisoformat(m["data_as_of"]), n_rows=int(m["n_rows"]),
        base_rate=float(m["base_rate"]), fit_seconds=float(m["fit_seconds"]),
        extra={**m.get("extra", {}), "path": str(m["path"]), "saved_at": m.get("saved_at")})


# ---- the finish-date forecast model, saved beside the slip model it was trained with ---------------------------
FORECAST_PREFIX = "forecast-v"


def save_forecast(model, db_path, data_version: int) -> Path:
    """Write a `forecast.ForecastModel` to `<db_path>.models/forecast-v{N}-….skops` (its pipeline) and a sidecar
    with everything else, so a new data version can be forecast at once, before the next training
    (`risk.jobs.score_with_latest`)."""
    from analytics.risk.model import _jsonable

    now = datetime.now()
    extra = _jsonable(model.extra)  # the calibrated levels, the training's seconds and its holdout check (the card)
    return _dump(db_path, f"{FORECAST_PREFIX}{data_version}-{now:%Y%m%d%H%M%S}", model.classifier, {
        "saved_at": now.isoformat(timespec="microseconds"), "data_version": data_version,
        "numeric": model.numeric, "categorical": model.categorical, "max_days": model.max_days,
        "trained_to": model.trained_to.isoformat(), "n_rows": model.n_rows, "fit_seconds": model.fit_seconds,
        "extra": extra})


def load_forecast(db_path, forecast_file: str):
    """The forecast model `forecast_file` (a name in the models folder), checked like a slip model (sha256, the
    type allow-list, a scikit-learn Pipeline); ModelFileError when it is missing or fails them."""
    from sklearn.pipeline import Pipeline

    from analytics.risk.forecast import ForecastModel

    m = _sidecar(models_dir(db_path) / Path(forecast_file).name)
    pipeline = _load_pipeline(m["path"], m["sha256"], Pipeline)
    return ForecastModel(pipeline, list(m["numeric"]), list(m["categorical"]), int(m["max_days"]),
                         date.fromisoformat(m["trained_to"]), int(m["n_rows"]), float(m["fit_seconds"]),
                         dict(m.get("extra") or {}))
