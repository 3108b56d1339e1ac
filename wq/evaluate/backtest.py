"""Evaluation by time: a single train | test split, and rolling-origin folds inside a training part.

Single split: the last ``test`` fraction of the rows is the test period. Models are fitted on the rows before it
(their own validation tail inside, for early stopping); forecasts are made from every origin t whose target
t+1 .. t+h lies in the test period, each using only rows up to t. The test rows never reach fitting, early
stopping or any choice.

Rolling origin: K folds with growing training windows; fold i fits everything (preprocessing included) on
rows [0, e_i) and scores forecasts of the next ``block`` rows. Used by the tuner and the benchmarks, so a lucky
split cannot decide.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from wq.errors import ConfigError
from wq.evaluate.metrics import METRICS, MetricWarning, all_metrics

METRIC_COLUMNS = ["model", "target", "step", *METRICS, "fit_seconds"]


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
    upto = frame.iloc[:stop]
    values = model.predict_array(upto, upto.index[positions])
    out = model.to_long(frame, positions, values)
    obs = frame[model.targets]
    pos_time = frame.index.get_indexer(pd.DatetimeIndex(out["time"]))
    col = np.array([model.targets.index(t) for t in out["target"]])
    out["observed"] = obs.to_numpy()[pos_time, col]
    return out


def score(pred: pd.DataFrame, q: float = 0.9, zeros: str = "skip", observed_mask: pd.DataFrame | None = None,
          by_step: bool = False) -> pd.DataFrame:
    """Metrics per model and target (and step when ``by_step``) of a predictions frame with columns
    model, target, time, observed, predicted (and step). ``observed_mask`` (time x target, True where the value
    was really observed rather than filled by the data layer) limits scoring to real observations. A
    :class:`~wq.evaluate.metrics.MetricWarning` is raised again with the model, target (and step) it concerns."""
    rows = []
    keys = ["model", "target"] + (["step"] if by_step else [])
    for key, grp in pred.groupby(keys, sort=False):
        if observed_mask is not None:
            target = grp["target"].iloc[0]
            keep = observed_mask[target].reindex(pd.DatetimeIndex(grp["time"])).fillna(False).to_numpy(bool)
            grp = grp[keep]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", MetricWarning)
            m = all_metrics(grp["observed"].to_numpy(), grp["predicted"].to_numpy(), q=q, zeros=zeros)
        where = ", ".join(f"{k} {v}" for k, v in zip(keys, key))
        for w in caught:
            if issubclass(w.category, MetricWarning):
                warnings.warn(f"{where}: {w.message}", MetricWarning, stacklevel=2)
            else:
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        rows.append({**dict(zip(keys, key)), **m, "n": len(grp)})
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


def evaluate_split(pipeline, frame: pd.DataFrame, models: list[str], progress: Callable[[str], None] | None = None,
                   observed_mask: pd.DataFrame | None = None, augmenter_for: Callable | None = None) -> SplitResult:
    """Fit each model on the training part of ``frame`` and score it on the test part: ``metrics`` has one
    row per model, target and forecast step (step 1 .. horizon; 1 alone for one-step models)."""
    start = split_point(len(frame), pipeline.split.test)
    train = frame.iloc[:start]
    q, zeros = pipeline.evaluate.peak_quantile, pipeline.evaluate.zeros
    preds, metrics, fitted = [], [], {}
    for name in models:
        model = pipeline.make_model(name)
        if progress:
            progress(f"fitting {name} on {len(train)} rows")
        t0 = time.perf_counter()
        aug = _augmenter(augmenter_for, model, name)
        _fit(model, train, pipeline.split.validation, progress, aug, observed_mask)
        fit_seconds = time.perf_counter() - t0
        out = forecast_period(model, frame, start)
        out.insert(0, "model", name)
        m = score(out, q=q, zeros=zeros, observed_mask=observed_mask, by_step=True)
        order = {t: i for i, t in enumerate(model.targets)}  # rows: target (pipeline order), then step
        m = m.sort_values(["target", "step"], key=lambda c: c.map(order) if c.name == "target" else c,
                          kind="stable")
        m["fit_seconds"] = fit_seconds
        preds.append(out)
        metrics.append(m)
        fitted[name] = model
    metrics_df = pd.concat(metrics, ignore_index=True)
    return SplitResult(metrics_df[[*METRIC_COLUMNS, "n"]], pd.concat(preds, ignore_index=True), fitted)


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
