"""Metrics: hand-computed values, agreement with scikit-learn/scipy, input rules."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import pearsonr
from sklearn.metrics import (
    explained_variance_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)

from wq.errors import ConfigError, DataError, WqError
from wq.evaluate import metrics as M
from wq.evaluate.metrics import (
    LOWER_IS_BETTER,
    METRICS,
    MetricInputError,
    MetricWarning,
    all_metrics,
    canonical_name,
    evs,
    kge,
    mae,
    mape,
    metric,
    nse,
    pmape,
    r,
    rmse,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"

Y = np.array([1.0, 2.0, 3.0, 4.0])
F = np.array([1.1, 1.9, 3.3, 3.6])  # errors -0.1, 0.1, -0.3, 0.4


# ----------------------------------------------------------------------------- hand-computed


def test_mape_hand_computed():
    # |e|/|y| = 0.1, 0.05, 0.1, 0.1 -> mean 0.0875 -> 8.75 %
    assert mape(Y, F) == pytest.approx(8.75)


def test_mape_uses_absolute_observation():
    assert mape([-2.0, 4.0], [-1.0, 5.0]) == pytest.approx(100 / 2 * (1 / 2 + 1 / 4))


def test_pmape_hand_computed():
    # q=0.9 of [1,2,3,4] (linear) = 3.7 -> only y=4 is a peak: |4-3.6|/4 = 10 %
    assert pmape(Y, F) == pytest.approx(10.0)
    # q=0.5 -> median 2.5 -> peaks y=3,4: (0.1 + 0.1)/2 = 10 %
    assert pmape(Y, F, q=0.5) == pytest.approx(10.0)
    # q=0 -> every point is a peak: pMAPE == MAPE
    assert pmape(Y, F, q=0.0) == pytest.approx(mape(Y, F))
    # q=0.4 -> quantile 2.2 -> peaks 3, 4: same 10 %; q=0.3 -> 1.9 -> peaks 2,3,4: (5+10+10)/3
    assert pmape(Y, F, q=0.3) == pytest.approx(25 / 3)


def test_pmape_peak_is_at_or_above_quantile():
    y = np.array([5.0, 1.0, 5.0, 2.0, 3.0])  # q=0.9 -> 5.0: both 5s are peaks (ties kept)
    f = np.array([4.0, 1.0, 6.0, 2.0, 3.0])
    assert pmape(y, f) == pytest.approx(20.0)


def test_pmape_rejects_bad_q():
    with pytest.raises(MetricInputError, match="q must lie"):
        pmape(Y, F, q=1.5)


def test_rmse_mae_hand_computed():
    assert rmse(Y, F) == pytest.approx(math.sqrt((0.01 + 0.01 + 0.09 + 0.16) / 4))
    assert mae(Y, F) == pytest.approx((0.1 + 0.1 + 0.3 + 0.4) / 4)


def test_evs_nse_hand_computed():
    e = Y - F  # -0.1, 0.1, -0.3, 0.4 ; mean 0.025
    var_e = np.mean((e - 0.025) ** 2)
    assert evs(Y, F) == pytest.approx(1 - var_e / 1.25)  # Var([1,2,3,4]) = 1.25
    assert nse(Y, F) == pytest.approx(1 - 0.27 / 5.0)  # SSE 0.27, SS_tot 5


def test_evs_ignores_bias_nse_does_not():
    y = np.array([1.0, 3.0, 2.0, 5.0])
    assert evs(y, y + 10) == pytest.approx(1.0)
    assert nse(y, y + 10) < 0


def test_r_hand_computed():
    assert r([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == pytest.approx(1.0)
    assert r([1.0, 2.0, 3.0], [3.0, 2.0, 1.0]) == pytest.approx(-1.0)
    # y=[1,2,3] centred [-1,0,1]; f=[1,3,2] centred [-1,1,0]: 1/(sqrt2*sqrt2) = 0.5
    assert r([1.0, 2.0, 3.0], [1.0, 3.0, 2.0]) == pytest.approx(0.5)


def test_kge_hand_computed():
    y = np.array([1.0, 2.0, 3.0])
    # forecast 2*y: r=1, alpha=2, beta=2 -> 1 - sqrt(0 + 1 + 1)
    assert kge(y, 2 * y) == pytest.approx(1 - math.sqrt(2))
    # y + 1: r=1, alpha=1, beta=3/2 -> 1 - 0.5
    assert kge(y, y + 1) == pytest.approx(0.5)
    # Y, F from the formula
    rr = pearsonr(Y, F)[0]
    alpha = np.std(F) / np.std(Y)
    beta = F.mean() / Y.mean()
    expected = 1 - math.sqrt((rr - 1) ** 2 + (alpha - 1) ** 2 + (beta - 1) ** 2)
    assert kge(Y, F) == pytest.approx(expected)


def test_perfect_forecast():
    y = np.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    m = all_metrics(y, y.copy())
    assert m["MAPE"] == 0 and m["pMAPE"] == 0 and m["RMSE"] == 0 and m["MAE"] == 0
    assert m["NSE"] == pytest.approx(1.0)
    assert m["KGE"] == pytest.approx(1.0)
    assert m["R"] == pytest.approx(1.0)
    assert m["EVS"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- references


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.integers(3, 40), elements=st.floats(0.5, 100.0)),
    st.integers(0, 2**31 - 1),
)
def test_agrees_with_sklearn_and_scipy(y, seed):
    rng = np.random.default_rng(seed)
    f = y + rng.normal(0.0, 5.0, y.size)
    if np.ptp(y) < 1e-6:
        return  # constant observations: R/NSE/EVS undefined (tested separately)
    assert evs(y, f) == pytest.approx(explained_variance_score(y, f), rel=1e-9, abs=1e-9)
    assert mae(y, f) == pytest.approx(mean_absolute_error(y, f), rel=1e-12)
    assert rmse(y, f) == pytest.approx(math.sqrt(mean_squared_error(y, f)), rel=1e-12)
    assert nse(y, f) == pytest.approx(r2_score(y, f), rel=1e-9, abs=1e-9)
    assert r(y, f) == pytest.approx(pearsonr(y, f)[0], rel=1e-9, abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    arrays(np.float64, st.integers(2, 30), elements=st.floats(0.5, 100.0)),
    st.floats(0.1, 1000.0),
)
def test_mape_is_scale_free_and_non_negative(y, c):
    f = y[::-1].copy()
    assert mape(y, f) >= 0
    assert mape(c * y, c * f) == pytest.approx(mape(y, f), rel=1e-9, abs=1e-9)
    assert pmape(c * y, c * f) == pytest.approx(pmape(y, f), rel=1e-9, abs=1e-9)


def test_matches_scipy_on_tiny_array():
    assert r(Y, F) == pytest.approx(pearsonr(Y, F)[0])


# ----------------------------------------------------------------------------- zeros


def test_mape_zero_error_names_count_and_position():
    with pytest.raises(ValueError, match=r"2 observation\(s\) equal to zero, first at position 1"):
        mape([1.0, 0.0, 2.0, 0.0], [1.0, 1.0, 2.0, 1.0])


def test_mape_zero_skip_returns_count_and_warns():
    y, f = [1.0, 0.0, 2.0, 0.0], [1.5, 1.0, 2.0, 1.0]
    with pytest.warns(MetricWarning, match="skipped 2"):
        value, skipped = mape(y, f, zeros="skip", return_skipped=True)
    assert skipped == 2
    assert value == pytest.approx(100 / 2 * (0.5 / 1.0 + 0.0))


def test_mape_no_zero_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mape(Y, F, zeros="skip", return_skipped=True) == (pytest.approx(8.75), 0)


def test_mape_all_zero_skip_is_nan_with_warning():
    with pytest.warns(MetricWarning, match="every observation is zero"):
        assert math.isnan(mape([0.0, 0.0], [1.0, 2.0], zeros="skip"))


def test_pmape_zero_position_is_in_full_array():
    y = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0])
    # quantile(0.9) = 0.3 -> only y=3 is a peak: the zeros are not peaks, no error
    assert pmape(y, y) == 0.0
    y2 = np.zeros(10)
    y2[0] = 1.0  # quantile(0.5) = 0 -> every point is a peak, zeros from position 1
    with pytest.raises(MetricInputError, match="9 observation.*first at position 1"):
        pmape(y2, y2, q=0.5)


def test_bad_zeros_option():
    with pytest.raises(MetricInputError, match="zeros must be"):
        mape(Y, F, zeros="ignore")


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("fn", [mape, pmape, evs, r, rmse, mae, nse, kge, all_metrics])
def test_nan_and_inf_raise_with_position(fn):
    bad = np.array([1.0, 2.0, np.nan, 4.0])
    with pytest.raises(ValueError, match="y contains 1 non-finite value.*position 2"):
        fn(bad, Y)
    with pytest.raises(ValueError, match="yhat contains 1 non-finite.*position 3"):
        fn(Y, np.array([1.0, 2.0, 3.0, np.inf]))


def test_nan_error_names_pandas_index_label():
    idx = pd.date_range("2024-01-01", periods=4, freq="D")
    y = pd.Series([1.0, np.nan, 3.0, 4.0], index=idx)
    with pytest.raises(MetricInputError, match="position 1 \\(index 2024-01-02"):
        rmse(y, F)


def test_errors_derive_from_wq_and_value_error():
    with pytest.raises(DataError):
        rmse([1.0, np.nan], [1.0, 2.0])
    assert issubclass(MetricInputError, WqError) and issubclass(MetricInputError, ValueError)


@pytest.mark.parametrize("fn", [mape, pmape, evs, r, rmse, mae, nse, kge])
def test_length_mismatch_raises(fn):
    with pytest.raises(ValueError, match="differ in length"):
        fn([1.0, 2.0, 3.0], [1.0, 2.0])


def test_empty_and_non_numeric_raise():
    with pytest.raises(MetricInputError, match="empty"):
        rmse([], [])
    with pytest.raises(MetricInputError, match="not numeric"):
        rmse(["a", "b"], [1.0, 2.0])


def test_column_vector_and_2d_are_flattened():
    assert rmse(Y.reshape(-1, 1), F) == pytest.approx(rmse(Y, F))
    y2 = np.stack([Y, Y + 1], axis=1)
    f2 = np.stack([F, F + 1], axis=1)
    assert mae(y2, f2) == pytest.approx(mae(Y, F))
    with pytest.raises(ValueError, match="differ"):
        mae(y2, f2.T)


def test_pandas_input_is_positional():
    y = pd.Series(Y, index=[3, 2, 1, 0])
    f = pd.Series(F, index=[0, 1, 2, 3])
    assert mae(y, f) == pytest.approx(mae(Y, F))


# ----------------------------------------------------------------------------- undefined


def test_constant_observations_give_nan_with_warning():
    y = np.array([2.0, 2.0, 2.0])
    f = np.array([1.0, 2.0, 3.0])
    for fn in (evs, r, nse, kge):
        with pytest.warns(MetricWarning, match="zero variance"):
            assert math.isnan(fn(y, f))


def test_constant_forecast_r_is_nan_but_nse_defined():
    with pytest.warns(MetricWarning, match="constant"):
        assert math.isnan(r(Y, np.full(4, 2.5)))
    assert nse(Y, np.full(4, 2.5)) == pytest.approx(0.0)  # the observed mean scores 0


def test_kge_zero_mean_is_nan():
    with pytest.warns(MetricWarning, match="observed mean is zero"):
        assert math.isnan(kge([-1.0, 1.0], [-1.0, 1.0]))


# ----------------------------------------------------------------------------- lookup


def test_all_metrics_keys_and_values():
    m = all_metrics(Y, F)
    assert tuple(m) == METRICS
    assert m["MAPE"] == pytest.approx(8.75)
    assert m["pMAPE"] == pytest.approx(10.0)
    assert all(isinstance(v, float) for v in m.values())
    assert all_metrics(Y, F, q=0.3)["pMAPE"] == pytest.approx(25 / 3)


def test_all_metrics_skips_zeros_by_default():
    with pytest.warns(MetricWarning, match="skipped 1"):
        m = all_metrics([0.0, 1.0, 2.0, 4.0], [0.5, 1.0, 2.0, 5.0])
    assert m["MAPE"] == pytest.approx(100 / 3 * 0.25)
    with pytest.raises(MetricInputError):
        all_metrics([0.0, 1.0, 2.0, 4.0], [0.5, 1.0, 2.0, 5.0], zeros="error")


def test_metric_lookup_case_insensitive():
    assert metric("mape") is mape
    assert metric("PMAPE") is pmape
    assert metric(" Rmse ") is rmse
    assert metric("kge") is kge
    assert canonical_name("pmape") == "pMAPE"
    for name in METRICS:
        assert metric(name.lower())(Y, F) == pytest.approx(all_metrics(Y, F)[name])


def test_metric_unknown_name():
    with pytest.raises(ConfigError, match="unknown metric 'smape'.*MAPE"):
        metric("smape")


def test_lower_is_better_directions():
    assert set(LOWER_IS_BETTER) == set(METRICS)
    assert [n for n in METRICS if LOWER_IS_BETTER[n]] == ["MAPE", "pMAPE", "RMSE", "MAE"]
    # a better forecast moves every metric in its stated direction
    good = all_metrics(Y, Y + np.array([0.01, -0.01, 0.02, -0.02]))
    bad = all_metrics(Y, F)
    for name in METRICS:
        better = good[name] < bad[name] if LOWER_IS_BETTER[name] else good[name] > bad[name]
        assert better, name


def test_module_exports():
    assert set(M.__all__) >= {"mape", "pmape", "evs", "r", "rmse", "mae", "nse", "kge"}


# ----------------------------------------------------------------------------- real data


FORT_COLLINS = DATA / "fort_collins_water_demand" / "fort_collins_daily_water_weather.csv"


@pytest.mark.skipif(not FORT_COLLINS.is_file(), reason="shared data absent")
def test_persistence_on_fort_collins_demand():
    y = pd.read_csv(FORT_COLLINS)["water_demand_mgd"].to_numpy(dtype=float)[-400:]
    obs, fc = y[1:], y[:-1]  # persistence: tomorrow = today
    m = all_metrics(obs, fc)
    assert 0 < m["MAPE"] < 50
    assert m["NSE"] < 1 and m["R"] > 0.5
    assert m["NSE"] == pytest.approx(r2_score(obs, fc))
    assert m["EVS"] == pytest.approx(explained_variance_score(obs, fc))
    assert m["R"] == pytest.approx(pearsonr(obs, fc)[0])
