"""AtrousDenoiser: causal stationary wavelet denoising (Quilty & Adamowski 2018; Renaud et al. 2005)."""

import json

import numpy as np
import pandas as pd
import pytest
import pywt
from hypothesis import given, settings
from hypothesis import strategies as st

from wq.errors import ArtifactError, ConfigError
from wq.preprocess import PreprocessParams, AtrousDenoiser, InputError, Preprocessor
from wq.preprocess.atrous import atrous, boundary_rows, scaling_filter


@pytest.fixture
def noisy():
    rng = np.random.default_rng(0)
    t = np.arange(400)
    signal = np.sin(2 * np.pi * t / 60) + 1.5 * ((t // 37) % 2)
    return signal, signal + rng.normal(0, 0.3, t.size)


def test_haar_level_two_by_hand():
    """Haar: g̃ = (1/2, 1/2); c_1 = (x_t + x_{t-1})/2, c_2 = (c_1,t + c_1,t-2)/2 = mean(x_{t-3} .. x_t)."""
    x = np.array([1.0, 3.0, 2.0, 7.0, 4.0, 0.0, 5.0, 6.0])
    c2, (w1, w2) = atrous(x[:, None], scaling_filter("haar"), 2)
    np.testing.assert_allclose(w1[1:, 0], x[1:] - (x[1:] + x[:-1]) / 2)
    np.testing.assert_allclose(c2[3:, 0], [x[t - 3 : t + 1].mean() for t in range(3, 8)])
    # before the start the series is taken as constant x_0
    np.testing.assert_allclose(c2[0, 0], x[0])
    np.testing.assert_allclose(c2[1, 0], (3 * x[0] + x[1]) / 4)


@pytest.mark.parametrize("wavelet", ["haar", "db2", "db4", "sym4", "coif2"])
@pytest.mark.parametrize("level", [1, 2, 4])
def test_additive_decomposition_reconstructs_the_input(noisy, wavelet, level):
    x = np.column_stack([noisy[1], np.cumsum(noisy[1])])
    stage = AtrousDenoiser(wavelet, level).fit(x[:200])
    smooth, details = stage.decompose(x)
    assert len(details) == level
    np.testing.assert_allclose(smooth + sum(details), x, rtol=0, atol=1e-12)
    # threshold 0 keeps every detail: the denoised part is the input, the residual zero
    den, res = AtrousDenoiser(wavelet, level, threshold=0).fit(x[:200]).transform_parts(x)
    np.testing.assert_array_equal(den, x)
    np.testing.assert_array_equal(res, np.zeros_like(x))


@pytest.mark.parametrize("wavelet,level", [("haar", 1), ("haar", 3), ("db2", 2), ("db4", 2), ("coif2", 3)])
def test_causal(causal_check, wavelet, level):
    rng = np.random.default_rng(level)
    x = np.cumsum(rng.normal(size=300))
    stage = AtrousDenoiser(wavelet, level).fit(x[:150])
    causal_check(stage.transform, x, seed=level)
    causal_check(lambda v: stage.transform_parts(v)[1], x, seed=level + 1)


@settings(max_examples=25, deadline=None)
@given(wavelet=st.sampled_from(["haar", "db2", "db3", "sym3"]), level=st.integers(1, 3),
       cut=st.integers(0, 119), seed=st.integers(0, 2**16))
def test_prefix_property(wavelet, level, cut, seed):
    """transform(x)[:t+1] == transform(x[:t+1]): the value at t depends on x_{<=t} only."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(120, 2)).cumsum(axis=0)
    stage = AtrousDenoiser(wavelet, level).fit(x + rng.normal(size=x.shape))  # any fitted thresholds
    np.testing.assert_array_equal(stage.transform(x[: cut + 1]), stage.transform(x)[: cut + 1])


@pytest.mark.parametrize("wavelet,L", [("haar", 2), ("db2", 4), ("db4", 8), ("coif1", 6)])
@pytest.mark.parametrize("level", [1, 2, 3])
def test_warmup_is_the_boundary_formula_and_the_filter_support(wavelet, L, level):
    """warmup_ = L_J = (2^J - 1)(L - 1) + 1, and c_J at t reaches back exactly L_J - 1 rows."""
    assert len(scaling_filter(wavelet)) == L == pywt.Wavelet(wavelet).dec_len
    stage = AtrousDenoiser(wavelet, level).fit(np.random.default_rng(0).normal(size=200))
    assert stage.warmup_ == boundary_rows(L, level) == (2**level - 1) * (L - 1) + 1
    # an impulse at row s moves c_J at rows s .. s + L_J - 1 only
    x = np.zeros((120, 1))
    x[50] = 1.0
    smooth, _ = atrous(x, scaling_filter(wavelet), level)
    touched = np.flatnonzero(np.abs(smooth[:, 0]) > 1e-15)
    assert touched.min() >= 50 and touched.max() <= 50 + stage.warmup_ - 1
    assert np.abs(smooth[50 + stage.warmup_ - 1, 0]) > 0 or wavelet == "haar"


def test_thresholds_learned_on_train_only(noisy):
    _, x = noisy
    stage = AtrousDenoiser("db2", 2).fit(x[:250])
    warm = stage.warmup_
    _, details = atrous(x[:250, None], scaling_filter("db2"), 2)
    norms = stage.detail_norms()
    sigma = np.median(np.abs(details[0][warm:, 0])) / 0.6745 / norms[0]
    assert stage.sigma_[0] == pytest.approx(sigma, rel=1e-12)
    np.testing.assert_allclose(stage.threshold_[:, 0], norms * sigma * np.sqrt(2 * np.log(250 - warm)), rtol=1e-12)
    # the noise level is the one in the data (0.3), within a few per cent of it on 250 rows
    assert stage.sigma_[0] == pytest.approx(0.3, rel=0.2)
    # data after the training rows never reach the thresholds, and transform does not refit
    y = x.copy()
    y[250:] *= 10.0
    before = stage.threshold_.copy()
    stage.transform(y)
    np.testing.assert_array_equal(stage.threshold_, before)
    np.testing.assert_array_equal(AtrousDenoiser("db2", 2).fit(y[:250]).threshold_, before)
    # a fixed threshold is used at every level as given
    np.testing.assert_array_equal(AtrousDenoiser("db2", 2, threshold=0.4).fit(x[:250]).threshold_, np.full((2, 1), 0.4))


def test_detail_norms_match_the_modwt_energies_for_haar():
    """For Haar the à trous details are the MODWT's: ‖h̃_j‖² = 2^-j (Percival & Walden 2000)."""
    norms = AtrousDenoiser("haar", 4).detail_norms()
    np.testing.assert_allclose(norms**2, 2.0 ** -np.arange(1, 5), rtol=1e-12)


def test_denoising_helps_on_a_noisy_signal(noisy):
    signal, x = noisy
    stage = AtrousDenoiser("haar", 2).fit(x[:200])
    den, res = stage.transform_parts(x)
    np.testing.assert_allclose(den + res, x, atol=1e-12)
    w = stage.warmup_
    assert np.sqrt(np.mean((den - signal)[w:] ** 2)) < 0.9 * np.sqrt(np.mean((x - signal)[w:] ** 2))


def test_json_round_trip_and_kinds(noisy):
    frame = pd.DataFrame({"a": noisy[1], "b": noisy[0]}, index=pd.date_range("2020-01-01", periods=400))
    stage = AtrousDenoiser("db2", 3).fit(frame.iloc[:200])
    state = json.loads(json.dumps(stage.get_state()))
    back = AtrousDenoiser.from_state(state)
    pd.testing.assert_frame_equal(back.transform(frame), stage.transform(frame))
    assert back.warmup_ == stage.warmup_
    assert isinstance(stage.transform(frame), pd.DataFrame)
    assert stage.transform(frame)["a"].index.equals(frame.index)
    state["fitted"]["threshold_"] = [[1.0, 2.0]]
    with pytest.raises(ArtifactError):
        AtrousDenoiser.from_state(state)


def test_bad_settings_and_short_training():
    with pytest.raises(ConfigError, match="unknown wavelet"):
        AtrousDenoiser("nope").fit(np.zeros(50))
    with pytest.raises(ConfigError, match="level"):
        AtrousDenoiser("haar", 0).fit(np.zeros(50))
    with pytest.raises(ConfigError, match="threshold"):
        AtrousDenoiser("haar", 1, threshold="sure").fit(np.zeros(50))
    with pytest.raises(InputError, match="boundary-affected"):
        AtrousDenoiser("db4", 2).fit(np.zeros(25))  # L_J = 22 leaves 3 rows
    with pytest.raises(InputError, match="observed ones remain"):  # missing values are not observations
        AtrousDenoiser("haar", 1).fit(np.r_[np.zeros(4), np.full(20, np.nan)])


def test_a_missing_value_gives_nan_only_where_the_filter_reaches_it():
    rng = np.random.default_rng(0)
    x = rng.normal(size=200)
    stage = AtrousDenoiser("db2", 2).fit(x[:120])
    gap = x.copy()
    gap[150] = np.nan
    den = stage.transform(gap)
    reach = boundary_rows(4, 2)  # c_J at t spans x_{t-L_J+1} .. x_t
    assert np.isnan(den[150:150 + reach]).all() and np.isfinite(den[150 + reach:]).all()
    np.testing.assert_array_equal(den[:150], stage.transform(x)[:150])  # causal: nothing before the gap moves


def test_preprocessor_method_setting_and_state(noisy):
    frame = pd.DataFrame({"y": noisy[1] + 3, "d": np.roll(noisy[0], 1)},
                         index=pd.date_range("2020-01-01", periods=400))
    settings = {"method": "atrous", "wavelet": "db2", "level": 2}
    pre = PreprocessParams(wavelet=settings).build().fit(frame.iloc[:200], ["y"], ["d"])
    assert isinstance(pre.wavelet_, AtrousDenoiser) and pre.causal
    assert pre.warmup_ == boundary_rows(4, 2) == 10
    parts = pre.transform(frame)
    back = Preprocessor.from_state(json.loads(json.dumps(pre.get_state())))
    assert isinstance(back.wavelet_, AtrousDenoiser) and back.transform(frame) == parts
    dwt = PreprocessParams().build().fit(frame.iloc[:200], ["y"], ["d"])
    assert dwt.warmup_ == 0
    with pytest.raises(ValueError, match="causal only"):
        PreprocessParams(wavelet={**settings, "mode": "offline"})
    with pytest.raises(ValueError, match="has no window"):
        PreprocessParams(wavelet={**settings, "window": 64})
    with pytest.raises(ValueError, match="modwt"):
        PreprocessParams(wavelet={"method": "modwt"})
    with pytest.raises(ValueError, match="wndow"):
        PreprocessParams(wavelet={"method": "atrous", "wndow": 3})
    bad = dwt.get_state()
    bad["params"]["wavelet"] = {"class": "AtrousDenoiser", "params": {"wavelet": "db2", "level": 2,
                                                                      "threshold": "universal"}}
    with pytest.raises(ArtifactError):  # the parameters name the à trous, the stage state is a DWT
        Preprocessor.from_state(bad)
