"""Intervals from quantile models: ``[evaluate] intervals = "quantile"`` and ``"cqr"``.

- **quantile**: the central ``level`` interval is ``[q_(alpha/2), q_(1 - alpha/2)]`` of the model's own
  quantile-loss regressors (gradient boosting with ``loss="quantile"``, one per output and tau, fitted on the
  fitting part with the point model's iteration count, so that the validation windows choose nothing more and
  their errors stay fit to calibrate on). Crossed quantiles are swapped.
- **cqr**: conformalised quantile regression (Romano, Patterson & Candès 2019): on the validation tail of the
  training part the conformity scores ``E = max(q_lo - y, y - q_hi)`` per target, step and level; the bounds
  move out (or in) by ``E_(k)``, ``k = ceil((n + 1) level)``: coverage >= level for exchangeable data.

Exceedance probabilities and CRPS (which need a whole distribution) come from the split-conformal pool of the
same validation errors (:mod:`wq.evaluate.conformal`). Only models with quantile regressors qualify
(``has_quantiles``: ``hgb``); :func:`wq.evaluate.backtest.evaluate_split` gives every other model ACI intervals
and says so.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from wq.evaluate.conformal import ConformalWarning, _observed_only, conformal_rank, level_key

__all__ = ["taus", "quantile_bounds", "cqr_corrections", "apply_quantile_bounds"]


def taus(levels) -> list[float]:
    """The quantile levels the central intervals of ``levels`` need: ``(1 - lv) / 2`` and ``(1 + lv) / 2``."""
    return sorted({round((1 - lv) / 2, 10) for lv in levels} | {round((1 + lv) / 2, 10) for lv in levels})


def quantile_bounds(model, frame: pd.DataFrame, positions: np.ndarray, levels) -> dict[str, np.ndarray]:
    """Bound columns (``lower_80`` ...) of a quantile model's forecasts from ``positions``, in the row order of
    :func:`wq.evaluate.backtest.forecast_origins` (``model.to_long``)."""
    upto = frame.iloc[: int(positions.max()) + model.horizon + 1]
    qs = model.predict_quantiles(upto, upto.index[positions], taus(levels))
    out = {}
    for lv in levels:
        lo, hi = qs[round((1 - lv) / 2, 10)], qs[round((1 + lv) / 2, 10)]
        lo, hi = np.minimum(lo, hi), np.maximum(lo, hi)
        key = level_key(lv)
        out[f"lower_{key}"] = model.to_long(frame, positions, lo)["predicted"].to_numpy(dtype=np.float64)
        out[f"upper_{key}"] = model.to_long(frame, positions, hi)["predicted"].to_numpy(dtype=np.float64)
    return out


def cqr_corrections(val: pd.DataFrame, bounds: dict[str, np.ndarray], levels,
                    observed_mask: pd.DataFrame | None = None) -> dict[tuple, dict[float, float]]:
    """Per (target, step) and level the CQR correction ``E_(k)`` from validation forecasts ``val`` (long frame
    with ``observed``) and their quantile ``bounds``; values the data layer filled (``observed_mask`` False) and
    missing ones are left out."""
    observed = _observed_only(val, observed_mask)["observed"].to_numpy(dtype=np.float64)
    out: dict[tuple, dict[float, float]] = {}
    for (target, step), idx in val.groupby(["target", "step"], sort=False).indices.items():
        y = observed[idx]
        corr = {}
        for lv in levels:
            key = level_key(lv)
            e = np.maximum(bounds[f"lower_{key}"][idx] - y, y - bounds[f"upper_{key}"][idx])
            e = np.sort(e[np.isfinite(e)])
            if e.size == 0:
                continue
            k = conformal_rank(e.size, lv)
            if k > e.size:
                warnings.warn(f"{target} step {step}: {e.size} validation errors are too few for the {lv} CQR "
                              f"interval: its correction is the largest score, coverage not guaranteed",
                              ConformalWarning, stacklevel=2)
            corr[lv] = float(e[min(k, e.size) - 1])
        out[(target, int(step))] = corr
    return out


def apply_quantile_bounds(chunk: pd.DataFrame, bounds: dict[str, np.ndarray], levels,
                          corrections: dict | None = None) -> pd.DataFrame:
    """``chunk`` with its bound columns replaced by the quantile ``bounds`` (same row order), widened by the
    CQR ``corrections`` when given (a (target, step) or level without one: NaN bounds, never a guess)."""
    out = chunk.copy()
    for lv in levels:
        key = level_key(lv)
        lo, hi = bounds[f"lower_{key}"].copy(), bounds[f"upper_{key}"].copy()
        if corrections is not None:
            q = np.array([corrections.get((t, int(s)), {}).get(lv, np.nan)
                          for t, s in zip(out["target"], out["step"])])
            lo, hi = lo - q, hi + q
        out[f"lower_{key}"], out[f"upper_{key}"] = lo, hi
    return out
