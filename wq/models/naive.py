"""Plain baselines a practitioner checks first: persistence and seasonal naive.

Persistence: y_hat(t+s) = y(t) for every step s. Seasonal naive with season m: y_hat(t+s) = y(t+s-m*ceil(s/m)),
the last observed value of the same phase of the season (weekly, m = 7, for daily data; m = 24 for hourly).
Both use the observed target (after the data layer's gap rule), nothing after the origin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from wq.data.grid import infer_freq  # noqa: F401 - also imported from here by wq.models.windowed
from wq.models.base import Forecaster

DEFAULT_SEASON = {"D": 7, "B": 5, "h": 24, "H": 24, "W": 52, "MS": 12, "M": 12, "ME": 12}


class NaiveForecaster(Forecaster):
    """``season = 1`` is persistence; ``season = m`` is seasonal naive (default from the frequency)."""

    def __init__(self, targets, horizon: int = 1, seed: int = 0, season: int | None = 1, name: str = "persistence"):
        super().__init__(targets, horizon, seed)
        self.season = season
        self.name = name

    def fit(self, frame: pd.DataFrame, val_fraction: float = 0.2, progress=None) -> "NaiveForecaster":
        self._check_frame(frame, self.targets)
        self.freq_ = infer_freq(frame)
        base = pd.tseries.frequencies.to_offset(self.freq_).name
        self.season_ = int(self.season) if self.season else DEFAULT_SEASON.get(base, 1)
        self.fit_seconds_ = 0.0
        return self

    def _predict_positions(self, frame: pd.DataFrame, positions: np.ndarray) -> np.ndarray:
        self._check_frame(frame, self.targets)
        y = frame[self.targets].to_numpy(dtype=np.float64)
        m = self.season_
        steps = np.arange(1, self.horizon + 1)
        back = steps - m * np.ceil(steps / m).astype(int)  # <= 0: position relative to the origin
        src = positions[:, None] + back[None, :]
        if (src < 0).any():
            from wq.errors import DataError

            raise DataError(f"{self.name} needs {m} steps of history before the first origin")
        return y[src]  # (N, h, k)

    def get_state(self) -> dict:
        return {"targets": self.targets, "horizon": self.horizon, "seed": self.seed, "season": self.season_,
                "freq": self.freq_, "name": self.name}

    @classmethod
    def from_state(cls, state: dict, files: dict) -> "NaiveForecaster":
        obj = cls(state["targets"], state["horizon"], state["seed"], state["season"], state["name"])
        obj.freq_ = state["freq"]
        obj.season_ = int(state["season"])
        obj.fit_seconds_ = 0.0
        return obj
