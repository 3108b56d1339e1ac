"""Generators on windows of a real dataset (Fort Collins daily demand and weather); skipped without data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wq.augment import make_generator, wasserstein_per_feature

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CSV = DATA / "fort_collins_water_demand" / "fort_collins_daily_water_weather.csv"


@pytest.fixture(scope="module")
def train_windows() -> np.ndarray:
    if not CSV.is_file():
        pytest.skip(f"{CSV} not available")
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(CSV)
    X = frame[["water_demand_mgd", "tmax_f", "tmin_f", "precipitation_in"]].to_numpy(float)
    train = X[: int(0.6 * len(X))]
    lo, hi = train.min(axis=0), train.max(axis=0)  # scaled on the training part only
    scaled = (train - lo) / (hi - lo)
    return np.lib.stride_tricks.sliding_window_view(scaled, 14, axis=0).transpose(0, 2, 1).astype(np.float32)


@pytest.mark.parametrize("method", ["wgan-gp", "vae", "jitter"])
def test_generators_train_on_real_windows(method, train_windows):
    settings = {"jitter": {}}.get(method, {"epochs": 2})
    gen = make_generator(method, **settings).fit(train_windows, seed=0)
    S = gen.sample(100, seed=0)
    assert S.shape == (100, 14, 4) and np.isfinite(S).all()
    assert (S >= 0).all() and (S <= 1).all()  # the training range after min-max scaling
    assert wasserstein_per_feature(train_windows, S).shape == (4,)
