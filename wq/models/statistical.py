"""Statistical forecasters from statsforecast as wq models: ``auto-ets``, ``auto-arima`` and ``mstl``.

Each target is one univariate series. The model is chosen and fitted once, on the fitting rows of the training
frame (the training frame less its validation tail, as every wq model), with the season from the data
frequency (7 for daily data, 24 for hourly; MSTL: 7 and 365 for daily, 24 and 168 for hourly, the periods that
fit twice into the fitting rows). Forecasts from later origins reuse the fitted parameters, never refitted per
origin (``[evaluate] refit_every`` refits, as for every model):

- ``auto-ets``: AutoETS; one pass of the ETS filter with the fitted parameters and initial state over the
  series up to the last origin gives the state at every origin, and the ``horizon``-step forecast is projected
  from each state (statsforecast's own filter and forecast recursion). Fully JSON: parameters and initial state.
- ``auto-arima``: AutoARIMA; with its coefficients fixed, one pass of the Kalman filter over the series (less
  its intercept and drift line) in statsforecast's state-space form gives the filtered state at every origin,
  and the ``horizon`` steps are projected from it. (statsforecast's ``forward`` reports standardised
  innovations, whose "fitted" values lean on the row itself by ~1e-6; its conditional-sum-of-squares recursion
  diverges for the non-invertible MA terms AutoARIMA can choose.) Fully JSON: the state-space polynomials and
  the mean line.
- ``mstl``: MSTL decomposition of the fitting rows; its seasonal profiles (the last cycle of each seasonal
  component, which is how MSTL forecasts them) are held fixed, and an AutoETS without season on the series less
  those profiles forecasts the rest, filtered causally as ``auto-ets``. (statsforecast's own MSTL ``forward``
  re-decomposes the whole series with centred smoothers, which would read the future of an origin.)

Drivers are ignored (statistical models on the target alone; ARIMA with lagged drivers would need their future
values). Gaps: the models need an unbroken record; the fitting rows must be complete (else a one-line
DataError), and a forecast from an origin with a missing target value anywhere up to it is NaN (skipped and
counted, never filled). ``[model] stat_gaps = "carry"`` (records with long outages): the last observed value is
carried forward through a gap, for fitting and filtering alike (causal: a row is filled from rows before it
only); forecasts are made only from origins whose own value was observed, and filled values are never scored.

statsforecast is the ``stats`` extra (``pip install 'wq[stats]'``); without it these models are a one-line
ConfigError when they are made.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from wq.data.grid import infer_freq
from wq.errors import ConfigError, DataError
from wq.estimator import Int
from wq.models.base import Forecaster
from wq.models.naive import DEFAULT_SEASON
from wq.models.params import HorizonParams

STAT_MODELS = ("auto-ets", "auto-arima", "mstl")
MSTL_SEASONS = {"D": (7, 365), "B": (5, 260), "h": (24, 168), "H": (24, 168), "W": (52,), "MS": (12,), "M": (12,),
                "ME": (12,)}
ETS_MAX_SEASON = 24  # statsforecast's AutoETS does not fit seasons longer than this


def require_statsforecast(name: str) -> None:
    """ConfigError (one line, naming the extra) when statsforecast is not installed."""
    if importlib.util.find_spec("statsforecast") is None:
        raise ConfigError(f"model {name!r} needs statsforecast: pip install 'wq[stats]'")


class StatParams(HorizonParams):
    """Settings of :class:`StatForecaster`."""

    name: Literal["auto-ets", "auto-arima", "mstl"] = "auto-ets"
    targets: list[str] = Field(min_length=1)
    season: Annotated[Int, Field(ge=1)] | None = Field(None, description="None: from the frequency")
    seed: Annotated[Int, Field(ge=0)] = 0
    gaps: Literal["refuse", "carry"] = "refuse"


# -- ETS filter and forecast (statsforecast's own recursions, fixed parameters) ----------------------------------
def _ets_spec(model: dict) -> dict:
    return {"components": [str(c) for c in model["components"]], "par": [float(v) for v in model["par"]],
            "m": int(model["m"]), "method": str(model.get("method", ""))}


def _ets_forecasts(spec: dict, y: np.ndarray, positions: np.ndarray, h: int) -> np.ndarray:
    """(N, h) forecasts from each origin position of ``y`` (y[: p + 1] only) with the fixed ETS of ``spec``."""
    from statsforecast.ets import etsforecast, pegelsresid_C, switch

    e, t, s, d = spec["components"][:4]
    par = np.asarray(spec["par"], dtype=np.float64)
    alpha, beta, gamma, phi = (float(v) for v in par[:4])
    damped = d != "N"
    _, _, states, _ = pegelsresid_C(y=np.ascontiguousarray(y, dtype=np.float64), m=spec["m"], init_state=par[4:],
                                    errortype=e, trendtype=t, seasontype=s, damped=damped, alpha=alpha,
                                    beta=0.0 if np.isnan(beta) else beta, gamma=0.0 if np.isnan(gamma) else gamma,
                                    phi=phi if damped else 1.0, nmse=1)
    trend, season = switch(t), switch(s)
    phi_ = phi if damped else 1.0
    out = np.full((len(positions), h), np.nan)
    f = np.zeros(h)
    for i, p in enumerate(positions):
        etsforecast(x=states[p + 1], m=spec["m"], trend=trend, season=season, phi=phi_, h=h, f=f)
        out[i] = f
    return out


def _fit_ets(y: np.ndarray, season: int, model: str = "ZZZ") -> dict:
    from statsforecast.models import AutoETS

    m = season if season <= ETS_MAX_SEASON else 1
    return _ets_spec(AutoETS(season_length=m, model=model).fit(y).model_)


# -- ARIMA ----------------------------------------------------------------------------------------------------
def _arima_spec(model: dict) -> dict:
    """The JSON of a fitted ARIMA: its state-space polynomials (phi, theta, the differencing Delta), the
    regression part (intercept; drift as a line in the row position) and a label."""
    arma, coef = [int(v) for v in model["arma"]], {k: float(v) for k, v in model["coef"].items()}
    ss = model["model"]
    drift = [0.0, 0.0]
    if "drift" in coef:  # statsforecast's drift regressor is a line in the row position: recover it exactly
        col = np.asarray(model["xreg"], dtype=np.float64)[:, 0]
        slope, icpt = np.polyfit(np.arange(len(col), dtype=np.float64), col, 1)
        drift = [float(icpt) * coef["drift"], float(slope) * coef["drift"]]
    seasonal = arma[4] > 1 and any(arma[i] for i in (2, 3, 6))
    return {"phi": np.asarray(ss["phi"], dtype=np.float64).tolist(),
            "theta": np.asarray(ss["theta"], dtype=np.float64).tolist(),
            "delta": np.asarray(ss["delta"], dtype=np.float64).tolist(),
            "mean": [coef.get("intercept", 0.0) + drift[0], drift[1]], "coef": coef, "arma": arma,
            "method": f"ARIMA{(arma[0], arma[5], arma[1])}" + (f"{(arma[2], arma[6], arma[3])}[{arma[4]}]"
                                                               if seasonal else "")
                      + (" with drift" if "drift" in coef else "")}


def _arima_forecasts(spec: dict, y: np.ndarray, positions: np.ndarray, h: int) -> np.ndarray:
    """(N, h) forecasts from each origin of ``y`` with the fixed ARIMA of ``spec``: one pass of the Kalman
    filter (statsforecast's state-space form, the same diffuse start) over the series less its mean line gives
    the filtered state at every origin; step s is Z T^s of it plus the mean line."""
    from statsforecast.arima import make_arima

    ss = make_arima(np.asarray(spec["phi"]), np.asarray(spec["theta"]), np.asarray(spec["delta"]))
    Z, T, V = (np.asarray(ss[k], dtype=np.float64) for k in ("Z", "T", "V"))
    stop = int(positions.max()) + 1
    c0, c1 = spec["mean"]
    e = y[:stop] - (c0 + c1 * np.arange(stop))
    a, P = np.zeros(len(Z)), np.asarray(ss["Pn"], dtype=np.float64).copy()
    states = np.empty((stop, len(Z)))
    for t in range(stop):
        PZ = P @ Z
        F = float(Z @ PZ)
        if F > 1e-12:
            gain = PZ / F
            a = a + gain * (e[t] - Z @ a)
            P = P - np.outer(gain, PZ)
        states[t] = a
        a, P = T @ a, T @ P @ T.T + V
    out = np.empty((len(positions), h))
    load = Z.copy()
    for s in range(1, h + 1):
        load = load @ T  # Z T^s
        out[:, s - 1] = states[positions] @ load + c0 + c1 * (positions + s)
    return out


def _fit_arima(y: np.ndarray, season: int) -> dict:
    from statsforecast.models import AutoARIMA

    return _arima_spec(AutoARIMA(season_length=season, approximation=len(y) > 150 or season > 12).fit(y).model_)


# -- MSTL -----------------------------------------------------------------------------------------------------
def _mstl_seasonal(spec: dict, rows: np.ndarray) -> np.ndarray:
    """The fixed seasonal part at absolute row positions ``rows``: the sum of the profiles at each row's phase."""
    total = np.zeros(rows.shape, dtype=np.float64)
    for profile in spec["profiles"]:
        prof = np.asarray(profile, dtype=np.float64)
        total += prof[(rows - spec["n_fit"]) % len(prof)]
    return total


def _fit_mstl(y: np.ndarray, periods: list[int]) -> dict:
    from statsforecast.mstl import mstl

    dec = mstl(x=y, period=periods if len(periods) > 1 else periods[0])
    profiles = [dec[f"seasonal{p}"].to_numpy()[-p:].tolist() if len(periods) > 1 else
                dec["seasonal"].to_numpy()[-p:].tolist() for p in periods]
    spec = {"periods": list(periods), "profiles": profiles, "n_fit": len(y)}
    adjusted = y - _mstl_seasonal(spec, np.arange(len(y)))
    spec["ets"] = _fit_ets(adjusted, 1, model="ZZN")
    return spec


def _mstl_forecasts(spec: dict, y: np.ndarray, positions: np.ndarray, h: int) -> np.ndarray:
    stop = int(positions.max()) + 1
    adjusted = y[:stop] - _mstl_seasonal(spec, np.arange(stop))
    base = _ets_forecasts(spec["ets"], adjusted, positions, h)
    return base + _mstl_seasonal(spec, positions[:, None] + np.arange(1, h + 1)[None, :])


class StatForecaster(Forecaster, params=StatParams):
    """A statsforecast model (``name``: ``auto-ets``, ``auto-arima`` or ``mstl``) on each target alone; see the
    module docstring for how it forecasts from every origin without refitting and what it saves."""

    def check_params(self):
        params = super().check_params()
        require_statsforecast(self.name)
        return params

    def _periods(self, n_fit: int) -> list[int]:
        base = pd.tseries.frequencies.to_offset(self.freq_).name
        if self.name != "mstl":
            return [int(self.season) if self.season else DEFAULT_SEASON.get(base, 1)]
        given = (int(self.season),) if self.season else MSTL_SEASONS.get(base, (1,))
        periods = [p for p in given if p > 1 and 2 * p < n_fit]
        if not periods:
            raise DataError(f"mstl: {n_fit} fitting rows hold no two full cycles of a season {list(given)}")
        return periods

    def fit(self, frame: pd.DataFrame, val_fraction: float = 0.2, progress=None) -> "StatForecaster":
        t0 = time.perf_counter()
        self.check_params()
        self._check_frame(frame, self.targets)
        self.freq_ = infer_freq(frame.index)
        n = len(frame)
        n_fit = n - int(round(n * val_fraction))
        periods = self._periods(n_fit)
        self.fits_ = []
        for target in self.targets:
            y = self._series(frame, target, n_fit)
            if not np.isfinite(y).all():
                bad = frame.index[int(np.flatnonzero(~np.isfinite(y))[0])]
                raise DataError(f"{self.name}: target {target!r} is missing at {bad} in the fitting rows; the "
                                f"statistical models need an unbroken record ([data] long_gaps = "
                                f"\"longest-segment\", a fill_limit, or [model] stat_gaps = \"carry\" when "
                                f"it does not start with a gap)")
            if progress:
                progress(f"fitting {self.name} on {target} ({n_fit} rows, season {periods})")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if self.name == "auto-ets":
                    spec = _fit_ets(y, periods[0])
                elif self.name == "auto-arima":
                    spec = _fit_arima(y, periods[0])
                else:
                    spec = _fit_mstl(y, periods)
            self.fits_.append(spec)
        self.n_fit_ = n_fit
        self.periods_ = periods
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def _series(self, frame: pd.DataFrame, target: str, stop: int) -> np.ndarray:
        """The target's rows [0, stop); with ``gaps = "carry"`` the last observed value carried through gaps."""
        y = frame[target].to_numpy(dtype=np.float64)[:stop]
        if self.gaps == "carry":
            last = np.where(np.isfinite(y), np.arange(len(y)), -1)
            np.maximum.accumulate(last, out=last)
            y = np.where(last >= 0, y[np.maximum(last, 0)], np.nan)
        return y

    @property
    def chosen(self) -> list[str]:
        """The model statsforecast chose for each target (e.g. ``ETS(A,N,A)``)."""
        out = []
        for spec in self.fits_:
            if self.name == "mstl":
                out.append(f"MSTL{tuple(spec['periods'])} + {spec['ets']['method']}")
            else:
                out.append(spec["method"])
        return out

    def _predict_positions(self, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        self._check_frame(frame, self.targets)
        out = np.full((len(positions), self.horizon, len(self.targets)), np.nan)
        if not len(positions):
            return out
        stop = int(positions.max()) + 1
        fn = {"auto-ets": _ets_forecasts, "auto-arima": _arima_forecasts, "mstl": _mstl_forecasts}[self.name]
        for k, (target, spec) in enumerate(zip(self.targets, self.fits_)):
            y = self._series(frame, target, stop)
            missing = np.flatnonzero(~np.isfinite(y))
            first = int(missing[0]) if missing.size else stop  # origins at or after a gap are skipped
            ok = positions < first
            if self.gaps == "carry":  # and origins whose own value was carried
                ok &= np.isfinite(frame[target].to_numpy(dtype=np.float64)[positions])
            if ok.any():
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    out[ok, :, k] = fn(spec, y[:first], positions[ok], self.horizon)
        return out

    def get_state(self) -> dict:
        return {"name": self.name, "targets": self.targets, "horizon": self.horizon, "seed": self.seed,
                "season": self.season, "gaps": self.gaps, "freq": self.freq_, "n_fit": self.n_fit_, "periods": self.periods_,
                "fits": self.fits_, "fit_seconds": getattr(self, "fit_seconds_", 0.0)}

    @classmethod
    def from_state(cls, state: dict, files: dict) -> "StatForecaster":
        obj = cls(name=state["name"], targets=list(state["targets"]), horizon=int(state["horizon"]),
                  seed=int(state["seed"]), season=state["season"], gaps=state.get("gaps", "refuse"))
        obj.check_params()
        obj.freq_ = state["freq"]
        obj.n_fit_ = int(state["n_fit"])
        obj.periods_ = [int(p) for p in state["periods"]]
        obj.fits_ = [dict(f) for f in state["fits"]]
        obj.fit_seconds_ = float(state.get("fit_seconds", 0.0))
        return obj
