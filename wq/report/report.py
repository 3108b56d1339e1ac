"""The run report: ``report.md`` with metric tables, figures, notes and a leakage audit.

Layout of ``report.md`` (text depends only on the inputs, so re-running gives the same file):
title; notes as a bullet list (data, split, settings); per target a metrics table (sorted by
MAPE, best value per column in bold; one table per forecast step when the metrics have several
steps) and the figures of :mod:`wq.report.figures` (forecasts, scatter, residuals and bars of
step 1, plus error against lead time for multi-step forecasts); extra sections as given; when an
audit frame is given, a "Leakage audit" section that puts causal and offline (whole-series)
wavelet denoising side by side per model (and step).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from wq.errors import DataError
from wq.evaluate.metrics import LOWER_IS_BETTER, METRICS
from wq.report import figures as F
from wq.report.tables import markdown_table

__all__ = ["write_report", "METRIC_COLUMNS", "PREDICTION_COLUMNS", "AUDIT_METRICS"]

METRIC_COLUMNS: tuple[str, ...] = ("model", "target", *METRICS, "fit_seconds")
PREDICTION_COLUMNS: tuple[str, ...] = ("time", "model", "target", "observed", "predicted")
STEP = "step"
"""Optional column of metrics, predictions and audit: the forecast step (lead time) 1 .. horizon."""
AUDIT_METRICS: tuple[str, ...] = ("MAPE", "pMAPE", "RMSE", "NSE", "KGE")
"""Metrics shown causal vs offline in the leakage audit (those present in the audit frame)."""

BOLD_BEST: dict[str, str] = {m: ("min" if LOWER_IS_BETTER[m] else "max") for m in METRICS}
# Percentages to 0.01 points, dimensionless skill scores to 0.001; RMSE/MAE (target units) get
# four significant digits of the column's largest value (wq.report.tables.column_decimals).
DECIMALS: dict[str, int] = {
    "MAPE": 2, "pMAPE": 2, "EVS": 3, "R": 3, "NSE": 3, "KGE": 3, "fit_seconds": 1,
}  # fmt: skip

LEAKAGE_TEXT = (
    "Whole-series (*offline*) wavelet denoising transforms the full series at once, so the "
    "denoised value at time t is computed with observations after t: the model is fed a "
    "little of the future it is asked to forecast. Its skill is therefore not attainable in "
    "real forecasting, where the future is unknown. *Causal* denoising uses only a trailing "
    "window ending at t and is what a deployed forecaster can do. The gap between the two "
    "columns measures the leak (Quilty & Adamowski 2018, J. Hydrol. 563:336-353)."
)

METRIC_LEGEND = (
    "MAPE and pMAPE in %, lower is better (pMAPE: MAPE over the observations at or above the "
    "q-quantile of the test period, q = 0.9 unless the notes say otherwise); RMSE and MAE in "
    "the target's units, lower is better; EVS, R, NSE and KGE, higher is better (1 is "
    "perfect). fit_seconds: wall time to fit. **Bold**: best value of the column."
)

STEP_LEGEND = (
    "Step s is the forecast made s steps ahead: from the origin t (data up to t) for the time "
    "t + s. One table per step."
)

FIGURE_KINDS: tuple[tuple[str, str], ...] = (
    ("forecasts", "Observed and predicted over the test period, with a zoom on the highest peak"),
    ("scatter", "Observed vs predicted per model, 1:1 line"),
    ("residuals", "Residuals (observed − predicted) over time"),
    ("mape", "MAPE and pMAPE per model"),
    ("lead_time", "MAPE and MAE against the forecast step (lead time), one line per model"),
)
MULTI_STEP_ONLY = ("lead_time",)


# --------------------------------------------------------------------------- validation


def _require(frame: object, columns: Iterable[str], what: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")
    return frame


def _check_unique(frame: pd.DataFrame, keys: list[str], what: str, hint: str = "") -> None:
    dup = frame.duplicated(keys, keep=False)
    if dup.any():
        row = frame.loc[dup, keys].iloc[0].to_dict()
        raise DataError(
            f"{what} has {int(dup.sum())} rows sharing {keys}, e.g. {row} (row "
            f"{int(np.flatnonzero(dup.to_numpy())[0])}){hint}"
        )


def _check_step(frame: pd.DataFrame, what: str) -> pd.DataFrame:
    """The frame with its optional 'step' column as int; DataError naming the row of a bad step."""
    if STEP not in frame:
        return frame
    step = pd.to_numeric(frame[STEP], errors="coerce").to_numpy(dtype=float)
    bad = ~(np.isfinite(step) & (step >= 1) & (step == np.floor(step)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{what} column 'step' must hold integers >= 1; row {i} has {frame[STEP].iloc[i]!r}")
    return frame.assign(**{STEP: step.astype(int)})


def _check_metrics(metrics: pd.DataFrame, what: str, extra: Sequence[str] = ()) -> pd.DataFrame:
    _require(metrics, METRIC_COLUMNS, what)
    if metrics.empty:
        raise DataError(f"{what} has no rows")
    for col in (*METRICS, "fit_seconds"):
        if not pd.api.types.is_numeric_dtype(metrics[col]):
            raise DataError(f"{what} column {col!r} is not numeric")
    metrics = _check_step(metrics, what).astype({"model": str, "target": str})
    keys = ["model", "target", *extra] + ([STEP] if STEP in metrics else [])
    _check_unique(metrics, keys, what, "" if STEP in metrics else "; give a 'step' column for multi-step metrics")
    return metrics


def _check_predictions(pred: pd.DataFrame) -> pd.DataFrame:
    """Validated predictions of the first forecast step (all rows when there is no 'step' column)."""
    _require(pred, PREDICTION_COLUMNS, "predictions")
    if pred.empty:
        raise DataError("predictions has no rows")
    for col in ("observed", "predicted"):
        if not pd.api.types.is_numeric_dtype(pred[col]):
            raise DataError(f"predictions column {col!r} is not numeric")
    pred = _check_step(pred, "predictions")
    if STEP in pred:
        pred = pred[pred[STEP] == pred[STEP].min()]
    pred = pred.astype({"model": str, "target": str})
    _check_unique(
        pred,
        ["model", "target", "time"],
        "predictions",
        "; keep one forecast per time (select one forecast step)",
    )
    spread = pred.groupby(["target", "time"], sort=False)["observed"].agg(["min", "max"])
    differs = ~np.isclose(spread["min"], spread["max"], equal_nan=True)
    if differs.any():
        target, time = spread.index[np.flatnonzero(differs)[0]]
        raise DataError(
            f"predictions: models disagree on the observed {target!r} value at time {time}"
        )
    return pred


# --------------------------------------------------------------------------- pieces


def _slugs(targets: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    seen: set[str] = set()
    for t in targets:
        base = re.sub(r"[^A-Za-z0-9_-]+", "_", str(t)).strip("_") or "target"
        slug, k = base, 2
        while slug in seen:
            slug, k = f"{base}-{k}", k + 1
        seen.add(slug)
        out[t] = slug
    return out


def _metrics_table(rows: pd.DataFrame) -> str:
    table = rows.sort_values(["MAPE", "model"], kind="stable", na_position="last")
    table = table[["model", *METRICS, "fit_seconds"]].reset_index(drop=True)
    bold = BOLD_BEST if len(table) > 1 else None  # "best" of one model says nothing
    return markdown_table(table, bold_best=bold, decimals=DECIMALS)


def _steps(frame: pd.DataFrame) -> list[int]:
    return sorted(int(s) for s in frame[STEP].unique()) if STEP in frame else [1]


def _by_step(rows: pd.DataFrame, steps: list[int]) -> list[tuple[int, pd.DataFrame]]:
    """(step, rows of that step) for each step present; the rows themselves when there is one step."""
    if len(steps) == 1:
        return [(steps[0], rows)]
    return [(s, rows[rows[STEP] == s]) for s in steps if (rows[STEP] == s).any()]


def _audit_table(rows: pd.DataFrame) -> str:
    shown = [m for m in AUDIT_METRICS if m in rows.columns]
    wide = rows.pivot(index="model", columns="wavelet_mode", values=shown)
    wide = wide.reindex(columns=pd.MultiIndex.from_product([shown, ["causal", "offline"]]))
    wide.columns = [f"{m} {mode}" for m, mode in wide.columns]
    if "MAPE" in shown:
        wide["MAPE offline − causal"] = wide["MAPE offline"] - wide["MAPE causal"]
    out = wide.rename_axis("model").reset_index()
    first = "MAPE causal" if "MAPE" in shown else out.columns[1]
    out = out.sort_values([first, "model"], kind="stable", na_position="last")
    decimals = {c: DECIMALS[c.split(" ")[0]] for c in out.columns[1:] if c.split(" ")[0] in DECIMALS}
    return markdown_table(out.reset_index(drop=True), decimals=decimals)


def _audit_summary(audit: pd.DataFrame) -> str:
    index = ["target", "model"] + ([STEP] if STEP in audit else [])
    wide = audit.pivot_table(index=index, columns="wavelet_mode", values="MAPE", aggfunc="first")
    if not {"causal", "offline"} <= set(wide.columns):
        return ""
    gap = (wide["offline"] - wide["causal"]).dropna()
    if gap.empty:
        return ""
    better = int((gap < 0).sum())
    what = "model/target/step triples" if len(_steps(audit)) > 1 else "model/target pairs"
    return (
        f"Offline denoising gave a lower MAPE than causal denoising for {better} of "
        f"{gap.size} {what} (mean change {gap.mean():+.2f} percentage points)."
    )


# --------------------------------------------------------------------------- entry point


def _metrics_lines(metrics: pd.DataFrame, targets: list[str], steps: list[int]) -> list[str]:
    lines = ["## Metrics", "", METRIC_LEGEND + (" " + STEP_LEGEND if len(steps) > 1 else ""), ""]
    for t in targets:
        rows = metrics[metrics["target"] == t]
        if rows.empty:
            continue
        lines += [f"### {t}", ""]
        for s, sub in _by_step(rows, steps):
            if len(steps) > 1:
                lines += [f"#### {t}, step {s}", ""]
            lines += [_metrics_table(sub).rstrip("\n"), ""]
    return lines


def _figure_lines(
    metrics: pd.DataFrame, predictions: pd.DataFrame, targets: list[str], steps: list[int],
    fig_dir: Path, colours: dict[str, str],
) -> list[str]:
    """Draw each target's figures into ``fig_dir``; the Markdown that shows them."""
    slugs = _slugs(targets)
    multi = len(steps) > 1
    plots = {"forecasts": F.plot_forecasts, "scatter": F.plot_scatter, "residuals": F.plot_residuals}
    lines = ["## Figures", ""]
    if multi:
        ahead = "one step" if steps[0] == 1 else f"{steps[0]} steps"
        lines += [f"Forecasts, scatter, residuals and bars show step {steps[0]} (the forecast made {ahead} "
                  f"ahead); the lead-time figure shows every step.", ""]
    for t in targets:
        pred = predictions[predictions["target"] == t]
        rows = metrics[metrics["target"] == t]
        first = rows[rows[STEP] == steps[0]] if STEP in rows else rows
        made: list[tuple[str, str]] = []
        for kind, caption in FIGURE_KINDS:
            name = f"{slugs[t]}_{kind}.png"
            if kind in MULTI_STEP_ONLY:
                if not multi or rows.empty:
                    continue
                F.plot_lead_time(rows, t, fig_dir / name, colours)
            elif kind == "mape":
                if first.empty:
                    continue
                F.plot_mape_bars(first, t, fig_dir / name, colours)
            else:
                if pred.empty:
                    continue
                plots[kind](pred, t, fig_dir / name, colours)
            if multi and kind not in MULTI_STEP_ONLY:
                caption = f"{caption} (step {steps[0]})"
            made.append((caption, f"figures/{name}"))
        if made:
            lines += [f"### {t}", ""]
            for caption, rel in made:
                alt = re.sub(r"[\[\]]", "", f"{t}: {caption}")
                lines += [f"**{caption}.**", "", f"![{alt}]({rel})", ""]
    return lines


