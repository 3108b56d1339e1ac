"""MovingAverage against the definition in docs/definitions.md (trailing mean; centred = offline)."""

import json

import numpy as np
import pandas as pd
import pytest

from wq.errors import ConfigError
from wq.preprocess import MovingAverage


def test_trailing_mean_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 10.0])
    np.testing.assert_allclose(MovingAverage(3).fit(x).transform(x), [1, 1.5, 2, 3, 4, 19 / 3])


@pytest.mark.parametrize("n", [1, 2, 3, 7])
@pytest.mark.parametrize("centered", [False, True])
def test_matches_pandas_rolling_min_periods_1(n, centered):
    rng = np.random.default_rng(n)
    df = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "c"])
    out = MovingAverage(n, centered=centered).fit(df).transform(df)
    expected = df.rolling(n, center=centered, min_periods=1).mean()
    pd.testing.assert_frame_equal(out, expected, rtol=1e-12, atol=1e-12)


def test_window_one_is_identity():
    x = np.random.default_rng(0).normal(size=(20, 2))
    np.testing.assert_array_equal(MovingAverage(1).fit(x).transform(x), x)


def test_causal_flag():
    assert MovingAverage(3).causal is True
    assert MovingAverage(3, centered=True).causal is False


def test_trailing_is_causal(causal_check):
    x = np.random.default_rng(1).normal(size=(200, 2))
    causal_check(MovingAverage(5).fit(x).transform, x, seed=2, n_t=40)


def test_centered_reads_the_future(perturb):
    x = np.random.default_rng(1).normal(size=200)
    ma = MovingAverage(5, centered=True).fit(x)
    t = 100
    out = ma.transform(perturb(x, t, np.random.default_rng(0)))
    assert not np.array_equal(out[: t + 1], ma.transform(x)[: t + 1])


def test_inverse_forecast_by_hand():
    # n = 2: x_{t+1} = 2 m_{t+1} - x_t ; x_{t+2} = 2 m_{t+2} - x_{t+1}
    out = MovingAverage(2).inverse_forecast(np.array([[[2.0], [3.0]]]), np.array([[[1.0]]]))
    np.testing.assert_allclose(out, [[[3.0], [3.0]]])


@pytest.mark.parametrize("n,h", [(1, 3), (2, 1), (3, 4), (6, 5)])
def test_inverse_forecast_of_true_means_gives_true_values(n, h):
    rng = np.random.default_rng(n * 10 + h)
    T, k = 120, 2
    x = rng.normal(size=(T, k)).cumsum(axis=0)
    ma = MovingAverage(n).fit(x)
    m = ma.transform(x)
    origins = np.arange(n + 3, T - h)
    ahead = origins[:, None] + np.arange(1, h + 1)
    past = x[origins[:, None] + np.arange(-(n - 2), 1)] if n > 1 else np.empty((len(origins), 0, k))
    out = ma.inverse_forecast(m[ahead], past)
    np.testing.assert_allclose(out, x[ahead], rtol=1e-9, atol=1e-9)


def test_inverse_forecast_checks_shapes_and_mode():
    ma = MovingAverage(3).fit(np.zeros((5, 1)) + np.arange(5)[:, None])
    with pytest.raises(ValueError, match="past"):
        ma.inverse_forecast(np.zeros((4, 2, 1)), np.zeros((4, 3, 1)))
    with pytest.raises(ValueError, match="pred"):
        ma.inverse_forecast(np.zeros((4, 2)), np.zeros((4, 2, 1)))
    with pytest.raises(ConfigError):
        MovingAverage(3, centered=True).inverse_forecast(np.zeros((4, 2, 1)), np.zeros((4, 2, 1)))


def test_json_round_trip_and_kinds():
    idx = pd.date_range("2022-03-01", periods=30, freq="h")
    df = pd.DataFrame({"q": np.arange(30.0) ** 1.5}, index=idx)
    ma = MovingAverage(4).fit(df.iloc[:20])
    r = MovingAverage.from_state(json.loads(json.dumps(ma.get_state())))
    pd.testing.assert_frame_equal(r.transform(df), ma.transform(df))
    s = ma.transform(df["q"])
    assert isinstance(s, pd.Series) and s.index.equals(idx) and s.name == "q"


@pytest.mark.parametrize("kw", [{"window": 0}, {"window": 2.5}, {"centered": "yes"}])
def test_bad_settings(kw):
    with pytest.raises(ConfigError):
        MovingAverage(**kw).fit(np.arange(5.0))
