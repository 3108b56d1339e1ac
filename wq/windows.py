"""Supervised windows from a time-aligned channel matrix.

A forecaster sees, at origin t, the lags t-lags+1 .. t of its input channels (target parts, drivers or their
principal components) and predicts the target channels at t+1 .. t+h (direct multi-output). Calendar channels,
known in advance, enter for the target days t+1 .. t+h.

All windows are one strided view over the matrix (``numpy.lib.stride_tricks.sliding_window_view``): a window of
length ``lags + horizon`` starting at ``t - lags + 1`` holds the past in its first ``lags`` rows and the future in
the last ``horizon`` rows. No per-sample Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from wq.errors import ConfigError


def sequence_windows(matrix: np.ndarray, lags: int, horizon: int, origins: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``lags + horizon`` consecutive rows of ``matrix`` (T, C).

    Returns ``(S, origins)`` with S of shape (N, lags + horizon, C): S[i, :lags] are the rows up to origin
    ``origins[i]`` (inclusive) and S[i, lags:] the ``horizon`` rows after it. By default every origin with a
    complete window is used (``lags - 1 <= t <= T - horizon - 1``). The result is a read-only view when
    ``origins`` is None, a copy otherwise.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2:
        raise ValueError(f"matrix must be 2-D (time x channels), got shape {matrix.shape}")
    if lags < 1 or horizon < 1:
        raise ConfigError(f"lags and horizon must be >= 1 (got lags={lags}, horizon={horizon})")
    length = lags + horizon
    n_rows = matrix.shape[0]
    if n_rows < length:
        raise ConfigError(
            f"{n_rows} rows are too few for windows of lags={lags} + horizon={horizon}; "
            f"need at least {length}"
        )
    view = sliding_window_view(matrix, length, axis=0)  # (T - length + 1, C, length)
    view = np.moveaxis(view, 2, 1)  # (N, length, C)
    all_origins = np.arange(lags - 1, n_rows - horizon)
    if origins is None:
        return view, all_origins
    origins = np.asarray(origins, dtype=np.int64)
    bad = (origins < lags - 1) | (origins > n_rows - horizon - 1)
    if bad.any():
        first = int(origins[bad][0])
        raise ConfigError(
            f"origin at position {first} has no complete window (need {lags - 1} <= t <= {n_rows - horizon - 1})"
        )
    return view[origins - (lags - 1)], origins


@dataclass
class WindowSet:
    """Arrays a component model trains on: X (N, lags, F) past inputs, Z (N, horizon * C [+ K]) known-future
    inputs (calendar of the target steps, then the known-future drivers), Y (N, horizon, k) targets (may hold
    NaN where the future is not observed yet)."""

    X: np.ndarray
    Z: np.ndarray
    Y: np.ndarray
    origins: np.ndarray

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def subset(self, index: np.ndarray) -> "WindowSet":
        return WindowSet(self.X[index], self.Z[index], self.Y[index], self.origins[index])

    def concat(self, other: "WindowSet") -> "WindowSet":
        return WindowSet(
            np.concatenate([self.X, other.X]),
            np.concatenate([self.Z, other.Z]),
            np.concatenate([self.Y, other.Y]),
            np.concatenate([self.origins, other.origins]),
        )


def split_sequences(S: np.ndarray, lags: int, inputs: list[int], targets: list[int], future: list[int],
                    origins: np.ndarray | None = None, known: list[int] | None = None) -> WindowSet:
    """Cut sequences S (N, lags + h, C) into a :class:`WindowSet` by channel index lists: ``inputs`` over the
    lags, ``targets`` and ``future`` (calendar) over the horizon rows, ``known`` at the origin row (channels
    that hold, on row t, values of t+1 .. t+h known at t: issued forecasts of drivers), appended to Z."""
    X = np.ascontiguousarray(S[:, :lags, inputs], dtype=np.float32)
    Zf = S[:, lags:, future].reshape(S.shape[0], -1)
    if known:
        Zf = np.concatenate([Zf, S[:, lags - 1, known]], axis=1)
    Z = np.ascontiguousarray(Zf, dtype=np.float32)
    Y = np.ascontiguousarray(S[:, lags:, targets], dtype=np.float32)
    if origins is None:
        origins = np.full(S.shape[0], -1, dtype=np.int64)
    return WindowSet(X, Z, Y, origins)