def _audit_lines(audit: pd.DataFrame) -> list[str]:
    lines = ["## Leakage audit", "", LEAKAGE_TEXT, ""]
    summary = _audit_summary(audit)
    if summary:
        lines += [summary, ""]
    steps = _steps(audit)
    for t in dict.fromkeys(audit["target"]):
        lines += [f"### {t}", ""]
        for s, sub in _by_step(audit[audit["target"] == t], steps):
            if len(steps) > 1:
                lines += [f"#### {t}, step {s}", ""]
            lines += [_audit_table(sub).rstrip("\n"), ""]
    return lines


def write_report(
    out_dir: str | Path,
    metrics: pd.DataFrame,
    predictions: pd.DataFrame,
    title: str,
    notes: Sequence[str] = (),
    sections: Sequence[tuple[str, str]] = (),
    audit: pd.DataFrame | None = None,
) -> Path:
    """Write ``out_dir/report.md`` and ``out_dir/figures/*.png``; return the path of report.md.

    ``metrics``: one row per model and target (and ``step``, optional), columns model, target,
    MAPE, pMAPE, EVS, R, RMSE, MAE, NSE, KGE, fit_seconds. With several steps the report has a
    table per step and an error-against-lead-time figure per target. ``predictions``: columns
    time, model, target, observed, predicted (optional ``step``: the first step is drawn) over
    the test period, one row per model, target and time. ``notes``: bullet lines (data, split,
    settings). ``sections``: extra (heading, markdown text) pairs. ``audit``: a metrics frame
    with an extra column ``wavelet_mode`` ("causal"/"offline"); when given, a "Leakage audit"
    section compares the two modes per model (and step). Bad frames raise
    :class:`wq.errors.DataError` naming the frame, column and row.
    """
    metrics = _check_metrics(metrics, "metrics")
    predictions = _check_predictions(predictions)
    if audit is not None:
        _require(audit, ["wavelet_mode"], "audit")
        audit = _check_metrics(audit, "audit", extra=["wavelet_mode"])
        modes = set(audit["wavelet_mode"].astype(str))
        if not modes <= {"causal", "offline"}:
            raise DataError(
                f"audit column 'wavelet_mode' must hold 'causal' or 'offline', got {sorted(modes)}"
            )
    sections = list(sections)
    for i, item in enumerate(sections):
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise DataError(f"sections[{i}] must be a (heading, text) pair, got {item!r}")

    out_dir = Path(out_dir)
    fig_dir = out_dir / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)

    targets = list(dict.fromkeys([*metrics["target"], *predictions["target"]]))
    steps = _steps(metrics)
    all_models = list(dict.fromkeys([*metrics["model"], *predictions["model"]]))
    if audit is not None:
        all_models = list(dict.fromkeys([*all_models, *audit["model"]]))
    colours = F.model_colours(all_models)

    lines: list[str] = [f"# {title}", ""]
    if notes:
        lines += [f"- {n}" for n in notes] + [""]
    lines += _metrics_lines(metrics, targets, steps)
    lines += _figure_lines(metrics, predictions, targets, steps, fig_dir, colours)
    for heading, text in sections:
        lines += [f"## {heading}", "", str(text).strip(), ""]
    if audit is not None:
        lines += _audit_lines(audit)

    path = out_dir / "report.md"
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    return path
