"""Quality scores: hand values and orderings on known distributions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from wq.augment import (
    acf_difference,
    autocorrelation,
    discriminative_score,
    persistence_mae,
    predictive_score,
    quality_report,
    wasserstein_per_feature,
)
from wq.errors import ConfigError, DataError


def ar1(n: int, length: int, channels: int, phi: float, seed: int) -> np.ndarray:
    """Windows of a stationary AR(1) process x_t = phi x_{t-1} + e_t, shifted to about [0, 1]."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((n, length, channels)) * np.sqrt(1 - phi**2)
    x = np.empty_like(e)
    x[:, 0] = rng.standard_normal((n, channels))
    for t in range(1, length):  # test data only
        x[:, t] = phi * x[:, t - 1] + e[:, t]
    return (0.5 + 0.15 * x).astype(np.float32)


def test_wasserstein_is_zero_for_identical_and_the_shift_for_shifted():
    X = np.random.default_rng(0).random((30, 5, 2)).astype(np.float32)
    np.testing.assert_allclose(wasserstein_per_feature(X, X), [0.0, 0.0], atol=1e-12)
    shifted = X + np.array([0.1, 0.25], dtype=np.float32)
    np.testing.assert_allclose(wasserstein_per_feature(X, shifted), [0.1, 0.25], atol=1e-6)


def test_wasserstein_hand_value_for_unequal_sizes():
    real = np.array([0.0, 1.0]).reshape(2, 1, 1)
    synth = np.array([0.0, 0.0, 1.0, 1.0, 1.0, 1.0]).reshape(6, 1, 1)
    # CDFs differ by 1/2 - 1/3 = 1/6 on [0, 1)
    np.testing.assert_allclose(wasserstein_per_feature(real, synth), [1 / 6], rtol=1e-9)


def test_autocorrelation_hand_values():
    x = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 4, 1)
    # centred -1.5, -0.5, 0.5, 1.5; sum of squares 5; lag 1: 1.25; lag 2: -1.5
    np.testing.assert_allclose(autocorrelation(x, 2)[0, :, 0], [0.25, -0.3], rtol=1e-6)
    assert np.isnan(autocorrelation(np.ones((1, 4, 1)), 1)).all()
    with pytest.raises(ConfigError):
        autocorrelation(x, 4)


def test_acf_difference_small_for_same_process_large_for_different():
    a, b = ar1(300, 20, 2, 0.9, seed=0), ar1(300, 20, 2, 0.9, seed=1)
    white = ar1(300, 20, 2, 0.0, seed=2)
    assert acf_difference(a, a) == 0.0
    same, different = acf_difference(a, b), acf_difference(a, white)
    assert same < 0.03
    assert different > 0.15


def test_acf_difference_skips_constant_channels():
    a = ar1(50, 10, 2, 0.5, seed=0)
    b = a.copy()
    b[:, :, 1] = 0.5  # constant in channel 1: no ACF there, so only channel 0 counts
    assert acf_difference(a, b) == pytest.approx(0.0, abs=1e-12)


def test_discriminative_score_near_zero_for_same_and_high_for_different():
    real_tr, real_te = ar1(200, 12, 2, 0.8, 0), ar1(100, 12, 2, 0.8, 1)
    same_tr, same_te = ar1(200, 12, 2, 0.8, 2), ar1(100, 12, 2, 0.8, 3)
    diff_tr, diff_te = ar1(200, 12, 2, 0.8, 4) + 0.3, ar1(100, 12, 2, 0.8, 5) + 0.3
    same = discriminative_score(real_tr, same_tr, real_te, same_te, seed=0, epochs=30)
    different = discriminative_score(real_tr, diff_tr, real_te, diff_te, seed=0, epochs=30)
    assert same < 0.12
    assert different > 0.4
    assert same == discriminative_score(real_tr, same_tr, real_te, same_te, seed=0, epochs=30)  # deterministic


def test_discriminative_accuracy_is_balanced_over_the_two_test_sets():
    # Trained to separate low (real) from high (synthetic) windows, the classifier calls every test window
    # synthetic, including the 10 "real" ones we made high: balanced accuracy (0 + 1) / 2 = 0.5, score 0
    # (plain accuracy would be 90 / 100, score 0.4).
    real, synth = ar1(60, 8, 1, 0.5, 0), ar1(60, 8, 1, 0.5, 1) + 1.0
    real_test, synth_test = ar1(10, 8, 1, 0.5, 2) + 1.0, ar1(90, 8, 1, 0.5, 3) + 1.0
    assert discriminative_score(real, synth, real_test, synth_test, seed=0, epochs=20) == 0.0


def test_predictive_score_prefers_synthetic_windows_with_the_real_dynamics():
    real = ar1(100, 8, 1, 0.95, seed=0)
    good = ar1(128, 8, 1, 0.95, seed=1)
    broken = good[:, np.random.default_rng(2).permutation(8)]  # same marginals, time order destroyed
    fast = dict(seed=0, epochs=150, lr=1e-2)  # 150 full-batch steps: enough for this small problem
    s_good, s_broken = predictive_score(good, real, **fast), predictive_score(broken, real, **fast)
    assert s_good < s_broken
    # with the right dynamics the network does about as well as the AR(1) optimum 0.15 E|e|
    optimum = 0.15 * np.sqrt(1 - 0.95**2) * np.sqrt(2 / np.pi)
    assert s_good < 1.1 * optimum


def test_predictive_score_of_one_target_channel():
    real = ar1(40, 6, 2, 0.9, seed=0)
    synth = real.copy()
    synth[:, :, 1] = 0.5  # channel 1 carries nothing to learn from, channel 0 is the real one
    s0 = predictive_score(synth, real, seed=0, epochs=50, lr=1e-2, target=0)
    s1 = predictive_score(synth, real, seed=0, epochs=50, lr=1e-2, target=1)
    assert s0 < s1


def test_persistence_mae_hand_value():
    x = np.array([[1.0, 2.0, 4.0], [0.0, 0.0, 3.0]]).reshape(2, 3, 1)
    assert persistence_mae(x) == pytest.approx((1 + 2 + 0 + 3) / 4)


def test_quality_report_keys_json_and_shape_checks():
    real, synth = ar1(60, 8, 3, 0.7, 0), ar1(60, 8, 3, 0.7, 1)
    report = quality_report(real, synth, seed=0, epochs=2)
    assert set(report) == {"discriminative", "predictive", "predictive_persistence", "wasserstein",
                           "wasserstein_mean", "acf_difference", "n_real", "n_synthetic"}
    assert len(report["wasserstein"]) == 3 and 0 <= report["discriminative"] <= 0.5
    json.dumps(report)
    with pytest.raises(DataError, match="share"):
        quality_report(real, synth[:, :, :2])
    with pytest.raises(ConfigError):
        predictive_score(synth, real, target=5)
