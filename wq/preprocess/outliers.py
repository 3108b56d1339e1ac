"""3σ outlier smoothing (docs/definitions.md: 3σ outlier smoothing)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from pydantic import Field

from wq.errors import DataError
from wq.estimator import Float, Int, Params
from wq.preprocess._base import ArrayLike, Stage, column_labels

# A trailing window whose spread is below this fraction of the training σ is flat (stuck sensor,
# dry spell): it says nothing about the scale, so the training σ is used there instead of ~0.
_FLAT = 1e-6


class OutlierParams(Params):
    """Settings of :class:`SigmaOutlierSmoother` (pipeline table ``[preprocess] outliers``)."""

    k: Annotated[Float, Field(gt=0, description="outlier when |x - mean| > k sigma")] = 3.0
    neighbours: Annotated[Int, Field(ge=1, description="previous cleaned values averaged, weights m..1")] = 3
    window: Annotated[Int, Field(ge=2, description="trailing window of the statistics (drifting series)")] | None = None


class SigmaOutlierSmoother(Stage, params=OutlierParams):
    """Replace outliers by a weighted average of the values just before them.

    Definition (docs/definitions.md): ``x_t`` is an outlier when ``|x_t - μ| > kσ``. μ and σ are the mean and
    the sample standard deviation (ddof=1) of each column of the *training* data (stored as ``mean_``,
    ``std_``). An outlier is replaced by the weighted average of the m = ``neighbours`` previous, already
    cleaned values with weights m, m-1, ..., 1 (the nearest heaviest)::

        y_t = sum_{j=1..m} (m - j + 1) y_{t-j} / sum_{j=1..m} (m - j + 1)

    At the start of a series only the available predecessors are used (with their weights m, m-1, ...);
    an outlier at the first position becomes μ. Outliers are found on the raw values; the replacement
    uses cleaned values, so two consecutive spikes are both replaced and the second one uses the cleaned
    first one. Non-outliers are passed through unchanged.

    ``window`` (int >= 2, option for drifting series): μ_t and σ_t are the mean and sample standard
    deviation of the ``window`` raw values before t (t itself excluded), computed for all t at once from
    cumulative sums; positions with fewer than ``window`` values before them in the given series use the
    training μ, σ. Where a trailing window is flat (σ_t below 1e-6 training σ, e.g. a stuck sensor) the
    training σ is used, since a zero spread would flag every change as an outlier.

    Causal: the output at t depends on inputs at times <= t only. There is no inverse (a cleaning step).

    Missing values (NaN, gaps kept by the data layer) are not outliers and stay NaN. μ and σ are estimated
    on the observed training values; a trailing window uses the observed values among its ``window``
    predecessors (the training μ, σ when fewer than 2); a replacement averages the observed values among
    the m predecessors with their weights (μ_t when none is observed). Nothing is filled.
    """

    _state_attrs = ("mean_", "std_")

    def fit(self, X: ArrayLike, y: Any = None) -> SigmaOutlierSmoother:
        """Store the training mean ``mean_`` and sample standard deviation ``std_`` of every column.

        A column constant in training has σ = 0, where every other value would be an outlier:
        :class:`wq.errors.DataError` naming it."""
        self.check_params()
        arr, kind = self._input(X, reset=True)
        observed = (~np.isnan(arr)).sum(axis=0)
        if observed.min() < 2:
            raise DataError(f"SigmaOutlierSmoother: needs at least 2 observed training values per column, got "
                            f"{int(observed.min())}")
        std = np.nanstd(arr, axis=0, ddof=1)
        const = np.flatnonzero(std == 0)
        if const.size:
            names = ", ".join(column_labels(kind, arr.shape[1])[j] for j in const)
            raise DataError(f"SigmaOutlierSmoother: column {names} is constant in the training data (σ = 0)")
        self.mean_ = np.nanmean(arr, axis=0)
        self.std_ = std
        return self

    def _centre_scale(self, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """μ_t and σ_t for every position, shape (T, k) each (broadcast views when not trailing)."""
        T, k = arr.shape
        if self.window is None:
            return np.broadcast_to(self.mean_, arr.shape), np.broadcast_to(self.std_, arr.shape)
        w = int(self.window)
        mu = np.tile(self.mean_, (T, 1))
        sd = np.tile(self.std_, (T, 1))
        if T > w:
            # Standardise with the training values first so the cumulative sums stay O(1) per step.
            z = (arr - self.mean_) / self.std_
            seen = ~np.isnan(z)
            z = np.where(seen, z, 0.0)
            c0 = np.zeros((T + 1, k))
            c1 = np.zeros((T + 1, k))
            c2 = np.zeros((T + 1, k))
            np.cumsum(seen, axis=0, out=c0[1:])
            np.cumsum(z, axis=0, out=c1[1:])
            np.cumsum(z * z, axis=0, out=c2[1:])
            n = c0[w:T] - c0[: T - w]  # observed values among z_{t-w} .. z_{t-1}, for t = w .. T-1
            s1 = c1[w:T] - c1[: T - w]
            s2 = c2[w:T] - c2[: T - w]
            enough = n >= 2
            nn = np.where(enough, n, 2.0)
            m = s1 / nn
            s = np.sqrt(np.maximum((s2 - s1 * m) / (nn - 1), 0.0))
            mu[w:] = np.where(enough, self.mean_ + self.std_ * m, mu[w:])
            sd[w:] = np.where(enough, self.std_ * np.where(s > _FLAT, s, 1.0), sd[w:])
        return mu, sd

    def _mask(self, arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu, sd = self._centre_scale(arr)
        return np.abs(arr - mu) > float(self.k) * sd, mu

    def outlier_mask(self, X: ArrayLike) -> ArrayLike:
        """Boolean mask of the outliers ``|x_t - μ_t| > kσ_t``, same kind and shape as ``X``."""
        arr, kind = self._input(X, reset=False)
        mask, _ = self._mask(arr)
        return kind.wrap(mask)

    def transform(self, X: ArrayLike) -> ArrayLike:
        """Cleaned copy of ``X``: each outlier replaced by the weighted average of the cleaned values before it."""
        arr, kind = self._input(X, reset=False)
        mask, mu = self._mask(arr)
        out = arr.copy()
        m = int(self.neighbours)
        weights = np.arange(m, 0, -1, dtype=np.float64)  # for lags 1, 2, ..., m
        rows, cols = np.nonzero(mask)  # row-major: ascending time, so predecessors are cleaned first
        for t, j in zip(rows.tolist(), cols.tolist()):  # loops over outliers only
            n = min(m, t)
            prev = out[t - n : t, j][::-1]  # lags 1 .. n
            seen = ~np.isnan(prev)
            if not seen.any():  # the first value, or only missing values before it
                out[t, j] = mu[t, j]
                continue
            w = weights[:n][seen]
            out[t, j] = prev[seen] @ w / w.sum()
        return kind.wrap(out)
