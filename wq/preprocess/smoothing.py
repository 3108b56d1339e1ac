"""Moving average (docs/definitions.md: moving average) and its exact inverse for forecasts."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import Field

from wq.errors import ConfigError
from wq.estimator import Int, Params
from wq.preprocess._base import ArrayLike, Stage, window_has_nan


class MovingAverageParams(Params):
    """Settings of :class:`MovingAverage` (pipeline table ``[preprocess] moving_average``)."""

    window: Annotated[Int, Field(ge=1, description="number of values averaged (1: identity)")] = 3
    centered: bool = Field(False, description="centred window: uses the future, offline only")


class MovingAverage(Stage, params=MovingAverageParams):
    """Trailing moving average of each column.

    Definition (docs/definitions.md): ``m_t = mean(x_{t-n+1} .. x_t)`` with n = ``window``; at the start of the
    series the mean is over the values available (``x_0 .. x_t`` for t < n-1, pandas' ``min_periods=1``).
    ``window=1`` is the identity. Causal. A window holding a missing value (NaN, a gap kept by the data layer)
    gives NaN: a mean over fewer values would not be the trailing mean the exact inverse
    (:meth:`inverse_forecast`) undoes.

    ``centered=True`` is an **offline option only: it uses the future**. The window then covers
    ``x_{t-⌊n/2⌋} .. x_{t+⌈n/2⌉-1}`` (pandas ``rolling(n, center=True, min_periods=1)``), and
    ``causal`` is False. Nothing is learned; ``fit`` records the number of columns.
    """

    @property
    def causal(self) -> bool:
        """False when ``centered``: the centred window reads values after t."""
        return not bool(self.centered)

    def fit(self, X: ArrayLike, y: Any = None) -> MovingAverage:
        """Check the parameters and record the number (and names) of columns; nothing else is learned."""
        self.check_params()
        self._input(X, reset=True)
        return self

    def transform(self, X: ArrayLike) -> ArrayLike:
        """Moving average of every column, same kind and shape as ``X``."""
        arr, kind = self._input(X, reset=False)
        n = int(self.window)
        T, k = arr.shape
        if n == 1 or T == 0:
            return kind.wrap(arr.copy())
        before, after = (n // 2, n - 1 - n // 2) if self.centered else (n - 1, 0)
        gap = window_has_nan(arr, before, after)
        padded = np.concatenate([np.zeros((before, k)), np.nan_to_num(arr, nan=0.0), np.zeros((after, k))])
        sums = sliding_window_view(padded, n, axis=0).sum(axis=-1)  # (T, k)
        t = np.arange(T)
        counts = np.minimum(t + after, T - 1) - np.maximum(t - before, 0) + 1
        return kind.wrap(np.where(gap, np.nan, sums / counts[:, None]))

    def inverse_forecast(self, pred: np.ndarray, past: np.ndarray) -> np.ndarray:
        """Forecasts of x from forecasts of the trailing mean, exactly.

        ``pred`` (N, h, k): forecasts of m_{t+1} .. m_{t+h}; ``past`` (N, n-1, k): the known un-averaged
        values x_{t-n+2} .. x_t. Since n·m_s = x_{s-n+1} + ... + x_s,

            x_{t+j} = n·m_{t+j} - (x_{t+j-n+1} + ... + x_{t+j-1}),

        recursively over j = 1..h, using the earlier forecasts x̂ where the sum reaches past t.
        Returns (N, h, k). ``window=1`` returns ``pred`` unchanged. Only for the trailing mean."""
        if self.centered:
            raise ConfigError("MovingAverage: inverse_forecast inverts the trailing mean; centered=True has no causal inverse")
        n = int(self.check_params().window)
        pred = np.asarray(pred, dtype=np.float64)
        past = np.asarray(past, dtype=np.float64)
        if pred.ndim != 3:
            raise ValueError(f"MovingAverage.inverse_forecast: pred must be (N, h, k), got shape {pred.shape}")
        N, h, k = pred.shape
        if past.shape != (N, n - 1, k):
            raise ValueError(
                f"MovingAverage.inverse_forecast: past must be (N, window-1, k) = {(N, n - 1, k)}, got {past.shape}"
            )
        if hasattr(self, "n_features_in_") and k != self.n_features_in_:
            raise ValueError(f"MovingAverage.inverse_forecast: {k} columns, fitted on {self.n_features_in_}")
        if n == 1:
            return pred.copy()
        buf = np.concatenate([past, np.empty((N, h, k))], axis=1)
        for j in range(h):  # loop over the horizon only; vectorised over windows and columns
            buf[:, n - 1 + j] = n * pred[:, j] - buf[:, j : n - 1 + j].sum(axis=1)
        return buf[:, n - 1 :]
