"""`wq run`: a pipeline end to end. Load and check the data, split by time, fit every model on the training part,
forecast the test period, score (per forecast step), and write ``metrics.csv`` (one row per model, target and
step), ``predictions.csv`` (time, origin, step, model, target, observed, predicted), ``report.md``, figures and
the pipeline. The output folder is checked before anything is fitted and written as a whole: into a hidden
folder beside it, swapped in at the end (:func:`wq.io.replace_dir`), so an interrupted or failed run leaves the
previous report as it was."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from wq.config import Pipeline
from wq.data.future import PERFECT_FORECAST, future_columns
from wq.evaluate.backtest import SplitResult, evaluate_split, split_point
from wq.evaluate.metrics import MetricWarning
from wq.io import check_output_dir, replace_dir
from wq.models.registry import NAIVE, RECIPES
from wq.seed import seed_everything

PREDICTION_FILE_COLUMNS = ["time", "origin", "step", "model", "target", "observed", "predicted"]
MAX_WARNING_NOTES = 20


@dataclass
class RunResult:
    out_dir: Path
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    audit: pd.DataFrame | None
    seconds: float
    models: dict = field(default_factory=dict)


def load_frame(pipeline: Pipeline, data_path=None):
    """Load the pipeline's data through the data layer: (frame, observed mask, notes). Known-future drivers
    get their columns (:func:`wq.data.future.add_future_drivers`) for the pipeline's horizon."""
    from wq.data.load import load

    from wq.data.future import add_future_drivers

    spec = pipeline.data_spec(data_path)
    loaded = load(spec)
    notes = list(loaded.notes)
    mask = observed_mask(loaded)
    frame = add_future_drivers(loaded.frame, spec, pipeline.model.horizon, notes)
    return frame, mask, notes


def observed_mask(loaded) -> pd.DataFrame | None:
    """True where a value was observed, False where the data layer filled it (scores skip filled values)."""
    filled = getattr(loaded, "filled", None)
    if filled is None:
        return None
    return ~filled.reindex(loaded.frame.index).fillna(False).astype(bool)


def wavelet_models(models: list[str]) -> list[str]:
    return [m for m in models if m in RECIPES and RECIPES[m]["parts"] == "dual"]


@contextmanager
def collect_metric_warnings() -> Iterator[list[str]]:
    """Record the text of every :class:`~wq.evaluate.metrics.MetricWarning` raised in the block (each distinct
    text once, in order), while still showing it once through :func:`warnings.showwarning`."""
    seen: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("always", MetricWarning)
        show = warnings.showwarning

        def record(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, MetricWarning):
                if str(message) in seen:
                    return
                seen.append(str(message))
            show(message, category, filename, lineno, file, line)

        warnings.showwarning = record
        yield seen


def search_notes(models: dict) -> list[str]:
    """One note per model that chose its own settings while it was fitted (the GA-BPNN): what it chose."""
    return [f"{name}: its GA chose {json.dumps(m.best_params_, sort_keys=True)} (validation {m.ga_['metric']} "
            f"{m.best_fitness_:.4g}; {m.ga_['evaluations']} networks fitted, {m.ga_['encoding']} encoding)."
            for name, m in models.items() if hasattr(m, "best_params_")]


def choice_notes(models: dict) -> list[str]:
    """One note per ensemble (its weights and their validation numbers) and auto model (what it picked, on
    which numbers)."""
    out = []
    for model in models.values():
        if hasattr(model, "choice_") or hasattr(model, "weights_"):
            out.append(model.notes())
        chosen = getattr(model, "chosen_", None)
        if chosen is not None and hasattr(chosen, "weights_"):
            out.append(f"auto's pick: {chosen.notes()}")
    return out


def warning_notes(messages: list[str]) -> list[str]:
    """Report notes for metric warnings (at most :data:`MAX_WARNING_NOTES`, then a count)."""
    notes = [f"Metric warning: {m}" for m in messages[:MAX_WARNING_NOTES]]
    if len(messages) > MAX_WARNING_NOTES:
        notes.append(f"... and {len(messages) - MAX_WARNING_NOTES} more metric warnings (shown on the console).")
    return notes


