"""Report figures, one PNG per kind and target (matplotlib, Agg, nothing displayed).

Figures are built on :class:`matplotlib.figure.Figure` directly, not through ``pyplot``: no
global backend switch, no open-figure registry, safe to call from batch jobs. Each model keeps
one colour in every figure (:func:`model_colours`); the observations are black.

(a) :func:`plot_forecasts`   observed and every model over the test period, plus a zoom on the
    window around the highest observation;
(b) :func:`plot_scatter`     observed vs predicted, one small panel per model, 1:1 line, R in the title;
(c) :func:`plot_residuals`   residual = observed - predicted over time, one panel per model;
(d) :func:`plot_mape_bars`   MAPE and pMAPE per model, grouped bars;
(e) :func:`plot_lead_time`   MAPE and MAE against the forecast step (lead time), one line per model
    (multi-step forecasts).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import dates as mdates
from matplotlib.figure import Figure

__all__ = [
    "DPI",
    "OBSERVED_COLOUR",
    "model_colours",
    "axis_label",
    "split_unit",
    "zoom_window",
    "plot_forecasts",
    "plot_scatter",
    "plot_residuals",
    "plot_mape_bars",
    "plot_lead_time",
]

DPI = 110
OBSERVED_COLOUR = "#000000"

# The study's models and baselines get fixed colours (the proposed model in red).
_KNOWN_COLOURS: dict[str, str] = {
    "dwt-pca-lstm": "#d62728",
    "lstm": "#1f77b4",
    "dwt-lstm": "#ff7f0e",
    "pca-lstm": "#2ca02c",
    "dwt-pca-rnn": "#9467bd",
    "dwt-pca-bp": "#8c564b",
    "dwt-pca-svm": "#e377c2",
    "hgb": "#bcbd22",
    "persistence": "#7f7f7f",
    "seasonal-naive": "#17becf",
}
# Other names: a stable pick from these by a hash of the name.
_EXTRA_COLOURS: tuple[str, ...] = (
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2",
    "#dbdb8d", "#9edae5", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
    "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#fd8d3c",
)  # fmt: skip

# Unit suffixes recognised in column names ("water_demand_mgd" -> "water demand [mgd]").
_UNITS: dict[str, str] = {
    "mgd": "mgd", "mld": "ML/d", "cfs": "cfs", "cms": "m³/s", "m3_s": "m³/s", "m3s": "m³/s",
    "m3_h": "m³/h", "m3h": "m³/h", "m3_d": "m³/d", "m3d": "m³/d", "l_s": "L/s", "ls": "L/s",
    "mg_l": "mg/L", "mgl": "mg/L", "ug_l": "µg/L", "ugl": "µg/L", "us_cm": "µS/cm",
    "uscm": "µS/cm", "ms_cm": "mS/cm", "ntu": "NTU", "fnu": "FNU", "psu": "PSU", "ppt": "ppt",
    "pct": "%", "percent": "%", "c": "°C", "degc": "°C", "f": "°F", "degf": "°F",
    "in": "in", "mm": "mm", "m": "m", "kwh": "kWh", "mwh": "MWh", "kw": "kW", "hpa": "hPa",
}  # fmt: skip


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", "-", str(name).strip().lower())


def model_colours(models: Iterable[str]) -> dict[str, str]:
    """A fixed colour per model name, the same in every figure and every report.

    The study's models have assigned colours; any other name gets a colour chosen by a stable
    hash (CRC-32) of its name, moved to the next free colour only when two names in the same
    call collide. Names are matched case-insensitively, with '_' or spaces read as '-'.
    """
    names = list(dict.fromkeys(str(m) for m in models))
    out = {m: _KNOWN_COLOURS[_key(m)] for m in names if _key(m) in _KNOWN_COLOURS}
    used = set(out.values())
    for m in sorted(n for n in names if n not in out):
        i = zlib.crc32(_key(m).encode()) % len(_EXTRA_COLOURS)
        for step in range(len(_EXTRA_COLOURS)):
            colour = _EXTRA_COLOURS[(i + step) % len(_EXTRA_COLOURS)]
            if colour not in used:
                break
        out[m] = colour  # more models than colours: reuse the hashed one
        used.add(colour)
    return {m: out[m] for m in names}


def split_unit(column: str) -> tuple[str, str | None]:
    """(quantity, unit) read from a column name; unit None when none is recognised.

    A trailing unit in brackets or parentheses is taken as written ("flow (m3/h)"); a known unit
    suffix after the last one or two underscores is translated ("water_demand_mgd" ->
    ("water demand", "mgd"), "nh4_mg_l" -> ("nh4", "mg/L")).
    """
    name = str(column).strip()
    found = re.match(r"^(.*?)\s*[\[(]([^\[\]()]*)[\])]\s*$", name)
    if found and found.group(1):
        return found.group(1).replace("_", " "), found.group(2)
    tokens = name.split("_")
    for k in (2, 1):
        if len(tokens) > k:
            suffix = "_".join(tokens[-k:]).lower()
            if suffix in _UNITS:
                return " ".join(tokens[:-k]), _UNITS[suffix]
    return name.replace("_", " "), None


def axis_label(column: str, quantity: str | None = None) -> str:
    """Axis label "quantity [unit]" with the unit from the column name (see :func:`split_unit`).

    ``quantity`` replaces the name read from the column ("residual" -> "residual [mgd]").
    """
    name, unit = split_unit(column)
    name = name if quantity is None else quantity
    return name if unit is None else f"{name} [{unit}]"


def zoom_window(observed: np.ndarray, half_width: int | None = None) -> slice:
    """Positions of the window around the highest observation, for the peak zoom.

    The window is the maximum's position +- ``half_width`` samples (default max(7, n // 20)),
    shifted to stay inside the series.
    """
    obs = np.asarray(observed, dtype=float)
    n = obs.size
    if n == 0 or not np.isfinite(obs).any():
        return slice(0, n)
    half = max(7, n // 20) if half_width is None else int(half_width)
    width = min(n, 2 * half + 1)
    centre = int(np.nanargmax(obs))
    start = min(max(centre - half, 0), n - width)
    return slice(start, start + width)


def _save(fig: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # zlib level 1: a third faster than the default 6 for ~10 % larger files
    fig.savefig(
        path, dpi=DPI, format="png", metadata={"Software": None}, pil_kwargs={"compress_level": 1}
    )
    return path


def _time_axis(ax, times: pd.Series) -> None:
    if pd.api.types.is_datetime64_any_dtype(times):
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _wide(pred: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """One target's long predictions -> (time, observed, predicted per model as columns)."""
    table = pred.pivot(index="time", columns="model", values="predicted").sort_index()
    observed = pred.drop_duplicates("time").set_index("time")["observed"].reindex(table.index)
    models = list(dict.fromkeys(pred["model"]))
    return table.index.to_series(), observed, table[models]


