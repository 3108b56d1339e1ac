"""`wq run`: a pipeline end to end. Load and check the data, split by time, fit every model on the training part,
forecast the test period, score, and write ``metrics.csv``, ``predictions.csv``, ``report.md`` and figures."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from wq.config import Pipeline
from wq.evaluate.backtest import SplitResult, evaluate_split, split_point
from wq.models.registry import RECIPES
from wq.seed import seed_everything


@dataclass
class RunResult:
    out_dir: Path
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    audit: pd.DataFrame | None
    seconds: float


def load_frame(pipeline: Pipeline, data_path=None):
    """Load the pipeline's data through the data layer: (frame, observed mask, notes)."""
    from wq.data.load import load

    loaded = load(pipeline.data_spec(data_path))
    frame = loaded.frame
    mask = observed_mask(loaded)
    return frame, mask, list(loaded.notes)


def observed_mask(loaded) -> pd.DataFrame | None:
    """True where a value was observed, False where the data layer filled it (scores skip filled values)."""
    filled = getattr(loaded, "filled", None)
    if filled is None:
        return None
    return ~filled.reindex(loaded.frame.index).fillna(False).astype(bool)


def wavelet_models(models: list[str]) -> list[str]:
    return [m for m in models if m in RECIPES and RECIPES[m]["parts"] == "dual"]


def _wavelet_note(pipeline: Pipeline) -> str:
    wav = pipeline.raw["preprocess"]["wavelet"] or {}
    if pipeline.wavelet_mode == "offline":
        return " (whole-series transform: uses the future, offline reproduction only)"
    if wav.get("method") == "atrous":
        return (" (causal à trous stationary transform; its boundary-affected first rows are not fitted on, "
                "Quilty & Adamowski 2018)")
    return " (causal: trailing windows only)" if wav else ""


def run_pipeline(pipeline: Pipeline, *, data_path=None, models: list[str] | None = None, out_dir=None,
                 audit_leak: bool = False, progress: Callable[[str], None] | None = None,
                 augmenter_for: Callable | None = None, notes_extra: list[str] | None = None) -> RunResult:
    t0 = time.perf_counter()
    seed_everything(pipeline.seed)
    frame, mask, notes = load_frame(pipeline, data_path)
    models = models or list(dict.fromkeys([pipeline.model_name, *pipeline.compare]))
    out_dir = Path(out_dir) if out_dir else Path("reports") / pipeline.name
    start = split_point(len(frame), float(pipeline.raw["split"]["test"]))
    result: SplitResult = evaluate_split(pipeline, frame, models, progress=progress, observed_mask=mask,
                                         augmenter_for=augmenter_for)
    audit = None
    if audit_leak:
        audit = leak_audit(pipeline, frame, models, result, mask, progress)
    seconds = time.perf_counter() - t0
    n_fit = start - int(round(start * float(pipeline.raw["split"]["validation"])))
    run_notes = [
        f"Data: {pipeline.raw['data'].get('path', data_path)}; {len(frame)} rows, {frame.index[0].date()} to "
        f"{frame.index[-1].date()}, frequency {frame.index.freqstr or pd.infer_freq(frame.index)}.",
        f"Targets: {', '.join(pipeline.targets)}. Drivers (lagged, known up to the origin): "
        f"{', '.join(pipeline.drivers) or 'none'}. Calendar of the target day: {', '.join(pipeline.calendar) or 'none'}.",
        f"Split by time: fitting {frame.index[0].date()} .. {frame.index[n_fit - 1].date()} ({n_fit} rows), "
        f"validation (early stopping) {frame.index[n_fit].date()} .. {frame.index[start - 1].date()} "
        f"({start - n_fit} rows), test {frame.index[start].date()} .. {frame.index[-1].date()} "
        f"({len(frame) - start} rows, never used for fitting or choices).",
        f"Preprocessing fitted on the fitting rows only: {json.dumps(pipeline.preprocess, sort_keys=True)}.",
        f"Wavelet mode: {pipeline.wavelet_mode}" + _wavelet_note(pipeline) + ".",
        f"Model settings: {json.dumps({k: v for k, v in pipeline.raw['model'].items()}, sort_keys=True)}; seed {pipeline.seed}.",
        f"Peaks for pMAPE: observations at or above the {pipeline.raw['evaluate']['peak_quantile']:.2f} quantile of the test period.",
        *(f"Data layer: {n}" for n in notes),
        *(notes_extra or []),
        f"Wall time of the run: {seconds:.1f} s.",
    ]
    write_outputs(out_dir, pipeline, result, audit, run_notes)
    return RunResult(out_dir, result.metrics, result.predictions, audit, seconds)


def leak_audit(pipeline: Pipeline, frame, models, causal_result: SplitResult, mask, progress) -> pd.DataFrame | None:
    """Run the wavelet models again in the other wavelet mode and put both side by side."""
    wav = wavelet_models(models)
    if not wav or pipeline.raw["preprocess"]["wavelet"] is None:
        return None
    mode = pipeline.wavelet_mode
    other = "offline" if mode == "causal" else "causal"
    alt = pipeline.copy()
    alt.set("preprocess.wavelet.mode", other)
    if other == "offline":  # the contrast is always the literature's whole-series DWT
        alt.set("preprocess.wavelet.method", "dwt")
    alt_result = evaluate_split(alt, frame, wav, progress=progress, observed_mask=mask)
    a = causal_result.metrics[causal_result.metrics["model"].isin(wav)].assign(wavelet_mode=mode)
    b = alt_result.metrics.assign(wavelet_mode=other)
    return pd.concat([a, b], ignore_index=True)


def write_outputs(out_dir: Path, pipeline: Pipeline, result: SplitResult, audit, notes: list[str]) -> None:
    from wq.report import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = result.metrics.drop(columns=["n"], errors="ignore")
    metrics.to_csv(out_dir / "metrics.csv", index=False, float_format="%.6g")
    pred = result.predictions
    cols = ["time", "model", "target", "observed", "predicted"]
    if "step" in pred and pred["step"].max() > 1:
        cols = ["time", "origin", "step", "model", "target", "observed", "predicted"]
    pred[cols].to_csv(out_dir / "predictions.csv", index=False, float_format="%.6g")
    if audit is not None:
        audit.drop(columns=["n"], errors="ignore").to_csv(out_dir / "leak_audit.csv", index=False, float_format="%.6g")
    one_step = pred[pred["step"] == 1] if "step" in pred else pred
    write_report(out_dir, metrics, one_step[["time", "model", "target", "observed", "predicted"]],
                 title=f"wq run: {pipeline.name}", notes=notes, audit=audit)
    (out_dir / "pipeline.toml").write_text(pipeline.to_toml())
