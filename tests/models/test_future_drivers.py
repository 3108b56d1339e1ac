"""Known-future drivers in the learned models (issue 12, item 1): they are used (a same-day driver known in
advance makes the forecast much better), the forecast from t uses only what was known at t (data up to t,
forecasts issued up to t), and a model with them saves and loads."""

import numpy as np
import pandas as pd
import pytest

from wq.data import DataSpec
from wq.data.future import add_future_drivers, future_column
from wq.evaluate.backtest import forecast_period
from wq.evaluate.metrics import mape
from wq.models import load_model, make_model
from wq.preprocess import PreprocessParams

SETTINGS = {"hidden": 8, "epochs": 30, "patience": 5, "batch": 32, "lr": 5e-3, "max_iter": 60}
N, H = 300, 2


def data(seed=0):
    """y(t) = 50 + 5 x(t) + noise: the same day's driver explains it, yesterday's only partly (AR(1) x)."""
    rng = np.random.default_rng(seed)
    x = np.zeros(N)
    for t in range(1, N):
        x[t] = 0.5 * x[t - 1] + rng.normal()
    y = 50 + 5 * x + rng.normal(0, 0.3, N)
    idx = pd.date_range("2023-01-01", periods=N, freq="D", name="time")
    return pd.DataFrame({"y": y, "x": x}, index=idx)


def issued(frame, seed=1):
    """Forecasts of x issued every midnight for the next 3 days: the truth plus an error growing with lead."""
    rng = np.random.default_rng(seed)
    rows = [(t, t + pd.Timedelta(days=s), frame["x"].get(t + pd.Timedelta(days=s), 0.0) + rng.normal(0, 0.2 * s))
            for t in frame.index for s in (1, 2, 3)]
    return pd.DataFrame(rows, columns=["issue_time", "valid_time", "x"])


def with_future(frame, table, tmp_path, name="issued.csv"):
    path = tmp_path / name
    table.to_csv(path, index=False)
    spec = DataSpec("unused.csv", targets=["y"], drivers=["x"], future_drivers=["x"], future_drivers_file=path)
    return add_future_drivers(frame, spec, H)


def model(name, future=True):
    pre = PreprocessParams(wavelet={"wavelet": "db2", "level": 2, "window": 16}).build()
    return make_model(name, targets=["y"], drivers=["x"], calendar=["day_of_week"], preprocess=pre, lags=4,
                      horizon=H, model=SETTINGS, seed=0, future_drivers=["x"] if future else [])


def test_a_same_day_driver_known_in_advance_is_used():
    f = data()
    spec = DataSpec("unused.csv", targets=["y"], future_drivers=["x"], future_drivers_source="observed")
    perfect = add_future_drivers(f, spec, H)
    scores = {}
    for future in (False, True):
        m = model("hgb", future).fit(perfect.iloc[:200])
        out = forecast_period(m, perfect, 200)
        scores[future] = mape(out.observed, out.predicted)
    assert scores[True] < 0.5 * scores[False]


@pytest.mark.parametrize("name", ["hgb", "dwt-pca-lstm"])
def test_forecast_at_t_ignores_data_and_forecasts_issued_after_t(tmp_path, name):
    f = data()
    table = issued(f)
    frame = with_future(f, table, tmp_path)
    m = model(name).fit(frame.iloc[:200])
    t = f.index[240]
    changed = f.copy()
    changed.loc[changed.index > t] = changed.loc[changed.index > t].to_numpy() * 3 - 7
    late = table.copy()
    late.loc[late.issue_time > t, "x"] += 50.0  # revised forecasts, issued after t
    extra = pd.DataFrame({"issue_time": t + pd.Timedelta(hours=1), "valid_time": [t + pd.Timedelta(days=1)],
                          "x": [99.0]})  # issued an hour after the origin for its first step
    frame2 = with_future(changed, pd.concat([late, extra]), tmp_path, "changed.csv")
    origins = f.index[200:290]
    a, b = m.predict(frame, origins), m.predict(frame2, origins)
    keep = a.origin <= t
    assert np.isfinite(a.predicted).all()
    np.testing.assert_array_equal(a[keep].predicted, b[keep].predicted)
    assert not np.allclose(a[~keep].predicted, b[~keep].predicted)


def test_issued_values_missing_for_a_step_skip_the_origin(tmp_path):
    f = data()
    table = issued(f)
    gap = (table.issue_time >= "2023-09-01") & (table.issue_time <= "2023-09-05")
    frame = with_future(f, table[~gap], tmp_path)
    m = model("hgb").fit(frame.iloc[:200])
    out = m.predict(frame, f.index[230:260])
    missing = frame.loc[out.origin, [future_column("x", s) for s in (1, 2)]].isna().any(axis=1).to_numpy()
    assert missing.any() and (~missing).any()
    skipped = out.groupby("origin")["predicted"].apply(lambda p: p.isna().all()).to_numpy()
    np.testing.assert_array_equal(skipped, missing[::H])


@pytest.mark.parametrize("name", ["hgb", "pca-lstm"])
def test_save_load_round_trip_with_future_drivers(tmp_path, name):
    f = data()
    frame = with_future(f, issued(f), tmp_path)
    m = model(name).fit(frame.iloc[:200])
    m.save(tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.future_drivers == ["x"] and loaded.future_columns == m.future_columns
    origins = f.index[200:290]
    pd.testing.assert_frame_equal(loaded.predict(frame, origins), m.predict(frame, origins))
    with pytest.raises(Exception, match="x@t\\+1"):
        loaded.predict(f, origins)  # the known-future columns are needed
