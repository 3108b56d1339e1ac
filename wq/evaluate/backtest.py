"""Evaluation by time: a single train | test split, and rolling-origin folds inside a training part.

Single split: the last ``test`` fraction of the rows is the test period. Models are fitted on the rows before it
(their own validation tail inside, for early stopping); forecasts are made from every origin t whose target
t+1 .. t+h lies in the test period, each using only rows up to t. The test rows never reach fitting, early
stopping or any choice.

Periodic refit (``[evaluate] refit_every``, :func:`refit_ends`): as an operator retrains, every model (a new
object from the pipeline, preprocessing included) is refitted on all rows up to each refit time through the
test period; each refit forecasts the origins from its refit time up to the next one, in one vectorised call.
The first refit is the fit on the training part, so the forecasts before the second refit time equal the
fit-once run. The naive peers follow the same rule (their fit learns nothing).

Gaps (missing values kept by the data layer): a forecast the model could not make (NaN: its inputs touch a
gap) of an observed value is *skipped*; :func:`score` counts them per model, target and step (``skipped``)
beside the forecasts it scores (``n``); unobserved targets are never scored.

Rolling origin: K folds with growing training windows; fold i fits everything (preprocessing included) on
rows [0, e_i) and scores forecasts of the next ``block`` rows. Used by the tuner and the benchmarks, so a lucky
split cannot decide.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from wq.errors import ConfigError
from wq.evaluate.calibration import climatology, interval_columns, interval_table, limit_table
from wq.evaluate.metrics import METRICS, MetricWarning, all_metrics

METRIC_COLUMNS = ["model", "target", "step", *METRICS, "fit_seconds"]
COUNT_COLUMNS = ["n", "skipped"]


def split_point(n: int, test: float) -> int:
    """Index of the first test row for a test fraction of ``n`` rows."""
    n_test = int(round(n * test))
    if n_test < 1 or n_test >= n:
        raise ConfigError(f"test fraction {test} of {n} rows leaves no test or no training rows")
    return n - n_test


def forecast_period(model, frame: pd.DataFrame, start: int, stop: int | None = None) -> pd.DataFrame:
    """Forecasts of a fitted model from every origin t with start - 1 <= t <= stop - h - 1 (targets in
    [start, stop)). Returns the model's long frame plus the observed value at each valid time."""
    stop = len(frame) if stop is None else stop
    h = model.horizon
    positions = np.arange(start - 1, stop - h)
    if positions.size == 0:
        raise ConfigError(f"no forecast origin between rows {start} and {stop} for horizon {h}")
    return forecast_origins(model, frame.iloc[:stop], positions)


def forecast_origins(model, frame: pd.DataFrame, positions: np.ndarray, members: dict | None = None) -> pd.DataFrame:
    """Forecasts of a fitted model from the origins at row ``positions`` (each with its targets inside
    ``frame``), in one vectorised call; the model's long frame plus the observed value at each valid time.
    ``members``: a dict that receives, for a combination of models (``predict_members``: the ensemble), the
    long frame of each member's forecasts by member name."""
    upto = frame.iloc[: int(positions.max()) + model.horizon + 1]
    if members is not None and hasattr(model, "predict_members"):
        values, parts = model.predict_members(upto, positions)
        members.update({name: _with_observed(model, frame, positions, v) for name, v in parts.items()})
    else:
        values = model.predict_array(upto, upto.index[positions])
    return _with_observed(model, frame, positions, values)


