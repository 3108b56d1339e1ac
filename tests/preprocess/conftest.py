"""Shared helpers of the preprocessing tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest


def perturb_after(x: np.ndarray, t: int, rng: np.random.Generator) -> np.ndarray:
    """Copy of ``x`` whose rows after ``t`` are replaced by arbitrary values (big jumps, sign flips, noise)."""
    y = np.array(x, dtype=float, copy=True)
    tail = y[t + 1 :]
    scale = 1.0 + np.nanmax(np.abs(tail)) if np.isfinite(tail).any() else 1.0
    kind = rng.integers(3)
    if kind == 0:
        tail[...] = rng.normal(0.0, 10 * scale, tail.shape)
    elif kind == 1:
        tail[...] = -tail[::-1] + 50 * scale
    else:
        tail[...] += rng.standard_cauchy(tail.shape)
    return y


def check_causal(fn: Callable[[np.ndarray], np.ndarray], x: np.ndarray, seed: int = 0, n_t: int = 30) -> None:
    """Outputs up to t are identical when the inputs after t change arbitrarily, for ``n_t`` random t;
    the perturbation must also change some output after t (so the check has something to catch)."""
    rng = np.random.default_rng(seed)
    base = np.asarray(fn(x))
    changed_later = 0
    for t in rng.integers(0, len(x) - 1, n_t):
        out = np.asarray(fn(perturb_after(x, int(t), rng)))
        np.testing.assert_array_equal(out[: t + 1], base[: t + 1], err_msg=f"output up to t={t} changed")
        changed_later += not np.array_equal(out[t + 1 :], base[t + 1 :])
    assert changed_later > 0


@pytest.fixture
def causal_check() -> Callable[..., None]:
    return check_causal


@pytest.fixture
def perturb() -> Callable[..., np.ndarray]:
    return perturb_after
