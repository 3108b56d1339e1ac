"""Plain baselines a practitioner checks first: persistence and seasonal naive.

Persistence: y_hat(t+s) = y(t) for every step s. Seasonal naive with season m: y_hat(t+s) = y(t+s-m*ceil(s/m)),
the last observed value of the same phase of the season (weekly, m = 7, for daily data; m = 24 for hourly).
Weekly baselines of hourly (any sub-daily) data: ``weekly-naive`` is "the same hour last week" (season = one
week of steps, from the frequency), ``weekly-mean4`` the mean of the last four weeks' same hour:
y_hat(t+s) = mean_{j=0..3} y(t+s-m*(ceil(s/m)+j)), observed values only (NaN when all four are missing).
Both use the observed target (after the data layer's gap rule), nothing after the origin.
"""

from __future__ import annotations

import warnings
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import Field

from wq.data.grid import infer_freq
from wq.errors import DataError
from wq.estimator import Int
from wq.models.base import Forecaster
from wq.models.params import HorizonParams

DEFAULT_SEASON = {"D": 7, "B": 5, "h": 24, "H": 24, "W": 52, "MS": 12, "M": 12, "ME": 12}


class NaiveParams(HorizonParams):
    """Settings of :class:`NaiveForecaster`."""

    targets: list[str] = Field(min_length=1)
    season: Annotated[Int, Field(ge=1)] | None = Field(1, description="1: persistence; None: from the frequency")
    seed: Annotated[Int, Field(ge=0)] = 0
    name: str = "persistence"
    period: str | None = Field(None, description="season as a duration ('7D'); overrides season")
    seasons: Annotated[Int, Field(ge=1, description="average of the last `seasons` seasons")] = 1


class NaiveForecaster(Forecaster, params=NaiveParams):
    """``season = 1`` is persistence; ``season = m`` is seasonal naive (None: m from the frequency, see
    :data:`DEFAULT_SEASON`)."""

    @property
    def min_history(self) -> int:
        return int(getattr(self, "season_", self.season or 1)) * int(self.seasons)

    def fit(self, frame: pd.DataFrame, val_fraction: float = 0.2, progress=None) -> "NaiveForecaster":
        self.check_params()
        self._check_frame(frame, self.targets)
        self.freq_ = infer_freq(frame.index)
        base = pd.tseries.frequencies.to_offset(self.freq_).name
        self.season_ = int(self.season) if self.season else DEFAULT_SEASON.get(base, 1)
        if self.period:
            step = pd.Timedelta(pd.tseries.frequencies.to_offset(self.freq_))
            self.season_ = max(1, int(round(pd.Timedelta(self.period) / step)))
        self.fit_seconds_ = 0.0
        return self

    def _predict_positions(self, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        self._check_frame(frame, self.targets)
        y = frame[self.targets].to_numpy(dtype=np.float64)
        m = self.season_
        steps = np.arange(1, self.horizon + 1)
        back = steps - m * np.ceil(steps / m).astype(int)  # <= 0: position relative to the origin
        src = positions[:, None] + back[None, :]
        if (src - m * (self.seasons - 1) < 0).any():
            raise DataError(f"{self.name} needs {m * self.seasons} steps of history before the first origin")
        if self.seasons == 1:
            return y[src]  # (N, h, k)
        stack = np.stack([y[src - m * j] for j in range(self.seasons)])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all seasons missing: NaN, skipped by the scorer
            return np.nanmean(stack, axis=0)

    def get_state(self) -> dict:
        return {"targets": self.targets, "horizon": self.horizon, "seed": self.seed, "season": self.season_,
                "freq": self.freq_, "name": self.name,
                "seasons": self.seasons}

    @classmethod
    def from_state(cls, state: dict, files: dict) -> "NaiveForecaster":
        obj = cls(targets=list(state["targets"]), horizon=state["horizon"], seed=state["seed"],
                  season=state["season"], name=state["name"], seasons=int(state.get("seasons", 1)))
        obj.check_params()
        obj.freq_ = state["freq"]
        obj.season_ = int(state["season"])
        obj.fit_seconds_ = 0.0
        return obj