def _with_observed(model, frame: pd.DataFrame, positions: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    out = model.to_long(frame, positions, values)
    obs = frame[model.targets]
    pos_time = frame.index.get_indexer(pd.DatetimeIndex(out["time"]))
    col = np.array([model.targets.index(t) for t in out["target"]])
    out["observed"] = obs.to_numpy()[pos_time, col]
    return out


def refit_ends(index: pd.DatetimeIndex, start: int, last_origin: int, every: int | str | None) -> list[int]:
    """Row counts r_0 = ``start`` < r_1 < ... of the training frames of the refits: refit k is fitted on rows
    [0, r_k) and forecasts from the origins r_k - 1 .. r_{k+1} - 2 (the last up to ``last_origin``). ``every``:
    None (fit once), a number of steps (r_k = start + k * every), or a duration: the refit times are the first
    origins at or after t_0 + k * every, t_0 = the last training time."""
    if every is None:
        return [start]
    if isinstance(every, str):
        delta = pd.Timedelta(every)
        t0 = index[start - 1]
        n = int((index[last_origin] - t0) / delta)
        due = t0 + delta * np.arange(1, n + 1)
        origins = start - 1 + np.searchsorted(index[start - 1: last_origin + 1], due)
        ends = origins + 1
    else:
        ends = np.arange(start + int(every), last_origin + 2, int(every))
    return [start, *sorted(set(int(e) for e in ends if start < e <= last_origin + 1))]


def score(pred: pd.DataFrame, q: float = 0.9, zeros: str = "skip", observed_mask: pd.DataFrame | None = None,
          by_step: bool = False) -> pd.DataFrame:
    """Metrics per model and target (and step when ``by_step``) of a predictions frame with columns
    model, target, time, observed, predicted (and step). ``observed_mask`` (time x target, True where the value
    was really observed rather than filled by the data layer) limits scoring to real observations; missing
    observations are never scored. ``n``: forecasts scored; ``skipped``: observed values the model made no
    forecast of (NaN: its inputs touch a gap). A :class:`~wq.evaluate.metrics.MetricWarning` is raised again
    with the model, target (and step) it concerns."""
    rows = []
    keys = ["model", "target"] + (["step"] if by_step else [])
    for key, grp in pred.groupby(keys, sort=False):
        if observed_mask is not None:
            target = grp["target"].iloc[0]
            keep = observed_mask[target].reindex(pd.DatetimeIndex(grp["time"])).fillna(False).to_numpy(bool)
            grp = grp[keep]
        seen = np.isfinite(grp["observed"].to_numpy(dtype=np.float64))
        made = np.isfinite(grp["predicted"].to_numpy(dtype=np.float64))
        skipped = int((seen & ~made).sum())
        grp = grp[seen & made]
        where = ", ".join(f"{k} {v}" for k, v in zip(keys, key))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MetricWarning)
            if len(grp):
                m = all_metrics(grp["observed"].to_numpy(), grp["predicted"].to_numpy(), q=q, zeros=zeros)
            else:
                m = dict.fromkeys(METRICS, float("nan"))
                warnings.warn(f"no forecast to score ({skipped} skipped: their inputs touch a gap)", MetricWarning,
                              stacklevel=2)
        for w in caught:
            if issubclass(w.category, MetricWarning):
                warnings.warn(f"{where}: {w.message}", MetricWarning, stacklevel=2)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        rows.append({**dict(zip(keys, key)), **m, "n": len(grp), "skipped": skipped})
    return pd.DataFrame(rows)


