"""Intervals, limit-exceedance probabilities and alarms of batch forecasts, and their rolling coverage.

- ``wq train`` keeps each model's validation errors per target and step in the artifact's meta
  (:func:`conformal_meta`: the pools of split conformal, :mod:`wq.evaluate.conformal`).
- ``wq forecast`` adds ``lower_<level>`` / ``upper_<level>`` per ``[evaluate] levels`` and ``p_limit`` (the
  probability of crossing the target's ``[limits]`` limit) to every forecast row (:func:`add_probabilistic`).
  With ``[evaluate] intervals = "aci"`` and a SQLite store, the store's earlier forecasts of the same model
  version whose observations have arrived (scored against the fresh data) join the pool and adapt the levels
  (ACI), using only what was observed at each forecast's origin; in a backfill the earlier as-of times of the
  same run count as issued, so a backfill into a store equals day-by-day runs into it. Without a store (dry
  run, CSV) there is no record to learn from: split conformal on the validation errors. The store keeps them (schema 3, table
  ``probabilistic``), a CSV store as columns. With ``"quantile"`` or ``"cqr"`` an hgb artifact's quantile regressors give
  the bounds (CQR: moved by the corrections ``wq train`` kept), the pools ``p_limit``.
- :func:`alarms`: the forecasts whose ``p_limit`` reaches ``[limits] warn`` (level ``warn``) or ``alarm``
  (level ``alarm``); ``wq forecast --fail-on-alarm`` exits :data:`wq.cli.batch.EXIT_ALARM` (4) on an alarm.
- :func:`rolling_coverage` (``wq score``): per series and level, the share of the last ``window`` days'
  scored forecasts inside their interval, with a calibration-drift flag when it falls below the nominal
  level by more than two binomial standard errors (and at least :data:`MIN_COVERAGE_N` forecasts).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["conformal_meta", "add_probabilistic", "alarms", "rolling_coverage", "MIN_COVERAGE_N"]

MIN_COVERAGE_N = 10
"""Fewest scored forecasts in the window before a calibration drift can be flagged."""


def conformal_meta(model: Any, frame: pd.DataFrame, val_fraction: float, observed=None,
                   levels=()) -> dict | None:
    """The validation errors of a model fitted on ``frame`` per target and step (sorted lists), for the
    artifact's meta, and for a model with quantile regressors (hgb) the CQR corrections per target, step and
    level (``"cqr"``, :mod:`wq.evaluate.quantile`); None without a validation tail."""
    from wq.evaluate.backtest import forecast_origins, validation_pools

    n = len(frame)
    n_fit = int(getattr(model, "n_fit_", None) or n - int(round(n * float(val_fraction))))
    if n_fit + model.horizon > n or val_fraction <= 0:
        return None
    pools = validation_pools(model, frame, val_fraction, observed)
    out: dict[str, dict[str, list[float]]] = {}
    for (target, step), errors in pools.items():
        out.setdefault(target, {})[str(step)] = [float(e) for e in errors]
    meta = {"pools": out, "fewest": min((len(e) for e in pools.values()), default=0)}
    if levels and getattr(model, "has_quantiles", False):
        from wq.evaluate.quantile import cqr_corrections, quantile_bounds

        val_pos = np.arange(n_fit - 1, n - model.horizon)
        val = forecast_origins(model, frame, val_pos)
        corr = cqr_corrections(val, quantile_bounds(model, frame, val_pos, levels), levels, observed)
        meta["cqr"] = {t: {} for t, _ in corr}
        for (target, step), by_level in corr.items():
            meta["cqr"][target][str(step)] = {repr(float(lv)): float(v) for lv, v in by_level.items()}
    return meta


def _pools(meta: dict) -> dict[tuple, np.ndarray]:
    return {(t, int(s)): np.sort(np.asarray(v, dtype=np.float64))
            for t, steps in meta["pools"].items() for s, v in steps.items()}


def add_probabilistic(bm: Any, rows: pd.DataFrame, frame: pd.DataFrame, store=None) -> pd.DataFrame:
    """``rows`` (store rows of one artifact) with the bound columns and ``p_limit``; unchanged when the
    pipeline sets no levels or the artifact has no validation errors (trained before wq kept them)."""
    from wq.evaluate.conformal import ConformalWarning, add_intervals

    pipe = bm.pipeline
    conformal = bm.meta.get("conformal")
    if not pipe.evaluate.levels or not conformal:
        return rows
    pred = pd.DataFrame({"origin": pd.to_datetime(rows["as_of"]), "time": pd.to_datetime(rows["time"]),
                         "step": rows["step"].to_numpy(), "target": rows["target"].to_numpy(),
                         "predicted": rows["value"].to_numpy(dtype=np.float64)})
    pred["observed"] = _observed(frame, pred)
    n_new = len(pred)
    # ACI learns from forecasts that were (or, in a backfill, would have been) issued to the store; without a
    # store there is no record to learn from: the validation errors alone (split), so a dry run or a CSV run
    # gives the same intervals whether its as-of times come in one backfill or one by one
    method = pipe.evaluate.intervals if store is not None else "split"
    quantile = _quantile_method(bm, conformal)
    if method in ("quantile", "cqr"):  # p_limit (and the bounds of a model without quantile regressors): ACI
        method = "aci"
    if method == "aci":
        pred = pd.concat([pred, _history(bm, store, frame, pred)], ignore_index=True)
    with warnings.catch_warnings():  # too few validation errors for a level: said once, by wq train
        warnings.simplefilter("ignore", ConformalWarning)
        out = add_intervals(pred, _pools(conformal), pipe.evaluate.levels, method, pipe.evaluate.aci_gamma,
                            pipe.limits.limits()).iloc[:n_new]
    extra = [c for c in out.columns if c.startswith(("lower_", "upper_"))]
    if pipe.limits.targets:
        extra.append("p_limit")
    if quantile:
        out = _quantile_rows(bm, out, frame, conformal.get("cqr") if quantile == "cqr" else None)
    rows = rows.copy()
    for col in extra:
        rows[col] = out[col].to_numpy()
    return rows


def _quantile_method(bm: Any, conformal: dict) -> str | None:
    """"quantile" or "cqr" where the pipeline asks for it and the artifact can give it, else None (said)."""
    from wq.evaluate.conformal import ConformalWarning

    method = bm.pipeline.evaluate.intervals
    if method not in ("quantile", "cqr"):
        return None
    if not getattr(bm.model, "has_quantiles", False) or (method == "cqr" and "cqr" not in conformal):
        warnings.warn(f"[evaluate] intervals = {method!r}: artifact {bm.path} has no quantile regressors"
                      f"{' or CQR corrections' if method == 'cqr' else ''} (only hgb trained with them has): its "
                      f"intervals are conformal on its errors", ConformalWarning, stacklevel=3)
        return None
    return method


def _quantile_rows(bm: Any, out: pd.DataFrame, frame: pd.DataFrame, cqr: dict | None) -> pd.DataFrame:
    """``out`` (origin, target, step, ...) with the bounds of the model's quantile regressors from each origin,
    moved by the artifact's CQR corrections when given."""
    from wq.evaluate.quantile import apply_quantile_bounds, quantile_bounds

    levels, model = bm.pipeline.evaluate.levels, bm.model
    origins = pd.DatetimeIndex(out["origin"].unique())
    positions = frame.index.get_indexer(origins)
    frame = frame.iloc[: int(positions.max()) + 1]  # as forecast_rows: nothing after the last as-of time
    long = model.to_long(frame, positions, np.zeros((len(positions), model.horizon, len(model.targets))))
    bounds = quantile_bounds(model, frame, positions, levels)
    corrections = None if cqr is None else {(t, int(s)): {float(lv): v for lv, v in by.items()}
                                            for t, steps in cqr.items() for s, by in steps.items()}
    long = apply_quantile_bounds(long, bounds, levels, corrections)
    keys = ["origin", "target", "step"]
    cols = [c for c in long.columns if c.startswith(("lower_", "upper_"))]
    merged = out.drop(columns=cols).merge(long[keys + cols], on=keys, how="left")
    return merged