def _grid(n: int, max_cols: int) -> tuple[int, int]:
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def plot_forecasts(
    pred: pd.DataFrame, target: str, path: Path, colours: Mapping[str, str]
) -> Path:
    """(a) Observed and predicted over the test period (top) and around the highest peak (bottom).

    ``pred``: one target's rows with columns time, model, observed, predicted.
    """
    time, observed, wide = _wide(pred)
    fig = Figure(figsize=(11, 6.5))
    fig.subplots_adjust(left=0.07, right=0.83, bottom=0.08, top=0.95, hspace=0.35)
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 2])
    window = zoom_window(observed.to_numpy())
    for ax, sl in ((top, slice(None)), (bottom, window)):
        t = time.iloc[sl]
        ax.plot(t, observed.iloc[sl], color=OBSERVED_COLOUR, lw=1.6, label="observed", zorder=3)
        for m in wide.columns:
            ax.plot(t, wide[m].iloc[sl], color=colours[m], lw=1.0, alpha=0.85, label=m)
        ax.set_ylabel(axis_label(target))
        ax.grid(alpha=0.3)
        _time_axis(ax, t)
    if len(time):
        top.axvspan(time.iloc[window.start], time.iloc[window.stop - 1], color="0.85", zorder=0)
    top.set_title(f"{target}: observed and predicted, test period")
    bottom.set_title("zoom on the highest observed peak (shaded above)")
    bottom.set_xlabel("time")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _save(fig, path)