def _wavelet_note(pipeline: Pipeline) -> str:
    wav = pipeline.preprocess.wavelet
    if pipeline.wavelet_mode == "offline":
        return " (whole-series transform: uses the future, offline reproduction only)"
    if wav is not None and wav.method == "atrous":
        return (" (causal à trous stationary transform; its boundary-affected first rows are not fitted on, "
                "Quilty & Adamowski 2018)")
    return " (causal: trailing windows only)" if wav is not None else ""


def run_pipeline(pipeline: Pipeline, *, data_path=None, models: list[str] | None = None, out_dir=None,
                 audit_leak: bool = False, progress: Callable[[str], None] | None = None,
                 augmenter_for: Callable | None = None, notes_extra: list[str] | None = None) -> RunResult:
    t0 = time.perf_counter()
    out_dir = check_output_dir(Path(out_dir) if out_dir else Path("reports") / pipeline.name)
    seed_everything(pipeline.seed)
    frame, mask, notes = load_frame(pipeline, data_path)
    models = models or pipeline.models
    if any(m not in NAIVE for m in models):
        pipeline.check_against_data(len(frame), str(data_path or pipeline.data.mapping().get('path') or 'the data'))
    start = split_point(len(frame), pipeline.split.test)
    with collect_metric_warnings() as metric_warnings:
        result: SplitResult = evaluate_split(pipeline, frame, models, progress=progress, observed_mask=mask,
                                             augmenter_for=augmenter_for)
        variants = None
        if pipeline.compare.variants:
            from wq.evaluate.variants import evaluate_variants

            result, variants = evaluate_variants(pipeline, frame, result, mask, progress, augmenter_for)
        audit = None
        if audit_leak:
            audit = leak_audit(pipeline, frame, models, result, mask, progress)
    seconds = time.perf_counter() - t0
    horizon = pipeline.model.horizon
    n_fit = start - int(round(start * pipeline.split.validation))
    run_notes = [
        f"Data: {data_path or pipeline.data.mapping().get('path')}; {len(frame)} rows, {frame.index[0].date()} to "
        f"{frame.index[-1].date()}, frequency {frame.index.freqstr or pd.infer_freq(frame.index)}.",
        f"Targets: {', '.join(pipeline.targets)}. Drivers (lagged, known up to the origin): "
        f"{', '.join(pipeline.drivers) or 'none'}. Calendar of the target day: {', '.join(pipeline.calendar) or 'none'}."
        + (f" Known-future drivers (values of the target steps, {pipeline.data.value('future_source')} source): "
           f"{', '.join(pipeline.future_drivers)}." if pipeline.future_drivers else ""),
        f"Split by time: fitting {frame.index[0].date()} .. {frame.index[n_fit - 1].date()} ({n_fit} rows), "
        f"validation (early stopping) {frame.index[n_fit].date()} .. {frame.index[start - 1].date()} "
        f"({start - n_fit} rows), test {frame.index[start].date()} .. {frame.index[-1].date()} "
        f"({len(frame) - start} rows, never used for fitting or choices).",
        f"Preprocessing fitted on the fitting rows only: {json.dumps(pipeline.preprocess.model_dump(), sort_keys=True)}.",
        f"Wavelet mode: {pipeline.wavelet_mode}" + _wavelet_note(pipeline) + ".",
        f"Model settings: {json.dumps(pipeline.model.model_dump(), sort_keys=True)}; seed {pipeline.seed}.",
        f"Peaks for pMAPE: observations at or above the {pipeline.evaluate.peak_quantile:.2f} quantile of the test period.",
        f"Horizon {horizon}: every origin forecasts steps 1 .. {horizon} directly; each step is scored on the test "
        f"times it reaches (metrics.csv has one row per model, target and step)." if horizon > 1 else
        "Horizon 1: one-step-ahead forecasts (step 1 in metrics.csv and predictions.csv).",
        refit_note(pipeline, result),
        *(f"Data layer: {n}" for n in notes),
        *gap_notes(result.metrics, frame, pipeline),
        *warning_notes(metric_warnings),
        *search_notes(result.models),
        *choice_notes(result.models),
        *(notes_extra or []),
        f"Wall time of the run: {seconds:.1f} s.",
    ]
    if pipeline.perfect_forecast:
        run_notes.insert(0, f"**{PERFECT_FORECAST[0].upper()}{PERFECT_FORECAST[1:]}**: the known-future drivers "
                            f"{', '.join(pipeline.future_drivers)} take their observed values for the target steps "
                            f"([data] future_drivers_source = \"observed\"); no forecaster has them.")
    with replace_dir(out_dir) as tmp:
        write_outputs(tmp, pipeline, result, audit, run_notes, variants)
    return RunResult(out_dir, result.metrics, result.predictions, audit, seconds, result.models)


