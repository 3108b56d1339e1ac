"""Peers: the forecasters a user would pick instead of wq, on wq's splits, test times and metrics.

- statsforecast (the ``bench`` extra: ``pip install wq[bench]``), on each target series alone (univariate):
  ``sf-autoets`` AutoETS, ``sf-autoarima`` AutoARIMA, ``sf-mstl`` MSTL (trend by AutoETS), ``sf-seasonal-naive``
  SeasonalNaive, all with ``season_length`` (7 for daily data).
- ``mlf-lgbm`` (the ``peers`` extra: ``pip install wq[peers]``): mlforecast with LightGBM, the pattern that wins
  forecasting competitions (M5): lags 1..``lags`` of the target, rolling means of the last 7 and 28 steps (24 and
  168 for hourly data), calendar features of the target time (day of week, day of year, month; hour for
  sub-daily data), and every driver at the origin (one step before the target). LightGBM's defaults with
  ``random_state`` = ``seed``, one thread. Missing values (gaps kept by the data layer) stay missing: LightGBM
  uses them as they are; mlforecast refuses missing targets, so its lag features read the last observed value
  (forward fill, causal) and rows whose target is missing are not fitted.
- ``sk-hgb``: "what a data scientist would write", built directly with scikit-learn and independent of wq's
  ``hgb``: a HistGradientBoostingRegressor with default settings on the last ``lags`` values of the target, the
  last ``lags`` values of every driver and the calendar of the target day (day of week, month, day of year).

Forecasts are one step ahead from every origin t, each using data up to t only, with parameters fitted once on
``y[:fit_end]`` (the training part) and held fixed. For AutoETS, AutoARIMA and SeasonalNaive the model's
``forward(y, fitted=True)`` runs its filter with the fixed parameters over the extended series: the fitted value
at t is then the one-step forecast from t-1 (a causal filter; checked by the tests). MSTL's ``forward``
re-decomposes the whole series it is given (the LOESS fits are centred, so the fitted values read the future):
it is called once per origin on the series up to that origin only (slow, exact).
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from wq.errors import ConfigError, DataError

STATSFORECAST_PEERS = ("sf-autoets", "sf-autoarima", "sf-mstl", "sf-seasonal-naive")
PEERS = (*STATSFORECAST_PEERS, "sk-hgb", "mlf-lgbm")
FILTER_PEERS = ("sf-autoets", "sf-autoarima", "sf-seasonal-naive")
"""Peers whose ``forward(fitted=True)`` is a causal one-step filter with fixed parameters."""


def _statsforecast_model(name: str, season: int, approximation: bool):
    try:
        from statsforecast.models import MSTL, AutoARIMA, AutoETS, SeasonalNaive
    except ImportError:
        raise ConfigError("the statsforecast peers need the bench extra: pip install 'wq[bench]'") from None
    if name == "sf-autoets":
        return AutoETS(season_length=season)
    if name == "sf-autoarima":
        return AutoARIMA(season_length=season, approximation=approximation)
    if name == "sf-mstl":
        return MSTL(season_length=season, trend_forecaster=AutoETS(model="ZZN"))
    if name == "sf-seasonal-naive":
        return SeasonalNaive(season_length=season)
    raise ConfigError(f"unknown statsforecast peer {name!r}; known: {', '.join(STATSFORECAST_PEERS)}")


def _check_bounds(n: int, fit_end: int, start: int, stop: int, need: int) -> None:
    if not (need <= fit_end <= start < stop <= n):
        raise ConfigError(f"peer bounds must satisfy {need} <= fit_end ({fit_end}) <= start ({start}) < stop "
                          f"({stop}) <= series length ({n})")


def statsforecast_one_step(y: np.ndarray, fit_end: int, start: int, stop: int, name: str, season: int = 7,
                           approximation: bool = False) -> np.ndarray:
    """One-step forecasts of ``y[start:stop]``: the forecast of y[t] uses y[:t] only, with the parameters of
    peer ``name`` fitted on ``y[:fit_end]`` (``fit_end <= start``). ``approximation`` is AutoARIMA's
    (approximate likelihood in the order search: much faster on long series)."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise DataError(f"statsforecast peers forecast one series at a time; got shape {y.shape}")
    _check_bounds(len(y), fit_end, start, stop, need=2 * season + 1)
    if not np.isfinite(y[:stop]).all():
        bad = int(np.flatnonzero(~np.isfinite(y[:stop]))[0])
        raise DataError(f"series has a missing or infinite value at position {bad}; the data layer fills gaps")
    model = _statsforecast_model(name, season, approximation).fit(y[:fit_end])
    if name in FILTER_PEERS:
        fitted = np.asarray(model.forward(y=y[:stop], h=1, fitted=True)["fitted"], dtype=np.float64)
        out = fitted[start:stop]
    else:
        out = np.array([float(model.forward(y=y[:t], h=1)["mean"][0]) for t in range(start, stop)])
    if not np.isfinite(out).all():
        bad = int(np.flatnonzero(~np.isfinite(out))[0]) + start
        raise DataError(f"peer {name} gave a non-finite forecast for position {bad}")
    return out