def _pearson_text(obs: np.ndarray, prd: np.ndarray) -> str:
    ok = np.isfinite(obs) & np.isfinite(prd)
    a, b = obs[ok], prd[ok]
    if a.size < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return "R = n/a"
    return f"R = {np.corrcoef(a, b)[0, 1]:.3f}"


def plot_scatter(pred: pd.DataFrame, target: str, path: Path, colours: Mapping[str, str]) -> Path:
    """(b) Observed (x) vs predicted (y), one panel per model, common limits, 1:1 line, R in title."""
    _, observed, wide = _wide(pred)
    obs = observed.to_numpy(dtype=float)
    rows, cols = _grid(wide.shape[1], 4)
    width, height = max(5.5, 2.6 * cols + 0.9), 2.6 * rows + 0.9
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(
        left=0.75 / width, right=1 - 0.15 / width, bottom=0.55 / height, top=1 - 0.75 / height,
        wspace=0.15, hspace=0.45,
    )
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    values = np.concatenate([obs, wide.to_numpy(dtype=float).ravel()])
    values = values[np.isfinite(values)]
    lo, hi = (values.min(), values.max()) if values.size else (0.0, 1.0)
    pad = 0.03 * (hi - lo or 1.0)
    lims = (lo - pad, hi + pad)
    label = axis_label(target)
    for ax, m in zip(axes, wide.columns, strict=False):
        prd = wide[m].to_numpy(dtype=float)
        ax.plot(lims, lims, color="0.5", lw=0.8, ls="--", label="1:1")
        ax.scatter(obs, prd, s=6 if obs.size > 200 else 14, color=colours[m], alpha=0.6, linewidths=0, label=m)
        ax.set_title(f"{m}\n{_pearson_text(obs, prd)}", fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[len(wide.columns) :]:
        ax.set_visible(False)
    ax0 = axes[0]
    ax0.set_xlim(lims)
    ax0.set_ylim(lims)
    for ax in axes[: len(wide.columns)]:
        ax.set_aspect("equal", adjustable="box")
    for ax in axes[(rows - 1) * cols :]:
        ax.set_xlabel(f"observed {label}", fontsize=8)
    for ax in axes[::cols]:
        ax.set_ylabel(f"predicted {label}", fontsize=8)
    ax0.legend(loc="upper left", fontsize=7, frameon=False)
    fig.suptitle(f"{target}: observed vs predicted, test period")
    return _save(fig, path)


def plot_residuals(
    pred: pd.DataFrame, target: str, path: Path, colours: Mapping[str, str]
) -> Path:
    """(c) Residual = observed - predicted over the test period, one panel per model, shared axes."""
    time, observed, wide = _wide(pred)
    n = wide.shape[1]
    rows, cols = _grid(n, 1 if n <= 4 else 2)
    height = 1.5 * rows + 1.0
    fig = Figure(figsize=(11, height))
    fig.subplots_adjust(
        left=0.07, right=0.98, bottom=0.5 / height, top=1 - 0.45 / height, wspace=0.08, hspace=0.12
    )
    axes = np.atleast_1d(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)).ravel()
    resid = observed.to_numpy(dtype=float)[:, None] - wide.to_numpy(dtype=float)
    label = axis_label(target, "residual")
    for j, (ax, m) in enumerate(zip(axes, wide.columns, strict=False)):
        ax.axhline(0.0, color="0.4", lw=0.8)
        ax.plot(time, resid[:, j], color=colours[m], lw=0.9)
        ax.text(0.005, 0.95, m, transform=ax.transAxes, va="top", fontsize=8, weight="bold")
        ax.grid(alpha=0.3)
        _time_axis(ax, time)
    for ax in axes[n:]:
        ax.set_visible(False)
    for ax in axes[::cols]:
        ax.set_ylabel(label, fontsize=8)
    for ax in axes[max(0, n - cols) : n]:
        ax.set_xlabel("time")
        ax.xaxis.set_tick_params(labelbottom=True)
    fig.suptitle(f"{target}: residual = observed − predicted, test period")
    return _save(fig, path)


