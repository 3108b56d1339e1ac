"""The mlforecast + LightGBM peer (``peers`` extra) and the headline's common scoring; skipped without the extra."""

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("mlforecast")
pytest.importorskip("lightgbm")


def _daily(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = np.sin(2 * np.pi * t / 30) + rng.normal(0, 0.1, n)
    y = 20 + 3 * np.sin(2 * np.pi * t / 7) + 2 * np.roll(x, 1) + rng.normal(0, 0.2, n)
    return pd.DataFrame({"y": y, "x": x}, index=pd.date_range("2020-01-01", periods=n, freq="D", name="time"))


def test_mlf_lgbm_peer_is_causal_learns_and_skips_gaps():
    from benchmarks.peers import MLForecastLGBMPeer, peer_forecasts

    frame = _daily(300)
    peer = MLForecastLGBMPeer(lags=7, seed=0)
    a = peer.forecast(frame, "y", ["x"], 200, 200, 300)
    changed = frame.copy()
    changed.iloc[250:, :] += 100.0  # target and driver after 249
    b = peer.forecast(changed, "y", ["x"], 200, 200, 300)
    np.testing.assert_allclose(a[:50], b[:50])  # forecasts of y[200..249] use rows <= 248 only
    assert not np.allclose(a[51:], b[51:])
    y = frame["y"].to_numpy()
    mape = np.mean(np.abs(a - y[200:]) / y[200:]) * 100
    naive = np.mean(np.abs(y[199:299] - y[200:]) / y[200:]) * 100
    assert mape < 0.6 * naive  # it learns the weekly cycle and the driver
    gappy = frame.copy()
    gappy.iloc[100:130, 0] = np.nan  # a long gap kept missing by the data layer
    pred, _ = peer_forecasts(gappy, ["y"], ["x"], 200, 200, 300, ["mlf-lgbm", "sk-hgb", "sf-autoets"], season=7)
    assert np.isfinite(pred["predicted"]).all() and len(pred) == 300


def test_headline_scores_every_model_on_the_same_times():
    from benchmarks.headline import common_scores

    t = pd.date_range("2020-01-01", periods=4, freq="D")
    pred = pd.DataFrame({"model": ["a"] * 4 + ["b"] * 4, "time": list(t) * 2, "step": 1, "target": "y",
                         "predicted": [1, 2, np.nan, 4, 1, 1.5, 1, 1.0], "observed": [1, 2, 3, 4] * 2})
    m = common_scores(pred, None, 0.9, "skip").set_index("model")
    assert (m["n"] == 3).all()  # time 3 is left out for both: model a made no forecast there
    assert m.loc["a", "MAPE"] == 0.0 and m.loc["b", "MAPE"] == pytest.approx(100 * (0 + 0.25 + 0.75) / 3)
