"""``wq run`` for a multi-site pipeline (``[data] site`` or ``sites``): week-ahead forecasts of every site.

1. Load (:mod:`wq.sites.data`); split the common time grid: test = the last ``[split] test`` fraction,
   validation = the tail ``[split] validation`` of the rest, fitting = the part before it.
2. Scale each site by the mean and standard deviation of its fitting part.
3. Choose the strategy (``[model] strategy``: direct, recursive, or auto: both) and the pooling (``[model]
   pooling``: local, global, or auto: both) on validation: each candidate is fitted on the fitting part and
   forecasts the validation weeks (origins every :data:`ORIGIN_EVERY` steps whose whole horizon lies in the
   validation part); the lowest MAE (scaled units, mean over sites) wins. The test period plays no part.
4. Refit the chosen candidate on the training part (fitting + validation) and forecast the test weeks from
   origins every :data:`ORIGIN_EVERY` steps whose whole horizon lies in the test period; the baselines
   (``weekly-naive``, ``weekly-mean4``, ``persistence``, ``seasonal-naive``) from the same origins.
5. Score per site, model and lead-time block (MAE, max abs error; :func:`wq.evaluate.metrics.block_scores`) and
   per lead time; a summary across sites; write ``metrics.csv``, ``steps.csv``, ``choices.csv``,
   ``predictions.csv``, ``report.md`` and the lead-time figure (:mod:`wq.sites.report`).

Local fits, per-site training rows and every per-site forecast run through :func:`wq.sites.engine.map_sites`
(joblib ``jobs`` or a Dask ``scheduler``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from wq.errors import ConfigError, DataError
from wq.sites import model as M
from wq.sites.engine import map_sites

ORIGIN_EVERY = 24
BASELINES = ("weekly-naive", "weekly-mean4", "persistence", "seasonal-naive")


@dataclass
class SitesResult:
    out_dir: Path
    metrics: pd.DataFrame
    predictions: pd.DataFrame
    choices: pd.DataFrame
    seconds: float
    timings: dict = field(default_factory=dict)


def site_arrays(data, n_fit: int, horizon: int, holidays) -> list[M.SiteArrays]:
    """Per-site scaled arrays (scale from the fitting part) with the shared calendar of the extended grid."""
    from wq.sites.features import calendar_table, driver_table

    idx = data.y.index
    ext = idx.append(pd.date_range(idx[-1], periods=horizon + 1, freq=data.freq)[1:])
    cal = calendar_table(ext, data.tz, holidays)
    out = []
    for code, site in enumerate(data.sites):
        y = data.y[site].to_numpy(np.float64)
        fit = y[:n_fit]
        if np.isfinite(fit).sum() < 2 * M.WEEK:
            raise DataError(f"site {site!r}: {int(np.isfinite(fit).sum())} observed values in the fitting part; "
                            f"need at least {2 * M.WEEK} (two weeks)")
        mean, sd = float(np.nanmean(fit)), float(np.nanstd(fit)) or 1.0
        drv = driver_table([data.drivers[d][site].to_numpy(np.float64) for d in data.drivers], len(y))
        out.append(M.SiteArrays(site, code, (y - mean) / sd, (mean, sd), drv, cal))
    return out


def origins_between(first: int, last_target: int, horizon: int) -> np.ndarray:
    """Origins first, first + ORIGIN_EVERY, ... whose horizon ends at or before ``last_target``."""
    return np.arange(first, last_target - horizon + 1, ORIGIN_EVERY)


def _fit_local(args):
    sa, end, strategy, st = args
    X, y = M.training_rows(sa, end, strategy, st, site=False)
    return M.fit_regressor(X, y, st)


def _rows(args):
    sa, end, strategy, st = args
    return M.training_rows(sa, end, strategy, st, site=True)


def _forecast(args):
    model, group, origins, strategy, st, site = args
    return M.forecast_many(model, group, origins, strategy, st, site)


def fit_candidate(arrays, end, strategy, pooling, st, jobs=1, scheduler=None) -> list:
    """One fitted regressor per site (local) or the same global regressor for every site."""
    if pooling == "local":
        return map_sites(_fit_local, [(sa, end, strategy, st) for sa in arrays], jobs, scheduler)
    parts = map_sites(_rows, [(sa, end, strategy, st) for sa in arrays], jobs, scheduler)
    parts = [(X, y) for X, y in parts if len(y)]
    if not parts:
        raise DataError("no training rows: the fitting part is too short")
    X = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    model = M.fit_regressor(X, y, st, categorical=len(arrays) <= M.MAX_CATEGORIES)
    return [model] * len(arrays)


def forecast_sites(models, arrays, origins, strategy, pooling, st, jobs=1, scheduler=None) -> list[np.ndarray]:
    """(N, H) forecasts per site from ``origins``: local models one task per site; a global model one task
    for all sites in this process, or chunks of sites (four per worker) on joblib or Dask."""
    if pooling == "local":
        tasks = [(m, [sa], origins, strategy, st, False) for m, sa in zip(models, arrays)]
    else:
        chunks = 1 if jobs == 1 and scheduler is None else min(len(arrays), 4 * max(abs(jobs), 2))
        groups = [list(g) for g in np.array_split(np.array(arrays, dtype=object), chunks) if len(g)]
        tasks = [(models[0], g, origins, strategy, st, True) for g in groups]
    return [p for part in map_sites(_forecast, tasks, jobs, scheduler) for p in part]


def _candidates(value: str, options: tuple[str, str]) -> list[str]:
    return list(options) if value == "auto" else [value]


def choose(arrays, n_fit, n_train, st, strategy, pooling, jobs, scheduler, progress,
           errors: dict | None = None) -> pd.DataFrame:
    """Validation MAE (scaled, mean over sites) of every candidate (strategy, pooling); best first.

    ``errors``: when given, filled with (strategy, pooling) -> (sites x origins, H) scaled errors observed -
    forecast (NaN where not observed): the pools of the conformal intervals of ``wq train``."""
    origins = origins_between(n_fit - 1, n_train - 1, st.horizon)
    if len(origins) == 0:
        raise DataError(f"the validation part ({n_train - n_fit} steps) is shorter than the horizon "
                        f"({st.horizon}) plus one step: raise [split] validation")
    rows = []
    for strat in _candidates(strategy, ("direct", "recursive")):
        for pool in _candidates(pooling, ("local", "global")):
            t0 = time.perf_counter()
            models = fit_candidate(arrays, n_fit, strat, pool, st, jobs, scheduler)
            preds = forecast_sites(models, arrays, origins, strat, pool, st, jobs, scheduler)
            maes, errs = [], []
            for sa, p in zip(arrays, preds):
                obs = sa.y[origins[:, None] + np.arange(1, st.horizon + 1)[None, :]]
                scaled = (p - sa.scale[0]) / sa.scale[1]
                ok = np.isfinite(obs) & np.isfinite(scaled)
                maes.append(float(np.abs(scaled - obs)[ok].mean()) if ok.any() else np.nan)
                errs.append(np.where(ok, obs - scaled, np.nan))
            if errors is not None:
                errors[(strat, pool)] = np.concatenate(errs)
            rows.append({"strategy": strat, "pooling": pool, "validation_MAE_scaled": float(np.nanmean(maes)),
                         "validation_origins": len(origins), "seconds": time.perf_counter() - t0})
            if progress:
                progress(f"candidate {strat}/{pool}: validation MAE {rows[-1]['validation_MAE_scaled']:.4f}")
    table = pd.DataFrame(rows).sort_values("validation_MAE_scaled", kind="stable").reset_index(drop=True)
    table.insert(0, "chosen", [True] + [False] * (len(table) - 1))
    return table


def baseline_forecasts(name: str, data, origins: np.ndarray, horizon: int) -> dict[str, np.ndarray]:
    """(N, H) forecasts of a naive baseline per site (:class:`wq.models.naive.NaiveForecaster`)."""
    from wq.models.registry import make_model

    out = {}
    for site in data.sites:
        frame = data.y[[site]].rename(columns={site: "y"})
        frame.index.freq = data.freq
        model = make_model(name, targets=["y"], horizon=horizon).fit(frame)
        ok = origins >= model.min_history
        pred = np.full((len(origins), horizon), np.nan)
        if ok.any():
            pred[ok] = model._predict_positions(frame, origins[ok])[:, :, 0]
        out[site] = pred
    return out


def long_predictions(data, origins, preds: dict[str, np.ndarray], model: str) -> pd.DataFrame:
    """A long frame site, origin, time, step, model, observed, predicted."""
    H = next(iter(preds.values())).shape[1]
    steps = np.arange(1, H + 1)
    tpos = (origins[:, None] + steps[None, :]).ravel()
    idx = data.y.index
    frames = []
    for site, p in preds.items():
        frames.append(pd.DataFrame({
            "site": site, "origin": np.repeat(idx[origins], H), "time": idx[tpos], "step": np.tile(steps, len(origins)),
            "model": model, "observed": data.y[site].to_numpy()[tpos], "predicted": p.ravel()}))
    return pd.concat(frames, ignore_index=True)


def check_models(pipeline, models: list[str] | None) -> tuple[str, list[str]]:
    """The learned model (``hgb``) and the baselines a multi-site run fits."""
    names = list(dict.fromkeys(models or pipeline.models))
    learned = [m for m in names if m not in BASELINES]
    if learned != ["hgb"] and learned != []:
        raise ConfigError(f"[model] name / [compare] models: a multi-site run ([data] site or sites) fits 'hgb' and "
                          f"the baselines {', '.join(BASELINES)}; got {', '.join(m for m in learned if m != 'hgb')}")
    return ("hgb" if learned else ""), [m for m in names if m in BASELINES]


def run_sites(pipeline, *, data_path=None, models: list[str] | None = None, out_dir=None, jobs: int = 1,
              scheduler: Any = None, progress: Callable[[str], None] | None = None) -> SitesResult:
    """Run a multi-site pipeline end to end (see the module docstring); returns the scores and the outputs."""
    from wq.evaluate.backtest import split_point
    from wq.io import check_output_dir, replace_dir
    from wq.sites.data import load_sites
    from wq.sites.report import score_sites, write_sites_outputs

    t0 = time.perf_counter()
    out_dir = check_output_dir(Path(out_dir) if out_dir else Path("reports") / pipeline.name)
    learned, baselines = check_models(pipeline, models)
    data = load_sites(pipeline.data_spec(data_path))
    m = pipeline.model
    st = M.HGBSettings(horizon=m.horizon, max_iter=m.max_iter, learning_rate=m.learning_rate,
                       max_leaf_nodes=m.max_leaf_nodes, rows=m.rows, seed=pipeline.seed)
    T = len(data.y)
    n_train = split_point(T, pipeline.split.test)
    n_fit = n_train - int(round(n_train * pipeline.split.validation))
    holidays = pipeline.holidays if "holiday" in pipeline.calendar else None
    arrays = site_arrays(data, n_fit, m.horizon, holidays)
    test_origins = origins_between(n_train - 1, T - 1, m.horizon)
    if len(test_origins) == 0:
        raise DataError(f"the test part ({T - n_train} steps) is shorter than the horizon ({m.horizon}) plus one")
    timings: dict[str, float] = {}
    frames, choices = [], pd.DataFrame()
    if learned:
        t1 = time.perf_counter()
        choices = choose(arrays, n_fit, n_train, st, m.strategy, m.pooling, jobs, scheduler, progress)
        timings["choose_s"] = time.perf_counter() - t1
        strat, pool = choices.loc[0, "strategy"], choices.loc[0, "pooling"]
        t1 = time.perf_counter()
        fitted = fit_candidate(arrays, n_train, strat, pool, st, jobs, scheduler)
        timings["fit_s"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        preds = forecast_sites(fitted, arrays, test_origins, strat, pool, st, jobs, scheduler)
        timings["backtest_s"] = time.perf_counter() - t1
        frames.append(long_predictions(data, test_origins, dict(zip(data.sites, preds)), learned))
    for name in baselines:
        frames.append(long_predictions(data, test_origins, baseline_forecasts(name, data, test_origins, m.horizon), name))
    predictions = pd.concat(frames, ignore_index=True)
    metrics, steps = score_sites(predictions, m.horizon, pipeline.evaluate.blocks)
    seconds = time.perf_counter() - t0
    split = (data.y.index[0], data.y.index[n_fit], data.y.index[n_train], data.y.index[-1])
    with replace_dir(out_dir) as tmp:
        write_sites_outputs(tmp, pipeline, data, metrics, steps, predictions, choices, split, len(test_origins),
                            seconds, timings)
    return SitesResult(out_dir, metrics, predictions, choices, seconds, timings)
