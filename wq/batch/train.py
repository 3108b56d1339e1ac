"""``wq train``: fit a pipeline's model on all history and write a verified artifact for batch forecasts.

What training does (issue 6, item 1):

1. Load the pipeline's data through the data layer (:func:`wq.run.load_frame`): the whole record up to
   the last observation. There is **no test hold-out**: a deployed model learns from everything it has.
2. Seed everything from the pipeline's seed (:func:`wq.seed.seed_everything`) and fit the chosen model
   with ``fit(frame, val_fraction=[split] validation)``: preprocessing is fitted on the fitting part only
   and the validation tail serves early stopping, as in ``wq run``.
3. Measure the **validation MAPE** per target: the step-1 forecasts from every origin t whose next value
   lies in the validation tail (t = n_fit − 1 .. n − 2), MAPE = 100/n Σ|y − ŷ|/|y| over the observed
   (not filled) values, zeros skipped. Early stopping looked at this tail, so the value is slightly
   optimistic; it only serves as the reference for the drift threshold of ``wq score``
   (:data:`wq.batch.score.VALIDATION_FACTOR` × this MAPE). ``None`` when the pipeline has no validation tail.
4. Write the artifact atomically (:func:`wq.batch.artifact.write_artifact`: temporary directory, then
   rename; a manifest of sha256 hashes checked on load). Layout::

       manifest.json       format, version id, created_at, package versions, meta (below), file hashes
       pipeline.toml       the pipeline as trained (data path absolute: the default data for forecasts)
       model/model.json    the model's settings and fitted preprocessing state (JSON, no pickle)
       model/weights.pt    torch state dicts of the networks (loaded with weights_only=True)
       model/*.skops       scikit-learn components (skops: no code runs on load)

   ``meta`` holds ``batch_format`` (:data:`BATCH_FORMAT`), the pipeline's name, the model name, targets,
   drivers, horizon and frequency, the training data's :func:`~wq.batch.artifact.fingerprint` (span,
   columns, dtypes, frequency, content hash), the data spec used to read it, the validation MAPE and
   a short training record, and ``augment``: what ``[augment]`` added to the training windows
   (:func:`fit_model`; method "none" when off, else the method, ratio, windows and whether the gate kept them).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from wq.errors import ConfigError

__all__ = [
    "BATCH_FORMAT",
    "MODEL_PREFIX",
    "PIPELINE_FILE",
    "TrainResult",
    "train_artifact",
    "validation_mape",
    "artifact_files",
]

BATCH_FORMAT = 1
"""Version of the batch artifact's content (meta keys, file names); an artifact with a newer one is refused."""

MODEL_PREFIX = "model/"
"""Folder of the model's files (``Forecaster.to_files()``) inside the artifact."""

