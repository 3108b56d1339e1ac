"""WaveletDenoiser against the definition in docs/definitions.md (DWT denoising, causal and offline)."""

import json

import numpy as np
import pandas as pd
import pytest
import pywt

from wq.errors import ConfigError
from wq.preprocess import WaveletDenoiser, soft_threshold


def denoise_by_hand(w, wavelet, level):
    """One signal, literally: wavedec, σ = median|d1|/0.6745, λ = σ√(2 ln N), soft on details, waverec."""
    coeffs = pywt.wavedec(w, wavelet, level=level)
    sigma = np.median(np.abs(coeffs[-1])) / 0.6745
    lam = sigma * np.sqrt(2 * np.log(len(w)))
    coeffs = [coeffs[0]] + [pywt.threshold(c, lam, mode="soft") for c in coeffs[1:]]
    return pywt.waverec(coeffs, wavelet)[: len(w)]


@pytest.fixture
def noisy():
    """Sine plus steps (large detail coefficients survive the threshold, shrunk by it) plus noise."""
    rng = np.random.default_rng(0)
    t = np.arange(300)
    return np.sin(2 * np.pi * t / 50) + 2.0 * ((t // 23) % 2) + rng.normal(0, 0.3, t.size)


def test_soft_threshold_is_pywt_soft():
    d = np.linspace(-3, 3, 25)
    np.testing.assert_allclose(soft_threshold(d, 1.2), pywt.threshold(d, 1.2, mode="soft"))


def test_universal_threshold_by_hand_on_one_window():
    x = np.array([0.0, 0.1, -0.1, 0.05, 0.3, 0.2, 3.0, -1.0])
    # haar: d1_i = (x_{2i} - x_{2i+1}) / √2 = [-0.1, -0.15, 0.1, 4.0] / √2
    d1 = (x[0::2] - x[1::2]) / np.sqrt(2)
    sigma = np.median(np.abs(d1)) / 0.6745  # (0.1/√2 + 0.15/√2) / 2 / 0.6745
    assert sigma == pytest.approx(0.125 / np.sqrt(2) / 0.6745)
    lam = sigma * np.sqrt(2 * np.log(8))
    wd = WaveletDenoiser("haar", level=1, window=8).fit(x)
    out = wd.transform(x)
    # haar level 1 rebuilds the last pair from (a_3, soft(d1_3)): x_7 = (a_3 - soft(d1_3)) / √2
    a3 = (x[6] + x[7]) / np.sqrt(2)
    assert out[7] == pytest.approx((a3 - (d1[3] - lam)) / np.sqrt(2), rel=1e-12)
    # the same as a fixed threshold λ, and not the same as a slightly different one
    assert out[7] == pytest.approx(WaveletDenoiser("haar", 1, 8, threshold=lam).fit(x).transform(x)[7], rel=1e-12)
    assert out[7] != pytest.approx(WaveletDenoiser("haar", 1, 8, threshold=1.1 * lam).fit(x).transform(x)[7])


@pytest.mark.parametrize("t", [0, 5, 30, 31, 150, 299])
def test_causal_value_is_last_sample_of_denoised_trailing_window(noisy, t):
    L = 32
    out = WaveletDenoiser("db2", level=2, window=L).fit(noisy).transform(noisy)
    padded = np.r_[np.full(L - 1, noisy[0]), noisy]  # left-padding with the first value
    window = padded[t : t + L]  # x_{t-L+1} .. x_t
    assert out[t] == pytest.approx(denoise_by_hand(window, "db2", 2)[-1], rel=1e-12, abs=1e-12)


def test_offline_is_the_whole_series_at_once(noisy):
    out = WaveletDenoiser("db4", level=3, mode="offline").fit(noisy).transform(noisy)
    np.testing.assert_allclose(out, denoise_by_hand(noisy, "db4", 3), rtol=1e-12, atol=1e-12)


def test_parts_add_up_and_denoising_helps(noisy):
    wd = WaveletDenoiser("db4", level=2, window=64).fit(noisy)
    den, res = wd.transform_parts(noisy)
    np.testing.assert_array_equal(den, wd.transform(noisy))
    np.testing.assert_array_equal(res, noisy - den)
    t = np.arange(300)
    truth = np.sin(2 * np.pi * t / 50) + 2.0 * ((t // 23) % 2)
    assert np.mean((den - truth)[64:] ** 2) < 0.8 * np.mean((noisy - truth)[64:] ** 2)


def test_zero_threshold_reconstructs_the_input(noisy):
    out = WaveletDenoiser("sym4", level=2, window=40, threshold=0.0).fit(noisy).transform(noisy)
    np.testing.assert_allclose(out, noisy, atol=1e-10)


def test_causal_mode_is_causal(causal_check):
    x = np.random.default_rng(1).normal(size=(260, 2)).cumsum(axis=0)
    wd = WaveletDenoiser("db4", level=2, window=48).fit(x)
    assert wd.causal
    causal_check(wd.transform, x, seed=1, n_t=40)
    causal_check(lambda v: wd.transform_parts(v)[1], x, seed=2, n_t=10)


def test_offline_mode_changes_the_past_when_the_future_changes(perturb):
    x = np.random.default_rng(1).normal(size=260).cumsum()
    wd = WaveletDenoiser("db4", level=2, mode="offline").fit(x)
    assert not wd.causal
    rng = np.random.default_rng(0)
    leaked = 0
    for t in (60, 120, 200):
        leaked += not np.array_equal(wd.transform(perturb(x, t, rng))[: t + 1], wd.transform(x)[: t + 1])
    assert leaked == 3


def test_unknown_wavelet_and_level_out_of_range():
    x = np.arange(100.0)
    with pytest.raises(ConfigError, match="unknown wavelet"):
        WaveletDenoiser("db99").fit(x)
    with pytest.raises(ConfigError, match=r"allowed levels are 1\.\.3"):
        WaveletDenoiser("db4", level=4, window=64).fit(x)  # dwt_max_level(64, db4) = 3
    with pytest.raises(ConfigError, match="mode"):
        WaveletDenoiser(mode="centred").fit(x)
    with pytest.raises(ConfigError, match="series"):
        WaveletDenoiser("db4", level=3, mode="offline").fit(x[:40]).transform(x[:40])


def test_json_round_trip_and_frame_kind(noisy):
    idx = pd.date_range("2020-01-01", periods=300, freq="D", name="time")
    df = pd.DataFrame({"do": noisy, "temp": noisy[::-1].copy()}, index=idx)
    wd = WaveletDenoiser("db2", level=2, window=32).fit(df.iloc[:200])
    r = WaveletDenoiser.from_state(json.loads(json.dumps(wd.get_state())))
    den, res = r.transform_parts(df)
    pd.testing.assert_frame_equal(den, wd.transform(df))
    assert den.index.equals(idx) and list(res.columns) == ["do", "temp"]