def prediction_columns(pipeline: Pipeline) -> list[str]:
    """The columns of ``predictions.csv``: time, origin, step, model, target, observed, predicted, then
    ``lower_80, upper_80, ...`` per ``[evaluate] levels`` and ``p_limit`` (probability of crossing the
    target's ``[limits]`` limit; empty for a target without one) when any limit is set."""
    from wq.evaluate.conformal import bound_columns

    levels = pipeline.evaluate.levels
    return [*PREDICTION_FILE_COLUMNS, *bound_columns(levels),
            *(["p_limit"] if levels and pipeline.limits.targets else [])]


def limit_notes(pipeline: Pipeline, result: SplitResult) -> list[str]:
    """A stated warning (console and report) for each limit never crossed in the training period: its
    climatology is 0, exceedance probabilities are extrapolations and no Brier skill can be earned."""
    notes = []
    for target, freq in result.climatology.items():
        if not freq > 0:
            kind, value = pipeline.limits.limits()[target]
            text = (f"[limits] {target}: never {kind} {value:g} in the training period; its exceedance "
                    f"probabilities rest on the forecast errors alone and climatology is 0.")
            warnings.warn(text, UserWarning, stacklevel=2)
            notes.append(f"Warning: {text}")
    return notes


def refit_note(pipeline: Pipeline, result: SplitResult) -> str:
    """The refit rule of the run, for the report."""
    every = pipeline.evaluate.refit_every
    if every is None:
        return "Refit rule: none; every model is fitted once on the training part and forecasts the whole test period."
    unit = every if isinstance(every, str) else f"{every} steps"
    times = ", ".join(str(t.date()) for t in result.refits) or "none fell in the test period"
    return (f"Refit rule: every {unit} ([evaluate] refit_every): every model (preprocessing included, naive peers "
            f"alike) refitted on all rows up to each refit time and forecasting until the next; refits at {times}.")


def gap_notes(metrics: pd.DataFrame, frame: pd.DataFrame, pipeline: Pipeline) -> list[str]:
    """Per model, the test forecasts of observed values it skipped (inputs touching a gap), when any did."""
    notes = []
    fut = future_columns(pipeline.future_drivers, pipeline.model.horizon)
    if fut and not pipeline.perfect_forecast:
        start = split_point(len(frame), pipeline.split.test)
        lack = frame[fut].iloc[start - 1:len(frame) - pipeline.model.horizon].isna().any(axis=1)
        notes.append(f"Known-future drivers: {int(lack.sum())} of {len(lack)} test origins have no issued value for "
                     f"some driver and step; every learned model skips them.")
    if "skipped" not in metrics or not metrics["skipped"].any():
        return notes
    step1 = metrics[metrics["step"] == metrics["step"].min()]
    per = step1.groupby("model", sort=False)[["n", "skipped"]].sum()
    shown = "; ".join(f"{m} {int(r.skipped)} of {int(r.n + r.skipped)}" for m, r in per.iterrows())
    notes.append(f"Gaps: forecasts skipped because the inputs touch a gap (step {int(step1['step'].min())}, all "
                 f"targets; metrics.csv has n and skipped per model, target and step): {shown}. Each model is scored "
                 f"on the observed values it forecast; nothing is filled from the future.")
    return notes


def leak_audit(pipeline: Pipeline, frame, models, causal_result: SplitResult, mask, progress) -> pd.DataFrame | None:
    """Run the wavelet models again in the other wavelet mode and put both side by side."""
    wav = wavelet_models(models)
    if not wav or pipeline.preprocess.wavelet is None:
        return None
    mode = pipeline.wavelet_mode
    other = "offline" if mode == "causal" else "causal"
    if other == "offline":  # the contrast is always the literature's whole-series DWT of the same wavelet and level
        own = pipeline.preprocess.wavelet
        alt = pipeline.with_params(preprocess__wavelet={"method": "dwt", "wavelet": own.wavelet, "level": own.level,
                                                        "mode": "offline"})
    else:
        alt = pipeline.with_params(preprocess__wavelet__mode=other)
    alt_result = evaluate_split(alt, frame, wav, progress=progress, observed_mask=mask)
    a = causal_result.metrics[causal_result.metrics["model"].isin(wav)].assign(wavelet_mode=mode)
    b = alt_result.metrics.assign(wavelet_mode=other)
    return pd.concat([a, b], ignore_index=True)