def plot_mape_bars(
    metrics: pd.DataFrame, target: str, path: Path, colours: Mapping[str, str]
) -> Path:
    """(d) MAPE and pMAPE per model: one group per metric, one bar per model (sorted by MAPE)."""
    table = metrics.sort_values("MAPE", kind="stable")
    models = table["model"].tolist()
    groups = ["MAPE", "pMAPE"]
    n = len(models)
    width = 0.8 / max(n, 1)
    fig_w = max(6.0, 3.0 + 0.45 * n * len(groups))
    fig = Figure(figsize=(fig_w, 4.2))
    fig.subplots_adjust(left=0.8 / fig_w, right=1 - 2.0 / fig_w, bottom=0.1, top=0.9)
    ax = fig.subplots()
    x = np.arange(len(groups))
    top = 0.0
    for i, m in enumerate(models):
        vals = table.loc[table["model"] == m, groups].to_numpy(dtype=float).ravel()
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, np.nan_to_num(vals), width=width * 0.95, color=colours[m], label=m)
        for p, v in zip(pos, vals, strict=True):
            text = "n/a" if not np.isfinite(v) else f"{v:.1f}"
            ax.text(p, np.nan_to_num(v), text, ha="center", va="bottom", fontsize=7, rotation=90)
        if np.isfinite(vals).any():
            top = max(top, float(np.nanmax(vals)))
    ax.set_xticks(x, [f"{g} [%]" for g in groups])
    ax.set_ylabel("error [%]")
    ax.set_ylim(0, top * 1.18 or 1.0)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"{target}: MAPE and pMAPE per model, test period (lower is better)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _save(fig, path)


def plot_lead_time(
    metrics: pd.DataFrame, target: str, path: Path, colours: Mapping[str, str]
) -> Path:
    """(e) Error against lead time: MAPE (left) and MAE (right) per forecast step, one line per model.

    ``metrics``: one target's rows with columns model, step, MAPE, MAE (one row per model and step).
    A step h is the forecast made h steps before the time it forecasts, so the lines show how skill
    decays with the lead time.
    """
    steps = np.sort(metrics["step"].unique())
    fig = Figure(figsize=(10, 4.0))
    fig.subplots_adjust(left=0.07, right=0.83, bottom=0.13, top=0.85, wspace=0.25)
    axes = fig.subplots(1, 2)
    order = metrics[metrics["step"] == steps[0]].sort_values(["MAPE", "model"], kind="stable")["model"]
    models = list(dict.fromkeys([*order, *metrics["model"]]))
    for ax, col, unit in ((axes[0], "MAPE", "MAPE [%]"), (axes[1], "MAE", axis_label(target, "MAE"))):
        for m in models:
            rows = metrics[metrics["model"] == m].sort_values("step")
            ax.plot(rows["step"], rows[col], color=colours[m], marker="o", ms=4, lw=1.3, label=m)
        ax.set_xticks(steps)
        ax.set_xlabel("forecast step (lead time)")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3)
        ax.set_title(f"{col} by lead time", fontsize=10)
    fig.suptitle(f"{target}: error against lead time, test period (lower is better)")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    return _save(fig, path)
