"""Prediction intervals, predictive distributions and limit-exceedance probabilities for any point forecaster,
by conformal prediction on its own forecast errors (per target and forecast step).

The predictive distribution of a forecast ``yhat`` is ``yhat + R`` with R the empirical distribution of a *pool*
of signed errors ``y - yhat`` of the same model, target and step:

- **split** conformal (Vovk et al. 2005; Lei et al. 2018): the pool is the model's errors on the validation
  tail of its training part (never the test period). The central ``level`` interval is
  ``[yhat + r_(k_lo), yhat + r_(k_hi)]`` with ``k_lo = floor((n + 1) alpha / 2)`` and
  ``k_hi = ceil((n + 1)(1 - alpha / 2))`` (the finite-sample correction: coverage >= level for exchangeable
  errors). When the pool is too small for a level (``k_lo < 1`` or ``k_hi > n``) the bound is the extreme
  error and a :class:`ConformalWarning` says the guarantee is lost.
- **aci**: adaptive conformal inference (Gibbs & Candès 2021): as each observation arrives (its target time is
  at or before the origin of the next forecast), its error joins the pool and the working miss rate of every
  level moves, ``alpha_t+1 = alpha_t + gamma (alpha - miss_t)``; intervals use ``alpha_t`` (clipped to [0, 1]).
  Only errors known at the origin are used, so a forecast's interval never depends on later data.

Exceedance probability of a limit: ``P(yhat + R > limit)`` (``above``) or ``P(yhat + R < limit)`` (``below``)
from the same pool; CRPS of the same distribution (:func:`wq.evaluate.probabilistic.crps_pool_each`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from wq.evaluate.probabilistic import crps_pool_each

__all__ = ["ConformalWarning", "level_key", "bound_columns", "residual_pools", "conformal_offsets",
           "exceed_probability", "add_intervals", "DEFAULT_GAMMA"]

DEFAULT_GAMMA = 0.005
"""ACI step size (Gibbs & Candès 2021 use 0.005)."""

Limit = tuple[str, float]  # ("above" | "below", value)


class ConformalWarning(UserWarning):
    """An interval lost its finite-sample guarantee (too few errors in the pool for the level), or no pool."""


def level_key(level: float) -> str:
    """Column suffix of a level: 0.8 -> ``"80"``, 0.95 -> ``"95"``, 0.975 -> ``"97.5"``."""
    return f"{round(level * 100, 6):g}"


def bound_columns(levels: Sequence[float]) -> list[str]:
    """``lower_80, upper_80, lower_95, upper_95`` ... for ``levels``."""
    return [f"{side}_{level_key(lv)}" for lv in levels for side in ("lower", "upper")]


def residual_pools(pred: pd.DataFrame, observed_mask: pd.DataFrame | None = None) -> dict[tuple, np.ndarray]:
    """Sorted signed errors ``observed - predicted`` per (target, step) of a long forecast frame (columns
    target, step, time, observed, predicted); values filled by the data layer (``observed_mask`` False) and
    missing values left out."""
    pred = _observed_only(pred, observed_mask)
    err = (pred["observed"] - pred["predicted"]).to_numpy(dtype=np.float64)
    ok = np.isfinite(err)
    pools = {}
    for key, idx in pred[ok].groupby(["target", "step"], sort=False).indices.items():
        pools[(key[0], int(key[1]))] = np.sort(err[ok][idx])
    return pools


def _observed_only(pred: pd.DataFrame, observed_mask: pd.DataFrame | None) -> pd.DataFrame:
    """``pred`` with observed set to NaN where the data layer filled the value."""
    if observed_mask is None:
        return pred
    pred = pred.copy()
    for target, idx in pred.groupby("target", sort=False).indices.items():
        keep = observed_mask[target].reindex(pd.DatetimeIndex(pred["time"].iloc[idx])).fillna(False).to_numpy(bool)
        col = pred.columns.get_loc("observed")
        vals = pred.iloc[idx, col].to_numpy(dtype=np.float64)
        pred.iloc[idx, col] = np.where(keep, vals, np.nan)
    return pred


def conformal_rank(n: int, level: float) -> int:
    """1-based rank ``ceil((n + 1) level)`` of the split-conformal quantile of ``n`` scores (float noise in the
    product ignored); above ``n`` when the pool is too small for the finite-sample guarantee."""
    return math.ceil((n + 1) * level - 1e-9)


def _ranks(n: int, alpha: float) -> tuple[int, int, bool]:
    """1-based order statistics of the two bounds and whether they had to be clipped into 1 .. n."""
    k_lo = math.floor((n + 1) * alpha / 2 + 1e-9)
    k_hi = conformal_rank(n, 1 - alpha / 2)
    clipped = k_lo < 1 or k_hi > n
    return min(max(k_lo, 1), n), min(max(k_hi, 1), n), clipped


def conformal_offsets(r_sorted: np.ndarray, alpha: float) -> tuple[float, float, bool]:
    """(lower, upper) offsets from the point forecast of the central ``1 - alpha`` conformal interval of a
    sorted error pool, and whether the pool was too small for the finite-sample guarantee."""
    k_lo, k_hi, clipped = _ranks(r_sorted.size, alpha)
    return float(r_sorted[k_lo - 1]), float(r_sorted[k_hi - 1]), clipped


def exceed_probability(r_sorted: np.ndarray, yhat, limit: Limit) -> np.ndarray:
    """Probability that ``yhat + R`` crosses the limit (``("above", v)``: > v; ``("below", v)``: < v)."""
    kind, value = limit
    d = value - np.asarray(yhat, dtype=np.float64)
    n = r_sorted.size
    if kind == "above":
        p = (n - np.searchsorted(r_sorted, d, side="right")) / n
    else:
        p = np.searchsorted(r_sorted, d, side="left") / n
    return np.where(np.isfinite(d), p, np.nan)


def add_intervals(pred: pd.DataFrame, pools: Mapping[tuple, np.ndarray], levels: Sequence[float],
                  method: str = "split", gamma: float = DEFAULT_GAMMA, limits: Mapping[str, Limit] | None = None,
                  observed_mask: pd.DataFrame | None = None) -> pd.DataFrame:
    """``pred`` (one model's long forecasts: origin, time, step, target, predicted, observed) with the columns
    of :func:`bound_columns`, ``p_limit`` (probability of crossing the target's limit; NaN without one) and
    ``crps`` (NaN where nothing was observed). ``method``: ``"split"`` (the pools as given) or ``"aci"``
    (the pools grow with the errors observed before each origin, levels adapt)."""
    out = pred.copy()
    for col in [*bound_columns(levels), "p_limit", "crps"]:
        out[col] = np.nan
    seen = _observed_only(pred, observed_mask)["observed"].to_numpy(dtype=np.float64)
    limits = limits or {}
    later = []
    for (target, step), idx in out.groupby(["target", "step"], sort=False).indices.items():
        pool = pools.get((target, int(step)))
        if pool is None or pool.size == 0:
            warnings.warn(f"{target} step {step}: no validation errors to calibrate intervals on",
                          ConformalWarning, stacklevel=2)
            continue
        if method != "split":
            later.append((target, idx, pool))
            continue
        values = _split(out.iloc[idx], seen[idx], pool, levels, gamma, limits.get(target))
        for col, v in values.items():
            out.iloc[idx, out.columns.get_loc(col)] = v
    if later:
        _aci_all(out, seen, later, levels, gamma, limits)
    return out


def _warn_clipped(n: int, levels: Sequence[float]) -> None:
    small = [lv for lv in levels if _ranks(n, 1 - lv)[2]]
    if small:
        warnings.warn(f"{n} validation errors are too few for level(s) {small} (need >= {math.ceil(2 / (1 - max(small))) - 1}):"
                      f" their bounds are the extreme errors and coverage is not guaranteed", ConformalWarning,
                      stacklevel=3)


def _split(rows: pd.DataFrame, y: np.ndarray, pool: np.ndarray, levels, gamma, limit) -> dict[str, np.ndarray]:
    yhat = rows["predicted"].to_numpy(dtype=np.float64)
    _warn_clipped(pool.size, levels)
    values = {}
    for lv in levels:
        lo, hi, _ = conformal_offsets(pool, 1 - lv)
        values[f"lower_{level_key(lv)}"] = yhat + lo
        values[f"upper_{level_key(lv)}"] = yhat + hi
    if limit is not None:
        values["p_limit"] = exceed_probability(pool, yhat, limit)
    values["crps"] = np.where(np.isfinite(y), crps_pool_each(pool, y - yhat), np.nan)
    return values


def _aci_all(out: pd.DataFrame, seen: np.ndarray, groups: list, levels, gamma: float, limits) -> None:
    """Adaptive conformal for every (target, step) series of ``out`` in place; series with the same forecast
    origins advance together (:func:`wq.evaluate.aci.adaptive_conformal`), each forecast using only errors
    whose target time is at or before its origin."""
    from wq.evaluate.aci import adaptive_conformal

    batches: dict[bytes, list] = {}
    for target, idx, pool in groups:
        origin = pd.DatetimeIndex(out["origin"].iloc[idx]).to_numpy()
        order = np.argsort(origin, kind="stable")
        batches.setdefault(origin[order].tobytes(), []).append((target, idx[order], pool, origin[order]))
    yhat_all = out["predicted"].to_numpy(dtype=np.float64)
    times = pd.DatetimeIndex(out["time"]).to_numpy()
    alpha_nom = np.array([1 - lv for lv in levels])
    for series in batches.values():
        rows = np.stack([s[1] for s in series])
        yhat = yhat_all[rows]
        kinds = [(limits or {}).get(s[0]) for s in series]
        d = np.stack([np.full(rows.shape[1], np.nan) if lim is None else lim[1] - yh for lim, yh in zip(kinds, yhat)])
        above = np.array([lim is not None and lim[0] == "above" for lim in kinds])
        lo, hi, p_limit, crps = adaptive_conformal(series[0][3], times[rows], yhat, seen[rows],
                                                   [np.sort(np.asarray(s[2], dtype=np.float64)) for s in series],
                                                   alpha_nom, gamma, d, above)
        flat = rows.ravel()
        for c, lv in enumerate(levels):
            out.iloc[flat, out.columns.get_loc(f"lower_{level_key(lv)}")] = lo[:, :, c].ravel()
            out.iloc[flat, out.columns.get_loc(f"upper_{level_key(lv)}")] = hi[:, :, c].ravel()
        if above.size and any(k is not None for k in kinds):
            out.iloc[flat, out.columns.get_loc("p_limit")] = p_limit.ravel()
        out.iloc[flat, out.columns.get_loc("crps")] = crps.ravel()