def write_outputs(out_dir: Path, pipeline: Pipeline, result: SplitResult, audit, notes: list[str],
                  variants: pd.DataFrame | None = None) -> None:
    """Write the run's files into ``out_dir`` (a fresh folder: :func:`run_pipeline` swaps it in afterwards);
    with ``[compare.variants]``, ``variants.csv`` (validation and test metrics of every model and variant)."""
    from wq.report import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    metrics = result.metrics
    metrics.to_csv(out_dir / "metrics.csv", index=False, float_format="%.6g")
    pred = result.predictions[prediction_columns(pipeline)]
    pred.to_csv(out_dir / "predictions.csv", index=False, float_format="%.6g")
    if result.limits is not None:
        result.limits.to_csv(out_dir / "limits.csv", index=False, float_format="%.6g")
    if audit is not None:
        audit.drop(columns=["n"], errors="ignore").to_csv(out_dir / "leak_audit.csv", index=False, float_format="%.6g")
    sections = []
    if variants is not None:
        from wq.evaluate.variants import variants_markdown

        variants.drop(columns=["n"]).to_csv(out_dir / "variants.csv", index=False, float_format="%.6g")
        sections.append(("Variants: validation and test", variants_markdown(variants)))
    if pipeline.evaluate.levels:
        from wq.report.probability import probability_sections

        sections += probability_sections(out_dir, metrics, result.predictions, pipeline.evaluate.levels,
                                         pipeline.model_name, pipeline.limits.limits(), result.limits,
                                         pipeline.evaluate.intervals, limit_notes(pipeline, result))
    blocks = block_table(pipeline, result.predictions)
    if len(blocks):
        blocks.to_csv(out_dir / "blocks.csv", index=False, float_format="%.6g")
        sections.append(("Lead-time blocks", blocks_markdown(blocks)))
    write_report(out_dir, metrics, pred[["time", "step", "model", "target", "observed", "predicted"]],
                 title=f"wq run: {pipeline.name}" + (f" ({PERFECT_FORECAST})" if pipeline.perfect_forecast else ""),
                 notes=notes, sections=sections, audit=audit)
    (out_dir / "pipeline.toml").write_text(pipeline.to_toml())


def block_table(pipeline: Pipeline, predictions: pd.DataFrame) -> pd.DataFrame:
    """MAE and maximum absolute error per model, target and lead-time block (``[evaluate] blocks``, or the first
    day and the rest when the horizon is two days or more): ``blocks.csv`` and a report section."""
    from wq.data.grid import infer_freq
    from wq.evaluate.metrics import block_scores, lead_blocks

    if predictions.empty:
        return pd.DataFrame()
    times = pd.DatetimeIndex(predictions["time"].drop_duplicates().sort_values())
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(infer_freq(times)))
    except Exception:  # noqa: BLE001 - an irregular test period: no automatic day
        step = pd.Timedelta("1D")
    day = max(1, int(round(pd.Timedelta("1D") / step)))
    blocks = lead_blocks(pipeline.model.horizon, pipeline.evaluate.blocks, day=day)
    return block_scores(predictions, blocks) if blocks else pd.DataFrame()


def blocks_markdown(blocks: pd.DataFrame) -> str:
    """The block table as markdown: one row per model and target, MAE and max abs error of each block."""
    wide = blocks.pivot_table(index=["model", "target"], columns="block", values=["MAE", "maxAE"], sort=False)
    order = list(dict.fromkeys(blocks["block"]))
    cols = [(m, b) for b in order for m in ("MAE", "maxAE")]
    lines = ["| model | target | " + " | ".join(f"{m} steps {b}" for m, b in cols) + " |",
             "|---|---|" + "---:|" * len(cols)]
    for (model, target), row in wide.iterrows():
        lines.append(f"| {model} | {target} | " + " | ".join(f"{row[c]:.4g}" for c in cols) + " |")
    return "\n".join(lines)