PIPELINE_FILE = "pipeline.toml"


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train_artifact`: where the artifact is, its version id, the fitted model
    (for comparing with the artifact's forecasts), the training frame and the artifact's meta."""

    path: Path
    version_id: str
    model: Any
    frame: pd.DataFrame
    meta: dict[str, Any]
    seconds: float


def validation_mape(
    model: Any, frame: pd.DataFrame, val_fraction: float, observed: pd.DataFrame | None = None
) -> dict[str, float] | None:
    """Step-1 MAPE per target on the validation tail of ``frame`` (see the module docstring, item 3;
    :func:`wq.evaluate.backtest.validation_scores`).

    ``observed``: boolean frame, False where the data layer filled a value (left out of the MAPE).
    Returns ``None`` without a validation tail; a target without any usable observation gets NaN
    (stored as ``None`` in the artifact's JSON).
    """
    from wq.evaluate.backtest import validation_scores

    n = len(frame)
    n_fit = n - int(round(n * float(val_fraction)))
    if n_fit >= n or n_fit < 1:
        return None
    m = validation_scores(model, frame, observed, n_fit=n_fit)
    m = m[m["step"] == 1].set_index("target")["MAPE"]
    return {t: float(m.get(t, float("nan"))) for t in model.targets}


def artifact_files(model: Any, pipeline_toml: str) -> dict[str, bytes]:
    """The files of a batch artifact: the model's files under :data:`MODEL_PREFIX` and the pipeline."""
    files = {f"{MODEL_PREFIX}{name}": bytes(data) for name, data in model.to_files().items()}
    files[PIPELINE_FILE] = pipeline_toml.encode("utf-8")
    return files


def fit_model(pipeline: Any, model: Any, frame: pd.DataFrame, val_fraction: float,
              observed: pd.DataFrame | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Fit ``model`` on ``frame``, with the synthetic windows of the pipeline's ``[augment]`` table when it has
    them (through the validation gate when ``gate = true``, :func:`wq.augment.pipeline.fit_with_gate`).

    Returns the manifest's ``augment`` record: ``method`` ("none" when off), and when on ``ratio``, ``gate``,
    ``seed``, ``epochs``, ``settings``, ``n_real`` and ``n_synthetic`` windows, ``generator_seconds``, ``used``
    (whether the fitted model holds the synthetic windows: False when the gate dropped them) and, with the gate,
    ``val_MAPE_with`` / ``val_MAPE_without``.
    """
    from wq.augment.pipeline import augmenter_for_pipeline

    aug = augmenter_for_pipeline(pipeline, progress)(pipeline.model_name)
    if aug is None:
        model.fit(frame, val_fraction=val_fraction, progress=progress)
        return {"method": "none"}
    aug.fit_model(model, frame, val_fraction, progress=progress, observed_mask=observed)
    call = aug.calls_[-1] if aug.calls_ else {}
    record: dict[str, Any] = {
        "method": aug.method, "ratio": float(aug.ratio), "gate": bool(aug.gate), "seed": int(aug.seed),
        "epochs": int(aug.epochs), "settings": _jsonable(dict(aug.settings or {})),
        "n_real": int(call.get("n_real", 0)), "n_synthetic": int(call.get("n_synthetic", 0)),
        "generator_seconds": round(float(call.get("generator_seconds", 0.0)), 3),
        "used": int(getattr(model, "augmented_", 0)) > 0,
    }
    if aug.decisions_:
        d = aug.decisions_[-1]
        record.update(val_MAPE_with=_json_number(d["val_MAPE_with"]), val_MAPE_without=_json_number(d["val_MAPE_without"]))
    return record


def _json_number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


# size: the training steps of an artifact in the order the manifest records them
def train_artifact(
    pipeline: Any,
    artifact_dir: str | os.PathLike[str],
    *,
    data_path: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: Callable[[str], None] | None = None,
) -> TrainResult:
    """Fit ``pipeline``'s model on all its data and write the artifact to ``artifact_dir``.

    See the module docstring for what is fitted and stored. ``data_path`` overrides the pipeline's
    ``[data] path``. An existing ``artifact_dir`` is refused (:class:`~wq.errors.ArtifactError`)
    unless ``overwrite`` and it is a wq artifact (:func:`~wq.batch.artifact.check_replaceable`, checked
    before fitting and again before the swap); missing parent folders are created. A failure at any
    point leaves no artifact at ``artifact_dir`` (and an old one, when overwriting, untouched). With
    ``WQ_ARTIFACT_KEY`` set the manifest is signed (:mod:`wq.batch.signing`).
    """
    from wq.batch.artifact import fingerprint, write_artifact
    from wq.run import load_frame
    from wq.seed import seed_everything

    from wq.batch.artifact import check_replaceable
    from wq.batch.signing import artifact_key

    t0 = time.perf_counter()
    target = Path(artifact_dir)
    if target.exists() or target.is_symlink():
        if not overwrite:
            from wq.errors import ArtifactError

            raise ArtifactError(f"artifact {target}: already exists (use --overwrite to replace it)")
        check_replaceable(target)  # before the fit: only a wq artifact is ever replaced
    artifact_key()  # a bad WQ_ARTIFACT_KEY fails now, not after the fit
    if data_path is not None:
        pipeline = pipeline.with_params(data__path=str(Path(data_path).resolve()))
    spec = pipeline.data_spec()
    frame, observed, notes = load_frame(pipeline)
    if progress:
        progress(f"train {pipeline.name}: {len(frame)} rows {frame.index[0]} .. {frame.index[-1]} from {spec.path}")
    val_fraction = pipeline.split.validation
    seed_everything(pipeline.seed)
    model = pipeline.make_model()
    augment = fit_model(pipeline, model, frame, val_fraction, observed, progress)
    val = validation_mape(model, frame, val_fraction, observed)
    freq = getattr(model, "freq_", None)
    n_val = int(round(len(frame) * val_fraction))
    meta: dict[str, Any] = {
        "batch_format": BATCH_FORMAT,
        "pipeline": pipeline.name,
        "model": pipeline.model_name,
        "targets": list(pipeline.targets),
        "drivers": list(pipeline.drivers),
        "horizon": int(model.horizon),
        "freq": freq,
        "fingerprint": fingerprint(frame, freq),
        "data": {"path": str(spec.path), "spec": _jsonable(spec.to_mapping())},
        "validation": {
            "mape": None if val is None else {k: _json_number(v) for k, v in val.items()},
            "step": 1,
            "rows": n_val,
            "fraction": val_fraction,
        },
        "augment": augment,
        "train": {
            "rows": int(len(frame)),
            "fit_rows": int(len(frame) - n_val),
            "seed": pipeline.seed,
            "fit_seconds": round(float(getattr(model, "fit_seconds_", 0.0)), 3),
            "data_notes": [str(n) for n in notes],
        },
    }
    if pipeline.evaluate.levels:
        from wq.batch.probabilistic import conformal_meta

        meta["conformal"] = conformal_meta(model, frame, val_fraction, observed, pipeline.evaluate.levels)
        need = max(math.ceil(2 / (1 - lv)) - 1 for lv in pipeline.evaluate.levels)
        if progress and meta["conformal"] and meta["conformal"]["fewest"] < need:
            progress(f"note: {meta['conformal']['fewest']} validation errors per target and step are too few for "
                     f"the {max(pipeline.evaluate.levels)} intervals (need >= {need}): their bounds are the extreme "
                     f"errors and coverage is not guaranteed")
    files = artifact_files(model, pipeline.to_toml())
    target.parent.mkdir(parents=True, exist_ok=True)
    path = write_artifact(target, files, meta, overwrite=overwrite)
    from wq.batch.artifact import read_artifact

    version = read_artifact(path).version_id
    seconds = time.perf_counter() - t0
    if progress:
        shown = "none" if val is None else ", ".join(f"{k} {v:.3g} %" for k, v in val.items())
        progress(f"train {pipeline.name}: wrote artifact {path} version {version} (validation MAPE: {shown}; "
                 f"{seconds:.1f} s)")
    return TrainResult(path=path, version_id=version, model=model, frame=frame, meta=meta, seconds=seconds)


def _jsonable(value: Any) -> Any:
    """Spec mapping -> plain JSON types (paths to str, tuples to lists)."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise ConfigError(f"data setting {value!r} cannot be stored in an artifact")
