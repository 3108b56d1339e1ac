"""Missing values (gaps kept by the data layer, issue 12 item 8): every stage is fitted on observed values only,
leaves NaN where its input window holds a NaN, gives the gap-free result wherever its window is complete, and
stays causal."""

import numpy as np
import pandas as pd
import pytest

from wq.preprocess import DriverPCA, MinMaxScaling, MovingAverage, PreprocessParams, SigmaOutlierSmoother, WaveletDenoiser


def series(T=400, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    x = 10 + 3 * np.sin(2 * np.pi * t / 30) + rng.normal(0, 0.5, T)
    x[[50, 51, 200]] += 15  # outliers, one right after a gap below
    return x


def with_gaps(x, gaps=((60, 75), (198, 200), (300, 330))):
    y = np.array(x, dtype=float, copy=True)
    for a, b in gaps:
        y[a:b] = np.nan
    return y


def window_complete(y, before):
    """True where y_{t-before} .. y_t (clipped at the start) has no NaN."""
    s = pd.Series(np.isnan(y).astype(float)).rolling(before + 1, min_periods=1).sum().to_numpy()
    return s == 0


@pytest.mark.parametrize("stage, before", [
    (MovingAverage(window=4), 3),
    (WaveletDenoiser(wavelet="db2", level=2, window=32), 31),
    (MinMaxScaling(), 0),
])
def test_nan_where_the_window_holds_one_else_the_gap_free_value(stage, before):
    x = series()
    y = with_gaps(x)
    full = stage.fit(x[:250]).transform(x)
    out = stage.fit(x[:250]).transform(y)
    ok = window_complete(y, before)
    assert np.isnan(out[~ok]).all()
    np.testing.assert_allclose(out[ok], full[ok])


def test_fitted_on_observed_values_only():
    x = series()
    y = with_gaps(x)
    obs = y[:250][~np.isnan(y[:250])]
    s = MinMaxScaling().fit(y[:250])
    assert (s.data_min_[0], s.data_max_[0]) == (obs.min(), obs.max())
    o = SigmaOutlierSmoother().fit(y[:250])
    assert o.mean_[0] == pytest.approx(obs.mean()) and o.std_[0] == pytest.approx(obs.std(ddof=1))
    with pytest.raises(ValueError, match="no observed value"):
        MinMaxScaling().fit(np.full(10, np.nan))


@pytest.mark.parametrize("window", [None, 20])
def test_outliers_missing_stay_missing_replacement_uses_observed_predecessors(window):
    x = series()
    y = with_gaps(x)
    s = SigmaOutlierSmoother(k=3.0, neighbours=3, window=window).fit(y[:250])
    out = s.transform(y)
    assert np.array_equal(np.isnan(out), np.isnan(y))
    # the outlier at 200 follows the gap 198..199: its only observed predecessor is 197, weight 1
    assert out[200] == pytest.approx(out[197])
    assert abs(out[50] - 13) < 5 and abs(out[51] - 13) < 5


def test_pca_row_with_a_missing_driver_is_missing_and_fit_uses_complete_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3)) @ np.array([[1, 0.5, 0], [0, 1, 0.3], [0, 0, 1.0]])
    Xg = X.copy()
    Xg[[5, 40, 41], [0, 2, 1]] = np.nan
    p = DriverPCA(n_components=2).fit(Xg)
    ref = DriverPCA(n_components=2).fit(np.delete(X, [5, 40, 41], axis=0))
    np.testing.assert_allclose(p.components_, ref.components_)
    out = p.transform(Xg)
    assert np.isnan(out[[5, 40, 41]]).all() and not np.isnan(np.delete(out, [5, 40, 41], axis=0)).any()


def test_offline_wavelet_transforms_each_observed_run_alone():
    x = series()
    y = with_gaps(x, gaps=((100, 110),))
    w = WaveletDenoiser(wavelet="db2", level=2, mode="offline").fit(y)
    out = w.transform(y)
    assert np.isnan(out[100:110]).all()
    np.testing.assert_allclose(out[:100], w.transform(x[:100]))
    np.testing.assert_allclose(out[110:], w.transform(x[110:]))


def test_preprocessor_with_gaps_is_causal(causal_check):
    rng = np.random.default_rng(2)
    T = 300
    idx = pd.date_range("2021-01-01", periods=T, freq="D")
    frame = pd.DataFrame({"y": series(T), "a": rng.normal(size=T), "b": rng.normal(size=T)}, index=idx)
    frame.iloc[80:95, 0] = np.nan
    frame.iloc[150:152, 1] = np.nan
    frame.iloc[200:240, :] = np.nan
    pre = PreprocessParams(moving_average={"window": 3},
                           wavelet={"wavelet": "db2", "level": 2, "window": 32}).build()
    pre.fit(frame.iloc[:180], ["y"], ["a", "b"])

    def parts(values):
        p = pre.transform(pd.DataFrame(values, index=idx, columns=frame.columns))
        return np.column_stack([p.scaled, p.denoised, p.residual, p.pcs])

    out = parts(frame.to_numpy())
    assert np.isnan(out[85]).any() and np.isnan(out[150, -1]) and np.isnan(out[210]).all()
    assert np.isfinite(out[140]).all() and np.isfinite(out[299]).all()
    causal_check(parts, frame.to_numpy(), n_t=8)