def validation_scores(model, train: pd.DataFrame, observed_mask: pd.DataFrame | None = None, q: float = 0.9,
                      n_fit: int | None = None) -> pd.DataFrame:
    """Metrics per target and step of a fitted model on the validation tail of its training frame ``train``:
    the forecasts from every origin t >= n_fit - 1 whose targets lie in ``train`` (``n_fit``: the fitting
    rows, default the model's ``n_fit_``), scored as the test period is (:func:`score`: values filled by the
    data layer skipped when ``observed_mask`` is given, zero observations skipped). Never touches test rows:
    ``train`` is all it sees. Columns: model, target, step, metrics, n."""
    n_fit = int(model.n_fit_ if n_fit is None else n_fit)
    pred = forecast_period(model, train, n_fit)
    pred.insert(0, "model", getattr(model, "name", "model"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skipped zeros are counted by score's n; nothing to warn about here
        return score(pred, q=q, zeros="skip", observed_mask=observed_mask, by_step=True)


def _augmenter(augmenter_for: Callable | None, model, name: str):
    """The synthetic-window augmenter of a learned model, or None (models without windows are never augmented)."""
    if augmenter_for is None or not hasattr(model, "lags"):
        return None
    return augmenter_for(name)


def _fit(model, train: pd.DataFrame, val_fraction: float, progress, augment, observed_mask) -> None:
    """Fit, with synthetic windows when given. An augmenter that decides how it is used (a gated one keeps its
    windows only if they lower the validation error) does the fit itself through ``fit_model``: evaluation
    needs to know nothing of augmentation."""
    if augment is None:
        model.fit(train, val_fraction=val_fraction, progress=progress)
    elif hasattr(augment, "fit_model"):
        augment.fit_model(model, train, val_fraction, progress=progress, observed_mask=observed_mask)
    else:
        model.fit(train, val_fraction=val_fraction, progress=progress, augment=augment)


@dataclass
class SplitResult:
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    models: dict
    refits: list = field(default_factory=list)  # times of the refits after the first fit (refit_every)
    limits: pd.DataFrame | None = None  # Brier score and skill per model, target with a limit, and step
    climatology: dict = field(default_factory=dict)  # training exceedance frequency per target with a limit


def evaluate_split(pipeline, frame: pd.DataFrame, models: list[str], progress: Callable[[str], None] | None = None,
                   observed_mask: pd.DataFrame | None = None, augmenter_for: Callable | None = None) -> SplitResult:
    """Fit each model on the training part of ``frame`` (refitted through the test period by
    ``[evaluate] refit_every``) and score it on the test part: ``metrics`` has one row per model, target and
    forecast step (step 1 .. horizon; 1 alone for one-step models), with the counts ``n`` and ``skipped``."""
    start = split_point(len(frame), pipeline.split.test)
    last = len(frame) - pipeline.model.horizon - 1
    if last < start - 1:
        raise ConfigError(f"no forecast origin in the test period for horizon {pipeline.model.horizon}")
    ends = refit_ends(frame.index, start, last, pipeline.evaluate.refit_every)
    bounds = [*(e - 1 for e in ends), last + 1]  # origins of refit k: bounds[k] .. bounds[k + 1] - 1
    q, zeros = pipeline.evaluate.peak_quantile, pipeline.evaluate.zeros
    preds, metrics, fitted, limit_rows = [], [], {}, []
    levels, limits = pipeline.evaluate.levels, pipeline.limits.limits()
    clim = climatology(_masked(frame.iloc[:start], observed_mask), limits) if levels and limits else {}
    for name in models:
        model, out, fit_seconds, members = _fit_forecast(pipeline, frame, name, ends, bounds, progress,
                                                         observed_mask, augmenter_for)
        # an ensemble's members' forecasts are kept (and scored, without intervals) as "ensemble/<member>"
        for label, long in [(name, out), *members.items()]:
            long.insert(0, "model", label)
            m = score(long, q=q, zeros=zeros, observed_mask=observed_mask, by_step=True)
            if levels and label == name:
                m = m.merge(interval_table(long, levels, observed_mask), on=["model", "target", "step"], how="left")
                if limits:
                    limit_rows.append(limit_table(long, limits, clim, pipeline.limits.warn, pipeline.limits.alarm,
                                                  observed_mask))
            order = {t: i for i, t in enumerate(model.targets)}  # rows: target (pipeline order), then step
            m = m.sort_values(["target", "step"], key=lambda c: c.map(order) if c.name == "target" else c,
                              kind="stable")
            m["fit_seconds"] = fit_seconds if label == name else 0.0
            preds.append(long)
            metrics.append(m)
        fitted[name] = model
    metrics_df = pd.concat(metrics, ignore_index=True)
    extra = interval_columns(levels) if levels else []
    return SplitResult(metrics_df[[*METRIC_COLUMNS, *COUNT_COLUMNS, *extra]], pd.concat(preds, ignore_index=True),
                       fitted, [frame.index[e - 1] for e in ends[1:]],
                       pd.concat(limit_rows, ignore_index=True) if limit_rows else None, clim)


def _masked(train: pd.DataFrame, observed_mask: pd.DataFrame | None) -> pd.DataFrame:
    """``train`` with the values the data layer filled set to NaN."""
    if observed_mask is None:
        return train
    mask = observed_mask.reindex(index=train.index, columns=train.columns).fillna(True).astype(bool)
    return train.where(mask)


def validation_pools(model, train: pd.DataFrame, val_fraction: float,
                     observed_mask: pd.DataFrame | None = None) -> dict:
    """Sorted validation errors per (target, step) of a model fitted on ``train``: its forecasts from the
    origins of the validation tail (the model's ``n_fit_``, else the last ``val_fraction`` of the rows), the
    pools of split conformal (:mod:`wq.evaluate.conformal`)."""
    from wq.evaluate.conformal import residual_pools

    n_fit = _n_fit(model, train, val_fraction)
    if n_fit + model.horizon > len(train):
        raise ConfigError(f"intervals need validation rows to calibrate on: [split] validation = {val_fraction} "
                          f"leaves none for {getattr(model, 'name', 'the model')}; set it > 0 or [evaluate] levels = []")
    return residual_pools(forecast_period(model, train, n_fit), observed_mask)


def _n_fit(model, train: pd.DataFrame, val_fraction: float) -> int:
    """Rows the model was fitted on before its validation tail (``n_fit_``, else from ``val_fraction``)."""
    n_fit = getattr(model, "n_fit_", None)
    return int(n_fit) if n_fit is not None else len(train) - int(round(len(train) * val_fraction))


def _interval_method(pipeline, model, name: str) -> str:
    """``[evaluate] intervals``, or "aci" for a model without quantile regressors under "quantile"/"cqr"."""
    method = pipeline.evaluate.intervals
    if method in ("quantile", "cqr") and not getattr(model, "has_quantiles", False):
        from wq.evaluate.conformal import ConformalWarning

        warnings.warn(f"{name} has no quantile models (only hgb has): its intervals are adaptive conformal (aci), "
                      f"not {method}", ConformalWarning, stacklevel=3)
        return "aci"
    return method


def _quantile_chunk(pipeline, model, frame: pd.DataFrame, end: int, positions: np.ndarray, chunk: pd.DataFrame,
                    observed_mask) -> pd.DataFrame:
    """``chunk`` with the bounds of the model's quantile regressors (conformalised on the validation tail of
    ``frame.iloc[:end]`` for "cqr"; :mod:`wq.evaluate.quantile`)."""
    from wq.evaluate.quantile import apply_quantile_bounds, cqr_corrections, quantile_bounds

    levels, corrections = pipeline.evaluate.levels, None
    if pipeline.evaluate.intervals == "cqr":
        train = frame.iloc[:end]
        val_pos = np.arange(_n_fit(model, train, pipeline.split.validation) - 1, end - model.horizon)
        val = forecast_origins(model, train, val_pos)
        corrections = cqr_corrections(val, quantile_bounds(model, train, val_pos, levels), levels, observed_mask)
    return apply_quantile_bounds(chunk, quantile_bounds(model, frame, positions, levels), levels, corrections)


def _fit_forecast(pipeline, frame: pd.DataFrame, name: str, ends: list[int], bounds: list[int], progress,
                  observed_mask, augmenter_for):
    """Fit model ``name`` at every refit and forecast its origins; with ``[evaluate] levels`` the conformal
    intervals (split: each refit calibrated on its own validation tail; aci: from the first fit's validation
    errors, growing with the test errors as they are observed). Returns (last model, forecasts, fit seconds,
    an ensemble's members' forecasts by "name/member")."""
    from wq.evaluate.conformal import add_intervals

    ev, limits = pipeline.evaluate, pipeline.limits.limits()
    fit_seconds, outs, first_pools, parts, method = 0.0, [], None, {}, None
    for k, end in enumerate(ends):
        model = pipeline.make_model(name)
        if progress:
            again = f" (refit {k} of {len(ends) - 1})" if k else ""
            progress(f"fitting {name} on {end} rows{again}")
        t0 = time.perf_counter()
        _fit(model, frame.iloc[:end], pipeline.split.validation, progress, _augmenter(augmenter_for, model, name),
             observed_mask)
        fit_seconds += time.perf_counter() - t0
        got: dict = {}
        chunk = forecast_origins(model, frame, np.arange(bounds[k], bounds[k + 1]), members=got)
        for member, long in got.items():
            parts.setdefault(f"{name}/{member}", []).append(long)
        if ev.levels:
            pools = validation_pools(model, frame.iloc[:end], pipeline.split.validation, observed_mask)
            first_pools = pools if first_pools is None else first_pools
            method = method or _interval_method(pipeline, model, name)
            if method != "aci":  # split per refit; quantile/cqr: p_limit and CRPS from the split pool
                chunk = add_intervals(chunk, pools, ev.levels, "split", limits=limits, observed_mask=observed_mask)
            if method in ("quantile", "cqr"):
                chunk = _quantile_chunk(pipeline, model, frame, end, np.arange(bounds[k], bounds[k + 1]), chunk,
                                        observed_mask)
        outs.append(chunk)
    out = pd.concat(outs, ignore_index=True)
    if ev.levels and method == "aci":
        out = add_intervals(out, first_pools, ev.levels, "aci", ev.aci_gamma, limits, observed_mask)
    members = {label: pd.concat(v, ignore_index=True) for label, v in parts.items()}
    return model, out, fit_seconds, members


def rolling_origin_splits(n: int, folds: int, block: int, min_train: int) -> list[tuple[int, int]]:
    """(train_end, test_end) row bounds of ``folds`` consecutive blocks at the end of ``n`` rows, each training
    window growing to the start of its block."""
    if folds < 1:
        raise ConfigError(f"folds must be >= 1, got {folds}")
    first = n - folds * block
    if first < min_train:
        raise ConfigError(f"{n} rows are too few for {folds} folds of {block} rows with at least {min_train} "
                          f"training rows each")
    return [(first + i * block, first + (i + 1) * block) for i in range(folds)]


def evaluate_folds(pipeline, frame: pd.DataFrame, model_name: str, folds: int, block: int | None = None,
                   metric: str = "MAPE", progress=None, observed_mask: pd.DataFrame | None = None,
                   augmenter_for: Callable | None = None) -> pd.DataFrame:
    """Rolling-origin evaluation of one model on ``frame`` (a training part, or a whole record for benchmarks):
    each fold refits preprocessing and model on its own training window. Returns one row per fold and target.

    ``observed_mask`` (time x target, True where observed) limits scoring to real observations, as in
    :func:`evaluate_split`; ``augmenter_for(name)`` gives the synthetic-window augmenter of a windowed model
    (or None), fitted inside each fold's training window by the model."""
    n = len(frame)
    block = block or max(pipeline.model.horizon + 5, n // (2 * folds + 3))
    min_train = max(60, 3 * pipeline.model.lags)
    q = pipeline.evaluate.peak_quantile
    rows = []
    for i, (train_end, test_end) in enumerate(rolling_origin_splits(n, folds, block, min_train)):
        model = pipeline.make_model(model_name)
        aug = _augmenter(augmenter_for, model, model_name)
        _fit(model, frame.iloc[:train_end], pipeline.split.validation, progress, aug, observed_mask)
        out = forecast_period(model, frame, train_end, test_end)
        out.insert(0, "model", model_name)
        m = score(out, q=q, zeros=pipeline.evaluate.zeros, observed_mask=observed_mask)
        m.insert(0, "fold", i)
        m["train_end"] = frame.index[train_end - 1]
        rows.append(m)
    return pd.concat(rows, ignore_index=True)
