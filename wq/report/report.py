"""The run report: ``report.md`` with metric tables, figures, notes and a leakage audit.

Layout of ``report.md`` (text depends only on the inputs, so re-running gives the same file):
title; notes as a bullet list (data, split, settings); per target a metrics table (sorted by
MAPE, best value per column in bold) and the four figures of :mod:`wq.report.figures`; extra
sections as given; when an audit frame is given, a "Leakage audit" section that puts causal and
offline (whole-series) wavelet denoising side by side per model.
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

FIGURE_KINDS: tuple[tuple[str, str], ...] = (
    ("forecasts", "Observed and predicted over the test period, with a zoom on the highest peak"),
    ("scatter", "Observed vs predicted per model, 1:1 line"),
    ("residuals", "Residuals (observed − predicted) over time"),
    ("mape", "MAPE and pMAPE per model"),
)


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


def _check_metrics(metrics: pd.DataFrame, what: str, extra: Sequence[str] = ()) -> pd.DataFrame:
    _require(metrics, METRIC_COLUMNS, what)
    if metrics.empty:
        raise DataError(f"{what} has no rows")
    for col in (*METRICS, "fit_seconds"):
        if not pd.api.types.is_numeric_dtype(metrics[col]):
            raise DataError(f"{what} column {col!r} is not numeric")
    metrics = metrics.astype({"model": str, "target": str})
    _check_unique(metrics, ["model", "target", *extra], what)
    return metrics


def _check_predictions(pred: pd.DataFrame) -> pd.DataFrame:
    _require(pred, PREDICTION_COLUMNS, "predictions")
    if pred.empty:
        raise DataError("predictions has no rows")
    for col in ("observed", "predicted"):
        if not pd.api.types.is_numeric_dtype(pred[col]):
            raise DataError(f"predictions column {col!r} is not numeric")
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


def _audit_table(audit: pd.DataFrame, target: str) -> str:
    rows = audit[audit["target"] == target]
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
    wide = audit.pivot_table(
        index=["target", "model"], columns="wavelet_mode", values="MAPE", aggfunc="first"
    )
    if not {"causal", "offline"} <= set(wide.columns):
        return ""
    gap = (wide["offline"] - wide["causal"]).dropna()
    if gap.empty:
        return ""
    better = int((gap < 0).sum())
    return (
        f"Offline denoising gave a lower MAPE than causal denoising for {better} of "
        f"{gap.size} model/target pairs (mean change {gap.mean():+.2f} percentage points)."
    )


# --------------------------------------------------------------------------- entry point


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

    ``metrics``: one row per model and target, columns model, target, MAPE, pMAPE, EVS, R, RMSE,
    MAE, NSE, KGE, fit_seconds. ``predictions``: columns time, model, target, observed,
    predicted over the test period, one row per model, target and time. ``notes``: bullet
    lines (data, split, settings). ``sections``: extra (heading, markdown text) pairs.
    ``audit``: a metrics frame with an extra column ``wavelet_mode`` ("causal"/"offline"); when
    given, a "Leakage audit" section compares the two modes per model. Bad frames raise
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
    slugs = _slugs(targets)
    all_models = list(dict.fromkeys([*metrics["model"], *predictions["model"]]))
    if audit is not None:
        all_models = list(dict.fromkeys([*all_models, *audit["model"]]))
    colours = F.model_colours(all_models)

    lines: list[str] = [f"# {title}", ""]
    if notes:
        lines += [f"- {n}" for n in notes] + [""]

    lines += ["## Metrics", "", METRIC_LEGEND, ""]
    for t in targets:
        rows = metrics[metrics["target"] == t]
        if rows.empty:
            continue
        lines += [f"### {t}", "", _metrics_table(rows).rstrip("\n"), ""]

    lines += ["## Figures", ""]
    for t in targets:
        pred = predictions[predictions["target"] == t]
        rows = metrics[metrics["target"] == t]
        made: list[tuple[str, str]] = []
        for kind, caption in FIGURE_KINDS:
            name = f"{slugs[t]}_{kind}.png"
            if kind == "mape":
                if rows.empty:
                    continue
                F.plot_mape_bars(rows, t, fig_dir / name, colours)
            else:
                if pred.empty:
                    continue
                plot = {
                    "forecasts": F.plot_forecasts,
                    "scatter": F.plot_scatter,
                    "residuals": F.plot_residuals,
                }[kind]
                plot(pred, t, fig_dir / name, colours)
            made.append((caption, f"figures/{name}"))
        if made:
            lines += [f"### {t}", ""]
            for caption, rel in made:
                alt = re.sub(r"[\[\]]", "", f"{t}: {caption}")
                lines += [f"**{caption}.**", "", f"![{alt}]({rel})", ""]

    for heading, text in sections:
        lines += [f"## {heading}", "", str(text).strip(), ""]

    if audit is not None:
        lines += ["## Leakage audit", "", LEAKAGE_TEXT, ""]
        summary = _audit_summary(audit)
        if summary:
            lines += [summary, ""]
        for t in dict.fromkeys(audit["target"]):
            lines += [f"### {t}", "", _audit_table(audit, t).rstrip("\n"), ""]

    path = out_dir / "report.md"
    path.write_text("\n".join(lines).rstrip("\n") + "\n", encoding="utf-8")
    return path
