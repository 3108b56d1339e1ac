"""Min-max scaling (docs/definitions.md: min-max)."""

from __future__ import annotations

from typing import Any

import numpy as np

from wq.errors import DataError
from wq.preprocess._base import ArrayLike, Stage, column_labels


class MinMaxScaling(Stage):
    """Each column to [0, 1] with the minimum and maximum of the *training* data.

    Definition (docs/definitions.md): ``z = (x - min_train) / (max_train - min_train)``; inverse
    ``x = z (max_train - min_train) + min_train``. ``data_min_``, ``data_max_`` come from ``fit`` only;
    later data may fall outside [0, 1] and is not clipped (clipping would hide a shift and break the
    inverse). Forecasts are inverse-transformed before any metric. A column constant in training cannot
    be scaled: :class:`wq.errors.DataError` naming it. Pointwise, hence causal. Missing values (NaN) are left
    out of the minimum and maximum and stay NaN.
    """

    _state_attrs = ("data_min_", "data_max_")

    def fit(self, X: ArrayLike, y: Any = None) -> MinMaxScaling:
        """Store ``data_min_`` and ``data_max_`` of every training column."""
        arr, kind = self._input(X, reset=True)
        lo, hi = np.nanmin(arr, axis=0), np.nanmax(arr, axis=0)
        const = np.flatnonzero(hi == lo)
        if const.size:
            names = ", ".join(column_labels(kind, arr.shape[1])[j] for j in const)
            raise DataError(f"MinMaxScaling: column {names} is constant in the training data (min = max); cannot scale it")
        self.data_min_, self.data_max_ = lo, hi
        return self

    def transform(self, X: ArrayLike) -> ArrayLike:
        """``(x - data_min_) / (data_max_ - data_min_)``, same kind and shape as ``X``."""
        arr, kind = self._input(X, reset=False)
        return kind.wrap((arr - self.data_min_) / (self.data_max_ - self.data_min_))

    def inverse_transform(self, X: ArrayLike) -> ArrayLike:
        """``z (data_max_ - data_min_) + data_min_``, same kind and shape as ``X``."""
        arr, kind = self._input(X, reset=False, what="MinMaxScaling.inverse_transform input")
        return kind.wrap(arr * (self.data_max_ - self.data_min_) + self.data_min_)
