"""The probabilistic part of a run's report: fan charts with the limit lines, reliability diagrams of the
exceedance probabilities, and the markdown tables of interval and limit scores (matplotlib ``Figure``, Agg;
nothing displayed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from wq.evaluate.conformal import level_key
from wq.evaluate.probabilistic import reliability
from wq.report.figures import OBSERVED_COLOUR, _save, _time_axis, axis_label
from wq.report.tables import markdown_table

__all__ = ["plot_fan", "plot_reliability", "probability_sections", "FAN_POINTS"]

FAN_POINTS = 120
"""The fan chart shows the last this many forecast times of the test period (readable bands)."""


def plot_fan(pred: pd.DataFrame, target: str, levels: Sequence[float], path: Path,
             limit: tuple[str, float] | None = None, title: str = "") -> Path:
    """Fan chart of one model, target and step: observed (black), forecast, the central intervals of every
    level (widest lightest) and the limit as a red dashed line. ``pred``: rows of that model, target and step
    with time, observed, predicted and the bound columns."""
    rows = pred.sort_values("time").tail(FAN_POINTS)
    t = pd.DatetimeIndex(rows["time"])
    fig = Figure(figsize=(10, 4.2))
    fig.subplots_adjust(left=0.08, right=0.8, bottom=0.14, top=0.9)
    ax = fig.subplots()
    for i, lv in enumerate(sorted(levels, reverse=True)):
        k = level_key(lv)
        ax.fill_between(t, rows[f"lower_{k}"], rows[f"upper_{k}"], color="#1f77b4", alpha=0.18 + 0.17 * i, lw=0,
                        label=f"{k} % interval")
    ax.plot(t, rows["predicted"], color="#1f77b4", lw=1.2, label="forecast")
    ax.plot(t, rows["observed"], color=OBSERVED_COLOUR, lw=0, marker=".", ms=4, label="observed")
    if limit is not None:
        ax.axhline(limit[1], color="#d62728", ls="--", lw=1.2, label=f"limit ({limit[0]} {limit[1]:g})")
    ax.set_ylabel(axis_label(target))
    ax.grid(alpha=0.3)
    _time_axis(ax, rows["time"])
    ax.set_title(title or f"{target}: forecast intervals")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _save(fig, path)


def plot_reliability(pred: pd.DataFrame, target: str, limit: tuple[str, float], path: Path,
                     bins: int = 10) -> Path:
    """Reliability diagram of the exceedance probabilities of one target and step, one line per model:
    forecast probability against observed frequency per bin (the diagonal is perfect), counts beneath."""
    from wq.evaluate.calibration import exceeds

    fig = Figure(figsize=(6.5, 6))
    fig.subplots_adjust(left=0.12, right=0.95, bottom=0.1, top=0.92, hspace=0.3)
    ax, hist = fig.subplots(2, 1, height_ratios=[3, 1])
    ax.plot([0, 1], [0, 1], color="0.6", ls=":", lw=1, label="perfect")
    for model, grp in pred.groupby("model", sort=False):
        o = exceeds(grp["observed"].to_numpy(), limit)
        p = grp["p_limit"].to_numpy(dtype=np.float64)
        ok = np.isfinite(o) & np.isfinite(p)
        table = reliability(p[ok], o[ok], bins)
        line = ax.plot(table["forecast"], table["observed"], marker="o", lw=1.2, label=model)[0]
        hist.bar(table["bin_low"] + 0.5 / bins, table["n"], width=0.9 / bins, alpha=0.5, color=line.get_color())
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("forecast probability")
    ax.set_ylabel("observed frequency")
    ax.set_title(f"{target}: reliability of P({limit[0]} {limit[1]:g})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, frameon=False)
    hist.set_yscale("log")
    hist.set_xlim(0, 1)
    hist.set_ylabel("forecasts")
    return _save(fig, path)


def probability_sections(out_dir: Path, metrics: pd.DataFrame, pred: pd.DataFrame, levels: Sequence[float],
                         model: str, limits: Mapping[str, tuple[str, float]], limit_scores: pd.DataFrame | None,
                         method: str, notes: Sequence[str] = ()) -> list[tuple[str, str]]:
    """Report sections (title, markdown) of the intervals and limits; writes the fan charts (declared
    ``model``, first step) and the reliability diagrams (first step) into ``out_dir``."""
    keys = [level_key(lv) for lv in levels]
    cols = ["model", "target", "step", *(f"{m}_{k}" for k in keys for m in ("coverage", "width", "interval_score")),
            "pinball", "CRPS"]
    how = {"split": "split conformal prediction on each model's validation errors",
           "aci": "adaptive conformal prediction (ACI) on each model's validation errors",
           "quantile": "hgb's quantile-loss regressors (every other model: ACI on its validation errors)",
           "cqr": "hgb's quantile regressors conformalised on the validation tail (CQR; every other model: ACI)"}
    text = [f"Intervals by {how.get(method, method)} per target and step ([evaluate] intervals = \"{method}\"); "
            f"nominal coverage {', '.join(k + ' %' for k in keys)}. Interval score: Winkler (lower is better); "
            f"pinball: mean over the interval bounds; CRPS of the conformal predictive distribution.", "",
            markdown_table(metrics[[c for c in cols if c in metrics]].reset_index(drop=True)), ""]
    step = int(pred["step"].min())
    if model not in set(pred["model"]):
        model = str(pred["model"].iloc[0])
    for target, grp in pred[(pred["model"] == model) & (pred["step"] == step)].groupby("target", sort=False):
        name = f"figures/fan_{_slug(target)}.png"
        plot_fan(grp, target, levels, out_dir / name, limits.get(target),
                 f"{target}: {model}, step {step}, last {FAN_POINTS} forecasts of the test period")
        text.append(f"![fan chart {target}]({name})")
    sections = [("Intervals", "\n".join(text))]
    if limits and limit_scores is not None and len(limit_scores):
        lines = ["Probability of crossing each limit from the conformal predictive distribution; Brier skill (BSS) "
                 "against climatology (the training-period exceedance frequency); hit rate and false-alarm rate "
                 "(share of non-events warned) at the warn and alarm thresholds.", *notes, "",
                 markdown_table(limit_scores.reset_index(drop=True)), ""]
        first = pred[(pred["step"] == step) & pred["target"].isin(list(limits))]
        for target, grp in first.groupby("target", sort=False):
            name = f"figures/reliability_{_slug(target)}.png"
            plot_reliability(grp, target, limits[target], out_dir / name)
            lines.append(f"![reliability {target}]({name})")
        sections.append(("Limits and alarms", "\n".join(lines)))
    return sections


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)
