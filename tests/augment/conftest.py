from __future__ import annotations

import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def windows() -> np.ndarray:
    """48 small windows (L=6, F=3) in [0, 1] with a different range per channel."""
    rng = np.random.default_rng(0)
    base = rng.random((48, 6, 3))
    return (base * np.array([1.0, 0.5, 0.2]) + np.array([0.0, 0.3, 0.7])).astype(np.float32)


@pytest.fixture
def two_mode_windows():
    """Factory: (n, length, channels, seed) -> half the windows around 0.2, half around 0.8 (every step and
    channel), noise sd 0.03."""

    def make(n: int, length: int, channels: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        level = np.where(np.arange(n) % 2 == 0, 0.2, 0.8)
        return (level[:, None, None] + 0.03 * rng.standard_normal((n, length, channels))).astype(np.float32)

    return make
