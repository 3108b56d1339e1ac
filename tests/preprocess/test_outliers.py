"""SigmaOutlierSmoother against the definition in docs/definitions.md (3σ outlier smoothing)."""

import json

import numpy as np
import pandas as pd
import pytest

from wq.errors import ConfigError, DataError
from wq.preprocess import SigmaOutlierSmoother

TRAIN = np.tile([1.0, -1.0], 50)  # mean 0, sample std sqrt(100/99)
SIGMA = np.sqrt(100 / 99)


def reference(x, train, k=3.0, m=3, window=None):
    """Slow, literal reading of the definition, one sample at a time."""
    mu0, sd0 = train.mean(), train.std(ddof=1)
    y = x.astype(float).copy()
    for t in range(len(x)):
        mu, sd = mu0, sd0
        if window is not None and t >= window:
            w = x[t - window : t]
            mu, s = w.mean(), w.std(ddof=1)
            sd = s if s > 1e-6 * sd0 else sd0
        if abs(x[t] - mu) > k * sd:
            if t == 0:
                y[t] = mu
            else:
                lags = np.arange(1, min(m, t) + 1)
                wts = m - lags + 1.0
                y[t] = np.sum(wts * y[t - lags]) / wts.sum()
    return y


def test_fit_stores_training_mean_and_sample_std():
    s = SigmaOutlierSmoother().fit(TRAIN)
    assert s.mean_ == pytest.approx([0.0])
    assert s.std_ == pytest.approx([SIGMA])


def test_spike_replaced_by_weighted_average_of_predecessors():
    x = np.array([0.5, 1.0, -0.5, 0.2, 0.4, 9.0, 0.3])
    y = SigmaOutlierSmoother(k=3, neighbours=3).fit(TRAIN).transform(x)
    expected = x.copy()
    expected[5] = (3 * 0.4 + 2 * 0.2 + 1 * -0.5) / 6
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-15)


def test_two_consecutive_spikes_use_the_cleaned_first_one():
    x = np.array([0.5, 1.0, -0.5, 0.2, 9.0, -8.0, 0.3])
    y = SigmaOutlierSmoother(k=3, neighbours=3).fit(TRAIN).transform(x)
    y4 = (3 * 0.2 + 2 * -0.5 + 1 * 1.0) / 6
    y5 = (3 * y4 + 2 * 0.2 + 1 * -0.5) / 6
    np.testing.assert_allclose(y, [0.5, 1.0, -0.5, 0.2, y4, y5, 0.3], rtol=0, atol=1e-15)


def test_start_of_series_uses_the_predecessors_available():
    x = np.array([9.0, 0.3, -8.0, 0.2])
    y = SigmaOutlierSmoother(k=3, neighbours=3).fit(TRAIN + 2.0).transform(x + 2.0) - 2.0
    # t=0: no predecessor -> μ; t=2: lags 1, 2 with weights 3, 2
    np.testing.assert_allclose(y, [0.0, 0.3, (3 * 0.3 + 2 * 0.0) / 5, 0.2], atol=1e-12)


def test_threshold_is_k_sigma_both_sides():
    s = SigmaOutlierSmoother(k=2.0).fit(TRAIN)
    x = np.array([1.99 * SIGMA, 2.01 * SIGMA, -1.99 * SIGMA, -2.01 * SIGMA])
    np.testing.assert_array_equal(s.outlier_mask(x), [False, True, False, True])


def test_neighbours_one_repeats_the_previous_cleaned_value():
    x = np.array([0.3, 7.0, 7.0, 7.0, 0.1])
    y = SigmaOutlierSmoother(neighbours=1).fit(TRAIN).transform(x)
    np.testing.assert_allclose(y, [0.3, 0.3, 0.3, 0.3, 0.1])


@pytest.mark.parametrize("window", [None, 5, 20])
def test_matches_literal_definition_on_random_series(window):
    rng = np.random.default_rng(1)
    train = rng.normal(size=200)
    x = np.cumsum(rng.normal(0, 0.3, 400)) + rng.normal(size=400)
    spikes = rng.choice(400, 25, replace=False)
    x[spikes] += rng.choice([-1, 1], 25) * rng.uniform(4, 9, 25)
    s = SigmaOutlierSmoother(k=3, neighbours=4, window=window).fit(train)
    np.testing.assert_allclose(s.transform(x), reference(x, train, 3, 4, window), rtol=1e-12, atol=1e-12)
    assert s.outlier_mask(x)[spikes].mean() > 0.5


def test_trailing_window_by_hand():
    # window 3 before t=3: [1, -1, 1], mean 1/3, sample std sqrt(4/3); k=1 -> limits 1/3 ± 1.1547
    s = SigmaOutlierSmoother(k=1.0, window=3).fit(TRAIN * 10)  # training σ ≈ 10: nothing flagged before t=3
    sd = np.sqrt(4 / 3)
    x_in = np.array([1.0, -1.0, 1.0, 1 / 3 + 0.99 * sd])
    x_out = np.array([1.0, -1.0, 1.0, 1 / 3 + 1.01 * sd])
    np.testing.assert_array_equal(s.outlier_mask(x_in), [False] * 4)
    np.testing.assert_array_equal(s.outlier_mask(x_out), [False, False, False, True])
    assert s.transform(x_out)[3] == pytest.approx((3 * 1.0 + 2 * -1.0 + 1 * 1.0) / 6)


