"""Cheap baselines every learned generator must beat: jitter and magnitude scaling (Um et al. 2017,
"Data augmentation of wearable sensor data", ICMI, sec. 3).

Both sample by drawing real windows uniformly with replacement (seeded) and perturbing them, in the units
the windows are given in (the training-scaled [0, 1] units of the data contract):

* jitter: x' = x + e, e ~ N(0, sigma^2) independently per step and channel (sigma = 0.03);
* magnitude scaling: x' = s * x, s ~ N(1, sigma^2) drawn once per window and channel, constant over time
  (sigma = 0.1).

Conditioning channels (the calendar) are not perturbed: they are copied from the resampled windows. As
every generator, the result is clipped to the per-channel range seen in ``fit``. These generators
keep the training windows to sample from, so a saved one contains them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from wq.augment.base import WindowGenerator, _check_float

__all__ = ["Jitter", "MagnitudeScaling"]


class _Resampler(WindowGenerator):
    """Keeps the real windows (``windows_``) and perturbs a seeded resample of them."""

    sigma: float

    def _validate_settings(self) -> None:
        _check_float("sigma", self.sigma, strict=False)

    def _fit(self, X: np.ndarray, seed: int) -> None:
        self.windows_ = X.copy()

    def _sample(self, n: int, seed: int, idx: np.ndarray) -> np.ndarray:
        rng = np.random.default_rng(seed)
        rng.integers(0, len(self.windows_), size=n)  # the draw of ``idx``: the noise continues the same stream
        return self._perturb(self.windows_[idx], rng)

    def _perturb(self, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def _tensors(self) -> dict[str, Any]:
        return {"windows": torch.from_numpy(self.windows_)}

    def _set_tensors(self, tensors: dict[str, Any]) -> None:
        w = tensors["windows"].detach().cpu().to(torch.float32).numpy()
        if w.ndim != 3 or w.shape[1:] != self.window_shape_:
            L, F = self.window_shape_
            raise ValueError(f"stored windows have shape {w.shape}, expected (N, {L}, {F})")
        self.windows_ = np.ascontiguousarray(w)


class Jitter(_Resampler):
    """Real windows plus Gaussian noise N(0, sigma^2) per step and channel (Um et al. 2017)."""

    method = "jitter"

    def __init__(self, sigma: float = 0.03) -> None:
        self.sigma = sigma

    def _perturb(self, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return base + rng.normal(0.0, float(self.sigma), size=base.shape).astype(np.float32)


class MagnitudeScaling(_Resampler):
    """Real windows times a factor s ~ N(1, sigma^2) per window and channel (Um et al. 2017)."""

    method = "scaling"

    def __init__(self, sigma: float = 0.1) -> None:
        self.sigma = sigma

    def _perturb(self, base: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, _, F = base.shape
        return base * rng.normal(1.0, float(self.sigma), size=(n, 1, F)).astype(np.float32)
