"""Analytic objectives for checking the tuning engine without training anything (top-level, so picklable
for worker processes)."""

from __future__ import annotations

import math

import numpy as np

PEAKS_MAX = 8.10621359
"""Maximum of :func:`peaks` on [-3, 3]^2, near (x, y) = (-0.00932, 1.58137) (dense-grid search)."""


def peaks(x: float | np.ndarray, y: float | np.ndarray) -> float | np.ndarray:
    """MATLAB's peaks function: 3(1-x)^2 e^{-x^2-(y+1)^2} - 10(x/5 - x^3 - y^5) e^{-x^2-y^2}
    - 1/3 e^{-(x+1)^2-y^2}."""
    return (3 * (1 - x) ** 2 * np.exp(-(x**2) - (y + 1) ** 2)
            - 10 * (x / 5 - x**3 - y**5) * np.exp(-(x**2) - y**2)
            - np.exp(-((x + 1) ** 2) - y**2) / 3)


def negative_peaks(params: dict, seed: int) -> float:
    """Objective for minimisers: −peaks(params["x"], params["y"]) (the seed is unused)."""
    return -float(peaks(float(params["x"]), float(params["y"])))


def sphere(params: dict, seed: int) -> float:
    """Sum of squares of the numeric settings (minimum 0 at the origin); the seed is unused."""
    return float(sum(float(v) ** 2 for v in params.values() if isinstance(v, (int, float)) and not
                     isinstance(v, bool) and math.isfinite(float(v))))