def test_trailing_window_follows_drift_that_the_global_rule_flags():
    x = np.linspace(0, 20, 200) + np.tile([0.1, -0.1], 100)
    glob = SigmaOutlierSmoother().fit(TRAIN).outlier_mask(x)
    trail = SigmaOutlierSmoother(window=10).fit(TRAIN).outlier_mask(x)
    assert glob[-50:].all()
    assert not trail[10:].any()


def test_flat_trailing_window_falls_back_to_training_sigma():
    x = np.r_[np.zeros(10), 0.5, 5.0]
    mask = SigmaOutlierSmoother(window=5).fit(TRAIN).outlier_mask(x)
    np.testing.assert_array_equal(mask, [False] * 10 + [False, True])


@pytest.mark.parametrize("window", [None, 7])
def test_causal(causal_check, window):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 2))
    x[rng.choice(300, 20, replace=False), 0] += 8
    s = SigmaOutlierSmoother(neighbours=3, window=window).fit(x[:150])
    causal_check(s.transform, x, seed=3, n_t=40)
    causal_check(s.outlier_mask, x, seed=4, n_t=10)


def test_later_data_never_refits():
    s = SigmaOutlierSmoother(k=3).fit(TRAIN)
    before = json.dumps(s.get_state())
    later = 100 + np.arange(50.0)  # all far from the training mean: all outliers by the stored μ, σ
    assert s.outlier_mask(later).all()
    s.transform(later)
    assert json.dumps(s.get_state()) == before
    refit = SigmaOutlierSmoother(k=3).fit(np.r_[TRAIN, later])
    assert not np.allclose(refit.mean_, s.mean_)  # a refit would have changed the state


@pytest.mark.parametrize("window", [None, 6])
def test_json_round_trip(window):
    rng = np.random.default_rng(5)
    x = pd.DataFrame(rng.normal(size=(120, 2)), columns=["do", "ph"])
    x.iloc[40, 1] = 9
    s = SigmaOutlierSmoother(k=2.5, neighbours=2, window=window).fit(x.iloc[:80])
    r = SigmaOutlierSmoother.from_state(json.loads(json.dumps(s.get_state())))
    assert r.get_params() == s.get_params()
    pd.testing.assert_frame_equal(r.transform(x), s.transform(x))


def test_dataframe_and_1d_in_same_kind_out():
    idx = pd.date_range("2021-01-01", periods=6, freq="D")
    df = pd.DataFrame({"a": [0.1, 0.2, 9.0, 0.1, 0.0, 0.2], "b": [0.0] * 5 + [-9.0]}, index=idx)
    s = SigmaOutlierSmoother().fit(pd.DataFrame({"a": TRAIN, "b": TRAIN}))
    out = s.transform(df)
    assert isinstance(out, pd.DataFrame) and out.index.equals(idx) and list(out.columns) == ["a", "b"]
    assert out.loc[idx[2], "a"] == pytest.approx((3 * 0.2 + 2 * 0.1) / 5)
    mask = s.outlier_mask(df)
    assert isinstance(mask, pd.DataFrame) and mask.to_numpy().sum() == 2
    y = SigmaOutlierSmoother().fit(TRAIN).transform(df["a"].to_numpy())
    assert y.shape == (6,)


def test_missing_values_stay_missing_and_inf_is_refused_naming_column_and_position():
    s = SigmaOutlierSmoother().fit(pd.DataFrame({"a": TRAIN, "b": TRAIN}))
    df = pd.DataFrame({"a": [0.0, 1.0, 2.0, np.nan], "b": [0.0, np.nan, 0.0, 0.0]})
    out = s.transform(df)
    assert out.isna().equals(df.isna())
    df.iloc[1, 1] = np.inf
    with pytest.raises(ValueError, match=r"column 'b' has an infinite value at row 1") as err:
        s.transform(df)
    assert isinstance(err.value, DataError)


def test_constant_training_column_is_a_data_error():
    with pytest.raises(DataError, match="'flat'"):
        SigmaOutlierSmoother().fit(pd.DataFrame({"ok": TRAIN, "flat": np.ones(100)}))


@pytest.mark.parametrize("kw", [{"k": 0}, {"k": -1}, {"neighbours": 0}, {"window": 1}, {"neighbours": 1.5}])
def test_bad_settings(kw):
    with pytest.raises(ConfigError):
        SigmaOutlierSmoother(**kw).fit(TRAIN)


def test_wrong_number_of_columns():
    s = SigmaOutlierSmoother().fit(np.c_[TRAIN, TRAIN])
    with pytest.raises(ValueError, match="columns"):
        s.transform(TRAIN)