class LagHGBPeer:
    """Standalone gradient-boosting peer: HistGradientBoostingRegressor (scikit-learn defaults, ``random_state``
    = ``seed``) on, for origin t: y[t-lags+1 .. t], each driver at t-lags+1 .. t, and the calendar of the target
    day t+1 (day of week, month, day of year); target y[t+1] in original units. Fitted on the origins whose
    target lies before ``fit_end``."""

    def __init__(self, lags: int = 7, seed: int = 0):
        self.lags = lags
        self.seed = seed

    def features(self, frame: pd.DataFrame, target: str, drivers: Sequence[str]) -> np.ndarray:
        """Feature rows (T, p), row t for origin t (NaN for t < lags - 1)."""
        cols = [target, *drivers]
        values = frame[cols].to_numpy(dtype=np.float64)
        T, C = values.shape
        lags = int(self.lags)
        lagged = np.full((T, C * lags), np.nan)
        if T >= lags:
            win = sliding_window_view(values, lags, axis=0)  # (T - lags + 1, C, lags): oldest first
            lagged[lags - 1:] = win.reshape(T - lags + 1, C * lags)
        freq = frame.index.freq or pd.infer_freq(frame.index)
        if freq is None:
            raise DataError("the time index has no regular frequency; the data layer sets it")
        nxt = frame.index + pd.tseries.frequencies.to_offset(freq)
        calendar = np.column_stack([nxt.dayofweek, nxt.month, nxt.dayofyear]).astype(np.float64)
        return np.hstack([lagged, calendar])

    def fit(self, frame: pd.DataFrame, target: str, drivers: Sequence[str], fit_end: int) -> "LagHGBPeer":
        from sklearn.ensemble import HistGradientBoostingRegressor

        A = self.features(frame.iloc[:fit_end], target, drivers)
        y = frame[target].to_numpy(dtype=np.float64)[:fit_end]
        rows = np.arange(self.lags - 1, fit_end - 1)  # origins whose target t+1 < fit_end
        rows = rows[np.isfinite(y[rows + 1])]  # targets in long gaps (kept missing by the data layer) are not fitted
        if rows.size < 10:
            raise DataError(f"{fit_end} training rows are too few for the sk-hgb peer with lags={self.lags}")
        self.target_, self.drivers_ = target, list(drivers)
        self.model_ = HistGradientBoostingRegressor(random_state=self.seed).fit(A[rows], y[rows + 1])
        return self

    def predict(self, frame: pd.DataFrame, start: int, stop: int) -> np.ndarray:
        """Forecasts of y[start:stop], each from the origin one step before (rows <= origin only)."""
        A = self.features(frame.iloc[:stop], self.target_, self.drivers_)
        origins = np.arange(start - 1, stop - 1)
        if origins[0] < self.lags - 1:
            raise ConfigError(f"the first origin {origins[0]} has fewer than lags={self.lags} rows of history")
        return self.model_.predict(A[origins])


