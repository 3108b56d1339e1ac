"""Leak detector: a model that 'beats' persistence on a random walk has seen the future.

On a pure random walk the best next-day forecast is today's value, so no causal model can beat persistence
beyond noise; the offline (whole-series) wavelet transform does, which shows the check can fail. On a noisy
weekly series driven by yesterday's driver, the causal dual model beats persistence clearly.
"""

import numpy as np
import pandas as pd
import pytest

from wq.evaluate.backtest import forecast_period
from wq.evaluate.metrics import mape
from wq.models import make_model
from wq.preprocess import PreprocessParams

SETTINGS = {"hidden": 12, "epochs": 40, "patience": 8, "batch": 64, "lr": 5e-3, "dropout": 0.0}


def frame_of(y, x):
    idx = pd.date_range("2020-01-01", periods=len(y), freq="D", name="time")
    return pd.DataFrame({"y": y, "x": x}, index=idx)


def fit_score(name, frame, mode="causal", start=None, method="dwt"):
    wavelet = ({"method": "atrous", "wavelet": "db4", "level": 2} if method == "atrous" else
               {"wavelet": "db4", "level": 2, "window": 32, "mode": mode})
    pre = PreprocessParams(outliers=None, moving_average=None, scale=True, pca=None, wavelet=wavelet).build()
    model = make_model(name, targets=["y"], drivers=["x"], calendar=[], lags=7, preprocess=pre,
                       model=SETTINGS, seed=0, change=True)
    start = start or int(len(frame) * 0.7)
    model.fit(frame.iloc[:start], val_fraction=0.2)
    out = forecast_period(model, frame, start)
    return mape(out.observed, out.predicted)


@pytest.fixture(scope="module")
def random_walk():
    rng = np.random.default_rng(42)
    y = 200 + np.cumsum(rng.normal(0, 1, 700))
    return frame_of(y, rng.normal(size=700))


def persistence(frame):
    m = make_model("persistence", targets=["y"]).fit(frame.iloc[:490])
    out = forecast_period(m, frame, int(len(frame) * 0.7))
    return mape(out.observed, out.predicted)


@pytest.mark.parametrize("name", ["dwt-pca-lstm", "hgb"])
def test_random_walk_no_causal_model_beats_persistence(random_walk, name):
    base = persistence(random_walk)
    assert fit_score(name, random_walk) > 0.97 * base


def test_random_walk_atrous_dual_model_does_not_beat_persistence(random_walk):
    assert fit_score("dwt-pca-lstm", random_walk, method="atrous") > 0.97 * persistence(random_walk)


def test_random_walk_offline_wavelet_beats_persistence_so_the_check_can_fail(random_walk):
    assert fit_score("dwt-pca-lstm", random_walk, mode="offline") < 0.9 * persistence(random_walk)


def test_driven_seasonal_series_dual_model_beats_persistence():
    rng = np.random.default_rng(7)
    n = 700
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.6 * x[t - 1] + rng.normal()
    t = np.arange(n)
    y = 30 + 4 * np.sin(2 * np.pi * t / 7) + 3 * np.roll(x, 1) + rng.normal(0, 0.5, n)
    frame = frame_of(y[1:], x[1:])
    base = persistence(frame)
    assert fit_score("dwt-pca-lstm", frame) < 0.7 * base