def _observed(frame: pd.DataFrame, pred: pd.DataFrame) -> np.ndarray:
    """The value of each forecast's target at its valid time in ``frame`` (NaN when not there yet)."""
    obs = np.full(len(pred), np.nan)
    for target, idx in pred.groupby("target", sort=False).indices.items():
        if target in frame.columns:
            obs[idx] = frame[target].reindex(pd.DatetimeIndex(pred["time"].iloc[idx])).to_numpy(dtype=np.float64)
    return obs


def _history(bm: Any, store, frame: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """The store's earlier forecasts of this model version (first issued values) before the new origins, with
    their observations from ``frame``: the errors ACI learns from."""
    from pathlib import Path

    from wq.batch.store import ForecastStore

    if not Path(store).is_file():
        return new.iloc[:0]
    old = ForecastStore(store, create=False).read(pipeline=bm.name, model_version=bm.version_id)
    if old.empty:
        return new.iloc[:0]
    old = old[old["as_of"] < new["origin"].min()]
    hist = pd.DataFrame({"origin": old["as_of"], "time": old["time"], "step": old["step"], "target": old["target"],
                         "predicted": old["value"]}).reset_index(drop=True)
    hist["observed"] = _observed(frame, hist)
    return hist


def alarms(bm: Any, rows: pd.DataFrame) -> pd.DataFrame:
    """Forecasts whose exceedance probability reaches the pipeline's ``warn`` threshold: pipeline, target,
    as_of, step, time, limit, p_limit and level (``warn`` or ``alarm``)."""
    lim = bm.pipeline.limits
    cols = ["pipeline", "target", "as_of", "step", "time", "limit", "p_limit", "level"]
    if "p_limit" not in rows.columns or not lim.targets:
        return pd.DataFrame(columns=cols)
    hit = rows[rows["p_limit"].to_numpy(dtype=np.float64) >= lim.warn].copy()
    hit["level"] = [lim.level(p) for p in hit["p_limit"]]
    hit["limit"] = [" ".join((lim.limits()[t][0], f"{lim.limits()[t][1]:g}")) for t in hit["target"]]
    return hit[cols].reset_index(drop=True)


def rolling_coverage(rows: pd.DataFrame, observations: pd.DataFrame, window: int) -> pd.DataFrame:
    """Per series (pipeline, model_version, target) and level: the coverage of the scored forecasts valid in
    the last ``window`` calendar days up to the last scored one, the nominal level, n, and ``drift`` when
    the coverage is below nominal by more than two binomial standard errors (n >= :data:`MIN_COVERAGE_N`)."""
    levels = sorted({c.split("_", 1)[1] for c in rows.columns if c.startswith("lower_")}, key=float)
    out = []
    if not levels or rows.empty:
        return pd.DataFrame(columns=["pipeline", "model_version", "target", "level", "n", "coverage", "nominal",
                                     "drift"])
    rows = rows.assign(observed=_observed(observations, rows.rename(columns={"value": "predicted"})))
    for (pipe, version, target), grp in rows.groupby(["pipeline", "model_version", "target"], sort=True):
        for key in levels:
            ok = grp["observed"].notna() & grp[f"lower_{key}"].notna()
            g = grp[ok]
            if g.empty:
                continue
            last = pd.Timestamp(g["time"].max()).normalize()
            g = g[pd.to_datetime(g["time"]) >= last - pd.Timedelta(days=window - 1)]
            inside = (g["observed"] >= g[f"lower_{key}"]) & (g["observed"] <= g[f"upper_{key}"])
            nominal = float(key) / 100
            cov = float(inside.mean())
            se = np.sqrt(nominal * (1 - nominal) / len(g))
            out.append({"pipeline": pipe, "model_version": version, "target": target, "level": key, "n": len(g),
                        "coverage": cov, "nominal": nominal,
                        "drift": bool(len(g) >= MIN_COVERAGE_N and cov < nominal - 2 * se)})
    return pd.DataFrame(out)