class MLForecastLGBMPeer:
    """mlforecast + LightGBM one step ahead (module docstring). Features are built by ``MLForecast.preprocess``
    on the whole series (lags and rolling means of lagged values read only the past), the model is fitted on
    the rows whose target lies before ``fit_end`` and predicts the rows [start, stop): each forecast from its
    origin's data only, with the parameters held fixed."""

    def __init__(self, lags: int = 7, seed: int = 0):
        self.lags = lags
        self.seed = seed

    def _frame(self, frame: pd.DataFrame, target: str, drivers: Sequence[str]):
        try:
            from lightgbm import LGBMRegressor
            from mlforecast import MLForecast
            from mlforecast.lag_transforms import RollingMean
        except ImportError:
            raise ConfigError("the mlf-lgbm peer needs the peers extra: pip install 'wq[peers]'") from None
        freq = frame.index.freq or pd.infer_freq(frame.index)
        if freq is None:
            raise DataError("the time index has no regular frequency; the data layer sets it")
        offset = pd.tseries.frequencies.to_offset(freq)
        hourly = offset.nanos < pd.Timedelta("1D").value
        windows = (24, 168) if hourly else (7, 28)
        dates = ["hour", "dayofweek", "dayofyear"] if hourly else ["dayofweek", "dayofyear", "month"]
        # mlforecast refuses missing targets: its features read the last observed value (forward fill, causal);
        # the rows whose own target is missing are neither fitted nor scored
        y = frame[target].ffill()
        if y.isna().any():
            raise DataError(f"{target} has no value on the first row; the data layer trims the edges")
        df = pd.DataFrame({"unique_id": "s", "ds": frame.index, "y": y.to_numpy(dtype=np.float64)})
        for d in drivers:  # the driver at the origin: known when the forecast of the next step is made
            df[f"{d}_origin"] = frame[d].shift(1).to_numpy(dtype=np.float64)
        model = LGBMRegressor(random_state=self.seed, n_jobs=1, verbosity=-1)
        mlf = MLForecast(models={"lgbm": model}, freq=offset, lags=list(range(1, int(self.lags) + 1)),
                         lag_transforms={1: [RollingMean(window_size=w, min_samples=1) for w in windows]},
                         date_features=dates)
        feats = mlf.preprocess(df, dropna=False, static_features=[])
        return mlf, feats.set_index("ds").reindex(frame.index)

    def forecast(self, frame: pd.DataFrame, target: str, drivers: Sequence[str], fit_end: int, start: int,
                 stop: int) -> np.ndarray:
        """Forecasts of y[start:stop] (``fit_end <= start``)."""
        mlf, feats = self._frame(frame.iloc[:stop], target, drivers)
        X = feats.drop(columns=["unique_id", "y"])
        y = frame[target].to_numpy(dtype=np.float64)[:stop]
        train = np.arange(fit_end)
        train = train[np.isfinite(y[train]) & (train >= 1)]
        if train.size < 10:
            raise DataError(f"{train.size} training rows with a target are too few for the mlf-lgbm peer")
        mlf.fit_models(X.iloc[train], y[train])
        return np.asarray(mlf.models_["lgbm"].predict(X.iloc[start:stop]), dtype=np.float64)


def peer_forecasts(frame: pd.DataFrame, targets: Sequence[str], drivers: Sequence[str], fit_end: int,
                   start: int, stop: int, peers: Sequence[str], season: int = 7, seed: int = 0,
                   lags: int = 7, approximation: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecasts of every peer for the rows [start, stop) of ``frame``, fitted on rows [0, fit_end).

    Returns ``(predictions, seconds)``: predictions in wq's long layout (model, origin, time, step, target,
    predicted, observed), ready for :func:`wq.evaluate.backtest.score`; seconds (model, target, fit_seconds)
    is the wall time of fitting and forecasting."""
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        raise ConfigError(f"unknown peer(s) {unknown}; known: {', '.join(PEERS)}")
    _check_bounds(len(frame), fit_end, start, stop, need=1)
    index = frame.index
    rows, times = [], []
    for name in peers:
        for target in targets:
            y = frame[target].to_numpy(dtype=np.float64)
            t0 = time.perf_counter()
            if name == "sk-hgb":
                pred = LagHGBPeer(lags=lags, seed=seed).fit(frame, target, drivers, fit_end).predict(frame, start, stop)
            elif name == "mlf-lgbm":
                pred = MLForecastLGBMPeer(lags=lags, seed=seed).forecast(frame, target, drivers, fit_end, start, stop)
            else:  # statsforecast needs a gap-free series: long gaps are forward-filled (causal), never scored
                filled = pd.Series(y).ffill().to_numpy()
                pred = statsforecast_one_step(filled, fit_end, start, stop, name, season=season,
                                              approximation=approximation)
            times.append({"model": name, "target": target, "fit_seconds": time.perf_counter() - t0})
            rows.append(pd.DataFrame({"model": name, "origin": index[start - 1:stop - 1], "time": index[start:stop],
                                      "step": 1, "target": target, "predicted": pred, "observed": y[start:stop]}))
    return pd.concat(rows, ignore_index=True), pd.DataFrame(times)
